#include "support/redis.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace honeyman::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  return addr;
}

std::uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
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

void reap(pid_t pid) {
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline && waitpid(pid, nullptr, WNOHANG) != pid)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace

RedisProcess::RedisProcess() : port_(free_port()) {
  std::string pattern = (fs::temp_directory_path() / "honeyman-redis-XXXXXX").string();
  dir_ = mkdtemp(pattern.data()) ? pattern : std::string();
}

RedisProcess::~RedisProcess() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

void RedisProcess::start() {
  std::vector<std::string> args = {
      "redis-server", "--port",    std::to_string(port_), "--bind", "127.0.0.1",
      "--save",       "",          "--appendonly",        "no",     "--dir",
      dir_,           "--logfile", dir_ + "/redis.log"};
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (port_accepts(port_)) return;
    if (!running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << "redis-server did not start on port " << port_
         << " (scripts/install-deps --test installs it); log:\n"
         << log();
}

void RedisProcess::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  reap(pid_);
  pid_ = -1;
}

bool RedisProcess::running() const {
  return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0;
}

std::string RedisProcess::log() const {
  std::ifstream in(dir_ + "/redis.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace honeyman::testing
