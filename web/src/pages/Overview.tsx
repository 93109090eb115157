// The first screen: KPI cards, threats over time by severity, the top threat types and sensors,
// and the threat velocity, for the range in the URL (`?range=7d&period=daily`). Live: each
// threat from the feed adds to the counts and to its bar at once (collected and drawn once a
// second, so a burst costs one render), sensor_status messages move the online count, and the
// panels are re-read from the API at most every 30 s while events arrive, to correct any drift.
import { useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useApi, useApp, useLive, useThrottled } from "../app/context";
import { Link, useTitle } from "../app/router";
import { Empty, ErrorBox, Loading, Panel, RelativeTime, SeverityBadge } from "../components/ui";
import { PERIOD_MS, PeriodPicker, RangePicker, rangeLabel, rangeStart, useRange, type Period, type TimeRange } from "../components/RangePicker";
import { TrendChart, addLiveToBuckets, mergeLiveBuckets, type SevCounts, type TrendDelta } from "../components/TrendChart";
import { SEVERITY_VAR } from "../components/severity";
import { formatCount, formatNumber, titleCase } from "../lib/format";
import type { Overview as OverviewData, Severity, TopSensor, TopThreat, Trends, Velocity } from "../lib/types";

const DEFAULT_RANGE: TimeRange = "7d";
const FLUSH_MS = 1000;
const RELOAD_MS = 30_000;
const VELOCITY_RELOAD_MS = 60_000;
const PERIOD_WORD: Record<Period, string> = { hourly: "hour", daily: "day", weekly: "week" };
const RANGE_WORDS: Record<TimeRange, string> = { "24h": "last 24 hours", "7d": "last 7 days", "30d": "last 30 days", "90d": "last 90 days" };

/** performance.mark("honeyman:overview-ready") is set once per page load, not per visit. */
let readyMarked = false;

const zero = (): SevCounts => ({ critical: 0, high: 0, medium: 0, low: 0, info: 0 });

/** What arrived from the feed since the last flush. */
interface Pending {
  total: number;
  bySeverity: SevCounts;
  /** Threat times by minute (ms), so a burst stays a handful of entries. */
  minutes: Map<number, SevCounts>;
  online: number;
}
const emptyPending = (): Pending => ({ total: 0, bySeverity: zero(), minutes: new Map(), online: 0 });

/** Counts added locally on top of one API answer (`base`); a new answer starts from zero. */
interface KpiDelta {
  base: OverviewData | null;
  total: number;
  critical: number;
  high: number;
  online: number;
}

export function Overview() {
  useTitle("Overview");
  const { api } = useApp();
  const { range, period, set } = useRange(DEFAULT_RANGE);

  const overview = useApi((signal) => api.get<OverviewData>("/analytics/overview", undefined, signal), []);
  const trends = useApi((signal) => api.get<Trends>("/analytics/trends", { period, start_time: rangeStart(range) }, signal), [range, period]);
  const topThreats = useApi((signal) => api.get<TopThreat[]>("/analytics/top-threats", { limit: 10, start_time: rangeStart(range) }, signal), [range]);
  const topSensors = useApi((signal) => api.get<TopSensor[]>("/analytics/top-sensors", { limit: 10, start_time: rangeStart(range) }, signal), [range]);
  const velocity = useApi((signal) => api.get<Velocity>("/analytics/velocity", undefined, signal), []);

  const reloadPanels = useThrottled(() => {
    overview.reload();
    trends.reload();
    topThreats.reload();
    topSensors.reload();
  }, RELOAD_MS);
  const reloadOverview = useThrottled(overview.reload, RELOAD_MS);
  const reloadVelocity = useThrottled(velocity.reload, VELOCITY_RELOAD_MS);

  // Live: collect, then apply once per FLUSH_MS.
  const pending = useRef<Pending>(emptyPending());
  useLive((m) => {
    const p = pending.current;
    if (m.type === "threat") {
      p.total += 1;
      if (m.data.severity in p.bySeverity) p.bySeverity[m.data.severity] += 1;
      const t = Date.parse(m.data.timestamp);
      if (!Number.isNaN(t)) {
        const minute = Math.floor(t / 60_000) * 60_000;
        let c = p.minutes.get(minute);
        if (!c) p.minutes.set(minute, (c = zero()));
        if (m.data.severity in c) c[m.data.severity] += 1;
      }
    } else if (m.type === "sensor_status") {
      p.online += m.data.is_online ? 1 : -1;
      reloadOverview();
    }
  });

  const [kpiDelta, setKpiDelta] = useState<KpiDelta>({ base: null, total: 0, critical: 0, high: 0, online: 0 });
  const [trendDelta, setTrendDelta] = useState<TrendDelta>({ base: null, adds: new Map() });
  const dataRef = useRef({ overview: overview.data, trends: trends.data, period });
  dataRef.current = { overview: overview.data, trends: trends.data, period };

  useEffect(() => {
    const timer = setInterval(() => {
      const p = pending.current;
      if (!p.total && !p.online) return;
      pending.current = emptyPending();
      const { overview: ov, trends: tr, period: per } = dataRef.current;
      setKpiDelta((d) => {
        const base = d.base === ov ? d : { base: ov, total: 0, critical: 0, high: 0, online: 0 };
        return { base: ov, total: base.total + p.total, critical: base.critical + p.bySeverity.critical, high: base.high + p.bySeverity.high, online: base.online + p.online };
      });
      if (p.total && tr && tr.data_points.length) setTrendDelta((d) => addLiveToBuckets(d.base === tr ? d : { base: tr, adds: new Map() }, tr, PERIOD_MS[per], p.minutes, Date.now()));
      if (p.total) {
        reloadPanels();
        reloadVelocity();
      }
    }, FLUSH_MS);
    return () => clearInterval(timer);
  }, [reloadPanels, reloadVelocity]);

  const points = useMemo(
    () => (trends.data ? mergeLiveBuckets(trends.data, trendDelta.base === trends.data ? trendDelta.adds : null, PERIOD_MS[period]) : []),
    [trends.data, trendDelta, period],
  );

  const settled = [overview, trends, topThreats, topSensors, velocity].every((x) => x.data !== null || x.error !== null);
  useEffect(() => {
    if (settled && !readyMarked) {
      readyMarked = true;
      performance.mark("honeyman:overview-ready");
    }
  }, [settled]);

  const delta = kpiDelta.base === overview.data ? kpiDelta : null;

  return (
    <div className="page overview" data-testid="overview" data-ready={settled ? "true" : "false"}>
      <div className="page-head">
        <h1>Overview</h1>
        <RangePicker range={range} onChange={set} />
      </div>

      {overview.error && <ErrorBox error={overview.error} retry={overview.reload} />}
      <Kpis data={overview.data} delta={delta} />

      <Panel
        id="trends"
        title={
          <>
            Threats per {PERIOD_WORD[period]} · {RANGE_WORDS[range]}
          </>
        }
        actions={<PeriodPicker range={range} period={period} onChange={set} />}
      >
        <div data-testid="trend-chart" data-period={period} data-range={range}>
          {trends.error && <ErrorBox error={trends.error} retry={trends.reload} />}
          {trends.data ? (
            <TrendChart
              points={points}
              period={period}
              label={`Threats per ${PERIOD_WORD[period]}, ${RANGE_WORDS[range]}, by severity`}
              bucketHref={(from, to) => `/threats?range=custom&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`}
            />
          ) : (
            !trends.error && <Loading label="Loading the trend" />
          )}
        </div>
      </Panel>

      <div className="overview-row">
        <TopThreatsPanel state={topThreats} range={range} />
        <TopSensorsPanel state={topSensors} range={range} />
        <VelocityPanel state={velocity} />
      </div>
    </div>
  );
}

function Kpis({ data, delta }: { data: OverviewData | null; delta: KpiDelta | null }) {
  const d = delta ?? { total: 0, critical: 0, high: 0, online: 0 };
  const v = (n: number | undefined, add = 0) => (data && n !== undefined ? formatCount(n + add) : "—");
  const online = data ? Math.max(0, Math.min(data.total_sensors, data.online_sensors + d.online)) : undefined;
  return (
    <div className="kpis overview-kpis" aria-busy={!data}>
      <Kpi name="total-threats" label="Threats, all time" value={v(data?.total_threats, d.total)} sub="all sensors" />
      <Kpi name="threats-24h" label="Last 24 h" value={v(data?.threats_last_24h, d.total)} sub={<Link to="/threats?range=24h">open the list</Link>} />
      <Kpi name="threats-7d" label="Last 7 d" value={v(data?.threats_last_7d, d.total)} sub={<Link to="/threats?range=7d">open the list</Link>} />
      <Kpi
        name="critical"
        severity="critical"
        label="Critical, 24 h"
        value={v(data?.critical_threats, d.critical)}
        sub={<Link to="/threats?severity=critical&range=24h">open critical</Link>}
      />
      <Kpi name="high" severity="high" label="High, 24 h" value={v(data?.high_threats, d.high)} sub={<Link to="/threats?severity=high&range=24h">open high</Link>} />
      <Kpi
        name="sensors-online"
        label="Sensors online"
        value={data ? formatCount(online) : "—"}
        sub={data ? `of ${formatCount(data.total_sensors)} · ${formatCount(data.active_sensors)} active` : ""}
      />
      <Kpi name="avg-score" label="Avg score, 24 h" value={data ? formatNumber(data.avg_threat_score) : "—"} sub="scale 0 to 1" />
      <Kpi name="velocity" label="Threats / hour" value={v(data?.threat_velocity)} sub="last 60 min" />
    </div>
  );
}

function Kpi({ name, label, value, sub, severity }: { name: string; label: string; value: string; sub?: ReactNode; severity?: Severity }) {
  return (
    <div className={`kpi ${severity ? `kpi-sev kpi-sev-${severity}` : ""}`} data-testid={`kpi-${name}`}>
      <div className="kpi-label">
        {severity && <span className="sev-dot" aria-hidden="true" />}
        {label}
      </div>
      <div className="kpi-value" data-testid={`kpi-${name}-value`}>
        {value}
      </div>
      {sub && <div className="kpi-sub">{sub}</div>}
    </div>
  );
}

interface PanelState<T> {
  data: T | null;
  error: Error | null;
  reload: () => void;
}

function TopThreatsPanel({ state, range }: { state: PanelState<TopThreat[]>; range: TimeRange }) {
  const max = state.data?.reduce((m, t) => Math.max(m, t.count), 0) ?? 0;
  return (
    <Panel id="top-threats" title={`Top threat types · last ${rangeLabel(range)}`}>
      <div data-testid="top-threats">
        {state.error && <ErrorBox error={state.error} retry={state.reload} />}
        {!state.data && !state.error && <Loading label="Loading the top types" />}
        {state.data && !state.data.length && <Empty>No threats in this window.</Empty>}
        {state.data && state.data.length > 0 && (
          <div className="table-wrap">
            <table className="top-table">
              <thead>
                <tr>
                  <th scope="col">Type</th>
                  <th scope="col">Mostly</th>
                  <th scope="col" className="num">
                    Threats
                  </th>
                  <th scope="col" className="num">
                    Share
                  </th>
                </tr>
              </thead>
              <tbody>
                {state.data.map((t) => (
                  <tr key={t.threat_type} data-testid="top-threat-row">
                    <td className="top-name">
                      <Link to={`/threats?threat_type=${encodeURIComponent(t.threat_type)}&range=${range}`} title={`Threats of type ${t.threat_type}, last ${rangeLabel(range)}`}>
                        {t.threat_type}
                      </Link>
                    </td>
                    <td>
                      <SeverityBadge severity={t.severity} />
                    </td>
                    <td className="num">{formatCount(t.count)}</td>
                    <td className="num top-share">
                      <span className="hbar" aria-hidden="true">
                        <span style={{ width: `${max ? (t.count / max) * 100 : 0}%`, background: SEVERITY_VAR[t.severity] }} />
                      </span>
                      {formatNumber(t.percentage, 2)} %
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </Panel>
  );
}

function TopSensorsPanel({ state, range }: { state: PanelState<TopSensor[]>; range: TimeRange }) {
  const max = state.data?.reduce((m, t) => Math.max(m, t.threat_count), 0) ?? 0;
  return (
    <Panel id="top-sensors" title={`Top sensors · last ${rangeLabel(range)}`}>
      <div data-testid="top-sensors">
        {state.error && <ErrorBox error={state.error} retry={state.reload} />}
        {!state.data && !state.error && <Loading label="Loading the top sensors" />}
        {state.data && !state.data.length && <Empty>No threats in this window.</Empty>}
        {state.data && state.data.length > 0 && (
          <div className="table-wrap">
            <table className="top-table">
              <thead>
                <tr>
                  <th scope="col">Sensor</th>
                  <th scope="col">Location</th>
                  <th scope="col" className="num">
                    Threats
                  </th>
                </tr>
              </thead>
              <tbody>
                {state.data.map((s) => (
                  <tr key={s.sensor_id} data-testid="top-sensor-row">
                    <td className="top-name">
                      <Link to={`/sensors/${encodeURIComponent(s.sensor_id)}`} title={s.sensor_name ?? `${s.sensor_id} (deleted)`}>
                        {s.sensor_id}
                      </Link>
                      {s.sensor_name === null && <span className="muted"> (deleted)</span>}
                    </td>
                    <td>{[s.city, s.country].filter(Boolean).join(", ") || <span className="muted">—</span>}</td>
                    <td className="num top-share">
                      <span className="hbar" aria-hidden="true">
                        <span className="hbar-neutral" style={{ width: `${max ? (s.threat_count / max) * 100 : 0}%` }} />
                      </span>
                      {formatCount(s.threat_count)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </Panel>
  );
}

const TREND_ARROW: Record<Velocity["trend"], string> = { increasing: "↑", decreasing: "↓", stable: "→" };

function VelocityPanel({ state }: { state: PanelState<Velocity> }) {
  const v = state.data;
  const change = v && v.avg_rate_24h > 0 ? ((v.current_rate - v.avg_rate_24h) / v.avg_rate_24h) * 100 : null;
  return (
    <Panel id="velocity-panel" title="Threat velocity">
      <div data-testid="velocity">
        {state.error && <ErrorBox error={state.error} retry={state.reload} />}
        {!v && !state.error && <Loading label="Loading the velocity" />}
        {v && (
          <>
            <div className="velocity-now">
              <span className="velocity-rate" data-testid="velocity-current">
                {formatCount(v.current_rate)}
              </span>
              <span className="muted"> threats / hour, last 60 min</span>
            </div>
            <div className={`velocity-trend trend-${v.trend}`} data-testid="velocity-trend" data-trend={v.trend}>
              <span className="trend-arrow" aria-hidden="true">
                {TREND_ARROW[v.trend]}
              </span>
              {titleCase(v.trend)}
            </div>
            {change !== null && (
              <div className="velocity-change muted">
                {change >= 0 ? "+" : "−"}
                {formatNumber(Math.abs(change), 0)} % against the 24 h average
              </div>
            )}
            <dl className="velocity-list">
              <dt>Average, 24 h</dt>
              <dd className="num">{formatNumber(v.avg_rate_24h, 2)} / h</dd>
              <dt>Average, 7 d</dt>
              <dd className="num">{formatNumber(v.avg_rate_7d, 2)} / h</dd>
              <dt>Peak hour, 7 d</dt>
              <dd className="num">
                {formatCount(v.peak_rate)} / h
                {v.peak_timestamp && (
                  <span className="muted">
                    {" "}
                    · <RelativeTime iso={v.peak_timestamp} />
                  </span>
                )}
              </dd>
            </dl>
          </>
        )}
      </div>
    </Panel>
  );
}
