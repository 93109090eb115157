// The one way the console talks to the REST API: a fetch wrapper that carries the access token,
// refreshes it before it expires and once more on a 401, and ends the session when the refresh
// is refused. Refresh tokens rotate (each works once, and a reuse revokes the whole session), so
// tabs that share the stored session must never refresh with the same token twice: the refresh
// runs under a Web Lock, and a tab that gets the lock after another refreshed adopts the newer
// stored tokens instead of spending its stale one.
import type { Role, Token, User } from "./types";

export interface StoredSession {
  user: User;
  access_token: string;
  refresh_token: string;
  /** Milliseconds since the epoch when the access token stops working. */
  expires_at: number;
}

export interface SessionStore {
  load(): StoredSession | null;
  save(session: StoredSession | null): void;
}

/** Runs fn while holding the named lock (navigator.locks in a browser). */
export type LockRunner = <T>(name: string, fn: () => Promise<T>) => Promise<T>;

export interface ApiOptions {
  prefix: string;
  fetch: typeof fetch;
  store: SessionStore;
  lock: LockRunner;
  now?: () => number;
  /** Called once when the session ends without the user asking (refresh refused). */
  onSessionEnded?: (reason: string) => void;
}

export interface FieldError {
  loc: (string | number)[];
  msg: string;
  type: string;
}

/** An answer that was not 2xx: the API's own message (its `detail`), and per-field errors on 422. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: FieldError[] = [],
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export type Query = Record<string, string | number | boolean | readonly (string | number)[] | null | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Send without a token (login, refresh). */
  anonymous?: boolean;
}

/** Refresh this long before the access token expires, so no request meets an expired one. */
export const REFRESH_MARGIN_MS = 30_000;

export function buildQuery(query: Query | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? "?" + text : "";
}

async function errorFrom(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText}`.trim();
  let fields: FieldError[] = [];
  try {
    const body = await res.json();
    if (typeof body?.detail === "string") message = body.detail;
    else if (Array.isArray(body?.detail)) {
      fields = body.detail as FieldError[];
      message = fields.map((f) => `${f.loc.filter((l) => l !== "body" && l !== "query").join(".")}: ${f.msg}`).join("; ");
    }
  } catch {
    // Not JSON (a proxy's page): the status line says enough.
  }
  const retry = res.headers.get("Retry-After");
  return new ApiError(res.status, message, fields, retry ? Number(retry) : null);
}

export class ApiClient {
  private session: StoredSession | null;
  private refreshing: Promise<StoredSession> | null = null;
  private readonly listeners = new Set<(user: User | null) => void>();
  private readonly now: () => number;

  constructor(private readonly options: ApiOptions) {
    this.now = options.now ?? Date.now;
    this.session = options.store.load();
  }

  get prefix(): string {
    return this.options.prefix;
  }

  get user(): User | null {
    return this.session?.user ?? null;
  }

  get role(): Role | null {
    return this.session?.user.role ?? null;
  }

  /** Is notified with the user on login and with null when the session ends. */
  onUser(listener: (user: User | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async login(username: string, password: string): Promise<User> {
    const answer = await this.send<{ user: User; token: Token }>("POST", "/auth/login", {
      body: { username, password },
      anonymous: true,
    });
    this.adopt({ user: answer.user, ...this.fromToken(answer.token) });
    return answer.user;
  }

  /** Ends the session on the server (best effort) and here. */
  async logout(): Promise<void> {
    const had = this.session;
    if (had) {
      if (had.expires_at - this.now() <= REFRESH_MARGIN_MS) await this.refresh(had.refresh_token).catch(() => undefined);
      try {
        await this.send("POST", "/auth/logout", {});
      } catch {
        // The session ends here whatever the server says (it may already be gone).
      }
    }
    this.end(null);
  }

  /** A valid access token (refreshed first when close to expiry): for the WebSocket's ?token=. */
  async accessToken(): Promise<string> {
    const session = this.requireSession();
    if (session.expires_at - this.now() > REFRESH_MARGIN_MS) return session.access_token;
    return (await this.refresh(session.refresh_token)).access_token;
  }

  /** A new access token even if the current one looks valid: the live feed's after a 1008
   *  (the server refused it: revoked by a logout or a password change elsewhere). */
  async freshAccessToken(): Promise<string> {
    const session = this.requireSession();
    return (await this.refresh(session.refresh_token)).access_token;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>("GET", path, { query, signal });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    await this.accessToken();
    const used = this.session;
    try {
      return await this.send<T>(method, path, options);
    } catch (error) {
      // A 401 with a token we believed valid: revoked elsewhere, or the clock is off. One
      // refresh settles which; a second 401 ends the session.
      if (!(error instanceof ApiError) || error.status !== 401 || options.anonymous) throw error;
      const spent = used;
      if (!spent) throw error;
      await this.refresh(spent.refresh_token);
      return await this.send<T>(method, path, options);
    }
  }

  /** The raw Response of a GET with the token (for streamed downloads). */
  async download(path: string, query?: Query): Promise<Response> {
    const token = await this.accessToken();
    const res = await this.options.fetch(this.options.prefix + path + buildQuery(query), {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (!options.anonymous && this.session) headers.Authorization = `Bearer ${this.session.access_token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const res = await this.options.fetch(this.options.prefix + path + buildQuery(options.query), {
      method,
      headers,
      body,
      signal: options.signal,
    });
    if (!res.ok) throw await errorFrom(res);
    if (res.status === 204) return undefined as T;
    const type = res.headers.get("Content-Type") ?? "";
    return (type.includes("json") ? await res.json() : await res.text()) as T;
  }

  /**
   * One refresh at a time per tab (callers share the promise) and per browser (the lock).
   * `spent` is the refresh token the caller saw: if the stored session already moved past it,
   * another tab refreshed and its tokens are adopted without a request.
   */
  private refresh(spent: string): Promise<StoredSession> {
    if (!this.refreshing) {
      this.refreshing = this.options
        .lock("honeyman-refresh", async () => {
          const stored = this.options.store.load();
          if (stored && stored.refresh_token !== spent && stored.expires_at - this.now() > REFRESH_MARGIN_MS) {
            this.adopt(stored);
            return stored;
          }
          const current = stored ?? this.session;
          if (!current) throw new ApiError(401, "Not logged in");
          try {
            const token = await this.send<Token>("POST", "/auth/refresh", {
              body: { refresh_token: current.refresh_token },
              anonymous: true,
            });
            const next = { user: current.user, ...this.fromToken(token) };
            this.adopt(next);
            return next;
          } catch (error) {
            // 401: the session is over (expired, revoked, or reused elsewhere). 429 and network
            // errors are passing: the session stays and the caller sees the error.
            if (error instanceof ApiError && error.status === 401) {
              this.end("Your session has ended. Please log in again.");
            }
            throw error;
          }
        })
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  private requireSession(): StoredSession {
    if (!this.session) throw new ApiError(401, "Not logged in");
    return this.session;
  }

  private fromToken(token: Token) {
    return {
      access_token: token.access_token,
      refresh_token: token.refresh_token,
      expires_at: this.now() + token.expires_in * 1000,
    };
  }

  private adopt(session: StoredSession) {
    const userChanged = this.session?.user.id !== session.user.id;
    this.session = session;
    this.options.store.save(session);
    if (userChanged) for (const l of this.listeners) l(session.user);
  }

  private end(reason: string | null) {
    this.session = null;
    this.options.store.save(null);
    for (const l of this.listeners) l(null);
    if (reason) this.options.onSessionEnded?.(reason);
  }
}

/** The session in localStorage, shared by the tabs of this origin. */
export function localSessionStore(key = "honeyman.session"): SessionStore {
  return {
    load() {
      try {
        const text = localStorage.getItem(key);
        return text ? (JSON.parse(text) as StoredSession) : null;
      } catch {
        return null;
      }
    },
    save(session) {
      if (session) localStorage.setItem(key, JSON.stringify(session));
      else localStorage.removeItem(key);
    },
  };
}

/** navigator.locks where the browser has it (every current one on https or localhost). */
export const browserLock: LockRunner = (name, fn) =>
  typeof navigator !== "undefined" && navigator.locks
    ? (navigator.locks.request(name, fn) as ReturnType<typeof fn>)
    : fn();

/** The API prefix the server wrote into index.html (API_PREFIX), /api/v2 by default. */
export function apiPrefix(): string {
  const meta = document.querySelector('meta[name="honeyman-api-prefix"]');
  return meta?.getAttribute("content") || "/api/v2";
}
