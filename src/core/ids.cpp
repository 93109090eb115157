#include <sodium.h>

#include <array>
#include <boost/endian/conversion.hpp>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "core/core.hpp"

namespace honeyman {
namespace {

struct SodiumInit {
  SodiumInit() {
    if (sodium_init() < 0) std::abort();  // no CSPRNG: nothing secure can run
  }
};
void ensure_sodium() {
  static const SodiumInit init;
}

std::string format_uuid(const std::array<unsigned char, 16>& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xf]);
  }
  return out;
}

}  // namespace

std::string uuid_v4() {
  ensure_sodium();
  std::array<unsigned char, 16> b;
  randombytes_buf(b.data(), b.size());
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return format_uuid(b);
}

// Ids made in the same millisecond count up from the previous one (RFC 9562 §6.2, method 1)
// instead of being drawn independently: the live feed's replay (`?since=`) reads "ids after the
// client's last one", which is only receipt order if ids of one millisecond are ordered too.
std::string uuid_v7(Timestamp t) {
  ensure_sodium();
  auto ms = static_cast<std::uint64_t>(to_unix_micros(t) / 1000);
  // rand_a: 12 bits after the version nibble; rand_b: 62 bits after the variant bits. A new
  // millisecond draws both with rand_b's top bit clear: 2^61 increments of room, more ids than a
  // millisecond can hold, so counting up never carries.
  static std::mutex mutex;
  static std::uint64_t last_ms = ~std::uint64_t{0}, last_a = 0, last_b = 0;
  std::uint64_t rand_a, rand_b;
  {
    std::lock_guard lock(mutex);
    if (ms == last_ms) {
      ++last_b;
    } else {
      std::uint64_t r[2];
      randombytes_buf(r, sizeof r);
      last_ms = ms;
      last_a = r[0] & 0xfff;
      last_b = r[1] & ((std::uint64_t{1} << 61) - 1);
    }
    rand_a = last_a;
    rand_b = last_b;
  }
  std::array<unsigned char, 16> b;
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  b[6] = static_cast<unsigned char>(0x70 | (rand_a >> 8));
  b[7] = static_cast<unsigned char>(rand_a);
  b[8] = static_cast<unsigned char>(0x80 | (rand_b >> 56));
  for (int i = 9; i < 16; ++i) b[i] = static_cast<unsigned char>(rand_b >> (8 * (15 - i)));
  return format_uuid(b);
}

std::optional<std::string> normalize_uuid(std::string_view s) {
  if (s.size() != 36) return std::nullopt;
  std::string out(s);
  for (std::size_t i = 0; i < out.size(); ++i) {
    char& c = out[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

std::string random_token(std::size_t bytes) {
  ensure_sodium();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  sodium_memzero(raw.data(), raw.size());
  return out;
}

std::string sha256_hex(std::string_view data) {
  ensure_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  // Length is not secret here: callers compare fixed-length hashes.
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool is_valid_sensor_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace honeyman
