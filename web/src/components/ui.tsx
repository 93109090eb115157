// The console's shared building blocks: severity badges (colour + text, graver first), times
// with the exact value on hover, error boxes with the API's own words and a retry, panels.
import type { ReactNode } from "react";
import { ApiError } from "../lib/api";
import { formatRelative, formatTime, titleCase } from "../lib/format";
import { useNow } from "../app/context";

export function SeverityBadge({ severity }: { severity: string }) {
  return (
    <span className={`sev sev-${severity}`}>
      <span className="sev-dot" aria-hidden="true" />
      {severity}
    </span>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`status status-${status}`}>{titleCase(status)}</span>;
}

/** "5 min ago", the exact time (UTC or local, as chosen) on hover and for screen readers. */
export function RelativeTime({ iso }: { iso: string | null | undefined }) {
  const now = useNow(10_000);
  if (!iso) return <span className="muted">never</span>;
  return (
    <time dateTime={iso} title={formatTime(iso)}>
      {formatRelative(iso, now)}
    </time>
  );
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  let text = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiError) {
    if (error.status === 403) text = `${text} — your role cannot do this; ask an admin.`;
    if (error.status === 429) text = `${text}${error.retryAfter ? ` (try again in ${error.retryAfter} s)` : ""}`;
    if (error.status === 0 || error.status >= 500) text = `The server could not answer: ${text}`;
  }
  return (
    <div className="error-box" role="alert">
      <span>{text}</span>
      {retry && (
        <button type="button" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Panel({ title, actions, children, className = "", id }: { title: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; id?: string }) {
  return (
    <section className={`panel ${className}`} aria-labelledby={id ? `${id}-title` : undefined} id={id}>
      <header className="panel-head">
        <h2 id={id ? `${id}-title` : undefined}>{title}</h2>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      {label}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/** A group of toggle buttons for a multi-valued filter (severity, detector, status). */
export function ToggleGroup<T extends string>({ label, options, value, onChange, render }: { label: string; options: readonly T[]; value: readonly T[]; onChange: (next: T[]) => void; render?: (v: T) => ReactNode }) {
  return (
    <div className="toggle-group" role="group" aria-label={label}>
      <span className="toggle-label">{label}</span>
      {options.map((o) => {
        const on = value.includes(o);
        return (
          <button key={o} type="button" className={`toggle ${on ? "on" : ""}`} aria-pressed={on} onClick={() => onChange(on ? value.filter((v) => v !== o) : [...value, o])}>
            {render ? render(o) : titleCase(o)}
          </button>
        );
      })}
    </div>
  );
}
