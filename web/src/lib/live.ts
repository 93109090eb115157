// The live feed: one WebSocket per tab (GET <prefix>/ws?token=), kept open across network
// drops, server restarts and token expiry. After a reconnect it asks for `?since=<last threat
// seen>`, so the server replays what was missed, oldest first, before going live; ids already
// delivered are dropped here too, so a listener never sees a threat twice even if a replay
// overlaps what arrived before the drop.
import type { LiveMessage, LiveThreat } from "./types";

export type LiveState = "connecting" | "open" | "reconnecting" | "stopped";

export interface LiveStatus {
  state: LiveState;
  /** Successful connections so far (1 after the first). */
  connections: number;
  /** Threats the server replayed on the latest reconnect (the gap it filled). */
  replayed: number;
  /** When the newest threat arrived (ms since epoch), null before the first. */
  lastThreatAt: number | null;
  /** Why the last connection ended, for the status line. */
  lastClose: string | null;
  /** Milliseconds until the next attempt while reconnecting. */
  retryInMs: number | null;
}

export interface WebSocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  close(code?: number, reason?: string): void;
  send(data: string): void;
}

export interface LiveOptions {
  /** The ws:// or wss:// URL of the feed without query (e.g. ws://host/api/v2/ws). */
  url: string;
  /** A valid access token (refreshed when needed; `force` after the server refused the last one
   *  with 1008); rejects when the session is over. */
  token: (force: boolean) => Promise<string>;
  connect?: (url: string) => WebSocketLike;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  now?: () => number;
  random?: () => number;
  /** How many delivered threat ids to remember for de-duplication. */
  rememberIds?: number;
}

export type LiveListener = (message: LiveMessage) => void;

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 15_000;

export class LiveFeed {
  private socket: WebSocketLike | null = null;
  private timer: unknown = null;
  private stopped = true;
  private attempts = 0;
  private lastThreatId: string | null = null;
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private readonly listeners = new Set<LiveListener>();
  private readonly statusListeners = new Set<(status: LiveStatus) => void>();
  private openedAt = 0;
  /** Bumped by start() and stop(): an open() begun for an earlier start gives up. */
  private generation = 0;
  /** The server closed with 1008 (token expired or revoked): the next token must be a new one. */
  private forceToken = false;
  private status: LiveStatus = {
    state: "stopped",
    connections: 0,
    replayed: 0,
    lastThreatAt: null,
    lastClose: null,
    retryInMs: null,
  };
  private readonly connectImpl: (url: string) => WebSocketLike;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly remember: number;

  constructor(private readonly options: LiveOptions) {
    this.connectImpl = options.connect ?? ((url) => new WebSocket(url) as unknown as WebSocketLike);
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.remember = options.rememberIds ?? 5000;
  }

  get current(): LiveStatus {
    return this.status;
  }

  /** The id a reconnect resumes after. */
  get resumeAfter(): string | null {
    return this.lastThreatId;
  }

  on(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onStatus(listener: (status: LiveStatus) => void): () => void {
    this.statusListeners.add(listener);
    listener(this.status);
    return () => this.statusListeners.delete(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.generation += 1;
    void this.open(this.generation);
  }

  stop(): void {
    this.stopped = true;
    this.generation += 1;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onclose = null;
      socket.close(1000, "bye");
    }
    this.update({ state: "stopped", retryInMs: null, connections: 0, replayed: 0 });
  }

  private async open(generation: number): Promise<void> {
    this.update({ state: this.status.connections === 0 ? "connecting" : "reconnecting", retryInMs: null });
    let token: string;
    try {
      token = await this.options.token(this.forceToken);
      this.forceToken = false;
    } catch {
      // The session is over: the app returns to the login page, which stops the feed.
      this.stopped = true;
      this.update({ state: "stopped", lastClose: "session ended" });
      return;
    }
    if (this.stopped || generation !== this.generation) return;
    const params = new URLSearchParams({ token });
    if (this.lastThreatId) params.set("since", this.lastThreatId);
    const socket = this.connectImpl(`${this.options.url}?${params}`);
    this.socket = socket;
    let replayed = 0;
    socket.onopen = () => {
      this.attempts = 0;
      this.openedAt = this.now();
      this.update({ state: "open", connections: this.status.connections + 1, replayed: 0, retryInMs: null });
    };
    socket.onmessage = (event) => {
      if (typeof event.data !== "string") return;
      let message: LiveMessage;
      try {
        message = JSON.parse(event.data) as LiveMessage;
      } catch {
        return;
      }
      if (message.type === "threat") {
        const id = message.data?.id;
        if (!id || this.seen.has(id)) return;
        this.markSeen(id);
        this.lastThreatId = id;
        // A threat committed before this connection opened came from the replay.
        if (this.status.connections > 1 && Date.parse(message.timestamp) < this.openedAt) {
          replayed += 1;
          this.update({ replayed });
        }
        this.status = { ...this.status, lastThreatAt: this.now() };
      }
      for (const listener of this.listeners) listener(message);
    };
    socket.onerror = () => {
      // onclose follows and decides.
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      const why = event.reason || closeMeaning(event.code);
      if (this.stopped) return;
      this.attempts += 1;
      if (event.code === 1008) this.forceToken = true;
      // 1008 (token expired or revoked): try again at once with a fresh token; the token
      // callback refreshes it or ends the session.
      const delay =
        event.code === 1008 && this.attempts === 1
          ? 0
          : Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (this.attempts - 1)) * (0.75 + this.random() * 0.5);
      this.update({ state: "reconnecting", lastClose: why, retryInMs: Math.round(delay) });
      this.timer = this.setTimer(() => {
        this.timer = null;
        void this.open(generation);
      }, delay);
    };
  }

  private markSeen(id: string) {
    this.seen.add(id);
    this.seenOrder.push(id);
    if (this.seenOrder.length > this.remember) {
      const dropped = this.seenOrder.splice(0, this.seenOrder.length - this.remember);
      for (const old of dropped) this.seen.delete(old);
    }
  }

  private update(patch: Partial<LiveStatus>) {
    this.status = { ...this.status, ...patch };
    for (const l of this.statusListeners) l(this.status);
  }
}

export function closeMeaning(code: number): string {
  switch (code) {
    case 1000:
      return "closed";
    case 1001:
      return "server restarting";
    case 1006:
      return "connection lost";
    case 1008:
      return "token expired";
    case 1013:
      return "too slow: the server dropped this tab";
    default:
      return `closed (${code})`;
  }
}

/** The feed's URL for a page served from `location` with the API under `prefix`. */
export function liveUrl(location: { protocol: string; host: string }, prefix: string): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${prefix}/ws`;
}

export type { LiveThreat };
