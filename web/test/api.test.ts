// ApiClient against an in-test fake of the Honeyman auth server: rotating refresh tokens that
// work once (a reuse revokes the whole family with 401, like the real server), access tokens
// the server can expire on its own, a real async mutex as the cross-tab lock and an injected
// clock. The fake records every request so the tests can count refreshes and check headers.
import { describe, expect, it, vi } from "vitest";
import { ApiClient, ApiError, REFRESH_MARGIN_MS, buildQuery, type LockRunner, type SessionStore, type StoredSession } from "../src/lib/api";
import type { Token, User } from "../src/lib/types";

const PREFIX = "/api/v2";
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);
const EXPIRES_IN_S = 900;

const USER: User = {
  id: "11111111-1111-4111-8111-111111111111",
  username: "analyst1",
  email: null,
  full_name: null,
  role: "analyst",
  is_active: true,
  is_verified: true,
  created_at: "2026-01-01T00:00:00Z",
  last_login: null,
};

const ADMIN: User = { ...USER, id: "22222222-2222-4222-8222-222222222222", username: "admin", role: "admin" };

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
  /** The response status the fake answered. */
  status?: number;
}

interface Family {
  revoked: boolean;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The server side: login, rotating single-use refresh tokens, logout, a few data routes. */
class FakeServer {
  readonly requests: Recorded[] = [];
  /** How many times each refresh token was presented to /auth/refresh. */
  readonly refreshUses = new Map<string, number>();
  private readonly access = new Map<string, Family>();
  private readonly refreshTokens = new Map<string, { family: Family; spent: boolean }>();
  /** Access tokens the server refuses although the client's clock says they are valid. */
  readonly expired = new Set<string>();
  private counter = 0;
  /** When set, /auth/refresh answers this (e.g. 429) without touching the tokens. */
  refreshFailure: Response | (() => Response) | null = null;
  /** When set, /auth/logout answers this status. */
  logoutStatus: number | null = null;
  /** Milliseconds the refresh takes (lets concurrent callers pile up behind it). */
  refreshDelayMs = 5;
  /** Per-path answer delays for data routes. */
  readonly delays = new Map<string, number>();

  readonly fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), "http://console.test");
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init?.headers ?? {}) as Record<string, string>)) headers[k.toLowerCase()] = v;
    const record: Recorded = {
      method: init?.method ?? "GET",
      path: url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) : url.pathname,
      query: url.searchParams,
      headers,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    };
    this.requests.push(record);
    const res = await this.answer(record);
    record.status = res.status;
    return res;
  });

  issue(family: Family): Token {
    this.counter += 1;
    const access_token = `access-${this.counter}`;
    const refresh_token = `refresh-${this.counter}`;
    this.access.set(access_token, family);
    this.refreshTokens.set(refresh_token, { family, spent: false });
    return { access_token, refresh_token, token_type: "bearer", expires_in: EXPIRES_IN_S };
  }

  /** A session as if the user had logged in earlier (what a tab finds in the store). */
  session(expiresAt: number): StoredSession {
    const token = this.issue({ revoked: false });
    return { user: USER, access_token: token.access_token, refresh_token: token.refresh_token, expires_at: expiresAt };
  }

  familyRevoked(refreshToken: string): boolean {
    return this.refreshTokens.get(refreshToken)?.family.revoked ?? false;
  }

  revokeFamilyOf(refreshToken: string) {
    const entry = this.refreshTokens.get(refreshToken);
    if (entry) entry.family.revoked = true;
  }

  count(path: string, method = "POST"): number {
    return this.requests.filter((r) => r.path === path && r.method === method).length;
  }

  get refreshes(): Recorded[] {
    return this.requests.filter((r) => r.path === "/auth/refresh");
  }

  private authorized(record: Recorded): boolean {
    const header = record.headers["authorization"] ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : "";
    const family = this.access.get(token);
    return !!family && !family.revoked && !this.expired.has(token);
  }

  private async answer(r: Recorded): Promise<Response> {
    if (r.path === "/auth/login" && r.method === "POST") {
      const body = r.body as { username: string; password: string };
      const user = [USER, ADMIN].find((u) => u.username === body.username);
      if (!user || body.password !== "secret") return json(401, { detail: "Incorrect username or password" });
      return json(200, { user, token: this.issue({ revoked: false }) });
    }
    if (r.path === "/auth/refresh" && r.method === "POST") {
      await sleep(this.refreshDelayMs);
      const presented = (r.body as { refresh_token: string }).refresh_token;
      this.refreshUses.set(presented, (this.refreshUses.get(presented) ?? 0) + 1);
      if (this.refreshFailure) return typeof this.refreshFailure === "function" ? this.refreshFailure() : this.refreshFailure;
      const entry = this.refreshTokens.get(presented);
      if (!entry || entry.family.revoked) return json(401, { detail: "Invalid refresh token" });
      if (entry.spent) {
        // Reuse of a spent refresh token: the whole family is revoked, like the real server.
        entry.family.revoked = true;
        return json(401, { detail: "Refresh token reuse detected; session revoked" });
      }
      entry.spent = true;
      return json(200, this.issue(entry.family));
    }
    if (r.path === "/auth/logout" && r.method === "POST") {
      if (this.logoutStatus !== null) return json(this.logoutStatus, { detail: "Internal server error" });
      if (!this.authorized(r)) return json(401, { detail: "Not authenticated" });
      const token = r.headers["authorization"].slice(7);
      this.access.get(token)!.revoked = true;
      return json(200, { message: "Logged out" });
    }
    const delay = this.delays.get(r.path);
    if (delay) await sleep(delay);
    if (!this.authorized(r)) return json(401, { detail: "Could not validate credentials" }, { "WWW-Authenticate": "Bearer" });
    if (r.path === "/validation") {
      return json(422, {
        detail: [
          { loc: ["body", "threat_score"], msg: "Input should be less than or equal to 1", type: "less_than_equal" },
          { loc: ["query", "page_size"], msg: "Input should be greater than 0", type: "greater_than" },
          { loc: ["body", 2, "severity"], msg: "Input should be 'critical', 'high', 'medium', 'low' or 'info'", type: "enum" },
        ],
      });
    }
    if (r.path === "/missing") return json(404, { detail: "Threat not found" });
    if (r.path === "/limited") return json(429, { detail: "Rate limit exceeded" }, { "Retry-After": "17" });
    if (r.path === "/proxy-error") return new Response("<html>Bad gateway</html>", { status: 502, statusText: "Bad Gateway", headers: { "Content-Type": "text/html" } });
    if (r.path === "/empty") return new Response(null, { status: 204 });
    if (r.path === "/text") return new Response("a,b\n1,2\n", { status: 200, headers: { "Content-Type": "text/csv" } });
    return json(200, { path: r.path, query: r.query.toString(), echo: r.body ?? null });
  }
}

/** localStorage-like: what is saved is serialized, so a tab never shares an object with another. */
function memoryStore(initial: StoredSession | null = null): SessionStore & { saves: number; value: StoredSession | null } {
  const store = {
    value: initial,
    saves: 0,
    load() {
      return store.value ? (JSON.parse(JSON.stringify(store.value)) as StoredSession) : null;
    },
    save(session: StoredSession | null) {
      store.saves += 1;
      store.value = session ? (JSON.parse(JSON.stringify(session)) as StoredSession) : null;
    },
  };
  return store;
}

/** A real async mutex per name (what navigator.locks gives across the tabs of an origin). */
function mutex(): LockRunner & { stats: { held: number; maxHeld: number; acquisitions: number } } {
  const tails = new Map<string, Promise<unknown>>();
  const state = { held: 0, maxHeld: 0, acquisitions: 0 };
  const run = <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const previous = tails.get(name) ?? Promise.resolve();
    const result = previous.then(async () => {
      state.acquisitions += 1;
      state.held += 1;
      state.maxHeld = Math.max(state.maxHeld, state.held);
      try {
        // Let other work interleave while the lock is held.
        await sleep(0);
        return await fn();
      } finally {
        state.held -= 1;
      }
    });
    tails.set(
      name,
      result.then(
        () => undefined,
        () => undefined,
      ),
    );
    return result;
  };
  return Object.assign(run as LockRunner, { stats: state });
}

function setup(options: { session?: "fresh" | "expiring" | "none"; server?: FakeServer; store?: ReturnType<typeof memoryStore>; lock?: ReturnType<typeof mutex> } = {}) {
  const server = options.server ?? new FakeServer();
  const clock = { t: T0 };
  const now = () => clock.t;
  let store = options.store;
  if (!store) {
    const kind = options.session ?? "fresh";
    store = memoryStore(kind === "none" ? null : server.session(kind === "fresh" ? T0 + EXPIRES_IN_S * 1000 : T0 + REFRESH_MARGIN_MS - 1000));
  }
  const lock = options.lock ?? mutex();
  const onSessionEnded = vi.fn();
  const api = new ApiClient({ prefix: PREFIX, fetch: server.fetch as unknown as typeof fetch, store, lock, now, onSessionEnded });
  const users: (User | null)[] = [];
  api.onUser((u) => users.push(u));
  return { server, clock, store, lock, api, onSessionEnded, users };
}

async function caught(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected the promise to reject");
}

function bearer(r: Recorded): string | undefined {
  return r.headers["authorization"];
}

describe("ApiClient: login and requests", () => {
  it("login stores the session with an absolute expiry and notifies onUser", async () => {
    const { api, store, server, users } = setup({ session: "none" });
    expect(api.user).toBeNull();
    const user = await api.login("analyst1", "secret");
    expect(user).toEqual(USER);
    expect(api.user).toEqual(USER);
    expect(api.role).toBe("analyst");
    expect(store.value).toEqual({
      user: USER,
      access_token: "access-1",
      refresh_token: "refresh-1",
      expires_at: T0 + EXPIRES_IN_S * 1000,
    });
    expect(users).toEqual([USER]);
    const login = server.requests[0];
    expect(login.method).toBe("POST");
    expect(login.path).toBe("/auth/login");
    expect(login.body).toEqual({ username: "analyst1", password: "secret" });
    expect(login.headers["content-type"]).toBe("application/json");
    // Login is anonymous: no stale token goes with it.
    expect(bearer(login)).toBeUndefined();
  });

  it("a failed login keeps no session and surfaces the API's message", async () => {
    const { api, store, users } = setup({ session: "none" });
    const error = await caught(api.login("analyst1", "wrong"));
    expect(error.status).toBe(401);
    expect(error.message).toBe("Incorrect username or password");
    expect(store.value).toBeNull();
    expect(users).toEqual([]);
  });

  it("a new client picks up the stored session", () => {
    const { api } = setup();
    expect(api.user).toEqual(USER);
  });

  it("requests carry Authorization: Bearer <access token>, the prefix and the query", async () => {
    const { api, server, store } = setup();
    const answer = await api.get<{ path: string; query: string }>("/threats", { severity: ["high", "critical"], page_size: 50, cursor: null });
    expect(answer.path).toBe("/threats");
    const r = server.requests[0];
    expect(r.method).toBe("GET");
    expect(bearer(r)).toBe(`Bearer ${store.value!.access_token}`);
    expect(r.headers["accept"]).toBe("application/json");
    expect(r.query.getAll("severity")).toEqual(["high", "critical"]);
    expect(r.query.get("page_size")).toBe("50");
    expect(r.query.has("cursor")).toBe(false);
    expect(server.fetch.mock.calls[0][0]).toBe("/api/v2/threats?severity=high&severity=critical&page_size=50");
    expect(server.refreshes).toHaveLength(0);
  });

  it("request() sends a JSON body; 204 gives undefined; non-JSON answers come back as text", async () => {
    const { api, server } = setup();
    const echoed = await api.request<{ echo: unknown }>("PATCH", "/threats/x", { body: { status: "resolved" } });
    expect(echoed.echo).toEqual({ status: "resolved" });
    expect(server.requests[0].method).toBe("PATCH");
    expect(server.requests[0].headers["content-type"]).toBe("application/json");
    await expect(api.request("DELETE", "/empty")).resolves.toBeUndefined();
    await expect(api.get("/text")).resolves.toBe("a,b\n1,2\n");
  });

  it("without a session, a request fails with 401 and sends nothing", async () => {
    const { api, server } = setup({ session: "none" });
    const error = await caught(api.get("/threats"));
    expect(error.status).toBe(401);
    expect(server.requests).toHaveLength(0);
    await expect(api.accessToken()).rejects.toBeInstanceOf(ApiError);
  });

  it("download() returns the raw Response with the token", async () => {
    const { api, server, store } = setup();
    const res = await api.download("/threats/export", { format: "csv" });
    expect(res.ok).toBe(true);
    expect(bearer(server.requests[0])).toBe(`Bearer ${store.value!.access_token}`);
    expect(server.requests[0].query.get("format")).toBe("csv");
  });
});

describe("ApiClient: refresh before expiry", () => {
  it("a token with more than REFRESH_MARGIN_MS left is used as is", async () => {
    const { api, server, store, clock } = setup();
    clock.t = store.value!.expires_at - REFRESH_MARGIN_MS - 1;
    const before = store.value!.access_token;
    await api.get("/threats");
    expect(server.refreshes).toHaveLength(0);
    expect(bearer(server.requests[0])).toBe(`Bearer ${before}`);
  });

  it("a token within REFRESH_MARGIN_MS of expiry is refreshed before the request", async () => {
    const { api, server, store, clock, users } = setup();
    const old = store.value!;
    clock.t = old.expires_at - REFRESH_MARGIN_MS; // exactly at the margin: refresh
    await api.get("/threats");
    expect(server.requests.map((r) => r.path)).toEqual(["/auth/refresh", "/threats"]);
    expect(server.refreshes[0].body).toEqual({ refresh_token: old.refresh_token });
    expect(bearer(server.refreshes[0])).toBeUndefined();
    const fresh = store.value!;
    expect(fresh.access_token).not.toBe(old.access_token);
    expect(fresh.refresh_token).not.toBe(old.refresh_token);
    expect(fresh.expires_at).toBe(clock.t + EXPIRES_IN_S * 1000);
    expect(fresh.user).toEqual(USER);
    expect(bearer(server.requests[1])).toBe(`Bearer ${fresh.access_token}`);
    // Same user: no onUser notification for a refresh.
    expect(users).toEqual([]);
  });

  it("an already expired token is refreshed too", async () => {
    const { api, server, store, clock } = setup();
    clock.t = store.value!.expires_at + 60_000;
    await api.get("/threats");
    expect(server.refreshes).toHaveLength(1);
    expect(server.requests[1].status).toBe(200);
  });

  it("accessToken() (the live feed's token) refreshes near expiry and not otherwise", async () => {
    const { api, server, store, clock } = setup();
    const first = await api.accessToken();
    expect(first).toBe(store.value!.access_token);
    expect(server.requests).toHaveLength(0);
    clock.t = store.value!.expires_at - 1;
    const second = await api.accessToken();
    expect(second).not.toBe(first);
    expect(second).toBe(store.value!.access_token);
    expect(server.refreshes).toHaveLength(1);
  });

  it("single flight: 10 requests started together near expiry cause exactly one refresh", async () => {
    const { api, server, store } = setup({ session: "expiring" });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => api.get<{ query: string }>("/threats", { page: i + 1 })));
    expect(results).toHaveLength(10);
    expect(server.refreshes).toHaveLength(1);
    const fresh = store.value!.access_token;
    const data = server.requests.filter((r) => r.path === "/threats");
    expect(data).toHaveLength(10);
    for (const r of data) {
      expect(bearer(r)).toBe(`Bearer ${fresh}`);
      expect(r.status).toBe(200);
    }
    for (const uses of server.refreshUses.values()) expect(uses).toBe(1);
  });

  it("single flight within a tab: the 10 callers share one refresh, so the lock is taken once", async () => {
    const { api, server, lock } = setup({ session: "expiring" });
    await Promise.all(Array.from({ length: 10 }, () => api.get("/threats")));
    expect(server.refreshes).toHaveLength(1);
    expect(lock.stats.acquisitions).toBe(1);
  });

  it("single flight holds without a cross-tab lock too (browserLock's fallback runs fn at once)", async () => {
    const server = new FakeServer();
    const store = memoryStore(server.session(T0 + 1_000));
    const noLock: LockRunner = (_name, fn) => fn();
    const onSessionEnded = vi.fn();
    const api = new ApiClient({ prefix: PREFIX, fetch: server.fetch as unknown as typeof fetch, store, lock: noLock, now: () => T0, onSessionEnded });
    await Promise.all(Array.from({ length: 10 }, () => api.get("/threats")));
    expect(server.refreshes).toHaveLength(1);
    for (const uses of server.refreshUses.values()) expect(uses).toBe(1);
    expect(onSessionEnded).not.toHaveBeenCalled();
  });

  it("single flight also holds for accessToken() callers mixed with requests", async () => {
    const { api, server } = setup({ session: "expiring" });
    const tokens = await Promise.all([api.accessToken(), api.get("/threats").then(() => null), api.accessToken(), api.get("/sensors").then(() => null)]);
    expect(server.refreshes).toHaveLength(1);
    expect(tokens[0]).toBe(tokens[2]);
  });
});

describe("ApiClient: 401 on a request", () => {
  it("triggers one refresh and one retry with the new token", async () => {
    const { api, server, store } = setup();
    const old = store.value!;
    server.expired.add(old.access_token); // the server thinks otherwise than our clock
    const answer = await api.get<{ path: string }>("/threats", { severity: "high" });
    expect(answer.path).toBe("/threats");
    expect(server.requests.map((r) => `${r.path} ${r.status}`)).toEqual(["/threats 401", "/auth/refresh 200", "/threats 200"]);
    expect(bearer(server.requests[0])).toBe(`Bearer ${old.access_token}`);
    expect(bearer(server.requests[2])).toBe(`Bearer ${store.value!.access_token}`);
    expect(store.value!.access_token).not.toBe(old.access_token);
    // The retry is the same request.
    expect(server.requests[2].query.get("severity")).toBe("high");
  });

  it("a second 401 after the refresh reaches the caller: no loop", async () => {
    const { api, server, store } = setup();
    server.expired.add(store.value!.access_token);
    // Whatever the refresh hands out is refused too.
    const issue = server.issue.bind(server);
    server.issue = (family) => {
      const t = issue(family);
      server.expired.add(t.access_token);
      return t;
    };
    const error = await caught(api.get("/threats"));
    expect(error.status).toBe(401);
    expect(server.count("/threats", "GET")).toBe(2);
    expect(server.refreshes).toHaveLength(1);
  });

  it("10 requests refused together share one refresh", async () => {
    const { api, server, store } = setup();
    server.expired.add(store.value!.access_token);
    await Promise.all(Array.from({ length: 10 }, () => api.get("/threats")));
    expect(server.refreshes).toHaveLength(1);
    expect(server.requests.filter((r) => r.path === "/threats" && r.status === 200)).toHaveLength(10);
  });

  // BUG (api.ts, request()): on a 401 the client refreshes with the token of `this.session` as it
  // is when the 401 arrives, not with the session the failed request was sent with. A request
  // that was sent with the old token and answers 401 only after another call already refreshed
  // spends the NEW refresh token too: a second, needless refresh (each one spends the client's
  // refresh/login rate budget). Fix: remember the session used to send, e.g.
  //   const used = this.session; ... catch: await this.refresh(used.refresh_token)
  // then refresh() sees that the stored refresh token moved past `spent` and adopts it without
  // a request, and the retry goes out with the newer token.
  it("a late 401 for a request sent before a refresh retries with the newer token, without a second refresh", async () => {
    const { api, server, store } = setup();
    server.expired.add(store.value!.access_token);
    server.delays.set("/slow", 40); // answers (401) long after the fast one's refresh finished
    const slow = api.get("/slow");
    await api.get("/threats"); // 401 → refresh → retry
    expect(server.refreshes).toHaveLength(1);
    await slow;
    expect(server.requests.filter((r) => r.path === "/slow").map((r) => r.status)).toEqual([401, 200]);
    expect(server.refreshes).toHaveLength(1);
  });
});

describe("ApiClient: refresh refused", () => {
  it("a 401 on the refresh ends the session: store cleared, onSessionEnded once, onUser(null), caller gets 401", async () => {
    const { api, server, store, onSessionEnded, users } = setup({ session: "expiring" });
    server.revokeFamilyOf(store.value!.refresh_token);
    const error = await caught(api.get("/threats"));
    expect(error.status).toBe(401);
    expect(store.value).toBeNull();
    expect(api.user).toBeNull();
    expect(onSessionEnded).toHaveBeenCalledTimes(1);
    expect(onSessionEnded.mock.calls[0][0]).toMatch(/session has ended/i);
    expect(users).toEqual([null]);
    expect(server.count("/threats", "GET")).toBe(0);
    // Afterwards nothing is sent any more.
    await caught(api.get("/threats"));
    expect(server.requests).toHaveLength(1);
  });

  it("10 requests meeting a refused refresh end the session once and all fail with 401", async () => {
    const { api, server, store, onSessionEnded, users } = setup({ session: "expiring" });
    server.revokeFamilyOf(store.value!.refresh_token);
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => api.get("/threats")));
    for (const o of outcomes) {
      expect(o.status).toBe("rejected");
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(ApiError);
      expect(((o as PromiseRejectedResult).reason as ApiError).status).toBe(401);
    }
    expect(server.refreshes).toHaveLength(1);
    expect(onSessionEnded).toHaveBeenCalledTimes(1);
    expect(users).toEqual([null]);
  });

  it("a 401 on the refresh after a 401 on the request ends the session too", async () => {
    const { api, server, store, onSessionEnded } = setup();
    server.expired.add(store.value!.access_token);
    server.revokeFamilyOf(store.value!.refresh_token);
    const error = await caught(api.get("/threats"));
    expect(error.status).toBe(401);
    expect(store.value).toBeNull();
    expect(onSessionEnded).toHaveBeenCalledTimes(1);
  });

  it("a 429 on the refresh does not end the session, and a later refresh works", async () => {
    const { api, server, store, onSessionEnded, users } = setup({ session: "expiring" });
    const before = store.value!;
    server.refreshFailure = () => json(429, { detail: "Too many attempts" }, { "Retry-After": "30" });
    const error = await caught(api.get("/threats"));
    expect(error.status).toBe(429);
    expect(error.message).toBe("Too many attempts");
    expect(error.retryAfter).toBe(30);
    expect(store.value).toEqual(before);
    expect(api.user).toEqual(USER);
    expect(onSessionEnded).not.toHaveBeenCalled();
    expect(users).toEqual([]);
    // The server recovers: the same (never accepted) refresh token still works.
    server.refreshFailure = null;
    await api.get("/threats");
    expect(server.refreshes).toHaveLength(2);
    expect(server.requests.at(-1)!.status).toBe(200);
  });

  it("a network error on the refresh does not end the session", async () => {
    const { api, server, store, onSessionEnded } = setup({ session: "expiring" });
    const before = store.value!;
    const real = server.fetch.getMockImplementation()!;
    server.fetch.mockImplementationOnce(async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(api.get("/threats")).rejects.toThrow("Failed to fetch");
    expect(store.value).toEqual(before);
    expect(onSessionEnded).not.toHaveBeenCalled();
    server.fetch.mockImplementation(real);
    await api.get("/threats");
    expect(store.value!.access_token).not.toBe(before.access_token);
  });
});

describe("ApiClient: two tabs sharing one store and one lock", () => {
  function twoTabs(expiresAt: number) {
    const server = new FakeServer();
    const store = memoryStore(server.session(expiresAt));
    const lock = mutex();
    const a = setup({ server, store, lock });
    const b = setup({ server, store, lock });
    return { server, store, lock, a, b };
  }

  it("refresh only once: the second tab adopts the stored newer tokens without a request", async () => {
    const { server, store, lock, a, b } = twoTabs(T0 + 10_000);
    const first = store.value!;
    await Promise.all([
      ...Array.from({ length: 5 }, () => a.api.get("/threats")),
      ...Array.from({ length: 5 }, () => b.api.get("/sensors")),
    ]);
    expect(server.refreshes).toHaveLength(1);
    for (const [token, uses] of server.refreshUses) expect(uses, token).toBeLessThanOrEqual(1);
    expect(server.refreshUses.get(first.refresh_token)).toBe(1);
    const fresh = store.value!;
    for (const r of server.requests.filter((r) => r.method === "GET")) {
      expect(r.status).toBe(200);
      expect(bearer(r)).toBe(`Bearer ${fresh.access_token}`);
    }
    expect(a.onSessionEnded).not.toHaveBeenCalled();
    expect(b.onSessionEnded).not.toHaveBeenCalled();
    expect(lock.stats.maxHeld).toBe(1);
    // Tab B took the lock after tab A and found the refreshed tokens there.
    expect(lock.stats.acquisitions).toBe(2);
  });

  it("a tab that refreshes later, with its stale token in memory, adopts without a request", async () => {
    const { server, store, a, b } = twoTabs(T0 + 10_000);
    const spent = store.value!.refresh_token;
    await a.api.get("/threats");
    expect(server.refreshes).toHaveLength(1);
    const afterA = store.value!;
    // Tab B still holds the spent refresh token in memory; presenting it would revoke the family.
    const token = await b.api.accessToken();
    expect(token).toBe(afterA.access_token);
    expect(server.refreshes).toHaveLength(1);
    expect(server.refreshUses.get(spent)).toBe(1);
    await b.api.get("/sensors");
    expect(bearer(server.requests.at(-1)!)).toBe(`Bearer ${afterA.access_token}`);
  });

  it("when the other tab's newer tokens are close to expiry too, the stored (unspent) refresh token is used", async () => {
    const { server, store, a, b } = twoTabs(T0 + 10_000);
    await a.api.get("/threats");
    const afterA = store.value!;
    // Much later: tab A's tokens are near expiry as well; tab B wakes up first.
    a.clock.t = b.clock.t = afterA.expires_at - 1_000;
    await b.api.get("/sensors");
    expect(server.refreshes).toHaveLength(2);
    expect(server.refreshes[1].body).toEqual({ refresh_token: afterA.refresh_token });
    for (const [token, uses] of server.refreshUses) expect(uses, token).toBeLessThanOrEqual(1);
    // Tab A now adopts B's tokens.
    await a.api.get("/threats");
    expect(server.refreshes).toHaveLength(2);
    expect(server.requests.at(-1)!.status).toBe(200);
  });

  it("a 401 in one tab while the other already refreshed is settled without spending a token twice", async () => {
    const { server, store, a, b } = twoTabs(T0 + EXPIRES_IN_S * 1000);
    const first = store.value!;
    server.expired.add(first.access_token);
    await a.api.get("/threats"); // 401 → refresh → retry
    await b.api.get("/sensors"); // 401 with the old token → adopts A's tokens → retry
    expect(server.refreshes).toHaveLength(1);
    for (const [token, uses] of server.refreshUses) expect(uses, token).toBeLessThanOrEqual(1);
    expect(server.requests.at(-1)!.status).toBe(200);
    expect(b.onSessionEnded).not.toHaveBeenCalled();
  });
  // BUG (api.ts, refresh()): a tab that adopts the stored session written by another tab sets
  // `this.session = stored` without telling its onUser listeners. When the other tab logged out
  // and logged in as someone else, this tab silently acts as the new user (another role) while
  // its UI still shows the old one. Fix: in the adopt-from-store branch call
  //   this.adopt(stored)   (instead of `this.session = stored`)
  // which notifies the listeners when the user id changed (or end the session here instead).
  it("adopting another tab's session of a different user notifies onUser", async () => {
    const { store, a, b } = twoTabs(T0 + 10_000);
    await a.api.logout();
    await a.api.login("admin", "secret");
    expect(store.value!.user.username).toBe("admin");
    // Tab B still holds the analyst's session in memory; its token is near expiry.
    await b.api.get("/sensors");
    expect(b.api.user?.username).toBe("admin");
    expect(b.users.at(-1)?.username).toBe("admin");
  });
});

describe("ApiClient: errors", () => {
  it("422 maps the detail list to a readable message and .fields", async () => {
    const { api } = setup();
    const error = await caught(api.get("/validation"));
    expect(error.status).toBe(422);
    expect(error.name).toBe("ApiError");
    expect(error.message).toBe(
      "threat_score: Input should be less than or equal to 1; page_size: Input should be greater than 0; 2.severity: Input should be 'critical', 'high', 'medium', 'low' or 'info'",
    );
    expect(error.fields).toEqual([
      { loc: ["body", "threat_score"], msg: "Input should be less than or equal to 1", type: "less_than_equal" },
      { loc: ["query", "page_size"], msg: "Input should be greater than 0", type: "greater_than" },
      { loc: ["body", 2, "severity"], msg: "Input should be 'critical', 'high', 'medium', 'low' or 'info'", type: "enum" },
    ]);
  });

  it("a string detail is the message; Retry-After is read; a non-JSON body keeps the status line", async () => {
    const { api } = setup();
    const missing = await caught(api.get("/missing"));
    expect([missing.status, missing.message, missing.fields, missing.retryAfter]).toEqual([404, "Threat not found", [], null]);
    const limited = await caught(api.get("/limited"));
    expect([limited.status, limited.message, limited.retryAfter]).toEqual([429, "Rate limit exceeded", 17]);
    const proxy = await caught(api.get("/proxy-error"));
    expect([proxy.status, proxy.message]).toEqual([502, "502 Bad Gateway"]);
  });

  it("errors other than 401 do not refresh", async () => {
    const { api, server } = setup();
    await caught(api.get("/missing"));
    await caught(api.get("/validation"));
    expect(server.refreshes).toHaveLength(0);
  });
});

describe("buildQuery", () => {
  it("repeats array values, drops null and undefined, keeps the empty string", () => {
    expect(
      buildQuery({
        severity: ["critical", "high"],
        sensor_id: [],
        status: null,
        cursor: undefined,
        assignee: "",
        is_acknowledged: false,
        page_size: 50,
      }),
    ).toBe("?severity=critical&severity=high&assignee=&is_acknowledged=false&page_size=50");
  });

  it("the empty string means unassigned and survives the round trip", () => {
    const params = new URLSearchParams(buildQuery({ assignee: "" }).slice(1));
    expect(params.has("assignee")).toBe(true);
    expect(params.get("assignee")).toBe("");
  });

  it("nothing to send gives an empty string, not a lone ?", () => {
    expect(buildQuery(undefined)).toBe("");
    expect(buildQuery({})).toBe("");
    expect(buildQuery({ a: null, b: undefined, c: [] })).toBe("");
  });

  it("encodes values and numbers in arrays", () => {
    expect(buildQuery({ q: "a b&c=d/é", ids: [1, 2] })).toBe("?q=a+b%26c%3Dd%2F%C3%A9&ids=1&ids=2");
    expect(buildQuery({ t: true })).toBe("?t=true");
  });
});

describe("ApiClient: logout", () => {
  it("ends the session on the server and here", async () => {
    const { api, server, store, users, onSessionEnded } = setup();
    const token = store.value!.access_token;
    await api.logout();
    expect(server.requests[0].path).toBe("/auth/logout");
    expect(bearer(server.requests[0])).toBe(`Bearer ${token}`);
    expect(server.requests[0].status).toBe(200);
    expect(store.value).toBeNull();
    expect(api.user).toBeNull();
    expect(users).toEqual([null]);
    // The user asked: not an unexpected end.
    expect(onSessionEnded).not.toHaveBeenCalled();
  });

  it("clears even when the server answers an error", async () => {
    const { api, server, store, users } = setup();
    server.logoutStatus = 500;
    await expect(api.logout()).resolves.toBeUndefined();
    expect(server.requests[0].status).toBe(500);
    expect(store.value).toBeNull();
    expect(users).toEqual([null]);
  });

  it("clears even when the network fails", async () => {
    const { api, server, store } = setup();
    server.fetch.mockImplementationOnce(async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(api.logout()).resolves.toBeUndefined();
    expect(store.value).toBeNull();
  });

  // BUG (api.ts, logout()): logout sends the access token as it is, without the refresh that
  // every other call gets. After the tab sat idle longer than the access token's life (30 min
  // on the dev server) the server answers 401 and revokes nothing: the session family, and its
  // refresh token, stay valid on the server although the user logged out. Fix: in logout(),
  // refresh first when the token is within the margin (ignoring failures), e.g.
  //   if (had.expires_at - this.now() <= REFRESH_MARGIN_MS) await this.refresh(had.refresh_token).catch(() => undefined);
  // (or send it through request(), which refreshes and retries on a 401), then POST /auth/logout.
  it("logout after the access token expired still revokes the session on the server", async () => {
    const { api, server, store, clock } = setup();
    const session = store.value!;
    clock.t = session.expires_at + 60_000; // idle for longer than the token lives
    server.expired.add(session.access_token);
    await api.logout();
    expect(store.value).toBeNull();
    expect(server.requests.filter((r) => r.path === "/auth/logout").at(-1)!.status).toBe(200);
    expect(server.familyRevoked(session.refresh_token)).toBe(true);
  });

  it("without a session sends nothing", async () => {
    const { api, server } = setup({ session: "none" });
    await api.logout();
    expect(server.requests).toHaveLength(0);
  });
});
