// A sensor's commands (admin): send a command with optional JSON arguments or a rule update over
// MQTT, and the history with each command's answer from the agent. MQTT off or the broker
// unreachable is a 503 whose detail is shown as the API gives it; the command is then in the
// history as failed with the reason.
import { useState, type FormEvent } from "react";
import { useApi, useApp } from "../app/context";
import { ApiError } from "../lib/api";
import { COMMAND_NAME, apiFieldErrors, parseArgs, type FieldErrors } from "../lib/alerts";
import type { SensorCommand } from "../lib/types";
import { Empty, ErrorBox, Loading, Panel, RelativeTime, StatusBadge } from "./ui";
import { formatTime } from "../lib/format";

export function SensorCommands({ sensorId }: { sensorId: string }) {
  const { api } = useApp();
  const path = `/sensors/${encodeURIComponent(sensorId)}`;
  const history = useApi((signal) => api.get<{ commands: SensorCommand[] }>(`${path}/commands`, { limit: 20 }, signal), [api, path]);
  const [mode, setMode] = useState<"command" | "rules">("command");
  const [command, setCommand] = useState("");
  const [args, setArgs] = useState("");
  const [version, setVersion] = useState("");
  const [url, setUrl] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSent(null);
    setError(null);
    const problems: FieldErrors = {};
    let body: Record<string, unknown>;
    if (mode === "command") {
      if (!COMMAND_NAME.test(command.trim())) problems.command = "Letters, digits and _ . : - (at most 64)";
      const parsed = parseArgs(args);
      if ("error" in parsed) problems.args = parsed.error;
      body = { command: command.trim(), ...("args" in parsed && parsed.args ? { args: parsed.args } : {}) };
    } else {
      if (!version.trim() && !url.trim()) problems.rules_version = "Give a rules version, a URL, or both";
      body = { ...(version.trim() ? { rules_version: version.trim() } : {}), ...(url.trim() ? { url: url.trim() } : {}) };
    }
    setErrors(problems);
    if (Object.keys(problems).length) return;
    setBusy(true);
    try {
      const answer = await api.request<{ id: string; status: string }>("POST", mode === "command" ? `${path}/commands` : `${path}/rules/update`, { body });
      setSent(`${mode === "command" ? `“${command.trim()}”` : "The rule update"} was sent (id ${answer.id.slice(0, 8)}…); the agent's answer shows below.`);
      history.reload();
    } catch (err) {
      setErrors(apiFieldErrors(err));
      setError(err);
      // A refused send (503) is recorded as failed: the history shows it with the reason.
      if (err instanceof ApiError && err.status === 503) history.reload();
    } finally {
      setBusy(false);
    }
  };

  const fe = (k: string) =>
    errors[k] ? (
      <span className="field-error" id={`cmd-${k}-error`}>
        {errors[k]}
      </span>
    ) : null;
  const ids = (k: string) => (errors[k] ? { "aria-invalid": true, "aria-describedby": `cmd-${k}-error` } : {});
  const commands = history.data?.commands ?? [];
  const unavailable = history.error instanceof ApiError && history.error.status === 503;

  return (
    <Panel title="Commands" id="sensor-commands" actions={<span className="muted">sent over MQTT; the agent answers on its status topic</span>}>
      <div className="commands">
        <div className="toggle-group" role="group" aria-label="What to send">
          <button type="button" className={`toggle ${mode === "command" ? "on" : ""}`} aria-pressed={mode === "command"} onClick={() => setMode("command")}>
            Send command
          </button>
          <button type="button" className={`toggle ${mode === "rules" ? "on" : ""}`} aria-pressed={mode === "rules"} onClick={() => setMode("rules")} data-testid="command-mode-rules">
            Update rules
          </button>
        </div>
        <form className="commands-form" onSubmit={submit} noValidate data-testid="command-form">
          {mode === "command" ? (
            <>
              <label>
                Command
                <input value={command} onChange={(e) => setCommand(e.target.value)} placeholder="restart_detector" spellCheck={false} maxLength={64} data-testid="command-name" {...ids("command")} />
                {fe("command")}
              </label>
              <label>
                Arguments (JSON object, optional)
                <textarea rows={2} value={args} onChange={(e) => setArgs(e.target.value)} placeholder='{"detector": "ble"}' spellCheck={false} data-testid="command-args" {...ids("args")} />
                {fe("args")}
              </label>
            </>
          ) : (
            <>
              <label>
                Rules version
                <input value={version} onChange={(e) => setVersion(e.target.value)} placeholder="2026.12.1" spellCheck={false} maxLength={64} {...ids("rules_version")} />
                {fe("rules_version")}
              </label>
              <label>
                URL (optional)
                <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://rules.example.org/2026.12.1.tar.gz" spellCheck={false} {...ids("url")} />
                {fe("url")}
              </label>
            </>
          )}
          <button type="submit" className="primary" disabled={busy} data-testid="command-submit">
            {busy ? "Sending…" : mode === "command" ? "Send" : "Send the update"}
          </button>
        </form>
        {sent && (
          <div className="notice-ok" role="status" data-testid="command-sent">
            {sent}
          </div>
        )}
        {error !== null && (
          <div data-testid="command-error">
            <ErrorBox error={error} />
          </div>
        )}
        {history.error && !unavailable && <ErrorBox error={history.error} retry={history.reload} />}
        {unavailable && <p className="muted">The history is not available: {history.error?.message}.</p>}
        {!history.data && history.loading && <Loading label="Loading the command history" />}
        {history.data && commands.length === 0 && <Empty>No commands sent to this sensor yet.</Empty>}
        {commands.length > 0 && (
          <div className="table-wrap">
            <table className="feed" data-testid="command-history">
              <thead>
                <tr>
                  <th scope="col">Issued</th>
                  <th scope="col">Command</th>
                  <th scope="col">Arguments</th>
                  <th scope="col">By</th>
                  <th scope="col">Status</th>
                  <th scope="col">Answer</th>
                </tr>
              </thead>
              <tbody>
                {commands.map((c) => (
                  <tr key={c.id} data-testid="command-row" data-status={c.status}>
                    <td>
                      <RelativeTime iso={c.issued_at} />
                    </td>
                    <td className="mono">{c.kind === "rule_update" ? "rule update" : c.command}</td>
                    <td className="mono wrap">{Object.keys(c.args ?? {}).length ? JSON.stringify(c.args) : <span className="muted">—</span>}</td>
                    <td>{c.issued_by}</td>
                    <td>
                      <StatusBadge status={c.status} />
                    </td>
                    <td className="wrap" title={c.updated_at ? formatTime(c.updated_at) : undefined}>
                      {c.message ?? <span className="muted">—</span>}
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
