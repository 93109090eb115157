#include "api/detail/export_formats.hpp"

#include <array>
#include <boost/asio/ip/address.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/string_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <charconv>
#include <cmath>
#include <cstddef>

#include "core/core.hpp"

namespace honeyman::api::detail {
namespace json = boost::json;

std::string_view media_type(ExportFormat format) {
  switch (format) {
    case ExportFormat::csv:
      return "text/csv; charset=utf-8";
    case ExportFormat::ndjson:
      return "application/x-ndjson";
    case ExportFormat::stix:
      return "application/stix+json;version=2.1";
  }
  return "application/octet-stream";
}

namespace {

// ------------------------------------------------------------------------------------------
// CSV

// A loop, not find_first_of: libstdc++'s calls memchr over the set for every character.
bool needs_quotes(std::string_view text) {
  for (char c : text)
    if (c == ',' || c == '"' || c == '\r' || c == '\n') return true;
  return false;
}

bool formula_start(char c) {
  return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

// Numbers are written as the JSON writer writes them (the same text as in NDJSON) and never
// prefixed: a number cannot be a formula, and `'-0.13` would no longer read as a number.
void append_number(std::string& out, double d) {
  out += to_json_text(json::value(d));
}

template <class Int>
void append_integer(std::string& out, Int n) {
  std::array<char, 24> buf{};
  auto end = std::to_chars(buf.data(), buf.data() + buf.size(), n).ptr;
  out.append(buf.data(), end);
}

// The CSV form of domain::threat_members: one column per member, in the API's order. As a
// header it writes the members' names. Text cells are quoted and defused (append_csv_text); ids,
// times and enum texts pass through it unchanged; an unset value is an empty cell; lists and
// objects are their compact JSON text.
class CsvRow {
 public:
  CsvRow(std::string& out, bool header) : out_(out), header_(header) {}
  void text(std::string_view k, std::string_view v) {
    if (cell(k)) append_csv_text(out_, v);
  }
  void maybe_text(std::string_view k, const std::optional<std::string>& v) {
    if (cell(k) && v) append_csv_text(out_, *v);
  }
  void time(std::string_view k, Timestamp t) {
    if (cell(k)) out_ += format_timestamp(t);
  }
  void maybe_time(std::string_view k, const std::optional<Timestamp>& t) {
    if (cell(k) && t) out_ += format_timestamp(*t);
  }
  void integer(std::string_view k, const std::optional<int>& v) {
    if (cell(k) && v) append_integer(out_, *v);
  }
  void number(std::string_view k, const std::optional<double>& v) {
    if (cell(k) && v) append_number(out_, *v);
  }
  void boolean(std::string_view k, bool v) {
    if (cell(k)) out_ += v ? "true" : "false";
  }
  void array(std::string_view k, const json::array& v) {
    if (cell(k)) append_csv_text(out_, to_json_text(v));
  }
  void object(std::string_view k, const json::object& v) {
    if (cell(k)) append_csv_text(out_, to_json_text(v));
  }
  void strings(std::string_view k, const std::vector<std::string>& items) {
    json::array a;
    a.reserve(items.size());
    for (const auto& item : items) a.emplace_back(item);
    array(k, a);
  }

 private:
  // The separator, then the name for a header: true when the value is to follow.
  bool cell(std::string_view name) {
    if (!first_) out_ += ',';
    first_ = false;
    if (header_) out_ += name;
    return !header_;
  }
  std::string& out_;
  bool header_;
  bool first_ = true;
};

// The members' names, comma-separated (no line end).
const std::string& csv_header() {
  static const std::string header = [] {
    std::string out;
    CsvRow names(out, true);
    domain::threat_members(domain::Threat{}, names);
    return out;
  }();
  return header;
}

class CsvWriter final : public ExportWriter {
 public:
  void begin(std::string& out) override { out.append(csv_header()).append("\r\n"); }
  void page(const std::vector<domain::Threat>& threats, std::string& out) override {
    for (const auto& t : threats) {
      CsvRow row(out, false);
      domain::threat_members(t, row);
      out += "\r\n";
    }
  }
  void end(std::string&) override {}
};

// ------------------------------------------------------------------------------------------
// NDJSON: exactly the API's Threat, one per line.

class NdjsonWriter final : public ExportWriter {
 public:
  void begin(std::string&) override {}
  void page(const std::vector<domain::Threat>& threats, std::string& out) override {
    // Written member by member: building each Threat's json::object first (a hash lookup and
    // an allocation per member) was the largest cost of the NDJSON export after the store.
    for (const auto& t : threats) {
      domain::append_json_text(out, t);
      out += '\n';
    }
  }
  void end(std::string&) override {}
};

// ------------------------------------------------------------------------------------------
// STIX 2.1

constexpr std::string_view kScoNamespace = "00abedb4-aa42-466c-9c01-fed23315a9b7";
// Honeyman's own namespace for the ids of its SDOs and SROs (made of the threat id, the sensor
// id, the technique): the same threat exports the same ids.
constexpr std::string_view kHoneymanNamespace = "6f1c1ad4-5e0b-5b8e-9f3e-2d6c7a1b4e90";
// created/modified of the objects that describe no event (the deployment, sensors, attack
// patterns): a fixed time, so that an id never appears with two different `created`.
constexpr std::string_view kFixedTime = "2020-01-01T00:00:00.000Z";
// SCO ids remembered to emit each SCO once (64-bit hashes, 16 MB at most). Beyond that, an SCO
// seen before is emitted again under an id of its own (UUIDv5 of the SCO's id and the threat's)
// rather than twice under one id.
constexpr std::size_t kMaxScoSlots = std::size_t{1} << 21;

std::string honeyman_id(std::string_view type, std::string_view name) {
  return std::string(type) + "--" + uuid_v5(kHoneymanNamespace, name);
}

const std::string& deployment_id() {
  static const std::string id = honeyman_id("identity", "deployment");
  return id;
}

// An open-addressing set of 64-bit keys (0 marks an empty slot), grown up to kMaxScoSlots.
class ScoSet {
 public:
  enum class Added { added, present, full };
  Added add(std::uint64_t key) {
    if (key == 0) key = 1;
    if (slots_.empty()) slots_.assign(4096, 0);
    if ((size_ + 1) * 2 > slots_.size()) {
      if (slots_.size() >= kMaxScoSlots) return contains(key) ? Added::present : Added::full;
      grow();
    }
    auto mask = slots_.size() - 1;
    for (auto i = key & mask;; i = (i + 1) & mask) {
      if (slots_[i] == key) return Added::present;
      if (slots_[i] == 0) {
        slots_[i] = key;
        ++size_;
        return Added::added;
      }
    }
  }

 private:
  bool contains(std::uint64_t key) const {
    auto mask = slots_.size() - 1;
    for (auto i = key & mask; slots_[i] != 0; i = (i + 1) & mask)
      if (slots_[i] == key) return true;
    return false;
  }
  void grow() {
    std::vector<std::uint64_t> old(slots_.size() * 2, 0);
    old.swap(slots_);
    size_ = 0;
    for (auto k : old)
      if (k) add(k);
  }
  std::vector<std::uint64_t> slots_;
  std::size_t size_ = 0;
};

std::string base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    auto n = (std::uint32_t(std::uint8_t(data[i])) << 16) |
             (std::uint32_t(std::uint8_t(data[i + 1])) << 8) | std::uint8_t(data[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (i < data.size()) {
    std::uint32_t n = std::uint32_t(std::uint8_t(data[i])) << 16;
    if (i + 1 < data.size()) n |= std::uint32_t(std::uint8_t(data[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool is_domain_name(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  std::size_t label = 0;
  bool alpha = false;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!letter && !(c >= '0' && c <= '9') && c != '-' && c != '_') return false;
    alpha = alpha || letter;
    if (++label > 63) return false;
  }
  return label > 0 && alpha;
}

struct Sco {
  std::string_view type;
  std::string_view property;  // the ID-contributing property
  std::string value;
};

// The SCO a host, address or MAC names, if it is a well-formed one.
std::optional<Sco> ip_sco(std::string_view text) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(text, ec);
  if (ec) return std::nullopt;
  if (address.is_v4()) return Sco{"ipv4-addr", "value", address.to_string()};
  return Sco{"ipv6-addr", "value", address.to_string()};
}

std::optional<Sco> host_sco(std::string_view host) {
  if (auto ip = ip_sco(host)) return ip;
  if (is_domain_name(host)) return Sco{"domain-name", "value", std::string(host)};
  return std::nullopt;
}

std::string technique_url(std::string_view technique) {
  // T1200 -> /techniques/T1200/, T1200.001 -> /techniques/T1200/001/
  auto dot = technique.find('.');
  std::string path(technique.substr(0, dot));
  if (dot != std::string_view::npos) path.append("/").append(technique.substr(dot + 1));
  return "https://attack.mitre.org/techniques/" + path + "/";
}

bool is_technique_id(std::string_view t) {
  auto digits = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (t.size() < 5 || t[0] != 'T' || !digits(t.substr(1, 4))) return false;
  if (t.size() == 5) return true;
  return t.size() == 9 && t[5] == '.' && digits(t.substr(6));
}

json::object sdo(std::string_view type, const std::string& id, std::string_view created,
                 std::string_view modified) {
  json::object o;
  o["type"] = type;
  o["spec_version"] = "2.1";
  o["id"] = id;
  if (id != deployment_id()) o["created_by_ref"] = deployment_id();
  o["created"] = created;
  o["modified"] = modified;
  return o;
}

class StixWriter final : public ExportWriter {
 public:
  void begin(std::string& out) override {
    out += R"({"type":"bundle","id":"bundle--)";
    out += uuid_v4();
    out += R"(","objects":[)";
    auto identity = sdo("identity", deployment_id(), kFixedTime, kFixedTime);
    identity["name"] = "Honeyman";
    identity["description"] = "The Honeyman threat-sensor dashboard that made this export";
    identity["identity_class"] = "system";
    emit(identity, out);
  }
  void page(const std::vector<domain::Threat>& threats, std::string& out) override {
    for (const auto& t : threats) threat(t, out);
  }
  void end(std::string& out) override { out += "]}"; }

 private:
  void emit(const json::object& o, std::string& out) {
    if (!first_) out += ',';
    first_ = false;
    append_json_text(out, o);
  }

  // Emitted once, the first time the threat names it (newest first, so before its first use).
  std::string sensor(const domain::Threat& t, std::string& out) {
    auto id = honeyman_id("identity", "sensor:" + t.sensor_id);
    if (!sensors_.insert(t.sensor_id).second) return id;
    auto o = sdo("identity", id, kFixedTime, kFixedTime);
    o["name"] = t.sensor_id;
    o["description"] = "Honeyman sensor";
    o["identity_class"] = "system";
    emit(o, out);
    return id;
  }

  std::string threat_type(const domain::Threat& t, std::string& out) {
    auto id = honeyman_id("attack-pattern", "threat-type:" + t.threat_type);
    if (!threat_types_.insert(t.threat_type).second) return id;
    auto o = sdo("attack-pattern", id, kFixedTime, kFixedTime);
    o["name"] = t.threat_type;
    o["description"] = "Honeyman threat type (detector " + t.detector_type + ")";
    emit(o, out);
    return id;
  }

  std::string technique(const std::string& name, std::string& out) {
    auto id = honeyman_id("attack-pattern", "mitre-attack:" + name);
    if (!techniques_.insert(name).second) return id;
    auto o = sdo("attack-pattern", id, kFixedTime, kFixedTime);
    o["name"] = name;
    json::object ref{{"source_name", "mitre-attack"}, {"external_id", name}};
    if (is_technique_id(name)) ref["url"] = technique_url(name);
    o["external_references"] = json::array{ref};
    emit(o, out);
    return id;
  }

  // The SCO's id, emitted if new; appended to `refs` unless this threat already refers to it.
  void sco(const Sco& s, const domain::Threat& t, json::array& refs, std::string& out) {
    auto id = sco_id(s.type, s.property, s.value);
    auto added = scos_.add(std::hash<std::string>{}(id));
    if (added == ScoSet::Added::full)
      id = std::string(s.type) + "--" + uuid_v5(kScoNamespace, id + t.id);
    for (const auto& r : refs)
      if (r.as_string() == id) return;
    refs.emplace_back(id);
    if (added == ScoSet::Added::present) return;
    json::object o;
    o["type"] = s.type;
    o["spec_version"] = "2.1";
    o["id"] = id;
    o[s.property] = s.value;
    if (s.type == "artifact") o["mime_type"] = "application/json";
    emit(o, out);
  }

  json::array observables(const domain::Threat& t, std::string& out) {
    json::array refs;
    if (t.device_mac)
      if (auto mac = canonical_mac(*t.device_mac)) sco({"mac-addr", "value", *mac}, t, refs, out);
    if (t.device_ip)
      if (auto ip = ip_sco(*t.device_ip)) sco(*ip, t, refs, out);
    for (const auto* host : {&t.src_host, &t.dst_host})
      if (*host)
        if (auto s = host_sco(**host)) sco(*s, t, refs, out);
    // Nothing identifies the device: the sensor's raw event is what was observed.
    if (refs.empty())
      sco({"artifact", "payload_bin", base64(to_json_text(t.raw_event))}, t, refs, out);
    return refs;
  }

  void threat(const domain::Threat& t, std::string& out) {
    auto where = sensor(t, out);
    auto what = threat_type(t, out);
    json::array techniques;
    for (const auto& name : t.mitre_techniques) techniques.emplace_back(technique(name, out));
    auto refs = observables(t, out);
    auto created = stix_time(t.created_at);
    auto modified = stix_time(std::max(t.created_at, t.updated_at));
    auto seen = stix_time(t.timestamp);
    auto observed = sdo("observed-data", honeyman_id("observed-data", t.id), created, modified);
    observed["first_observed"] = seen;
    observed["last_observed"] = seen;
    observed["number_observed"] = 1;
    observed["object_refs"] = std::move(refs);
    auto observed_id = observed["id"];
    emit(observed, out);
    auto sighting = sdo("sighting", honeyman_id("sighting", t.id), created, modified);
    sighting["first_seen"] = seen;
    sighting["last_seen"] = seen;
    sighting["count"] = 1;
    sighting["sighting_of_ref"] = what;
    sighting["observed_data_refs"] = json::array{observed_id};
    sighting["where_sighted_refs"] = json::array{where};
    sighting["x_honeyman_threat_id"] = t.id;
    sighting["x_honeyman_severity"] = domain::to_string(t.severity);
    sighting["x_honeyman_threat_score"] = t.threat_score;
    if (!techniques.empty()) sighting["x_honeyman_technique_refs"] = std::move(techniques);
    emit(sighting, out);
  }

  bool first_ = true;
  std::unordered_set<std::string> sensors_, threat_types_, techniques_;
  ScoSet scos_;
};

}  // namespace

const std::vector<std::string_view>& csv_columns() {
  static const std::vector<std::string_view> columns = [] {
    std::vector<std::string_view> out;
    std::string_view rest = csv_header();
    for (auto comma = rest.find(','); comma != rest.npos; comma = rest.find(',')) {
      out.push_back(rest.substr(0, comma));
      rest.remove_prefix(comma + 1);
    }
    out.push_back(rest);
    return out;
  }();
  return columns;
}

void append_csv_text(std::string& out, std::string_view text) {
  const bool prefix = !text.empty() && formula_start(text.front());
  if (!needs_quotes(text)) {
    if (prefix) out += '\'';
    out += text;
    return;
  }
  out += '"';
  if (prefix) out += '\'';
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string uuid_v5(std::string_view namespace_uuid, std::string_view name) {
  boost::uuids::string_generator parse;
  boost::uuids::name_generator_sha1 make(parse(namespace_uuid.begin(), namespace_uuid.end()));
  return boost::uuids::to_string(make(name.data(), name.size()));
}

std::string sco_id(std::string_view type, std::string_view property, std::string_view value) {
  // The JCS (RFC 8785) text of {property: value}: one member, so no ordering to do, and
  // json_quote escapes as JCS does (\" \\ \b \f \n \r \t, other controls \u00xx, UTF-8 as is).
  std::string name = "{";
  name += json_quote(property);
  name += ':';
  name += json_quote(value);
  name += '}';
  return std::string(type) + "--" + uuid_v5(kScoNamespace, name);
}

std::optional<std::string> canonical_mac(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == ':' || c == '-' || c == '.') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (hex.size() != 12) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < 12; i += 2) {
    if (i) out += ':';
    out.append(hex, i, 2);
  }
  return out;
}

std::string stix_time(Timestamp t) {
  auto text = format_timestamp(t);  // "2026-08-08T14:03:27.512904Z"
  text.resize(23);
  text += 'Z';
  return text;
}

std::unique_ptr<ExportWriter> make_export_writer(ExportFormat format) {
  switch (format) {
    case ExportFormat::csv:
      return std::make_unique<CsvWriter>();
    case ExportFormat::ndjson:
      return std::make_unique<NdjsonWriter>();
    case ExportFormat::stix:
      return std::make_unique<StixWriter>();
  }
  return nullptr;
}

}  // namespace honeyman::api::detail
