#include "domain/detail/fields.hpp"
#include "domain/domain.hpp"

namespace honeyman::domain {
namespace {

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

std::string_view to_string(Severity s) {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::low:
      return "low";
    case Severity::medium:
      return "medium";
    case Severity::high:
      return "high";
    case Severity::critical:
      return "critical";
  }
  return "info";
}

std::optional<Severity> parse_severity(std::string_view s) {
  std::string lower = detail::to_lower_ascii(s);
  for (Severity sev : kAllSeverities)
    if (to_string(sev) == lower) return sev;
  return std::nullopt;
}

std::string_view to_string(ThreatStatus s) {
  switch (s) {
    case ThreatStatus::new_:
      return "new";
    case ThreatStatus::acknowledged:
      return "acknowledged";
    case ThreatStatus::investigating:
      return "investigating";
    case ThreatStatus::resolved:
      return "resolved";
    case ThreatStatus::false_positive:
      return "false_positive";
  }
  return "new";
}

std::optional<ThreatStatus> parse_threat_status(std::string_view s) {
  for (ThreatStatus status : kAllThreatStatuses)
    if (to_string(status) == s) return status;
  return std::nullopt;
}

std::string_view to_string(Role r) {
  switch (r) {
    case Role::viewer:
      return "viewer";
    case Role::analyst:
      return "analyst";
    case Role::admin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view s) {
  std::string lower = detail::to_lower_ascii(s);
  for (Role r : {Role::viewer, Role::analyst, Role::admin})
    if (to_string(r) == lower) return r;
  return std::nullopt;
}

bool is_valid_username(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!is_id_char(c) && c != '@') return false;
  return true;
}

}  // namespace honeyman::domain
