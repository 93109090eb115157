#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>

#include "core/core.hpp"

namespace honeyman {
namespace json = boost::json;
namespace detail {

// Writes into a per-thread scratch buffer, then copies the text out once: std::string::append's
// checks on every token, or growing a std::string by resize (zero-filled, freshly mapped pages
// for a large answer), cost more than the writing itself (measured; docs/PERFORMANCE.md).
class JsonTextWriter {
 public:
  // The thread's scratch buffer, or (should a Writer ever be made while another is at work on
  // the same thread) one of its own.
  JsonTextWriter()
      : s_(scratch().busy ? own_ : scratch()), p_(s_.data.get()), end_(p_ + s_.capacity) {
    s_.busy = true;
  }
  ~JsonTextWriter() {
    s_.busy = false;
    // A one-off huge document does not pin its buffer to the thread for good.
    if (s_.capacity > kKeepAtMost) s_ = Scratch{};
  }
  JsonTextWriter(const JsonTextWriter&) = delete;
  JsonTextWriter& operator=(const JsonTextWriter&) = delete;

  void put(char c) {
    ensure(1);
    *p_++ = c;
  }
  void put(const char* s, std::size_t n) {
    ensure(n);
    std::memcpy(p_, s, n);
    p_ += n;
  }
  std::string finish() const { return std::string(s_.data.get(), used()); }
  void finish_into(std::string& out) const { out.append(s_.data.get(), used()); }

  void value(const json::value& v);
  void object(const json::object& o);
  void array(const json::array& a);
  void string(std::string_view s);
  void number(double d);
  template <typename Int>
  void integer(Int n) {
    ensure(24);
    p_ = std::to_chars(p_, p_ + 24, n).ptr;
  }

 private:
  static constexpr std::size_t kKeepAtMost = 4 * 1024 * 1024;
  struct Scratch {
    std::unique_ptr<char[]> data;
    std::size_t capacity = 0;
    bool busy = false;
  };
  static Scratch& scratch() {
    thread_local Scratch s;
    return s;
  }
  std::size_t used() const { return static_cast<std::size_t>(p_ - s_.data.get()); }
  void ensure(std::size_t n) {
    if (static_cast<std::size_t>(end_ - p_) < n) grow(n);
  }
  void grow(std::size_t n) {
    auto& s = s_;
    auto in_use = used();
    auto capacity = std::max({s.capacity * 2, in_use + n, std::size_t{64 * 1024}});
    auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
    if (in_use) std::memcpy(bigger.get(), s.data.get(), in_use);
    s.data = std::move(bigger);
    s.capacity = capacity;
    p_ = s.data.get() + in_use;
    end_ = s.data.get() + capacity;
  }
  Scratch own_;
  Scratch& s_;
  char* p_;
  char* end_;
};

// Boost.JSON 1.81 writes doubles as `8.2E-1`; people, Python and the old backend write `0.82`.
// Python's repr rule: the shortest digits that read back to the same double, in positional
// notation for exponents -4..15 (with ".0" when integral) and scientific outside it.
void JsonTextWriter::number(double d) {
  if (!std::isfinite(d)) {  // JSON has no NaN or infinity; nothing parsed from JSON is either
    put("null", 4);
    return;
  }
  char buf[64];
  // The shortest digits of a double in [1e-4, 1e16) have a decimal exponent in -4..15: no
  // double in that range reads back from a shorter text outside it (1e16 is exactly
  // representable, and "0.0001" reads back as the double the comparison uses).
  double magnitude = std::fabs(d);
  if (magnitude != 0 && (magnitude < 1e-4 || magnitude >= 1e16)) {
    auto sci = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    put(buf, static_cast<std::size_t>(sci.ptr - buf));
    return;
  }
  auto fixed = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  put(buf, static_cast<std::size_t>(fixed.ptr - buf));
  if (std::find(buf, fixed.ptr, '.') == fixed.ptr) put(".0", 2);
}

bool needs_escape(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\';
}

// The position of the first character that needs an escape, from `from`; eight at a time (most
// strings have none: ids, names, timestamps).
std::size_t find_escape(std::string_view s, std::size_t from) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  std::size_t i = from;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    std::uint64_t quote = w ^ (kOnes * '"'), backslash = w ^ (kOnes * '\\');
    std::uint64_t hit =
        ((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash);
    if (hit & kHighs) break;  // one of these eight (found exactly below)
  }
  for (; i < s.size(); ++i)
    if (needs_escape(static_cast<unsigned char>(s[i]))) return i;
  return s.size();
}

void JsonTextWriter::string(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  put('"');
  std::size_t run = 0;  // start of the pending run of characters that need no escape
  for (std::size_t i = find_escape(s, 0); i < s.size(); i = find_escape(s, run)) {
    put(s.data() + run, i - run);
    run = i + 1;
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        put("\\\"", 2);
        break;
      case '\\':
        put("\\\\", 2);
        break;
      case '\b':
        put("\\b", 2);
        break;
      case '\f':
        put("\\f", 2);
        break;
      case '\n':
        put("\\n", 2);
        break;
      case '\r':
        put("\\r", 2);
        break;
      case '\t':
        put("\\t", 2);
        break;
      default: {
        char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        put(u, 6);
      }
    }
  }
  put(s.data() + run, s.size() - run);
  put('"');
}

void JsonTextWriter::object(const json::object& o) {
  put('{');
  bool first = true;
  for (const auto& [key, value] : o) {
    if (!first) put(',');
    first = false;
    string(key);
    put(':');
    this->value(value);
  }
  put('}');
}

void JsonTextWriter::array(const json::array& a) {
  put('[');
  bool first = true;
  for (const auto& v : a) {
    if (!first) put(',');
    first = false;
    value(v);
  }
  put(']');
}

void JsonTextWriter::value(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      put("null", 4);
      break;
    case json::kind::bool_:
      v.get_bool() ? put("true", 4) : put("false", 5);
      break;
    case json::kind::int64:
      integer(v.get_int64());
      break;
    case json::kind::uint64:
      integer(v.get_uint64());
      break;
    case json::kind::double_:
      number(v.get_double());
      break;
    case json::kind::string:
      string(v.get_string());
      break;
    case json::kind::array:
      array(v.get_array());
      break;
    case json::kind::object:
      object(v.get_object());
      break;
  }
}

}  // namespace detail

using Writer = detail::JsonTextWriter;

std::string to_json_text(const json::value& v) {
  Writer w;
  w.value(v);
  return w.finish();
}

std::string to_json_text(const json::object& o) {
  Writer w;
  w.object(o);
  return w.finish();
}

std::string to_json_text(const json::array& a) {
  Writer w;
  w.array(a);
  return w.finish();
}

void append_json_text(std::string& out, const json::object& o) {
  Writer w;
  w.object(o);
  w.finish_into(out);
}

std::string json_quote(std::string_view s) {
  Writer w;
  w.string(s);
  return w.finish();
}

JsonObjectWriter::JsonObjectWriter(std::string& out) : out_(out), w_(std::make_unique<Writer>()) {
  w_->put('{');
}

JsonObjectWriter::~JsonObjectWriter() {
  w_->put('}');
  w_->finish_into(out_);
}

void JsonObjectWriter::key(std::string_view key) {
  if (!first_) w_->put(',');
  first_ = false;
  w_->string(key);
  w_->put(':');
}

void JsonObjectWriter::text(std::string_view k, std::string_view value) {
  key(k);
  w_->string(value);
}

void JsonObjectWriter::null(std::string_view k) {
  key(k);
  w_->put("null", 4);
}

void JsonObjectWriter::boolean(std::string_view k, bool value) {
  key(k);
  value ? w_->put("true", 4) : w_->put("false", 5);
}

void JsonObjectWriter::integer(std::string_view k, std::int64_t value) {
  key(k);
  w_->integer(value);
}

void JsonObjectWriter::number(std::string_view k, double value) {
  key(k);
  w_->number(value);
}

void JsonObjectWriter::value(std::string_view k, const json::value& value) {
  key(k);
  w_->value(value);
}

void JsonObjectWriter::array(std::string_view k, const json::array& value) {
  key(k);
  w_->array(value);
}

void JsonObjectWriter::object(std::string_view k, const json::object& value) {
  key(k);
  w_->object(value);
}

void JsonObjectWriter::strings(std::string_view k, const std::vector<std::string>& values) {
  key(k);
  w_->put('[');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) w_->put(',');
    w_->string(values[i]);
  }
  w_->put(']');
}

}  // namespace honeyman
