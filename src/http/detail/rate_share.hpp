// The wire format of the rate-limit usage exchanged between instances (RateLimitSharing):
//   {"type":"rate_usage","data":{"instance":"<id>","usage":[["<key>",<per_minute>,<count>],...]}}
// Pure functions; the transport adds nothing to it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/http.hpp"

namespace honeyman::http::detail {

// Bounds of a usage entry: anything outside is not a real client's usage and is skipped.
inline constexpr int kMaxSharedLimit = 1'000'000;       // per_minute and count: 1 .. this
inline constexpr std::size_t kMaxSharedKeyBytes = 256;  // a client address with "login|"

std::string encode_rate_usage(std::string_view instance, const std::vector<RateUsage>& usage);

// The usage a frame reports, when it comes from another instance than `self`; nothing for a
// frame of `self` or a malformed one. Entries that are malformed or out of bounds are skipped,
// the others kept.
std::vector<RateUsage> decode_rate_usage(std::string_view frame, std::string_view self);

}  // namespace honeyman::http::detail
