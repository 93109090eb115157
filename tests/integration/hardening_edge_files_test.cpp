// Issue #11, finding 10: what holds secrets or data is the owner's alone from the moment it is
// created: the data directory 0700, .env and the SQLite database with its -wal/-shm 0600.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace fs = std::filesystem;

// The permission bits of `path` (-1 when it does not exist).
int edge_mode(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

std::string edge_octal(int mode) {
  char out[16];
  std::snprintf(out, sizeof out, "%04o", mode);
  return out;
}

TEST(EdgeFiles, InitCreatesAPrivateDataDirectory) {
  TempDir dir;
  auto data = dir.path() + "/data";
  auto r = run_honeyman({"init", "--data-dir", data}, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(edge_octal(edge_mode(data)), "0700");
  EXPECT_EQ(edge_octal(edge_mode(data + "/.env")), "0600");
  EXPECT_EQ(edge_octal(edge_mode(data + "/honeyman.db")), "0600");
  for (auto suffix : {"-wal", "-shm"}) {
    if (fs::exists(data + "/honeyman.db" + suffix)) {
      EXPECT_EQ(edge_octal(edge_mode(data + "/honeyman.db" + suffix)), "0600") << suffix;
    }
  }
  // init writes the URL sensors are told (finding 8): no Host header decides it.
  EXPECT_NE(read_file(data + "/.env").find("\nPUBLIC_API_URL=http://127.0.0.1:8000\n"),
            std::string::npos)
      << read_file(data + "/.env");
}

TEST(EdgeFiles, InitNeverOverwritesAnExistingEnvFile) {
  TempDir dir;
  auto data = dir.path() + "/data";
  fs::create_directories(data);
  const std::string mine =
      "ENVIRONMENT=production\nSECRET_KEY=my-own-secret-key-0123456789abcdef0123\n"
      "DATABASE_URL=sqlite:///" +
      data + "/mine.db\n";
  std::ofstream(data + "/.env") << mine;
  auto r = run_honeyman({"init", "--data-dir", data}, {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("kept existing"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(data + "/.env"), mine);
  EXPECT_NE(r.out.find("PUBLIC_API_URL"), std::string::npos)
      << "init says that the kept .env lacks PUBLIC_API_URL: " << r.out;
}

TEST(EdgeFiles, TheServerCreatesItsDatabasePrivate) {
  TempDir dir;
  auto db = dir.path() + "/new.db";
  ServerProcess server(std::map<std::string, std::string>{{"DATABASE_URL", "sqlite:///" + db}});
  server.start();
  ASSERT_EQ(server.client().get("/ready").status, 200) << server.log();
  for (auto suffix : {"", "-wal", "-shm"}) {
    ASSERT_TRUE(fs::exists(db + suffix)) << suffix << " (WAL mode keeps both while open)";
    EXPECT_EQ(edge_octal(edge_mode(db + suffix)), "0600") << db + suffix;
  }
}

}  // namespace
}  // namespace honeyman::testing
