// GET /threats/export (issue #14): RBAC, refused parameters, every list filter (the same ids in
// the same order as paging the list), CSV quoting and formula-injection cells, the STIX bundle
// against tests/export/stix_validator.py, HTTP/1.0 and HEAD, and the cut-off under concurrent
// ingest (a raw socket that stops reading mid-export). Runs on SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <fstream>
#include <set>

#include "integration/harness.hpp"

namespace honeyman::testing {
namespace {

namespace json = boost::json;
using Rows = std::vector<std::vector<std::string>>;

// RFC 4180, as a spreadsheet reads it.
Rows parse_csv(const std::string& text) {
  Rows rows(1);
  std::string cell;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(std::move(cell));
      cell.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      rows.back().push_back(std::move(cell));
      cell.clear();
      rows.emplace_back();
      ++i;
    } else {
      cell += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

std::vector<std::string> ndjson_ids(const std::string& body) {
  std::vector<std::string> ids;
  std::size_t start = 0;
  for (auto end = body.find('\n'); end != std::string::npos; end = body.find('\n', start)) {
    auto line = json::parse(std::string_view(body).substr(start, end - start));
    ids.emplace_back(line.at("id").as_string());
    start = end + 1;
  }
  EXPECT_EQ(start, body.size()) << "the last line is not \\n-terminated";
  return ids;
}

class ExportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fleet_ = Fleet::start().release();
    const char* detectors[] = {"usb", "wifi", "ble", "network", "airdrop"};
    const char* severities[] = {"critical", "high", "medium", "low", "info"};
    json::array batch;
    for (int i = 0; i < 60; ++i) {
      char ts[32];
      std::snprintf(ts, sizeof ts, "2026-08-08T10:%02d:%02d.000000Z", i % 30, i / 30);
      batch.push_back(json::object{{"sensor_id", i % 2 ? "sensor-b" : "sensor-a"},
                                   {"detector_type", detectors[i % 5]},
                                   {"severity", severities[(i / 5 + i) % 5]},
                                   {"threat_type", "type-" + std::to_string(i % 3)},
                                   {"threat_score", (i * 37 % 100) / 100.0},
                                   {"timestamp", ts}});
    }
    auto tricky = wire_sample("canonical-threat.json").as_object();
    tricky["sensor_id"] = "sensor-a";
    tricky["timestamp"] = "2026-08-08T11:00:00Z";
    tricky["device_name"] = "=HYPERLINK(\"http://evil.example\",\"x\")";
    tricky["city"] = "Paris, \"Ville\"\nLumière";
    tricky["country"] = "@FR";
    tricky["device_ip"] = "10.0.0.7";
    tricky["dst_host"] = "evil.example";
    tricky["longitude"] = -0.13;
    tricky["mitre_techniques"] = json::array{"T1557", "T1200.001"};
    batch.push_back(tricky);
    auto reply = client().post("/api/v2/threats", batch, bearer(fleet_->analyst));
    ASSERT_EQ(reply.status, 201) << reply.body;
    tricky_id_ = std::string(reply.json().as_array().back().at("id").as_string());
    auto ack = client().request("PUT", "/api/v2/threats/" + tricky_id_ + "/acknowledge",
                                R"({"notes":"-1+1 \"quoted\", and\r\na new line"})",
                                bearer(fleet_->analyst));
    ASSERT_EQ(ack.status, 200) << ack.body;
  }
  static void TearDownTestSuite() { delete fleet_; }

  static HttpClient client() {
    auto c = fleet_->server->client();
    c.set_timeout(std::chrono::seconds(60));
    return c;
  }
  static Reply export_as(const std::string& query, const std::string& token) {
    return client().get("/api/v2/threats/export?" + query, bearer(token));
  }
  // The list's ids for `filters`, paged with the cursor (newest first).
  static std::vector<std::string> listed(const std::string& filters) {
    std::vector<std::string> ids;
    std::string cursor;
    for (;;) {
      auto target =
          "/api/v2/threats?page_size=1000&" + filters + (cursor.empty() ? "" : "&cursor=" + cursor);
      auto page = client().get(target, bearer(fleet_->viewer)).json().as_object();
      for (const auto& t : page.at("threats").as_array()) ids.emplace_back(t.at("id").as_string());
      if (page.at("next_cursor").is_null()) return ids;
      cursor = std::string(page.at("next_cursor").as_string());
    }
  }

  static Fleet* fleet_;
  static std::string tricky_id_;
};
Fleet* ExportTest::fleet_ = nullptr;
std::string ExportTest::tricky_id_;

TEST_F(ExportTest, AnalystsAndAdminsOnly) {
  struct Case {
    std::string who;
    HeaderList headers;
    int status;
  };
  const std::vector<Case> cases = {
      {"admin", bearer(fleet_->admin), 200},
      {"analyst", bearer(fleet_->analyst), 200},
      {"viewer", bearer(fleet_->viewer), 403},
      {"sensor", api_key(fleet_->sensor_a_key), 403},
      {"nobody", {}, 401},
  };
  for (const auto& c : cases)
    EXPECT_EQ(client().get("/api/v2/threats/export?format=ndjson", c.headers).status, c.status)
        << c.who;
}

TEST_F(ExportTest, RefusesABadFormatAndThePagingParameters) {
  for (std::string query :
       {"", "format=xml", "format=csv&page=2", "format=csv&page_size=10", "format=csv&cursor=abc",
        "format=csv&sort_by=severity", "format=csv&severity=bad"}) {
    auto reply = export_as(query, fleet_->analyst);
    EXPECT_EQ(reply.status, 422) << query << ": " << reply.body;
    EXPECT_NE(reply.body.find("\"query\""), std::string::npos) << reply.body;
  }
}

TEST_F(ExportTest, EachFilterExportsWhatTheListPages) {
  for (std::string filters :
       {"", "sensor_id=sensor-a", "detector_type=WIFI&detector_type=ble", "threat_type=type-1",
        "severity=critical,low", "start_time=2026-08-08T10:10:00Z", "end_time=2026-08-08T10:20:00Z",
        "is_acknowledged=true", "sensor_id=sensor-b&severity=medium&detector_type=usb"}) {
    auto reply = export_as("format=ndjson&" + filters, fleet_->analyst);
    ASSERT_EQ(reply.status, 200) << filters << ": " << reply.body;
    EXPECT_EQ(reply.header("content-type"), "application/x-ndjson");
    EXPECT_EQ(reply.header("transfer-encoding"), "chunked");
    EXPECT_EQ(ndjson_ids(reply.body), listed(filters)) << filters;
  }
}

TEST_F(ExportTest, NdjsonLinesAreTheApiThreat) {
  auto reply =
      export_as("format=ndjson&sensor_id=sensor-a&start_time=2026-08-08T11:00:00Z", fleet_->admin);
  ASSERT_EQ(reply.status, 200);
  auto one = client().get("/api/v2/threats/" + tricky_id_, bearer(fleet_->admin));
  EXPECT_EQ(reply.body, one.body + "\n");
}

TEST_F(ExportTest, CsvQuotesAndDefusesFormulas) {
  auto reply = export_as("format=csv", fleet_->analyst);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "text/csv; charset=utf-8");
  auto rows = parse_csv(reply.body);
  ASSERT_EQ(rows.size(), 62u);
  const auto& header = rows[0];
  EXPECT_EQ(header.front(), "id");
  EXPECT_EQ(header.size(), 31u);
  for (const auto& row : rows) ASSERT_EQ(row.size(), header.size());
  auto cell = [&](const std::vector<std::string>& row, std::string_view name) {
    auto at = std::find(header.begin(), header.end(), name) - header.begin();
    return row.at(static_cast<std::size_t>(at));
  };
  const auto& tricky = rows[1];  // the newest
  EXPECT_EQ(cell(tricky, "id"), tricky_id_);
  EXPECT_EQ(cell(tricky, "device_name"), "'=HYPERLINK(\"http://evil.example\",\"x\")");
  EXPECT_EQ(cell(tricky, "city"), "Paris, \"Ville\"\nLumière");
  EXPECT_EQ(cell(tricky, "country"), "'@FR");
  EXPECT_EQ(cell(tricky, "acknowledgement_notes"), "'-1+1 \"quoted\", and\r\na new line");
  EXPECT_EQ(cell(tricky, "longitude"), "-0.13");  // a number: never prefixed
  EXPECT_EQ(cell(tricky, "mitre_techniques"), R"(["T1557","T1200.001"])");
  EXPECT_EQ(json::parse(cell(tricky, "raw_event")).at("channel").as_int64(), 6);
  EXPECT_EQ(cell(tricky, "is_acknowledged"), "true");
  EXPECT_EQ(cell(tricky, "status"), "acknowledged");  // is_acknowledged == (status != new)
  EXPECT_EQ(cell(rows[2], "device_name"), "");
}

TEST_F(ExportTest, StixBundlePassesTheValidator) {
  auto reply = export_as("format=stix", fleet_->analyst);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "application/stix+json;version=2.1");
  auto bundle = json::parse(reply.body).as_object();
  std::map<std::string, int> types;
  for (const auto& o : bundle.at("objects").as_array())
    ++types[std::string(o.at("type").as_string())];
  EXPECT_EQ(types["observed-data"], 61);
  EXPECT_EQ(types["sighting"], 61);
  EXPECT_EQ(types["identity"], 3);                // the deployment and two sensors
  EXPECT_EQ(types["attack-pattern"], 3 + 1 + 2);  // threat types and techniques
  EXPECT_EQ(types["ipv4-addr"], 1);
  EXPECT_EQ(types["domain-name"], 1);
  auto path = ::testing::TempDir() + "export-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << reply.body;
  auto command = std::string("/usr/bin/python3 ") + HONEYMAN_SOURCE_DIR +
                 "/tests/export/stix_validator.py " + path;
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
  std::remove(path.c_str());
  // The same threats, the same ids: an export can be re-imported without duplicates.
  auto again = json::parse(export_as("format=stix", fleet_->analyst).body).as_object();
  EXPECT_EQ(again.at("objects").as_array().back(), bundle.at("objects").as_array().back());
}

TEST_F(ExportTest, HttpOneZeroIsClosedNotChunkedAndHeadHasNoBody) {
  auto reply = fleet_->server->client().raw(
      "GET /api/v2/threats/export?format=ndjson HTTP/1.0\r\nAuthorization: Bearer " +
      fleet_->analyst + "\r\n\r\n");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.header("transfer-encoding"), "");
  EXPECT_EQ(ndjson_ids(reply.body).size(), 61u);
  auto head =
      client().request("HEAD", "/api/v2/threats/export?format=csv", {}, bearer(fleet_->analyst));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

// The export's first page is in the socket, unread; threats stored meanwhile (dated before
// every exported row, so they would sort into the pages still to come) must not appear, and no
// row stored before may be missing or repeated.
TEST_F(ExportTest, RowsStoredDuringAnExportAreLeftOut) {
  auto seeded = fleet_->server->cli({"seed-data", "--threats", "12000", "--sensors", "2"});
  ASSERT_EQ(seeded.exit_code, 0) << seeded.err;
  auto before = listed("");
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.open(asio::ip::tcp::v4());
  socket.set_option(asio::socket_base::receive_buffer_size(16 * 1024));
  socket.connect({asio::ip::make_address("127.0.0.1"), fleet_->server->port()});
  asio::write(socket, asio::buffer("GET /api/v2/threats/export?format=csv HTTP/1.1\r\nHost: x\r\n"
                                   "Connection: close\r\nAuthorization: Bearer " +
                                   fleet_->analyst + "\r\n\r\n"));
  std::string raw(32 * 1024, '\0');
  asio::read(socket, asio::buffer(raw));
  json::array late;
  for (int i = 0; i < 20; ++i)
    late.push_back(json::object{{"sensor_id", "sensor-b"},
                                {"detector_type", "usb"},
                                {"severity", "low"},
                                {"threat_type", "late-" + std::to_string(i)},
                                {"threat_score", 0.5},
                                {"timestamp", "2021-01-01T00:00:00Z"}});
  auto stored = client().post("/api/v2/threats", late, bearer(fleet_->analyst));
  ASSERT_EQ(stored.status, 201) << stored.body;
  boost::system::error_code ec;
  std::string rest;
  asio::read(socket, asio::dynamic_buffer(rest), ec);
  raw += rest;
  ASSERT_EQ(ec, asio::error::eof);
  auto body_at = raw.find("\r\n\r\n") + 4;
  std::string body;  // de-chunked
  for (std::size_t at = body_at;;) {
    auto line_end = raw.find("\r\n", at);
    ASSERT_NE(line_end, std::string::npos) << "no final 0-length chunk";
    auto size = std::stoul(raw.substr(at, line_end - at), nullptr, 16);
    if (size == 0) break;
    body.append(raw, line_end + 2, size);
    at = line_end + 2 + size + 2;
  }
  auto rows = parse_csv(body);
  std::vector<std::string> exported;
  for (std::size_t i = 1; i < rows.size(); ++i) exported.push_back(rows[i][0]);
  EXPECT_EQ(exported, before);
  EXPECT_EQ(std::set<std::string>(exported.begin(), exported.end()).size(), exported.size());
  EXPECT_EQ(listed("").size(), before.size() + 20);
}

}  // namespace
}  // namespace honeyman::testing
