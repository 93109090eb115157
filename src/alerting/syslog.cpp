// SyslogSender (UDP, TCP, TLS; blocking with a deadline per record) and SiemForwarder (bounded
// queue, one sender thread, retry with backoff).
//
// The sender drives its own io_context with run_one_until(deadline): every operation is
// asynchronous, so a deadline is only a matter of closing the socket, which completes whatever
// is pending with operation_aborted before send() returns (no handler outlives its frame).
#include <openssl/ssl.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <span>
#include <thread>

#include "alerting/alerting.hpp"
#include "metrics/metrics.hpp"

namespace honeyman::alerting {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;

// The largest UDP payload over IPv4 (65,535 - 8 UDP - 20 IP header bytes). A longer record is
// cut to it rather than refused: the head of the message (header, first fields) is what a
// receiver needs most, and RFC 5426 lets receivers truncate anyway.
constexpr std::size_t kMaxDatagram = 65'507;

std::string_view transport_name(SyslogTransport t) {
  switch (t) {
    case SyslogTransport::udp:
      return "udp";
    case SyslogTransport::tcp:
      return "tcp";
    case SyslogTransport::tls:
      return "tls";
  }
  return "udp";
}

bool is_ip_address(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Whether the peer has closed (FIN) or reset the stream connection. Without this check the first
// write after a receiver restart would "succeed" into the dead connection and its record would
// be lost. Readable data alone proves nothing: a TLS 1.3 server sends session tickets after the
// handshake, which stay unread (a syslog sender never reads).
bool peer_gone(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

}  // namespace

struct SyslogSender::Impl {
  explicit Impl(SyslogTarget t) : target(std::move(t)) {
    if (target.transport == SyslogTransport::tls) make_tls_context();
  }

  Status send(std::string_view record) {
    std::array<std::string_view, 1> one{record};
    return send_all(one);
  }

  // TCP/TLS: every record framed into one buffer, one write (and one check that the peer is
  // still there) per call; UDP: one datagram per record.
  Status send_all(std::span<const std::string_view> records) {
    const auto deadline = std::chrono::steady_clock::now() + target.timeout;
    if (connected && target.transport != SyslogTransport::udp && peer_gone(native_handle())) {
      close();
    }
    if (!connected) {
      if (auto s = connect(deadline); !s) return s;
    }
    auto ec = write(records, deadline);
    if (ec) {
      close();
      return failure("send", ec);
    }
    return {};
  }

  void make_tls_context() {
    error_code ec;
    try {
      tls_context.emplace(ssl::context::tls_client);
    } catch (const std::exception& e) {  // SSL_CTX_new failed: reported on every send
      tls_setup_error = e.what();
      return;
    }
    SSL_CTX_set_min_proto_version(tls_context->native_handle(), TLS1_2_VERSION);
    tls_context->set_verify_mode(ssl::verify_peer, ec);
    if (!target.ca_file.empty()) {
      tls_context->load_verify_file(target.ca_file, ec);
      if (ec) tls_setup_error = "CA file " + target.ca_file + ": " + ec.message();
    } else {
      tls_context->set_default_verify_paths(ec);
      if (ec) tls_setup_error = "system trust store: " + ec.message();
    }
  }

  Error failure(std::string_view step, const error_code& ec) const {
    return make_error(Errc::unavailable, "syslog " + std::string(transport_name(target.transport)) +
                                             " " + target.host + ":" + std::to_string(target.port) +
                                             ": " + std::string(step) + ": " + ec.message());
  }

  // Runs the I/O until `done` or `deadline`. At the deadline the connection is closed and the
  // aborted operation's handler is run before returning timed_out.
  error_code await(const bool& done, const error_code& result, SteadyTime deadline) {
    io.restart();
    while (!done && io.run_one_until(deadline) != 0) {
    }
    if (done) return result;
    close();
    io.restart();
    while (!done && io.run_one() != 0) {
    }
    return asio::error::timed_out;
  }

  Status connect(SteadyTime deadline) {
    if (!tls_setup_error.empty()) {
      return make_error(Errc::unavailable, "syslog tls: " + tls_setup_error);
    }
    bool done = false;
    error_code ec;
    tcp::resolver::results_type endpoints;
    resolver.async_resolve(target.host, std::to_string(target.port),
                           [&](const error_code& e, tcp::resolver::results_type r) {
                             ec = e;
                             endpoints = std::move(r);
                             done = true;
                           });
    if (auto e = await(done, ec, deadline)) return failure("resolve", e);
    switch (target.transport) {
      case SyslogTransport::udp:
        return open_udp(endpoints);
      case SyslogTransport::tcp:
        return connect_tcp(endpoints, deadline);
      case SyslogTransport::tls:
        return connect_tls(endpoints, deadline);
    }
    return {};
  }

  Status open_udp(const tcp::resolver::results_type& endpoints) {
    const auto& to = endpoints.begin()->endpoint();
    udp_socket.emplace(io);
    error_code ec;
    // connect() on UDP only fixes the peer: a later ICMP "port unreachable" is then reported
    // on the next send instead of being ignored.
    udp_socket->connect(udp::endpoint(to.address(), to.port()), ec);
    if (ec) {
      close();
      return failure("open", ec);
    }
    connected = true;
    return {};
  }

  error_code connect_socket(tcp::socket& socket, const tcp::resolver::results_type& endpoints,
                            SteadyTime deadline) {
    bool done = false;
    error_code ec;
    asio::async_connect(socket, endpoints, [&](const error_code& e, const tcp::endpoint&) {
      ec = e;
      done = true;
    });
    return await(done, ec, deadline);
  }

  Status connect_tcp(const tcp::resolver::results_type& endpoints, SteadyTime deadline) {
    tcp_socket.emplace(io);
    if (auto ec = connect_socket(*tcp_socket, endpoints, deadline)) {
      close();
      return failure("connect", ec);
    }
    connected = true;
    return {};
  }

  Status connect_tls(const tcp::resolver::results_type& endpoints, SteadyTime deadline) {
    tls_stream.emplace(io, *tls_context);
    // SNI names a host, never an address (RFC 6066 §3); the certificate is checked against
    // either (host_name_verification looks for an IP SAN when given an address).
    if (!is_ip_address(target.host)) {
      SSL_set_tlsext_host_name(tls_stream->native_handle(), target.host.c_str());
    }
    error_code ec;
    tls_stream->set_verify_callback(ssl::host_name_verification(target.host), ec);
    if (!ec) ec = connect_socket(tls_stream->next_layer(), endpoints, deadline);
    if (ec) {
      close();
      return failure("connect", ec);
    }
    bool done = false;
    tls_stream->async_handshake(ssl::stream_base::client, [&](const error_code& e) {
      ec = e;
      done = true;
    });
    if (auto e = await(done, ec, deadline)) {
      close();
      return failure("TLS handshake", e);
    }
    connected = true;
    return {};
  }

  error_code write(std::span<const std::string_view> records, SteadyTime deadline) {
    bool done = false;
    error_code ec;
    auto handler = [&](const error_code& e, std::size_t) {
      ec = e;
      done = true;
    };
    if (target.transport == SyslogTransport::udp) {
      for (auto record : records) {
        done = false;
        udp_socket->async_send(asio::buffer(record.substr(0, kMaxDatagram)), handler);
        if (auto e = await(done, ec, deadline)) return e;
      }
      return {};
    }
    // RFC 6587 §3.4.1 octet counting: "<length in bytes> <record>", one after another.
    frame.clear();
    for (auto record : records) {
      frame += std::to_string(record.size());
      frame += ' ';
      frame += record;
    }
    if (target.transport == SyslogTransport::tcp) {
      asio::async_write(*tcp_socket, asio::buffer(frame), handler);
    } else {
      asio::async_write(*tls_stream, asio::buffer(frame), handler);
    }
    return await(done, ec, deadline);
  }

  int native_handle() {
    if (tcp_socket) return tcp_socket->native_handle();
    if (tls_stream) return tls_stream->next_layer().native_handle();
    return -1;
  }

  // Closing (rather than shutting TLS down politely) is enough: the next send reconnects, and a
  // receiver reads only whole octet-counted frames.
  void close() {
    error_code ignored;
    resolver.cancel();
    if (udp_socket) udp_socket->close(ignored);
    if (tcp_socket) tcp_socket->close(ignored);
    if (tls_stream) tls_stream->next_layer().close(ignored);
    connected = false;
  }

  SyslogTarget target;
  asio::io_context io;
  tcp::resolver resolver{io};
  std::optional<ssl::context> tls_context;
  std::string tls_setup_error;
  std::optional<udp::socket> udp_socket;
  std::optional<tcp::socket> tcp_socket;
  std::optional<ssl::stream<tcp::socket>> tls_stream;
  std::string frame;
  bool connected = false;
};

SyslogSender::SyslogSender(SyslogTarget target)
    : impl_(std::make_unique<Impl>(std::move(target))) {}
SyslogSender::~SyslogSender() {
  if (impl_) impl_->close();
}

Status SyslogSender::send(std::string_view record) {
  return impl_->send(record);
}

Status SyslogSender::send(const std::vector<std::string>& records) {
  std::vector<std::string_view> views(records.begin(), records.end());
  return impl_->send_all(views);
}

// ---------------------------------------------------------------------------------------------
// SiemForwarder.
namespace {

std::string default_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0) return {};
  return name;
}

// The retry pace while the destination is down: soon enough to notice it is back, slow enough
// not to hammer it (or the log) while it is not.
constexpr Backoff kSiemBackoff{std::chrono::milliseconds(100), std::chrono::milliseconds(5000)};

}  // namespace

struct SiemForwarder::Impl {
  explicit Impl(SiemForwarderConfig c) : config(std::move(c)) {
    if (config.hostname.empty()) config.hostname = default_hostname();
    forwarded_metric = metrics::counter("honeyman_siem_forwarded_total",
                                        "Threats sent to the SIEM syslog destination.")
                           .with({});
    dropped_metric = metrics::counter("honeyman_siem_dropped_total",
                                      "Threats not sent to the SIEM: the buffer was full.")
                         .with({});
    errors_metric = metrics::counter("honeyman_siem_send_errors_total",
                                     "Failed attempts to send a record to the SIEM.")
                        .with({});
    depth_watch =
        metrics::Watch("honeyman_siem_queue_depth", "Threats waiting to be sent to the SIEM.",
                       metrics::Kind::gauge, [this] { return static_cast<double>(queued.load()); });
    thread = std::thread([this] { run(); });
  }

  void offer(const std::vector<domain::Threat>& threats, const std::vector<bool>* inserted) {
    std::uint64_t lost = 0;
    {
      std::lock_guard lock(mutex);
      for (std::size_t i = 0; i < threats.size(); ++i) {
        if (inserted && !(*inserted)[i]) continue;
        const auto& t = threats[i];
        if (stopping || queue.size() >= config.capacity) {
          ++lost;
          continue;
        }
        queue.push_back(t);
      }
      queued = queue.size();
    }
    if (lost != 0) {
      dropped += lost;
      dropped_metric.inc(static_cast<double>(lost));
    }
    wake.notify_one();
  }

  // The sender thread. Up to kBatch threats at the queue's front are formatted and sent in one
  // write; they stay in the queue (and count against its capacity) until sent, so a failed send
  // retries the same records. Only this thread pops, and push_back keeps references to the
  // elements valid, so formatting runs without the lock.
  void run() {
    constexpr std::size_t kBatch = 256;
    SyslogSender sender(config.target);
    std::vector<std::string> records;
    int attempt = 0;
    for (;;) {
      std::vector<const domain::Threat*> front;
      if (records.empty()) {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty() || (stopping && std::chrono::steady_clock::now() >= drain_deadline)) {
          return;
        }
        for (std::size_t i = 0; i < queue.size() && i < kBatch; ++i) front.push_back(&queue[i]);
      } else {
        std::lock_guard lock(mutex);
        if (stopping && std::chrono::steady_clock::now() >= drain_deadline) return;
      }
      for (const auto* t : front) records.push_back(format(*t));
      auto sent = sender.send(records);
      if (sent) {
        sent_some(records.size(), attempt);
        records.clear();
        attempt = 0;
        continue;
      }
      failed_one(sent.error(), attempt);
      back_off(kSiemBackoff.delay(attempt++));
    }
  }

  std::string format(const domain::Threat& t) const {
    return syslog_record(siem_message(config.format, t, config.version), t.severity, t.created_at,
                         config.hostname, "threat");
  }

  void sent_some(std::size_t n, int failed_attempts) {
    {
      std::lock_guard lock(mutex);
      queue.erase(queue.begin(), queue.begin() + static_cast<std::ptrdiff_t>(n));
      queued = queue.size();
    }
    forwarded += n;
    forwarded_metric.inc(static_cast<double>(n));
    if (failed_attempts != 0) {
      log_event(LogLevel::info, "siem_send_recovered",
                {{"failed_attempts", std::int64_t{failed_attempts}}});
    }
  }

  void failed_one(const Error& error, int attempt) {
    ++send_errors;
    errors_metric.inc();
    // One warning per outage; the retries that follow it are debug noise.
    log_event(attempt == 0 ? LogLevel::warn : LogLevel::debug, "siem_send_failed",
              {{"error", error.message}, {"attempt", std::int64_t{attempt} + 1}});
  }

  // Waits `wait` before the next attempt, less when stop() has set a drain deadline sooner.
  void back_off(std::chrono::milliseconds wait) {
    const auto until = std::chrono::steady_clock::now() + wait;
    std::unique_lock lock(mutex);
    for (;;) {
      const auto limit = stopping ? std::min(until, drain_deadline) : until;
      if (std::chrono::steady_clock::now() >= limit) return;
      wake.wait_until(lock, limit);
    }
  }

  void stop(std::chrono::milliseconds drain) {
    std::lock_guard stop_lock(stop_mutex);
    if (!thread.joinable()) return;
    {
      std::lock_guard lock(mutex);
      stopping = true;
      drain_deadline = std::chrono::steady_clock::now() + drain;
    }
    wake.notify_all();
    thread.join();
    std::lock_guard lock(mutex);
    // What the drain could not send is lost like a threat that found the buffer full.
    dropped += queue.size();
    dropped_metric.inc(static_cast<double>(queue.size()));
    queue.clear();
    queued = 0;
  }

  SiemForwarderConfig config;
  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<domain::Threat> queue;
  bool stopping = false;
  SteadyTime drain_deadline;
  std::atomic<std::uint64_t> forwarded{0}, dropped{0}, send_errors{0};
  std::atomic<std::size_t> queued{0};
  metrics::Counter forwarded_metric, dropped_metric, errors_metric;
  metrics::Watch depth_watch;
  std::mutex stop_mutex;
  std::thread thread;
};

SiemForwarder::SiemForwarder(SiemForwarderConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}
SiemForwarder::~SiemForwarder() {
  stop();
}

void SiemForwarder::offer(const std::vector<domain::Threat>& threats,
                          const std::vector<bool>* inserted) {
  impl_->offer(threats, inserted);
}

SiemCounters SiemForwarder::counters() const {
  SiemCounters c;
  c.forwarded = impl_->forwarded.load();
  c.dropped = impl_->dropped.load();
  c.send_errors = impl_->send_errors.load();
  c.queued = impl_->queued.load();
  return c;
}

void SiemForwarder::stop(std::chrono::milliseconds drain) {
  impl_->stop(drain);
}

}  // namespace honeyman::alerting
