// The sensor fleet: one row per sensor with its online state, last heartbeat, place, platform and
// threat counts. Live: sensor_status messages flip a row online/offline in place (with a short
// highlight) and threat messages bump that sensor's counts, without a request. Filters, sort
// and page live in the URL.
import { useEffect, useMemo, useRef, useState } from "react";
import { useApi, useApp, useCan, useLive, useThrottled } from "../app/context";
import { Link, navigate, useLocation, useTitle } from "../app/router";
import { Empty, ErrorBox, Loading, RelativeTime } from "../components/ui";
import { DisabledChip, SensorOnline, sensorPlace } from "../components/SensorStatus";
import { formatCount } from "../lib/format";
import { rowKeys } from "../components/rowKeys";
import type { Sensor, SensorPage } from "../lib/types";

const PAGE_SIZE = 100;
const SORTS = ["default", "name", "sensor_id", "status", "heartbeat", "threats_24h", "threats_total"] as const;
type Sort = (typeof SORTS)[number];

interface View {
  page: number;
  online: boolean | null;
  active: boolean | null;
  q: string;
  sort: Sort;
  order: "asc" | "desc";
}

function bool(v: string | null): boolean | null {
  return v === "true" ? true : v === "false" ? false : null;
}

function parseView(params: URLSearchParams): View {
  const page = Number(params.get("page"));
  const sort = params.get("sort") as Sort | null;
  return {
    page: Number.isInteger(page) && page >= 1 && page <= 1_000_000 ? page : 1,
    online: bool(params.get("is_online")),
    active: bool(params.get("is_active")),
    q: (params.get("q") ?? "").slice(0, 100),
    sort: sort && SORTS.includes(sort) ? sort : "default",
    order: params.get("order") === "asc" ? "asc" : "desc",
  };
}

function viewHref(v: View): string {
  const p = new URLSearchParams();
  if (v.page > 1) p.set("page", String(v.page));
  if (v.online !== null) p.set("is_online", String(v.online));
  if (v.active !== null) p.set("is_active", String(v.active));
  if (v.q) p.set("q", v.q);
  if (v.sort !== "default") {
    p.set("sort", v.sort);
    p.set("order", v.order);
  }
  const text = p.toString();
  return "/sensors" + (text ? "?" + text : "");
}

function compare(a: Sensor, b: Sensor, sort: Sort): number {
  switch (sort) {
    case "name":
      return a.name.localeCompare(b.name);
    case "sensor_id":
      return a.sensor_id.localeCompare(b.sensor_id);
    case "status":
      return Number(a.is_online) - Number(b.is_online);
    case "heartbeat":
      return (a.last_heartbeat ? Date.parse(a.last_heartbeat) : 0) - (b.last_heartbeat ? Date.parse(b.last_heartbeat) : 0);
    case "threats_24h":
      return a.threats_last_24h - b.threats_last_24h;
    case "threats_total":
      return a.total_threats_detected - b.total_threats_detected;
    default:
      return 0;
  }
}

export function Sensors() {
  useTitle("Sensors");
  const { api } = useApp();
  const isAdmin = useCan("admin");
  const location = useLocation();
  const view = parseView(location.params);
  const deleted = location.params.get("deleted");
  const go = (patch: Partial<View>, replace = false) => navigate(viewHref({ ...view, ...patch }), { replace });

  const { data, error, loading, reload } = useApi(
    (signal) =>
      api.get<SensorPage>("/sensors", { page: view.page, page_size: PAGE_SIZE, is_online: view.online, is_active: view.active }, signal),
    [api, view.page, view.online, view.active],
  );
  const slowReload = useThrottled(reload, 10_000);
  // Heartbeats change last_heartbeat without an online/offline change (no live message): the
  // list is asked again once a minute while the tab is visible.
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, 60_000);
    return () => clearInterval(t);
  }, [reload]);

  const [rows, setRows] = useState<Sensor[]>([]);
  useEffect(() => {
    if (data) setRows(data.sensors);
  }, [data]);

  // Rows whose online state just changed, highlighted for a moment.
  const [flashing, setFlashing] = useState<ReadonlySet<string>>(new Set());
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());
  useEffect(() => {
    const map = timers.current;
    return () => map.forEach((t) => clearTimeout(t));
  }, []);
  const flash = (id: string) => {
    setFlashing((s) => new Set(s).add(id));
    const old = timers.current.get(id);
    if (old) clearTimeout(old);
    timers.current.set(
      id,
      setTimeout(() => {
        timers.current.delete(id);
        setFlashing((s) => {
          const next = new Set(s);
          next.delete(id);
          return next;
        });
      }, 1600),
    );
  };

  // Threat counts from the live feed, applied twice a second (a burst costs one render).
  const pending = useRef(new Map<string, number>());
  useEffect(() => {
    const t = setInterval(() => {
      if (pending.current.size === 0) return;
      const bumps = pending.current;
      pending.current = new Map();
      setRows((rs) =>
        rs.map((r) => {
          const n = bumps.get(r.sensor_id);
          return n ? { ...r, threats_last_24h: r.threats_last_24h + n, total_threats_detected: r.total_threats_detected + n } : r;
        }),
      );
    }, 500);
    return () => clearInterval(t);
  }, []);

  const rowsRef = useRef(rows);
  rowsRef.current = rows;
  useLive((m) => {
    if (m.type === "threat") {
      pending.current.set(m.data.sensor_id, (pending.current.get(m.data.sensor_id) ?? 0) + 1);
    } else if (m.type === "sensor_status") {
      const { sensor_id, is_online, last_heartbeat } = m.data;
      const known = rowsRef.current.some((r) => r.sensor_id === sensor_id);
      if (known) {
        setRows((rs) => rs.map((r) => (r.sensor_id === sensor_id ? { ...r, is_online, last_heartbeat: last_heartbeat ?? r.last_heartbeat } : r)));
        flash(sensor_id);
      }
      // A sensor not on this page (new, or now matching the online filter), or one that no
      // longer matches the filter: the list is asked again, at most every 10 s.
      if (!known || view.online !== null) slowReload();
    }
  });

  const shown = useMemo(() => {
    const q = view.q.trim().toLowerCase();
    let list = q
      ? rows.filter((r) =>
          [r.name, r.sensor_id, r.city, r.country, r.platform, r.agent_version, r.description].some((v) => v && v.toLowerCase().includes(q)),
        )
      : rows;
    if (view.sort !== "default") {
      const dir = view.order === "asc" ? 1 : -1;
      list = [...list].sort((a, b) => dir * compare(a, b, view.sort) || a.sensor_id.localeCompare(b.sensor_id));
    }
    return list;
  }, [rows, view.q, view.sort, view.order]);


  const total = data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const online = rows.filter((r) => r.is_online).length;

  const header = (label: string, sort: Sort, numeric = false) => {
    const active = view.sort === sort;
    const nextOrder = active && view.order === "desc" ? "asc" : "desc";
    return (
      <th scope="col" className={numeric ? "num" : undefined} aria-sort={active ? (view.order === "asc" ? "ascending" : "descending") : undefined}>
        <button type="button" className="sort" onClick={() => go({ sort, order: nextOrder }, true)} aria-label={`Sort by ${label.toLowerCase()}`}>
          {label}
          {active ? (view.order === "asc" ? " ▲" : " ▼") : ""}
        </button>
      </th>
    );
  };

  return (
    <div className="page" data-testid="sensors-page">
      <div className="page-head">
        <h1>Sensors</h1>
        {isAdmin && (
          <Link to="/sensors/onboard" className="link-button primary" data-testid="sensor-onboard">
            Onboard a sensor
          </Link>
        )}
      </div>

      {deleted && (
        <div className="notice row" role="status">
          <span>
            Sensor <code>{deleted}</code> was deleted; its threats stay as history.
          </span>
          <button type="button" onClick={() => navigate(viewHref(view), { replace: true })}>
            Dismiss
          </button>
        </div>
      )}

      <form
        className="filters"
        role="search"
        aria-label="Sensor filters"
        onSubmit={(e) => e.preventDefault()}
      >
        <label>
          Online
          <select value={view.online === null ? "" : String(view.online)} onChange={(e) => go({ online: bool(e.target.value), page: 1 })}>
            <option value="">Any</option>
            <option value="true">Online</option>
            <option value="false">Offline</option>
          </select>
        </label>
        <label>
          Active
          <select value={view.active === null ? "" : String(view.active)} onChange={(e) => go({ active: bool(e.target.value), page: 1 })}>
            <option value="">Any</option>
            <option value="true">Active</option>
            <option value="false">Disabled</option>
          </select>
        </label>
        <label>
          Find on this page
          <input
            type="search"
            data-filter-focus
            placeholder="Name, id, place, platform  ( / )"
            value={view.q}
            onChange={(e) => go({ q: e.target.value }, true)}
          />
        </label>
        <div className="sensors-summary muted" aria-live="polite">
          {data && (
            <>
              {formatCount(total)} {total === 1 ? "sensor" : "sensors"}
              {rows.length > 0 && <> · {formatCount(online)} online on this page</>}
              {view.q.trim() && <> · {formatCount(shown.length)} match “{view.q.trim()}”</>}
            </>
          )}
        </div>
      </form>

      {error && <ErrorBox error={error} retry={reload} />}
      {!data && loading && <Loading label="Loading sensors" />}
      {data && rows.length === 0 && (
        <Empty>
          {view.online !== null || view.active !== null ? "No sensor matches these filters." : "No sensors yet."}
          {isAdmin && view.online === null && view.active === null && (
            <>
              {" "}
              <Link to="/sensors/onboard">Onboard the first one</Link>.
            </>
          )}
        </Empty>
      )}
      {data && rows.length > 0 && (
        <div className="panel">
          <div className="table-wrap">
            <table data-testid="sensors-table" className="sensors-table">
              <caption className="offscreen">Sensors{view.sort !== "default" && total > PAGE_SIZE ? " (sorted within this page)" : ""}</caption>
              <thead>
                <tr>
                  {header("Name", "name")}
                  {header("Sensor id", "sensor_id")}
                  {header("Status", "status")}
                  {header("Last heartbeat", "heartbeat")}
                  <th scope="col">Location</th>
                  <th scope="col" className="col-platform">
                    Platform / agent
                  </th>
                  {header("Threats 24 h", "threats_24h", true)}
                  {header("Threats total", "threats_total", true)}
                </tr>
              </thead>
              <tbody>
                {shown.map((s) => {
                  const href = `/sensors/${encodeURIComponent(s.sensor_id)}`;
                  const place = sensorPlace(s);
                  return (
                    <tr
                      key={s.sensor_id}
                      tabIndex={0}
                      data-testid="sensor-row"
                      data-sensor-id={s.sensor_id}
                      data-online={s.is_online}
                      className={`clickable${flashing.has(s.sensor_id) ? " sensor-flash" : ""}`}
                      aria-label={`${s.name} (${s.sensor_id}), ${s.is_online ? "online" : "offline"}`}
                      onClick={(e) => {
                        if ((e.target as HTMLElement).closest("a")) return;
                        navigate(href);
                      }}
                      onKeyDown={(e) => rowKeys(e, () => navigate(href))}
                    >
                      <td className="sensor-name">
                        <Link to={href} tabIndex={-1}>
                          {s.name}
                        </Link>
                        {!s.is_active && <DisabledChip />}
                      </td>
                      <td className="mono">{s.sensor_id}</td>
                      <td>
                        <SensorOnline online={s.is_online} testId="sensor-online" />
                      </td>
                      <td>
                        <RelativeTime iso={s.last_heartbeat} />
                      </td>
                      <td>{place ?? <span className="muted">unknown</span>}</td>
                      <td className="col-platform">
                        {s.platform ?? <span className="muted">—</span>}
                        {s.agent_version && <span className="muted"> · {s.agent_version}</span>}
                      </td>
                      <td className="num">{formatCount(s.threats_last_24h)}</td>
                      <td className="num">{formatCount(s.total_threats_detected)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          {shown.length === 0 && <Empty>No sensor on this page matches “{view.q.trim()}”.</Empty>}
        </div>
      )}

      {data && (
        <nav className="pager row" aria-label="Pages">
          <button type="button" disabled={view.page <= 1} onClick={() => go({ page: view.page - 1 })}>
            ← Previous
          </button>
          <span>
            Page {formatCount(view.page)} of {formatCount(pages)} · {formatCount(total)} {total === 1 ? "sensor" : "sensors"}
          </span>
          <button type="button" disabled={view.page >= pages} onClick={() => go({ page: view.page + 1 })}>
            Next →
          </button>
        </nav>
      )}
    </div>
  );
}
