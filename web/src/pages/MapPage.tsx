// The sensors on a world map for the range in the URL (`?range=7d&sensor=seed-0008`): circle
// size by threat count, colour by the worst severity seen, each a focusable button. Live threats
// pulse where they happened (or at their sensor) and bump their sensor's count; pulses are
// collected and drawn in batches and capped, so a burst of 1,000 threats/s stays smooth. A click
// (or Enter) on a sensor opens its latest threats beside the map; Esc closes them.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useApi, useApp, useLive, useThrottled } from "../app/context";
import { Link, navigate, useLocation, useTitle } from "../app/router";
import { Empty, ErrorBox, Loading, RelativeTime, SeverityBadge } from "../components/ui";
import { RangePicker, rangeLabel, rangeStart, useRange, type TimeRange } from "../components/RangePicker";
import { WorldMap, type MapMarker, type MapPulse } from "../components/WorldMap";
import { SEVERITY_VAR } from "../components/severity";
import { detectorLabel, formatCount, titleCase, worstSeverity } from "../lib/format";
import { SEVERITIES, type LiveThreat, type MapPoint, type Sensor, type SensorPage, type Severity, type ThreatPage } from "../lib/types";

const DEFAULT_RANGE: TimeRange = "24h";
const MAX_PULSES = 100;
const FLUSH_MS = 100;
const PULSE_MAX_AGE_MS = 3000;
const RELOAD_MS = 30_000;
const R_MIN = 4;
const R_MAX = 20;
const SENSOR_PAGES = 10;
const PANEL_THREATS = 20;
const SENSOR_ID = /^[A-Za-z0-9._-]{1,64}$/;

type SevCounts = Record<Severity, number>;
const zero = (): SevCounts => ({ critical: 0, high: 0, medium: 0, low: 0, info: 0 });

interface Extra {
  base: MapPoint[] | null;
  /** Threats per sensor that arrived live since `base` was read. */
  bySensor: Map<string, SevCounts>;
}

/** Sensor radius: the area grows with the count (sqrt scale), clamped to [R_MIN, R_MAX]. */
export function radiusFor(count: number, max: number): number {
  if (max <= 0 || count <= 0) return R_MIN;
  return Math.min(R_MAX, Math.max(R_MIN, R_MIN + (R_MAX - R_MIN) * Math.sqrt(count / max)));
}

function place(city: string | null, country: string | null): string {
  return [city, country].filter(Boolean).join(", ");
}

export function MapPage() {
  useTitle("Map");
  const { api } = useApp();
  const location = useLocation();
  const { range, set } = useRange(DEFAULT_RANGE);
  const selectedParam = location.params.get("sensor");
  const selected = selectedParam && SENSOR_ID.test(selectedParam) ? selectedParam : null;

  const points = useApi((signal) => api.get<MapPoint[]>("/analytics/map", { start_time: rangeStart(range) }, signal), [range]);
  // Every sensor (for names, positions of sensors without threats yet, and those without one).
  const sensors = useApi(async (signal) => {
    const all: Sensor[] = [];
    for (let page = 1; page <= SENSOR_PAGES; page++) {
      const answer = await api.get<SensorPage>("/sensors", { page, page_size: 100 }, signal);
      all.push(...answer.sensors);
      if (all.length >= answer.total || !answer.sensors.length) break;
    }
    return all;
  }, []);
  const sensorById = useMemo(() => new Map((sensors.data ?? []).map((s) => [s.sensor_id, s])), [sensors.data]);
  const reloadPoints = useThrottled(points.reload, RELOAD_MS);

  // Live: pulses and per-sensor counts, collected here and drawn every FLUSH_MS.
  const pendingPulses = useRef<MapPulse[]>([]);
  const pendingCounts = useRef(new Map<string, SevCounts>());
  const pendingTotal = useRef(0);
  const pendingPanel = useRef<LiveThreat[]>([]);
  // Ended pulses are dropped at the next flush, all at once (not one render per ring).
  const ended = useRef(new Set<number>());
  const nextKey = useRef(1);
  const [pulses, setPulses] = useState<(MapPulse & { born: number })[]>([]);
  const [liveTotal, setLiveTotal] = useState(0);
  const [extra, setExtra] = useState<Extra>({ base: null, bySensor: new Map() });
  const [online, setOnline] = useState<Map<string, boolean>>(new Map());
  const [panelLive, setPanelLive] = useState<LiveThreat[]>([]);
  const positions = useRef<Map<string, [number, number]>>(new Map());
  positions.current = useMemo(() => {
    const m = new Map<string, [number, number]>();
    for (const s of sensors.data ?? []) if (s.latitude !== null && s.longitude !== null) m.set(s.sensor_id, [s.latitude, s.longitude]);
    for (const p of points.data ?? []) m.set(p.sensor_id, [p.latitude, p.longitude]);
    return m;
  }, [sensors.data, points.data]);
  const selectedRef = useRef(selected);
  selectedRef.current = selected;

  useLive((m) => {
    if (m.type === "threat") {
      const t = m.data;
      pendingTotal.current += 1;
      let c = pendingCounts.current.get(t.sensor_id);
      if (!c) pendingCounts.current.set(t.sensor_id, (c = zero()));
      if (t.severity in c) c[t.severity] += 1;
      if (t.sensor_id === selectedRef.current) pendingPanel.current.push(t);
      if (typeof document !== "undefined" && document.hidden) return;
      const at = t.latitude !== null && t.longitude !== null ? [t.latitude, t.longitude] : positions.current.get(t.sensor_id);
      if (!at) return;
      const q = pendingPulses.current;
      q.push({ key: nextKey.current++, latitude: at[0], longitude: at[1], color: SEVERITY_VAR[t.severity] ?? SEVERITY_VAR.info });
      if (q.length > MAX_PULSES) q.splice(0, q.length - MAX_PULSES);
    } else if (m.type === "sensor_status") {
      setOnline((old) => new Map(old).set(m.data.sensor_id, m.data.is_online));
    }
  });

  const pointsRef = useRef(points.data);
  pointsRef.current = points.data;
  useEffect(() => {
    const timer = setInterval(() => {
      const now = performance.now();
      const fresh = pendingPulses.current;
      pendingPulses.current = [];
      const gone = ended.current;
      ended.current = new Set();
      setPulses((old) => {
        const kept = old.filter((p) => now - p.born < PULSE_MAX_AGE_MS && !gone.has(p.key));
        if (!fresh.length && kept.length === old.length) return old;
        // At the cap, running rings finish and the newest arrivals wait for room (dropped).
        const room = MAX_PULSES - kept.length;
        return room > 0 && fresh.length ? kept.concat(fresh.slice(-room).map((p) => ({ ...p, born: now }))) : kept;
      });
      if (pendingPanel.current.length) {
        const batch = pendingPanel.current.slice(-PANEL_THREATS).reverse();
        pendingPanel.current = [];
        setPanelLive((old) => batch.concat(old).slice(0, PANEL_THREATS));
      }
      if (!pendingTotal.current) return;
      const counts = pendingCounts.current;
      const total = pendingTotal.current;
      pendingCounts.current = new Map();
      pendingTotal.current = 0;
      setLiveTotal((n) => n + total);
      const base = pointsRef.current;
      setExtra((e) => {
        const by = new Map(e.base === base ? e.bySensor : []);
        for (const [id, c] of counts) {
          const prev = by.get(id) ?? zero();
          const next = { ...prev };
          for (const s of SEVERITIES) next[s] += c[s];
          by.set(id, next);
        }
        return { base, bySensor: by };
      });
      reloadPoints();
    }, FLUSH_MS);
    return () => clearInterval(timer);
  }, [reloadPoints]);

  const onPulseEnd = useCallback((key: number) => void ended.current.add(key), []);

  // The API's points plus live additions; a located sensor that had none in the window appears.
  const merged = useMemo(() => {
    const add = extra.base === points.data ? extra.bySensor : new Map<string, SevCounts>();
    const out = new Map<string, MapPoint>();
    for (const p of points.data ?? []) {
      const a = add.get(p.sensor_id);
      if (!a) {
        out.set(p.sensor_id, p);
        continue;
      }
      const severity_breakdown = { ...p.severity_breakdown };
      for (const s of SEVERITIES) severity_breakdown[s] = (severity_breakdown[s] ?? 0) + a[s];
      out.set(p.sensor_id, { ...p, threat_count: p.threat_count + SEVERITIES.reduce((n, s) => n + a[s], 0), severity_breakdown });
    }
    for (const [id, a] of add) {
      if (out.has(id)) continue;
      const s = sensorById.get(id);
      if (!s || s.latitude === null || s.longitude === null) continue;
      out.set(id, { sensor_id: id, latitude: s.latitude, longitude: s.longitude, city: s.city, country: s.country, threat_count: SEVERITIES.reduce((n, k) => n + a[k], 0), severity_breakdown: a });
    }
    return [...out.values()].sort((a, b) => b.threat_count - a.threat_count);
  }, [points.data, extra, sensorById]);

  const max = merged.reduce((m, p) => Math.max(m, p.threat_count), 0);
  const markers: MapMarker[] = useMemo(
    () =>
      merged.map((p) => {
        const worst = worstSeverity(p.severity_breakdown);
        const where = place(p.city, p.country);
        return {
          id: p.sensor_id,
          latitude: p.latitude,
          longitude: p.longitude,
          radius: radiusFor(p.threat_count, max),
          fill: SEVERITY_VAR[worst ?? "info"],
          label: `${p.sensor_id}${where ? ` ${where}` : ""}: ${formatCount(p.threat_count)} ${p.threat_count === 1 ? "threat" : "threats"}${worst ? `, worst ${worst}` : ""}`,
        };
      }),
    [merged, max],
  );

  const unlocated = (sensors.data ?? []).filter((s) => s.latitude === null || s.longitude === null);

  // Selection: in the URL; opening moves focus to the panel, closing returns it to the marker.
  const focusPanel = useRef(false);
  const select = (id: string | null) => {
    const p = new URLSearchParams(location.params);
    if (id) p.set("sensor", id);
    else p.delete("sensor");
    const q = p.toString();
    focusPanel.current = id !== null;
    const previous = selected;
    setPanelLive([]);
    pendingPanel.current = [];
    navigate(location.path + (q ? "?" + q : ""));
    if (!id && previous) requestAnimationFrame(() => document.querySelector<SVGElement>(`[data-testid=map-sensor][data-sensor-id="${CSS.escape(previous)}"]`)?.focus());
  };
  useEffect(() => {
    if (!selected) return;
    const onKey = (e: KeyboardEvent) => {
      const el = e.target as HTMLElement;
      if (e.key === "Escape" && !["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName)) select(null);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  return (
    <div className="page map-page" data-testid="map-page">
      <div className="page-head">
        <h1>Map</h1>
        <div className="row">
          <span className="muted map-live-count" data-testid="map-live-count" aria-live="off">
            {formatCount(liveTotal)} live {liveTotal === 1 ? "threat" : "threats"} since opened
          </span>
          <RangePicker range={range} onChange={set} />
        </div>
      </div>
      <div className={selected ? "split map-split" : "map-split"}>
        <section className="panel" aria-labelledby="map-title">
          <header className="panel-head">
            <h2 id="map-title">
              Sensors by threats · last {rangeLabel(range)}
            </h2>
            <span className="muted">
              {points.data ? `${formatCount(merged.length)} ${merged.length === 1 ? "sensor" : "sensors"} with threats` : ""}
            </span>
          </header>
          <div className="panel-body">
            {points.error && <ErrorBox error={points.error} retry={points.reload} />}
            <div className="map-frame" aria-busy={!points.data}>
              <WorldMap
                markers={markers}
                pulses={pulses}
                selected={selected}
                onSelect={(id) => select(id === selected ? null : id)}
                onPulseEnd={onPulseEnd}
                label={`World map, ${formatCount(markers.length)} sensors with threats in the last ${rangeLabel(range)}. Each sensor is a button; Enter opens its latest threats.`}
              />
              {!points.data && !points.error && (
                <div className="map-overlay">
                  <Loading label="Loading the sensors" />
                </div>
              )}
              {points.data && !merged.length && (
                <div className="map-overlay">
                  <Empty>No located sensor has threats in the last {rangeLabel(range)}.</Empty>
                </div>
              )}
            </div>
            <MapLegend max={max} />
            <Unlocated sensors={unlocated} error={sensors.error} retry={sensors.reload} />
          </div>
        </section>
        {selected && (
          <SensorPanel
            key={selected}
            sensorId={selected}
            point={merged.find((p) => p.sensor_id === selected) ?? null}
            sensor={sensorById.get(selected) ?? null}
            online={online.get(selected)}
            live={panelLive}
            range={range}
            focusOnOpen={focusPanel}
            onClose={() => select(null)}
          />
        )}
      </div>
    </div>
  );
}

function MapLegend({ max }: { max: number }) {
  const sizes = max > 0 ? [...new Set([max, Math.round(max / 4), Math.max(1, Math.round(max / 25))])].filter((n) => n > 0) : [];
  return (
    <div className="map-legend" role="group" aria-label="Legend">
      <div className="chart-legend">
        <span className="muted">Colour: the worst severity seen</span>
        {SEVERITIES.map((s) => (
          <span key={s} className="legend-item">
            <span className="legend-swatch legend-round" style={{ background: SEVERITY_VAR[s] }} aria-hidden="true" />
            {titleCase(s)}
          </span>
        ))}
      </div>
      {sizes.length > 0 && (
        <div className="chart-legend map-size-legend">
          <span className="muted">Size: threats in the window</span>
          {sizes.map((n) => {
            const r = radiusFor(n, max) * 0.9;
            return (
              <span key={n} className="legend-item">
                <svg width={2 * r + 2} height={2 * r + 2} aria-hidden="true">
                  <circle className="legend-circle" cx={r + 1} cy={r + 1} r={r} />
                </svg>
                <span className="num">{formatCount(n)}</span>
              </span>
            );
          })}
        </div>
      )}
    </div>
  );
}

function Unlocated({ sensors, error, retry }: { sensors: Sensor[]; error: Error | null; retry: () => void }) {
  if (error) return <ErrorBox error={error} retry={retry} />;
  if (!sensors.length) return null;
  return (
    <p className="map-unlocated" data-testid="map-unlocated">
      <span>
        {formatCount(sensors.length)} {sensors.length === 1 ? "sensor has" : "sensors have"} no location and {sensors.length === 1 ? "is" : "are"} not on the map
        {sensors.length <= 12 ? ": " : "."}
      </span>
      {sensors.length <= 12 &&
        sensors.map((s, i) => (
          <span key={s.sensor_id}>
            {i > 0 && ", "}
            <Link to={`/sensors/${encodeURIComponent(s.sensor_id)}`}>{s.sensor_id}</Link>
          </span>
        ))}
      {sensors.length > 12 && (
        <>
          {" "}
          <Link to="/sensors">See the sensors list</Link>.
        </>
      )}
    </p>
  );
}

function SensorPanel({
  sensorId,
  point,
  sensor,
  online,
  live,
  range,
  focusOnOpen,
  onClose,
}: {
  sensorId: string;
  point: MapPoint | null;
  sensor: Sensor | null;
  online: boolean | undefined;
  live: LiveThreat[];
  range: TimeRange;
  focusOnOpen: { current: boolean };
  onClose: () => void;
}) {
  const { api } = useApp();
  const threats = useApi((signal) => api.get<ThreatPage>(`/sensors/${encodeURIComponent(sensorId)}/threats`, { page_size: PANEL_THREATS, sort_by: "timestamp", sort_order: "desc" }, signal), [sensorId]);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusOnOpen.current && heading.current) {
      focusOnOpen.current = false;
      heading.current.focus({ preventScroll: true });
      // Below the map (tablet layout): bring the panel's top into view.
      const top = heading.current.getBoundingClientRect().top;
      if (top < 0 || top > window.innerHeight - 160) heading.current.closest("aside")?.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  }, [focusOnOpen]);

  // Live threats of this sensor on top of the API's page, without duplicates.
  const rows = useMemo(() => {
    const seen = new Set<string>();
    const out: { id: string; timestamp: string; severity: Severity; threat_type: string; detector_type: string; device_name: string | null }[] = [];
    for (const t of [...live, ...(threats.data?.threats ?? [])]) {
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      out.push(t);
    }
    return out.slice(0, PANEL_THREATS);
  }, [live, threats.data]);

  const isOnline = online ?? sensor?.is_online;
  const where = place(point?.city ?? sensor?.city ?? null, point?.country ?? sensor?.country ?? null);
  const q = encodeURIComponent(sensorId);

  return (
    <aside className="panel map-sensor-panel" data-testid="map-sensor-panel" data-sensor-id={sensorId} aria-labelledby="map-sensor-title">
      <header className="panel-head">
        <h2 id="map-sensor-title" ref={heading} tabIndex={-1}>
          {sensor?.name && sensor.name !== sensorId ? (
            <>
              {sensor.name} <span className="muted mono">{sensorId}</span>
            </>
          ) : (
            sensorId
          )}
        </h2>
        <button type="button" className="chip" onClick={onClose} aria-label="Close the sensor panel (Esc)" data-testid="map-sensor-close">
          Close
        </button>
      </header>
      <div className="panel-body map-sensor-body">
        <dl className="map-sensor-facts">
          <dt>Location</dt>
          <dd>{where || <span className="muted">unknown</span>}</dd>
          {isOnline !== undefined && (
            <>
              <dt>State</dt>
              <dd>
                <span className={`status ${isOnline ? "status-online" : "status-offline"}`}>{isOnline ? "Online" : "Offline"}</span>
                {sensor?.last_heartbeat && (
                  <span className="muted">
                    {" "}
                    · heard <RelativeTime iso={sensor.last_heartbeat} />
                  </span>
                )}
              </dd>
            </>
          )}
          <dt>Last {rangeLabel(range)}</dt>
          <dd>
            <span className="num">{formatCount(point?.threat_count ?? 0)}</span> threats
          </dd>
        </dl>
        {point && point.threat_count > 0 && (
          <div className="sev-breakdown" role="group" aria-label="Threats by severity in the window">
            {SEVERITIES.map((s) => (
              <span key={s} className="legend-item">
                <SeverityBadge severity={s} />
                <span className="num">{formatCount(point.severity_breakdown[s] ?? 0)}</span>
              </span>
            ))}
          </div>
        )}
        <div className="row">
          <Link to={`/threats?sensor_id=${q}`} data-testid="map-sensor-threats-link">
            All threats of this sensor
          </Link>
          <span className="muted" aria-hidden="true">
            ·
          </span>
          <Link to={`/sensors/${q}`} data-testid="map-sensor-details-link">
            Sensor details
          </Link>
        </div>
        <h3 className="map-sensor-sub">Latest threats</h3>
        {threats.error && <ErrorBox error={threats.error} retry={threats.reload} />}
        {!threats.data && !threats.error && <Loading label="Loading its threats" />}
        {threats.data && !rows.length && <Empty>No threats from this sensor yet.</Empty>}
        {rows.length > 0 && (
          <div className="table-wrap">
            <table className="map-sensor-threats" aria-label={`Latest threats of ${sensorId}, newest first`}>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Type</th>
                  <th scope="col">Detector</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((t) => (
                  <tr key={t.id} data-testid="map-sensor-threat">
                    <td>
                      <RelativeTime iso={t.timestamp} />
                    </td>
                    <td>
                      <SeverityBadge severity={t.severity} />
                    </td>
                    <td>
                      <Link to={`/threats?sensor_id=${q}&threat=${t.id}`}>{t.threat_type}</Link>
                    </td>
                    <td>{detectorLabel(t.detector_type)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </aside>
  );
}
