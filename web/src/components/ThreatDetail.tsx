// The threat detail panel beside the threats table: every field of one threat (exact times, the
// sensor, the device, the hosts, MITRE, the location), its matched rules, the raw event as the
// sensor sent it, and its triage history, oldest first. Analysts and admins also get the triage
// actions (acknowledge with notes, status, assignee, delete); a viewer sees none of them.
import { useEffect, useRef, useState, type ReactNode } from "react";
import { ApiError } from "../lib/api";
import { detectorLabel, formatNumber, formatTime, titleCase } from "../lib/format";
import { STATUSES, type HistoryEntry, type Threat, type ThreatStatus, type UserPage } from "../lib/types";
import { useApi, useApp, useCan } from "../app/context";
import { Link } from "../app/router";
import { ErrorBox, Loading, RelativeTime, SeverityBadge, StatusBadge } from "./ui";

export interface ThreatDetailProps {
  id: string;
  /** Bumped by the page when the threat changed elsewhere (live update, the `a` key): reloads. */
  version: number;
  /** The link that opens this threat (copied by "Copy link"). */
  link: string;
  onClose: () => void;
  /** The threat as the API answered after a change made here (or on each load). */
  onChanged: (threat: Threat) => void;
  onDeleted: (id: string) => void;
}

/** "host:port", "[v6]:port", "host", or null when neither is known. */
export function hostPort(host: string | null, port: number | null): string | null {
  if (!host && port === null) return null;
  const h = host ?? "?";
  if (port === null) return h;
  return `${h.includes(":") ? `[${h}]` : h}:${port}`;
}

export function ruleText(rule: unknown): { name: string; rest: string | null } {
  if (typeof rule === "string") return { name: rule, rest: null };
  if (rule && typeof rule === "object") {
    const { name, ...rest } = rule as Record<string, unknown>;
    const more = Object.keys(rest).length ? JSON.stringify(rest) : null;
    return { name: typeof name === "string" ? name : JSON.stringify(rule), rest: typeof name === "string" ? more : null };
  }
  return { name: JSON.stringify(rule), rest: null };
}

/** A history value: statuses read as the badge does ("False positive"), other text as is. */
function show(field: string, value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "string") return field === "status" ? titleCase(value) : value;
  return JSON.stringify(value);
}

/** A modal confirmation on the native <dialog> (focus trapped, Esc cancels). */
export function ConfirmDialog({
  title,
  children,
  confirm,
  danger,
  busy,
  onConfirm,
  onCancel,
  testId,
}: {
  title: string;
  children: ReactNode;
  confirm: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby="confirm-title"
      data-testid={testId}
      onCancel={(e) => {
        e.preventDefault();
        onCancel();
      }}
    >
      <h2 id="confirm-title">{title}</h2>
      <div>{children}</div>
      <div className="row dialog-buttons">
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="button" className={danger ? "danger" : "primary"} onClick={onConfirm} disabled={busy} data-testid={testId ? `${testId}-confirm` : undefined}>
          {busy ? "Working…" : confirm}
        </button>
      </div>
    </dialog>
  );
}

export function ThreatDetail({ id, version, link, onClose, onChanged, onDeleted }: ThreatDetailProps) {
  const { api } = useApp();
  const loaded = useApi((signal) => api.get<Threat>(`/threats/${id}`, undefined, signal), [id, version]);
  const history = useApi((signal) => api.get<HistoryEntry[]>(`/threats/${id}/history`, undefined, signal), [id, version]);
  const [patched, setPatched] = useState<Threat | null>(null);
  useEffect(() => setPatched(null), [loaded.data]);
  const threat = patched && patched.id === id ? patched : loaded.data && loaded.data.id === id ? loaded.data : null;
  const onChangedRef = useRef(onChanged);
  onChangedRef.current = onChanged;
  useEffect(() => {
    if (loaded.data && loaded.data.id === id) onChangedRef.current(loaded.data);
  }, [loaded.data, id]);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const changed = (t: Threat) => {
    setPatched(t);
    onChanged(t);
    history.reload();
  };

  return (
    <section className="panel detail threat-detail" data-testid="threat-detail" data-threat-id={id} aria-labelledby="threat-detail-title">
      <header className="panel-head">
        <h2 id="threat-detail-title" ref={headingRef} tabIndex={-1}>
          {threat ? (
            <>
              <SeverityBadge severity={threat.severity} /> <span className="mono">{threat.threat_type}</span>
            </>
          ) : (
            "Threat"
          )}
        </h2>
        <div className="panel-actions">
          <CopyLink link={link} />
          <button type="button" onClick={onClose} aria-label="Close the detail (Esc)" title="Close (Esc)">
            Close
          </button>
        </div>
      </header>
      <div className="panel-body detail-body">
        {loaded.error && !threat ? (
          <ErrorBox error={loaded.error} retry={loaded.reload} />
        ) : !threat ? (
          <Loading label="Loading the threat" />
        ) : (
          <>
            <Actions threat={threat} onChanged={changed} onDeleted={onDeleted} />
            <Fields threat={threat} />
            <h3>Matched rules</h3>
            {threat.matched_rules.length ? (
              <ul className="rules">
                {threat.matched_rules.map((r, i) => {
                  const { name, rest } = ruleText(r);
                  return (
                    <li key={i}>
                      {name}
                      {rest && <span className="muted mono"> {rest}</span>}
                    </li>
                  );
                })}
              </ul>
            ) : (
              <p className="muted">None</p>
            )}
            <h3>Raw event</h3>
            <pre className="raw" tabIndex={0} aria-label="Raw event as JSON">
              {JSON.stringify(threat.raw_event, null, 2)}
            </pre>
            <h3>History</h3>
            <History history={history.data} error={history.error} retry={history.reload} />
          </>
        )}
      </div>
    </section>
  );
}

function CopyLink({ link }: { link: string }) {
  const [state, setState] = useState<"idle" | "copied" | "manual">("idle");
  const full = typeof window !== "undefined" ? window.location.origin + link : link;
  useEffect(() => setState("idle"), [link]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(full);
      setState("copied");
      setTimeout(() => setState((s) => (s === "copied" ? "idle" : s)), 2000);
    } catch {
      setState("manual"); // no clipboard (plain http on another host): show the link to copy
    }
  };
  return (
    <>
      <button type="button" onClick={() => void copy()} aria-live="polite">
        {state === "copied" ? "Link copied" : "Copy link"}
      </button>
      {state === "manual" && (
        <input className="copy-link-input" readOnly value={full} aria-label="Link to this threat" autoFocus onFocus={(e) => e.currentTarget.select()} />
      )}
    </>
  );
}

function Fields({ threat: t }: { threat: Threat }) {
  const rows: [string, ReactNode][] = [
    ["ID", <span className="mono">{t.id}</span>],
    [
      "Time",
      <>
        {formatTime(t.timestamp)} <span className="muted">(<RelativeTime iso={t.timestamp} />)</span>
      </>,
    ],
    ["Received", formatTime(t.created_at)],
    ["Updated", t.updated_at && t.updated_at !== t.created_at ? formatTime(t.updated_at) : <span className="muted">not changed</span>],
    [
      "Sensor",
      <Link to={`/sensors/${encodeURIComponent(t.sensor_id)}`} className="mono">
        {t.sensor_id}
      </Link>,
    ],
    ["Detector", detectorLabel(t.detector_type)],
    ["Type", <span className="mono">{t.threat_type}</span>],
    ["Severity", <SeverityBadge severity={t.severity} />],
    ["Score", t.threat_score === null ? "—" : <span className="num-inline">{t.threat_score.toFixed(3)}</span>],
    ["Confidence", t.confidence === null ? "—" : <span className="num-inline">{formatNumber(t.confidence, 3)}</span>],
    ["Status", <StatusBadge status={t.status} />],
    ["Assignee", t.assignee ?? <span className="muted">unassigned</span>],
    [
      "Acknowledged",
      t.acknowledged_at ? (
        <>
          {formatTime(t.acknowledged_at)} by {t.acknowledged_by ?? "?"}
        </>
      ) : (
        <span className="muted">no</span>
      ),
    ],
    ["Notes", t.acknowledgement_notes ? <span className="pre-wrap">{t.acknowledgement_notes}</span> : <span className="muted">—</span>],
    ["Device name", t.device_name ?? "—"],
    ["Device MAC", t.device_mac ? <span className="mono">{t.device_mac}</span> : "—"],
    ["Device IP", t.device_ip ? <span className="mono">{t.device_ip}</span> : "—"],
    ["Source", <span className="mono">{hostPort(t.src_host, t.src_port) ?? "—"}</span>],
    ["Destination", <span className="mono">{hostPort(t.dst_host, t.dst_port) ?? "—"}</span>],
    ["MITRE tactics", t.mitre_tactics.length ? <Chips items={t.mitre_tactics} /> : "—"],
    ["MITRE techniques", t.mitre_techniques.length ? <Chips items={t.mitre_techniques} mono /> : "—"],
    ["Location", [t.city, t.country].filter(Boolean).join(", ") || <span className="muted">no city or country</span>],
    [
      "Coordinates",
      t.latitude !== null && t.longitude !== null ? (
        <span className="mono">
          {t.latitude.toFixed(4)}, {t.longitude.toFixed(4)}
        </span>
      ) : (
        "—"
      ),
    ],
  ];
  return (
    <dl className="threat-fields">
      {rows.map(([k, v]) => (
        <div key={k} className="dl-row">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function Chips({ items, mono }: { items: string[]; mono?: boolean }) {
  return (
    <span className="chips">
      {items.map((x) => (
        <span key={x} className={`chip ${mono ? "mono" : ""}`}>
          {x}
        </span>
      ))}
    </span>
  );
}

function History({ history, error, retry }: { history: HistoryEntry[] | null; error: Error | null; retry: () => void }) {
  if (error && !history) return <ErrorBox error={error} retry={retry} />;
  if (!history) return <Loading label="Loading the history" />;
  return (
    <ol className="history" data-testid="history">
      {history.length === 0 && <li className="muted">No triage yet.</li>}
      {history.map((h, i) => (
        <li key={i} className="history-entry">
          <div>
            <time dateTime={h.at}>{formatTime(h.at)}</time> · <strong>{h.actor}</strong>
          </div>
          {Object.entries(h.changes).map(([field, [before, after]]) => (
            <div key={field}>
              {titleCase(field)}: <span className="muted">{show(field, before)}</span> → {show(field, after)}
            </div>
          ))}
          {Object.keys(h.changes).length === 0 && !h.note && <div className="muted">no change</div>}
          {h.note && <div className="history-note">“{h.note}”</div>}
        </li>
      ))}
    </ol>
  );
}

function Actions({ threat, onChanged, onDeleted }: { threat: Threat; onChanged: (t: Threat) => void; onDeleted: (id: string) => void }) {
  const { api, user } = useApp();
  const canTriage = useCan("analyst");
  const isAdmin = useCan("admin");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [ackOpen, setAckOpen] = useState(false);
  const [ackNotes, setAckNotes] = useState("");
  const [note, setNote] = useState("");
  const [assignTo, setAssignTo] = useState("");
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const users = useApi((signal) => (isAdmin ? api.get<UserPage>("/users", { page_size: 100 }, signal) : Promise.resolve(null)), [isAdmin]);

  useEffect(() => {
    setAckOpen(false);
    setAckNotes("");
    setNote("");
    setAssignTo("");
    setError(null);
    setDone(null);
  }, [threat.id]);

  if (!canTriage) return null;

  const run = async (label: string, fn: () => Promise<Threat>) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const t = await fn();
      onChanged(t);
      setDone(label);
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };

  const acknowledge = async () => {
    const ok = await run("Acknowledged", () => api.request<Threat>("PUT", `/threats/${threat.id}/acknowledge`, { body: ackNotes.trim() ? { notes: ackNotes.trim() } : {} }));
    if (ok) {
      setAckOpen(false);
      setAckNotes("");
    }
  };

  const patch = async (label: string, body: { status?: ThreatStatus; assignee?: string | null }) => {
    const ok = await run(label, () => api.request<Threat>("PATCH", `/threats/${threat.id}`, { body: note.trim() ? { ...body, note: note.trim() } : body }));
    if (ok) setNote("");
    return ok;
  };

  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.request("DELETE", `/threats/${threat.id}`);
      setConfirmDelete(false);
      onDeleted(threat.id);
    } catch (e) {
      setConfirmDelete(false);
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const otherUsers = users.data?.users.filter((u) => u.is_active) ?? [];

  return (
    <div className="threat-actions" aria-label="Triage">
      <div className="row">
        <button type="button" className={threat.status === "new" ? "primary" : ""} onClick={() => setAckOpen(!ackOpen)} aria-expanded={ackOpen} data-testid="ack-button" disabled={busy}>
          {threat.status === "new" ? "Acknowledge…" : "Acknowledge again…"}
        </button>
        <label className="inline-label">
          Status
          <select
            value={threat.status}
            disabled={busy}
            data-testid="status-select"
            onChange={(e) => void patch(`Status set to ${titleCase(e.target.value)}`, { status: e.target.value as ThreatStatus })}
          >
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {titleCase(s)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {ackOpen && (
        <form
          className="ack-form"
          onSubmit={(e) => {
            e.preventDefault();
            void acknowledge();
          }}
        >
          <label>
            Acknowledgement notes (optional, kept in the history)
            <textarea value={ackNotes} onChange={(e) => setAckNotes(e.target.value)} rows={3} data-testid="ack-notes" autoFocus maxLength={4000} />
          </label>
          <div className="row">
            <button type="submit" className="primary" disabled={busy} data-testid="ack-submit">
              Acknowledge
            </button>
            <button type="button" onClick={() => setAckOpen(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      <label>
        Note for the next status or assignee change (optional)
        <input value={note} onChange={(e) => setNote(e.target.value)} maxLength={4000} data-testid="triage-note" />
      </label>
      <div className="row assign-row">
        <span className="muted">Assignee: {threat.assignee ?? "unassigned"}</span>
        {threat.assignee !== user.username && (
          <button type="button" onClick={() => void patch("Assigned to you", { assignee: user.username })} disabled={busy} data-testid="assign-me">
            Assign to me
          </button>
        )}
        {threat.assignee !== null && (
          <button type="button" onClick={() => void patch("Unassigned", { assignee: null })} disabled={busy} data-testid="unassign">
            Unassign
          </button>
        )}
      </div>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          const who = assignTo.trim();
          if (who) void patch(`Assigned to ${who}`, { assignee: who }).then((ok) => ok && setAssignTo(""));
        }}
      >
        {isAdmin && otherUsers.length ? (
          <label className="inline-label">
            Assign to
            <select value={assignTo} onChange={(e) => setAssignTo(e.target.value)} data-testid="assignee-select">
              <option value="">Choose a user…</option>
              {otherUsers.map((u) => (
                <option key={u.id} value={u.username}>
                  {u.username} ({u.role})
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label className="inline-label">
            Assign to
            <input value={assignTo} onChange={(e) => setAssignTo(e.target.value)} placeholder="username" autoComplete="off" maxLength={128} data-testid="assignee-input" />
          </label>
        )}
        <button type="submit" disabled={busy || !assignTo.trim()}>
          Assign
        </button>
      </form>
      {error !== null && <ErrorBox error={error} />}
      {done && (
        <p className="muted action-done" role="status">
          {done}.
        </p>
      )}
      <div className="row delete-row">
        <button type="button" className="danger" onClick={() => setConfirmDelete(true)} disabled={busy} data-testid="delete-button">
          Delete threat…
        </button>
      </div>
      {confirmDelete && (
        <ConfirmDialog title="Delete this threat?" confirm="Delete" danger busy={busy} onConfirm={() => void remove()} onCancel={() => setConfirmDelete(false)} testId="delete-dialog">
          <p>
            The threat <span className="mono">{threat.id}</span> ({threat.threat_type} on {threat.sensor_id}) and its history are deleted. The audit log keeps a record. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

/** The API's words for a failed action (ApiError keeps the server's `detail`). */
export function actionMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
