// What every page reaches: the API client, the live feed and the logged-in user.
import { createContext, useContext, useEffect, useRef, useState, useCallback, type DependencyList } from "react";
import { ApiError, type ApiClient } from "../lib/api";
import type { LiveFeed, LiveListener, LiveStatus } from "../lib/live";
import type { AlertBadge } from "../lib/alerts";
import type { Role, User } from "../lib/types";

export interface AppServices {
  api: ApiClient;
  live: LiveFeed;
  user: User;
  /** The navigation's count of unacknowledged alerts, which the alerts page keeps up to date. */
  alerts: AlertBadge;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error("useApp outside AppContext");
  return ctx;
}

const RANK: Record<Role, number> = { viewer: 0, analyst: 1, admin: 2 };

/** Does the user's role reach `needed`? Controls a role cannot use are not drawn at all. */
export function useCan(needed: Role): boolean {
  return RANK[useApp().user.role] >= RANK[needed];
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | Error | null;
  loading: boolean;
  reload: () => void;
}

/**
 * Runs `load` when deps change (aborting the previous run) and on reload(); keeps the last data
 * while a reload runs so the page does not flash empty.
 */
export function useApi<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    loadRef
      .current(controller.signal)
      .then((value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setError(null);
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted || (e instanceof DOMException && e.name === "AbortError")) return;
        setError(e instanceof Error ? e : new Error(String(e)));
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, loading, reload };
}

/** Subscribes to the live feed's messages for the component's lifetime. */
export function useLive(listener: LiveListener) {
  const { live } = useApp();
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => live.on((m) => ref.current(m)), [live]);
}

export function useLiveStatus(): LiveStatus {
  const { live } = useApp();
  const [status, setStatus] = useState(live.current);
  useEffect(() => live.onStatus(setStatus), [live]);
  return status;
}

/** Re-renders every `ms` (relative times, ages). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/**
 * Calls `fn` at most once per `ms` while live events keep arriving (trailing edge), e.g. to
 * reload a panel after new threats without spending the API's rate limit on every one.
 */
export function useThrottled(fn: () => void, ms: number): () => void {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  return useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      fnRef.current();
    }, ms);
  }, [ms]);
}
