#include "http/detail/client_address.hpp"

#include <algorithm>
#include <array>
#include <boost/beast/core/string.hpp>
#include <charconv>

namespace honeyman::http {
namespace ip = boost::asio::ip;
using detail::Address;

namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 5 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<Address> address_of(std::string_view text) {
  boost::system::error_code ec;
  auto address = ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return detail::unmapped(address);
}

// The bytes of an address (4 or 16) and a prefix applied to them: the network's or the
// address's leading `prefix` bits.
template <std::size_t N>
bool same_prefix(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                 unsigned prefix) {
  for (std::size_t i = 0; i < N && prefix > 0; ++i, prefix = prefix >= 8 ? prefix - 8 : 0) {
    const unsigned mask = prefix >= 8 ? 0xFFu : (0xFFu << (8 - prefix)) & 0xFFu;
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

template <std::size_t N>
void clear_host_bits(std::array<unsigned char, N>& bytes, unsigned prefix) {
  for (std::size_t i = 0; i < N; ++i) {
    const unsigned keep = prefix >= 8 * (i + 1) ? 8 : prefix > 8 * i ? prefix - 8 * i : 0;
    bytes[i] &= static_cast<unsigned char>((0xFFu << (8 - keep)) & 0xFFu);
  }
}

Result<IpNetwork> parse_network(std::string_view entry) {
  auto invalid = [&] {
    // Appended, not `"'" + std::string(entry)`: GCC 12 at -O3 warns falsely on that form
    // (-Wstringop-overflow on the inlined insert).
    std::string message = "'";
    message.append(entry).append("' is not an IP address or network (CIDR)");
    return make_error(Errc::invalid_input, message);
  };
  auto slash = entry.find('/');
  auto address = address_of(entry.substr(0, slash));
  if (!address) return invalid();
  const unsigned width = address->is_v4() ? 32 : 128;
  unsigned prefix = width;
  if (slash != std::string_view::npos) {
    auto digits = entry.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        prefix > width)
      return invalid();
  }
  if (address->is_v4()) {
    auto bytes = address->to_v4().to_bytes();
    clear_host_bits(bytes, prefix);
    return IpNetwork{ip::make_address_v4(bytes), prefix};
  }
  auto bytes = address->to_v6().to_bytes();
  clear_host_bits(bytes, prefix);
  return IpNetwork{ip::make_address_v6(bytes), prefix};
}

// Splits `s` at `separator` outside double quotes (Forwarded values may quote a ',' or ';').
std::vector<std::string_view> split_unquoted(std::string_view s, char separator) {
  std::vector<std::string_view> out;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == separator && !quoted) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

// The hops of every X-Forwarded-For field, leftmost first; list elements that are empty are
// dropped, as for any HTTP list.
std::vector<std::string_view> x_forwarded_for(const Request& request) {
  std::vector<std::string_view> hops;
  auto [begin, end] = request.equal_range("X-Forwarded-For");
  for (auto it = begin; it != end; ++it)
    for (auto hop : split_unquoted(it->value(), ','))
      if (!trim_ows(hop).empty()) hops.push_back(trim_ows(hop));
  return hops;
}

// The `for=` value of each Forwarded element, leftmost first; an element without one gives ""
// (which no hop parser accepts, so the walk stops there).
std::vector<std::string_view> forwarded_for(const Request& request) {
  std::vector<std::string_view> hops;
  auto [begin, end] = request.equal_range("Forwarded");
  for (auto it = begin; it != end; ++it) {
    for (auto element : split_unquoted(it->value(), ',')) {
      if (trim_ows(element).empty()) continue;
      std::string_view value;
      for (auto pair : split_unquoted(element, ';')) {
        pair = trim_ows(pair);
        if (pair.size() > 4 && boost::beast::iequals(pair.substr(0, 4), "for="))
          value = pair.substr(4);
      }
      hops.push_back(value);
    }
  }
  return hops;
}

}  // namespace

bool IpNetwork::contains(const Address& address) const {
  auto a = detail::unmapped(address);
  if (a.is_v4() != network.is_v4()) return false;
  if (a.is_v4()) return same_prefix(a.to_v4().to_bytes(), network.to_v4().to_bytes(), prefix);
  return same_prefix(a.to_v6().to_bytes(), network.to_v6().to_bytes(), prefix);
}

Result<std::vector<IpNetwork>> parse_networks(std::string_view list) {
  std::vector<IpNetwork> out;
  for (auto entry : split_unquoted(list, ',')) {
    entry = trim_ows(entry);
    if (entry.empty()) continue;
    auto network = parse_network(entry);
    if (!network) return network.error();
    out.push_back(*network);
  }
  return out;
}

namespace detail {

Address unmapped(const Address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  return address;
}

bool is_trusted(const Address& peer, const std::vector<IpNetwork>& trusted) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const IpNetwork& n) { return n.contains(peer); });
}

std::optional<Address> parse_hop(std::string_view text) {
  text = trim_ows(text);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"')
    text = text.substr(1, text.size() - 2);
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    auto rest = text.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && all_digits(rest.substr(1)))) return std::nullopt;
    auto address = address_of(text.substr(1, close - 1));
    if (!address || address->is_v4()) return std::nullopt;
    return address;
  }
  if (std::count(text.begin(), text.end(), ':') == 1) {  // IPv4 with a port
    auto colon = text.find(':');
    if (!all_digits(text.substr(colon + 1))) return std::nullopt;
    auto address = address_of(text.substr(0, colon));
    if (!address || !address->is_v4()) return std::nullopt;
    return address;
  }
  return address_of(text);
}

Address forwarded_client(const Address& peer, const Request& request,
                         const std::vector<IpNetwork>& trusted) {
  Address current = unmapped(peer);
  if (!is_trusted(current, trusted)) return current;
  auto hops = x_forwarded_for(request);
  if (hops.empty()) hops = forwarded_for(request);
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    auto address = parse_hop(*hop);
    if (!address) break;
    current = *address;
    if (!is_trusted(current, trusted)) break;
  }
  return current;
}

std::string limit_key(const Address& address) {
  auto a = unmapped(address);
  if (a.is_v4()) return a.to_string();
  auto bytes = a.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return ip::make_address_v6(bytes).to_string() + "/64";
}

}  // namespace detail
}  // namespace honeyman::http
