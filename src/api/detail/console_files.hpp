// The web console's files in memory: read once from its directory (load_console_files), then
// looked up by name for every request without touching the disk. Also the pure rules of serving
// them (content-coding negotiation, validators), apart from any request or socket so that unit
// tests reach them directly.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "core/core.hpp"

namespace honeyman::api::detail {

enum class Encoding { identity, br, gzip };

struct ConsoleFile {
  std::string content_type;  // by extension; application/octet-stream for unknown ones
  std::string data;          // the file (index.html: with the API prefix put in)
  std::string br, gzip;      // its <name>.br and <name>.gz beside it; empty: none
  std::string etag;          // quoted strong validator of `data`: 16 hex digits of its SHA-256
  bool immutable = false;    // under assets/: hashed names, cached for a year
  bool html = false;         // served with the console's Content-Security-Policy
};

// The representation of `file` sent in `encoding`, and its validator (a content-coding is a
// representation of its own, so its ETag differs: "<hash>-br", "<hash>-gzip").
std::string_view body_of(const ConsoleFile& file, Encoding encoding);
std::string etag_of(const ConsoleFile& file, Encoding encoding);

struct ConsoleFiles {
  std::filesystem::path dir;  // as loaded (canonical)
  // By name relative to `dir`: "index.html", "assets/index-3fa9c1d2.js", ...
  std::map<std::string, ConsoleFile, std::less<>> files;
  std::size_t bytes = 0;     // every file and variant held
  bool prefix_meta = false;  // index.html had the honeyman-api-prefix meta tag
  const ConsoleFile* find(std::string_view name) const;
};

inline constexpr std::size_t kMaxConsoleFileBytes = 16 * 1024 * 1024;

// Reads every regular file under `dir` (recursively) into memory. Names starting with a dot, and
// directories so named, are skipped. `<name>.br` and `<name>.gz` beside `<name>` are its
// precompressed variants, not files of their own. index.html gets `api_prefix` as the content of
// its <meta name="honeyman-api-prefix">, and is served as it is (its variants, rewritten neither,
// are dropped). Errc::invalid_input naming the file for a symbolic link to a place outside `dir`,
// a file over kMaxConsoleFileBytes, an unreadable file or directory, or no index.html.
Result<ConsoleFiles> load_console_files(const std::filesystem::path& dir,
                                        std::string_view api_prefix);

// `html` with the content of its <meta name="honeyman-api-prefix" ...> replaced by `prefix`
// (HTML-escaped); `found` tells whether there was one.
std::string with_api_prefix(std::string_view html, std::string_view prefix, bool& found);

// `text` with & " ' < > as HTML character references (attribute values, text).
std::string html_escape(std::string_view text);

// The content type served for a file name (by its extension).
std::string_view content_type_of(std::string_view name);

// Whether `name` (relative, not served) is a missing file (404) rather than one of the app's own
// routes (index.html): anything under assets/, a name whose last segment starts with a dot, or
// one whose last segment ends in a web file's extension (.js, .css, .png, .txt, .gz, ...). A dot
// alone does not make a file: route segments hold sensor ids, and "lab.1" is one.
bool names_a_file(std::string_view name);

// The coding to send, given the request's Accept-Encoding and the variants the file has: br if
// the client accepts it (q > 0, by name or by "*"), else gzip (or x-gzip), else identity.
Encoding choose_encoding(std::string_view accept_encoding, bool has_br, bool has_gzip);

// If-None-Match: whether `etag` (quoted) is among the listed entity tags, compared weakly (W/
// ignored), or the list is "*".
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace honeyman::api::detail
