// Alerting for admins (the alerts page's other tabs): the rules (add, edit, delete, enable), the
// destinations (a form per kind; secrets are write-only, so only "set" is shown; "Send test"
// shows the destination's answer) and the outbox of deliveries with its status filter and paging.
// Field errors from the API's 422 are shown next to their fields.
import { useEffect, useId, useState, type FormEvent, type ReactNode } from "react";
import { useApi, useApp } from "../app/context";
import { navigate } from "../app/router";
import { Empty, ErrorBox, Loading, RelativeTime, StatusBadge } from "../components/ui";
import { Dialog } from "../components/Dialog";
import {
  DELIVERY_STATUSES,
  EMPTY_DESTINATION_FORM,
  EMPTY_RULE_FORM,
  alertViewHref,
  apiFieldErrors,
  describeRule,
  destinationBody,
  ruleBody,
  ruleForm,
  type AlertView,
  type DestinationForm,
  type FieldErrors,
  type RuleForm,
} from "../lib/alerts";
import { titleCase } from "../lib/format";
import { SEVERITIES, type AlertDestination, type AlertRule, type DeliveryPage, type DestinationKind, type DestinationTest } from "../lib/types";

export function AlertAdmin({ tab, view }: { tab: "rules" | "destinations" | "outbox"; view: AlertView }) {
  if (tab === "rules") return <Rules />;
  if (tab === "destinations") return <Destinations />;
  return <Outbox view={view} />;
}

function useDestinations() {
  const { api } = useApp();
  return useApi((signal) => api.get<{ destinations: AlertDestination[] }>("/alerts/destinations", undefined, signal), [api]);
}

/** A field's message: the form's own check first, then the API's 422 for the same path. */
function FieldError({ id, errors, path }: { id: string; errors: FieldErrors; path: string }) {
  const msg = errors[path];
  return msg ? (
    <span className="field-error" id={id} role="alert">
      {msg}
    </span>
  ) : null;
}

/** The error under a form: when the API's field errors are shown next to their fields, a pointer
 *  to them instead of the same messages again. */
function FormError({ error, errors }: { error: unknown; errors: FieldErrors }) {
  if (error === null) return null;
  const shown = Object.keys(errors).length > 0;
  return <ErrorBox error={shown ? new Error("The server refused some fields: see the messages next to them.") : error} />;
}

function Notice({ text, onDismiss }: { text: string | null; onDismiss: () => void }) {
  if (!text) return null;
  return (
    <div className="notice-ok row" role="status" data-testid="alerts-admin-message">
      <span>{text}</span>
      <button type="button" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}

// --- Rules

function Rules() {
  const { api } = useApp();
  const { data, error, loading, reload } = useApi((signal) => api.get<{ rules: AlertRule[] }>("/alerts/rules", undefined, signal), [api]);
  const dests = useDestinations();
  const [dialog, setDialog] = useState<{ kind: "edit"; rule: AlertRule | null } | { kind: "delete"; rule: AlertRule } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [patched, setPatched] = useState<Record<string, AlertRule>>({});
  useEffect(() => setPatched({}), [data]);
  const names = new Map((dests.data?.destinations ?? []).map((d) => [d.id, d.name]));
  const rules = (data?.rules ?? []).map((r) => patched[r.id] ?? r);

  const toggle = async (r: AlertRule) => {
    setActionError(null);
    try {
      const next = await api.request<AlertRule>("PATCH", `/alerts/rules/${r.id}`, { body: { enabled: !r.enabled } });
      setPatched((p) => ({ ...p, [r.id]: next }));
      setMessage(`${next.name} is ${next.enabled ? "enabled" : "disabled"}.`);
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <section className="alerts-admin" aria-label="Rules" data-testid="rules-section">
      <div className="row alerts-admin-head">
        <p className="muted">
          A rule fires when threats match it: each one, or a number within a window (per sensor or across the fleet); then it stays quiet for its cooldown. Changes apply at once.
        </p>
        <button type="button" className="primary" onClick={() => setDialog({ kind: "edit", rule: null })} data-testid="rule-add">
          Add a rule
        </button>
      </div>
      <Notice text={message} onDismiss={() => setMessage(null)} />
      {actionError !== null && <ErrorBox error={actionError} />}
      {error && <ErrorBox error={error} retry={reload} />}
      {!data && loading && <Loading label="Loading rules" />}
      {data && rules.length === 0 && <Empty>No rules yet: nothing fires alerts.</Empty>}
      {data && rules.length > 0 && (
        <div className="panel">
          <div className="table-wrap">
            <table data-testid="rules-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Enabled</th>
                  <th scope="col">Fires on</th>
                  <th scope="col">Destinations</th>
                  <th scope="col">Changed</th>
                  <th scope="col">
                    <span className="offscreen">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {rules.map((r) => (
                  <tr key={r.id} data-testid="rule-row" data-rule-id={r.id}>
                    <th scope="row">{r.name}</th>
                    <td>
                      <button
                        type="button"
                        className={`user-active ${r.enabled ? "is-on" : "is-off"}`}
                        aria-pressed={r.enabled}
                        aria-label={`${r.name} is ${r.enabled ? "enabled" : "disabled"}; ${r.enabled ? "disable" : "enable"}`}
                        onClick={() => void toggle(r)}
                        data-testid="rule-toggle"
                      >
                        {r.enabled ? "Enabled" : "Disabled"}
                      </button>
                    </td>
                    <td className="wrap">{describeRule(r)}</td>
                    <td className="wrap">
                      {r.destination_ids.length ? r.destination_ids.map((id) => names.get(id) ?? id.slice(0, 8) + "…").join(", ") : <span className="muted">none (listed here only)</span>}
                    </td>
                    <td>
                      <RelativeTime iso={r.updated_at} />
                    </td>
                    <td>
                      <div className="user-actions">
                        <button type="button" onClick={() => setDialog({ kind: "edit", rule: r })} aria-label={`Edit ${r.name}`} data-testid="rule-edit">
                          Edit
                        </button>
                        <button type="button" className="danger" onClick={() => setDialog({ kind: "delete", rule: r })} aria-label={`Delete ${r.name}`} data-testid="rule-delete">
                          Delete…
                        </button>
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {dialog?.kind === "edit" && (
        <RuleDialog
          rule={dialog.rule}
          destinations={dests.data?.destinations ?? []}
          onClose={() => setDialog(null)}
          onSaved={(r) => {
            setDialog(null);
            setMessage(dialog.rule ? `${r.name} was saved.` : `${r.name} was added.`);
            reload();
          }}
        />
      )}
      {dialog?.kind === "delete" && (
        <ConfirmDelete
          title={`Delete the rule ${dialog.rule.name}?`}
          text="It stops firing at once. The alerts it fired stay listed."
          path={`/alerts/rules/${dialog.rule.id}`}
          onClose={() => setDialog(null)}
          onDeleted={() => {
            setDialog(null);
            setMessage(`${dialog.rule.name} was deleted.`);
            reload();
          }}
        />
      )}
    </section>
  );
}

function RuleDialog({ rule, destinations, onClose, onSaved }: { rule: AlertRule | null; destinations: AlertDestination[]; onClose: () => void; onSaved: (r: AlertRule) => void }) {
  const { api } = useApp();
  const uid = useId();
  const [form, setForm] = useState<RuleForm>(() => (rule ? ruleForm(rule) : EMPTY_RULE_FORM));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof RuleForm>(k: K, v: RuleForm[K]) => setForm((f) => ({ ...f, [k]: v }));
  const text = (k: keyof RuleForm) => (e: { target: { value: string } }) => set(k, e.target.value as never);
  const ids = (path: string) => (errors[path] ? { "aria-invalid": true, "aria-describedby": `${uid}-${path}` } : {});

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const built = ruleBody(form);
    if ("errors" in built) {
      setErrors(built.errors);
      setError(null);
      return;
    }
    setBusy(true);
    setErrors({});
    setError(null);
    try {
      const saved = rule
        ? await api.request<AlertRule>("PATCH", `/alerts/rules/${rule.id}`, { body: built.body })
        : await api.request<AlertRule>("POST", "/alerts/rules", { body: built.body });
      onSaved(saved);
    } catch (err) {
      setErrors(apiFieldErrors(err));
      setError(err);
      setBusy(false);
    }
  };
  const fe = (path: string) => <FieldError id={`${uid}-${path}`} errors={errors} path={path} />;

  return (
    <Dialog title={rule ? `Edit ${rule.name}` : "Add a rule"} onClose={onClose} testId="rule-dialog" wide>
      <form className="dialog-form" onSubmit={submit} noValidate>
        <div className="form-pair">
          <label>
            Name
            <input value={form.name} onChange={text("name")} maxLength={128} required data-testid="rule-name" {...ids("name")} />
            {fe("name")}
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={form.enabled} onChange={(e) => set("enabled", e.target.checked)} />
            <span>Enabled</span>
          </label>
        </div>
        <fieldset>
          <legend>Which threats (all given must hold; none: every threat)</legend>
          <div className="form-pair">
            <label>
              Minimum severity
              <select value={form.min_severity} onChange={text("min_severity")} {...ids("match.min_severity")}>
                <option value="">Any</option>
                {SEVERITIES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                    {s !== "critical" ? " or graver" : ""}
                  </option>
                ))}
              </select>
              {fe("match.min_severity")}
            </label>
            <label>
              Minimum score (0 to 1)
              <input inputMode="decimal" placeholder="0.8" value={form.min_score} onChange={text("min_score")} {...ids("match.min_score")} />
              {fe("match.min_score")}
            </label>
          </div>
          <div className="form-pair">
            <label>
              Detectors (comma separated)
              <input value={form.detector_types} onChange={text("detector_types")} placeholder="ble, usb" spellCheck={false} {...ids("match.detector_types")} />
              {fe("match.detector_types")}
            </label>
            <label>
              Threat types
              <input value={form.threat_types} onChange={text("threat_types")} placeholder="rubber_ducky, flipper_zero" spellCheck={false} {...ids("match.threat_types")} />
              {fe("match.threat_types")}
            </label>
          </div>
          <label>
            Sensors
            <input value={form.sensor_ids} onChange={text("sensor_ids")} placeholder="any sensor" spellCheck={false} data-testid="rule-sensors" {...ids("match.sensor_ids")} />
            {fe("match.sensor_ids")}
          </label>
        </fieldset>
        <fieldset>
          <legend>When</legend>
          <label className="checkbox">
            <input type="checkbox" checked={form.use_threshold} onChange={(e) => set("use_threshold", e.target.checked)} data-testid="rule-threshold" />
            <span>Only after several matching threats within a window (else: every matching threat)</span>
          </label>
          {form.use_threshold && (
            <div className="form-triple">
              <label>
                Threats
                <input inputMode="numeric" value={form.count} onChange={text("count")} {...ids("threshold.count")} />
                {fe("threshold.count")}
              </label>
              <label>
                Within (seconds)
                <input inputMode="numeric" value={form.window_seconds} onChange={text("window_seconds")} {...ids("threshold.window_seconds")} />
                {fe("threshold.window_seconds")}
              </label>
              <label>
                Counted per
                <select value={form.per} onChange={text("per")}>
                  <option value="sensor">sensor</option>
                  <option value="fleet">fleet</option>
                </select>
                {fe("threshold.per")}
              </label>
            </div>
          )}
          {fe("threshold")}
          <label>
            Cooldown after firing (seconds, 0: none)
            <input inputMode="numeric" value={form.cooldown_seconds} onChange={text("cooldown_seconds")} {...ids("cooldown_seconds")} />
            {fe("cooldown_seconds")}
          </label>
        </fieldset>
        <fieldset>
          <legend>Send to</legend>
          {destinations.length === 0 && <p className="muted">No destinations yet: the alerts are listed here only.</p>}
          <div className="checks">
            {destinations.map((d) => (
              <label key={d.id} className="checkbox">
                <input
                  type="checkbox"
                  checked={form.destination_ids.includes(d.id)}
                  onChange={(e) => set("destination_ids", e.target.checked ? [...form.destination_ids, d.id] : form.destination_ids.filter((x) => x !== d.id))}
                />
                <span>
                  {d.name} <span className="muted">({d.kind})</span>
                </span>
              </label>
            ))}
          </div>
          {fe("destination_ids")}
        </fieldset>
        <FormError error={error} errors={errors} />
        <div className="row dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="rule-submit">
            {busy ? "Saving…" : rule ? "Save" : "Add the rule"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ConfirmDelete({ title, text, path, onClose, onDeleted }: { title: string; text: ReactNode; path: string; onClose: () => void; onDeleted: () => void }) {
  const { api } = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.request("DELETE", path);
      onDeleted();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title={title} onClose={onClose} testId="alerts-delete-dialog">
      <p>{text}</p>
      {error !== null && <ErrorBox error={error} />}
      <div className="row dialog-buttons">
        <button type="button" onClick={onClose} data-autofocus>
          Cancel
        </button>
        <button type="button" className="danger" disabled={busy} onClick={() => void remove()} data-testid="alerts-delete-confirm">
          {busy ? "Deleting…" : "Delete"}
        </button>
      </div>
    </Dialog>
  );
}

// --- Destinations

const KIND_LABELS: Record<DestinationKind, string> = { webhook: "Webhook (signed POST)", slack: "Slack incoming webhook", pagerduty: "PagerDuty Events v2", syslog: "Syslog (SIEM)" };

function destinationTarget(d: AlertDestination): string {
  if (d.kind === "syslog") return `${d.transport ?? "udp"}://${d.host ?? "?"}:${d.port ?? 514} · ${(d.format ?? "cef").toUpperCase()}`;
  return d.url ?? "";
}

function Destinations() {
  const { api } = useApp();
  const { data, error, loading, reload } = useDestinations();
  const [dialog, setDialog] = useState<{ kind: "edit"; dest: AlertDestination | null } | { kind: "delete"; dest: AlertDestination } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [tests, setTests] = useState<Record<string, DestinationTest | "busy" | { failed: unknown }>>({});
  const list = data?.destinations ?? [];

  const sendTest = async (d: AlertDestination) => {
    setTests((t) => ({ ...t, [d.id]: "busy" }));
    try {
      const result = await api.request<DestinationTest>("POST", `/alerts/destinations/${d.id}/test`);
      setTests((t) => ({ ...t, [d.id]: result }));
    } catch (err) {
      setTests((t) => ({ ...t, [d.id]: { failed: err } }));
    }
  };

  return (
    <section className="alerts-admin" aria-label="Destinations" data-testid="destinations-section">
      <div className="row alerts-admin-head">
        <p className="muted">Where fired alerts are delivered, at least once, retried with backoff. Secrets are write-only: a set one is never shown again.</p>
        <button type="button" className="primary" onClick={() => setDialog({ kind: "edit", dest: null })} data-testid="destination-add">
          Add a destination
        </button>
      </div>
      <Notice text={message} onDismiss={() => setMessage(null)} />
      {error && <ErrorBox error={error} retry={reload} />}
      {!data && loading && <Loading label="Loading destinations" />}
      {data && list.length === 0 && <Empty>No destinations yet: alerts are listed here only.</Empty>}
      {data && list.length > 0 && (
        <div className="panel">
          <div className="table-wrap">
            <table data-testid="destinations-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Target</th>
                  <th scope="col">Secret</th>
                  <th scope="col">Test</th>
                  <th scope="col">
                    <span className="offscreen">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((d) => {
                  const t = tests[d.id];
                  return (
                    <tr key={d.id} data-testid="destination-row" data-destination-id={d.id}>
                      <th scope="row">{d.name}</th>
                      <td>{d.kind}</td>
                      <td className="mono wrap">{destinationTarget(d)}</td>
                      <td>{d.has_secret ? "set" : <span className="muted">—</span>}</td>
                      <td className="wrap" aria-live="polite">
                        <button type="button" onClick={() => void sendTest(d)} disabled={t === "busy"} aria-label={`Send a test to ${d.name}`} data-testid="destination-test">
                          {t === "busy" ? "Sending…" : "Send test"}
                        </button>{" "}
                        {t && t !== "busy" && "failed" in t && <span className="bad">{t.failed instanceof Error ? t.failed.message : String(t.failed)}</span>}
                        {t && t !== "busy" && "ok" in t && (
                          <span className={t.ok ? "good" : "bad"} data-testid="destination-test-result">
                            {t.ok ? "OK" : "Failed"} · status {t.status === 0 ? "no answer" : t.status}
                            {t.error && <> · {t.error}</>}
                          </span>
                        )}
                      </td>
                      <td>
                        <div className="user-actions">
                          <button type="button" onClick={() => setDialog({ kind: "edit", dest: d })} aria-label={`Edit ${d.name}`}>
                            Edit
                          </button>
                          <button type="button" className="danger" onClick={() => setDialog({ kind: "delete", dest: d })} aria-label={`Delete ${d.name}`}>
                            Delete…
                          </button>
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {dialog?.kind === "edit" && (
        <DestinationDialog
          dest={dialog.dest}
          onClose={() => setDialog(null)}
          onSaved={(d) => {
            setDialog(null);
            setMessage(dialog.dest ? `${d.name} was saved.` : `${d.name} was added.`);
            reload();
          }}
        />
      )}
      {dialog?.kind === "delete" && (
        <ConfirmDelete
          title={`Delete the destination ${dialog.dest.name}?`}
          text="Its pending deliveries end as failed (“the destination was deleted”), and rules stop sending to it."
          path={`/alerts/destinations/${dialog.dest.id}`}
          onClose={() => setDialog(null)}
          onDeleted={() => {
            setDialog(null);
            setMessage(`${dialog.dest.name} was deleted.`);
            reload();
          }}
        />
      )}
    </section>
  );
}

function DestinationDialog({ dest, onClose, onSaved }: { dest: AlertDestination | null; onClose: () => void; onSaved: (d: AlertDestination) => void }) {
  const { api } = useApp();
  const uid = useId();
  const [form, setForm] = useState<DestinationForm>(() =>
    dest
      ? {
          ...EMPTY_DESTINATION_FORM,
          name: dest.name,
          kind: dest.kind,
          url: dest.kind === "pagerduty" && dest.url === "https://events.pagerduty.com/v2/enqueue" ? "" : (dest.url ?? ""),
          host: dest.host ?? "",
          port: String(dest.port ?? 514),
          transport: dest.transport ?? "udp",
          format: dest.format ?? "cef",
          ca_file: dest.ca_file ?? "",
        }
      : EMPTY_DESTINATION_FORM,
  );
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const text = (k: keyof DestinationForm) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const ids = (path: string) => (errors[path] ? { "aria-invalid": true, "aria-describedby": `${uid}-${path}` } : {});
  const fe = (path: string) => <FieldError id={`${uid}-${path}`} errors={errors} path={path} />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const built = destinationBody(form, dest !== null);
    if ("errors" in built) {
      setErrors(built.errors);
      setError(null);
      return;
    }
    setBusy(true);
    setErrors({});
    setError(null);
    try {
      const saved = dest
        ? await api.request<AlertDestination>("PATCH", `/alerts/destinations/${dest.id}`, { body: built.body })
        : await api.request<AlertDestination>("POST", "/alerts/destinations", { body: built.body });
      onSaved(saved);
    } catch (err) {
      setErrors(apiFieldErrors(err));
      setError(err);
      setBusy(false);
    }
  };
  const secretKept = dest?.has_secret ? " (set; blank keeps it)" : "";

  return (
    <Dialog title={dest ? `Edit ${dest.name}` : "Add a destination"} onClose={onClose} testId="destination-dialog" wide>
      <form className="dialog-form" onSubmit={submit} noValidate>
        <div className="form-pair">
          <label>
            Name
            <input value={form.name} onChange={text("name")} maxLength={128} required data-testid="destination-name" {...ids("name")} />
            {fe("name")}
          </label>
          <label>
            Kind
            <select value={form.kind} onChange={text("kind")} disabled={dest !== null} data-testid="destination-kind" {...ids("kind")}>
              {(Object.keys(KIND_LABELS) as DestinationKind[]).map((k) => (
                <option key={k} value={k}>
                  {KIND_LABELS[k]}
                </option>
              ))}
            </select>
            {fe("kind")}
          </label>
        </div>
        {(form.kind === "webhook" || form.kind === "slack") && (
          <label>
            {form.kind === "slack" ? "Incoming-webhook URL" : "URL"}
            <input type="url" value={form.url} onChange={text("url")} placeholder="https://soc.example.org/hooks/honeyman" spellCheck={false} data-testid="destination-url" {...ids("url")} />
            {fe("url")}
          </label>
        )}
        {form.kind === "webhook" && (
          <label>
            Signing secret (optional){secretKept}
            <input type="password" value={form.secret} onChange={text("secret")} autoComplete="new-password" spellCheck={false} {...ids("secret")} />
            {fe("secret")}
          </label>
        )}
        {form.kind === "pagerduty" && (
          <>
            <label>
              Routing key{secretKept}
              <input type="password" value={form.secret} onChange={text("secret")} autoComplete="new-password" spellCheck={false} {...ids("routing_key")} />
              {fe("routing_key")}
            </label>
            <label>
              Events API URL (blank: PagerDuty's)
              <input type="url" value={form.url} onChange={text("url")} placeholder="https://events.pagerduty.com/v2/enqueue" spellCheck={false} {...ids("url")} />
              {fe("url")}
            </label>
          </>
        )}
        {form.kind === "syslog" && (
          <>
            <div className="form-pair">
              <label>
                Host
                <input value={form.host} onChange={text("host")} placeholder="siem.example.org" spellCheck={false} {...ids("host")} />
                {fe("host")}
              </label>
              <label>
                Port
                <input inputMode="numeric" value={form.port} onChange={text("port")} {...ids("port")} />
                {fe("port")}
              </label>
            </div>
            <div className="form-pair">
              <label>
                Transport
                <select value={form.transport} onChange={text("transport")}>
                  <option value="udp">UDP</option>
                  <option value="tcp">TCP</option>
                  <option value="tls">TLS</option>
                </select>
                {fe("transport")}
              </label>
              <label>
                Format
                <select value={form.format} onChange={text("format")}>
                  <option value="cef">CEF</option>
                  <option value="leef">LEEF 2.0</option>
                  <option value="json">JSON</option>
                </select>
                {fe("format")}
              </label>
            </div>
            {form.transport === "tls" && (
              <label>
                CA file on the server (optional; default: the system's trust store)
                <input value={form.ca_file} onChange={text("ca_file")} placeholder="/etc/honeyman/siem-ca.pem" spellCheck={false} {...ids("ca_file")} />
                {fe("ca_file")}
              </label>
            )}
          </>
        )}
        <FormError error={error} errors={errors} />
        <div className="row dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="destination-submit">
            {busy ? "Saving…" : dest ? "Save" : "Add the destination"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// --- Outbox

function Outbox({ view }: { view: AlertView }) {
  const { api } = useApp();
  const dests = useDestinations();
  const names = new Map((dests.data?.destinations ?? []).map((d) => [d.id, d.name]));
  const go = (patch: Partial<AlertView>) => navigate(alertViewHref({ ...view, tab: "outbox", cursor: "", ...patch }));
  const { data, error, loading, reload } = useApi(
    (signal) => api.get<DeliveryPage>("/alerts/deliveries", { status: view.delivery || null, cursor: view.cursor || null, page_size: 50 }, signal),
    [api, view.delivery, view.cursor],
  );
  // Deliveries change without a live message: read again while the tab is visible.
  useEffect(() => {
    const t = setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, 15_000);
    return () => clearInterval(t);
  }, [reload]);
  const list = data?.deliveries ?? [];
  return (
    <section className="alerts-admin" aria-label="Outbox" data-testid="outbox-section">
      <div className="filters" role="search" aria-label="Outbox filters">
        <label>
          Status
          <select value={view.delivery} onChange={(e) => go({ delivery: e.target.value as AlertView["delivery"] })} data-filter-focus>
            <option value="">Any</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s} value={s}>
                {titleCase(s)}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">One delivery per alert and destination; pending ones are retried with backoff. Read again every 15 s.</span>
      </div>
      {error && <ErrorBox error={error} retry={reload} />}
      {!data && loading && <Loading label="Loading deliveries" />}
      {data && list.length === 0 && <Empty>{view.cursor ? "No older deliveries." : "No deliveries."}</Empty>}
      {data && list.length > 0 && (
        <div className="panel">
          <div className="table-wrap">
            <table data-testid="deliveries-table">
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">Destination</th>
                  <th scope="col">Alert</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Attempts
                  </th>
                  <th scope="col">Next attempt / delivered</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody>
                {list.map((d) => (
                  <tr key={d.id} data-testid="delivery-row">
                    <td>
                      <RelativeTime iso={d.created_at} />
                    </td>
                    <td>{names.get(d.destination_id) ?? <span className="mono">{d.destination_id.slice(0, 8)}…</span>}</td>
                    <td className="mono" title={d.alert_id}>
                      {d.alert_id.slice(0, 8)}…
                    </td>
                    <td>
                      <StatusBadge status={d.status} />
                    </td>
                    <td className="num">{d.attempts}</td>
                    <td>{d.status === "delivered" ? <RelativeTime iso={d.delivered_at} /> : d.status === "pending" ? <RelativeTime iso={d.next_attempt_at} /> : <span className="muted">—</span>}</td>
                    <td className="wrap">{d.last_error ?? <span className="muted">—</span>}</td>
                  </tr>
                ))}
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
          <button type="button" disabled={!data.next_cursor} onClick={() => navigate(alertViewHref({ ...view, tab: "outbox", cursor: data.next_cursor ?? "" }))}>
            Older →
          </button>
        </nav>
      )}
    </section>
  );
}
