// A sensor's online state: a dot and the word (never colour alone), and "Disabled" for a sensor
// an admin switched off (its key and broker account are refused).
export function SensorOnline({ online, testId }: { online: boolean; testId?: string }) {
  return (
    <span className={`sensor-state ${online ? "is-online" : "is-offline"}`} data-testid={testId}>
      <span className="sensor-dot" aria-hidden="true" />
      {online ? "Online" : "Offline"}
    </span>
  );
}

export function DisabledChip() {
  return (
    <span className="sensor-disabled" title="Disabled by an admin: its API key and broker account are refused">
      Disabled
    </span>
  );
}

/** "Paris, FR", "48.85, 2.35", or null when the sensor has no location. */
export function sensorPlace(s: { city: string | null; country: string | null; latitude: number | null; longitude: number | null }): string | null {
  const named = [s.city, s.country].filter(Boolean).join(", ");
  if (named) return named;
  if (s.latitude !== null && s.longitude !== null) return `${s.latitude.toFixed(2)}, ${s.longitude.toFixed(2)}`;
  return null;
}
