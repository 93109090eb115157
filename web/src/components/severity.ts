// The five severity colours, the same everywhere (cards, charts, table, map). The CSS holds the
// theme's values (--sev-critical ...); charts and the map read them through these names.
import type { Severity } from "../lib/types";

export const SEVERITY_VAR: Record<Severity, string> = {
  critical: "var(--sev-critical)",
  high: "var(--sev-high)",
  medium: "var(--sev-medium)",
  low: "var(--sev-low)",
  info: "var(--sev-info)",
};
