// Alerts (every role): the alerts the rules fired, newest first, filtered by status and paged by
// keyset ("Older" follows next_cursor), with the state in the URL; new ones arrive live from the
// feed and are put on top. Analysts and admins acknowledge (the button, or `a` on a row). Admins
// also get the rules, the destinations and the outbox, in tabs loaded only when opened.
import { lazy, Suspense, useEffect, useState } from "react";
import { useApi, useApp, useCan, useLive } from "../app/context";
import { Link, navigate, useLocation, useTitle } from "../app/router";
import { Empty, ErrorBox, Loading, RelativeTime, SeverityBadge, StatusBadge } from "../components/ui";
import { rowKeys } from "../components/rowKeys";
import { ALERT_STATUSES, alertViewHref, isSeverity, parseAlertView, prependLive, type AlertTab, type AlertView } from "../lib/alerts";
import { formatCount, formatTime, titleCase } from "../lib/format";
import type { Alert, AlertPage } from "../lib/types";

const AlertAdmin = lazy(() => import("./AlertAdmin").then((m) => ({ default: m.AlertAdmin })));

const TAB_LABELS: Record<AlertTab, string> = { alerts: "Fired alerts", rules: "Rules", destinations: "Destinations", outbox: "Outbox" };

export function Alerts() {
  useTitle("Alerts");
  const { params } = useLocation();
  const view = parseAlertView(params);
  const isAdmin = useCan("admin");
  const tab = isAdmin ? view.tab : "alerts";
  return (
    <div className="page" data-testid="alerts-page">
      <div className="page-head">
        <h1>Alerts</h1>
        <span className="muted">What the alerting rules fired; admins set the rules and where alerts go.</span>
      </div>
      {isAdmin && (
        <nav className="tabs" aria-label="Alerting sections" data-testid="alerts-tabs">
          {(Object.keys(TAB_LABELS) as AlertTab[]).map((t) => (
            <Link key={t} to={alertViewHref({ tab: t, status: "", delivery: "", cursor: "" })} className={`tab${tab === t ? " active" : ""}`} aria-current={tab === t ? "page" : undefined} data-testid={`alerts-tab-${t}`}>
              {TAB_LABELS[t]}
            </Link>
          ))}
        </nav>
      )}
      {tab === "alerts" ? (
        <FiredAlerts view={view} />
      ) : (
        <Suspense fallback={<Loading />}>
          <AlertAdmin tab={tab} view={view} />
        </Suspense>
      )}
    </div>
  );
}

function FiredAlerts({ view }: { view: AlertView }) {
  const { api, alerts: badge } = useApp();
  const canAck = useCan("analyst");
  const go = (patch: Partial<AlertView>) => navigate(alertViewHref({ ...view, cursor: "", ...patch }));
  const { data, error, loading, reload } = useApi(
    (signal) => api.get<AlertPage>("/alerts", { status: view.status || null, cursor: view.cursor || null, page_size: 50 }, signal),
    [api, view.status, view.cursor],
  );
  const [rows, setRows] = useState<readonly Alert[] | null>(null);
  const [fresh, setFresh] = useState<ReadonlySet<string>>(new Set());
  useEffect(() => {
    if (!data) return;
    setRows(data.alerts);
    setFresh(new Set());
    badge.observe(data.alerts);
  }, [data, badge]);

  useLive((m) => {
    if (m.type !== "alert") return;
    setRows((rs) => (rs ? prependLive(rs, m.data, view) : rs));
    setFresh((f) => new Set(f).add(m.data.id));
  });

  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const acknowledge = async (a: Alert) => {
    if (a.status !== "firing" || busy) return;
    setBusy(a.id);
    setActionError(null);
    try {
      const next = await api.request<Alert>("POST", `/alerts/${a.id}/acknowledge`);
      setRows((rs) => (rs ? rs.map((r) => (r.id === next.id ? next : r)) : rs));
      badge.acknowledged(next.id);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(null);
    }
  };

  const list = rows ?? [];
  return (
    <>
      <div className="filters" role="search" aria-label="Alert filters">
        <label>
          Status
          <select value={view.status} onChange={(e) => go({ status: e.target.value as AlertView["status"] })} data-filter-focus data-testid="alerts-status">
            <option value="">Any</option>
            {ALERT_STATUSES.map((s) => (
              <option key={s} value={s}>
                {titleCase(s)}
              </option>
            ))}
          </select>
        </label>
        <span className="muted">{canAck ? "Select a row and press a to acknowledge; Enter opens the threat that fired it." : "Enter on a row opens the threat that fired it."}</span>
      </div>
      {actionError !== null && <ErrorBox error={actionError} />}
      {error && <ErrorBox error={error} retry={reload} />}
      {!rows && loading && <Loading label="Loading alerts" />}
      {rows && list.length === 0 && (
        <Empty>{view.cursor ? "No older alerts." : view.status ? `No ${view.status} alerts. New ones appear here as they fire.` : "No alerts have fired yet. New ones appear here as they fire."}</Empty>
      )}
      {rows && list.length > 0 && (
        <div className="panel">
          <div className="table-wrap">
            <table className="feed alerts-table" data-testid="alerts-table">
              <thead>
                <tr>
                  <th scope="col">Fired</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Sensor</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Threat</th>
                  <th scope="col" className="num">
                    Threats
                  </th>
                  <th scope="col">Status</th>
                  {canAck && (
                    <th scope="col">
                      <span className="offscreen">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {list.map((a) => {
                  const s = a.summary ?? {};
                  const threatHref = s.threat_id ? `/threats?threat=${encodeURIComponent(s.threat_id)}` : null;
                  return (
                    <tr
                      key={a.id}
                      tabIndex={0}
                      className={fresh.has(a.id) ? "fresh" : undefined}
                      data-testid="alert-row"
                      data-alert-id={a.id}
                      data-status={a.status}
                      aria-label={`${a.rule_name}, ${s.severity ?? ""} ${titleCase(s.threat_type ?? "")}, ${a.status}, fired ${formatTime(a.fired_at)}`}
                      onKeyDown={(e) => {
                        if (e.target === e.currentTarget && e.key === "a" && canAck && !e.ctrlKey && !e.metaKey && !e.altKey) {
                          e.preventDefault();
                          void acknowledge(a);
                          return;
                        }
                        rowKeys(e, () => threatHref && navigate(threatHref));
                      }}
                    >
                      <td>
                        <RelativeTime iso={a.fired_at} />
                      </td>
                      <td className="alert-rule">{a.rule_name}</td>
                      <td>
                        {a.sensor_id ? (
                          <Link to={`/sensors/${encodeURIComponent(a.sensor_id)}`} className="mono" tabIndex={-1}>
                            {a.sensor_id}
                          </Link>
                        ) : (
                          <span className="muted">fleet</span>
                        )}
                      </td>
                      <td>{isSeverity(s.severity) ? <SeverityBadge severity={s.severity} /> : <span className="muted">—</span>}</td>
                      <td>
                        {threatHref ? (
                          <Link to={threatHref} tabIndex={-1}>
                            {titleCase(s.threat_type ?? "threat")}
                          </Link>
                        ) : (
                          titleCase(s.threat_type ?? "—")
                        )}
                        {s.device_name && <span className="muted"> · {s.device_name}</span>}
                      </td>
                      <td className="num">{formatCount(a.count)}</td>
                      <td>
                        <StatusBadge status={a.status} />
                        {a.acknowledged_by && (
                          <span className="muted" title={a.acknowledged_at ? formatTime(a.acknowledged_at) : undefined}>
                            {" "}
                            by {a.acknowledged_by}
                          </span>
                        )}
                      </td>
                      {canAck && (
                        <td>
                          {a.status === "firing" && (
                            <button type="button" data-testid="alert-ack" disabled={busy === a.id} onClick={() => void acknowledge(a)} aria-label={`Acknowledge the alert of ${a.rule_name} fired ${formatTime(a.fired_at)}`}>
                              {busy === a.id ? "Acknowledging…" : "Acknowledge"}
                            </button>
                          )}
                        </td>
                      )}
                    </tr>
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
          <button type="button" disabled={!data.next_cursor} onClick={() => navigate(alertViewHref({ ...view, cursor: data.next_cursor ?? "" }))} data-testid="alerts-older">
            Older →
          </button>
          <span className="muted">
            {list.length} {list.length === 1 ? "alert" : "alerts"} shown{view.cursor ? "" : ", new ones added live"}
          </span>
        </nav>
      )}
    </>
  );
}
