// The audit log (admin): who did what, from where, to what — newest first, filtered by actor,
// action, target and time, paged by keyset ("Older" follows next_cursor). Every filter and the
// cursor are in the URL, so back/forward walk the pages and a link shows the same records.
import { Fragment, useEffect, useState, type FormEvent } from "react";
import { useApi, useApp, useNow } from "../app/context";
import { Link, navigate, useLocation, useTitle } from "../app/router";
import { Empty, ErrorBox, Loading } from "../components/ui";
import { formatRelative, formatTime, localTime } from "../lib/format";
import type { AuditEntry, AuditPage } from "../lib/types";

const PAGE_SIZES = [50, 100, 200, 500] as const;
const ACTIONS = [
  "auth.login",
  "auth.login_failed",
  "auth.logout",
  "auth.refresh_reuse",
  "threat.update",
  "threat.acknowledge",
  "threat.bulk_update",
  "threat.delete",
  "user.create",
  "user.update",
  "user.password",
  "user.delete",
  "sensor.create",
  "sensor.update",
  "sensor.revoke_key",
  "sensor.delete",
  "sensor.register",
  "onboarding.token_create",
];
const TARGET_TYPES = ["user", "sensor", "threat", "onboarding_token"];
const TEXT_KEYS = ["actor", "action", "target_type", "target_id"] as const;

interface AuditView {
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  start_time: string;
  end_time: string;
  cursor: string;
  page_size: number;
}

function parseView(p: URLSearchParams): AuditView {
  const size = Number(p.get("page_size"));
  const time = (k: string) => {
    const v = p.get(k) ?? "";
    return v && !Number.isNaN(Date.parse(v)) ? v : "";
  };
  return {
    actor: (p.get("actor") ?? "").slice(0, 200),
    action: (p.get("action") ?? "").slice(0, 200),
    target_type: (p.get("target_type") ?? "").slice(0, 200),
    target_id: (p.get("target_id") ?? "").slice(0, 200),
    start_time: time("start_time"),
    end_time: time("end_time"),
    cursor: /^[A-Za-z0-9_=.-]{1,512}$/.test(p.get("cursor") ?? "") ? (p.get("cursor") as string) : "",
    page_size: (PAGE_SIZES as readonly number[]).includes(size) ? size : 50,
  };
}

function viewHref(v: AuditView): string {
  const p = new URLSearchParams();
  for (const k of TEXT_KEYS) if (v[k]) p.set(k, v[k]);
  if (v.start_time) p.set("start_time", v.start_time);
  if (v.end_time) p.set("end_time", v.end_time);
  if (v.page_size !== 50) p.set("page_size", String(v.page_size));
  if (v.cursor) p.set("cursor", v.cursor);
  const t = p.toString();
  return "/audit" + (t ? "?" + t : "");
}

function pad(n: number) {
  return String(n).padStart(2, "0");
}

/** RFC 3339 → the value of a datetime-local input, in UTC or local time as the console shows. */
function toInput(iso: string, local: boolean): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return local
    ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
    : `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

function fromInput(value: string, local: boolean): string {
  if (!value) return "";
  const d = local ? new Date(value) : new Date(value + (value.length === 16 ? ":00Z" : "Z"));
  return Number.isNaN(d.getTime()) ? "" : d.toISOString().replace(".000Z", "Z");
}

function targetLink(e: AuditEntry): string | null {
  if (!e.target_id) return null;
  if (e.target_type === "threat") return `/threats?threat=${encodeURIComponent(e.target_id)}`;
  if (e.target_type === "sensor") return `/sensors/${encodeURIComponent(e.target_id)}`;
  return null;
}

function compact(details: unknown): string {
  if (details === null || details === undefined) return "";
  if (typeof details === "object" && Object.keys(details as object).length === 0) return "";
  const text = JSON.stringify(details);
  return text.length > 110 ? text.slice(0, 108) + "…" : text;
}

export function Audit() {
  useTitle("Audit log");
  const { api } = useApp();
  const { params } = useLocation();
  const view = parseView(params);
  const local = localTime();
  const go = (patch: Partial<AuditView>) => navigate(viewHref({ ...view, cursor: "", ...patch }));

  const { data, error, loading, reload } = useApi(
    (signal) =>
      api.get<AuditPage>(
        "/audit",
        {
          actor: view.actor || null,
          action: view.action || null,
          target_type: view.target_type || null,
          target_id: view.target_id || null,
          start_time: view.start_time || null,
          end_time: view.end_time || null,
          cursor: view.cursor || null,
          page_size: view.page_size,
        },
        signal,
      ),
    [api, view.actor, view.action, view.target_type, view.target_id, view.start_time, view.end_time, view.cursor, view.page_size],
  );

  // The text filters are edited here and applied with Enter / "Apply".
  const [draft, setDraft] = useState({ actor: view.actor, action: view.action, target_id: view.target_id, start: toInput(view.start_time, local), end: toInput(view.end_time, local) });
  useEffect(() => {
    setDraft({ actor: view.actor, action: view.action, target_id: view.target_id, start: toInput(view.start_time, local), end: toInput(view.end_time, local) });
  }, [view.actor, view.action, view.target_id, view.start_time, view.end_time, local]);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    go({ actor: draft.actor.trim(), action: draft.action.trim(), target_id: draft.target_id.trim(), start_time: fromInput(draft.start, local), end_time: fromInput(draft.end, local) });
  };
  const filtered = TEXT_KEYS.some((k) => view[k]) || view.start_time || view.end_time;

  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const now = useNow(30_000);
  const entries = data?.entries ?? [];

  return (
    <div className="page" data-testid="audit-page">
      <div className="page-head">
        <h1>Audit log</h1>
        <span className="muted">Every change and login, newest first. Times in {local ? "local time" : "UTC"}.</span>
      </div>

      <form className="filters audit-filters" role="search" aria-label="Audit filters" onSubmit={apply}>
        <label>
          Actor
          <input value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} placeholder="admin, cli:root, a sensor id" data-filter-focus spellCheck={false} />
        </label>
        <label>
          Action
          <input list="audit-actions" value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} placeholder="any" spellCheck={false} />
          <datalist id="audit-actions">
            {ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label>
          Target type
          <select value={view.target_type} onChange={(e) => go({ target_type: e.target.value })}>
            <option value="">Any</option>
            {TARGET_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
            {view.target_type && !TARGET_TYPES.includes(view.target_type) && <option value={view.target_type}>{view.target_type}</option>}
          </select>
        </label>
        <label>
          Target id
          <input value={draft.target_id} onChange={(e) => setDraft({ ...draft, target_id: e.target.value })} placeholder="any" spellCheck={false} />
        </label>
        <label>
          From ({local ? "local" : "UTC"})
          <input type="datetime-local" value={draft.start} onChange={(e) => setDraft({ ...draft, start: e.target.value })} />
        </label>
        <label>
          To ({local ? "local" : "UTC"})
          <input type="datetime-local" value={draft.end} onChange={(e) => setDraft({ ...draft, end: e.target.value })} />
        </label>
        <label>
          Per page
          <select value={view.page_size} onChange={(e) => go({ page_size: Number(e.target.value) })}>
            {PAGE_SIZES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <div className="row">
          <button type="submit" className="primary">
            Apply
          </button>
          {filtered && (
            <button type="button" onClick={() => navigate(viewHref({ ...parseView(new URLSearchParams()), page_size: view.page_size }))}>
              Clear filters
            </button>
          )}
        </div>
      </form>

      {error && <ErrorBox error={error} retry={reload} />}
      {!data && loading && <Loading label="Loading the audit log" />}
      {data && entries.length === 0 && <Empty>{view.cursor ? "No older records." : filtered ? "No record matches these filters." : "No records yet."}</Empty>}
      {data && entries.length > 0 && (
        <div className="panel">
          <div className="table-wrap">
            <table data-testid="audit-table" className="audit-table">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Role</th>
                  <th scope="col">Client address</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {entries.map((e) => {
                  const id = String(e.id);
                  const link = targetLink(e);
                  const details = compact(e.details);
                  const isOpen = open.has(id);
                  return (
                    <Fragment key={id}>
                      <tr data-testid="audit-row" data-action={e.action} className={e.action.endsWith("_failed") || e.action.endsWith("_reuse") ? "audit-alert" : undefined}>
                        <td className="audit-time">
                          <time dateTime={e.at} title={formatRelative(e.at, now)}>
                            <TimeParts text={formatTime(e.at)} />
                          </time>
                        </td>
                        <td>
                          <button type="button" className="linklike quiet" onClick={() => go({ actor: e.actor })} aria-label={`Only records by ${e.actor}`}>
                            {e.actor}
                          </button>
                        </td>
                        <td>
                          <span className={`audit-role role-${e.actor_role}`}>{e.actor_role}</span>
                        </td>
                        <td className="mono">{e.client_addr ?? <span className="muted">—</span>}</td>
                        <td>
                          <button type="button" className="linklike quiet mono" onClick={() => go({ action: e.action })} aria-label={`Only ${e.action} records`}>
                            {e.action}
                          </button>
                        </td>
                        <td className="audit-target">
                          {e.target_type ? (
                            <>
                              <span className="muted">{e.target_type}</span>{" "}
                              {e.target_id &&
                                (link ? (
                                  <Link to={link} className="mono" title={e.target_id}>
                                    {short(e.target_id)}
                                  </Link>
                                ) : (
                                  <button type="button" className="linklike mono" title={e.target_id} onClick={() => go({ target_type: e.target_type ?? "", target_id: e.target_id ?? "" })} aria-label={`Only records about ${e.target_type} ${e.target_id}`}>
                                    {short(e.target_id)}
                                  </button>
                                ))}
                            </>
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                        <td className="audit-details">
                          {details ? (
                            <button type="button" className="details-toggle" aria-expanded={isOpen} onClick={() => toggle(id)} aria-label={`${isOpen ? "Hide" : "Show"} the details of record ${id}`}>
                              <span aria-hidden="true">{isOpen ? "▾" : "▸"}</span> <code>{details}</code>
                            </button>
                          ) : (
                            <span className="muted">—</span>
                          )}
                        </td>
                      </tr>
                      {isOpen && (
                        <tr className="audit-expanded">
                          <td colSpan={7}>
                            <pre className="raw">{JSON.stringify(e.details, null, 2)}</pre>
                            <span className="muted">
                              Record {id}
                              {e.target_id && <> · target id {e.target_id}</>}
                            </span>
                          </td>
                        </tr>
                      )}
                    </Fragment>
                  );
                })}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {data && (
        <nav className="pager row" aria-label="Pages">
          <button type="button" disabled={!view.cursor} onClick={() => go({ cursor: "" })}>
            ⇤ Newest
          </button>
          <button type="button" disabled={!data.next_cursor} onClick={() => navigate(viewHref({ ...view, cursor: data.next_cursor ?? "" }))} data-testid="audit-older">
            Older →
          </button>
          <span className="muted">
            {entries.length} {entries.length === 1 ? "record" : "records"} on this page
            {!data.next_cursor && entries.length > 0 && " · the oldest matching record is shown"}
          </span>
        </nav>
      )}
    </div>
  );
}

function short(id: string): string {
  return /^[0-9a-f]{8}-[0-9a-f-]{27}$/i.test(id) ? id.slice(0, 8) + "…" : id;
}

/** "2026-12-03 14:05:09 UTC" with its one break point between the date and the time. */
function TimeParts({ text }: { text: string }) {
  const i = text.indexOf(" ");
  if (i < 0) return <>{text}</>;
  return (
    <>
      {text.slice(0, i)} <span className="nowrap">{text.slice(i + 1)}</span>
    </>
  );
}
