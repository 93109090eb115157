// Threats over time as stacked bars by severity (critical on top, the legend graver first), drawn
// as plain SVG at the container's pixel width (so text is never stretched). Hover or focus a bar
// for its bucket's time and per-severity counts; the bars are one roving tab stop (arrow keys,
// Home/End), each with an aria-label that says what the tooltip says; Enter/click opens the
// bucket's threats when `bucketHref` is given.
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent, type RefObject } from "react";
import { SEVERITY_VAR } from "./severity";
import { navigate } from "../app/router";
import { formatCount, formatTime, localTime, onTimeZoneChange, titleCase } from "../lib/format";
import { SEVERITIES, type Severity, type TrendPoint, type Trends } from "../lib/types";
import type { Period } from "./RangePicker";
import { PERIOD_MS } from "./RangePicker";

const MARGIN = { top: 10, right: 10, bottom: 24, left: 52 };
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** Bottom of the stack first: the gravest severity sits on top where the eye lands. */
const STACK_ORDER: readonly Severity[] = [...SEVERITIES].reverse();
const LABEL_STEPS: Record<Period, readonly number[]> = {
  hourly: [1, 2, 3, 6, 12, 24, 48, 96, 168],
  daily: [1, 2, 7, 14, 28, 56],
  weekly: [1, 2, 4, 8, 13, 26],
};

function niceStep(raw: number): number {
  if (raw <= 1) return 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
}

function shortCount(n: number): string {
  if (n >= 1_000_000) return `${+(n / 1_000_000).toFixed(1)}M`;
  if (n >= 10_000) return `${+(n / 1000).toFixed(0)}k`;
  if (n >= 1000) return `${+(n / 1000).toFixed(1)}k`;
  return formatCount(n);
}

function parts(t: number, local: boolean) {
  const d = new Date(t);
  return local
    ? { month: d.getMonth(), day: d.getDate(), hour: d.getHours() }
    : { month: d.getUTCMonth(), day: d.getUTCDate(), hour: d.getUTCHours() };
}

/** The axis label of a bucket: "14:00" inside a day, "Dec 3" at midnight and for days/weeks. */
function tickLabel(t: number, period: Period, local: boolean): string {
  const p = parts(t, local);
  if (period === "hourly" && p.hour !== 0) return `${String(p.hour).padStart(2, "0")}:00`;
  return `${MONTHS[p.month]} ${p.day}`;
}

/** "2026-12-03 14:00–15:00 UTC", "2026-12-03 UTC", "week of 2026-11-30 UTC". */
function bucketLabel(t: number, period: Period, local: boolean): string {
  const full = formatTime(new Date(t).toISOString(), local);
  const [date, time, zone] = full.split(" ");
  if (period === "hourly") {
    const end = formatTime(new Date(t + PERIOD_MS.hourly).toISOString(), local).split(" ")[1];
    return `${date} ${time.slice(0, 5)}–${end.slice(0, 5)} ${zone}`;
  }
  const startTime = time.slice(0, 5) === "00:00" ? "" : ` ${time.slice(0, 5)}`;
  return period === "daily" ? `${date}${startTime} ${zone}` : `week of ${date}${startTime} ${zone}`;
}

function useLocalTime(): boolean {
  const [local, setLocal] = useState(localTime());
  useEffect(() => onTimeZoneChange(() => setLocal(localTime())), []);
  return local;
}

function useWidth(ref: RefObject<HTMLDivElement | null>): number {
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(Math.floor(el.getBoundingClientRect().width));
    const ro = new ResizeObserver((entries) => {
      for (const e of entries) setWidth(Math.floor(e.contentRect.width));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return width;
}

// Live additions: threats counted by minute, added to the bucket holding them; a bucket begun
// after the API's last one (a new hour) is appended. `base` is the API answer they apply to.
export type SevCounts = Record<Severity, number>;
export interface TrendDelta {
  base: Trends | null;
  adds: Map<number, SevCounts>;
}
const zeroCounts = (): SevCounts => ({ critical: 0, high: 0, medium: 0, low: 0, info: 0 });

/** Adds a flush's threats to their buckets: existing ones, or new ones after the last. */
export function addLiveToBuckets(d: TrendDelta, tr: Trends, periodMs: number, minutes: Map<number, SevCounts>, now: number): TrendDelta {
  const first = Date.parse(tr.data_points[0].timestamp);
  const last = Date.parse(tr.data_points[tr.data_points.length - 1].timestamp);
  const limit = now + periodMs;
  const adds = new Map(d.adds);
  for (const [minute, counts] of minutes) {
    const bucket = last + Math.floor((minute - last) / periodMs) * periodMs;
    if (bucket < first || bucket > limit) continue;
    const prev = adds.get(bucket) ?? zeroCounts();
    const next = { ...prev };
    for (const s of SEVERITIES) next[s] += counts[s];
    adds.set(bucket, next);
  }
  return { base: tr, adds };
}

/** The API's buckets plus the live additions; buckets begun since (a new hour) are appended. */
export function mergeLiveBuckets(tr: Trends, adds: Map<number, SevCounts> | null, periodMs: number): TrendPoint[] {
  if (!adds || !adds.size) return tr.data_points;
  const out = tr.data_points.map((p) => {
    const a = adds.get(Date.parse(p.timestamp));
    if (!a) return p;
    const severity = { ...p.severity };
    let count = p.count;
    for (const s of SEVERITIES) {
      severity[s] = (severity[s] ?? 0) + a[s];
      count += a[s];
    }
    return { ...p, count, severity };
  });
  if (!out.length) return out;
  const newest = Math.max(...adds.keys());
  for (let t = Date.parse(out[out.length - 1].timestamp) + periodMs; t <= newest; t += periodMs) {
    const a = adds.get(t) ?? zeroCounts();
    out.push({ timestamp: new Date(t).toISOString(), count: SEVERITIES.reduce((n, s) => n + a[s], 0), severity: { ...a } });
  }
  return out;
}

export interface TrendChartProps {
  points: readonly TrendPoint[];
  period: Period;
  height?: number;
  /** What the chart shows, for screen readers ("Threats per hour, last 7 days"). */
  label: string;
  /** Where a click or Enter on a bucket goes (e.g. the threats list of that window). */
  bucketHref?: (startIso: string, endIso: string) => string;
}

export function TrendChart({ points, period, height = 220, label, bucketHref }: TrendChartProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const width = useWidth(wrap);
  const local = useLocalTime();
  const [hover, setHover] = useState<number | null>(null);
  const [focus, setFocus] = useState<number | null>(null);
  const [tabIndexAt, setTabIndexAt] = useState<number | null>(null);
  const barRefs = useRef<(SVGRectElement | null)[]>([]);

  const times = useMemo(() => points.map((p) => Date.parse(p.timestamp)), [points]);
  const totals = useMemo(() => {
    const t: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
    for (const p of points) for (const s of SEVERITIES) t[s] += p.severity[s] ?? 0;
    return t;
  }, [points]);
  const grand = SEVERITIES.reduce((a, s) => a + totals[s], 0);

  const n = points.length;
  const plotW = Math.max(0, width - MARGIN.left - MARGIN.right);
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const band = n ? plotW / n : 0;
  const barW = band > 4 ? band * 0.78 : Math.max(band - 0.5, 0.5);
  const max = points.reduce((m, p) => Math.max(m, p.count), 0);
  const step = niceStep(Math.max(max, 1) / 4);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const y = (v: number) => MARGIN.top + plotH - (v / top) * plotH;
  const yTicks: number[] = [];
  for (let v = 0; v <= top + 1e-9; v += step) yTicks.push(v);

  const labelStep = useMemo(() => {
    const steps = LABEL_STEPS[period];
    for (const s of steps) if (s * band >= 62) return s;
    return steps[steps.length - 1];
  }, [band, period]);
  const offsetMs = (t: number) => (local ? -new Date(t).getTimezoneOffset() * 60_000 : 0);
  const xTicks: number[] = [];
  for (let i = 0; i < n; i++) {
    const index = Math.floor((times[i] + offsetMs(times[i])) / PERIOD_MS[period]);
    if (index % labelStep === 0) xTicks.push(i);
  }

  const peakIndex = points.reduce((best, p, i) => (p.count > (points[best]?.count ?? -1) ? i : best), 0);
  const active = focus ?? hover;
  const rovingAt = tabIndexAt !== null && tabIndexAt < n ? tabIndexAt : n - 1;

  const ariaFor = (i: number) => {
    const p = points[i];
    const sev = SEVERITIES.map((s) => `${s} ${formatCount(p.severity[s] ?? 0)}`).join(", ");
    return `${bucketLabel(times[i], period, local)}: ${formatCount(p.count)} threats (${sev})${bucketHref ? "; Enter opens them" : ""}`;
  };

  const open = (i: number) => {
    if (!bucketHref) return;
    const start = new Date(times[i]).toISOString();
    const end = new Date(times[i] + PERIOD_MS[period]).toISOString();
    navigate(bucketHref(start, end));
  };

  const move = (i: number) => {
    const next = Math.max(0, Math.min(n - 1, i));
    setTabIndexAt(next);
    barRefs.current[next]?.focus();
  };

  const onKey = (e: KeyboardEvent<SVGRectElement>, i: number) => {
    const keys: Record<string, number> = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: n - 1, PageUp: i - 10, PageDown: i + 10 };
    if (e.key in keys) {
      e.preventDefault();
      move(keys[e.key]);
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      open(i);
    }
  };

  const onMouseMove = (e: MouseEvent<SVGSVGElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const i = Math.floor((e.clientX - rect.left - MARGIN.left) / band);
    setHover(i >= 0 && i < n ? i : null);
  };

  const tip = active !== null && active < n ? points[active] : null;
  const tipX = active !== null ? MARGIN.left + (active + 0.5) * band : 0;
  const tipLeft = tipX > width - 200;

  return (
    <div className="trend-chart">
      <div className="chart-legend" role="group" aria-label="Severities, graver first, with the totals of the window">
        {SEVERITIES.map((s) => (
          <span key={s} className="legend-item">
            <span className="legend-swatch" style={{ background: SEVERITY_VAR[s] }} aria-hidden="true" />
            {titleCase(s)} <span className="num">{formatCount(totals[s])}</span>
          </span>
        ))}
        <span className="legend-item muted">
          Total <span className="num">{formatCount(grand)}</span>
        </span>
      </div>
      <div className="trend-plot" ref={wrap}>
        {width > 0 && (
          <svg
            width={width}
            height={height}
            role="group"
            aria-label={`${label}: ${formatCount(grand)} threats in ${formatCount(n)} buckets${n ? `, peak ${formatCount(points[peakIndex].count)} at ${bucketLabel(times[peakIndex], period, local)}` : ""}. Use the arrow keys to move between bars.`}
            onMouseMove={onMouseMove}
            onMouseLeave={() => setHover(null)}
          >
            {yTicks.map((v) => (
              <g key={v}>
                <line className="chart-grid" x1={MARGIN.left} x2={width - MARGIN.right} y1={y(v)} y2={y(v)} />
                <text x={MARGIN.left - 6} y={y(v)} dy="0.32em" textAnchor="end">
                  {shortCount(v)}
                </text>
              </g>
            ))}
            {xTicks.map((i) => (
              <text key={i} x={MARGIN.left + (i + 0.5) * band} y={height - 6} textAnchor="middle">
                {tickLabel(times[i], period, local)}
              </text>
            ))}
            {points.map((p, i) => {
              const x = MARGIN.left + i * band + (band - barW) / 2;
              let acc = 0;
              return (
                <g key={p.timestamp} className={active === i ? "bar active" : "bar"}>
                  {STACK_ORDER.map((s) => {
                    const v = p.severity[s] ?? 0;
                    if (!v) return null;
                    const y0 = y(acc);
                    acc += v;
                    const y1 = y(acc);
                    return <rect key={s} x={x} y={y1} width={barW} height={Math.max(y0 - y1, 0.5)} style={{ fill: SEVERITY_VAR[s] }} />;
                  })}
                  <rect
                    ref={(el) => {
                      barRefs.current[i] = el;
                    }}
                    className="bar-hit"
                    x={MARGIN.left + i * band}
                    y={MARGIN.top}
                    width={band}
                    height={plotH}
                    tabIndex={i === rovingAt ? 0 : -1}
                    role={bucketHref ? "button" : "img"}
                    aria-label={ariaFor(i)}
                    data-testid="trend-bar"
                    data-bucket={p.timestamp}
                    data-count={p.count}
                    onFocus={() => {
                      setFocus(i);
                      setTabIndexAt(i);
                    }}
                    onBlur={() => setFocus(null)}
                    onKeyDown={(e) => onKey(e, i)}
                    onClick={() => open(i)}
                  />
                </g>
              );
            })}
            <line className="chart-axis" x1={MARGIN.left} x2={width - MARGIN.right} y1={y(0)} y2={y(0)} />
          </svg>
        )}
        {tip && active !== null && (
          <div className={`chart-tooltip ${tipLeft ? "left" : ""}`} style={{ left: tipX, top: MARGIN.top }} role="presentation" data-testid="trend-tooltip">
            <div className="chart-tooltip-time">{bucketLabel(times[active], period, local)}</div>
            <table>
              <tbody>
                {SEVERITIES.map((s) => (
                  <tr key={s}>
                    <td>
                      <span className="legend-swatch" style={{ background: SEVERITY_VAR[s] }} aria-hidden="true" />
                      {titleCase(s)}
                    </td>
                    <td className="num">{formatCount(tip.severity[s] ?? 0)}</td>
                  </tr>
                ))}
                <tr className="chart-tooltip-total">
                  <td>Total</td>
                  <td className="num">{formatCount(tip.count)}</td>
                </tr>
              </tbody>
            </table>
          </div>
        )}
      </div>
    </div>
  );
}
