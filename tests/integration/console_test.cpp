// The web console at / (WEB_DIR): a built console in a temporary directory, with real brotli and
// gzip variants, served by the real binary. Files and codings, caching and validators, the
// single-page app's routes, traversal, the API and root routes beside it, rate limits, metrics,
// and the WEB_DIR settings (off, missing, refused, the default).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace fs = std::filesystem;
using Env = std::map<std::string, std::string>;

constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kAsset = "/assets/app-0123abcd.js";
const std::string kMetricsToken = "console-test-metrics-token-0123";

const std::string kIndex = R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="honeyman-api-prefix" content="/api/v2" />
<link rel="icon" href="/favicon.svg" type="image/svg+xml" />
<script type="module" crossorigin src="/assets/app-0123abcd.js"></script>
</head>
<body><div id="root"></div></body>
</html>
)";

// `argv` with `input` on stdin; its stdout (the test fails when it does not exit 0).
std::string filter(const std::vector<std::string>& argv, const std::string& input) {
  TempDir dir;
  auto in = dir.path() + "/in", out = dir.path() + "/out";
  std::ofstream(in, std::ios::binary) << input;
  auto pid =
      spawn(argv, {.stdin_path = in, .stdout_path = out, .stderr_path = dir.path() + "/err"});
  int code = wait_exit(pid, std::chrono::seconds(30));
  EXPECT_EQ(code, 0) << argv[0] << ": " << read_file(dir.path() + "/err");
  return read_file(out);
}

// Node.js (a test dependency: scripts/install-deps --test) has brotli; Debian has no brotli CLI
// by default.
std::string node_zlib(std::string_view call, const std::string& input) {
  return filter({"/usr/bin/node", "-e",
                 "process.stdout.write(require('zlib')." + std::string(call) +
                     "(require('fs').readFileSync(0)))"},
                input);
}
std::string brotli(const std::string& data) {
  return node_zlib("brotliCompressSync", data);
}
std::string unbrotli(const std::string& data) {
  return node_zlib("brotliDecompressSync", data);
}
std::string gzip(const std::string& data) {
  return filter({"/usr/bin/gzip", "-9", "-n", "-c"}, data);
}
std::string gunzip(const std::string& data) {
  return filter({"/usr/bin/gzip", "-d", "-c"}, data);
}

void write(const fs::path& path, const std::string& data) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::string app_script() {
  std::string js;
  for (int i = 0; i < 200; ++i)
    js += "export const threat" + std::to_string(i) +
          " = { severity: 'high', count: " + std::to_string(i) + " };\n";
  return js;
}

// A console as `npm run build` leaves it: index.html, favicon.svg, hashed assets with their
// .br and .gz beside them (one file without), and what must never be served.
void write_console(const fs::path& dir) {
  write(dir / "index.html", kIndex);
  write(dir / "favicon.svg", R"(<svg xmlns="http://www.w3.org/2000/svg"/>)");
  auto js = app_script();
  write(dir / "assets/app-0123abcd.js", js);
  write(dir / "assets/app-0123abcd.js.br", brotli(js));
  write(dir / "assets/app-0123abcd.js.gz", gzip(js));
  write(dir / "assets/world-89abcdef.json", R"({"type":"Topology"})");
  write(dir / ".hidden/notes", "a dotfile's secret");
}

bool is_index(const Reply& r) {
  return r.status == 200 && r.body.find("honeyman-api-prefix") != std::string::npos;
}

class Console : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_console(web());
    server_ = new ServerProcess(Env{{"WEB_DIR", web()},
                                    {"RATE_LIMIT_ENABLED", "true"},
                                    {"RATE_LIMIT_PER_MINUTE", "5"},
                                    {"METRICS_TOKEN", kMetricsToken}});
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  static std::string web() { return dir_->path() + "/dist"; }
  static HttpClient client() { return server_->client(); }

  static TempDir* dir_;
  static ServerProcess* server_;
};
TempDir* Console::dir_ = nullptr;
ServerProcess* Console::server_ = nullptr;

TEST_F(Console, IndexIsTheAppWithItsOwnPolicyAndNoCache) {
  auto c = client();
  auto index = c.get("/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.body, kIndex);
  EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("content-security-policy"), kCsp);  // the console's alone, not http's too
  EXPECT_EQ(index.header("cache-control"), "no-cache");
  EXPECT_EQ(index.header("vary"), "Accept-Encoding");
  EXPECT_EQ(index.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(index.header("content-encoding"), "");  // rewritten at load: served as it is
  EXPECT_EQ(c.get("/index.html").body, kIndex);
  auto icon = c.get("/favicon.svg", {{"Accept-Encoding", "br, gzip"}});
  ASSERT_EQ(icon.status, 200);
  EXPECT_EQ(icon.header("content-type"), "image/svg+xml");
  EXPECT_EQ(icon.header("cache-control"), "no-cache");
  EXPECT_EQ(icon.header("content-encoding"), "");  // no variant built
  EXPECT_EQ(icon.header("content-security-policy"), "default-src 'none'; frame-ancestors 'none'");
}

TEST_F(Console, AssetsInTheBestCodingTheClientAcceptsCachedForever) {
  auto c = client();
  const auto js = app_script();
  auto br = c.get(kAsset, {{"Accept-Encoding", "gzip, deflate, br"}});
  ASSERT_EQ(br.status, 200);
  EXPECT_EQ(br.header("content-encoding"), "br");
  EXPECT_EQ(unbrotli(br.body), js);
  EXPECT_LT(br.body.size(), js.size() / 4);
  auto gz = c.get(kAsset, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_EQ(gunzip(gz.body), js);
  auto plain = c.get(kAsset);
  EXPECT_EQ(plain.header("content-encoding"), "");
  EXPECT_EQ(plain.body, js);
  EXPECT_EQ(c.get(kAsset, {{"Accept-Encoding", "br;q=0, gzip;q=0"}}).body, js);
  for (const auto* r : {&br, &gz, &plain}) {
    EXPECT_EQ(r->header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(r->header("vary"), "Accept-Encoding");
    EXPECT_EQ(r->header("cache-control"), kImmutable);
    EXPECT_EQ(r->header("x-content-type-options"), "nosniff");
    EXPECT_TRUE(std::regex_match(r->header("etag"), std::regex(R"("[0-9a-f]{16}(-br|-gzip)?")")))
        << r->header("etag");
  }
  // Each coding is a representation of its own, with its own validator.
  EXPECT_NE(br.header("etag"), plain.header("etag"));
  EXPECT_NE(gz.header("etag"), plain.header("etag"));
  auto fresh = c.get(kAsset, {{"Accept-Encoding", "br"}, {"If-None-Match", br.header("etag")}});
  EXPECT_EQ(fresh.status, 304);
  EXPECT_EQ(fresh.body, "");
  EXPECT_EQ(fresh.header("etag"), br.header("etag"));
  EXPECT_EQ(fresh.header("cache-control"), kImmutable);
  EXPECT_EQ(c.get(kAsset, {{"If-None-Match", plain.header("etag")}}).status, 304);
  EXPECT_EQ(c.get(kAsset, {{"If-None-Match", br.header("etag")}}).status, 200);  // other coding
  // A browser updates the stored page's headers from a 304: it keeps the console's policy.
  auto page = c.get("/", {{"If-None-Match", c.get("/").header("etag")}});
  EXPECT_EQ(page.status, 304);
  EXPECT_EQ(page.header("content-security-policy"), kCsp);
  EXPECT_EQ(page.header("cache-control"), "no-cache");
  auto head = c.request("HEAD", std::string(kAsset), {}, {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  EXPECT_EQ(head.header("content-length"), std::to_string(gz.body.size()));
  EXPECT_EQ(head.header("content-encoding"), "gzip");
  // A file without variants is sent as it is, whatever the client accepts.
  auto map = c.get("/assets/world-89abcdef.json", {{"Accept-Encoding", "br, gzip"}});
  EXPECT_EQ(map.body, R"({"type":"Topology"})");
  EXPECT_EQ(map.header("content-type"), "application/json");
  EXPECT_EQ(map.header("content-encoding"), "");
  EXPECT_EQ(map.header("vary"), "Accept-Encoding");
}

TEST_F(Console, AppRoutesAreTheIndexMissingFilesAre404) {
  auto c = client();
  // A sensor id may hold dots: a dot alone does not make a path a file.
  for (auto path : {"/threats?severity=high", "/sensors/abc", "/live?severity=high", "/threats/",
                    "/sensors/lab.1", "/.hidden/notes"}) {
    auto r = c.get(path);
    EXPECT_TRUE(is_index(r)) << path << ": " << r.status << " " << r.body;
    EXPECT_EQ(r.header("content-security-policy"), kCsp) << path;
    EXPECT_EQ(r.header("cache-control"), "no-cache") << path;
  }
  for (auto path : {"/assets/missing-1.js", "/assets/app-0123abcd.js.br", "/favicon.ico",
                    "/.hidden", "/robots.txt"}) {
    auto r = c.get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.header("content-type"), "text/plain; charset=utf-8") << path;
  }
}

TEST_F(Console, NoPathLeavesTheDirectory) {
  auto c = client();
  for (auto path :
       {"/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/assets/..%2f..%2fCMakeLists.txt",
        "/assets/../index.html", "/..%5c..%5cetc%5cpasswd", "/index.html%00.png",
        "/%2e%2e/dist/index.html", "/./index.html", "/a/%2e%2e", "/%zz"}) {
    auto r = c.get(path);
    EXPECT_TRUE(r.status == 404 || r.status == 400) << path << ": " << r.status;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << path;
  }
}

TEST_F(Console, ApiAndRootRoutesAreUnchanged) {
  auto c = client();
  auto nope = c.get("/api/v2/nope");
  EXPECT_EQ(nope.status, 404);
  EXPECT_EQ(nope.header("content-type"), "application/json");
  EXPECT_EQ(nope.json().at("detail"), "Not Found");
  EXPECT_EQ(c.get("/api/v2").status, 404);
  EXPECT_EQ(c.get("/health").json().at("status"), "ok");
  EXPECT_EQ(c.get("/health/extra").header("content-type"), "application/json");
  EXPECT_EQ(c.get("/ready").status, 200);
  EXPECT_EQ(c.get("/api/v2/sensors").status, 401);  // the API still asks for credentials
  auto post = c.post("/", boost::json::object{});
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("allow"), "GET");
  EXPECT_EQ(c.request("DELETE", "/threats").status, 405);
  // The static files share one metrics label; no path of theirs becomes a label.
  c.get("/sensors/secret-looking-sensor");
  auto metrics = c.get("/metrics", bearer(kMetricsToken));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(R"(route="console",status="200")"), std::string::npos);
  EXPECT_EQ(metrics.body.find("secret-looking-sensor"), std::string::npos);
  EXPECT_EQ(metrics.body.find("app-0123abcd"), std::string::npos);
}

TEST_F(Console, StaticFilesAreNotRateLimitedTheApiStillIs) {
  auto c = client();
  for (int i = 0; i < 200; ++i) {
    auto path = i % 3 == 0 ? std::string("/") : i % 3 == 1 ? std::string(kAsset) : "/threats";
    ASSERT_EQ(c.get(path, {{"Accept-Encoding", "br"}}).status, 200) << i << " " << path;
  }
  int limited = 0;
  for (int i = 0; i < 8; ++i) limited += c.get("/api/v2/sensors").status == 429 ? 1 : 0;
  EXPECT_GE(limited, 3);  // 5 a minute
}

TEST(ConsoleConfig, IndexCarriesTheConfiguredApiPrefix) {
  TempDir dir;
  write_console(dir.path());
  ServerProcess server(Env{{"WEB_DIR", dir.path()}, {"API_PREFIX", "/hm/api"}});
  server.start();
  auto index = server.client().get("/");
  ASSERT_EQ(index.status, 200);
  EXPECT_NE(index.body.find(R"(<meta name="honeyman-api-prefix" content="/hm/api" />)"),
            std::string::npos)
      << index.body;
  EXPECT_EQ(index.body.find("/api/v2"), std::string::npos);
  EXPECT_EQ(server.client().get("/hm/api/nope").json().at("detail"), "Not Found");
  // No longer the API's (a path of no operation: the recorded answers are checked against the
  // default prefix's document).
  EXPECT_TRUE(is_index(server.client().get("/api/v2/no-operation")));
  EXPECT_NE(server.log().find("web console: " + dir.path()), std::string::npos) << server.log();
}

TEST(ConsoleConfig, OffServesNoConsole) {
  TempDir dir;
  write_console(dir.path());
  for (auto off : {"off", "false", "none", "OFF"}) {
    ServerProcess server(Env{{"WEB_DIR", off}});
    server.start();
    auto c = server.client();
    auto root = c.get("/");
    EXPECT_EQ(root.status, 404) << off;
    EXPECT_EQ(root.header("content-type"), "application/json") << off;  // the API's 404
    EXPECT_EQ(c.get("/health").status, 200);
    EXPECT_EQ(c.get("/api/v2/health").status, 200);
    EXPECT_NE(server.log().find("web console: off"), std::string::npos);
  }
}

TEST(ConsoleConfig, AConfiguredDirectoryThatCannotBeServedStopsTheStart) {
  TempDir dir;
  auto missing = ServerProcess(Env{{"WEB_DIR", dir.path() + "/nothing"}}).cli({"serve"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("WEB_DIR: " + dir.path() + "/nothing is not a directory"),
            std::string::npos)
      << missing.err;
  write_console(dir.path() + "/dist");
  write(dir.path() + "/secret.txt", "outside");
  fs::create_symlink(dir.path() + "/secret.txt", dir.path() + "/dist/assets/leak.txt");
  auto link = ServerProcess(Env{{"WEB_DIR", dir.path() + "/dist"}}).cli({"serve"});
  EXPECT_EQ(link.exit_code, 1);
  EXPECT_NE(link.err.find("WEB_DIR"), std::string::npos) << link.err;
  EXPECT_NE(link.err.find("leak.txt: a symbolic link out of the directory"), std::string::npos)
      << link.err;
  auto unbuilt = ServerProcess(Env{{"WEB_DIR", dir.path()}}).cli({"serve"});  // no index.html
  EXPECT_EQ(unbuilt.exit_code, 1);
  EXPECT_NE(unbuilt.err.find("has no index.html"), std::string::npos) << unbuilt.err;
}

// Unset, WEB_DIR finds the package's console or this tree's web/dist, if built: either way the
// server starts and / is a page (the console, or how to build it).
TEST(ConsoleConfig, DefaultServesWhatItFindsOrSaysHowToBuildIt) {
  ServerProcess server(Env{{"WEB_DIR", ""}});
  server.start();
  auto root = server.client().get("/");
  EXPECT_EQ(root.header("content-type"), "text/html; charset=utf-8");
  if (root.status == 200) {
    EXPECT_TRUE(is_index(root)) << root.body;
    EXPECT_NE(server.log().find("web console: "), std::string::npos);
  } else {
    EXPECT_EQ(root.status, 404);
    EXPECT_NE(root.body.find("npm --prefix web ci &amp;&amp; npm --prefix web run build"),
              std::string::npos)
        << root.body;
    EXPECT_NE(root.body.find("scripts/build-web"), std::string::npos);
    EXPECT_NE(server.log().find("web console: not built"), std::string::npos) << server.log();
    EXPECT_EQ(server.client().get("/assets/x-1.js").status, 404);
  }
  EXPECT_EQ(server.client().get("/health").status, 200);
}

}  // namespace
}  // namespace honeyman::testing
