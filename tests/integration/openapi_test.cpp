// The API's documentation as a user meets it: the OpenAPI document at /api/v2/openapi.json
// (public, OpenAPI 3.1, passes Redocly's strict rules), Swagger UI at /api/v2/docs and ReDoc at
// /api/v2/redoc with their scripts served by the binary (no CDN) under a strict CSP. Recorded
// answers are validated against the document by tests/openapi/validate_responses.py; the
// browser test is tests/browser/api_docs_test.py.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;

class OpenApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    server_->start();
    auto reply = server_->client().get("/api/v2/openapi.json");
    ASSERT_EQ(reply.status, 200) << reply.body;
    ASSERT_EQ(reply.header("content-type"), "application/json");
    document_ = new json::value(reply.json());
  }
  static void TearDownTestSuite() {
    delete document_;
    delete server_;
  }
  static const json::object& doc() { return document_->as_object(); }
  static const json::object& operation(const std::string& path, const std::string& method) {
    return doc().at("paths").at(path).at(method).as_object();
  }

  static ServerProcess* server_;
  static json::value* document_;
};
ServerProcess* OpenApiTest::server_ = nullptr;
json::value* OpenApiTest::document_ = nullptr;

TEST_F(OpenApiTest, DocumentDescribesTheApi) {
  EXPECT_EQ(doc().at("openapi"), "3.1.0");
  EXPECT_EQ(doc().at("info").at("version"), server_->client().get("/health").json().at("version"));
  const auto& schemes = doc().at("components").at("securitySchemes").as_object();
  EXPECT_EQ(schemes.at("bearerAuth").at("scheme"), "bearer");
  EXPECT_EQ(schemes.at("apiKeyAuth").at("name"), "X-API-Key");
  // Each route states its credential; the builder turns it into security and error answers.
  const auto& list = operation("/api/v2/sensors", "get");
  EXPECT_EQ(list.at("security").at(0).as_object().count("bearerAuth"), 1u);
  for (auto status : {"200", "401", "403", "422", "429"})
    EXPECT_TRUE(list.at("responses").as_object().contains(status)) << status;
  EXPECT_EQ(operation("/api/v2/auth/login", "post").at("security").as_array().size(), 0u);
  const auto& heartbeat = operation("/api/v2/sensors/{sensor_id}/heartbeat", "post");
  EXPECT_EQ(heartbeat.at("security").at(0).as_object().count("apiKeyAuth"), 1u);
  EXPECT_EQ(heartbeat.at("parameters").at(0).at("in"), "path");
  EXPECT_TRUE(heartbeat.at("responses").as_object().contains("413"));
  // FastAPI's validation error list, documented.
  const auto& validation = doc().at("components").at("schemas").at("ValidationError");
  EXPECT_TRUE(validation.at("properties")
                  .at("detail")
                  .at("items")
                  .at("properties")
                  .as_object()
                  .contains("loc"));
  // Examples are the deployed sensors' own payloads.
  const auto& examples = operation("/api/v2/threats", "post")
                             .at("requestBody")
                             .at("content")
                             .at("application/json")
                             .at("examples");
  EXPECT_EQ(examples.at("agent").at("value"), wire_sample("agent-threat.json"));
  EXPECT_EQ(examples.at("canonical").at("value"), wire_sample("canonical-threat.json"));
  // The WebSocket protocol in prose and the MQTT appendix.
  auto text = std::string(doc().at("info").at("description").as_string());
  EXPECT_NE(text.find("/api/v2/ws?token="), std::string::npos);
  EXPECT_NE(text.find("honeyman/sensors/<id>/threats"), std::string::npos);
  EXPECT_NE(text.find("\"risk_level\": \"critical\""), std::string::npos);  // agent-threat.json
}

TEST_F(OpenApiTest, PassesTheLinter) {
  TempDir dir("honeyman-openapi");
  auto file = dir.path() + "/openapi.json";
  std::ofstream(file) << json::serialize(*document_);
  auto out = dir.path() + "/lint.out";
  auto command = std::string("node ") + HONEYMAN_SOURCE_DIR + "/tools/openapi-lint/lint.mjs " +
                 file + " >" + out + " 2>&1";
  int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << "scripts/install-deps --test installs the linter\n" << read_file(out);
}

// The pages load only what the server itself serves, under a policy that allows nothing else.
TEST_F(OpenApiTest, ViewersAreServedOfflineUnderAStrictPolicy) {
  auto client = server_->client();
  for (std::string page : {"/api/v2/docs", "/api/v2/redoc"}) {
    auto reply = client.get(page);
    ASSERT_EQ(reply.status, 200) << page;
    EXPECT_EQ(reply.header("content-type"), "text/html; charset=utf-8");
    auto csp = reply.header("content-security-policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("http"), std::string::npos) << csp;  // no other origin
    EXPECT_EQ(reply.body.find("http"), std::string::npos) << reply.body;
    EXPECT_EQ(reply.body.find("<script>"), std::string::npos) << "inline script: " << reply.body;
    std::regex ref(R"re((?:src|href)="([^"]+)")re");
    int assets = 0;
    for (std::sregex_iterator it(reply.body.begin(), reply.body.end(), ref), end; it != end; ++it) {
      auto url = (*it)[1].str();
      if (url.rfind("data:", 0) == 0) continue;  // the empty favicon: nothing to fetch
      auto asset = client.get(url, {{"Accept-Encoding", "gzip"}});
      EXPECT_EQ(asset.status, 200) << url;
      EXPECT_FALSE(asset.body.empty()) << url;
      ++assets;
    }
    EXPECT_GE(assets, 2) << page;
  }
}

TEST_F(OpenApiTest, ScriptsAreTheVendoredFilesGzippedOnRequest) {
  auto client = server_->client();
  auto vendored = read_file(std::string(HONEYMAN_SOURCE_DIR) +
                            "/third_party/swagger-ui-dist/swagger-ui-bundle.js");
  ASSERT_GT(vendored.size(), 1'000'000u);
  auto plain = client.get("/api/v2/docs/assets/swagger-ui-bundle.js?v=1");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(plain.header("content-encoding"), "");
  EXPECT_TRUE(plain.body == vendored) << "the served script differs from third_party's";
  EXPECT_NE(plain.header("cache-control").find("max-age"), std::string::npos);
  auto gzipped =
      client.get("/api/v2/docs/assets/swagger-ui-bundle.js", {{"Accept-Encoding", "gzip, br"}});
  ASSERT_EQ(gzipped.status, 200);
  EXPECT_EQ(gzipped.header("content-encoding"), "gzip");
  EXPECT_EQ(gzipped.body.substr(0, 2), "\x1f\x8b");
  EXPECT_LT(gzipped.body.size(), vendored.size() / 3);
  EXPECT_EQ(client.get("/api/v2/docs/assets/../../../etc/passwd").status, 404);
  EXPECT_EQ(client.get("/api/v2/docs/assets/nope.js").status, 404);
}

TEST_F(OpenApiTest, DocumentAndViewersArePublicButCheckASentCredential) {
  auto client = server_->client();
  EXPECT_EQ(client.get("/api/v2/docs").status, 200);
  EXPECT_EQ(client.get("/api/v2/openapi.json", bearer("not-a-token")).status, 401);
}

}  // namespace
}  // namespace honeyman::testing
