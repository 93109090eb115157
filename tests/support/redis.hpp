// Test support: a throwaway redis-server on 127.0.0.1 on a free port (no persistence, data in a
// temporary directory). The port survives stop() and start(), so a test can restart Redis under
// a running server. Fails the test loudly when redis-server is missing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace honeyman::testing {

class RedisProcess {
 public:
  RedisProcess();   // picks a port and a directory; does not start
  ~RedisProcess();  // kills the server and removes the directory
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  void start();  // waits until the port accepts connections (fails the test otherwise)
  void stop();   // SIGKILL: an abrupt loss, as when Redis crashes
  bool running() const;
  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  std::string log() const;

 private:
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace honeyman::testing
