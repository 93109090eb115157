// The threats table: every filter of GET /threats, the sort, the page size, the keyset cursor, the
// columns and the open threat live in the URL (lib/filters.ts), so back/forward work and a pasted
// link opens the same view. The table never jumps under the reader: live threats that match are
// counted in a banner ("N new threats — show"), triage changes of shown rows are applied in place.
// Analysts and admins also get bulk triage and the export; a viewer sees neither.
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent as ReactKeyboardEvent, type MouseEvent as ReactMouseEvent } from "react";
import { navigate, useLocation, useTitle, Link } from "../app/router";
import { useApi, useApp, useCan, useLive, useThrottled } from "../app/context";
import { ErrorBox, Loading, RelativeTime, SeverityBadge, StatusBadge, ToggleGroup } from "../components/ui";
import { ConfirmDialog, ThreatDetail } from "../components/ThreatDetail";
import { ApiError, type Query } from "../lib/api";
import {
  apiFilters,
  apiQuery,
  COLUMNS,
  DEFAULT_COLUMNS,
  DEFAULT_FILTERS,
  formatFilters,
  PAGE_SIZES,
  parseFilters,
  RANGES,
  SORT_FIELDS,
  withFilter,
  type Column,
  type Range,
  type SortField,
  type ThreatFilters,
} from "../lib/filters";
import { detectorLabel, formatCount, formatTime, localTime, titleCase } from "../lib/format";
import { DETECTORS, SEVERITIES, STATUSES, type LiveThreat, type SensorPage, type Threat, type ThreatPage, type ThreatStatus } from "../lib/types";

const BASE = "/threats";

const COLUMN_LABELS: Record<Column, string> = {
  timestamp: "Time",
  severity: "Severity",
  threat_type: "Type",
  detector_type: "Detector",
  sensor_id: "Sensor",
  device: "Device",
  threat_score: "Score",
  status: "Status",
  assignee: "Assignee",
  location: "Location",
};

const SORT_LABELS: Record<SortField, string> = {
  timestamp: "Time",
  severity: "Severity",
  threat_score: "Score",
  threat_type: "Type",
  sensor_id: "Sensor",
  detector_type: "Detector",
  created_at: "Received",
};

const RANGE_LABELS: Record<Range, string> = {
  "1h": "Last hour",
  "6h": "Last 6 hours",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  "90d": "Last 90 days",
  all: "All time",
  custom: "Custom…",
};

const RANGE_MS: Partial<Record<Range, number>> = { "1h": 3_600_000, "6h": 21_600_000, "24h": 86_400_000, "7d": 604_800_000, "30d": 2_592_000_000, "90d": 7_776_000_000 };

/** Column → the sort field its header sorts by (the others are not sortable). */
const COLUMN_SORT: Partial<Record<Column, SortField>> = {
  timestamp: "timestamp",
  severity: "severity",
  threat_type: "threat_type",
  detector_type: "detector_type",
  sensor_id: "sensor_id",
  threat_score: "threat_score",
};

/** Remembered "previous page" of each cursor this tab reached by "Next page" (a pasted deep link has none). */
const previousCursor = new Map<string, string | null>();

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

/** Would this live threat be on the first page of f? (A new threat is `new` and unassigned.) */
export function matchesLive(f: ThreatFilters, t: LiveThreat, now = Date.now()): boolean {
  if (f.severity.length && !f.severity.includes(t.severity)) return false;
  if (f.detector_type.length && !f.detector_type.includes(t.detector_type.toLowerCase())) return false;
  if (f.threat_type.length && !f.threat_type.includes(t.threat_type)) return false;
  if (f.sensor_id.length && !f.sensor_id.includes(t.sensor_id)) return false;
  if (f.status.length && !f.status.includes("new")) return false;
  if (f.assignee !== null && f.assignee !== "") return false;
  if (f.is_acknowledged === true) return false;
  const at = Date.parse(t.timestamp);
  if (f.range === "custom") {
    if (f.from && at < Date.parse(f.from)) return false;
    if (f.to && at >= Date.parse(f.to)) return false;
  } else {
    const span = RANGE_MS[f.range];
    if (span && at < now - span) return false;
  }
  return true;
}

/** The filter of a bulk change: the list's filters as JSON, arrays as arrays, nothing empty. */
export function bulkFilter(f: ThreatFilters, now = Date.now()): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(apiFilters(f, now))) {
    if (v === null || v === undefined) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  return out;
}

function splitList(text: string): string[] {
  const out: string[] = [];
  for (const part of text.split(",")) {
    const v = part.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** datetime-local value ↔ RFC 3339, in UTC or local time as the console shows times. */
function toInputTime(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return localTime()
    ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
    : `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

function fromInputTime(value: string): string | null {
  if (!value) return null;
  const d = localTime() ? new Date(value) : new Date(value + (value.length === 16 ? ":00Z" : "Z"));
  return Number.isNaN(d.getTime()) ? null : d.toISOString().replace(".000Z", "Z");
}

function totalText(page: ThreatPage | null): string {
  if (!page) return "…";
  const n = formatCount(page.total);
  const noun = page.total === 1 && page.total_is_exact ? "threat" : "threats";
  return page.total_is_exact ? `${n} ${noun}` : `at least ${n} ${noun}`;
}

export function Threats() {
  useTitle("Threats");
  const { api, user } = useApp();
  const canTriage = useCan("analyst");
  const location = useLocation();
  const f = useMemo(() => parseFilters(location.search), [location.search]);
  const fRef = useRef(f);
  fRef.current = f;

  const go = useCallback((next: ThreatFilters, replace = false) => navigate(BASE + formatFilters(next), { replace }), []);
  const set = useCallback((patch: Partial<ThreatFilters>, replace = false) => go(withFilter(fRef.current, patch), replace), [go]);

  // The list depends on everything but the open threat and the columns.
  const listKey = formatFilters({ ...f, selected: null, columns: [...DEFAULT_COLUMNS] });

  // Live threats counted for the "N new threats" banner (ids, so a threat is counted once and
  // one the reload already shows is not counted).
  const fresh = useRef(new Set<string>());
  const freshAtLoad = useRef<Set<string>>(new Set());
  const lastKey = useRef<string | null>(null);
  const [freshCount, setFreshCount] = useState(0);

  const list = useApi((signal) => {
    if (lastKey.current !== listKey) {
      fresh.current.clear();
      setFreshCount(0);
      lastKey.current = listKey;
    }
    freshAtLoad.current = new Set(fresh.current);
    return api.get<ThreatPage>("/threats", apiQuery(fRef.current), signal);
  }, [listKey]);

  const [rows, setRows] = useState<Threat[]>([]);
  useEffect(() => {
    const threats = list.data?.threats ?? [];
    setRows(threats);
    for (const id of freshAtLoad.current) fresh.current.delete(id);
    for (const t of threats) fresh.current.delete(t.id);
    setFreshCount(fresh.current.size);
  }, [list.data]);
  const rowsRef = useRef(rows);
  rowsRef.current = rows;

  const sensors = useApi((signal) => api.get<SensorPage>("/sensors", { page_size: 100 }, signal), []);
  const sensorIds = useMemo(() => (sensors.data?.sensors.map((s) => s.sensor_id) ?? []).sort(), [sensors.data]);

  // The open threat reloads when it changes elsewhere; its last known updated_at tells.
  const [detailVersion, setDetailVersion] = useState(0);
  const knownUpdatedAt = useRef(new Map<string, string | null>());

  const liveEligible = !f.cursor && f.sort_by === "timestamp" && f.sort_order === "desc";
  const liveEligibleRef = useRef(liveEligible);
  liveEligibleRef.current = liveEligible;
  const countTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => {
    if (countTimer.current) clearTimeout(countTimer.current);
  }, []);
  const myBulkAt = useRef(0);
  const reloadSoon = useThrottled(list.reload, 3_000);

  useLive((m) => {
    if (m.type === "threat") {
      if (!liveEligibleRef.current || !matchesLive(fRef.current, m.data)) return;
      if (rowsRef.current.some((r) => r.id === m.data.id)) return;
      fresh.current.add(m.data.id);
      // One render per half second however fast threats arrive.
      if (!countTimer.current)
        countTimer.current = setTimeout(() => {
          countTimer.current = null;
          setFreshCount(fresh.current.size);
        }, 500);
    } else if (m.type === "threat_update") {
      const d = m.data;
      if (d.bulk) {
        if (d.updated_by === user.username && Date.now() - myBulkAt.current < 10_000) return;
        reloadSoon();
        if (fRef.current.selected) setDetailVersion((v) => v + 1);
        return;
      }
      const id = typeof d.id === "string" ? d.id : null;
      if (!id) return;
      const patch: Partial<Threat> = {};
      if (typeof d.status === "string") patch.status = d.status as ThreatStatus;
      if ("assignee" in d) patch.assignee = (d.assignee as string | null) ?? null;
      if (typeof d.is_acknowledged === "boolean") patch.is_acknowledged = d.is_acknowledged;
      if (typeof d.updated_at === "string") patch.updated_at = d.updated_at;
      setRows((old) => (old.some((r) => r.id === id) ? old.map((r) => (r.id === id ? { ...r, ...patch } : r)) : old));
      if (id === fRef.current.selected && typeof d.updated_at === "string" && knownUpdatedAt.current.get(id) !== d.updated_at) {
        knownUpdatedAt.current.set(id, d.updated_at);
        setDetailVersion((v) => v + 1);
      }
    }
  });

  const showFresh = () => {
    if (f.cursor) set({ cursor: null });
    else list.reload();
  };

  // ---- selection (keyboard cursor), checkboxes, messages ----
  const [activeId, setActiveId] = useState<string | null>(null);
  const rowEls = useRef(new Map<string, HTMLTableRowElement>());
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const [message, setMessage] = useState<{ text: string; error?: unknown } | null>(null);
  useEffect(() => {
    setChecked(new Set());
    setAllMatching(false);
  }, [listKey]);

  const focusRow = (id: string) => {
    setActiveId(id);
    const el = rowEls.current.get(id);
    if (el) {
      el.focus({ preventScroll: true });
      el.scrollIntoView({ block: "nearest" });
    }
  };

  const open = (id: string | null) => set({ selected: id });

  const applyChanged = useCallback((t: Threat) => {
    knownUpdatedAt.current.set(t.id, t.updated_at);
    setRows((old) => (old.some((r) => r.id === t.id) ? old.map((r) => (r.id === t.id ? t : r)) : old));
  }, []);

  const acknowledge = async (id: string) => {
    try {
      const t = await api.request<Threat>("PUT", `/threats/${id}/acknowledge`, { body: {} });
      applyChanged(t);
      if (id === fRef.current.selected) setDetailVersion((v) => v + 1);
      setMessage({ text: `Acknowledged ${t.threat_type} on ${t.sensor_id}.` });
    } catch (e) {
      setMessage({ text: "Could not acknowledge", error: e });
    }
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || typing(e.target)) return;
      if (document.querySelector("dialog[open]")) return;
      const current = rowsRef.current;
      const index = activeId ? current.findIndex((r) => r.id === activeId) : -1;
      if (e.key === "j" || e.key === "k") {
        if (!current.length) return;
        e.preventDefault();
        const next = e.key === "j" ? Math.min(current.length - 1, index + 1) : index < 0 ? 0 : Math.max(0, index - 1);
        focusRow(current[next].id);
      } else if (e.key === "Enter") {
        const target = e.target as HTMLElement;
        if (target !== document.body && !target.matches?.("tr[data-threat-id]")) return;
        const id = target.dataset?.threatId ?? activeId;
        if (id) {
          e.preventDefault();
          open(id);
        }
      } else if (e.key === "a" && canTriage) {
        const id = activeId ?? fRef.current.selected;
        if (id) {
          e.preventDefault();
          void acknowledge(id);
        }
      } else if (e.key === "Escape") {
        const sel = fRef.current.selected;
        if (sel) {
          e.preventDefault();
          open(null);
          const el = rowEls.current.get(sel);
          if (el) {
            setActiveId(sel);
            el.focus({ preventScroll: true });
          }
        }
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  // On a tablet the detail is under the table: bring it into view when it opens.
  const detailWrap = useRef<HTMLDivElement>(null);
  const lastSelected = useRef(f.selected);
  useEffect(() => {
    if (f.selected && f.selected !== lastSelected.current && window.matchMedia?.("(max-width: 1100px)").matches) {
      detailWrap.current?.scrollIntoView({ block: "start", behavior: "smooth" });
    }
    lastSelected.current = f.selected;
  }, [f.selected]);

  const page = list.data;
  const columns = f.columns;

  const nextPage = () => {
    if (!page?.next_cursor) return;
    previousCursor.set(page.next_cursor, f.cursor);
    set({ cursor: page.next_cursor });
  };
  const hasPrevious = f.cursor !== null && previousCursor.has(f.cursor);
  const prevPage = () => {
    if (!f.cursor) return;
    set({ cursor: previousCursor.get(f.cursor) ?? null });
  };
  const pageNumber = useMemo(() => {
    let n = 1;
    let c = f.cursor;
    while (c) {
      if (!previousCursor.has(c)) return null;
      c = previousCursor.get(c) ?? null;
      n++;
    }
    return n;
  }, [f.cursor]);

  const sortBy = (field: SortField) => {
    if (f.sort_by === field) set({ sort_order: f.sort_order === "desc" ? "asc" : "desc" });
    else set({ sort_by: field, sort_order: field === "timestamp" || field === "severity" || field === "threat_score" || field === "created_at" ? "desc" : "asc" });
  };

  const toggleChecked = (id: string) => {
    setAllMatching(false);
    setChecked((old) => {
      const next = new Set(old);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  };
  const pageAllChecked = rows.length > 0 && rows.every((r) => checked.has(r.id));
  const togglePage = () => {
    setAllMatching(false);
    setChecked(pageAllChecked ? new Set() : new Set(rows.map((r) => r.id)));
  };

  const onDeleted = (id: string) => {
    setRows((old) => old.filter((r) => r.id !== id));
    setChecked((old) => {
      const next = new Set(old);
      next.delete(id);
      return next;
    });
    setMessage({ text: "Threat deleted." });
    if (fRef.current.selected === id) set({ selected: null });
  };

  const detailLink = f.selected ? BASE + formatFilters({ ...DEFAULT_FILTERS, columns: [...DEFAULT_COLUMNS], selected: f.selected }) : "";

  return (
    <div className="page threats-page">
      <div className="page-head">
        <div className="row">
          <h1>Threats</h1>
          <span className="threats-total" data-testid="threats-total" aria-live="polite">
            {list.error && !page ? "" : totalText(page)}
          </span>
          {list.loading && page && <span className="muted">updating…</span>}
        </div>
        {canTriage && <ExportButtons f={f} />}
      </div>

      <FilterBar f={f} set={set} go={go} sensorIds={sensorIds} username={user.username} />

      <div className={f.selected ? "split threats-split" : "threats-split"}>
        <section className="panel threats-panel" aria-label="Threats">
          <div className="table-toolbar">
            <div className="row">
              <label className="inline-label">
                Sort by
                <select value={f.sort_by} onChange={(e) => set({ sort_by: e.target.value as SortField })} data-testid="sort-select">
                  {SORT_FIELDS.map((s) => (
                    <option key={s} value={s}>
                      {SORT_LABELS[s]}
                    </option>
                  ))}
                </select>
              </label>
              <button type="button" onClick={() => set({ sort_order: f.sort_order === "desc" ? "asc" : "desc" })} aria-label={`Order: ${f.sort_order === "desc" ? "descending" : "ascending"}; switch`}>
                {f.sort_order === "desc" ? "↓ Desc" : "↑ Asc"}
              </button>
              <label className="inline-label">
                Rows
                <select value={f.page_size} onChange={(e) => set({ page_size: Number(e.target.value) })} data-testid="page-size">
                  {PAGE_SIZES.map((n) => (
                    <option key={n} value={n}>
                      {n}
                    </option>
                  ))}
                </select>
              </label>
              <ColumnMenu columns={columns} onChange={(c) => set({ columns: c }, true)} />
            </div>
            <Pager page={page} f={f} hasPrevious={hasPrevious} pageNumber={pageNumber} onFirst={() => set({ cursor: null })} onPrev={prevPage} onNext={nextPage} />
          </div>

          {freshCount > 0 && liveEligible && (
            <div className="new-threats-banner" data-testid="new-threats-banner" role="status">
              <span>
                <strong>{formatCount(freshCount)}</strong> new {freshCount === 1 ? "threat matches" : "threats match"} these filters
              </span>
              <button type="button" className="primary" onClick={showFresh}>
                Show
              </button>
            </div>
          )}

          {canTriage && (checked.size > 0 || allMatching) && (
            <BulkBar
              f={f}
              ids={[...checked]}
              allMatching={allMatching}
              total={page}
              pageAllChecked={pageAllChecked}
              onSelectAll={() => setAllMatching(true)}
              onClear={() => {
                setChecked(new Set());
                setAllMatching(false);
              }}
              onDone={(text) => {
                myBulkAt.current = Date.now();
                setMessage({ text });
                list.reload();
                if (fRef.current.selected) setDetailVersion((v) => v + 1);
              }}
            />
          )}

          {message && (
            <div className={message.error ? "" : "threats-message"} role="status">
              {message.error ? <ErrorBox error={message.error} retry={() => setMessage(null)} /> : <span>{message.text}</span>}
              {!message.error && (
                <button type="button" className="text-button" onClick={() => setMessage(null)} aria-label="Dismiss the message">
                  ×
                </button>
              )}
            </div>
          )}

          {list.error && <ErrorBox error={list.error} retry={list.reload} />}
          {!page && !list.error ? (
            <Loading label="Loading threats" />
          ) : page ? (
            <div className="table-wrap threats-table-wrap">
              <table data-testid="threats-table" role="grid" aria-label="Threats" aria-rowcount={page.total_is_exact ? page.total + 1 : -1} className={list.loading ? "reloading" : ""}>
                <thead>
                  <tr>
                    {canTriage && (
                      <th className="check-col">
                        <input type="checkbox" checked={pageAllChecked} onChange={togglePage} aria-label="Select every threat on this page" data-testid="select-page" />
                      </th>
                    )}
                    {columns.map((c) => {
                      const field = COLUMN_SORT[c];
                      const sorted = field && f.sort_by === field;
                      const right = c === "threat_score";
                      return (
                        <th key={c} scope="col" className={right ? "num" : ""} aria-sort={field ? (sorted ? (f.sort_order === "desc" ? "descending" : "ascending") : "none") : undefined}>
                          {field ? (
                            <button type="button" className="sort" onClick={() => sortBy(field)} title={`Sort by ${COLUMN_LABELS[c].toLowerCase()}`}>
                              {COLUMN_LABELS[c]}
                              <span aria-hidden="true" className="sort-mark">
                                {sorted ? (f.sort_order === "desc" ? " ↓" : " ↑") : ""}
                              </span>
                            </button>
                          ) : (
                            COLUMN_LABELS[c]
                          )}
                        </th>
                      );
                    })}
                  </tr>
                </thead>
                <tbody>
                  {rows.length === 0 && (
                    <tr>
                      <td colSpan={columns.length + (canTriage ? 1 : 0)} className="empty">
                        No threats match these filters{f.cursor ? " on this page" : ""}.
                      </td>
                    </tr>
                  )}
                  {rows.map((t, i) => (
                    <ThreatRow
                      key={t.id}
                      t={t}
                      columns={columns}
                      canTriage={canTriage}
                      active={t.id === activeId}
                      tabbable={t.id === activeId || (activeId === null && i === 0)}
                      open={t.id === f.selected}
                      checked={allMatching || checked.has(t.id)}
                      onCheck={() => toggleChecked(t.id)}
                      onOpen={() => {
                        setActiveId(t.id);
                        open(t.id);
                      }}
                      onFocus={() => setActiveId(t.id)}
                      refFn={(el) => {
                        if (el) rowEls.current.set(t.id, el);
                        else rowEls.current.delete(t.id);
                      }}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          <div className="table-foot">
            <span className="muted keys-hint">
              <kbd>j</kbd>/<kbd>k</kbd> move · <kbd>Enter</kbd> open{canTriage && <> · <kbd>a</kbd> acknowledge</>} · <kbd>Esc</kbd> close · <kbd>/</kbd> filter
            </span>
            <Pager page={page} f={f} hasPrevious={hasPrevious} pageNumber={pageNumber} onFirst={() => set({ cursor: null })} onPrev={prevPage} onNext={nextPage} bottom />
          </div>
        </section>

        {f.selected && (
          <div ref={detailWrap} className="threat-detail-wrap">
            <ThreatDetail
              id={f.selected}
              version={detailVersion}
              link={detailLink}
              onClose={() => open(null)}
              onChanged={applyChanged}
              onDeleted={onDeleted}
            />
          </div>
        )}
      </div>
    </div>
  );
}

function ThreatRow({
  t,
  columns,
  canTriage,
  active,
  tabbable,
  open,
  checked,
  onCheck,
  onOpen,
  onFocus,
  refFn,
}: {
  t: Threat;
  columns: Column[];
  canTriage: boolean;
  active: boolean;
  tabbable: boolean;
  open: boolean;
  checked: boolean;
  onCheck: () => void;
  onOpen: () => void;
  onFocus: () => void;
  refFn: (el: HTMLTableRowElement | null) => void;
}) {
  const click = (e: ReactMouseEvent<HTMLTableRowElement>) => {
    const target = e.target as HTMLElement;
    if (target.closest("a, button, input, select, label")) return;
    onOpen();
  };
  const key = (e: ReactKeyboardEvent<HTMLTableRowElement>) => {
    if (e.target !== e.currentTarget) return;
    if (e.key === " " && canTriage) {
      e.preventDefault();
      onCheck();
    }
  };
  return (
    <tr
      ref={refFn}
      data-testid="threat-row"
      data-threat-id={t.id}
      tabIndex={tabbable ? 0 : -1}
      aria-selected={active}
      className={`threat-row ${open ? "selected" : ""} ${active ? "active" : ""} ${checked ? "checked" : ""}`}
      onClick={click}
      onFocus={(e) => e.target === e.currentTarget && onFocus()}
      onKeyDown={key}
    >
      {canTriage && (
        <td className="check-col">
          <input type="checkbox" checked={checked} onChange={onCheck} aria-label={`Select ${t.threat_type} of ${formatTime(t.timestamp)}`} tabIndex={-1} />
        </td>
      )}
      {columns.map((c) => (
        <Cell key={c} column={c} t={t} />
      ))}
    </tr>
  );
}

function Cell({ column, t }: { column: Column; t: Threat }) {
  switch (column) {
    case "timestamp":
      return (
        <td>
          <RelativeTime iso={t.timestamp} />
        </td>
      );
    case "severity":
      return (
        <td>
          <SeverityBadge severity={t.severity} />
        </td>
      );
    case "threat_type":
      return <td className="mono cell-type">{t.threat_type}</td>;
    case "detector_type":
      return <td>{detectorLabel(t.detector_type)}</td>;
    case "sensor_id":
      return (
        <td>
          <Link to={`/sensors/${encodeURIComponent(t.sensor_id)}`} tabIndex={-1} className="mono">
            {t.sensor_id}
          </Link>
        </td>
      );
    case "device": {
      const extra = [t.device_mac, t.device_ip].filter(Boolean).join(" · ");
      return (
        <td className="cell-device">
          {t.device_name ?? (extra ? "" : <span className="muted">—</span>)}
          {extra && <span className="muted mono"> {extra}</span>}
        </td>
      );
    }
    case "threat_score":
      return <td className="num">{t.threat_score === null ? "—" : t.threat_score.toFixed(2)}</td>;
    case "status":
      return (
        <td>
          <StatusBadge status={t.status} />
        </td>
      );
    case "assignee":
      return <td>{t.assignee ?? <span className="muted">—</span>}</td>;
    case "location": {
      const place = [t.city, t.country].filter(Boolean).join(", ");
      return (
        <td>
          {place ||
            (t.latitude !== null && t.longitude !== null ? (
              <span className="mono">
                {t.latitude.toFixed(2)}, {t.longitude.toFixed(2)}
              </span>
            ) : (
              <span className="muted">—</span>
            ))}
        </td>
      );
    }
  }
}

function Pager({
  page,
  f,
  hasPrevious,
  pageNumber,
  onFirst,
  onPrev,
  onNext,
  bottom,
}: {
  page: ThreatPage | null;
  f: ThreatFilters;
  hasPrevious: boolean;
  pageNumber: number | null;
  onFirst: () => void;
  onPrev: () => void;
  onNext: () => void;
  bottom?: boolean;
}) {
  const rows = page?.threats.length ?? 0;
  const from = pageNumber ? (pageNumber - 1) * f.page_size + 1 : null;
  return (
    <nav className="row pager" aria-label={bottom ? "Pages (bottom)" : "Pages"}>
      <span className="muted num-inline">
        {page ? (from !== null ? (rows ? `${formatCount(from)}–${formatCount(from + rows - 1)}` : "no rows") : `${formatCount(rows)} rows, a later page`) : ""}
      </span>
      <button type="button" onClick={onFirst} disabled={!f.cursor} data-testid={bottom ? undefined : "first-page"}>
        « Newest
      </button>
      {hasPrevious && (
        <button type="button" onClick={onPrev} data-testid={bottom ? undefined : "prev-page"}>
          ‹ Previous
        </button>
      )}
      <button type="button" onClick={onNext} disabled={!page?.next_cursor} data-testid={bottom ? undefined : "next-page"}>
        Next page ›
      </button>
    </nav>
  );
}

function ColumnMenu({ columns, onChange }: { columns: Column[]; onChange: (c: Column[]) => void }) {
  const ref = useRef<HTMLDetailsElement>(null);
  useEffect(() => {
    const close = (e: MouseEvent) => {
      if (ref.current?.open && !ref.current.contains(e.target as Node)) ref.current.open = false;
    };
    const esc = (e: KeyboardEvent) => {
      if (e.key === "Escape" && ref.current?.open) {
        ref.current.open = false;
        ref.current.querySelector("summary")?.focus();
        e.preventDefault();
      }
    };
    document.addEventListener("click", close);
    document.addEventListener("keydown", esc, true);
    return () => {
      document.removeEventListener("click", close);
      document.removeEventListener("keydown", esc, true);
    };
  }, []);
  const toggle = (c: Column) => {
    const on = new Set(columns);
    if (on.has(c)) on.delete(c);
    else on.add(c);
    const next = COLUMNS.filter((x) => on.has(x));
    if (next.length) onChange(next);
  };
  return (
    <details className="menu column-menu" ref={ref} data-testid="column-menu">
      <summary className="button-like">Columns ({columns.length})</summary>
      <fieldset className="menu-pop">
        <legend>Columns shown</legend>
        {COLUMNS.map((c) => (
          <label key={c} className="check-label">
            <input type="checkbox" checked={columns.includes(c)} onChange={() => toggle(c)} disabled={columns.length === 1 && columns.includes(c)} />
            {COLUMN_LABELS[c]}
          </label>
        ))}
        <button type="button" onClick={() => onChange([...DEFAULT_COLUMNS])}>
          Default columns
        </button>
      </fieldset>
    </details>
  );
}

/** A text input holding a comma-separated list: typing replaces the URL (debounced), Enter and blur commit. */
function ListInput({ label, value, onCommit, testId, focusKey, suggestions, placeholder }: { label: string; value: string[]; onCommit: (v: string[], replace: boolean) => void; testId?: string; focusKey?: boolean; suggestions?: string; placeholder?: string }) {
  const joined = value.join(", ");
  const [draft, setDraft] = useState(joined);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    // The URL changed elsewhere (back/forward, a pill removed): show it unless it says the same.
    setDraft((d) => (splitList(d).join(",") === value.join(",") ? d : joined));
  }, [joined]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  const commit = (text: string, replace: boolean) => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    const next = splitList(text);
    if (next.join(",") !== value.join(",")) onCommit(next, replace);
  };
  return (
    <label className="filter-text">
      {label}
      <input
        type="text"
        value={draft}
        placeholder={placeholder}
        list={suggestions}
        autoComplete="off"
        spellCheck={false}
        data-testid={testId}
        data-filter-focus={focusKey ? "" : undefined}
        onChange={(e) => {
          const text = e.target.value;
          setDraft(text);
          if (timer.current) clearTimeout(timer.current);
          timer.current = setTimeout(() => commit(text, true), 500);
        }}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit(draft, false);
          if (e.key === "Escape") (e.target as HTMLInputElement).blur();
        }}
        onBlur={() => commit(draft, true)}
      />
    </label>
  );
}

function FilterBar({ f, set, go, sensorIds, username }: { f: ThreatFilters; set: (p: Partial<ThreatFilters>, replace?: boolean) => void; go: (f: ThreatFilters, replace?: boolean) => void; sensorIds: string[]; username: string }) {
  const assigneeMode = f.assignee === null ? "any" : f.assignee === "" ? "unassigned" : f.assignee === username ? "me" : "user";
  const [otherUser, setOtherUser] = useState(assigneeMode === "user" ? (f.assignee ?? "") : "");
  const [pickOther, setPickOther] = useState(false);
  useEffect(() => {
    if (assigneeMode === "user") setOtherUser(f.assignee ?? "");
  }, [f.assignee]); // eslint-disable-line react-hooks/exhaustive-deps
  const showOther = assigneeMode === "user" || pickOther;

  const pills: { key: string; label: string; remove: () => void }[] = [];
  for (const s of f.severity) pills.push({ key: "sev" + s, label: `Severity: ${s}`, remove: () => set({ severity: f.severity.filter((x) => x !== s) }) });
  for (const d of f.detector_type) pills.push({ key: "det" + d, label: `Detector: ${detectorLabel(d)}`, remove: () => set({ detector_type: f.detector_type.filter((x) => x !== d) }) });
  for (const s of f.status) pills.push({ key: "st" + s, label: `Status: ${titleCase(s)}`, remove: () => set({ status: f.status.filter((x) => x !== s) }) });
  for (const t of f.threat_type) pills.push({ key: "tt" + t, label: `Type: ${t}`, remove: () => set({ threat_type: f.threat_type.filter((x) => x !== t) }) });
  for (const s of f.sensor_id) pills.push({ key: "se" + s, label: `Sensor: ${s}`, remove: () => set({ sensor_id: f.sensor_id.filter((x) => x !== s) }) });
  if (f.assignee !== null) pills.push({ key: "as", label: f.assignee === "" ? "Unassigned" : `Assignee: ${f.assignee}`, remove: () => set({ assignee: null }) });
  if (f.is_acknowledged !== null) pills.push({ key: "ack", label: f.is_acknowledged ? "Acknowledged" : "Not acknowledged", remove: () => set({ is_acknowledged: null }) });
  if (f.range !== "all")
    pills.push({
      key: "range",
      label: f.range === "custom" ? `Time: ${f.from ? formatTime(f.from) : "…"} → ${f.to ? formatTime(f.to) : "now"}` : `Time: ${RANGE_LABELS[f.range].toLowerCase()}`,
      remove: () => set({ range: "all", from: null, to: null }),
    });

  const clearAll = () => go({ ...DEFAULT_FILTERS, sort_by: f.sort_by, sort_order: f.sort_order, page_size: f.page_size, columns: f.columns, selected: f.selected, cursor: null });

  return (
    <section className="panel threat-filters" aria-label="Filters">
      <div className="panel-body">
        <div className="filters">
          <div data-testid="filter-severity" className="toggle-wrap">
            <ToggleGroup label="Severity" options={SEVERITIES} value={f.severity} onChange={(v) => set({ severity: SEVERITIES.filter((s) => v.includes(s)) })} render={(s) => <SeverityBadge severity={s} />} />
          </div>
          <div data-testid="filter-detector" className="toggle-wrap">
            <ToggleGroup label="Detector" options={DETECTORS} value={f.detector_type} onChange={(v) => set({ detector_type: v })} render={detectorLabel} />
          </div>
          <div data-testid="filter-status" className="toggle-wrap">
            <ToggleGroup label="Status" options={STATUSES} value={f.status} onChange={(v) => set({ status: STATUSES.filter((s) => v.includes(s)) as ThreatStatus[] })} />
          </div>
        </div>
        <div className="filters filters-second">
          <ListInput label="Threat type" value={f.threat_type} onCommit={(v, replace) => set({ threat_type: v }, replace)} testId="filter-type" focusKey placeholder="e.g. port_scan, rogue_ap" />
          <div className="sensor-filter">
            <ListInput label="Sensor" value={f.sensor_id} onCommit={(v, replace) => set({ sensor_id: v }, replace)} testId="filter-sensor" suggestions="threat-sensor-ids" placeholder="sensor ids, comma-separated" />
            <datalist id="threat-sensor-ids">
              {sensorIds.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
            {sensorIds.length > 0 && (
                <select
                  value=""
                  onChange={(e) => {
                    const s = e.target.value;
                    if (s && !f.sensor_id.includes(s)) set({ sensor_id: [...f.sensor_id, s] });
                  }}
                  data-testid="filter-sensor-add"
                  aria-label="Add a known sensor to the filter"
                >
                  <option value="">+ sensor…</option>
                  {sensorIds.map((s) => (
                    <option key={s} value={s} disabled={f.sensor_id.includes(s)}>
                      {s}
                    </option>
                  ))}
                </select>
            )}
          </div>
          <label>
            Assignee
            <select
              value={showOther ? "user" : assigneeMode}
              data-testid="filter-assignee"
              onChange={(e) => {
                const v = e.target.value;
                setPickOther(v === "user");
                if (v === "any") set({ assignee: null });
                else if (v === "unassigned") set({ assignee: "" });
                else if (v === "me") set({ assignee: username });
                else if (otherUser.trim()) set({ assignee: otherUser.trim() });
              }}
            >
              <option value="any">Anyone</option>
              <option value="unassigned">Unassigned</option>
              <option value="me">Me ({username})</option>
              <option value="user">A user…</option>
            </select>
          </label>
          {showOther && (
            <form
              className="inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                const who = otherUser.trim();
                if (who) set({ assignee: who });
              }}
            >
              <label>
                Username
                <input value={otherUser} onChange={(e) => setOtherUser(e.target.value)} onBlur={() => otherUser.trim() && otherUser.trim() !== f.assignee && set({ assignee: otherUser.trim() }, true)} autoComplete="off" maxLength={128} data-testid="filter-assignee-user" />
              </label>
            </form>
          )}
          <label>
            Acknowledged
            <select value={f.is_acknowledged === null ? "any" : String(f.is_acknowledged)} onChange={(e) => set({ is_acknowledged: e.target.value === "any" ? null : e.target.value === "true" })} data-testid="filter-ack">
              <option value="any">Any</option>
              <option value="false">Not acknowledged</option>
              <option value="true">Acknowledged</option>
            </select>
          </label>
          <label>
            Time range
            <select
              value={f.range}
              data-testid="filter-range"
              onChange={(e) => {
                const range = e.target.value as Range;
                if (range === "custom") {
                  const now = Date.now();
                  const span = RANGE_MS[f.range] ?? 86_400_000;
                  set({ range, from: new Date(now - span).toISOString().replace(/\.\d{3}Z$/, "Z"), to: null });
                } else set({ range, from: null, to: null });
              }}
            >
              {RANGES.map((r) => (
                <option key={r} value={r}>
                  {RANGE_LABELS[r]}
                </option>
              ))}
            </select>
          </label>
          {f.range === "custom" && (
            <>
              <label>
                From ({localTime() ? "local" : "UTC"})
                <input type="datetime-local" value={toInputTime(f.from)} onChange={(e) => set({ from: fromInputTime(e.target.value) }, true)} data-testid="filter-from" />
              </label>
              <label>
                To ({localTime() ? "local" : "UTC"})
                <input type="datetime-local" value={toInputTime(f.to)} onChange={(e) => set({ to: fromInputTime(e.target.value) }, true)} data-testid="filter-to" />
              </label>
            </>
          )}
        </div>
        {pills.length > 0 && (
          <div className="pills filter-pills" aria-label="Active filters" role="list">
            {pills.map((p) => (
              <span className="pill" key={p.key} role="listitem">
                {p.label}
                <button type="button" onClick={p.remove} aria-label={`Remove the filter ${p.label}`}>
                  ×
                </button>
              </span>
            ))}
            <button type="button" className="text-button" onClick={clearAll} data-testid="clear-filters">
              Clear all
            </button>
          </div>
        )}
      </div>
    </section>
  );
}

type BulkAssignee = "keep" | "me" | "none" | "user";

function BulkBar({
  f,
  ids,
  allMatching,
  total,
  pageAllChecked,
  onSelectAll,
  onClear,
  onDone,
}: {
  f: ThreatFilters;
  ids: string[];
  allMatching: boolean;
  total: ThreatPage | null;
  pageAllChecked: boolean;
  onSelectAll: () => void;
  onClear: () => void;
  onDone: (text: string) => void;
}) {
  const { api, user } = useApp();
  const [status, setStatus] = useState<ThreatStatus | "">("");
  const [assignee, setAssignee] = useState<BulkAssignee>("keep");
  const [username, setUsername] = useState("");
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState(false);

  const setPart: { status?: ThreatStatus; assignee?: string | null } = {};
  if (status) setPart.status = status;
  if (assignee === "me") setPart.assignee = user.username;
  else if (assignee === "none") setPart.assignee = null;
  else if (assignee === "user" && username.trim()) setPart.assignee = username.trim();
  const ready = Object.keys(setPart).length > 0;
  const matchingText = total ? (total.total_is_exact ? formatCount(total.total) : `at least ${formatCount(total.total)}`) : "all";

  const apply = async () => {
    setBusy(true);
    setError(null);
    const body: Record<string, unknown> = allMatching ? { filter: bulkFilter(f) } : { ids };
    body.set = setPart;
    if (note.trim()) body.note = note.trim();
    try {
      const r = await api.request<{ matched: number; changed: number }>("POST", "/threats/bulk", { body });
      setConfirming(false);
      onClear();
      onDone(`Bulk change: ${formatCount(r.matched)} matched, ${formatCount(r.changed)} changed.`);
    } catch (e) {
      setConfirming(false);
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="bulk-bar" data-testid="bulk-bar" role="region" aria-label="Bulk triage">
      <div className="row">
        <strong>{allMatching ? `All ${matchingText} matching threats selected` : `${formatCount(ids.length)} selected`}</strong>
        {!allMatching && pageAllChecked && (total?.next_cursor || f.cursor) && (
          <button type="button" className="text-button" onClick={onSelectAll} data-testid="select-all-matching">
            Select all {matchingText} matching the filter
          </button>
        )}
        <button type="button" className="text-button" onClick={onClear}>
          Clear selection
        </button>
      </div>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!ready) return;
          if (allMatching) setConfirming(true);
          else void apply();
        }}
      >
        <label className="inline-label">
          Set status
          <select value={status} onChange={(e) => setStatus(e.target.value as ThreatStatus | "")} data-testid="bulk-status">
            <option value="">(unchanged)</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {titleCase(s)}
              </option>
            ))}
          </select>
        </label>
        <label className="inline-label">
          Assignee
          <select value={assignee} onChange={(e) => setAssignee(e.target.value as BulkAssignee)} data-testid="bulk-assignee">
            <option value="keep">(unchanged)</option>
            <option value="me">Me ({user.username})</option>
            <option value="none">Unassigned</option>
            <option value="user">A user…</option>
          </select>
        </label>
        {assignee === "user" && (
          <label className="inline-label">
            Username
            <input value={username} onChange={(e) => setUsername(e.target.value)} autoComplete="off" maxLength={128} />
          </label>
        )}
        <label className="inline-label">
          Note
          <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={4000} placeholder="optional" />
        </label>
        <button type="submit" className="primary" disabled={!ready || busy} data-testid="bulk-apply">
          {busy ? "Applying…" : "Apply"}
        </button>
      </form>
      {error !== null && <ErrorBox error={error} />}
      {confirming && (
        <ConfirmDialog title="Change every matching threat?" confirm={`Change ${matchingText} threats`} busy={busy} onConfirm={() => void apply()} onCancel={() => setConfirming(false)} testId="bulk-dialog">
          <p>
            This sets{" "}
            {[setPart.status ? `status to ${titleCase(setPart.status)}` : null, "assignee" in setPart ? (setPart.assignee ? `assignee to ${setPart.assignee}` : "no assignee") : null]
              .filter(Boolean)
              .join(" and ")}{" "}
            on {matchingText} threats matching the current filters, in one transaction.
          </p>
          <p className="muted mono">{JSON.stringify(bulkFilter(f))}</p>
        </ConfirmDialog>
      )}
    </div>
  );
}

const EXPORTS = [
  { format: "csv", label: "CSV", ext: "csv" },
  { format: "ndjson", label: "NDJSON", ext: "ndjson" },
  { format: "stix", label: "STIX", ext: "stix.json" },
] as const;

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function ExportButtons({ f }: { f: ThreatFilters }) {
  const { api } = useApp();
  const [state, setState] = useState<{ format: string; bytes: number; rows: number | null } | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const reader = useRef<ReadableStreamDefaultReader<Uint8Array> | null>(null);
  const cancelled = useRef(false);
  useEffect(() => () => void reader.current?.cancel().catch(() => undefined), []);

  const run = async (format: string, ext: string) => {
    setError(null);
    setDone(null);
    cancelled.current = false;
    setState({ format, bytes: 0, rows: null });
    try {
      const query: Query = { format, ...bulkFilter(f) } as Query;
      const res = await api.download("/threats/export", query);
      const headerRows = res.headers.get("X-Export-Count") ?? res.headers.get("X-Total-Count");
      const type = res.headers.get("Content-Type") ?? "application/octet-stream";
      const chunks: Uint8Array[] = [];
      let bytes = 0;
      let lines = 0;
      if (res.body) {
        const r = res.body.getReader();
        reader.current = r;
        let last = 0;
        for (;;) {
          const { done: end, value } = await r.read();
          if (end) break;
          chunks.push(value);
          bytes += value.length;
          for (let i = 0; i < value.length; i++) if (value[i] === 10) lines++;
          const now = performance.now();
          if (now - last > 200) {
            last = now;
            setState({ format, bytes, rows: format === "stix" ? null : format === "csv" ? Math.max(0, lines - 1) : lines });
          }
        }
      } else {
        const b = new Uint8Array(await res.arrayBuffer());
        chunks.push(b);
        bytes = b.length;
      }
      reader.current = null;
      if (cancelled.current) return;
      const blob = new Blob(chunks as BlobPart[], { type });
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `threats-${new Date().toISOString().slice(0, 10)}.${ext}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      const rows = headerRows ? Number(headerRows) : format === "stix" ? null : format === "csv" ? Math.max(0, lines - 1) : lines;
      setDone(`Exported ${rows !== null ? `${formatCount(rows)} threats, ` : ""}${formatBytes(bytes)} as ${format.toUpperCase()}.`);
    } catch (e) {
      // A cut connection mid-stream (the server failed) is a failed export: nothing is saved.
      if (!cancelled.current) setError(e instanceof ApiError ? e : new Error(`The export failed and was discarded: ${e instanceof Error ? e.message : String(e)}`));
    } finally {
      reader.current = null;
      setState(null);
    }
  };

  const cancel = () => {
    cancelled.current = true;
    void reader.current?.cancel().catch(() => undefined);
    setDone("Export cancelled.");
  };

  return (
    <div className="export-buttons">
      <div className="row" role="group" aria-label="Export the matching threats">
        <span className="muted">Export</span>
        {EXPORTS.map((x) => (
          <button key={x.format} type="button" onClick={() => void run(x.format, x.ext)} disabled={state !== null} data-testid={`export-${x.format}`}>
            {x.label}
          </button>
        ))}
        {state && (
          <>
            <span role="status" className="muted" data-testid="export-progress">
              Exporting {state.format.toUpperCase()}… {formatBytes(state.bytes)}
              {state.rows !== null ? `, ${formatCount(state.rows)} rows` : ""}
            </span>
            <button type="button" onClick={cancel}>
              Cancel
            </button>
          </>
        )}
        {!state && done && (
          <span role="status" className="muted" data-testid="export-done">
            {done}
          </span>
        )}
      </div>
      {error !== null && <ErrorBox error={error} />}
    </div>
  );
}
