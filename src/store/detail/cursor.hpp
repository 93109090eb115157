// Keyset paging for threats: which columns each sort orders by, and the opaque cursor that
// carries the last row's values of those columns from one page to the next. Shared by both
// stores: the same columns, order and encoding, so a cursor means the same on SQLite and
// PostgreSQL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/domain.hpp"
#include "store/store.hpp"

namespace honeyman::store::detail {

enum class SortType { integer, real, text };
struct SortColumn {
  std::string_view name;
  SortType type;
  std::string_view sql_type;  // PostgreSQL type, for casting cursor parameters
};

// The columns a sort orders by, before the final `seq` tiebreak. Severity and sensor_id sort
// by timestamp next: that is the order of their (x, timestamp) indexes, so the index walk needs
// no sort step, and it is the order a reader expects (newest first within a severity).
const std::vector<SortColumn>& sort_columns(ThreatSort sort);
std::string_view sort_name(ThreatSort sort);
// "c1 DESC, c2 DESC, seq DESC": the sort's columns, then `seq`, in the query's direction.
std::string order_by(const ThreatQuery& q);

struct CursorValue {
  SortType type = SortType::integer;
  std::int64_t integer = 0;
  double real = 0;
  std::string text;
  bool operator==(const CursorValue&) const = default;
};

struct Cursor {
  std::vector<CursorValue> values;  // one per sort column
  std::int64_t seq = 0;
};

// The cursor that continues after `last` (whose `seq` is `seq`) under `sort`/`descending`.
std::string encode_cursor(const domain::Threat& last, std::int64_t seq, ThreatSort sort,
                          bool descending);
// Errc::invalid_input (field {"query", "cursor"}) when `text` is malformed or was made under a
// different sort or direction.
Result<Cursor> decode_cursor(std::string_view text, ThreatSort sort, bool descending);

// A page as the stores fetch it: up to page_size + 1 rows (the extra one says another page
// follows) and each row's `seq` (the cursor's tiebreak).
struct PageRows {
  std::vector<domain::Threat> threats;
  std::vector<std::int64_t> seqs;
};
int page_size(const ThreatQuery& q);  // clamped to 1..1000 (1..kMaxExportPageSize without total)
// Rows to skip: offset paging without a cursor, none with one.
std::int64_t page_offset(const ThreatQuery& q, bool has_cursor);
// The ThreatPage of `rows` and `total` (count, exact), with next_cursor when a row was left over.
ThreatPage make_page(PageRows rows, std::pair<std::int64_t, bool> total, const ThreatQuery& q);

}  // namespace honeyman::store::detail
