#include "api/detail/console_files.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <utility>

namespace honeyman::api::detail {
namespace {

namespace fs = std::filesystem;

constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

// What a browser or a scanner asks for as a file; a missing one of these is a 404, not the app.
constexpr std::string_view kFileExtensions[] = {
    "html", "htm",  "js",   "mjs",  "cjs",         "css",  "map",   "json", "svg",  "png", "jpg",
    "jpeg", "gif",  "webp", "avif", "ico",         "woff", "woff2", "ttf",  "otf",  "eot", "txt",
    "xml",  "wasm", "pdf",  "csv",  "webmanifest", "br",   "gz",    "zst",  "php",  "asp", "aspx",
    "env",  "bak",  "sql",  "zip",  "tar",         "tgz",  "ini",   "yml",  "yaml", "cgi", "jsp"};

Error bad(const fs::path& path, const std::string& what) {
  return make_error(Errc::invalid_input, path.string() + ": " + what);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// Calls `each` with every comma-separated element of a header list, trimmed, empty ones left out.
template <typename F>
void for_each_element(std::string_view list, F each) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto element = trim(list.substr(0, comma));
    if (!element.empty()) each(element);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
}

// Both paths canonical: is `target` `root` or below it?
bool inside(const fs::path& root, const fs::path& target) {
  auto [r, t] = std::mismatch(root.begin(), root.end(), target.begin(), target.end());
  return r == root.end();
}

Result<std::string> read_whole(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad(path, "cannot be read");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return bad(path, "cannot be read");
  if (data.size() > kMaxConsoleFileBytes) return bad(path, "larger than 16 MB");
  return data;
}

// One entry of the directory walk: a regular file is read into `raw` under its relative name.
Status add_entry(const fs::path& root, fs::recursive_directory_iterator& it,
                 std::map<std::string, std::string>& raw) {
  const auto& path = it->path();
  if (path.filename().string().starts_with('.')) {
    it.disable_recursion_pending();  // a dot-directory: none of it
    return {};
  }
  std::error_code ec;
  if (it->is_symlink(ec)) {
    // Linked directories are not walked (their files are in the directory anyway, or they are
    // not the console's); a link to a place outside is refused, file or directory.
    auto target = fs::weakly_canonical(path, ec);
    if (ec || !inside(root, target))
      return bad(path, "a symbolic link out of the directory (to " + target.string() + ")");
  }
  if (!it->is_regular_file(ec)) return {};
  auto size = it->file_size(ec);
  if (ec) return bad(path, "cannot be read: " + ec.message());
  if (size > kMaxConsoleFileBytes) return bad(path, "larger than 16 MB");
  auto data = read_whole(path);
  if (!data) return data.error();
  raw.emplace(path.lexically_relative(root).generic_string(), std::move(*data));
  return {};
}

bool is_variant(const std::string& name, const std::map<std::string, std::string>& raw) {
  if (!name.ends_with(".br") && !name.ends_with(".gz")) return false;
  return raw.contains(name.substr(0, name.size() - 3));
}

std::string take(std::map<std::string, std::string>& raw, const std::string& name) {
  auto it = raw.find(name);
  return it == raw.end() ? std::string() : std::move(it->second);
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string_view body_of(const ConsoleFile& file, Encoding encoding) {
  switch (encoding) {
    case Encoding::br:
      return file.br;
    case Encoding::gzip:
      return file.gzip;
    case Encoding::identity:
      break;
  }
  return file.data;
}

std::string etag_of(const ConsoleFile& file, Encoding encoding) {
  if (encoding == Encoding::identity) return file.etag;
  auto tag = file.etag.substr(0, file.etag.size() - 1);  // without the closing quote
  return tag + (encoding == Encoding::br ? "-br\"" : "-gzip\"");
}

const ConsoleFile* ConsoleFiles::find(std::string_view name) const {
  auto it = files.find(name);
  return it == files.end() ? nullptr : &it->second;
}

std::string_view content_type_of(std::string_view name) {
  for (const auto& [extension, type] : kTypes)
    if (name.size() > extension.size() && name.ends_with(extension)) return type;
  return "application/octet-stream";
}

std::string with_api_prefix(std::string_view html, std::string_view prefix, bool& found) {
  // A load-time rewrite of one small file: regular expressions are clear enough and cost nothing
  // per request. Attributes may come in any order, quoted either way.
  static const std::regex meta(R"(<meta\s[^>]*>)", std::regex::icase);
  static const std::regex name(R"(\sname\s*=\s*["']?honeyman-api-prefix["'\s/>])",
                               std::regex::icase);
  static const std::regex content(R"(\scontent\s*=\s*("[^"]*"|'[^']*'))", std::regex::icase);
  found = false;
  std::string text(html);
  for (std::sregex_iterator it(text.begin(), text.end(), meta), end; it != end; ++it) {
    auto tag = it->str();
    std::smatch value;
    if (!std::regex_search(tag, name) || !std::regex_search(tag, value, content)) continue;
    found = true;
    auto at = static_cast<std::size_t>(it->position() + value.position(1));
    return text.replace(at, static_cast<std::size_t>(value.length(1)),
                        "\"" + html_escape(prefix) + "\"");
  }
  return text;
}

bool names_a_file(std::string_view name) {
  if (name.starts_with("assets/")) return true;
  auto slash = name.rfind('/');
  auto last = slash == std::string_view::npos ? name : name.substr(slash + 1);
  if (last.starts_with('.')) return true;
  auto dot = last.rfind('.');
  if (dot == std::string_view::npos) return false;
  auto extension = last.substr(dot + 1);
  return std::any_of(std::begin(kFileExtensions), std::end(kFileExtensions),
                     [&](std::string_view known) { return iequals(extension, known); });
}

Encoding choose_encoding(std::string_view accept_encoding, bool has_br, bool has_gzip) {
  std::optional<bool> br, gzip;
  bool any = false;
  for_each_element(accept_encoding, [&](std::string_view element) {
    auto semicolon = element.find(';');
    auto coding = trim(element.substr(0, semicolon));
    bool accepted = true;
    // q=0, q=0.0, q=0.000: refused; any other weight accepts.
    for (auto rest = semicolon == std::string_view::npos ? std::string_view{}
                                                         : element.substr(semicolon + 1);
         !rest.empty();) {
      auto next = rest.find(';');
      auto param = trim(rest.substr(0, next));
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
        accepted = param.substr(2).find_first_of("123456789") != std::string_view::npos;
      rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    }
    if (iequals(coding, "br"))
      br = accepted;
    else if (iequals(coding, "gzip") || iequals(coding, "x-gzip"))
      gzip = gzip.value_or(false) || accepted;
    else if (coding == "*")
      any = accepted;
  });
  if (has_br && br.value_or(any)) return Encoding::br;
  if (has_gzip && gzip.value_or(any)) return Encoding::gzip;
  return Encoding::identity;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  bool match = false;
  for_each_element(if_none_match, [&](std::string_view tag) {
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    match = match || tag == "*" || tag == etag;
  });
  return match;
}

Result<ConsoleFiles> load_console_files(const fs::path& dir, std::string_view api_prefix) {
  std::error_code ec;
  auto root = fs::canonical(dir, ec);
  if (ec) return bad(dir, "cannot be opened: " + ec.message());
  if (!fs::is_directory(root, ec)) return bad(dir, "is not a directory");
  std::map<std::string, std::string> raw;
  fs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec))
    if (auto added = add_entry(root, it, raw); !added) return added.error();
  if (ec) return bad(root, "cannot be read: " + ec.message());

  ConsoleFiles out;
  out.dir = root;
  for (auto& [name, data] : raw) {
    if (is_variant(name, raw)) continue;
    ConsoleFile file;
    file.content_type = content_type_of(name);
    file.html = name.ends_with(".html");
    file.immutable = name.starts_with("assets/");
    file.br = take(raw, name + ".br");
    file.gzip = take(raw, name + ".gz");
    file.data = std::move(data);
    if (name == "index.html") {
      file.data = with_api_prefix(file.data, api_prefix, out.prefix_meta);
      file.br.clear();  // made of the file before the rewrite
      file.gzip.clear();
    }
    file.etag = "\"" + sha256_hex(file.data).substr(0, 16) + "\"";
    out.bytes += file.data.size() + file.br.size() + file.gzip.size();
    out.files.emplace(name, std::move(file));
  }
  if (!out.find("index.html"))
    return bad(root, "has no index.html: not a built console (scripts/build-web builds web/dist)");
  return out;
}

}  // namespace honeyman::api::detail
