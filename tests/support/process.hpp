// Test support: the processes, ports, files and directories every suite that starts a real
// server (honeyman, Mosquitto, Redis) needs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace honeyman::testing {

// The whole file ("" when it cannot be read).
std::string read_file(const std::string& path);
// `n` random letters and digits (passwords, names).
std::string random_text(std::size_t n);

// A loopback port nobody listens on at the moment of the call.
std::uint16_t free_port();
// Whether something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(std::uint16_t port);

struct SpawnOptions {
  std::string stdin_path = "/dev/null";
  std::string stdout_path = "/dev/null";
  std::string stderr_path;                 // empty: with stdout
  bool append = false;                     // append to the output files instead of truncating them
  std::map<std::string, std::string> env;  // added to the environment
  std::uint64_t max_open_files = 0;        // non-zero: the child's RLIMIT_NOFILE (soft and hard)
  std::string working_dir;                 // empty: the test's own
};
// fork + execvp(argv[0], argv). The child dies with the test process (PR_SET_PDEATHSIG), so a
// crashed test leaves no server behind.
pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});
// Waits for the child: its exit code, 128 + signal when killed, -1 when `timeout` passed first.
int wait_exit(pid_t pid, std::chrono::milliseconds timeout);

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "honeyman-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace honeyman::testing
