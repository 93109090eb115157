// What the export (issue #14) asks of the stores: latest_threat_seq as a cut-off, max_seq on
// every page (rows stored later are left out, pages do not shift), and pages without a total
// that may exceed the list's 1,000 rows.
#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using namespace std::chrono_literals;

class ExportQueryTest : public StoreTest {
 protected:
  // `n` threats of sensor-a, one minute apart from `first`.
  std::vector<domain::Threat> make(int n, Timestamp first, const std::string& type) {
    std::vector<domain::Threat> out;
    for (int i = 0; i < n; ++i)
      out.push_back(make_threat({.timestamp = first + std::chrono::minutes(i),
                                 .threat_type = type + "-" + std::to_string(i)}));
    return out;
  }
  std::vector<std::string> walk(ThreatQuery q) {
    std::vector<std::string> ids;
    for (;;) {
      auto page = store().query_threats(q);
      EXPECT_TRUE(page) << page.error().message;
      if (!page) return ids;
      EXPECT_EQ(page->total, 0);
      for (const auto& t : page->threats) ids.push_back(t.id);
      if (page->next_cursor.empty()) return ids;
      q.cursor = page->next_cursor;
    }
  }
};

TEST_P(ExportQueryTest, LatestSeqIsZeroOnAnEmptyStoreAndGrows) {
  auto empty = store().latest_threat_seq();
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_EQ(*empty, 0);
  add_sensors(store(), {"sensor-a"});
  insert(store(), make(3, kT0, "a"));
  auto first = store().latest_threat_seq();
  ASSERT_TRUE(first);
  EXPECT_GT(*first, 0);
  insert(store(), make(2, kT0, "b"));
  auto second = store().latest_threat_seq();
  ASSERT_TRUE(second);
  EXPECT_GT(*second, *first);
}

TEST_P(ExportQueryTest, MaxSeqLeavesOutLaterRowsAndPagesDoNotShift) {
  add_sensors(store(), {"sensor-a"});
  auto before = ids_of(insert(store(), make(30, kT0, "old")));
  auto cutoff = store().latest_threat_seq();
  ASSERT_TRUE(cutoff);
  ThreatQuery q{.max_seq = *cutoff, .with_total = false, .page_size = 7};
  auto page = store().query_threats(q);
  ASSERT_TRUE(page);
  // Stored after the cut-off, dated before and after every earlier row: they would fall into
  // the pages still to come, or before the page already read.
  insert(store(), make(10, kT0 - 1h, "early"));
  insert(store(), make(10, kT0 + 1h, "late"));
  q.cursor = page->next_cursor;
  auto rest = walk(q);
  std::vector<std::string> exported;
  for (const auto& t : page->threats) exported.push_back(t.id);
  exported.insert(exported.end(), rest.begin(), rest.end());
  std::reverse(before.begin(), before.end());  // newest first
  EXPECT_EQ(exported, before);
}

TEST_P(ExportQueryTest, WithoutTotalPagesMayHoldMoreThanAThousandRows) {
  add_sensors(store(), {"sensor-a"});
  insert(store(), make(1500, kT0, "t"));
  ThreatQuery big{.with_total = false, .page_size = kMaxExportPageSize};
  auto page = store().query_threats(big);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->threats.size(), 1500u);
  EXPECT_EQ(page->total, 0);
  EXPECT_TRUE(page->next_cursor.empty());
  ThreatQuery listed{.page_size = kMaxExportPageSize};  // with a total: the list's 1,000
  auto list_page = store().query_threats(listed);
  ASSERT_TRUE(list_page);
  EXPECT_EQ(list_page->threats.size(), 1000u);
  EXPECT_EQ(list_page->total, 1500);
}

HONEYMAN_STORE_SUITE(ExportQueryTest);

}  // namespace
}  // namespace honeyman::store::testing
