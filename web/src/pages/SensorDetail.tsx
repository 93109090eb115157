// One sensor: its state, place and platform, its threat statistics, threats per hour over the
// last 24 h and its latest threats — all kept live from the feed (the sensor's threats are
// prepended and counted, its online state flips in place). Admins edit it, refuse its key,
// delete it, and send it commands and rule updates; other roles see none of these controls.
import { useEffect, useRef, useState, type FormEvent, type ReactNode } from "react";
import { useApi, useApp, useCan, useLive, useThrottled } from "../app/context";
import { Link, navigate, useTitle } from "../app/router";
import { Empty, ErrorBox, Loading, Panel, RelativeTime, SeverityBadge, StatusBadge } from "../components/ui";
import { DisabledChip, SensorOnline, sensorPlace } from "../components/SensorStatus";
import { Dialog } from "../components/Dialog";
import { CopyButton } from "../components/CopyButton";
import { SEVERITY_VAR } from "../components/severity";
import { ApiError } from "../lib/api";
import { formatCount, formatNumber, formatTime, localTime, titleCase } from "../lib/format";
import { SEVERITIES, type Sensor, type SensorStats, type Severity, type ThreatPage, type ThreatStatus, type TrendPoint, type Trends } from "../lib/types";
import { rowKeys } from "../components/rowKeys";
import { TrendChart } from "../components/TrendChart";
import { SensorCommands } from "../components/SensorCommands";

/** The sensor as GET /sensors/{id} answers (more than the list's columns). */
type SensorFull = Sensor & {
  transport_protocol?: string | null;
  capabilities?: Record<string, unknown> | null;
  python_version?: string | null;
  location_method?: string | null;
  location_accuracy?: number | null;
  clock_skew_threats?: number;
  last_clock_skew_seconds?: number | null;
};

interface Row {
  id: string;
  timestamp: string;
  severity: Severity;
  threat_type: string;
  detector_type: string;
  device_name: string | null;
  threat_score: number | null;
  status: ThreatStatus | null;
  fresh?: boolean;
}

const HOUR = 3_600_000;

/** One page per sensor: moving to another sensor starts from a clean state. */
export function SensorDetail({ sensorId }: { sensorId: string }) {
  return <SensorPage key={sensorId} sensorId={sensorId} />;
}

function SensorPage({ sensorId }: { sensorId: string }) {
  useTitle(`Sensor ${sensorId}`);
  const { api } = useApp();
  const isAdmin = useCan("admin");
  const path = `/sensors/${encodeURIComponent(sensorId)}`;

  const sensorLoad = useApi((signal) => api.get<SensorFull>(path, undefined, signal), [api, path]);
  const statsLoad = useApi((signal) => api.get<SensorStats>(`${path}/stats`, undefined, signal), [api, path]);
  const trendLoad = useApi((signal) => api.get<Trends>("/analytics/trends", { period: "hourly", sensor_id: sensorId }, signal), [api, sensorId]);
  const threatsLoad = useApi((signal) => api.get<ThreatPage>(`${path}/threats`, { page_size: 20 }, signal), [api, path]);

  const [sensor, setSensor] = useState<SensorFull | null>(null);
  const [stats, setStats] = useState<SensorStats | null>(null);
  const [trend, setTrend] = useState<TrendPoint[] | null>(null);
  const [rows, setRows] = useState<Row[] | null>(null);
  useEffect(() => setSensor(sensorLoad.data), [sensorLoad.data]);
  useEffect(() => setStats(statsLoad.data), [statsLoad.data]);
  useEffect(() => setTrend(trendLoad.data?.data_points ?? null), [trendLoad.data]);
  useEffect(() => {
    if (threatsLoad.data) setRows(threatsLoad.data.threats.map((t) => ({ ...t, status: t.status })));
  }, [threatsLoad.data]);

  // Live counts drift a little (a 24 h window slides): the statistics are asked again at most
  // once a minute while this sensor's threats arrive.
  const resync = useThrottled(() => {
    statsLoad.reload();
    trendLoad.reload();
  }, 60_000);
  // The last heartbeat moves without a live message while the sensor stays online: asked again
  // once a minute while the tab is visible.
  const reloadSensor = sensorLoad.reload;
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === "visible") reloadSensor();
    }, 60_000);
    return () => clearInterval(t);
  }, [reloadSensor]);
  const [flash, setFlash] = useState(false);
  const flashTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (flashTimer.current) clearTimeout(flashTimer.current);
  }, []);

  useLive((m) => {
    if (m.type === "sensor_status" && m.data.sensor_id === sensorId) {
      setSensor((s) => (s ? { ...s, is_online: m.data.is_online, last_heartbeat: m.data.last_heartbeat ?? s.last_heartbeat } : s));
      setFlash(true);
      if (flashTimer.current) clearTimeout(flashTimer.current);
      flashTimer.current = setTimeout(() => setFlash(false), 1600);
    }
    if (m.type !== "threat" || m.data.sensor_id !== sensorId) return;
    const t = m.data;
    setRows((rs) =>
      rs && !rs.some((r) => r.id === t.id)
        ? [{ id: t.id, timestamp: t.timestamp, severity: t.severity, threat_type: t.threat_type, detector_type: t.detector_type, device_name: t.device_name, threat_score: t.threat_score, status: "new" as const, fresh: true }, ...rs].slice(0, 20)
        : rs,
    );
    setStats((s) =>
      s
        ? {
            ...s,
            total_threats: s.total_threats + 1,
            threats_last_24h: s.threats_last_24h + 1,
            threats_last_7d: s.threats_last_7d + 1,
            threats_by_severity: { ...s.threats_by_severity, [t.severity]: (s.threats_by_severity[t.severity] ?? 0) + 1 },
            threats_by_detector: { ...s.threats_by_detector, [t.detector_type]: (s.threats_by_detector[t.detector_type] ?? 0) + 1 },
            last_threat_timestamp: !s.last_threat_timestamp || Date.parse(t.timestamp) > Date.parse(s.last_threat_timestamp) ? t.timestamp : s.last_threat_timestamp,
          }
        : s,
    );
    setTrend((points) => (points ? bumpTrend(points, t.timestamp, t.severity) : points));
    resync();
  });

  const notFound = sensorLoad.error instanceof ApiError && sensorLoad.error.status === 404;
  if (notFound) {
    return (
      <div className="page" data-testid="sensor-detail">
        <h1>No sensor “{sensorId}”</h1>
        <p>
          There is no sensor with this id (it may have been deleted). Threats outlive their sensor:{" "}
          <Link to={`/threats?sensor_id=${encodeURIComponent(sensorId)}`}>threats recorded by {sensorId}</Link>. <Link to="/sensors">All sensors</Link>.
        </p>
      </div>
    );
  }

  const threatsHref = `/threats?sensor_id=${encodeURIComponent(sensorId)}`;
  return (
    <div className="page" data-testid="sensor-detail" data-sensor-id={sensorId}>
      <nav className="breadcrumbs muted" aria-label="Breadcrumbs">
        <Link to="/sensors">Sensors</Link> / <span className="mono">{sensorId}</span>
      </nav>
      <div className={`page-head${flash ? " sensor-flash" : ""}`}>
        <div className="sensor-title">
          <h1>{sensor?.name ?? sensorId}</h1>
          {sensor && <SensorOnline online={sensor.is_online} testId="sensor-online" />}
          {sensor && !sensor.is_active && <DisabledChip />}
          {sensor && (
            <span className="muted">
              heartbeat <RelativeTime iso={sensor.last_heartbeat} />
            </span>
          )}
        </div>
        {isAdmin && sensor && <AdminActions sensor={sensor} onChanged={setSensor} />}
      </div>
      {sensorLoad.error && <ErrorBox error={sensorLoad.error} retry={sensorLoad.reload} />}
      {!sensor && sensorLoad.loading && <Loading label="Loading the sensor" />}

      <div className="kpis sensor-kpis" aria-label="Threat statistics">
        <Kpi label="Threats in total" value={stats ? formatCount(stats.total_threats) : "…"} />
        <Kpi label="Last 24 h" value={stats ? formatCount(stats.threats_last_24h) : "…"} />
        <Kpi label="Last 7 days" value={stats ? formatCount(stats.threats_last_7d) : "…"} />
        <Kpi label="Last threat" value={stats ? <RelativeTime iso={stats.last_threat_timestamp} /> : "…"} sub={stats?.last_threat_timestamp ? formatTime(stats.last_threat_timestamp) : undefined} small />
        <Kpi
          label="Most common type"
          value={
            stats?.most_common_threat_type ? (
              <Link to={`${threatsHref}&threat_type=${encodeURIComponent(stats.most_common_threat_type)}`}>{titleCase(stats.most_common_threat_type)}</Link>
            ) : stats ? (
              <span className="muted">none</span>
            ) : (
              "…"
            )
          }
          small
        />
      </div>
      {statsLoad.error && <ErrorBox error={statsLoad.error} retry={statsLoad.reload} />}

      <div className="sensor-grid">
        <Panel title="Details" id="sensor-details">
          {sensor ? <Details sensor={sensor} /> : <Loading />}
        </Panel>
        <Panel title="Threats per hour, last 24 h" id="sensor-trend" actions={<span className="muted">{localTime() ? "local time" : "UTC"}</span>}>
          {trendLoad.error && <ErrorBox error={trendLoad.error} retry={trendLoad.reload} />}
          {trend ? (
            <TrendChart
              points={trend}
              period="hourly"
              height={200}
              label={`Threats per hour from ${sensorId}, last 24 hours`}
              bucketHref={(start, end) => `${threatsHref}&range=custom&from=${encodeURIComponent(start)}&to=${encodeURIComponent(end)}`}
            />
          ) : (
            !trendLoad.error && <Loading />
          )}
        </Panel>
        <Panel title="By severity" id="sensor-severity">
          {stats ? (
            <Bars
              label="Threats by severity"
              items={SEVERITIES.map((s) => ({ key: s, label: <SeverityBadge severity={s} />, count: stats.threats_by_severity[s] ?? 0, color: SEVERITY_VAR[s], href: `${threatsHref}&severity=${s}` }))}
            />
          ) : (
            <Loading />
          )}
        </Panel>
        <Panel title="By detector" id="sensor-detector">
          {stats ? (
            Object.keys(stats.threats_by_detector).length ? (
              <Bars
                label="Threats by detector"
                items={Object.entries(stats.threats_by_detector)
                  .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
                  .map(([d, n]) => ({ key: d, label: <span>{d.toUpperCase()}</span>, count: n, color: "var(--accent)", href: `${threatsHref}&detector_type=${encodeURIComponent(d)}` }))}
              />
            ) : (
              <Empty>No threats yet.</Empty>
            )
          ) : (
            <Loading />
          )}
        </Panel>
      </div>

      <Panel
        title="Latest threats"
        id="sensor-threats"
        actions={
          <Link to={threatsHref} data-testid="sensor-all-threats">
            All threats →
          </Link>
        }
      >
        {threatsLoad.error && <ErrorBox error={threatsLoad.error} retry={threatsLoad.reload} />}
        {!rows && !threatsLoad.error && <Loading />}
        {rows && rows.length === 0 && <Empty>No threats from this sensor yet; new ones appear here as they arrive.</Empty>}
        {rows && rows.length > 0 && (
          <div className="table-wrap">
            <table className="feed" data-testid="sensor-threats">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Type</th>
                  <th scope="col">Detector</th>
                  <th scope="col">Device</th>
                  <th scope="col" className="num">
                    Score
                  </th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => {
                  const href = `${threatsHref}&threat=${r.id}`;
                  return (
                    <tr
                      key={r.id}
                      tabIndex={0}
                      className={`clickable${r.fresh ? " fresh" : ""}`}
                      data-testid="sensor-threat-row"
                      aria-label={`${r.severity} ${titleCase(r.threat_type)}, ${formatTime(r.timestamp)}`}
                      onClick={() => navigate(href)}
                      onKeyDown={(e) => rowKeys(e, () => navigate(href))}
                    >
                      <td>
                        <RelativeTime iso={r.timestamp} />
                      </td>
                      <td>
                        <SeverityBadge severity={r.severity} />
                      </td>
                      <td>{titleCase(r.threat_type)}</td>
                      <td>{r.detector_type.toUpperCase()}</td>
                      <td>{r.device_name ?? <span className="muted">—</span>}</td>
                      <td className="num">{r.threat_score === null ? "—" : r.threat_score.toFixed(2)}</td>
                      <td>{r.status ? <StatusBadge status={r.status} /> : null}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
      {isAdmin && <SensorCommands sensorId={sensorId} />}
    </div>
  );
}

function bumpTrend(points: TrendPoint[], iso: string, severity: Severity): TrendPoint[] {
  const t = Date.parse(iso);
  if (Number.isNaN(t) || points.length === 0) return points;
  const last = points[points.length - 1];
  const lastStart = Date.parse(last.timestamp);
  if (t >= lastStart + HOUR) {
    // A new hour began: a new bucket, the oldest drops out.
    const start = new Date(Math.floor(t / HOUR) * HOUR).toISOString();
    return [...points.slice(1), { timestamp: start, count: 1, severity: { [severity]: 1 } }];
  }
  const i = points.findIndex((p) => {
    const s = Date.parse(p.timestamp);
    return t >= s && t < s + HOUR;
  });
  if (i < 0) return points;
  const p = points[i];
  const next = [...points];
  next[i] = { ...p, count: p.count + 1, severity: { ...p.severity, [severity]: (p.severity[severity] ?? 0) + 1 } };
  return next;
}

function Kpi({ label, value, sub, small = false }: { label: string; value: ReactNode; sub?: string; small?: boolean }) {
  return (
    <div className="kpi">
      <div className="kpi-label">{label}</div>
      <div className={`kpi-value${small ? " kpi-value-small" : ""}`}>{value}</div>
      {sub && <div className="kpi-sub">{sub}</div>}
    </div>
  );
}

function Details({ sensor: s }: { sensor: SensorFull }) {
  const place = sensorPlace(s);
  const caps = s.capabilities && typeof s.capabilities === "object" ? Object.entries(s.capabilities).filter(([, v]) => v === true).map(([k]) => k) : [];
  return (
    <div className="detail">
      <dl>
        <dt>Sensor id</dt>
        <dd className="mono">
          {s.sensor_id} <CopyButton text={s.sensor_id} label="the sensor id" />
        </dd>
        <dt>Description</dt>
        <dd>{s.description || <span className="muted">none</span>}</dd>
        <dt>Location</dt>
        <dd>
          {place ?? <span className="muted">unknown</span>}
          {place && s.latitude !== null && s.longitude !== null && (s.city || s.country) && (
            <span className="muted">
              {" "}
              ({s.latitude.toFixed(4)}, {s.longitude.toFixed(4)})
            </span>
          )}
        </dd>
        <dt>Platform</dt>
        <dd>{[s.platform, s.architecture].filter(Boolean).join(" · ") || <span className="muted">unknown</span>}</dd>
        <dt>Agent</dt>
        <dd>
          {s.agent_version ?? <span className="muted">unknown</span>}
          {s.python_version && <span className="muted"> · Python {s.python_version}</span>}
        </dd>
        <dt>Transport</dt>
        <dd>{s.transport_protocol ? s.transport_protocol.toUpperCase() : <span className="muted">—</span>}</dd>
        <dt>Detectors</dt>
        <dd>{s.enabled_detectors.length ? s.enabled_detectors.join(", ") : caps.length ? <>{caps.join(", ")} <span className="muted">(capabilities)</span></> : <span className="muted">not reported</span>}</dd>
        <dt>Active</dt>
        <dd>{s.is_active ? "Yes" : "No: disabled, its key and broker account are refused"}</dd>
        <dt>Registered</dt>
        <dd>
          <RelativeTime iso={s.registered_at ?? s.created_at} />
        </dd>
        {(s.clock_skew_threats ?? 0) > 0 && (
          <>
            <dt>Clock skew</dt>
            <dd>
              {formatCount(s.clock_skew_threats)} threats stored at receipt time
              {s.last_clock_skew_seconds !== null && s.last_clock_skew_seconds !== undefined && <span className="muted"> (last {formatNumber(s.last_clock_skew_seconds, 0)} s)</span>}
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}

function Bars({ label, items }: { label: string; items: { key: string; label: ReactNode; count: number; color: string; href: string }[] }) {
  const max = Math.max(1, ...items.map((i) => i.count));
  return (
    <ul className="bars" aria-label={label}>
      {items.map((i) => (
        <li key={i.key}>
          <Link to={i.href} className="bars-label" aria-label={`${i.key}: ${formatCount(i.count)} threats, show them`}>
            {i.label}
          </Link>
          <span className="bars-track" aria-hidden="true">
            <span className="bars-fill" style={{ width: `${(i.count / max) * 100}%`, background: i.color }} />
          </span>
          <span className="num">{formatCount(i.count)}</span>
        </li>
      ))}
    </ul>
  );
}

// ---------------------------------------------------------------------------------------------
// Admin: edit, refuse the key, delete.

function AdminActions({ sensor, onChanged }: { sensor: SensorFull; onChanged: (s: SensorFull) => void }) {
  const [open, setOpen] = useState<"edit" | "revoke" | "delete" | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    if (!saved) return;
    const t = setTimeout(() => setSaved(null), 5000);
    return () => clearTimeout(t);
  }, [saved]);
  return (
    <div className="row sensor-actions">
      {saved && (
        <span className="muted" role="status">
          {saved}
        </span>
      )}
      <button type="button" data-testid="sensor-edit" onClick={() => setOpen("edit")}>
        Edit
      </button>
      <button type="button" data-testid="sensor-revoke" onClick={() => setOpen("revoke")}>
        Revoke key…
      </button>
      <button type="button" className="danger" data-testid="sensor-delete" onClick={() => setOpen("delete")}>
        Delete…
      </button>
      {open === "edit" && (
        <EditDialog
          sensor={sensor}
          onClose={() => setOpen(null)}
          onSaved={(s) => {
            onChanged({ ...sensor, ...s });
            setSaved("Saved.");
            setOpen(null);
          }}
        />
      )}
      {open === "revoke" && <RevokeDialog sensor={sensor} onClose={() => setOpen(null)} onChanged={(s) => onChanged({ ...sensor, ...s })} />}
      {open === "delete" && <DeleteDialog sensor={sensor} onClose={() => setOpen(null)} />}
    </div>
  );
}

function fieldError(error: unknown, field: string): string | null {
  if (!(error instanceof ApiError)) return null;
  const f = error.fields.find((x) => x.loc[x.loc.length - 1] === field);
  return f ? f.msg : null;
}

function EditDialog({ sensor, onClose, onSaved }: { sensor: SensorFull; onClose: () => void; onSaved: (s: SensorFull) => void }) {
  const { api } = useApp();
  const [form, setForm] = useState({
    name: sensor.name,
    description: sensor.description ?? "",
    latitude: sensor.latitude === null ? "" : String(sensor.latitude),
    longitude: sensor.longitude === null ? "" : String(sensor.longitude),
    city: sensor.city ?? "",
    country: sensor.country ?? "",
    is_active: sensor.is_active,
  });
  const [error, setError] = useState<unknown>(null);
  const [local, setLocal] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problems: Record<string, string> = {};
    const coord = (text: string, limit: number, name: string): number | null | undefined => {
      const v = text.trim();
      if (v === "") return null;
      const n = Number(v);
      if (!Number.isFinite(n) || Math.abs(n) > limit) {
        problems[name] = `A number from -${limit} to ${limit}`;
        return undefined;
      }
      return n;
    };
    const lat = coord(form.latitude, 90, "latitude");
    const lon = coord(form.longitude, 180, "longitude");
    if (!form.name.trim()) problems.name = "A name is needed";
    if ((lat === null) !== (lon === null) && !problems.latitude && !problems.longitude) problems[lat === null ? "latitude" : "longitude"] = "Give both coordinates, or neither";
    setLocal(problems);
    if (Object.keys(problems).length) return;
    const text = (v: string) => (v.trim() === "" ? null : v.trim());
    const body: Record<string, unknown> = {};
    if (form.name.trim() !== sensor.name) body.name = form.name.trim();
    if (text(form.description) !== (sensor.description || null)) body.description = text(form.description);
    if (lat !== sensor.latitude) body.latitude = lat;
    if (lon !== sensor.longitude) body.longitude = lon;
    if (text(form.city) !== (sensor.city || null)) body.city = text(form.city);
    if (text(form.country) !== (sensor.country || null)) body.country = text(form.country);
    if (form.is_active !== sensor.is_active) body.is_active = form.is_active;
    if (Object.keys(body).length === 0) {
      onClose();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const saved = await api.request<SensorFull>("PUT", `/sensors/${encodeURIComponent(sensor.sensor_id)}`, { body });
      onSaved(saved);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const problem = (field: string) => {
    const msg = local[field] ?? fieldError(error, field);
    return msg ? (
      <span className="field-error" id={`edit-${field}-error`}>
        {msg}
      </span>
    ) : null;
  };
  const described = (field: string) => (local[field] ?? fieldError(error, field) ? `edit-${field}-error` : undefined);

  return (
    <Dialog title={`Edit ${sensor.sensor_id}`} onClose={onClose} testId="sensor-edit-dialog" wide>
      <form className="dialog-form" onSubmit={submit} noValidate>
        <label>
          Name
          <input value={form.name} onChange={set("name")} maxLength={128} required aria-invalid={!!described("name")} aria-describedby={described("name")} />
          {problem("name")}
        </label>
        <label>
          Description
          <textarea rows={2} value={form.description} onChange={set("description")} />
        </label>
        <div className="form-pair">
          <label>
            Latitude
            <input inputMode="decimal" placeholder="48.8566" value={form.latitude} onChange={set("latitude")} aria-invalid={!!described("latitude")} aria-describedby={described("latitude")} />
            {problem("latitude")}
          </label>
          <label>
            Longitude
            <input inputMode="decimal" placeholder="2.3522" value={form.longitude} onChange={set("longitude")} aria-invalid={!!described("longitude")} aria-describedby={described("longitude")} />
            {problem("longitude")}
          </label>
        </div>
        <div className="form-pair">
          <label>
            City
            <input value={form.city} onChange={set("city")} maxLength={128} />
          </label>
          <label>
            Country
            <input value={form.country} onChange={set("country")} maxLength={64} placeholder="FR" />
          </label>
        </div>
        <label className="checkbox">
          <input type="checkbox" checked={form.is_active} onChange={(e) => setForm({ ...form, is_active: e.target.checked })} />
          <span>Active (a disabled sensor's API key and broker account are refused)</span>
        </label>
        {error !== null && <ErrorBox error={error} />}
        <div className="row dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RevokeDialog({ sensor, onClose, onChanged }: { sensor: SensorFull; onClose: () => void; onChanged: (s: SensorFull) => void }) {
  const { api } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const cli = `honeyman sensor revoke-key ${sensor.sensor_id} --new-key`;
  const closeButton = useRef<HTMLButtonElement>(null);
  // The confirm button goes away with the answer: the focus stays in the dialog.
  useEffect(() => {
    if (done) closeButton.current?.focus();
  }, [done]);
  const revoke = async () => {
    setBusy(true);
    setError(null);
    try {
      const s = await api.request<SensorFull>("PUT", `/sensors/${encodeURIComponent(sensor.sensor_id)}`, { body: { is_active: false } });
      onChanged(s);
      setDone(s.updated_at ?? new Date().toISOString());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Revoke the key of ${sensor.sensor_id}`} onClose={onClose} testId="sensor-revoke-dialog" wide>
      {done ? (
        <div className="notice-ok" role="status" data-testid="sensor-revoke-result">
          Done at {formatTime(done)}: <strong>{sensor.sensor_id}</strong> is disabled. Its API key and its broker account are refused from now on (within the server's key
          cache time). Edit the sensor and tick “Active” to let the same key in again.
        </div>
      ) : sensor.is_active ? (
        <p>
          Revoking from the console disables the sensor: its API key (HTTP fallback) and its broker account (MQTT) stop working at once, and nothing else changes — its
          threats and settings stay. It can be undone by making the sensor active again.
        </p>
      ) : (
        <p role="status">This sensor is already disabled: its API key and its broker account are refused.</p>
      )}
      <p className="muted">
        To throw the key away for good and issue a new one (printed once), run on the server — the REST API has no route for it:
      </p>
      <div className="code-line">
        <code>{cli}</code>
        <CopyButton text={cli} label="the command" />
      </div>
      {error !== null && <ErrorBox error={error} />}
      <div className="row dialog-buttons">
        <button type="button" onClick={onClose} data-autofocus ref={closeButton}>
          {done || !sensor.is_active ? "Close" : "Cancel"}
        </button>
        {!done && sensor.is_active && (
          <button type="button" className="danger" disabled={busy} onClick={revoke} data-testid="sensor-revoke-confirm">
            {busy ? "Revoking…" : "Disable and refuse the key"}
          </button>
        )}
      </div>
    </Dialog>
  );
}

function DeleteDialog({ sensor, onClose }: { sensor: SensorFull; onClose: () => void }) {
  const { api } = useApp();
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const ok = typed.trim() === sensor.sensor_id;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!ok) return;
    setBusy(true);
    setError(null);
    try {
      await api.request("DELETE", `/sensors/${encodeURIComponent(sensor.sensor_id)}`);
      navigate(`/sensors?deleted=${encodeURIComponent(sensor.sensor_id)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Delete ${sensor.sensor_id}`} onClose={onClose} testId="sensor-delete-dialog">
      <form className="dialog-form" onSubmit={submit}>
        <p>
          This removes the sensor <strong>{sensor.name}</strong>, its API key and its broker account. Its threats stay as history. It cannot be undone: the agent would have to
          be onboarded again.
        </p>
        <label>
          <span>
            Type the sensor id <code>{sensor.sensor_id}</code> to confirm
          </span>
          <input value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" spellCheck={false} data-testid="sensor-delete-confirm-input" />
        </label>
        {error !== null && <ErrorBox error={error} />}
        <div className="row dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="danger" disabled={!ok || busy} data-testid="sensor-delete-confirm">
            {busy ? "Deleting…" : "Delete the sensor"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
