// The login page: the API's own messages (wrong password, inactive user, rate limited), and
// back to the page the user was on when the session ended.
import { useState, type FormEvent } from "react";
import type { ApiClient } from "../lib/api";
import { ErrorBox } from "../components/ui";
import { useTitle } from "../app/router";

export function Login({ api, notice, onLoggedIn }: { api: ApiClient; notice: string | null; onLoggedIn: () => void }) {
  useTitle("Log in");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.login(username.trim(), password);
      onLoggedIn();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <div className="login-screen">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <div className="brand">
          <img src="/favicon.svg" alt="" width="32" height="32" />
          <h1 id="login-title">Honeyman</h1>
        </div>
        <p className="muted">Threat sensor console</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error !== null && <ErrorBox error={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </div>
  );
}
