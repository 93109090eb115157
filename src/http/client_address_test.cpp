// TRUSTED_PROXIES parsing, the choice of the client address behind proxies, and the limit keys.
#include "http/detail/client_address.hpp"

#include <gtest/gtest.h>

namespace honeyman::http::detail {
namespace {

Address ip_of(const char* text) {
  return boost::asio::ip::make_address(text);
}

std::vector<IpNetwork> networks_of(std::string_view list) {
  auto parsed = parse_networks(list);
  EXPECT_TRUE(parsed) << list;
  return parsed ? *parsed : std::vector<IpNetwork>{};
}

Request request_with(std::vector<std::pair<std::string, std::string>> fields) {
  Request r{Verb::get, "/", 11};
  for (auto& [name, value] : fields) r.insert(name, value);
  return r;
}

TEST(IpNetworks, ParsesIpv4AndIpv6ListsAndClearsHostBits) {
  auto list = networks_of(" 10.1.2.3/8, 192.0.2.7 ,2001:db8::1/32,, ::1 ");
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[0].network.to_string(), "10.0.0.0");
  EXPECT_EQ(list[0].prefix, 8u);
  EXPECT_EQ(list[1].prefix, 32u);
  EXPECT_EQ(list[2].network.to_string(), "2001:db8::");
  EXPECT_EQ(list[2].prefix, 32u);
  EXPECT_EQ(list[3].prefix, 128u);
  EXPECT_TRUE(networks_of("").empty());
}

TEST(IpNetworks, RefusesWhatIsNotANetwork) {
  for (auto bad : {"10.0.0.0/33", "2001:db8::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8",
                   "example.org", "10.0.0.0/8/8", "10.0.0.0/-1"}) {
    auto parsed = parse_networks(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, Errc::invalid_input);
    EXPECT_NE(parsed.error().message.find(bad), std::string::npos) << parsed.error().message;
  }
}

TEST(IpNetworks, ContainsComparesThePrefixOnly) {
  auto list = networks_of("10.0.0.0/8, 192.0.2.128/25, 2001:db8:aa::/48, 0.0.0.0/0");
  EXPECT_TRUE(list[0].contains(ip_of("10.255.1.1")));
  EXPECT_FALSE(list[0].contains(ip_of("11.0.0.1")));
  EXPECT_TRUE(list[1].contains(ip_of("192.0.2.200")));
  EXPECT_FALSE(list[1].contains(ip_of("192.0.2.127")));
  EXPECT_TRUE(list[2].contains(ip_of("2001:db8:aa:ffff::1")));
  EXPECT_FALSE(list[2].contains(ip_of("2001:db8:ab::1")));
  EXPECT_TRUE(list[0].contains(ip_of("::ffff:10.0.0.1")));  // dual-stack socket's IPv4 peer
  EXPECT_FALSE(list[0].contains(ip_of("2001:db8::1")));
  EXPECT_TRUE(list[3].contains(ip_of("203.0.113.9")));
  EXPECT_FALSE(list[3].contains(ip_of("::1")));
}

TEST(ForwardedClient, AnUntrustedPeerIsTheClientWhateverItClaims) {
  auto trusted = networks_of("10.0.0.0/8");
  auto spoofed =
      request_with({{"X-Forwarded-For", "198.51.100.1"}, {"Forwarded", "for=198.51.100.2"}});
  EXPECT_EQ(forwarded_client(ip_of("203.0.113.5"), spoofed, trusted), ip_of("203.0.113.5"));
  EXPECT_EQ(forwarded_client(ip_of("203.0.113.5"), spoofed, {}), ip_of("203.0.113.5"));
}

TEST(ForwardedClient, TakesTheRightmostHopThatIsNotATrustedProxy) {
  auto trusted = networks_of("10.0.0.0/8, 2001:db8:1::/48");
  auto peer = ip_of("10.0.0.1");
  // The client wrote "1.1.1.1" itself; the edge proxy appended what it saw, 198.51.100.7; an
  // inner proxy (10.0.0.9) appended the edge proxy.
  auto chain =
      request_with({{"X-Forwarded-For", "1.1.1.1, 198.51.100.7"}, {"X-Forwarded-For", "10.0.0.9"}});
  EXPECT_EQ(forwarded_client(peer, chain, trusted), ip_of("198.51.100.7"));
  auto one = request_with({{"X-Forwarded-For", "198.51.100.8"}});
  EXPECT_EQ(forwarded_client(peer, one, trusted), ip_of("198.51.100.8"));
  auto v6 = request_with({{"X-Forwarded-For", "2001:db8:2::5, 2001:db8:1::1"}});
  EXPECT_EQ(forwarded_client(peer, v6, trusted), ip_of("2001:db8:2::5"));
  // Every hop a proxy: the leftmost is as far as anyone can tell.
  auto internal = request_with({{"X-Forwarded-For", "10.0.0.3, 10.0.0.2"}});
  EXPECT_EQ(forwarded_client(peer, internal, trusted), ip_of("10.0.0.3"));
  // No header: the proxy itself.
  EXPECT_EQ(forwarded_client(peer, request_with({}), trusted), peer);
  EXPECT_EQ(forwarded_client(ip_of("::ffff:10.0.0.1"), one, trusted), ip_of("198.51.100.8"));
}

TEST(ForwardedClient, ReadsForwardedWhenThereIsNoXForwardedFor) {
  auto trusted = networks_of("10.0.0.0/8");
  auto peer = ip_of("10.0.0.1");
  auto forwarded =
      request_with({{"Forwarded", R"(for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https)"}});
  EXPECT_EQ(forwarded_client(peer, forwarded, trusted), ip_of("2001:db8:cafe::17"));
  auto params = request_with({{"Forwarded", "proto=http;FOR=198.51.100.3:80;by=10.0.0.1"}});
  EXPECT_EQ(forwarded_client(peer, params, trusted), ip_of("198.51.100.3"));
  auto both =
      request_with({{"Forwarded", "for=198.51.100.3"}, {"X-Forwarded-For", "198.51.100.4"}});
  EXPECT_EQ(forwarded_client(peer, both, trusted), ip_of("198.51.100.4"));
}

TEST(ForwardedClient, AMalformedHopEndsTheWalkAtTheLastTrustedHop) {
  auto trusted = networks_of("10.0.0.0/8");
  auto peer = ip_of("10.0.0.1");
  for (auto value : {"garbage", "198.51.100.1, not-an-ip", "unknown", "_hidden", "1.2.3.4:port",
                     "[2001:db8::1", "[2001:db8::1]x", "[1.2.3.4]", "2001:db8::1:", ""}) {
    EXPECT_EQ(forwarded_client(peer, request_with({{"X-Forwarded-For", value}}), trusted), peer)
        << value;
  }
  // The inner proxy's hop is readable, the edge's is not: the inner proxy's address stands.
  auto partial = request_with({{"X-Forwarded-For", "junk, 10.0.0.7"}});
  EXPECT_EQ(forwarded_client(peer, partial, trusted), ip_of("10.0.0.7"));
  auto no_for = request_with({{"Forwarded", "proto=https"}});
  EXPECT_EQ(forwarded_client(peer, no_for, trusted), peer);
  auto obfuscated = request_with({{"Forwarded", "for=_gazonk"}});
  EXPECT_EQ(forwarded_client(peer, obfuscated, trusted), peer);
}

TEST(ForwardedClient, ParsesHopsWithPortsAndQuotes) {
  EXPECT_EQ(parse_hop("192.0.2.1"), ip_of("192.0.2.1"));
  EXPECT_EQ(parse_hop(" 192.0.2.1:8080 "), ip_of("192.0.2.1"));
  EXPECT_EQ(parse_hop("2001:db8::1"), ip_of("2001:db8::1"));
  EXPECT_EQ(parse_hop("[2001:db8::1]"), ip_of("2001:db8::1"));
  EXPECT_EQ(parse_hop("\"[2001:db8::1]:443\""), ip_of("2001:db8::1"));
  EXPECT_EQ(parse_hop("::ffff:192.0.2.1"), ip_of("192.0.2.1"));
  EXPECT_FALSE(parse_hop("192.0.2.1:"));
  EXPECT_FALSE(parse_hop("192.0.2.1:123456"));
  EXPECT_FALSE(parse_hop("example.org"));
}

TEST(LimitKeys, Ipv4AsIsIpv6ByItsSlash64) {
  EXPECT_EQ(limit_key(ip_of("192.0.2.1")), "192.0.2.1");
  EXPECT_EQ(limit_key(ip_of("::ffff:192.0.2.1")), "192.0.2.1");
  EXPECT_EQ(limit_key(ip_of("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(limit_key(ip_of("2001:db8:1:2:bbbb::9")), limit_key(ip_of("2001:db8:1:2::1")));
  EXPECT_NE(limit_key(ip_of("2001:db8:1:3::1")), limit_key(ip_of("2001:db8:1:2::1")));
  EXPECT_EQ(limit_key(ip_of("::1")), "::/64");
}

}  // namespace
}  // namespace honeyman::http::detail
