#include "store/detail/cursor.hpp"

#include <algorithm>
#include <bit>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <tuple>

namespace honeyman::store::detail {
namespace {

namespace json = boost::json;

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view bytes) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    for (bits += 8; bits >= 6; bits -= 6) out += kAlphabet[(acc >> (bits - 6)) & 63];
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 63];
  return out;
}

// Only the canonical encoding is accepted (no padding, no stray bits), so one cursor has exactly
// one spelling.
std::optional<std::string> unbase64url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    auto v = kAlphabet.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

Error bad_cursor(std::string message) {
  return validation_error({FieldError{{"query", "cursor"}, std::move(message), "value_error"}});
}

// Doubles travel as their bit pattern: exact, whatever the JSON number parser does.
json::value cursor_value(const domain::Threat& t, std::string_view column) {
  if (column == "timestamp") return to_unix_micros(t.timestamp);
  if (column == "created_at") return to_unix_micros(t.created_at);
  if (column == "severity") return static_cast<std::int64_t>(t.severity);
  if (column == "threat_score") return std::bit_cast<std::int64_t>(t.threat_score);
  if (column == "sensor_id") return json::string(t.sensor_id);
  if (column == "detector_type") return json::string(t.detector_type);
  return json::string(t.threat_type);
}

std::optional<CursorValue> read_value(const json::value& v, SortType type) {
  CursorValue out;
  out.type = type;
  if (type == SortType::text) {
    if (!v.is_string()) return std::nullopt;
    out.text = std::string(v.get_string());
    return out;
  }
  if (!v.is_int64()) return std::nullopt;
  if (type == SortType::real)
    out.real = std::bit_cast<double>(v.get_int64());
  else
    out.integer = v.get_int64();
  return out;
}

}  // namespace

const std::vector<SortColumn>& sort_columns(ThreatSort sort) {
  static const SortColumn ts{"timestamp", SortType::integer, "bigint"};
  // Indexed by ThreatSort, in its declaration order.
  static const std::vector<SortColumn> columns[] = {
      {ts},
      {{"severity", SortType::integer, "smallint"}, ts},
      {{"threat_score", SortType::real, "float8"}},
      {{"threat_type", SortType::text, "text"}},
      {{"sensor_id", SortType::text, "text"}, ts},
      {{"detector_type", SortType::text, "text"}},
      {{"created_at", SortType::integer, "bigint"}},
  };
  static_assert(static_cast<int>(ThreatSort::created_at) == 6);
  return columns[static_cast<int>(sort)];
}

std::string_view sort_name(ThreatSort sort) {
  return sort_columns(sort).front().name;
}

// The cursor is base64url of a JSON array: [sort, direction, value..., seq].
std::string encode_cursor(const domain::Threat& last, std::int64_t seq, ThreatSort sort,
                          bool descending) {
  json::array a{json::string(sort_name(sort)), descending ? "desc" : "asc"};
  for (const auto& column : sort_columns(sort)) a.push_back(cursor_value(last, column.name));
  a.push_back(seq);
  return base64url(to_json_text(a));
}

Result<Cursor> decode_cursor(std::string_view text, ThreatSort sort, bool descending) {
  auto bytes = unbase64url(text);
  if (!bytes) return bad_cursor("Invalid cursor");
  boost::system::error_code ec;
  auto parsed = json::parse(*bytes, ec);
  const auto& columns = sort_columns(sort);
  const auto* a = ec ? nullptr : parsed.if_array();
  if (a == nullptr || a->size() != columns.size() + 3 || !(*a)[0].is_string() ||
      !(*a)[1].is_string() || !a->back().is_int64())
    return bad_cursor("Invalid cursor");
  if ((*a)[0].get_string() != sort_name(sort) ||
      (*a)[1].get_string() != (descending ? "desc" : "asc"))
    return bad_cursor("Cursor was made for another sort_by or sort_order");
  Cursor cursor;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    auto v = read_value((*a)[i + 2], columns[i].type);
    if (!v) return bad_cursor("Invalid cursor");
    cursor.values.push_back(std::move(*v));
  }
  cursor.seq = a->back().get_int64();
  return cursor;
}

std::string order_by(const ThreatQuery& q) {
  std::string order;
  const char* dir = q.descending ? " DESC" : " ASC";
  for (const auto& c : sort_columns(q.sort_by)) order.append(c.name).append(dir).append(", ");
  return order + "seq" + dir;
}

int page_size(const ThreatQuery& q) {
  return std::clamp(q.page_size, 1, q.with_total ? 1000 : kMaxExportPageSize);
}

std::int64_t page_offset(const ThreatQuery& q, bool has_cursor) {
  return has_cursor ? 0 : static_cast<std::int64_t>(std::max(q.page, 1) - 1) * page_size(q);
}

ThreatPage make_page(PageRows rows, std::pair<std::int64_t, bool> total, const ThreatQuery& q) {
  ThreatPage page;
  std::tie(page.total, page.total_is_exact) = total;
  auto size = static_cast<std::size_t>(page_size(q));
  if (rows.threats.size() > size) {
    rows.threats.resize(size);
    page.next_cursor =
        encode_cursor(rows.threats.back(), rows.seqs[size - 1], q.sort_by, q.descending);
  }
  page.threats = std::move(rows.threats);
  return page;
}

}  // namespace honeyman::store::detail
