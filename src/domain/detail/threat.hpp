// Private to domain: the two threat wire formats (SPEC §5). Each reads every field of its
// format, collecting all field errors, and returns a Threat without id and created_at.
#pragma once

#include "domain/detail/fields.hpp"
#include "domain/domain.hpp"

namespace honeyman::domain::detail {

Result<Threat> normalize_agent_threat(const boost::json::object& obj, const IngestContext& ctx,
                                      const Loc& loc);
Result<Threat> normalize_canonical_threat(const boost::json::object& obj, const IngestContext& ctx,
                                          const Loc& loc);

// Shared by both formats.
std::optional<Severity> read_severity(ObjectReader& r, std::string_view key);
// A spoofed sensor id outranks field errors: it is the fact worth recording.
Result<Threat> finish_threat(Threat t, Errors errors, std::optional<Error> spoofed);

}  // namespace honeyman::domain::detail
