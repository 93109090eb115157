// Fuzz targets: one plain function per decoder that takes bytes from outside (MQTT payloads, HTTP
// bodies, query strings, cursors, JWTs, the .env file, WebSocket client messages). Each takes
// any bytes, runs them through the same functions the server runs them through, checks the
// answer's invariants (a refusal says why, an error body is the API's JSON, accepted values are
// in range) and returns 0; a broken invariant aborts with a message on stderr, so a sanitizer,
// libFuzzer and GoogleTest all report it as a failure.
//
// The same functions serve two drivers: the libFuzzer executables of the clang build
// (HONEYMAN_FUZZ=ON, libfuzzer_main.cpp; bench/fuzz runs them) and the FuzzCorpus unit test,
// which feeds every file of fuzz/corpus/<target>/ to its target in the normal GCC build.
//
// Deterministic, no network, no disk, no clock reads (a fixed "now"); thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace honeyman::fuzz {

using TargetFn = int (*)(const std::uint8_t* data, std::size_t size);

struct Target {
  std::string_view name;  // also the corpus folder: fuzz/corpus/<name>/
  TargetFn run;
};

// Every target, in a fixed order.
std::span<const Target> targets();
// The target called `name`, or nullptr.
const Target* find_target(std::string_view name);

// Topic line, then the payload: route_message + decode_payload (ingest), as the MQTT decoder.
int mqtt_payload(const std::uint8_t* data, std::size_t size);
// A POST /threats body (as a sensor and as a user) and a POST /honeypot/data body.
int http_batch(const std::uint8_t* data, std::size_t size);
// First byte picks the route ('0'..'7', see request_body.cpp), the rest is its JSON body.
int request_body(const std::uint8_t* data, std::size_t size);
// A query string of GET /threats (filters, sort, paging, cursor).
int threat_query(const std::uint8_t* data, std::size_t size);
// A keyset cursor, decoded under every sort and direction.
int cursor(const std::uint8_t* data, std::size_t size);
// First byte picks the mode ('0': the bytes are the token; '1': the rest is a claims object
// signed with the known key; '2': header line, then claims, signed): verify_access_token.
int jwt(const std::uint8_t* data, std::size_t size);
// A .env file: Settings::load_env_text and the typed getters.
int env_file(const std::uint8_t* data, std::size_t size);
// A WebSocket text message of a live-feed client: subscribe / filter parsing, filter matching.
int ws_message(const std::uint8_t* data, std::size_t size);

}  // namespace honeyman::fuzz
