// Issue #11, finding 2: the WebSocket live feed must not let a viewer grow the server's memory.
// Raw clients attack the real binary: one sends 60 KB text frames of control bytes (each echo used
// to be ~6x larger, queued up to 1,024 of them) and never reads; one trickles a byte at a time
// and never reads; one user opens more connections than allowed. An honest reader keeps getting
// everything meanwhile.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "integration/harness.hpp"
#include "support/ws_client.hpp"

namespace honeyman::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr int kEdgeIdleSeconds = 4;
constexpr int kEdgeMaxPerUser = 3;

// The `honeyman serve` this test process started (its only child running serve).
pid_t edge_server_pid() {
  namespace fs = std::filesystem;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line;
    bool child = false;
    while (std::getline(status, line))
      if (line.starts_with("PPid:")) child = std::stol(line.substr(5)) == getpid();
    if (!child) continue;
    auto cmdline = read_file((entry.path() / "cmdline").string());
    if (cmdline.find(std::string("serve\0", 6)) != std::string::npos) return std::stoi(name);
  }
  return -1;
}

// A field of /proc/<pid>/status in KiB (VmRSS: now, VmHWM: the peak since start).
long edge_status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with(field + ":")) return std::stol(line.substr(field.size() + 1));
  return -1;
}

// A WebSocket client on a bare non-blocking socket: it upgrades, then only sends what the test
// says and reads nothing unless asked (a peer that never reads).
class EdgeRawClient {
 public:
  EdgeRawClient(std::uint16_t port, const std::string& token) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;  // a small receive buffer: what the server sends piles up on its side
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    timeval handshake_limit{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &handshake_limit, sizeof handshake_limit);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
    std::string upgrade = "GET /api/v2/ws?token=" + token +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
    if (::send(fd_, upgrade.data(), upgrade.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(upgrade.size()))
      return;
    std::string head;
    char ch;
    while (!head.ends_with("\r\n\r\n") && ::recv(fd_, &ch, 1, 0) == 1) head += ch;
    upgraded_ = head.starts_with("HTTP/1.1 101");
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  }
  ~EdgeRawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  EdgeRawClient(const EdgeRawClient&) = delete;
  EdgeRawClient& operator=(const EdgeRawClient&) = delete;

  bool upgraded() const { return upgraded_; }

  // A masked text frame (mask key 0, so the payload goes as it is) of `n` bytes of `fill`.
  static std::string text_frame(std::size_t n, char fill) {
    std::string f(1, static_cast<char>(0x81));
    if (n < 126) {
      f += static_cast<char>(0x80 | n);
    } else {
      f += static_cast<char>(0x80 | 126);
      f += static_cast<char>((n >> 8) & 0xff);
      f += static_cast<char>(n & 0xff);
    }
    f.append(4, '\0');
    f.append(n, fill);
    return f;
  }

  // Sends `bytes` within `limit`; false once the server has closed the connection (or time ran
  // out with the bytes not all sent: see closed()).
  bool send_within(std::string_view bytes, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!bytes.empty() && !closed_) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        closed_ = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      pollfd p{fd_, POLLOUT, 0};
      poll(&p, 1, 50);
      if (p.revents & (POLLERR | POLLHUP)) closed_ = true;
    }
    return !closed_;
  }

  // Reads (and discards) until the server closes the connection or `limit` passes.
  bool wait_closed(std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[65536];
    while (!closed_ && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      poll(&p, 1, 50);
      auto n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) closed_ = true;
    }
    return closed_;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool upgraded_ = false;
  bool closed_ = false;
};

// Reads a WebSocket on its own thread (answering pings as it reads) and keeps the threat types.
class EdgeReader {
 public:
  EdgeReader(std::uint16_t port, const std::string& token) : ws_("127.0.0.1", port) {
    status_ = ws_.connect("/api/v2/ws?token=" + token);
    thread_ = std::thread([this] {
      while (!stop_) {
        auto m = ws_.next(200ms);
        if (ws_.closed()) break;
        if (!m) continue;
        auto* type = m->as_object().if_contains("type");
        if (type && *type == "threat") {
          std::lock_guard lock(mutex_);
          seen_.push_back(std::string(m->at("data").at("threat_type").as_string()));
        }
      }
    });
  }
  ~EdgeReader() {
    stop_ = true;
    thread_.join();
  }
  int status() const { return status_; }
  bool saw(const std::string& type) {
    std::lock_guard lock(mutex_);
    return std::find(seen_.begin(), seen_.end(), type) != seen_.end();
  }

 private:
  WsClient ws_;
  int status_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> seen_;
  std::thread thread_;
};

class EdgeWsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = Fleet::start({{"WS_IDLE_TIMEOUT", std::to_string(kEdgeIdleSeconds)},
                           {"WS_MAX_CONNECTIONS_PER_USER", std::to_string(kEdgeMaxPerUser)}})
                 .release();
  }
  static void TearDownTestSuite() {
    delete fleet_;
    fleet_ = nullptr;
  }
  static std::uint16_t port() { return fleet_->server->port(); }
  static void post_threat(const std::string& type) {
    auto reply = fleet_->server->client().post(
        "/api/v2/threats",
        json::object{{"threat_type", type}, {"detector_type", "wifi"}, {"severity", "high"}},
        api_key(fleet_->sensor_a_key));
    EXPECT_EQ(reply.status, 201) << reply.body;
  }

  static Fleet* fleet_;
};
Fleet* EdgeWsTest::fleet_ = nullptr;

// The reported attack: 60 KB frames of control bytes, sent as fast as possible, never reading.
// The server's peak RSS used to grow by hundreds of MB (each echo ~360 KB, 1,024 of them
// queued); now it stays within a few MB of where it was, and the attacker is dropped.
TEST_F(EdgeWsTest, AClientThatSendsBigFramesAndNeverReadsCannotGrowServerMemory) {
  auto pid = edge_server_pid();
  ASSERT_GT(pid, 0);
  EdgeReader honest(port(), fleet_->analyst);
  ASSERT_EQ(honest.status(), 101);
  const long before_kib = edge_status_kib(pid, "VmRSS");
  ASSERT_GT(before_kib, 0);

  EdgeRawClient attacker(port(), fleet_->admin);
  ASSERT_TRUE(attacker.upgraded());
  const auto frame = EdgeRawClient::text_frame(60'000, '\x01');
  auto deadline = std::chrono::steady_clock::now() + 30s;
  int sent = 0;
  while (sent < 3000 && std::chrono::steady_clock::now() < deadline &&
         attacker.send_within(frame, 1s))
    ++sent;
  post_threat("edge-during-attack");
  EXPECT_TRUE(attacker.wait_closed(std::chrono::seconds(3 * kEdgeIdleSeconds)))
      << "the attacker (" << sent << " frames sent) was never dropped";

  const long peak_kib = edge_status_kib(pid, "VmHWM");
  EXPECT_LT(peak_kib - before_kib, 64 * 1024)
      << "peak RSS grew from " << before_kib / 1024 << " MiB to " << peak_kib / 1024
      << " MiB after " << sent << " frames of 60 KB";
  EXPECT_TRUE(eventually([&] { return honest.saw("edge-during-attack"); }, 10s))
      << "the honest reader must still get every threat";
}

// A byte every half second keeps no connection alive: only pongs (proof of reading) count.
TEST_F(EdgeWsTest, TricklingBytesWithoutReadingDoesNotHoldAConnection) {
  EdgeRawClient trickler(port(), fleet_->admin);
  ASSERT_TRUE(trickler.upgraded());
  // The header of a 60,000-byte frame, then its payload a byte at a time: never a whole frame.
  auto frame = EdgeRawClient::text_frame(60'000, 'a');
  auto start = std::chrono::steady_clock::now();
  std::size_t at = 0;
  while (!trickler.closed() && std::chrono::steady_clock::now() - start < 5s * kEdgeIdleSeconds) {
    std::size_t n = at == 0 ? 8 : 1;
    trickler.send_within(std::string_view(frame).substr(at, n), 1s);
    at += n;
    std::this_thread::sleep_for(500ms);  // the trickle itself is what is under test
  }
  EXPECT_TRUE(trickler.closed() || trickler.wait_closed(1s))
      << "a client trickling bytes and answering no ping was kept for " << 5 * kEdgeIdleSeconds
      << " s (WS_IDLE_TIMEOUT=" << kEdgeIdleSeconds << ")";
}

// A reader that answers pings stays past the idle timeout, even when it sends nothing.
TEST_F(EdgeWsTest, AQuietReaderIsKept) {
  WsClient quiet("127.0.0.1", port());
  ASSERT_EQ(quiet.connect("/api/v2/ws?token=" + fleet_->analyst), 101);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3 * kEdgeIdleSeconds);
  while (std::chrono::steady_clock::now() < until) quiet.next(500ms);
  EXPECT_FALSE(quiet.closed());
  ASSERT_TRUE(quiet.send("still here"));
  auto echo = quiet.next_of_type("echo");
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->at("data"), "still here");
}

// Echoes are capped: a long message is answered with a short error, not repeated.
TEST_F(EdgeWsTest, LongMessagesAreNotEchoed) {
  WsClient ws("127.0.0.1", port());
  ASSERT_EQ(ws.connect("/api/v2/ws?token=" + fleet_->analyst), 101);
  ASSERT_TRUE(ws.send(std::string(4096, 'e')));
  auto echo = ws.next_of_type("echo");
  ASSERT_TRUE(echo);
  EXPECT_EQ(echo->at("data").as_string().size(), 4096u);
  ASSERT_TRUE(ws.send(std::string(20'000, '\x01')));
  auto error = ws.next_of_type("error");
  ASSERT_TRUE(error);
  EXPECT_NE(std::string(error->at("detail").as_string()).find("too long to echo"),
            std::string::npos);
}

TEST_F(EdgeWsTest, ConnectionsPerUserAreCappedBeforeTheUpgrade) {
  std::vector<WsClient> held;
  for (int i = 0; i < kEdgeMaxPerUser; ++i) {
    held.emplace_back("127.0.0.1", port());
    ASSERT_EQ(held.back().connect("/api/v2/ws?token=" + fleet_->viewer), 101) << i;
  }
  WsClient extra("127.0.0.1", port());
  EXPECT_EQ(extra.connect("/api/v2/ws?token=" + fleet_->viewer), 429);
  EXPECT_NE(extra.refusal_body().find("at most 3"), std::string::npos) << extra.refusal_body();
  // Another user is not affected; a closed connection frees its place.
  WsClient other("127.0.0.1", port());
  EXPECT_EQ(other.connect("/api/v2/ws?token=" + fleet_->analyst), 101);
  held.front().close();
  EXPECT_TRUE(eventually(
      [&] {
        WsClient again("127.0.0.1", port());
        return again.connect("/api/v2/ws?token=" + fleet_->viewer) == 101;
      },
      10s));
}

}  // namespace
}  // namespace honeyman::testing
