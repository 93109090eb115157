#include "api/detail/export_formats.hpp"

#include <gtest/gtest.h>

namespace honeyman::api::detail {
namespace {

std::string cell(std::string_view text) {
  std::string out;
  append_csv_text(out, text);
  return out;
}

TEST(ExportCsv, QuotesOnlyWhatRfc4180Needs) {
  EXPECT_EQ(cell("plain"), "plain");
  EXPECT_EQ(cell(""), "");
  EXPECT_EQ(cell("a,b"), "\"a,b\"");
  EXPECT_EQ(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(cell("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(cell("cr\rhere"), "\"cr\rhere\"");
}

TEST(ExportCsv, PrefixesCellsThatASpreadsheetWouldEvaluate) {
  EXPECT_EQ(cell("=1+1"), "'=1+1");
  EXPECT_EQ(cell("+1"), "'+1");
  EXPECT_EQ(cell("-1"), "'-1");
  EXPECT_EQ(cell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(cell("\tx"), "'\tx");
  EXPECT_EQ(cell("\rx"), "\"'\rx\"");
  EXPECT_EQ(cell("=HYPERLINK(\"u\",\"x\")"), "\"'=HYPERLINK(\"\"u\"\",\"\"x\"\")\"");
  EXPECT_EQ(cell("a=b"), "a=b");
}

TEST(ExportCsv, HeaderHasEveryThreatField) {
  const auto& columns = csv_columns();
  EXPECT_EQ(columns.size(), 31u);
  EXPECT_EQ(columns.front(), "id");
  EXPECT_EQ(columns.back(), "updated_at");
}

TEST(ExportStix, UuidV5MatchesTheRfcExample) {
  // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
  EXPECT_EQ(uuid_v5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

TEST(ExportStix, ScoIdsAreUuidV5OfTheirJcsText) {
  // Python: uuid.uuid5(UUID("00abedb4-aa42-466c-9c01-fed23315a9b7"), '{"value":"10.0.0.7"}')
  auto id = sco_id("ipv4-addr", "value", "10.0.0.7");
  EXPECT_EQ(id, "ipv4-addr--fa32103b-4f54-55f5-9649-a135ed962131");
}

TEST(ExportStix, MacAddressesAreNormalised) {
  EXPECT_EQ(canonical_mac("02:1B:61:F5:E5:CE"), "02:1b:61:f5:e5:ce");
  EXPECT_EQ(canonical_mac("02-1b-61-f5-e5-ce"), "02:1b:61:f5:e5:ce");
  EXPECT_EQ(canonical_mac("021b61f5e5ce"), "02:1b:61:f5:e5:ce");
  EXPECT_EQ(canonical_mac("02:1b:61:f5:e5"), std::nullopt);
  EXPECT_EQ(canonical_mac("not a mac"), std::nullopt);
}

TEST(ExportStix, TimesHaveMilliseconds) {
  EXPECT_EQ(stix_time(*parse_timestamp("2026-08-08T14:06:00.123456Z")), "2026-08-08T14:06:00.123Z");
  EXPECT_EQ(stix_time(*parse_timestamp("2026-08-08T14:06:00Z")), "2026-08-08T14:06:00.000Z");
}

}  // namespace
}  // namespace honeyman::api::detail
