// `honeyman-load ws-load`: a WebSocket load generator for the live feed. Opens N authenticated
// connections spread over several 127.0.0.x source addresses (each address has its own ~28k
// ephemeral ports), optionally drives ingest at a fixed rate over HTTP as a sensor, and measures
// per-message delivery latency: receive time minus the commit time that each threat message
// carries in its top-level "timestamp". Prints one summary table. With --reconnect a client that
// is closed or cannot connect tries again every second until the end (bench/chaos restarts the
// server under it).
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>

#include "core/core.hpp"
#include "load.hpp"

namespace honeyman::load::ws {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct LoadArgs {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string prefix = "/api/v2";
  std::string token;  // access token; or --user with the password on stdin
  std::string user;
  int clients = 1000;
  int slow = 0;       // of which this many never read
  int sources = 4;    // 127.0.0.1 .. 127.0.0.<sources>
  int duration = 10;  // seconds of measurement after everyone is connected
  int rate = 0;       // threats/s posted as a sensor (needs --api-key)
  std::string api_key;
  int threads = 1;
  int server_pid = 0;      // to report the server's RSS per connection
  int ingest_port = 0;     // where --rate posts (another instance); default --port
  bool reconnect = false;  // clients closed or refused try again every second
};

// Latency histogram in 100 µs buckets up to 10 s (the last bucket takes everything above).
struct Histogram {
  static constexpr std::size_t kBuckets = 100'000;
  std::vector<std::atomic<std::uint64_t>> buckets =
      std::vector<std::atomic<std::uint64_t>>(kBuckets);
  std::atomic<std::uint64_t> count{0};
  void add(std::int64_t micros) {
    auto b = static_cast<std::size_t>(std::clamp<std::int64_t>(micros / 100, 0, kBuckets - 1));
    buckets[b].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
  }
  double percentile_ms(double p) const {
    auto total = count.load();
    if (total == 0) return 0;
    auto target = static_cast<std::uint64_t>(p * static_cast<double>(total));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += buckets[i].load(std::memory_order_relaxed);
      if (seen > target) return static_cast<double>(i + 1) / 10.0;
    }
    return kBuckets / 10.0;
  }
};

struct Stats {
  // connected / failed: first connections (one of the two per client, unless a client that failed
  // connects later with --reconnect); reconnected: later successful connections.
  std::atomic<int> connected{0}, failed{0}, closed{0}, in_progress{0}, reconnected{0};
  std::atomic<std::uint64_t> messages{0}, threats{0};
  std::atomic<bool> measuring{false};
  Histogram latency;
};

// The commit time is the frame's top-level "timestamp", its last member.
std::optional<Timestamp> commit_time(std::string_view frame) {
  auto at = frame.rfind("\"timestamp\":\"");
  if (at == std::string_view::npos) return std::nullopt;
  auto start = at + 13;
  auto end = frame.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return parse_timestamp(frame.substr(start, end - start));
}

// One connection: TCP from this client's source address, then the WebSocket handshake.
asio::awaitable<boost::system::error_code> open_client(const LoadArgs& a, int index,
                                                       const std::string& target,
                                                       websocket::stream<tcp::socket>& ws) {
  auto& socket = ws.next_layer();
  boost::system::error_code ec;
  socket.open(tcp::v4(), ec);
  if (index < a.slow) socket.set_option(asio::socket_base::receive_buffer_size(4096), ec);
  auto source = "127.0.0." + std::to_string(1 + index % a.sources);
  socket.bind(tcp::endpoint(asio::ip::make_address(source), 0), ec);
  if (!ec)
    std::tie(ec) = co_await socket.async_connect(
        tcp::endpoint(asio::ip::make_address(a.host), static_cast<std::uint16_t>(a.port)), kTuple);
  if (!ec) std::tie(ec) = co_await ws.async_handshake(a.host, target, kTuple);
  co_return ec;
}

// Reads until the server closes the connection, counting threats while measuring.
asio::awaitable<void> read_frames(websocket::stream<tcp::socket>& ws, Stats& stats) {
  beast::flat_buffer buffer;
  for (;;) {
    auto [rec, n] = co_await ws.async_read(buffer, kTuple);
    if (rec) break;
    auto now = system_clock().now();
    std::string_view frame(static_cast<const char*>(buffer.data().data()), n);
    if (stats.measuring.load(std::memory_order_relaxed)) {
      stats.messages.fetch_add(1, std::memory_order_relaxed);
      if (frame.starts_with("{\"type\":\"threat\""))
        if (auto committed = commit_time(frame)) {
          stats.threats.fetch_add(1, std::memory_order_relaxed);
          stats.latency.add((now - *committed).count());
        }
    }
    buffer.consume(n);
  }
  ++stats.closed;
}

asio::awaitable<void> run_client(const LoadArgs& a, Stats& stats, int index, std::string target) {
  auto ex = co_await asio::this_coro::executor;
  bool ever_connected = false;
  for (bool first = true;; first = false) {
    websocket::stream<tcp::socket> ws(ex);
    auto ec = co_await open_client(a, index, target, ws);
    if (first) --stats.in_progress;
    if (!ec) {
      ++(ever_connected ? stats.reconnected : stats.connected);
      ever_connected = true;
      if (index < a.slow) {  // holds the connection and never reads
        asio::steady_timer forever(ex, std::chrono::hours(24));
        co_await forever.async_wait(kTuple);
        co_return;
      }
      co_await read_frames(ws, stats);
    } else if (first) {
      ++stats.failed;
    }
    if (!a.reconnect) co_return;
    // A restarted server answers within a second or two; a fixed pause keeps this simple and
    // the number of attempts small.
    asio::steady_timer pause(ex, std::chrono::seconds(1));
    co_await pause.async_wait(kTuple);
  }
}

// Starts the clients, at most 256 handshakes at a time (a burst of 50k SYNs overflows backlogs).
asio::awaitable<void> connect_all(const LoadArgs& a, Stats& stats, std::string target) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer pause(ex);
  for (int i = 0; i < a.clients; ++i) {
    while (stats.in_progress.load() >= 256) {
      pause.expires_after(std::chrono::milliseconds(1));
      co_await pause.async_wait(kTuple);
    }
    ++stats.in_progress;
    asio::co_spawn(ex, run_client(a, stats, i, target), asio::detached);
  }
}

Result<std::string> http_post(const LoadArgs& a, beast::tcp_stream& stream,
                              const std::string& target, const std::string& body,
                              const std::string& api_key) {
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, target, 11};
  req.set(beast::http::field::host, a.host);
  req.set(beast::http::field::content_type, "application/json");
  if (!api_key.empty()) req.set("X-API-Key", api_key);
  req.body() = body;
  req.prepare_payload();
  boost::system::error_code ec;
  beast::http::write(stream, req, ec);
  beast::flat_buffer buffer;
  beast::http::response<beast::http::string_body> res;
  if (!ec) beast::http::read(stream, buffer, res, ec);
  if (ec) return make_error(Errc::unavailable, ec.message());
  if (res.result_int() >= 300)
    return make_error(Errc::unavailable,
                      "HTTP " + std::to_string(res.result_int()) + ": " + res.body());
  return res.body();
}

Result<std::string> login(const LoadArgs& a, const std::string& password) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  boost::system::error_code ec;
  stream.connect(tcp::endpoint(asio::ip::make_address(a.host), static_cast<std::uint16_t>(a.port)),
                 ec);
  if (ec) return make_error(Errc::unavailable, "cannot connect: " + ec.message());
  auto body = to_json_text(json::object{{"username", a.user}, {"password", password}});
  auto answer = http_post(a, stream, a.prefix + "/auth/login", body, "");
  if (!answer) return answer.error();
  boost::system::error_code pec;
  auto parsed = json::parse(*answer, pec);
  if (pec) return make_error(Errc::internal, "login answer is not JSON");
  return std::string(parsed.at("token").at("access_token").as_string());
}

// Posts `rate` threats/s in batches every 10 ms over one keep-alive connection; counts commits.
void drive_ingest(const LoadArgs& a, std::atomic<bool>& stop, std::atomic<std::uint64_t>& stored) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  boost::system::error_code ec;
  auto port = static_cast<std::uint16_t>(a.ingest_port ? a.ingest_port : a.port);
  stream.connect(tcp::endpoint(asio::ip::make_address(a.host), port), ec);
  if (ec) return;
  auto start = std::chrono::steady_clock::now();
  std::uint64_t sent = 0;
  while (!stop) {
    auto due = static_cast<std::uint64_t>(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * a.rate);
    if (due <= sent) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    auto n = std::min<std::uint64_t>(due - sent, 1000);
    json::array batch;
    for (std::uint64_t i = 0; i < n; ++i)
      batch.push_back(json::object{{"threat_type", "ws_load"},
                                   {"detector_type", "wifi"},
                                   {"severity", (sent + i) % 10 == 0 ? "critical" : "medium"},
                                   {"threat_score", 0.5}});
    if (!http_post(a, stream, a.prefix + "/threats", to_json_text(batch), a.api_key)) return;
    sent += n;
    stored += n;
  }
}

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("VmRSS:")) return std::atol(line.c_str() + 6);
  return -1;
}

int ws_load(const LoadArgs& a) {
  raise_fd_limit();
  std::string token = a.token;
  if (token.empty()) {
    if (a.user.empty()) return fail("ws-load: give --token, or --user with the password on stdin");
    std::string password;
    std::getline(std::cin, password);
    auto t = login(a, password);
    if (!t) return fail("ws-load: login failed: " + t.error().message);
    token = *t;
  }
  if (a.rate > 0 && a.api_key.empty())
    return fail("ws-load: --rate needs --api-key (a sensor's key)");
  long rss_before = a.server_pid ? rss_kib(a.server_pid) : -1;
  Stats stats;
  asio::io_context io;
  auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(io, connect_all(a, stats, a.prefix + "/ws?token=" + token), asio::detached);
  std::vector<std::thread> threads;
  for (int i = 0; i < a.threads; ++i) threads.emplace_back([&io] { io.run(); });
  // A server out of descriptors leaves handshakes unanswered (the kernel accepted the TCP
  // connection): after 30 s without progress, go on with the clients that did connect.
  int progress = -1, stalled = 0;
  auto last_progress = std::chrono::steady_clock::now();
  while (stats.connected + stats.failed < a.clients) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (int now = stats.connected + stats.failed; now != progress) {
      progress = now;
      last_progress = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(30)) {
      stalled = a.clients - now;
      std::fprintf(stderr, "ws-load: %d handshakes unanswered for 30 s; going on without them\n",
                   stalled);
      break;
    }
  }
  double connect_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  long rss_after = a.server_pid ? rss_kib(a.server_pid) : -1;

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> stored{0};
  // Scripts (bench/chaos) and tests disturb the server once the clients are in.
  std::fprintf(stderr, "ws-load: %d clients connected; measuring for %d s\n",
               stats.connected.load(), a.duration);
  stats.measuring = true;
  std::thread ingest;
  if (a.rate > 0) ingest = std::thread([&] { drive_ingest(a, stop, stored); });
  std::this_thread::sleep_for(std::chrono::seconds(a.duration));
  stop = true;
  if (ingest.joinable()) ingest.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the last deliveries
  stats.measuring = false;
  io.stop();
  for (auto& t : threads) t.join();

  int readers = stats.connected - std::min<int>(a.slow, stats.connected);
  std::printf("ws-load: %d clients (%d never reading) over %d source addresses, %d s\n", a.clients,
              a.slow, a.sources, a.duration);
  std::printf("%-34s %12s\n", "figure", "value");
  std::printf("%-34s %12d\n", "connected", stats.connected.load());
  std::printf("%-34s %12d\n", "failed to connect", stats.failed.load());
  if (stalled > 0) std::printf("%-34s %12d\n", "handshakes unanswered", stalled);
  std::printf("%-34s %12d\n", "closed by the server (readers)", stats.closed.load());
  if (a.reconnect) std::printf("%-34s %12d\n", "reconnections", stats.reconnected.load());
  std::printf("%-34s %12.1f\n", "connect time (s)", connect_s);
  if (rss_before >= 0 && stats.connected > 0)
    std::printf("%-34s %12.1f\n", "server RSS per connection (KiB)",
                static_cast<double>(rss_after - rss_before) / stats.connected);
  std::printf("%-34s %12.0f\n", "ingest rate posted (threats/s)",
              static_cast<double>(stored.load()) / a.duration);
  std::printf("%-34s %12llu\n", "threat messages received",
              static_cast<unsigned long long>(stats.threats.load()));
  if (readers > 0 && stored > 0)
    std::printf(
        "%-34s %12.1f\n", "delivered per reader (% of posted)",
        100.0 * static_cast<double>(stats.threats.load()) / readers / static_cast<double>(stored));
  std::printf("%-34s %12.1f\n", "latency p50 (ms)", stats.latency.percentile_ms(0.50));
  std::printf("%-34s %12.1f\n", "latency p90 (ms)", stats.latency.percentile_ms(0.90));
  std::printf("%-34s %12.1f\n", "latency p99 (ms)", stats.latency.percentile_ms(0.99));
  std::printf("%-34s %12.1f\n", "latency max (ms)", stats.latency.percentile_ms(1.0));
  return stats.connected > 0 ? 0 : 1;
}

}  // namespace
}  // namespace honeyman::load::ws

namespace honeyman::load {

void add_ws_load_command(CLI::App& cli, int& exit_code) {
  auto a = std::make_shared<ws::LoadArgs>();
  auto* cmd = cli.add_subcommand(
      "ws-load", "WebSocket load: N live-feed clients, delivery latency from commit (benchmarks)");
  cmd->add_option("--host", a->host, "server address (IPv4)");
  cmd->add_option("--port", a->port, "server port");
  cmd->add_option("--prefix", a->prefix, "API prefix");
  cmd->add_option("--token", a->token, "access token for every client");
  cmd->add_option("--user", a->user, "log in as this user (password on stdin) instead of --token");
  cmd->add_option("--clients", a->clients, "connections")->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--slow", a->slow, "of which never read")->check(CLI::Range(0, 1'000'000));
  cmd->add_option("--sources", a->sources, "source addresses 127.0.0.1..N")
      ->check(CLI::Range(1, 250));
  cmd->add_option("--duration", a->duration, "seconds measured (the last one given counts)")
      ->check(CLI::Range(1, 86400))
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("--rate", a->rate, "threats/s posted over HTTP as a sensor");
  cmd->add_option("--api-key", a->api_key, "the sensor's API key for --rate");
  cmd->add_option("--ingest-port", a->ingest_port, "post --rate to this port (another instance)");
  cmd->add_option("--threads", a->threads, "client I/O threads")->check(CLI::Range(1, 64));
  cmd->add_option("--server-pid", a->server_pid, "report this process's RSS per connection");
  cmd->add_flag("--reconnect", a->reconnect,
                "clients closed or refused connect again (every second) until the end");
  cmd->callback([&exit_code, a] { exit_code = ws::ws_load(*a); });
}

}  // namespace honeyman::load
