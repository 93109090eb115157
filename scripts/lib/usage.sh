# shellcheck shell=bash
# Sourced by every script of this repository before it does anything: `--help` (or `-h`) prints
# the script's header comment, which is its documentation, and exits 0 with no side effect.
#   . "$(dirname "$0")/lib/usage.sh" "$@"              (from scripts/)
#   . "$(dirname "$0")/../scripts/lib/usage.sh" "$@"   (from bench/, deploy/)
if [[ "${1:-}" == "--help" || "${1:-}" == "-h" ]]; then
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 0
fi
