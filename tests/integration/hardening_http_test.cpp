// Issue #11, the http part: connection caps (finding 4), credentials on exempt routes and failed
// credential checks (6), trusted proxies (7), request smuggling (9). Clients bind their own
// loopback source address (127.0.0.1, 127.0.0.2) so the server sees two different clients.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

using Env = std::map<std::string, std::string>;
using namespace std::chrono_literals;

// A TCP connection from `source` (a loopback address) to 127.0.0.1:port; -1 on failure.
int connect_from_address(const char* source, std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

struct Exchange {
  std::string received;
  bool closed = false;  // the server closed the connection (EOF or reset) within the time
};

// Sends `bytes` and reads until the server closes the connection or `limit` passes.
Exchange talk(int fd, std::string_view bytes, std::chrono::milliseconds limit = 10s) {
  Exchange out;
  if (!send_all(fd, bytes)) return out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    auto n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      out.closed = true;
      break;
    }
    out.received.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// The status of each response in `text`, in order.
std::vector<int> response_statuses(const std::string& text) {
  static const std::regex line(R"(HTTP/1\.[01] (\d{3}) )");
  std::vector<int> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), line); it != std::sregex_iterator();
       ++it)
    out.push_back(std::stoi((*it)[1]));
  return out;
}

// One request from `source` with Connection: close; the status (0 if none arrived in time).
int status_from(const char* source, std::uint16_t port, const std::string& target,
                const HeaderList& headers = {}, std::chrono::milliseconds limit = 10s) {
  int fd = connect_from_address(source, port);
  if (fd < 0) return 0;
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  auto reply = talk(fd, request + "\r\n", limit);
  close(fd);
  auto found = response_statuses(reply.received);
  return found.empty() ? 0 : found.front();
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// This process holds more than 1,024 connections at once.
void raise_own_open_files_limit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

TEST(HttpConnectionLimits, OneAddressHoldingManyConnectionsDoesNotLockOthersOut) {
  raise_own_open_files_limit();
  ServerProcess server;
  server.set_max_open_files(1024);
  server.start();
  std::vector<int> held;
  for (int i = 0; i < 1100; ++i) {
    int fd = connect_from_address("127.0.0.1", server.port());
    ASSERT_GE(fd, 0) << "connection " << i << ": " << std::strerror(errno);
    send_all(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");  // then idle, kept alive
    held.push_back(fd);
  }
  // Bounded generously: the answer is what is asserted, not how fast it came.
  EXPECT_EQ(status_from("127.0.0.2", server.port(), "/health", {}, 20s), 200) << server.log();
  EXPECT_EQ(status_from("127.0.0.2", server.port(), "/api/v2/health", {}, 20s), 200);
  for (int fd : held) close(fd);
  EXPECT_LE(occurrences(server.log(), "accept failed"), 3u) << server.log();
  EXPECT_TRUE(server.running());
}

TEST(HttpExemptAuth, CredentialsOnHealthAndReadyAreIgnored) {
  ServerProcess server(Env{{"RATE_LIMIT_ENABLED", "true"}, {"LOGIN_RATE_LIMIT_PER_MINUTE", "5"}});
  server.start();
  auto client = server.client();
  for (int i = 0; i < 300; ++i) {
    auto key = "hmk_" + random_text(43);
    ASSERT_EQ(client.get("/health", api_key(key)).status, 200) << i;
  }
  EXPECT_EQ(client.get("/ready", api_key("hmk_" + random_text(43))).status, 200);
  EXPECT_EQ(client.get("/health", bearer("not-a-jwt")).status, 200);
}

TEST(HttpExemptAuth, GuessingKeysOnAProtectedRouteEndsIn429) {
  ServerProcess server(Env{{"RATE_LIMIT_ENABLED", "true"},
                           {"RATE_LIMIT_PER_MINUTE", "1000"},
                           {"LOGIN_RATE_LIMIT_PER_MINUTE", "5"}});
  server.start();
  auto client = server.client();
  int attempts = 0;
  Reply last;
  while (attempts < 50) {
    ++attempts;
    last = client.get("/api/v2/sensors", api_key("hmk_" + random_text(43)));
    if (last.status != 401) break;
  }
  EXPECT_EQ(last.status, 429) << last.body;
  EXPECT_LE(attempts, 6);
  EXPECT_FALSE(last.header("retry-after").empty());
  EXPECT_EQ(client.get("/api/v2/sensors").status, 401);  // no credential: not a guess
}

TEST(HttpTrustedProxies, ForwardedClientsGetTheirOwnBucketsOnlyFromATrustedPeer) {
  ServerProcess server(Env{{"RATE_LIMIT_ENABLED", "true"},
                           {"RATE_LIMIT_PER_MINUTE", "3"},
                           {"TRUSTED_PROXIES", "127.0.0.1/32"}});
  server.start();
  auto port = server.port();
  auto via = [](const char* client) { return HeaderList{{"X-Forwarded-For", client}}; };
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(status_from("127.0.0.1", port, "/api/v2/sensors", via("198.51.100.1")), 401);
  EXPECT_EQ(status_from("127.0.0.1", port, "/api/v2/sensors", via("198.51.100.1")), 429);
  EXPECT_EQ(status_from("127.0.0.1", port, "/api/v2/sensors", via("198.51.100.2")), 401);
  // 127.0.0.2 is no trusted proxy: whatever it claims, it is one client.
  EXPECT_EQ(status_from("127.0.0.2", port, "/api/v2/sensors", via("198.51.100.3")), 401);
  EXPECT_EQ(status_from("127.0.0.2", port, "/api/v2/sensors", via("198.51.100.4")), 401);
  EXPECT_EQ(status_from("127.0.0.2", port, "/api/v2/sensors", via("198.51.100.5")), 401);
  EXPECT_EQ(status_from("127.0.0.2", port, "/api/v2/sensors", via("198.51.100.6")), 429);
}

TEST(HttpTrustedProxies, ABadSettingStopsTheServer) {
  auto r = run_honeyman({"serve"}, {{"TRUSTED_PROXIES", "10.0.0.0/8, proxy.example"},
                                    {"SECRET_KEY", "integration-test-secret-key-0123456789abcdef"},
                                    {"PORT", "0"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("TRUSTED_PROXIES"), std::string::npos) << r.err;
}

class HttpSmuggling : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    key_ = server_->add_sensor("s1", "S1");
    server_->start();
  }
  static void TearDownTestSuite() { delete server_; }

  // A POST whose framing is `framing` (header lines), followed by a complete second request that
  // a server misreading the framing would answer too.
  static Exchange smuggle(const std::string& framing, const std::string& version = "1.1") {
    int fd = connect_from_address("127.0.0.1", server_->port());
    std::string bytes = "POST /api/v2/threats HTTP/" + version +
                        "\r\nHost: x\r\nContent-Type: application/json\r\n" + framing +
                        "\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    auto out = talk(fd, bytes, 5s);
    close(fd);
    return out;
  }

  static ServerProcess* server_;
  static std::string key_;
};
ServerProcess* HttpSmuggling::server_ = nullptr;
std::string HttpSmuggling::key_;

TEST_F(HttpSmuggling, AmbiguousFramingIsRefusedAndTheConnectionClosed) {
  struct Case {
    std::string framing, version;
    int status;
  };
  const std::vector<Case> cases = {
      {"Transfer-Encoding: xchunked", "1.1", 400},
      {"Transfer-Encoding: chunked, identity", "1.1", 400},
      {"Transfer-Encoding: identity", "1.1", 400},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity", "1.1", 400},
      {"Transfer-Encoding: identity\r\nContent-Length: 35", "1.1", 400},
      {"Content-Length: 35\r\nTransfer-Encoding: chunked", "1.1", 400},
      {"Transfer-Encoding: chunked\r\nContent-Length: 35", "1.1", 400},
      {"Transfer-Encoding: chunked", "1.0", 400},
      {"Transfer-Encoding: gzip, chunked", "1.1", 501},
  };
  for (const auto& c : cases) {
    auto reply = smuggle(c.framing, c.version);
    EXPECT_EQ(response_statuses(reply.received), std::vector<int>{c.status})
        << c.framing << " (HTTP/" << c.version << "):\n"
        << reply.received;
    EXPECT_TRUE(reply.closed) << c.framing;
    EXPECT_NE(reply.received.find("\"detail\""), std::string::npos) << reply.received;
  }
  EXPECT_EQ(server_->client().get("/health").status, 200);
}

TEST_F(HttpSmuggling, ChunkedBodiesStillWork) {
  std::string body = R"({"detector_type":"usb","severity":"low","threat_type":"chunked"})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size() - 10);
  std::string bytes = "POST /api/v2/threats HTTP/1.1\r\nHost: x\r\nX-API-Key: " + key_ +
                      "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                      "Connection: close\r\n\r\n" +
                      std::string(size) + "\r\n" + body.substr(0, body.size() - 10) + "\r\na\r\n" +
                      body.substr(body.size() - 10) + "\r\n0\r\n\r\n";
  int fd = connect_from_address("127.0.0.1", server_->port());
  auto reply = talk(fd, bytes);
  close(fd);
  EXPECT_EQ(response_statuses(reply.received), std::vector<int>{201}) << reply.received;
}

}  // namespace
}  // namespace honeyman::testing
