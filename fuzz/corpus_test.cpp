// The committed fuzz corpus as a regression test of the normal build: every file of
// fuzz/corpus/<target>/ goes through its target's plain function. A file that once crashed (or
// broke an invariant) stays in the corpus, so the bug it found cannot come back unnoticed; under
// ASan+UBSan (scripts/test) memory errors and undefined behaviour fail the test too.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz.hpp"

namespace honeyman::fuzz {
namespace {

namespace fs = std::filesystem;

// The input being run, named on stderr if it kills the process (abort, sanitizer report).
char g_corpus_current[4096];

void name_corpus_input(int signal) {
  constexpr char kPrefix[] = "\nFuzzCorpus: the failing input is ";
  (void)!write(STDERR_FILENO, kPrefix, sizeof kPrefix - 1);
  (void)!write(STDERR_FILENO, g_corpus_current, std::strlen(g_corpus_current));
  (void)!write(STDERR_FILENO, "\n", 1);
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

std::vector<fs::path> corpus_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_corpus_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class FuzzCorpus : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzCorpus, EveryInputPasses) {
  const Target& target = GetParam();
  const fs::path dir = fs::path(HONEYMAN_FUZZ_CORPUS_DIR) / target.name;
  ASSERT_TRUE(fs::is_directory(dir)) << dir << ": every target has a seed corpus";
  auto files = corpus_files(dir);
  ASSERT_FALSE(files.empty()) << dir;
  auto previous_abrt = std::signal(SIGABRT, name_corpus_input);
  auto previous_segv = std::signal(SIGSEGV, name_corpus_input);
  for (const auto& file : files) {
    auto bytes = read_corpus_file(file);
    std::strncpy(g_corpus_current, file.c_str(), sizeof g_corpus_current - 1);
    EXPECT_EQ(target.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), 0)
        << file;
  }
  std::signal(SIGABRT, previous_abrt);
  std::signal(SIGSEGV, previous_segv);
  std::cout << target.name << ": " << files.size() << " inputs\n";
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus,
                         ::testing::ValuesIn(targets().begin(), targets().end()),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace honeyman::fuzz
