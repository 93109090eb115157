// Onboarding a sensor, in three steps (ThingsBoard's provisioning flow): (1) name it and mint a
// one-time token, (2) hand the token to the agent — QR code, token, the registration command —
// and (3) watch it register and come online. The token does not name the sensor id in advance,
// so the new sensor is found by its name among sensors that were not there before: the list is
// asked every 3 s (newest first, so a new sensor is on its first page) and at once when the live
// feed reports a sensor it has not seen.
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { useApp, useLive, useNow } from "../app/context";
import { Link, navigate, useTitle } from "../app/router";
import { ErrorBox, RelativeTime } from "../components/ui";
import { CopyButton } from "../components/CopyButton";
import { SensorOnline } from "../components/SensorStatus";
import { ApiError } from "../lib/api";
import { formatRelative, formatTime } from "../lib/format";
import type { OnboardingToken, Sensor, SensorPage } from "../lib/types";

const POLL_MS = 3000;
const STEPS = ["Name the sensor", "Give the agent its token", "Wait for it to come online"] as const;

type WatchState = "waiting" | "registered" | "online" | "expired";

interface Watch {
  state: WatchState;
  sensor: Sensor | null;
  checkedAt: number | null;
  error: unknown;
}

const IDLE: Watch = { state: "waiting", sensor: null, checkedAt: null, error: null };

/** A sensor id the agent could use, derived from the name ([A-Za-z0-9._-]{1,64}). */
export function suggestSensorId(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^[-.]+|[-.]+$/g, "")
    .slice(0, 64);
  return slug || "sensor-01";
}

const SENSOR_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function Onboard() {
  useTitle("Onboard a sensor");
  const { api } = useApp();
  const [step, setStep] = useState<1 | 2 | 3>(1);
  const [form, setForm] = useState({ name: "", description: "", hours: "24" });
  const [formError, setFormError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [token, setToken] = useState<OnboardingToken | null>(null);
  const [watch, setWatch] = useState<Watch>(IDLE);
  const baseline = useRef<Set<string>>(new Set());
  const nameRef = useRef<HTMLInputElement>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const name = form.name.trim();
    const hours = Number(form.hours);
    if (!name) {
      setFormError(new Error("Give the sensor a name."));
      return;
    }
    if (!Number.isInteger(hours) || hours < 1 || hours > 168) {
      setFormError(new Error("The token's validity is a whole number of hours from 1 to 168 (7 days)."));
      return;
    }
    setBusy(true);
    setFormError(null);
    try {
      // The sensors there before the token: the new one is the one that was not.
      const before = await api.get<SensorPage>("/sensors", { page: 1, page_size: 100 });
      baseline.current = new Set(before.sensors.map((s) => s.sensor_id));
      const minted = await api.request<OnboardingToken>("POST", "/onboarding/tokens", {
        body: { sensor_name: name, description: form.description.trim() || null, validity_hours: hours },
      });
      setToken(minted);
      setWatch({ ...IDLE, checkedAt: Date.now() });
      setStep(2);
    } catch (err) {
      setFormError(err);
    } finally {
      setBusy(false);
    }
  };

  const startOver = () => {
    setToken(null);
    setWatch(IDLE);
    setForm({ name: "", description: "", hours: "24" });
    setFormError(null);
    setStep(1);
  };

  // Each step's heading gets the focus, so a keyboard or screen-reader user follows the wizard.
  useEffect(() => {
    if (step === 1) nameRef.current?.focus();
    else headingRef.current?.focus();
  }, [step]);

  // ---- Step 3: find the sensor, then see it online.
  const inFlight = useRef(false);
  const watchRef = useRef(watch);
  watchRef.current = watch;
  const poll = useCallback(async () => {
    if (!token || inFlight.current) return;
    const current = watchRef.current;
    if (current.state === "online" || current.state === "expired") return;
    inFlight.current = true;
    try {
      let found: Sensor | null = null;
      if (current.sensor) {
        found = await api.get<Sensor>(`/sensors/${encodeURIComponent(current.sensor.sensor_id)}`);
      } else {
        const page = await api.get<SensorPage>("/sensors", { page: 1, page_size: 100 });
        found = page.sensors.find((s) => !baseline.current.has(s.sensor_id) && s.name === token.sensor_name) ?? null;
      }
      setWatch((w) => {
        if (w.state === "online") return w;
        if (!found) {
          const expired = Date.parse(token.expires_at) <= Date.now();
          return { ...w, state: expired ? "expired" : "waiting", checkedAt: Date.now(), error: null };
        }
        return { state: found.is_online ? "online" : "registered", sensor: found, checkedAt: Date.now(), error: null };
      });
    } catch (err) {
      setWatch((w) => ({ ...w, checkedAt: Date.now(), error: err }));
    } finally {
      inFlight.current = false;
    }
  }, [api, token]);

  const watching = token !== null && (watch.state === "waiting" || watch.state === "registered");
  useEffect(() => {
    if (!watching) return;
    const t = setInterval(() => {
      // After a 429 the server says when to come back.
      const w = watchRef.current;
      if (w.error instanceof ApiError && w.error.status === 429 && w.checkedAt && Date.now() - w.checkedAt < (w.error.retryAfter ?? 10) * 1000) return;
      void poll();
    }, POLL_MS);
    return () => clearInterval(t);
  }, [watching, poll]);

  useLive((m) => {
    if (m.type !== "sensor_status" || !token) return;
    const w = watchRef.current;
    if (w.sensor && m.data.sensor_id === w.sensor.sensor_id) {
      if (m.data.is_online) setWatch({ ...w, state: "online", sensor: { ...w.sensor, is_online: true, last_heartbeat: m.data.last_heartbeat }, checkedAt: Date.now() });
    } else if (!w.sensor && !baseline.current.has(m.data.sensor_id)) {
      void poll();
    }
  });

  // The sensor registered while its credentials were on screen: on to the last step.
  useEffect(() => {
    if (step === 2 && (watch.state === "registered" || watch.state === "online")) setStep(3);
  }, [step, watch.state]);

  return (
    <div className="page onboard" data-testid="onboard">
      <div className="page-head">
        <h1>Onboard a sensor</h1>
        <div className="row">
          {step > 1 && (
            <button type="button" onClick={startOver} data-testid="onboard-restart">
              Start over
            </button>
          )}
          <button type="button" onClick={() => navigate("/sensors")} data-testid="onboard-cancel">
            {watch.state === "online" ? "Done" : "Cancel"}
          </button>
        </div>
      </div>

      <ol className="steps onboard-steps" aria-label="Steps">
        {STEPS.map((label, i) => {
          const n = i + 1;
          const done = n < step || (n === 3 && watch.state === "online");
          return (
            <li key={label} className={n === step && !done ? "current" : done ? "done" : ""} aria-current={n === step ? "step" : undefined}>
              <span className="step-number" aria-hidden="true">
                {done ? "✓" : n}
              </span>{" "}
              {label}
              <span className="offscreen">{done ? " (done)" : n === step ? " (current)" : ""}</span>
            </li>
          );
        })}
      </ol>

      {step === 1 && (
        <section className="panel onboard-panel" aria-labelledby="onboard-step1">
          <div className="panel-body">
            <form className="onboard-form" onSubmit={submit} data-testid="onboard-form" noValidate>
              <h2 id="onboard-step1">1. Name the sensor</h2>
              <p className="muted">
                This mints a one-time token: the agent presents it once to register, chooses its sensor id and receives its own credentials. Only admins can do this.
              </p>
              <label>
                Sensor name
                <input ref={nameRef} value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} maxLength={128} required placeholder="Lobby sensor" data-testid="onboard-name" />
              </label>
              <label>
                Description (optional)
                <textarea rows={2} value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} placeholder="Ground floor, next to the reception" />
              </label>
              <label className="onboard-hours">
                Token valid for (hours, 1 to 168)
                <input type="number" min={1} max={168} step={1} value={form.hours} onChange={(e) => setForm({ ...form, hours: e.target.value })} required />
              </label>
              {formError !== null && <ErrorBox error={formError} />}
              <div className="row">
                <button type="submit" className="primary" disabled={busy} data-testid="onboard-submit">
                  {busy ? "Creating the token…" : "Create the token"}
                </button>
              </div>
            </form>
          </div>
        </section>
      )}

      {step === 2 && token && (
        <Credentials token={token} headingRef={headingRef} watch={watch} onNext={() => setStep(3)} />
      )}

      {step === 3 && token && <Waiting token={token} watch={watch} headingRef={headingRef} onBack={() => setStep(2)} />}
    </div>
  );
}

function Credentials({
  token,
  watch,
  headingRef,
  onNext,
}: {
  token: OnboardingToken;
  watch: Watch;
  headingRef: React.RefObject<HTMLHeadingElement | null>;
  onNext: () => void;
}) {
  const { api } = useApp();
  const [sensorId, setSensorId] = useState(() => suggestSensorId(token.sensor_name));
  const [qrFailed, setQrFailed] = useState(false);
  // The QR code from this origin (the CSP allows images from 'self' only); qr_code_url may name
  // PUBLIC_API_URL instead.
  const qrSrc = `${api.prefix}/onboarding/qrcode/${encodeURIComponent(token.token)}`;
  const endpoint = window.location.origin + api.prefix;
  let advertised: string | null = null;
  try {
    const u = new URL(token.qr_code_url, window.location.origin);
    const base = u.origin + u.pathname.replace(/\/onboarding\/qrcode\/.*$/, "");
    if (base !== endpoint) advertised = base;
  } catch {
    advertised = null;
  }
  const idOk = SENSOR_ID.test(sensorId);
  const body = {
    onboarding_token: token.token,
    sensor_id: idOk ? sensorId : "<sensor-id>",
    platform: "rpi5",
    architecture: "aarch64",
    agent_version: "2.0.0",
    capabilities: { usb: true, wifi: true, ble: true, network: true, airdrop: false },
  };
  const curl = `curl -sS -X POST '${endpoint}/onboarding/register' \\\n  -H 'Content-Type: application/json' \\\n  -d '${JSON.stringify(body, null, 2).replace(/\n/g, "\n  ")}'`;
  const config = [
    `api_endpoint: ${endpoint}`,
    `register_url: ${endpoint}/onboarding/register`,
    `onboarding_token: ${token.token}`,
    `sensor_name: ${token.sensor_name}`,
  ].join("\n");

  return (
    <section className="panel onboard-panel" aria-labelledby="onboard-step2">
      <div className="panel-body onboard-credentials">
        <h2 id="onboard-step2" ref={headingRef} tabIndex={-1}>
          2. Give the agent its token
        </h2>
        <div className="onboard-qr-row">
          <figure className="onboard-qr-figure">
            {qrFailed ? (
              <div className="onboard-qr-missing" role="status">
                The QR code is no longer served: the token was used or has expired.
              </div>
            ) : (
              <img src={qrSrc} width={240} height={240} alt={`QR code with the registration data for ${token.sensor_name}`} data-testid="onboard-qr" className="onboard-qr" onError={() => setQrFailed(true)} />
            )}
            <figcaption className="muted">Scan it with the agent's setup, or use the data beside it.</figcaption>
          </figure>
          <dl className="onboard-facts">
            <dt>Sensor name</dt>
            <dd>{token.sensor_name}</dd>
            <dt>Token</dt>
            <dd className="code-line">
              <code data-testid="onboard-token" className="onboard-token">
                {token.token}
              </code>
              <CopyButton text={token.token} label="the token" testId="onboard-token-copy" />
            </dd>
            <dt>Expires</dt>
            <dd>
              <RelativeTime iso={token.expires_at} /> <span className="muted">({formatTime(token.expires_at)})</span>
            </dd>
            <dt>API endpoint</dt>
            <dd className="code-line">
              <code>{endpoint}</code>
              <CopyButton text={endpoint} label="the API endpoint" />
            </dd>
          </dl>
        </div>
        <p className="notice" role="note">
          The token is shown only now and works once: a registration spends it. It cannot be withdrawn; it stops working when it expires.
          {advertised && (
            <>
              {" "}
              The server tells sensors <code>{advertised}</code> (its <code>PUBLIC_API_URL</code>): the QR code holds that address.
            </>
          )}
        </p>

        <h3>Register by hand</h3>
        <label className="onboard-id">
          <span>
            Sensor id the agent will use (letters, digits, <code>.</code> <code>_</code> <code>-</code>; at most 64)
          </span>
          <input value={sensorId} onChange={(e) => setSensorId(e.target.value)} maxLength={64} spellCheck={false} aria-invalid={!idOk} />
        </label>
        <div className="code-block">
          <pre className="raw" aria-label="Registration command">
            {curl}
          </pre>
          <CopyButton text={curl} label="the registration command" />
        </div>
        <p className="muted">
          Platform, architecture, agent version and capabilities are optional (a <code>location</code> with <code>latitude</code> and <code>longitude</code> may be added). The
          answer carries the sensor's MQTT credentials and API key, shown once: the agent keeps them. It is online once it sends a heartbeat (MQTT{" "}
          <code>honeyman/sensors/&lt;id&gt;/heartbeat</code>, or <code>POST {api.prefix}/sensors/&lt;id&gt;/heartbeat</code> with <code>X-API-Key</code>).
        </p>

        <h3>Agent settings</h3>
        <p className="muted">The registration data (what the QR code carries), for an agent set up from a file:</p>
        <div className="code-block">
          <pre className="raw" aria-label="Agent settings">
            {config}
          </pre>
          <CopyButton text={config} label="the agent settings" />
        </div>

        <div className="row onboard-next">
          <StateLine watch={watch} token={token} />
          <button type="button" className="primary" onClick={onNext} data-testid="onboard-next">
            Next: wait for the sensor →
          </button>
        </div>
      </div>
    </section>
  );
}

function StateLine({ watch, token }: { watch: Watch; token: OnboardingToken }) {
  const now = useNow(1000);
  const checked = watch.checkedAt ? formatRelative(watch.checkedAt, now) : null;
  let text: React.ReactNode;
  switch (watch.state) {
    case "waiting":
      text = <>Waiting for the sensor to register…</>;
      break;
    case "registered":
      text = (
        <>
          Registered as <code>{watch.sensor?.sensor_id}</code>; waiting for its first heartbeat…
        </>
      );
      break;
    case "online":
      text = (
        <>
          Online: <Link to={`/sensors/${encodeURIComponent(watch.sensor?.sensor_id ?? "")}`}>{watch.sensor?.sensor_id}</Link>
        </>
      );
      break;
    case "expired":
      text = <>The token expired {formatRelative(token.expires_at, now)} before a sensor registered with it. Start over for a new one.</>;
      break;
  }
  return (
    <p className={`onboard-state onboard-${watch.state}`} role="status" aria-live="polite" data-testid="onboard-state" data-state={watch.state}>
      <span className="onboard-state-dot" aria-hidden="true" />
      <span>{text}</span>
      {(watch.state === "waiting" || watch.state === "registered") && checked && <span className="muted"> · checked {checked}</span>}
    </p>
  );
}

function Waiting({ token, watch, headingRef, onBack }: { token: OnboardingToken; watch: Watch; headingRef: React.RefObject<HTMLHeadingElement | null>; onBack: () => void }) {
  const s = watch.sensor;
  return (
    <section className="panel onboard-panel" aria-labelledby="onboard-step3">
      <div className="panel-body onboard-watch">
        <h2 id="onboard-step3" ref={headingRef} tabIndex={-1}>
          3. Wait for it to come online
        </h2>
        <ol className="onboard-progress" aria-label="Progress">
          <li className={watch.state === "waiting" ? "current" : watch.state === "expired" ? "failed" : "done"}>
            Token created for “{token.sensor_name}”, valid until {formatTime(token.expires_at)}
          </li>
          <li className={s ? "done" : watch.state === "expired" ? "failed" : "current"}>{s ? <>Registered as <code>{s.sensor_id}</code></> : "Registration"}</li>
          <li className={watch.state === "online" ? "done" : s ? "current" : ""}>{watch.state === "online" ? "Online: heartbeat received" : "First heartbeat"}</li>
        </ol>
        <StateLine watch={watch} token={token} />
        {s && (
          <dl className="onboard-facts">
            <dt>Sensor</dt>
            <dd>
              <Link to={`/sensors/${encodeURIComponent(s.sensor_id)}`}>{s.name}</Link> <span className="mono muted">{s.sensor_id}</span>
            </dd>
            <dt>State</dt>
            <dd>
              <SensorOnline online={s.is_online} />
            </dd>
            <dt>Platform</dt>
            <dd>{[s.platform, s.architecture, s.agent_version].filter(Boolean).join(" · ") || <span className="muted">not reported</span>}</dd>
            <dt>Registered</dt>
            <dd>
              <RelativeTime iso={s.registered_at ?? s.created_at} />
            </dd>
          </dl>
        )}
        {watch.error !== null && watch.error !== undefined && <ErrorBox error={watch.error} />}
        <div className="row">
          {watch.state === "waiting" && (
            <button type="button" onClick={onBack}>
              ← Show the token again
            </button>
          )}
          {watch.state === "online" && s && (
            <Link to={`/sensors/${encodeURIComponent(s.sensor_id)}`} className="link-button primary" data-testid="onboard-open-sensor">
              Open the sensor page
            </Link>
          )}
        </div>
      </div>
    </section>
  );
}
