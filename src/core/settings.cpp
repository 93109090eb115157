#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "core/core.hpp"

namespace honeyman {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    return std::string(v.substr(1, v.size() - 2));
  // An unquoted value ends at " #" (inline comment), as python-dotenv reads it.
  if (auto hash = v.find(" #"); hash != std::string_view::npos) v = trim(v.substr(0, hash));
  return std::string(v);
}

}  // namespace

Status Settings::load_env_file(const std::string& path, bool required) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (required) return make_error(Errc::not_found, "cannot read env file " + path);
    return {};
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return load_env_text(text, path);
}

Status Settings::load_env_text(std::string_view text, std::string_view origin) {
  int number = 0;
  while (!text.empty()) {
    auto newline = text.find('\n');
    std::string_view l = trim(text.substr(0, newline));
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    ++number;
    if (l.empty() || l.front() == '#') continue;
    if (l.starts_with("export ")) l = trim(l.substr(7));
    auto eq = l.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return make_error(Errc::invalid_input, std::string(origin) + ":" + std::to_string(number) +
                                                 ": expected KEY=VALUE");
    env_file_[std::string(trim(l.substr(0, eq)))] = unquote(l.substr(eq + 1));
  }
  return {};
}

void Settings::load_environment(const std::vector<std::string>& keys) {
  for (const auto& key : keys)
    if (const char* v = std::getenv(key.c_str())) environment_[key] = v;
}

void Settings::set(const std::string& key, std::string value) {
  flags_[key] = std::move(value);
}

std::optional<std::string> Settings::get(const std::string& key) const {
  for (const auto* layer : {&flags_, &environment_, &env_file_})
    if (auto it = layer->find(key); it != layer->end()) return it->second;
  return std::nullopt;
}

std::string Settings::get_or(const std::string& key, const std::string& fallback) const {
  auto v = get(key);
  return v ? *v : fallback;
}

Result<std::int64_t> Settings::get_int(const std::string& key, std::int64_t fallback,
                                       std::int64_t min, std::int64_t max) const {
  auto v = get(key);
  if (!v || trim(*v).empty()) return fallback;
  auto text = trim(*v);
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc{} || end != text.data() + text.size())
    return make_error(Errc::invalid_input, key + " must be an integer, got '" + *v + "'");
  if (out < min || out > max)
    return make_error(Errc::invalid_input, key + " must be between " + std::to_string(min) +
                                               " and " + std::to_string(max) + ", got " + *v);
  return out;
}

Result<bool> Settings::get_bool(const std::string& key, bool fallback) const {
  auto v = get(key);
  if (!v || trim(*v).empty()) return fallback;
  std::string s(trim(*v));
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return false;
  return make_error(Errc::invalid_input, key + " must be true or false, got '" + *v + "'");
}

std::vector<std::string> Settings::get_list(const std::string& key) const {
  std::vector<std::string> out;
  auto v = get(key);
  if (!v) return out;
  auto text = trim(*v);
  if (text.starts_with("[")) {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(text, ec);
    if (!ec && parsed.is_array()) {
      // Empty items are skipped, as in the comma-separated form (an empty CORS origin).
      for (const auto& item : parsed.as_array())
        if (item.is_string() && !item.as_string().empty()) out.emplace_back(item.as_string());
      return out;
    }
  }
  while (!text.empty()) {
    auto comma = text.find(',');
    auto item = trim(text.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace honeyman
