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

#include "support/process.hpp"

namespace honeyman::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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
  pid_ = spawn(args);
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
  wait_exit(pid_, std::chrono::seconds(5));
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
