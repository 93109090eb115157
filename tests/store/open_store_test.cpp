// open_store's URL handling, schema migrations, and SQLite-specific behaviour.
#include <filesystem>
#include <future>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

namespace fs = std::filesystem;

Errc open_code(const std::string& url) {
  return code_of(open_store({.database_url = url}));
}

// A scratch directory, removed afterwards.
class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("honeyman-open-" + random_token(9))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(OpenStore, RefusesUnsupportedUrls) {
  EXPECT_EQ(open_code("mysql://localhost/db"), Errc::invalid_input);
  EXPECT_EQ(open_code("honeyman.db"), Errc::invalid_input);
  EXPECT_EQ(open_code("sqlite://somehost/honeyman.db"), Errc::invalid_input);
  EXPECT_EQ(open_code("sqlite:///"), Errc::invalid_input);
}

// Port 1 on loopback: nothing listens there, so the connection is refused at once.
TEST(OpenStore, UnreachablePostgresIsUnavailable) {
  for (std::string scheme : {"postgresql", "postgres", "postgresql+asyncpg"}) {
    auto pg = open_store({.database_url = scheme + "://honeyman@127.0.0.1:1/honeyman"});
    ASSERT_FALSE(pg) << scheme;
    EXPECT_EQ(pg.error().code, Errc::unavailable) << scheme;
    EXPECT_NE(pg.error().message.find("PostgreSQL"), std::string::npos) << pg.error().message;
  }
}

TEST(OpenStore, UnreachableFileIsUnavailable) {
  EXPECT_EQ(open_code("sqlite:////nonexistent-honeyman-dir/sub/x.db"), Errc::unavailable);
}

TEST(OpenStore, AbsoluteAndRelativePathsFollowSqlAlchemy) {
  TempDir dir;
  auto absolute = dir.path() / "abs.db";
  ASSERT_EQ(open_code("sqlite:///" + absolute.string()), Errc::ok);
  EXPECT_TRUE(fs::exists(absolute));

  auto previous = fs::current_path();
  fs::current_path(dir.path());
  auto relative = open_code("sqlite:///rel.db");
  auto driver_named = open_code("sqlite+aiosqlite:///./driver.db");  // old .env files
  fs::current_path(previous);
  EXPECT_EQ(relative, Errc::ok);
  EXPECT_EQ(driver_named, Errc::ok);
  EXPECT_TRUE(fs::exists(dir.path() / "rel.db"));
  EXPECT_TRUE(fs::exists(dir.path() / "driver.db"));
}

TEST(OpenStore, EachMemoryStoreIsPrivate) {
  auto a = open_store({.database_url = "sqlite:///:memory:"});
  auto b = open_store({.database_url = "sqlite:///:memory:"});
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->migrate());
  ASSERT_TRUE((*a)->create_user(make_user("alice")));
  EXPECT_EQ((*b)->schema_version().value(), 0);
  EXPECT_EQ(code_of((*a)->find_user_by_name("alice")), Errc::ok);
}

TEST(OpenStore, SchemaVersionIsZeroBeforeMigrating) {
  TempDir dir;
  auto s = open_store({.database_url = "sqlite:///" + (dir.path() / "v.db").string()});
  ASSERT_TRUE(s);
  EXPECT_EQ((*s)->schema_version().value(), 0);
  EXPECT_EQ(code_of((*s)->ping()), Errc::ok);
}

// Two processes starting at once on a new database: each migration is applied exactly once.
TEST(OpenStore, ConcurrentMigrationsOfAFreshFileAgree) {
  TempDir dir;
  auto url = "sqlite:///" + (dir.path() / "m.db").string();
  auto a = open_store({.database_url = url});
  auto b = open_store({.database_url = url});
  ASSERT_TRUE(a && b);
  auto ma = std::async(std::launch::async, [&] { return (*a)->migrate(); });
  auto mb = std::async(std::launch::async, [&] { return (*b)->migrate(); });
  auto ra = ma.get(), rb = mb.get();
  ASSERT_TRUE(ra) << ra.error().message;
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_GT(*ra, 0);
  EXPECT_EQ(*ra, *rb);
}

TEST(OpenStore, ParsesEverySortName) {
  for (auto name : {"timestamp", "severity", "threat_score", "threat_type", "sensor_id",
                    "detector_type", "created_at"})
    EXPECT_TRUE(parse_threat_sort(name)) << name;
  EXPECT_FALSE(parse_threat_sort("__class__"));
  EXPECT_FALSE(parse_threat_sort("Timestamp"));
  EXPECT_FALSE(parse_threat_sort(""));
}

// ---------------------------------------------------------------------------------------------
class MigrationTest : public StoreTest {};

TEST_P(MigrationTest, MigrateIsIdempotent) {
  auto version = store().schema_version();
  ASSERT_TRUE(version);
  EXPECT_GT(*version, 0);
  EXPECT_EQ(store().migrate().value(), *version);
  EXPECT_EQ(store().migrate().value(), *version);
  EXPECT_EQ(code_of(store().ping()), Errc::ok);
}

HONEYMAN_STORE_SUITE(MigrationTest);

}  // namespace
}  // namespace honeyman::store::testing
