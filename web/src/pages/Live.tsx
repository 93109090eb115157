// The live feed: every stored threat as it commits, newest first. Messages are collected as they
// arrive and drawn at most every RENDER_INTERVAL_MS in one batch, and the list is bounded, so a
// burst of 1,000 threats/s costs a few renders a second, not a thousand. Filters (severity,
// detector, sensor) are in the URL and applied here: the tab's one connection stays unfiltered
// for the other live parts of the console (counts, map, sensor states).
import { memo, useEffect, useMemo, useRef, useState } from "react";
import { navigate, useLocation, useTitle, Link } from "../app/router";
import { useLive, useLiveStatus } from "../app/context";
import { ToggleGroup, SeverityBadge } from "../components/ui";
import { detectorLabel, formatCount, formatNumber, formatRelative, formatTime } from "../lib/format";
import { DETECTORS, SEVERITIES, type LiveThreat, type Severity } from "../lib/types";

// Drawn rows: each batch re-lays out the table, so its size is the cost of a frame. At 300 rows
// a batch took 45-55 ms of main-thread time (bench/console-bench, docs/PERFORMANCE.md); at 60 the
// frames stay well under 50 ms at 1,000 threats/s.
const MAX_ROWS = 60;
const RENDER_INTERVAL_MS = 200;
const RATE_WINDOW_MS = 10_000;

interface LiveFilter {
  severity: Severity[];
  detector_type: string[];
  sensor_id: string[];
}

function parse(params: URLSearchParams): LiveFilter {
  const list = (k: string) => (params.get(k) ?? "").split(",").filter(Boolean);
  return {
    severity: list("severity").filter((s): s is Severity => (SEVERITIES as readonly string[]).includes(s)),
    detector_type: list("detector_type").map((d) => d.toLowerCase()),
    sensor_id: list("sensor_id").filter((s) => /^[A-Za-z0-9._-]{1,64}$/.test(s)),
  };
}

function format(f: LiveFilter): string {
  const p = new URLSearchParams();
  if (f.severity.length) p.set("severity", f.severity.join(","));
  if (f.detector_type.length) p.set("detector_type", f.detector_type.join(","));
  if (f.sensor_id.length) p.set("sensor_id", f.sensor_id.join(","));
  const s = p.toString();
  return s ? "?" + s : "";
}

function matches(f: LiveFilter, t: LiveThreat): boolean {
  return (
    (!f.severity.length || f.severity.includes(t.severity)) &&
    (!f.detector_type.length || f.detector_type.includes(t.detector_type.toLowerCase())) &&
    (!f.sensor_id.length || f.sensor_id.includes(t.sensor_id))
  );
}

interface Row {
  threat: LiveThreat;
  committed: string;
}

export function Live() {
  useTitle("Live feed");
  const location = useLocation();
  const filter = useMemo(() => parse(location.params), [location.search]); // eslint-disable-line react-hooks/exhaustive-deps
  const status = useLiveStatus();
  const [rows, setRows] = useState<Row[]>([]);
  const [paused, setPaused] = useState(false);
  const [heldWhilePaused, setHeld] = useState(0);
  const [received, setReceived] = useState(0);
  const [rate, setRate] = useState(0);
  // One clock for every row's relative time (not a timer per row), ticking once a second.
  const [second, setSecond] = useState(() => Math.floor(Date.now() / 1000));
  const [sensorText, setSensorText] = useState(filter.sensor_id.join(","));
  const pending = useRef<Row[]>([]);
  const arrivals = useRef<number[]>([]);
  const counts = useRef({ received: 0, held: 0 });
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const filterRef = useRef(filter);
  filterRef.current = filter;

  useLive((message) => {
    if (message.type !== "threat") return;
    counts.current.received += 1;
    arrivals.current.push(performance.now());
    if (!matches(filterRef.current, message.data)) return;
    if (pausedRef.current) {
      counts.current.held += 1;
      return;
    }
    pending.current.push({ threat: message.data, committed: message.timestamp });
    if (pending.current.length > MAX_ROWS) pending.current.splice(0, pending.current.length - MAX_ROWS);
  });

  // One render per interval for everything that arrived meanwhile.
  useEffect(() => {
    const timer = setInterval(() => {
      const now = performance.now();
      const a = arrivals.current;
      let drop = 0;
      while (drop < a.length && now - a[drop] > RATE_WINDOW_MS) drop++;
      if (drop) a.splice(0, drop);
      setRate(a.length / (RATE_WINDOW_MS / 1000));
      setReceived(counts.current.received);
      setHeld(counts.current.held);
      setSecond(Math.floor(Date.now() / 1000));
      if (!pending.current.length) return;
      const batch = pending.current.reverse();
      pending.current = [];
      setRows((old) => batch.concat(old).slice(0, MAX_ROWS));
    }, RENDER_INTERVAL_MS);
    return () => clearInterval(timer);
  }, []);

  const setFilter = (next: LiveFilter) => {
    navigate("/live" + format(next), { replace: true });
    setRows((old) => old.filter((r) => matches(next, r.threat)));
  };

  const togglePause = () => {
    if (paused) {
      counts.current.held = 0;
      setHeld(0);
    }
    setPaused(!paused);
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const el = e.target as HTMLElement;
      if (e.key === " " && !["INPUT", "TEXTAREA", "SELECT", "BUTTON", "A"].includes(el.tagName)) {
        e.preventDefault();
        togglePause();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  return (
    <div className="page" data-testid="live-page">
      <div className="page-head">
        <h1>Live feed</h1>
        <div className="row">
          <span className="muted" data-testid="live-rate">
            {formatNumber(rate, 1)} threats/s
          </span>
          <span className="muted" data-testid="live-count">
            {formatCount(received)} received since opened
          </span>
          {status.connections > 1 && <span className="muted">reconnected {status.connections - 1}×, last gap: {formatCount(status.replayed)} replayed</span>}
          <button type="button" className={paused ? "primary" : ""} onClick={togglePause} data-testid="live-pause" aria-pressed={paused}>
            {paused ? `Resume${heldWhilePaused ? ` (${formatCount(heldWhilePaused)} new)` : ""}` : "Pause"}
          </button>
        </div>
      </div>
      <div className="filters">
        <ToggleGroup label="Severity" options={SEVERITIES} value={filter.severity} onChange={(severity) => setFilter({ ...filter, severity })} render={(s) => <SeverityBadge severity={s} />} />
        <ToggleGroup label="Detector" options={DETECTORS} value={filter.detector_type} onChange={(detector_type) => setFilter({ ...filter, detector_type })} render={detectorLabel} />
        <label>
          Sensor ids (comma-separated)
          <input
            data-filter-focus
            value={sensorText}
            placeholder="any sensor"
            onChange={(e) => setSensorText(e.target.value)}
            onBlur={() => setFilter({ ...filter, sensor_id: sensorText.split(",").map((s) => s.trim()).filter(Boolean) })}
            onKeyDown={(e) => {
              if (e.key === "Enter") setFilter({ ...filter, sensor_id: sensorText.split(",").map((s) => s.trim()).filter(Boolean) });
            }}
          />
        </label>
      </div>
      {paused && (
        <p className="notice" role="status">
          Paused: {formatCount(heldWhilePaused)} matching threats arrived since. Press Resume (or Space) to go live again.
        </p>
      )}
      <div className="panel">
        <div className="table-wrap">
          <table className="feed" data-testid="live-feed" aria-label="Live threats, newest first">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Severity</th>
                <th scope="col">Type</th>
                <th scope="col">Detector</th>
                <th scope="col">Sensor</th>
                <th scope="col">Device</th>
                <th scope="col" className="num">
                  Score
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <LiveRow key={r.threat.id} threat={r.threat} now={second * 1000} />
              ))}
            </tbody>
          </table>
          {!rows.length && <p className="empty">{status.state === "open" ? "Waiting for threats…" : "Not connected: the feed resumes where it stopped when the connection is back."}</p>}
        </div>
      </div>
      <p className="muted">
        Shows the newest {MAX_ROWS} matching threats. Older ones are in <Link to="/threats">Threats</Link>.
      </p>
    </div>
  );
}

/** One row; re-rendered only when its threat or the second changes (memo), not for every batch. */
const LiveRow = memo(function LiveRow({ threat, now }: { threat: LiveThreat; now: number }) {
  return (
    <tr data-testid="live-row" data-threat-id={threat.id} tabIndex={0} onKeyDown={(e) => e.key === "Enter" && navigate(`/threats?threat=${threat.id}`)}>
      <td>
        <time dateTime={threat.timestamp} title={formatTime(threat.timestamp)}>
          {formatRelative(threat.timestamp, now)}
        </time>
      </td>
      <td>
        <SeverityBadge severity={threat.severity} />
      </td>
      <td>
        <Link to={`/threats?threat=${threat.id}`}>{threat.threat_type}</Link>
      </td>
      <td>{detectorLabel(threat.detector_type)}</td>
      <td>
        <Link to={`/sensors/${encodeURIComponent(threat.sensor_id)}`}>{threat.sensor_id}</Link>
      </td>
      <td>{threat.device_name ?? <span className="muted">—</span>}</td>
      <td className="num">{threat.threat_score === null ? "—" : formatNumber(threat.threat_score)}</td>
    </tr>
  );
});
