// Test support: a syslog receiver on 127.0.0.1 (UDP, TCP or TLS) that collects the records it
// gets, and a throwaway PKI for its TLS certificate.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace honeyman::testing {

// A CA and a server certificate it signed (EC P-256, valid two days) for the names in
// `subject_alt_names` (openssl's syntax), written into `dir` by the `openssl` CLI. A failure is a
// test failure (ADD_FAILURE, with openssl's output); the paths are returned anyway.
struct TestPki {
  std::string ca_file;    // the CA certificate (PEM): what a client trusts
  std::string cert_file;  // the server certificate (PEM)
  std::string key_file;   // its private key (PEM)
};
TestPki make_test_pki(const std::string& dir,
                      const std::string& subject_alt_names = "IP:127.0.0.1,DNS:localhost");

enum class SyslogProtocol { udp, tcp, tls };

// Receives on one I/O thread of its own. UDP: each datagram is a record. TCP and TLS: RFC 6587
// framing, both octet counting ("<len> <record>") and non-transparent framing (a record ends
// at LF; a CR before it is dropped), chosen per record by its first character; a frame that is
// neither closes the connection and counts as a framing error. Thread-safe.
class SyslogListener {
 public:
  // Listens on 127.0.0.1:`port` (0: an ephemeral port; another port is bound with SO_REUSEADDR
  // so a test can restart a listener where the last one was). TLS needs `pki`'s cert and key.
  explicit SyslogListener(SyslogProtocol protocol, std::uint16_t port = 0, TestPki pki = {});
  ~SyslogListener();  // stop()s
  SyslogListener(const SyslogListener&) = delete;
  SyslogListener& operator=(const SyslogListener&) = delete;

  std::uint16_t port() const;
  // Waits until at least `n` records have arrived or `timeout` passed; returns every record
  // received so far (fewer than `n` on timeout).
  std::vector<std::string> wait_for(std::size_t n, std::chrono::milliseconds timeout) const;
  std::vector<std::string> records() const;
  std::size_t connections() const;         // connections accepted so far (TCP, TLS)
  std::size_t handshake_failures() const;  // TLS handshakes that failed
  std::size_t framing_errors() const;
  // Closes the listening socket and every connection, then joins the I/O thread. Idempotent.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace honeyman::testing
