// The web console's files and the pure rules of serving them: which files a directory gives (and
// which it refuses), the API prefix put into index.html, content-coding negotiation, validators.
#include "api/detail/console_files.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

namespace honeyman::api::detail {
namespace {

namespace fs = std::filesystem;

TEST(ConsoleEncoding, BrotliThenGzipThenIdentityAsTheClientAccepts) {
  struct Case {
    std::string_view accept;
    bool has_br, has_gzip;
    Encoding expected;
  };
  const Case cases[] = {
      {"br, gzip", true, true, Encoding::br},
      {"gzip, deflate, br, zstd", true, true, Encoding::br},
      {"gzip", true, true, Encoding::gzip},
      {"x-gzip", true, true, Encoding::gzip},
      {"GZIP;Q=1", true, true, Encoding::gzip},
      {"", true, true, Encoding::identity},
      {"identity", true, true, Encoding::identity},
      {"br;q=0, gzip", true, true, Encoding::gzip},
      {"br;q=0.000, gzip;q=0", true, true, Encoding::identity},
      {"gzip;q=0.5, br;q=0.1", true, true, Encoding::br},  // any weight above 0 accepts
      {"*", true, true, Encoding::br},
      {"*;q=0", true, true, Encoding::identity},
      {"br;q=0, *", true, true, Encoding::gzip},
      {"br, gzip", false, true, Encoding::gzip},
      {"br, gzip", false, false, Encoding::identity},
      {" , br ;q=1 ,", true, false, Encoding::br},
  };
  for (const auto& c : cases)
    EXPECT_EQ(choose_encoding(c.accept, c.has_br, c.has_gzip), c.expected) << c.accept;
}

TEST(ConsoleValidators, IfNoneMatchComparesWeaklyAndPerCoding) {
  EXPECT_TRUE(etag_matches(R"("abc")", R"("abc")"));
  EXPECT_TRUE(etag_matches(R"(W/"abc")", R"("abc")"));
  EXPECT_TRUE(etag_matches(R"("x", "abc" , "y")", R"("abc")"));
  EXPECT_TRUE(etag_matches("*", R"("abc")"));
  EXPECT_FALSE(etag_matches("", R"("abc")"));
  EXPECT_FALSE(etag_matches(R"("abcd")", R"("abc")"));
  ConsoleFile file;
  file.etag = R"("0123456789abcdef")";
  EXPECT_EQ(etag_of(file, Encoding::identity), R"("0123456789abcdef")");
  EXPECT_EQ(etag_of(file, Encoding::br), R"("0123456789abcdef-br")");
  EXPECT_EQ(etag_of(file, Encoding::gzip), R"("0123456789abcdef-gzip")");
}

TEST(ConsoleIndex, ThePrefixMetaGetsTheConfiguredPrefix) {
  bool found = false;
  auto vite = with_api_prefix(
      "<head>\n<meta charset=\"utf-8\" />\n"
      "<meta name=\"honeyman-api-prefix\" content=\"/api/v2\" />\n</head>",
      "/hm/api", found);
  EXPECT_TRUE(found);
  EXPECT_EQ(vite,
            "<head>\n<meta charset=\"utf-8\" />\n"
            "<meta name=\"honeyman-api-prefix\" content=\"/hm/api\" />\n</head>");
  EXPECT_EQ(with_api_prefix("<META CONTENT='/api/v2' NAME='honeyman-api-prefix'>", "/x", found),
            "<META CONTENT=\"/x\" NAME='honeyman-api-prefix'>");
  EXPECT_TRUE(found);
  EXPECT_EQ(with_api_prefix(R"(<meta name="honeyman-api-prefix" content="">)", R"(/a"<b>)", found),
            R"(<meta name="honeyman-api-prefix" content="/a&quot;&lt;b&gt;">)");
  // Other meta tags, and none at all, stay as they are.
  const std::string other = R"(<meta name="honeyman-api-prefix-x" content="/api/v2">)";
  EXPECT_EQ(with_api_prefix(other, "/x", found), other);
  EXPECT_FALSE(found);
  EXPECT_EQ(with_api_prefix("<p>no meta</p>", "/x", found), "<p>no meta</p>");
  EXPECT_FALSE(found);
}

TEST(ConsoleTypes, ByExtension) {
  EXPECT_EQ(content_type_of("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type_of("assets/index-3fa9c1d2.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_of("assets/a.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type_of("assets/a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_of("assets/world-110m.json"), "application/json");
  EXPECT_EQ(content_type_of("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_of("assets/font.woff2"), "font/woff2");
  EXPECT_EQ(content_type_of("site.webmanifest"), "application/manifest+json");
  EXPECT_EQ(content_type_of("assets/a.wasm"), "application/octet-stream");
  EXPECT_EQ(content_type_of("README"), "application/octet-stream");
}

TEST(ConsoleRoutes, MissingFilesAreTellableFromTheAppsRoutes) {
  for (auto file : {"assets/old-123.js", "assets/anything", "favicon.ico", "robots.txt",
                    "a/b/c.CSS", ".env", "x/.git", "wp-login.php", "backup.tar", "index.html"})
    EXPECT_TRUE(names_a_file(file)) << file;
  for (auto route : {"", "threats", "sensors/abc", "sensors/lab.1", "sensors/A.b_c-9",
                     "sensors/rpi5.office.local", "threats/", "live", "sensors/x.json/"})
    EXPECT_FALSE(names_a_file(route)) << route;
}

class ConsoleLoad : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    root_ = fs::temp_directory_path() / ("honeyman-console-" + std::to_string(random()));
    dir_ = root_ / "dist";
    fs::create_directories(dir_ / "assets");
    write("index.html", R"(<meta name="honeyman-api-prefix" content="/api/v2">)");
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& name, const std::string& data) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name, std::ios::binary) << data;
  }

  fs::path root_, dir_;
};

TEST_F(ConsoleLoad, ReadsFilesVariantsAndRewritesTheIndex) {
  write("assets/app-0123abcd.js", "console.log(1)");
  write("assets/app-0123abcd.js.br", "BR");
  write("assets/app-0123abcd.js.gz", "GZ");
  write("favicon.svg", "<svg/>");
  write("index.html.gz", "stale");
  write("orphan.gz", "no base file: a file of its own");
  write(".hidden", "x");
  write(".git/config", "x");
  auto loaded = load_console_files(dir_, "/hm/api");
  ASSERT_TRUE(loaded) << loaded.error().message;
  std::vector<std::string> names;
  for (const auto& [name, file] : loaded->files) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"assets/app-0123abcd.js", "favicon.svg", "index.html",
                                             "orphan.gz"}));
  const auto& js = *loaded->find("assets/app-0123abcd.js");
  EXPECT_EQ(js.data, "console.log(1)");
  EXPECT_EQ(js.br, "BR");
  EXPECT_EQ(js.gzip, "GZ");
  EXPECT_TRUE(js.immutable);
  EXPECT_FALSE(js.html);
  EXPECT_EQ(js.etag, "\"" + sha256_hex("console.log(1)").substr(0, 16) + "\"");
  const auto& index = *loaded->find("index.html");
  EXPECT_EQ(index.data, R"(<meta name="honeyman-api-prefix" content="/hm/api">)");
  EXPECT_TRUE(index.gzip.empty()) << "a variant of the file before the rewrite";
  EXPECT_TRUE(index.html);
  EXPECT_FALSE(index.immutable);
  EXPECT_TRUE(loaded->prefix_meta);
  EXPECT_FALSE(loaded->find("favicon.svg")->immutable);
  EXPECT_EQ(loaded->bytes, 14u + 2 + 2 + 6 + index.data.size() + 31);
}

TEST_F(ConsoleLoad, LinksInsideAreFollowedLinksOutsideRefused) {
  write("real.txt", "inside");
  fs::create_symlink(dir_ / "real.txt", dir_ / "alias.txt");
  auto inside = load_console_files(dir_, "/api/v2");
  ASSERT_TRUE(inside) << inside.error().message;
  EXPECT_EQ(inside->find("alias.txt")->data, "inside");
  std::ofstream(root_ / "secret.txt") << "outside";
  fs::create_symlink(root_ / "secret.txt", dir_ / "assets" / "leak.txt");
  auto outside = load_console_files(dir_, "/api/v2");
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().message.find("leak.txt"), std::string::npos);
  EXPECT_NE(outside.error().message.find("symbolic link out of the directory"), std::string::npos);
  fs::remove(dir_ / "assets" / "leak.txt");
  fs::create_directory_symlink(root_, dir_ / "up");
  EXPECT_FALSE(load_console_files(dir_, "/api/v2"));
}

TEST_F(ConsoleLoad, RefusesHugeFilesAndDirectoriesWithoutAnIndex) {
  write("assets/big.js", "");
  fs::resize_file(dir_ / "assets" / "big.js", kMaxConsoleFileBytes + 1);  // sparse
  auto big = load_console_files(dir_, "/api/v2");
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().message.find("big.js: larger than 16 MB"), std::string::npos);
  fs::remove(dir_ / "assets" / "big.js");
  fs::remove(dir_ / "index.html");
  auto no_index = load_console_files(dir_, "/api/v2");
  ASSERT_FALSE(no_index);
  EXPECT_NE(no_index.error().message.find("no index.html"), std::string::npos);
  auto missing = load_console_files(root_ / "nothing", "/api/v2");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nothing"), std::string::npos);
}

}  // namespace
}  // namespace honeyman::api::detail
