// The shell: the login gate, the navigation (admin pages only for admins), the live feed's
// connection state, the time-zone and theme switches, and the page the path names.
import { lazy, Suspense, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { ApiClient, apiPrefix, browserLock, localSessionStore } from "../lib/api";
import { LiveFeed, liveUrl } from "../lib/live";
import { formatRelative, localTime, onTimeZoneChange, setLocalTime } from "../lib/format";
import type { User } from "../lib/types";
import { AppContext, useApp, useLiveStatus, useNow } from "./context";
import { Link, match, navigate, useLocation } from "./router";
import { Login } from "../pages/Login";
import { Overview } from "../pages/Overview";
import { Loading } from "../components/ui";
import { useShortcuts } from "./shortcuts";
import { AlertBadge } from "../lib/alerts";
import type { AlertPage } from "../lib/types";

// Pages other than the overview load on first visit: the first screen's JavaScript stays small.
const Live = lazy(() => import("../pages/Live").then((m) => ({ default: m.Live })));
const MapPage = lazy(() => import("../pages/MapPage").then((m) => ({ default: m.MapPage })));
const Threats = lazy(() => import("../pages/Threats").then((m) => ({ default: m.Threats })));
const Alerts = lazy(() => import("../pages/Alerts").then((m) => ({ default: m.Alerts })));
const Sensors = lazy(() => import("../pages/Sensors").then((m) => ({ default: m.Sensors })));
const SensorDetail = lazy(() => import("../pages/SensorDetail").then((m) => ({ default: m.SensorDetail })));
const Onboard = lazy(() => import("../pages/Onboard").then((m) => ({ default: m.Onboard })));
const Users = lazy(() => import("../pages/Users").then((m) => ({ default: m.Users })));
const Audit = lazy(() => import("../pages/Audit").then((m) => ({ default: m.Audit })));
const Account = lazy(() => import("../pages/Account").then((m) => ({ default: m.Account })));

type Theme = "dark" | "light";

function initialTheme(): Theme {
  const saved = localStorage.getItem("honeyman.theme");
  if (saved === "dark" || saved === "light") return saved;
  return window.matchMedia?.("(prefers-color-scheme: light)").matches ? "light" : "dark";
}

export function App() {
  const [ended, setEnded] = useState<string | null>(null);
  const api = useMemo(
    () =>
      new ApiClient({
        prefix: apiPrefix(),
        fetch: window.fetch.bind(window),
        store: localSessionStore(),
        lock: browserLock,
        onSessionEnded: setEnded,
      }),
    [],
  );
  const [user, setUser] = useState<User | null>(api.user);
  useEffect(() => api.onUser(setUser), [api]);
  const [theme, setTheme] = useState<Theme>(initialTheme);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("honeyman.theme", theme);
  }, [theme]);

  const live = useMemo(() => (user ? new LiveFeed({ url: liveUrl(window.location, api.prefix), token: (force) => (force ? api.freshAccessToken() : api.accessToken()) }) : null), [api, user]);
  useEffect(() => {
    if (!live) return;
    live.start();
    return () => live.stop();
  }, [live]);

  // One count per login: the first page of firing alerts, then the live ones (lib/alerts.ts).
  const alerts = useMemo(() => (user ? new AlertBadge() : null), [user]);
  useEffect(() => {
    if (!alerts || !live) return;
    const off = live.on((m) => {
      if (m.type === "alert") alerts.observe([m.data]);
    });
    const controller = new AbortController();
    api
      .get<AlertPage>("/alerts", { status: "firing", page_size: 100 }, controller.signal)
      .then((page) => alerts.seed(page))
      .catch(() => undefined); // the badge stays with what the live feed brings
    return () => {
      off();
      controller.abort();
    };
  }, [api, alerts, live]);

  const location = useLocation();
  if (!user || !live || !alerts) {
    return (
      <Login
        api={api}
        notice={ended}
        onLoggedIn={() => {
          setEnded(null);
          if (location.path === "/login") navigate(new URLSearchParams(location.search).get("next") || "/", { replace: true });
        }}
      />
    );
  }
  return (
    <AppContext.Provider value={{ api, live, user, alerts }}>
      <Shell theme={theme} setTheme={setTheme} />
    </AppContext.Provider>
  );
}

const NAV: { to: string; label: string; admin?: boolean; key: string }[] = [
  { to: "/", label: "Overview", key: "o" },
  { to: "/live", label: "Live feed", key: "l" },
  { to: "/map", label: "Map", key: "m" },
  { to: "/threats", label: "Threats", key: "t" },
  { to: "/alerts", label: "Alerts", key: "e" },
  { to: "/sensors", label: "Sensors", key: "s" },
  { to: "/users", label: "Users", admin: true, key: "u" },
  { to: "/audit", label: "Audit log", admin: true, key: "a" },
];

function Shell({ theme, setTheme }: { theme: Theme; setTheme: (t: Theme) => void }) {
  const { user, api } = useApp();
  const location = useLocation();
  const [local, setLocal] = useState(localTime());
  useEffect(() => onTimeZoneChange(() => setLocal(localTime())), []);
  useShortcuts();
  const isAdmin = user.role === "admin";
  const section = "/" + (location.path.split("/")[1] ?? "");
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>Honeyman</span>
        </div>
        <ul>
          {NAV.filter((n) => !n.admin || isAdmin).map((n) => (
            <li key={n.to}>
              <Link to={n.to} aria-current={section === n.to ? "page" : undefined} className={section === n.to ? "active" : ""}>
                {n.label}
                {n.to === "/alerts" && <AlertCount />}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="main-col">
        <header className="topbar">
          <LiveIndicator />
          <div className="topbar-right">
            <button type="button" className="chip" onClick={() => setLocalTime(!local)} aria-label={`Times shown in ${local ? "local time" : "UTC"}; switch`}>
              {local ? "Local time" : "UTC"}
            </button>
            <button type="button" className="chip" onClick={() => setTheme(theme === "dark" ? "light" : "dark")} aria-label={`Switch to the ${theme === "dark" ? "light" : "dark"} theme`}>
              {theme === "dark" ? "Light theme" : "Dark theme"}
            </button>
            <Link to="/account" className="chip" aria-label={`Account of ${user.username}`}>
              {user.username} · {user.role}
            </Link>
            <button type="button" className="chip" onClick={() => void api.logout()}>
              Log out
            </button>
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          <Suspense fallback={<Loading />}>
            <Page path={location.path} isAdmin={isAdmin} />
          </Suspense>
        </main>
      </div>
    </div>
  );
}

function Page({ path, isAdmin }: { path: string; isAdmin: boolean }): ReactNode {
  const adminOnly = (page: ReactNode) => (isAdmin ? page : <Forbidden />);
  if (path === "/" || path === "/login") return <Overview />;
  if (path === "/live") return <Live />;
  if (path === "/map") return <MapPage />;
  if (path === "/threats") return <Threats />;
  if (path === "/alerts") return <Alerts />;
  if (path === "/sensors") return <Sensors />;
  if (path === "/sensors/onboard") return adminOnly(<Onboard />);
  const sensor = match("/sensors/:id", path);
  if (sensor) return <SensorDetail sensorId={sensor.id} />;
  if (path === "/users") return adminOnly(<Users />);
  if (path === "/audit") return adminOnly(<Audit />);
  if (path === "/account") return <Account />;
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/">Back to the overview</Link>.
      </p>
    </div>
  );
}

/** The unacknowledged alerts next to "Alerts" in the navigation. */
function AlertCount() {
  const { alerts } = useApp();
  const label = useSyncExternalStore(
    (l) => alerts.subscribe(l),
    () => alerts.label,
  );
  if (!label) return null;
  return (
    <span className="nav-badge" data-testid="alert-badge" title={`${label} unacknowledged alerts known here`}>
      {label}
      <span className="offscreen"> unacknowledged</span>
    </span>
  );
}

function Forbidden() {
  return (
    <div className="page">
      <h1>Admins only</h1>
      <p>This page needs the admin role. Ask an admin if you need it.</p>
    </div>
  );
}

/** The connection state and the age of the newest event, always visible. */
function LiveIndicator() {
  const status = useLiveStatus();
  const { live } = useApp();
  const now = useNow(1000);
  const lastAt = live.current.lastThreatAt;
  const label =
    status.state === "open"
      ? "Live"
      : status.state === "connecting"
        ? "Connecting"
        : status.state === "reconnecting"
          ? `Reconnecting${status.retryInMs ? ` in ${Math.ceil(status.retryInMs / 1000)} s` : ""}`
          : "Offline";
  return (
    <div className={`live-indicator live-${status.state}`} role="status" aria-live="polite" data-testid="live-state" data-state={status.state}>
      <span className="live-dot" aria-hidden="true" />
      <span>{label}</span>
      {status.state !== "open" && status.lastClose && <span className="muted">({status.lastClose})</span>}
      <span className="muted">newest event {lastAt ? formatRelative(lastAt, now) : "none yet"}</span>
      {status.connections > 1 && status.state === "open" && (
        <span className="muted" data-testid="live-replayed">
          · resumed, {status.replayed} missed {status.replayed === 1 ? "threat" : "threats"} filled in
        </span>
      )}
    </div>
  );
}
