// Who the client of a connection or a request is, and the key its limits count under. Pure
// functions; the server resolves the client once per request and uses that one address for the
// rate limit, the logs and the handler (the connection cap, decided before any request, counts
// the peer). docs/DECISIONS.md "Hardening (issue #11): http".
#pragma once

#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/http.hpp"

namespace honeyman::http::detail {

using Address = boost::asio::ip::address;

// `address`, an IPv4-mapped IPv6 address (a dual-stack socket's IPv4 peer) as plain IPv4.
Address unmapped(const Address& address);
bool is_trusted(const Address& peer, const std::vector<IpNetwork>& trusted);

// One hop of a forwarding header: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1",
// "[2001:db8::1]:4711", optionally quoted (Forwarded's quoted-string). Anything else
// ("unknown", an obfuscated "_name", garbage): nullopt.
std::optional<Address> parse_hop(std::string_view text);

// The client of `request`, received from `peer`: the peer itself unless it is a trusted proxy.
// From a trusted proxy, the hops of X-Forwarded-For (every such field, in order) or, when there
// is none, the `for=` of Forwarded, are walked from the right: the first hop that is not a
// trusted proxy is the client; when every hop is one, the leftmost. A hop that cannot be read
// ends the walk at the last trusted hop, which is then the client (a broken chain never lets the
// part left of it choose the address).
Address forwarded_client(const Address& peer, const Request& request,
                         const std::vector<IpNetwork>& trusted);

// The key rate limits and connection caps count under: an IPv4 address as is, an IPv6 address
// by its /64 ("2001:db8:1:2::/64"), since one subscriber or host usually holds a whole /64.
std::string limit_key(const Address& address);

}  // namespace honeyman::http::detail
