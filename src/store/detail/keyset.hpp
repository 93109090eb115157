// Keyset paging newest first by one unique id column: the pages of alerts, deliveries and audit
// records. A page is the caller's filters, then `id < <cursor>`, in id order descending, with
// LIMIT page_size + 1: the extra row says that another page follows, and the id of the last row
// kept is the next page's cursor. Rows added meanwhile never shift a later page (as an offset
// would). Each filter needs an index ending with the id for the walk to need no sort step.
// (Threats page by their sort's columns instead: cursor.hpp.)
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "store/detail/sql.hpp"

namespace honeyman::store::detail {

// How a page's cursor maps to its id: `decode` reads a client's cursor (Errc::invalid_input on
// the field {"query", "cursor"} when it is not one this store made), `encode` writes a row's.
template <class Decode, class Encode>
struct KeysetKey {
  std::string_view column;
  Decode decode;  // std::string_view -> Result<id value>
  Encode encode;  // const Row& -> std::string
};
// clang 14 deduces no aggregate's template arguments by itself.
template <class Decode, class Encode>
KeysetKey(std::string_view, Decode, Encode) -> KeysetKey<Decode, Encode>;

inline Status invalid_cursor() {
  return validation_error({FieldError{{"query", "cursor"}, "Invalid cursor", "value_error"}});
}

// Alerts and deliveries: a UUID (v7 / v4) `id`; the cursor is the last id, checked to be a UUID.
inline constexpr KeysetKey kUuidKey{"id",
                                    [](std::string_view text) -> Result<std::string> {
                                      auto id = normalize_uuid(text);
                                      if (!id) return invalid_cursor().error();
                                      return *id;
                                    },
                                    [](const auto& row) { return row.id; }};

// Audit records: an integer `id`; the cursor is the last id in decimal (ids are not secret), and
// a cursor that is not a positive integer is refused.
inline constexpr KeysetKey kIntegerKey{
    "id",
    [](std::string_view text) -> Result<std::int64_t> {
      std::int64_t id = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
      if (ec != std::errc() || end != text.data() + text.size() || id <= 0 || text.front() == '+')
        return invalid_cursor().error();
      return id;
    },
    [](const auto& row) { return std::to_string(row.id); }};

// The filters of one page query: each condition ("status = ") completed with its parameter's
// placeholder, the values numbered in the order added.
template <class Params>
struct KeysetFilters {
  Params params;
  std::vector<std::string> conditions;

  template <class T>
  void add(std::string_view condition, const T& value) {
    params.add(value);
    conditions.push_back(std::string(condition).append(param(params.size())));
  }
};

template <class Row>
struct KeysetPage {
  std::vector<Row> rows;    // newest first
  std::string next_cursor;  // empty on the last page
};

// One page of `select` ("SELECT <columns> FROM <table>") under `filters`, after `cursor` (""
// for the first page), each row read by `read`. Errc::invalid_input when page_size is outside
// 1..1000 or the cursor is not `key`'s; the backend's errors otherwise. `what` names the query in
// errors.
template <class Row, class B, class Reader, class Key>
Result<KeysetPage<Row>> read_keyset_page(B& backend, std::string_view what, std::string_view select,
                                         KeysetFilters<typename B::Params> filters,
                                         std::string_view cursor, int page_size, const Reader& read,
                                         const Key& key) {
  if (page_size < 1 || page_size > 1000)
    return validation_error(
        {FieldError{{"query", "page_size"}, "page_size must be 1..1000", "value_error"}});
  if (!cursor.empty()) {
    auto before = key.decode(cursor);
    if (!before) return before.error();
    filters.add(std::string(key.column).append(" < "), *before);
  }
  filters.params.add(page_size + 1);
  auto sql = std::string(select)
                 .append(where_clause(filters.conditions))
                 .append(" ORDER BY ")
                 .append(key.column)
                 .append(" DESC LIMIT ")
                 .append(param(filters.params.size()));
  return backend.read([&](typename B::Connection& conn) -> Result<KeysetPage<Row>> {
    auto rows = conn.fetch_all(per_call(sql), what, read, filters.params);
    if (!rows) return rows.error();
    KeysetPage<Row> page{std::move(*rows), {}};
    if (page.rows.size() > static_cast<std::size_t>(page_size)) {
      page.rows.pop_back();
      page.next_cursor = key.encode(page.rows.back());
    }
    return page;
  });
}

}  // namespace honeyman::store::detail
