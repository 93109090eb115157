// LiveFeed against a fake WebSocket the test drives (open, deliver, close with a code), a manual
// clock for its timers and `now`, and a fixed `random`, so reconnects, backoff, resume with
// `since` and de-duplication are exercised deterministically.
import { describe, expect, it, vi } from "vitest";
import { LiveFeed, closeMeaning, liveUrl, type LiveOptions, type LiveState, type LiveStatus, type WebSocketLike } from "../src/lib/live";
import type { LiveMessage } from "../src/lib/types";

const URL_BASE = "ws://console.test/api/v2/ws";
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);

class FakeSocket implements WebSocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly sent: string[] = [];
  closedByClient: { code?: number; reason?: string } | null = null;

  constructor(readonly url: string) {}

  get params(): URLSearchParams {
    return new URL(this.url).searchParams;
  }

  // The client side.
  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    // Like a browser: the close event follows (asynchronously) if anyone still listens.
    queueMicrotask(() => this.onclose?.({ code: code ?? 1005, reason: reason ?? "" }));
  }

  send(data: string): void {
    this.sent.push(data);
  }

  // The server side.
  open(): void {
    this.onopen?.({});
  }

  deliver(message: unknown): void {
    this.onmessage?.({ data: typeof message === "string" ? message : JSON.stringify(message) });
  }

  drop(code = 1006, reason = ""): void {
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }
}

/** Timers and `now` on one manual clock. */
class Clock {
  t = T0;
  private seq = 0;
  readonly timers = new Map<number, { at: number; fn: () => void; ms: number }>();
  /** Every delay the feed asked for, in order. */
  readonly requested: number[] = [];

  now = () => this.t;

  setTimer = (fn: () => void, ms: number): unknown => {
    this.seq += 1;
    this.timers.set(this.seq, { at: this.t + ms, fn, ms });
    this.requested.push(ms);
    return this.seq;
  };

  clearTimer = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };

  /** Moves time forward, running the timers that fall due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** Lets pending promise callbacks (the token callback) run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}

function iso(ms: number): string {
  // The server's commit time has microseconds.
  return new Date(ms).toISOString().replace("Z", "123Z");
}

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

function threat(id: string, committedAt: number): LiveMessage {
  return {
    type: "threat",
    data: {
      id,
      timestamp: new Date(committedAt - 500).toISOString(),
      sensor_id: "seed-0001",
      threat_type: "usb_rubber_ducky",
      severity: "high",
      detector_type: "usb",
      threat_score: 0.9,
      device_name: null,
      latitude: null,
      longitude: null,
    },
    timestamp: iso(committedAt),
  };
}

function setup(options: Partial<LiveOptions> & { random?: () => number } = {}) {
  const clock = new Clock();
  const sockets: FakeSocket[] = [];
  let tokens = 0;
  const token = vi.fn(async (_force: boolean) => `tok-${++tokens}`);
  const feed = new LiveFeed({
    url: URL_BASE,
    token,
    connect: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
    now: clock.now,
    random: () => 0.5, // no jitter unless a test says otherwise
    ...options,
  });
  const messages: LiveMessage[] = [];
  feed.on((m) => messages.push(m));
  const statuses: LiveStatus[] = [];
  feed.onStatus((s) => statuses.push(s));
  const threatIds = () => messages.filter((m) => m.type === "threat").map((m) => (m as { data: { id: string } }).data.id);
  const last = () => sockets[sockets.length - 1];
  /** The state sequence without consecutive repeats. */
  const states = () => statuses.map((s) => s.state).filter((s, i, all) => i === 0 || all[i - 1] !== s);
  return { clock, sockets, token, feed, messages, statuses, threatIds, last, states };
}

async function started(options: Parameters<typeof setup>[0] = {}) {
  const h = setup(options);
  h.feed.start();
  await flush();
  return h;
}

/** A server that stores threats in commit (seq) order and replays after `since` on connect. */
class FakeFeedServer {
  readonly stored: { id: string; committedAt: number }[] = [];
  private n = 0;

  commit(at: number): { id: string; committedAt: number } {
    this.n += 1;
    const row = { id: uuid(this.n), committedAt: at };
    this.stored.push(row);
    return row;
  }

  /** What a connection asking for `since` gets replayed; `overlap` re-sends that many earlier rows. */
  replay(since: string | null, overlap = 0) {
    if (!since) return [];
    const i = this.stored.findIndex((r) => r.id === since);
    if (i < 0) return [];
    return this.stored.slice(Math.max(0, i + 1 - overlap));
  }
}

describe("LiveFeed: connecting", () => {
  it("the first URL carries ?token= and no since", async () => {
    const { sockets, token, feed } = await started();
    expect(token).toHaveBeenCalledTimes(1);
    expect(sockets).toHaveLength(1);
    const url = new URL(sockets[0].url);
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe(URL_BASE);
    expect(url.searchParams.get("token")).toBe("tok-1");
    expect(url.searchParams.has("since")).toBe(false);
    expect(feed.resumeAfter).toBeNull();
  });

  it("the token is URL-encoded", async () => {
    const { sockets } = await started({ token: async () => "a+b/c=d&e" });
    expect(sockets[0].url).toBe(`${URL_BASE}?token=a%2Bb%2Fc%3Dd%26e`);
    expect(sockets[0].params.get("token")).toBe("a+b/c=d&e");
  });

  it("start() twice opens one socket", async () => {
    const h = setup();
    h.feed.start();
    h.feed.start();
    await flush();
    expect(h.sockets).toHaveLength(1);
  });

  it("delivers every message to the listeners and ignores what is not JSON text", async () => {
    const { last, messages, feed } = await started();
    last().open();
    last().deliver({ type: "welcome", message: "hi", version: "2.0.0" });
    last().deliver("not json");
    last().onmessage?.({ data: new ArrayBuffer(4) });
    last().deliver({ type: "heartbeat", timestamp: iso(T0), connections: 3 });
    const extra: LiveMessage[] = [];
    const off = feed.on((m) => extra.push(m));
    last().deliver({ type: "sensor_status", data: { sensor_id: "seed-0001", is_online: false, last_heartbeat: null }, timestamp: iso(T0) });
    off();
    last().deliver({ type: "echo", data: "x" });
    expect(messages.map((m) => m.type)).toEqual(["welcome", "heartbeat", "sensor_status", "echo"]);
    expect(extra.map((m) => m.type)).toEqual(["sensor_status"]);
  });

  it("status: connecting → open → reconnecting → open", async () => {
    const { last, clock, states, feed } = await started();
    last().open();
    expect(feed.current).toMatchObject({ state: "open", connections: 1, retryInMs: null });
    last().drop(1006);
    expect(feed.current).toMatchObject({ state: "reconnecting", lastClose: "connection lost", retryInMs: 500 });
    await clock.advance(500);
    last().open();
    expect(states()).toEqual<LiveState[]>(["stopped", "connecting", "open", "reconnecting", "open"]);
    expect(feed.current).toMatchObject({ state: "open", connections: 2, retryInMs: null, lastClose: "connection lost" });
  });

  it("the close reason from the server is shown when there is one", async () => {
    const { last, feed } = await started();
    last().open();
    last().drop(1013, "too slow: send queue full");
    expect(feed.current.lastClose).toBe("too slow: send queue full");
  });
});

describe("LiveFeed: reconnect and backoff", () => {
  it("after threats and a drop it reconnects with since=<last threat id>", async () => {
    const { sockets, last, clock, feed } = await started();
    last().open();
    last().deliver(threat(uuid(1), T0));
    last().deliver(threat(uuid(2), T0));
    last().deliver({ type: "heartbeat", timestamp: iso(T0), connections: 1 });
    last().drop(1006);
    await clock.advance(499);
    expect(sockets).toHaveLength(1);
    await clock.advance(1);
    expect(sockets).toHaveLength(2);
    expect(sockets[1].params.get("since")).toBe(uuid(2));
    expect(sockets[1].params.get("token")).toBe("tok-2");
    expect(feed.resumeAfter).toBe(uuid(2));
  });

  it("the backoff doubles from 0.5 s, is capped at 15 s, and resets after a successful open", async () => {
    const { sockets, last, clock, feed } = await started();
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      last().drop(1006); // the connection attempt fails before opening
      delays.push(feed.current.retryInMs!);
      const count = sockets.length;
      await clock.advance(feed.current.retryInMs! - 1);
      expect(sockets).toHaveLength(count);
      await clock.advance(1);
      expect(sockets).toHaveLength(count + 1);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    expect(clock.requested).toEqual(delays);
    // A successful open resets the backoff.
    last().open();
    last().drop(1006);
    expect(feed.current.retryInMs).toBe(500);
  });

  it("jitter stays within ±25 % of the backoff", async () => {
    for (const [r, factor] of [
      [0, 0.75],
      [0.999999, 1.25],
      [0.25, 0.875],
    ] as const) {
      const { last, clock, feed } = await started({ random: () => r });
      const bases = [500, 1000, 2000, 4000, 8000, 15000, 15000];
      for (const base of bases) {
        last().drop(1006);
        const delay = clock.requested.at(-1)!;
        expect(delay).toBeGreaterThanOrEqual(base * 0.75);
        expect(delay).toBeLessThanOrEqual(base * 1.25);
        expect(delay).toBeCloseTo(base * factor, 0);
        expect(feed.current.retryInMs).toBe(Math.round(delay));
        await clock.advance(delay);
      }
    }
  });

  it("close 1008 reconnects at once with a fresh token from the callback", async () => {
    const { sockets, last, clock, token, feed } = await started();
    last().open();
    last().deliver(threat(uuid(7), T0));
    last().drop(1008, "token expired");
    expect(feed.current).toMatchObject({ state: "reconnecting", retryInMs: 0, lastClose: "token expired" });
    await clock.advance(0);
    expect(token).toHaveBeenCalledTimes(2);
    expect(sockets).toHaveLength(2);
    expect(sockets[1].params.get("token")).toBe("tok-2");
    expect(sockets[1].params.get("since")).toBe(uuid(7));
    // The refused token looked valid to the client: the callback is told to get a new one.
    expect(token.mock.calls.map((c) => c[0])).toEqual([false, true]);
  });

  it("a drop other than 1008 reuses a token that is still valid (no forced refresh)", async () => {
    const { last, clock, token } = await started();
    last().open();
    last().drop(1006);
    await clock.advance(1000);
    expect(token.mock.calls.map((c) => c[0])).toEqual([false, false]);
  });

  it("a second 1008 in a row (no open in between) backs off instead of looping", async () => {
    const { last, clock, feed } = await started();
    last().open();
    last().drop(1008);
    await clock.advance(0);
    last().drop(1008);
    expect(feed.current.retryInMs).toBe(1000);
  });

  it("a token callback that rejects (session over) stops the feed", async () => {
    let fail = false;
    const { sockets, last, clock, feed, states } = await started({
      token: async () => {
        if (fail) throw new Error("session ended");
        return "tok";
      },
    });
    last().open();
    fail = true;
    last().drop(1008, "token revoked");
    await clock.advance(0);
    expect(feed.current.state).toBe("stopped");
    expect(feed.current.lastClose).toBe("session ended");
    expect(sockets).toHaveLength(1);
    expect(clock.timers.size).toBe(0);
    await clock.advance(60_000);
    expect(sockets).toHaveLength(1);
    expect(states().at(-1)).toBe("stopped");
  });

  it("a token callback that rejects on the first connect stops at once, and start() can try again", async () => {
    let fail = true;
    const { sockets, feed } = await started({
      token: async () => {
        if (fail) throw new Error("no session");
        return "tok";
      },
    });
    expect(feed.current.state).toBe("stopped");
    expect(sockets).toHaveLength(0);
    fail = false;
    feed.start();
    await flush();
    expect(sockets).toHaveLength(1);
  });
});

describe("LiveFeed: stop", () => {
  it("stop() closes the socket and no reconnect happens afterwards", async () => {
    const { sockets, last, clock, feed } = await started();
    last().open();
    feed.stop();
    expect(sockets[0].closedByClient).toEqual({ code: 1000, reason: "bye" });
    await flush(); // the browser's close event
    await clock.advance(120_000);
    expect(sockets).toHaveLength(1);
    expect(feed.current.state).toBe("stopped");
    expect(clock.timers.size).toBe(0);
  });

  it("stop() while waiting to reconnect cancels the timer", async () => {
    const { sockets, last, clock, feed } = await started();
    last().open();
    last().drop(1006);
    expect(clock.timers.size).toBe(1);
    feed.stop();
    expect(clock.timers.size).toBe(0);
    await clock.advance(120_000);
    expect(sockets).toHaveLength(1);
  });

  it("stop() while the token is being fetched opens nothing", async () => {
    let release: (t: string) => void = () => {};
    const h = setup({ token: () => new Promise<string>((resolve) => (release = resolve)) });
    h.feed.start();
    await flush();
    h.feed.stop();
    release("tok");
    await flush();
    expect(h.sockets).toHaveLength(0);
    expect(h.feed.current.state).toBe("stopped");
  });

  it("stop() then start() with a token still pending from before opens exactly one socket", async () => {
    const releases: ((t: string) => void)[] = [];
    const h = setup({ token: () => new Promise<string>((resolve) => releases.push(resolve)) });
    h.feed.start();
    await flush();
    h.feed.stop();
    h.feed.start();
    await flush();
    releases[0]("old");
    releases[1]("new");
    await flush();
    expect(h.sockets).toHaveLength(1);
    expect(h.sockets[0].params.get("token")).toBe("new");
  });
});

describe("LiveFeed: resume without gap or duplicate", () => {
  it("a replay that overlaps what was delivered before the drop: every id exactly once, in order", async () => {
    const server = new FakeFeedServer();
    const { sockets, last, clock, feed, threatIds } = await started();
    last().open();
    // Connection 1: five threats live.
    for (let i = 0; i < 5; i++) {
      clock.t += 100;
      last().deliver(threat(server.commit(clock.t).id, clock.t));
    }
    last().drop(1006);
    // Two more are committed while disconnected.
    clock.t += 100;
    server.commit(clock.t);
    clock.t += 100;
    server.commit(clock.t);
    await clock.advance(500);
    const since = sockets[1].params.get("since");
    expect(since).toBe(server.stored[4].id);
    last().open();
    // The server replays after `since` with an overlap of two already-delivered threats...
    for (const row of server.replay(since, 2)) last().deliver(threat(row.id, row.committedAt));
    // ...then goes live; the seam repeats the last replayed one.
    last().deliver(threat(server.stored[6].id, server.stored[6].committedAt));
    clock.t += 100;
    const live = server.commit(clock.t);
    last().deliver(threat(live.id, live.committedAt));
    expect(threatIds()).toEqual(server.stored.map((r) => r.id));
    expect(new Set(threatIds()).size).toBe(threatIds().length);
    // The two committed during the gap were replayed; the overlap and the live one are not counted.
    expect(feed.current.replayed).toBe(2);
    expect(feed.resumeAfter).toBe(live.id);

    // A second drop resumes after the newest id.
    last().drop(1001);
    await clock.advance(500);
    expect(sockets[2].params.get("since")).toBe(live.id);
    last().open();
    expect(feed.current.replayed).toBe(0);
    for (const row of server.replay(live.id, 3)) last().deliver(threat(row.id, row.committedAt));
    expect(threatIds()).toEqual(server.stored.map((r) => r.id));
  });

  it("many drops with random overlaps and seam duplicates: the listener sees the store, once, in order", async () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const server = new FakeFeedServer();
    const { last, clock, threatIds, feed } = await started();
    last().open();
    let deliveredUpTo = 0; // how many stored rows this connection has been sent
    for (let round = 0; round < 30; round++) {
      const live = 1 + Math.floor(rand() * 6);
      for (let i = 0; i < live; i++) {
        clock.t += 10;
        const row = server.commit(clock.t);
        last().deliver(threat(row.id, row.committedAt));
        deliveredUpTo = server.stored.length;
        if (rand() < 0.3) last().deliver(threat(row.id, row.committedAt)); // a duplicate at once
      }
      last().drop(rand() < 0.5 ? 1006 : 1013);
      const missed = Math.floor(rand() * 4);
      for (let i = 0; i < missed; i++) {
        clock.t += 10;
        server.commit(clock.t);
      }
      await clock.advance(feed.current.retryInMs!);
      const since = last().params.get("since");
      expect(since).toBe(server.stored[deliveredUpTo - 1].id);
      last().open();
      const replay = server.replay(since, Math.floor(rand() * 4));
      for (const row of replay) last().deliver(threat(row.id, row.committedAt));
      expect(feed.current.replayed).toBe(missed);
    }
    expect(threatIds()).toEqual(server.stored.map((r) => r.id));
  });

  it("replayed counts only threats committed before the reconnect, and not on the first connection", async () => {
    const { last, clock, feed } = await started();
    last().open();
    // On the first connection old commit times do not count as a replay.
    last().deliver(threat(uuid(1), T0 - 60_000));
    expect(feed.current.replayed).toBe(0);
    last().drop(1006);
    await clock.advance(500);
    const openedAt = clock.t;
    last().open();
    last().deliver(threat(uuid(2), openedAt - 1)); // committed before the reconnect: replayed
    last().deliver(threat(uuid(3), openedAt - 1000));
    last().deliver(threat(uuid(4), openedAt)); // committed at/after the reconnect: live
    last().deliver(threat(uuid(5), openedAt + 5));
    expect(feed.current.replayed).toBe(2);
    expect(feed.current.lastThreatAt).toBe(openedAt);
  });

  it("the de-duplication memory is bounded by rememberIds", async () => {
    const { last, threatIds } = await started({ rememberIds: 3 });
    last().open();
    for (const n of [1, 2, 3, 4]) last().deliver(threat(uuid(n), T0));
    // 2, 3, 4 are remembered; 1 was forgotten.
    for (const n of [4, 3, 2]) last().deliver(threat(uuid(n), T0));
    expect(threatIds()).toEqual([1, 2, 3, 4].map(uuid));
    last().deliver(threat(uuid(1), T0));
    expect(threatIds()).toEqual([1, 2, 3, 4, 1].map(uuid));
  });

  it("a long session keeps deduplicating the recent ids while forgetting old ones", async () => {
    const { last, threatIds } = await started({ rememberIds: 100 });
    last().open();
    for (let n = 1; n <= 10_000; n++) last().deliver(threat(uuid(n), T0));
    for (let n = 9_901; n <= 10_000; n++) last().deliver(threat(uuid(n), T0));
    expect(threatIds()).toHaveLength(10_000);
    last().deliver(threat(uuid(9_900), T0));
    expect(threatIds()).toHaveLength(10_001);
  });

  it("a late duplicate of an older threat does not move the resume point back", async () => {
    const { sockets, last, clock, feed } = await started();
    last().open();
    for (const n of [1, 2, 3]) last().deliver(threat(uuid(n), T0));
    last().deliver(threat(uuid(1), T0)); // a duplicate arriving late
    expect(feed.resumeAfter).toBe(uuid(3));
    last().drop(1006);
    await clock.advance(500);
    expect(sockets[1].params.get("since")).toBe(uuid(3));
  });

  it("a threat message without an id is dropped", async () => {
    const { last, messages } = await started();
    last().open();
    last().deliver({ type: "threat", data: {}, timestamp: iso(T0) });
    expect(messages).toHaveLength(0);
  });
});

describe("live helpers", () => {
  it("liveUrl picks ws: or wss: from the page", () => {
    expect(liveUrl({ protocol: "http:", host: "127.0.0.1:5173" }, "/api/v2")).toBe("ws://127.0.0.1:5173/api/v2/ws");
    expect(liveUrl({ protocol: "https:", host: "honeyman.example" }, "/hm/api")).toBe("wss://honeyman.example/hm/api/ws");
  });

  it("closeMeaning names the codes the server uses", () => {
    expect(closeMeaning(1001)).toBe("server restarting");
    expect(closeMeaning(1006)).toBe("connection lost");
    expect(closeMeaning(1008)).toBe("token expired");
    expect(closeMeaning(1013)).toMatch(/too slow/);
    expect(closeMeaning(4000)).toBe("closed (4000)");
  });
});
