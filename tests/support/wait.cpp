#include "support/wait.hpp"

#include <thread>

namespace honeyman::testing {

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

void wait_for_next_second() {
  auto now = std::chrono::system_clock::now();
  std::this_thread::sleep_until(std::chrono::floor<std::chrono::seconds>(now) +
                                std::chrono::milliseconds(1001));
}

}  // namespace honeyman::testing
