// The logged-in user's own page: who they are (GET /auth/me), their password (POST
// /auth/password, which ends every session of theirs, this one too), and the display
// preferences this browser keeps (UTC or local time, theme).
import { useEffect, useState, type FormEvent } from "react";
import { useApi, useApp } from "../app/context";
import { useTitle } from "../app/router";
import { ErrorBox, Loading, Panel, RelativeTime } from "../components/ui";
import { ApiError } from "../lib/api";
import { formatTime, localTime, onTimeZoneChange, setLocalTime } from "../lib/format";
import type { Role, User } from "../lib/types";

const ROLE_CAN: Record<Role, string> = {
  admin: "Everything: threats and triage, sensors (edit, onboard, delete), users and the audit log.",
  analyst: "Reads everything about threats and sensors, and triages threats (status, assignee, notes, bulk changes).",
  viewer: "Reads threats, sensors and analytics; changes nothing.",
};

function bytes(s: string) {
  return new TextEncoder().encode(s).length;
}

export function Account() {
  useTitle("Account");
  const { api, user } = useApp();
  const me = useApi((signal) => api.get<User>("/auth/me", undefined, signal), [api]);
  const u = me.data ?? user;

  return (
    <div className="page account" data-testid="account-page">
      <div className="page-head">
        <h1>Account</h1>
      </div>
      <div className="account-grid">
        <Panel title="Who you are" id="account-who">
          {me.error && <ErrorBox error={me.error} retry={me.reload} />}
          {!me.data && me.loading && <Loading />}
          <div className="detail" data-testid="account-me">
            <dl>
              <dt>Username</dt>
              <dd>
                <strong>{u.username}</strong>
              </dd>
              <dt>Name</dt>
              <dd>{u.full_name || <span className="muted">not set</span>}</dd>
              <dt>Email</dt>
              <dd>{u.email || <span className="muted">not set</span>}</dd>
              <dt>Role</dt>
              <dd>
                <strong>{u.role}</strong> — {ROLE_CAN[u.role]}
              </dd>
              <dt>Account</dt>
              <dd>{u.is_active ? "Active" : "Disabled"}</dd>
              <dt>Member since</dt>
              <dd>
                <RelativeTime iso={u.created_at} /> <span className="muted">({formatTime(u.created_at)})</span>
              </dd>
              <dt>Last login</dt>
              <dd>
                <RelativeTime iso={u.last_login} />
                {u.last_login && <span className="muted"> ({formatTime(u.last_login)})</span>}
              </dd>
            </dl>
            <p className="muted">Only an admin can change your name, email or role (Users page).</p>
          </div>
        </Panel>
        <Panel title="Change your password" id="account-password">
          <PasswordForm />
        </Panel>
        <Panel title="Display preferences" id="account-prefs">
          <Preferences />
        </Panel>
        <Panel title="Keyboard" id="account-keys">
          <dl className="keys">
            <dt>
              <kbd>g</kbd> then <kbd>o</kbd> <kbd>l</kbd> <kbd>m</kbd> <kbd>t</kbd> <kbd>e</kbd> <kbd>s</kbd>
            </dt>
            <dd>Overview, Live feed, Map, Threats, Alerts, Sensors{u.role === "admin" && <> (admins: <kbd>u</kbd> Users, <kbd>a</kbd> Audit log)</>}</dd>
            <dt>
              <kbd>/</kbd>
            </dt>
            <dd>Focus the page's filter</dd>
            <dt>
              <kbd>j</kbd> <kbd>k</kbd> or arrows
            </dt>
            <dd>Move in a list; <kbd>Enter</kbd> opens the row</dd>
            <dt>
              <kbd>Esc</kbd>
            </dt>
            <dd>Close a dialog or panel</dd>
          </dl>
        </Panel>
      </div>
    </div>
  );
}

function PasswordForm() {
  const { api, user } = useApp();
  const [form, setForm] = useState({ current: "", next: "", confirm: "" });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let problem: string | null = null;
    if (!form.current) problem = "Type your current password.";
    else if (bytes(form.next) < 8) problem = "The new password needs at least 8 characters.";
    else if (bytes(form.next) > 1024) problem = "The new password may have at most 1,024 bytes.";
    else if (form.next !== form.confirm) problem = "The two new passwords differ.";
    else if (form.next === form.current) problem = "The new password is the same as the current one.";
    if (problem) {
      setError(new Error(problem));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const answer = await api.request<{ message?: string }>("POST", "/auth/password", { body: { current_password: form.current, new_password: form.next } });
      setDone(answer?.message ? `${answer.message.replace(/[.\s]*$/, "")}.` : "Password changed. Every session of yours has ended, this one too: log in again.");
      setForm({ current: "", next: "", confirm: "" });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    return (
      <div className="account-done" data-testid="account-password-done">
        <p className="notice-ok" role="status">
          {done}
        </p>
        <button type="button" className="primary" onClick={() => void api.logout()}>
          Log in again
        </button>
      </div>
    );
  }
  return (
    <form className="dialog-form account-password" onSubmit={submit} noValidate data-testid="account-password-form">
      <input type="text" name="username" autoComplete="username" value={user.username} readOnly hidden />
      <label>
        Current password
        <input type="password" autoComplete="current-password" value={form.current} onChange={(e) => setForm({ ...form, current: e.target.value })} required data-testid="account-current" />
      </label>
      <label>
        New password (8 characters or more)
        <input type="password" autoComplete="new-password" value={form.next} onChange={(e) => setForm({ ...form, next: e.target.value })} required data-testid="account-new" />
      </label>
      <label>
        New password again
        <input type="password" autoComplete="new-password" value={form.confirm} onChange={(e) => setForm({ ...form, confirm: e.target.value })} required data-testid="account-confirm" />
      </label>
      {error !== null && (
        <div data-testid="account-password-error">
          <ErrorBox error={error instanceof ApiError && error.status === 400 ? new Error(`${error.message} (nothing was changed)`) : error} />
        </div>
      )}
      <p className="muted">Changing it ends every session of yours (other browsers and tabs too), this one included.</p>
      <div className="row">
        <button type="submit" className="primary" disabled={busy} data-testid="account-password-submit">
          {busy ? "Changing…" : "Change the password"}
        </button>
      </div>
    </form>
  );
}

function currentTheme(): "dark" | "light" {
  return document.documentElement.dataset.theme === "light" ? "light" : "dark";
}

function Preferences() {
  const [local, setLocal] = useState(localTime());
  useEffect(() => onTimeZoneChange(() => setLocal(localTime())), []);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "this computer's zone";
  const [theme, setTheme] = useState(currentTheme);
  useEffect(() => {
    // The theme is the shell's state: follow its switch in the top bar.
    const observer = new MutationObserver(() => setTheme(currentTheme()));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
    return () => observer.disconnect();
  }, []);
  const sample = new Date().toISOString();
  return (
    <div className="prefs">
      <fieldset>
        <legend>Times</legend>
        <label className="radio">
          <input type="radio" name="tz" checked={!local} onChange={() => setLocalTime(false)} />
          <span>UTC — the same for every analyst, whatever their zone ({formatTime(sample, false)})</span>
        </label>
        <label className="radio">
          <input type="radio" name="tz" checked={local} onChange={() => setLocalTime(true)} />
          <span>
            Local time, {zone} ({formatTime(sample, true)})
          </span>
        </label>
        <p className="muted">
          The “UTC” / “Local time” button in the top bar switches the same setting. Relative times (“5 min ago”) show the exact time on hover. Kept in this browser.
        </p>
      </fieldset>
      <fieldset>
        <legend>Theme</legend>
        <p>
          Now: <strong>{theme}</strong>. The “{theme === "dark" ? "Light theme" : "Dark theme"}” button in the top bar switches it; the first visit follows the system's
          setting. Kept in this browser. Both themes use the same five severity colours, always with their name.
        </p>
      </fieldset>
    </div>
  );
}
