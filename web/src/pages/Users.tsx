// The console's users (admin): add one, change a role, disable or enable, set a new password
// (a generated strong one is offered and shown once), delete. The API keeps at least one active
// admin (409 otherwise) and ends a user's sessions on a role change, disabling or a new password.
import { useEffect, useState, type FormEvent } from "react";
import { useApi, useApp } from "../app/context";
import { navigate, useLocation, useTitle } from "../app/router";
import { Empty, ErrorBox, Loading, RelativeTime } from "../components/ui";
import { Dialog } from "../components/Dialog";
import { CopyButton } from "../components/CopyButton";
import { ApiError } from "../lib/api";
import { formatCount } from "../lib/format";
import { ROLES, type Role, type User, type UserPage } from "../lib/types";

const PAGE_SIZES = [25, 50, 100] as const;
const ROLE_HELP: Record<Role, string> = {
  admin: "everything, users and sensors included",
  analyst: "reads and triages threats",
  viewer: "reads only",
};

// No look-alikes (0/O, 1/l/I): a password read aloud or typed from a screen survives.
const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_!@#%+=";

/** A random password (crypto.getRandomValues, no modulo bias): 20 characters ≈ 120 bits. */
export function generatePassword(length = 20): string {
  const out: string[] = [];
  const limit = 256 - (256 % ALPHABET.length);
  const buf = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      if (b < limit && out.length < length) out.push(ALPHABET[b % ALPHABET.length]);
    }
  }
  return out.join("");
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

export function passwordProblem(p: string): string | null {
  const n = utf8Length(p);
  if (n < 8) return "At least 8 characters.";
  if (n > 1024) return "At most 1,024 bytes.";
  return null;
}

export function Users() {
  useTitle("Users");
  const { api, user: me } = useApp();
  const { params } = useLocation();
  const page = Math.max(1, Number(params.get("page")) || 1);
  const sizeParam = Number(params.get("page_size"));
  const pageSize = (PAGE_SIZES as readonly number[]).includes(sizeParam) ? sizeParam : 50;
  const href = (p: number, s = pageSize) => {
    const q = new URLSearchParams();
    if (p > 1) q.set("page", String(p));
    if (s !== 50) q.set("page_size", String(s));
    const t = q.toString();
    return "/users" + (t ? "?" + t : "");
  };

  const { data, error, loading, reload } = useApi((signal) => api.get<UserPage>("/users", { page, page_size: pageSize }, signal), [api, page, pageSize]);
  const [actionError, setActionError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [dialog, setDialog] = useState<{ kind: "add" } | { kind: "password" | "delete"; user: User } | null>(null);
  // Optimistic copies of rows changed here, until the list is asked again.
  const [patched, setPatched] = useState<Record<string, User>>({});
  useEffect(() => setPatched({}), [data]);

  const patch = async (u: User, body: Partial<Pick<User, "role" | "is_active">>, done: string) => {
    setBusy(u.id);
    setActionError(null);
    setMessage(null);
    try {
      const next = await api.request<User>("PATCH", `/users/${u.id}`, { body });
      setPatched((p) => ({ ...p, [u.id]: next }));
      setMessage(done);
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(null);
    }
  };

  const users = (data?.users ?? []).map((u) => patched[u.id] ?? u);
  const total = data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / pageSize));

  return (
    <div className="page" data-testid="users-page">
      <div className="page-head">
        <h1>Users</h1>
        <button type="button" className="primary" onClick={() => setDialog({ kind: "add" })} data-testid="user-add">
          Add a user
        </button>
      </div>
      <p className="muted users-roles">
        Roles: <strong>admin</strong> — {ROLE_HELP.admin}; <strong>analyst</strong> — {ROLE_HELP.analyst}; <strong>viewer</strong> — {ROLE_HELP.viewer}. A role change,
        disabling or a new password ends that user's sessions.
      </p>
      {message && (
        <div className="notice-ok row" role="status" data-testid="users-message">
          <span>{message}</span>
          <button type="button" onClick={() => setMessage(null)}>
            Dismiss
          </button>
        </div>
      )}
      {actionError !== null && (
        <div className="row users-error">
          <ErrorBox error={actionError} />
          <button type="button" onClick={() => setActionError(null)}>
            Dismiss
          </button>
        </div>
      )}
      {error && <ErrorBox error={error} retry={reload} />}
      {!data && loading && <Loading label="Loading users" />}
      {data && users.length === 0 && <Empty>No users on this page.</Empty>}
      {data && users.length > 0 && (
        <div className="panel">
          <div className="table-wrap">
            <table data-testid="users-table">
              <thead>
                <tr>
                  <th scope="col">Username</th>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Active</th>
                  <th scope="col">Last login</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="offscreen">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => {
                  const self = u.id === me.id;
                  return (
                    <tr key={u.id} data-testid="user-row" data-username={u.username} className={u.is_active ? undefined : "user-disabled"}>
                      <th scope="row" className="user-name">
                        {u.username}
                        {self && <span className="muted"> (you)</span>}
                      </th>
                      <td>{u.full_name || <span className="muted">—</span>}</td>
                      <td>{u.email || <span className="muted">—</span>}</td>
                      <td>
                        <select
                          value={u.role}
                          aria-label={`Role of ${u.username}`}
                          data-testid="user-role-select"
                          disabled={busy === u.id}
                          onChange={(e) =>
                            void patch(u, { role: e.target.value as Role }, self ? `You are now ${e.target.value}; your sessions ended: log in again.` : `${u.username} is now ${e.target.value}; their sessions ended.`)
                          }
                        >
                          {ROLES.map((r) => (
                            <option key={r} value={r}>
                              {r}
                            </option>
                          ))}
                        </select>
                      </td>
                      <td>
                        <button
                          type="button"
                          className={`user-active ${u.is_active ? "is-on" : "is-off"}`}
                          aria-pressed={u.is_active}
                          title={u.is_active ? "Click to disable" : "Click to enable"}
                          aria-label={`${u.username} is ${u.is_active ? "active" : "disabled"}; ${u.is_active ? "disable" : "enable"}`}
                          data-testid="user-toggle-active"
                          disabled={busy === u.id}
                          onClick={() =>
                            void patch(u, { is_active: !u.is_active }, u.is_active ? `${u.username} is disabled; their sessions ended.` : `${u.username} is enabled again.`)
                          }
                        >
                          {u.is_active ? "Active" : "Disabled"}
                        </button>
                      </td>
                      <td>
                        <RelativeTime iso={u.last_login} />
                      </td>
                      <td>
                        <RelativeTime iso={u.created_at} />
                      </td>
                      <td>
                        <div className="user-actions">
                          <button type="button" data-testid="user-reset-password" onClick={() => setDialog({ kind: "password", user: u })} aria-label={`Reset the password of ${u.username}`}>
                            Reset password…
                          </button>
                          <button type="button" className="danger" data-testid="user-delete" onClick={() => setDialog({ kind: "delete", user: u })} aria-label={`Delete ${u.username}`}>
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
      {data && (
        <nav className="pager row" aria-label="Pages">
          <button type="button" disabled={page <= 1} onClick={() => navigate(href(page - 1))}>
            ← Previous
          </button>
          <span>
            Page {formatCount(page)} of {formatCount(pages)} · {formatCount(total)} {total === 1 ? "user" : "users"}
          </span>
          <button type="button" disabled={page >= pages} onClick={() => navigate(href(page + 1))}>
            Next →
          </button>
          <label className="inline-label">
            Per page
            <select value={pageSize} onChange={(e) => navigate(href(1, Number(e.target.value)))}>
              {PAGE_SIZES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        </nav>
      )}

      {dialog?.kind === "add" && (
        <AddUserDialog
          onClose={() => setDialog(null)}
          onAdded={(u) => {
            setMessage(`${u.username} was added as ${u.role}.`);
            reload();
          }}
        />
      )}
      {dialog?.kind === "password" && <PasswordDialog user={dialog.user} onClose={() => setDialog(null)} />}
      {dialog?.kind === "delete" && (
        <DeleteUserDialog
          user={dialog.user}
          onClose={() => setDialog(null)}
          onDeleted={() => {
            setDialog(null);
            setMessage(`${dialog.user.username} was deleted.`);
            reload();
          }}
        />
      )}
    </div>
  );
}

function PasswordField({ value, onChange, label, testId, autoComplete = "new-password" }: { value: string; onChange: (v: string) => void; label: string; testId?: string; autoComplete?: string }) {
  const [shown, setShown] = useState(false);
  return (
    <div className="password-field">
      <label>
        {label}
        <input type={shown ? "text" : "password"} value={value} onChange={(e) => onChange(e.target.value)} autoComplete={autoComplete} spellCheck={false} data-testid={testId} required />
      </label>
      <div className="row">
        <button type="button" onClick={() => setShown(!shown)} aria-pressed={shown}>
          {shown ? "Hide" : "Show"}
        </button>
        <button
          type="button"
          onClick={() => {
            onChange(generatePassword());
            setShown(true);
          }}
        >
          Generate a strong one
        </button>
        {shown && value && <CopyButton text={value} label="the password" />}
      </div>
    </div>
  );
}

function fieldMessage(error: unknown, field: string): string | null {
  if (!(error instanceof ApiError)) return null;
  const f = error.fields.find((x) => x.loc[x.loc.length - 1] === field);
  return f?.msg ?? null;
}

function AddUserDialog({ onClose, onAdded }: { onClose: () => void; onAdded: (u: User) => void }) {
  const { api } = useApp();
  const [form, setForm] = useState({ username: "", full_name: "", email: "", role: "viewer" as Role, password: "" });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ user: User; password: string } | null>(null);
  useEffect(() => setError(null), [form]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = !form.username.trim() ? "A username is needed." : passwordProblem(form.password);
    if (problem) {
      setError(new Error(problem));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const user = await api.request<User>("POST", "/users", {
        body: {
          username: form.username.trim(),
          full_name: form.full_name.trim() || undefined,
          email: form.email.trim() || undefined,
          role: form.role,
          password: form.password,
        },
      });
      setCreated({ user, password: form.password });
      onAdded(user);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (created) {
    return (
      <Dialog title={`${created.user.username} added`} onClose={onClose} testId="user-add-dialog">
        <p>
          <strong>{created.user.username}</strong> can log in now as <strong>{created.user.role}</strong>. Give them this password now: it is not shown again.
        </p>
        <div className="code-line">
          <code className="secret" data-testid="user-new-password">
            {created.password}
          </code>
          <CopyButton text={created.password} label="the password" />
        </div>
        <div className="row dialog-buttons">
          <button type="button" className="primary" onClick={onClose} data-autofocus>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  const err = (f: string) => {
    const m = fieldMessage(error, f);
    return m ? <span className="field-error">{m}</span> : null;
  };
  return (
    <Dialog title="Add a user" onClose={onClose} testId="user-add-dialog" wide>
      <form className="dialog-form" onSubmit={submit} noValidate>
        <label>
          Username
          <input value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} autoComplete="off" spellCheck={false} required data-testid="user-add-username" />
          {err("username")}
        </label>
        <div className="form-pair">
          <label>
            Full name (optional)
            <input value={form.full_name} onChange={(e) => setForm({ ...form, full_name: e.target.value })} autoComplete="off" />
          </label>
          <label>
            Email (optional)
            <input type="email" value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} autoComplete="off" />
            {err("email")}
          </label>
        </div>
        <label>
          Role
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value as Role })} data-testid="user-add-role">
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r} — {ROLE_HELP[r]}
              </option>
            ))}
          </select>
        </label>
        <PasswordField label="Password (8 characters or more)" value={form.password} onChange={(password) => setForm({ ...form, password })} testId="user-add-password" />
        {err("password")}
        {error !== null && <ErrorBox error={error} />}
        <div className="row dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="user-add-submit">
            {busy ? "Adding…" : "Add the user"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function PasswordDialog({ user, onClose }: { user: User; onClose: () => void }) {
  const { api } = useApp();
  const [password, setPassword] = useState(() => generatePassword());
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const problem = passwordProblem(password);
    if (problem) {
      setError(new Error(problem));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.request("POST", `/users/${user.id}/password`, { body: { password } });
      setDone(password);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (done) {
    return (
      <Dialog title={`New password for ${user.username}`} onClose={onClose} testId="user-password-dialog">
        <p role="status">
          The password of <strong>{user.username}</strong> is changed and their sessions ended. Give them this password now: it is not shown again.
        </p>
        <div className="code-line">
          <code className="secret" data-testid="user-new-password">
            {done}
          </code>
          <CopyButton text={done} label="the new password" />
        </div>
        <div className="row dialog-buttons">
          <button type="button" className="primary" onClick={onClose} data-autofocus>
            Done
          </button>
        </div>
      </Dialog>
    );
  }
  return (
    <Dialog title={`Reset the password of ${user.username}`} onClose={onClose} testId="user-password-dialog">
      <form className="dialog-form" onSubmit={submit} noValidate>
        <input type="text" name="username" autoComplete="username" value={user.username} readOnly hidden />
        <p className="muted">A strong password was generated; type another if you prefer. Their sessions end when it is set.</p>
        <PasswordField label="New password" value={password} onChange={setPassword} testId="user-password-input" />
        {error !== null && <ErrorBox error={error} />}
        <div className="row dialog-buttons">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy} data-testid="user-password-submit">
            {busy ? "Setting…" : "Set the password"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteUserDialog({ user, onClose, onDeleted }: { user: User; onClose: () => void; onDeleted: () => void }) {
  const { api } = useApp();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.request("DELETE", `/users/${user.id}`);
      onDeleted();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Delete ${user.username}?`} onClose={onClose} testId="user-delete-dialog">
      <p>
        <strong>{user.username}</strong> ({user.role}) will no longer be able to log in, and their sessions end. The audit log keeps their records. Disabling keeps the account
        for later instead.
      </p>
      {error !== null && <ErrorBox error={error} />}
      <div className="row dialog-buttons">
        <button type="button" onClick={onClose} data-autofocus>
          Cancel
        </button>
        <button type="button" className="danger" disabled={busy} onClick={remove} data-testid="user-delete-confirm">
          {busy ? "Deleting…" : "Delete the user"}
        </button>
      </div>
    </Dialog>
  );
}
