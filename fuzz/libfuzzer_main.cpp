// The libFuzzer entry of one target (clang build, HONEYMAN_FUZZ=ON): compiled once per target
// with HONEYMAN_FUZZ_TARGET naming it (fuzz/CMakeLists.txt).
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz.hpp"

namespace {

const honeyman::fuzz::Target& this_target() {
  static const auto* target = honeyman::fuzz::find_target(HONEYMAN_FUZZ_TARGET);
  if (target == nullptr) {
    std::fprintf(stderr, "no fuzz target named %s\n", HONEYMAN_FUZZ_TARGET);
    std::abort();
  }
  return *target;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return this_target().run(data, size);
}
