// The three export formats of GET /threats/export (SPEC §7), as writers that append one page of
// threats at a time to a chunk: pure, no I/O, so the route streams them page by page. Column
// order, quoting and the STIX object graph are documented in docs/API.md ("Export").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "domain/domain.hpp"

namespace honeyman::api::detail {

enum class ExportFormat { csv, ndjson, stix };

// The media type each format is served as.
std::string_view media_type(ExportFormat format);

// A writer of one export. begin() once, page() per page of threats (newest first), end() once;
// each appends to `out`. Not thread-safe; one per export.
class ExportWriter {
 public:
  virtual ~ExportWriter() = default;
  virtual void begin(std::string& out) = 0;
  virtual void page(const std::vector<domain::Threat>& threats, std::string& out) = 0;
  virtual void end(std::string& out) = 0;
};

std::unique_ptr<ExportWriter> make_export_writer(ExportFormat format);

// --- CSV (RFC 4180), exposed for tests.
// The header row's columns, in order: every field of the API's Threat.
const std::vector<std::string_view>& csv_columns();
// Appends `text` as one CSV cell of a text column: a leading = + - @ TAB or CR gets a `'`
// (spreadsheet formula injection, OWASP), then the cell is quoted when it holds a comma, quote,
// CR or LF (quotes doubled).
void append_csv_text(std::string& out, std::string_view text);

// --- STIX 2.1, exposed for tests.
// UUIDv5 of `name` in `namespace_uuid` (both canonical text), lower-case canonical text.
std::string uuid_v5(std::string_view namespace_uuid, std::string_view name);
// The deterministic id of an SCO with one ID-contributing string property (STIX 2.1 §2.9:
// UUIDv5 in namespace 00abedb4-aa42-466c-9c01-fed23315a9b7 over the JCS text of those
// properties): "mac-addr--...".
std::string sco_id(std::string_view type, std::string_view property, std::string_view value);
// "aa:bb:cc:dd:ee:ff" from a MAC written with colons, dashes or none, any case; nullopt if it is
// not six octets.
std::optional<std::string> canonical_mac(std::string_view text);
// "2026-08-08T14:06:00.000Z": STIX timestamps at millisecond precision (truncated).
std::string stix_time(Timestamp t);

}  // namespace honeyman::api::detail
