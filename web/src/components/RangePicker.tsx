// The dashboards' time-range picker (Grafana-like "last 24 h / 7 d / 30 d / 90 d", and the
// chart's bucket size), kept in the URL query as `?range=7d&period=daily`: defaults are left out
// of the URL, a hand-edited invalid value falls back to the default, back/forward work.
import { navigate, useLocation } from "../app/router";

export const TIME_RANGES = ["24h", "7d", "30d", "90d"] as const;
export type TimeRange = (typeof TIME_RANGES)[number];
export const PERIODS = ["hourly", "daily", "weekly"] as const;
export type Period = (typeof PERIODS)[number];

export const RANGE_MS: Record<TimeRange, number> = {
  "24h": 24 * 3_600_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
  "90d": 90 * 86_400_000,
};

export const PERIOD_MS: Record<Period, number> = {
  hourly: 3_600_000,
  daily: 86_400_000,
  weekly: 7 * 86_400_000,
};

const RANGE_LABEL: Record<TimeRange, string> = { "24h": "24 h", "7d": "7 d", "30d": "30 d", "90d": "90 d" };
const PERIOD_LABEL: Record<Period, string> = { hourly: "Hourly", daily: "Daily", weekly: "Weekly" };

/** The bucket sizes that make a readable chart of a range (2..~720 bars), the first the default. */
export const PERIODS_FOR: Record<TimeRange, readonly Period[]> = {
  "24h": ["hourly"],
  "7d": ["hourly", "daily"],
  "30d": ["daily", "hourly", "weekly"],
  "90d": ["daily", "weekly"],
};

export interface RangeState {
  range: TimeRange;
  period: Period;
}

export function rangeLabel(r: TimeRange): string {
  return RANGE_LABEL[r];
}

/** Reads `range` and `period` from the query; unknown values give the defaults. */
export function parseRange(params: URLSearchParams, defaultRange: TimeRange): RangeState {
  const r = params.get("range");
  const range = (TIME_RANGES as readonly string[]).includes(r ?? "") ? (r as TimeRange) : defaultRange;
  const p = params.get("period");
  const allowed = PERIODS_FOR[range];
  const period = (allowed as readonly string[]).includes(p ?? "") ? (p as Period) : allowed[0];
  return { range, period };
}

/** The query string with `range`/`period` set (defaults dropped), other parameters kept. */
export function withRange(params: URLSearchParams, next: RangeState, defaultRange: TimeRange): string {
  const p = new URLSearchParams(params);
  if (next.range === defaultRange) p.delete("range");
  else p.set("range", next.range);
  if (next.period === PERIODS_FOR[next.range][0]) p.delete("period");
  else p.set("period", next.period);
  const s = p.toString();
  return s ? "?" + s : "";
}

/** The window [now - range, now) as the API's start_time. */
export function rangeStart(range: TimeRange, now = Date.now()): string {
  return new Date(now - RANGE_MS[range]).toISOString();
}

/** The range and bucket size of the current page, from its URL; `set` pushes a history entry. */
export function useRange(defaultRange: TimeRange): RangeState & { set: (next: Partial<RangeState>) => void } {
  const location = useLocation();
  const state = parseRange(location.params, defaultRange);
  const set = (patch: Partial<RangeState>) => {
    const range = patch.range ?? state.range;
    // A new range starts with its own default bucket size (30 d → daily, not 720 hourly bars).
    let period = patch.period ?? (patch.range && patch.range !== state.range ? PERIODS_FOR[range][0] : state.period);
    if (!PERIODS_FOR[range].includes(period)) period = PERIODS_FOR[range][0];
    navigate(location.path + withRange(location.params, { range, period }, defaultRange));
  };
  return { ...state, set };
}

/** "Last 24 h | 7 d | 30 d | 90 d" as toggle buttons (one pressed). */
export function RangePicker({ range, onChange }: { range: TimeRange; onChange: (next: Partial<RangeState>) => void }) {
  return (
    <div className="toggle-group range-picker" role="group" aria-label="Time range" data-testid="range-picker">
      <span className="toggle-label">Last</span>
      {TIME_RANGES.map((r) => (
        <button
          key={r}
          type="button"
          className={`toggle ${r === range ? "on" : ""}`}
          aria-pressed={r === range}
          aria-label={`Last ${RANGE_LABEL[r]}`}
          data-range={r}
          onClick={() => onChange({ range: r })}
        >
          {RANGE_LABEL[r]}
        </button>
      ))}
    </div>
  );
}

/** The chart's bucket size among those that suit the range; nothing when only one does. */
export function PeriodPicker({ range, period, onChange }: { range: TimeRange; period: Period; onChange: (next: Partial<RangeState>) => void }) {
  const periods = PERIODS.filter((p) => PERIODS_FOR[range].includes(p));
  if (periods.length < 2) return null;
  return (
    <div className="toggle-group" role="group" aria-label="Bucket size" data-testid="period-picker">
      <span className="toggle-label">Bars</span>
      {periods.map((p) => (
        <button key={p} type="button" className={`toggle ${p === period ? "on" : ""}`} aria-pressed={p === period} data-period={p} onClick={() => onChange({ period: p })}>
          {PERIOD_LABEL[p]}
        </button>
      ))}
    </div>
  );
}
