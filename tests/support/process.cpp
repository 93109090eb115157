#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

namespace honeyman::testing {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string random_text(std::size_t n) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += kChars[rd() % (sizeof(kChars) - 1)];
  return s;
}

// Ports come from below the kernel's ephemeral range: a port taken from that range (bind to 0,
// close) can be handed out again as the source port of any outgoing connection before our server
// binds it, which happened under `ctest -j` ("Address already in use"). Random choice in a range
// of ~20,000 ports, a bind check, and no repeats inside one process keep parallel tests apart.
std::uint16_t free_port() {
  static std::mutex mutex;
  static std::set<std::uint16_t> handed_out;
  int low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> low;
  const int first = 10000, last = std::max(first + 1000, low - 1);
  std::random_device rd;
  std::lock_guard lock(mutex);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    auto port = static_cast<std::uint16_t>(first + static_cast<int>(rd() % (last - first + 1)));
    if (handed_out.count(port)) continue;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    auto addr = loopback(port);
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (free) {
      handed_out.insert(port);
      return port;
    }
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);  // crowded machine: let the kernel choose
  auto addr = loopback(0);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  auto addr = loopback(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

pid_t spawn(const std::vector<std::string>& argv_in, const SpawnOptions& options) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int mode = O_WRONLY | O_CREAT | (options.append ? O_APPEND : O_TRUNC);
  int in = open(options.stdin_path.c_str(), O_RDONLY);
  int out = open(options.stdout_path.c_str(), mode, 0600);
  int err = options.stderr_path.empty() ? out : open(options.stderr_path.c_str(), mode, 0600);
  dup2(in, 0);
  dup2(out, 1);
  dup2(err, 2);
  for (const auto& [k, v] : options.env) setenv(k.c_str(), v.c_str(), 1);
  if (!options.working_dir.empty() && chdir(options.working_dir.c_str()) != 0) _exit(126);
  if (options.max_open_files > 0) {
    rlimit limit{options.max_open_files, options.max_open_files};
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  std::vector<char*> argv;
  for (const auto& a : argv_in) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  _exit(127);
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return -1;
}

TempDir::TempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  path_ = mkdtemp(pattern.data()) ? pattern : std::string();
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace honeyman::testing
