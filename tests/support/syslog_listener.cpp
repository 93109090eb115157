#include "support/syslog_listener.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "support/process.hpp"

namespace honeyman::testing {
namespace {
namespace syslog_listen {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;

bool run_openssl(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions options;
  options.stdout_path = log;
  options.append = true;
  return wait_exit(spawn(argv, options), std::chrono::seconds(60)) == 0;
}

// One connection's bytes, cut into records. Returns false on a frame that is neither octet
// counted nor LF terminated.
bool take_records(std::string& buffer, std::vector<std::string>& out) {
  for (;;) {
    if (buffer.empty()) return true;
    if (buffer[0] >= '1' && buffer[0] <= '9') {
      const auto sp = buffer.find(' ');
      if (sp == std::string::npos) return buffer.size() <= 9;
      if (sp > 9 || buffer.find_first_not_of("0123456789") != sp) return false;
      const auto len = std::stoul(buffer.substr(0, sp));
      if (buffer.size() < sp + 1 + len) return true;
      out.push_back(buffer.substr(sp + 1, len));
      buffer.erase(0, sp + 1 + len);
      continue;
    }
    if (buffer[0] != '<') return false;
    const auto lf = buffer.find('\n');
    if (lf == std::string::npos) return true;
    auto record = buffer.substr(0, lf);
    if (!record.empty() && record.back() == '\r') record.pop_back();
    out.push_back(std::move(record));
    buffer.erase(0, lf + 1);
  }
}

}  // namespace syslog_listen
}  // namespace

using namespace syslog_listen;

TestPki make_test_pki(const std::string& dir, const std::string& subject_alt_names) {
  TestPki pki{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  const std::string log = dir + "/openssl.log";
  const std::string ext = dir + "/server.ext";
  std::ofstream(ext) << "subjectAltName=" << subject_alt_names
                     << "\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
  const std::vector<std::string> ec_key{"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                                        "-nodes"};
  auto ca = std::vector<std::string>{"req", "-x509"};
  ca.insert(ca.end(), ec_key.begin(), ec_key.end());
  ca.insert(ca.end(), {"-keyout", dir + "/ca.key", "-out", pki.ca_file, "-days", "2", "-subj",
                       "/CN=Honeyman Test CA"});
  auto csr = std::vector<std::string>{"req", "-new"};
  csr.insert(csr.end(), ec_key.begin(), ec_key.end());
  csr.insert(csr.end(),
             {"-keyout", pki.key_file, "-out", dir + "/server.csr", "-subj", "/CN=localhost"});
  const std::vector<std::string> sign{"x509",
                                      "-req",
                                      "-in",
                                      dir + "/server.csr",
                                      "-CA",
                                      pki.ca_file,
                                      "-CAkey",
                                      dir + "/ca.key",
                                      "-CAcreateserial",
                                      "-out",
                                      pki.cert_file,
                                      "-days",
                                      "2",
                                      "-extfile",
                                      ext};
  if (!run_openssl(ca, log) || !run_openssl(csr, log) || !run_openssl(sign, log)) {
    ADD_FAILURE() << "openssl failed:\n" << read_file(log);
  }
  return pki;
}

// ---------------------------------------------------------------------------------------------
struct SyslogListener::State {
  // A connection, closed from stop() through its weak pointer.
  struct Session {
    virtual ~Session() = default;
    virtual void close() = 0;
  };
  template <class Stream>
  struct StreamSession;

  void add(std::vector<std::string> got) {
    if (got.empty()) return;
    std::lock_guard lock(mutex);
    for (auto& r : got) records.push_back(std::move(r));
    arrived.notify_all();
  }
  void count(std::size_t& counter) {
    std::lock_guard lock(mutex);
    ++counter;
  }
  std::size_t read(const std::size_t& counter) const {
    std::lock_guard lock(mutex);
    return counter;
  }

  void accept();
  void receive();

  SyslogProtocol protocol = SyslogProtocol::udp;
  asio::io_context io;
  std::optional<tcp::acceptor> acceptor;
  std::optional<udp::socket> udp_socket;
  std::optional<ssl::context> tls;
  std::vector<std::weak_ptr<Session>> sessions;  // the I/O thread's
  std::array<char, 65536> datagram{};
  udp::endpoint datagram_from;
  std::uint16_t port = 0;

  mutable std::mutex mutex;
  mutable std::condition_variable arrived;
  std::vector<std::string> records;
  std::size_t connections = 0, handshake_failures = 0, framing_errors = 0;
  std::thread thread;
  bool stopped = false;
};

template <class Stream>
struct SyslogListener::State::StreamSession final
    : Session,
      std::enable_shared_from_this<StreamSession<Stream>> {
  template <class... Args>
  StreamSession(State& s, Args&&... args) : state(s), stream(std::forward<Args>(args)...) {}

  void start() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      read();
    } else {
      stream.async_handshake(ssl::stream_base::server,
                             [self = this->shared_from_this()](const error_code& ec) {
                               if (ec) return self->state.count(self->state.handshake_failures);
                               self->read();
                             });
    }
  }
  void read() {
    stream.async_read_some(asio::buffer(chunk),
                           [self = this->shared_from_this()](const error_code& ec, std::size_t n) {
                             if (ec) return;
                             self->buffer.append(self->chunk.data(), n);
                             std::vector<std::string> got;
                             const bool ok = take_records(self->buffer, got);
                             self->state.add(std::move(got));
                             if (!ok) {
                               self->state.count(self->state.framing_errors);
                               return self->close();
                             }
                             self->read();
                           });
  }
  void close() override {
    error_code ignored;
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      stream.close(ignored);
    } else {
      stream.next_layer().close(ignored);
    }
  }

  State& state;
  Stream stream;
  std::array<char, 4096> chunk{};
  std::string buffer;
};

void SyslogListener::State::accept() {
  acceptor->async_accept([this](const error_code& ec, tcp::socket socket) {
    if (ec) return;  // closed by stop()
    count(connections);
    std::shared_ptr<Session> session;
    if (protocol == SyslogProtocol::tls) {
      auto s =
          std::make_shared<StreamSession<ssl::stream<tcp::socket>>>(*this, std::move(socket), *tls);
      s->start();
      session = s;
    } else {
      auto s = std::make_shared<StreamSession<tcp::socket>>(*this, std::move(socket));
      s->start();
      session = s;
    }
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    sessions.push_back(session);
    accept();
  });
}

void SyslogListener::State::receive() {
  udp_socket->async_receive_from(asio::buffer(datagram), datagram_from,
                                 [this](const error_code& ec, std::size_t n) {
                                   if (ec) return;
                                   add({std::string(datagram.data(), n)});
                                   receive();
                                 });
}

SyslogListener::SyslogListener(SyslogProtocol protocol, std::uint16_t port, TestPki pki)
    : state_(std::make_shared<State>()) {
  auto& s = *state_;
  s.protocol = protocol;
  const auto loopback = asio::ip::make_address("127.0.0.1");
  if (protocol == SyslogProtocol::udp) {
    s.udp_socket.emplace(s.io, udp::endpoint(loopback, port));
    s.port = s.udp_socket->local_endpoint().port();
    s.receive();
  } else {
    if (protocol == SyslogProtocol::tls) {
      s.tls.emplace(ssl::context::tls_server);
      s.tls->use_certificate_chain_file(pki.cert_file);
      s.tls->use_private_key_file(pki.key_file, ssl::context::pem);
    }
    s.acceptor.emplace(s.io, tcp::endpoint(loopback, port));  // SO_REUSEADDR by default
    s.port = s.acceptor->local_endpoint().port();
    s.accept();
  }
  s.thread = std::thread([&s] { s.io.run(); });
}

SyslogListener::~SyslogListener() {
  stop();
}

void SyslogListener::stop() {
  auto& s = *state_;
  if (s.stopped) return;
  s.stopped = true;
  asio::post(s.io, [&s] {
    error_code ignored;
    if (s.acceptor) s.acceptor->close(ignored);
    if (s.udp_socket) s.udp_socket->close(ignored);
    for (auto& w : s.sessions) {
      if (auto session = w.lock()) session->close();
    }
  });
  // Once everything is closed the aborted handlers run and the io_context runs out of work.
  s.thread.join();
}

std::uint16_t SyslogListener::port() const {
  return state_->port;
}

std::vector<std::string> SyslogListener::wait_for(std::size_t n,
                                                  std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  state_->arrived.wait_for(lock, timeout, [&] { return state_->records.size() >= n; });
  return state_->records;
}

std::vector<std::string> SyslogListener::records() const {
  std::lock_guard lock(state_->mutex);
  return state_->records;
}

std::size_t SyslogListener::connections() const {
  return state_->read(state_->connections);
}
std::size_t SyslogListener::handshake_failures() const {
  return state_->read(state_->handshake_failures);
}
std::size_t SyslogListener::framing_errors() const {
  return state_->read(state_->framing_errors);
}

}  // namespace honeyman::testing
