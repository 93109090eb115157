// Listing threats: every filter, every sort in both directions, offset and keyset paging (checked
// against a brute-force model of the same data), cursor validation and the capped total.
#include <algorithm>
#include <tuple>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using domain::Severity;
using Ids = std::vector<std::string>;

constexpr ThreatSort kSorts[] = {ThreatSort::timestamp,    ThreatSort::severity,
                                 ThreatSort::threat_score, ThreatSort::threat_type,
                                 ThreatSort::sensor_id,    ThreatSort::detector_type,
                                 ThreatSort::created_at};

// One stored threat and its insertion position (= its seq order, the final tiebreak).
struct Row {
  domain::Threat t;
  int index;
};

// The documented order: the sort column, then timestamp for severity and sensor_id, then seq.
using SortKey = std::tuple<std::int64_t, double, std::string, std::int64_t, int>;
SortKey sort_key(const Row& r, ThreatSort sort) {
  auto ts = to_unix_micros(r.t.timestamp);
  switch (sort) {
    case ThreatSort::timestamp:
      return {ts, 0, "", 0, r.index};
    case ThreatSort::severity:
      return {static_cast<int>(r.t.severity), 0, "", ts, r.index};
    case ThreatSort::sensor_id:
      return {0, 0, r.t.sensor_id, ts, r.index};
    case ThreatSort::threat_score:
      return {0, r.t.threat_score, "", 0, r.index};
    case ThreatSort::threat_type:
      return {0, 0, r.t.threat_type, 0, r.index};
    case ThreatSort::detector_type:
      return {0, 0, r.t.detector_type, 0, r.index};
    case ThreatSort::created_at:
      return {to_unix_micros(r.t.created_at), 0, "", 0, r.index};
  }
  return {};
}

template <class T>
bool in_or_empty(const std::vector<T>& list, const T& v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}

bool matches(const ThreatQuery& q, const domain::Threat& t) {
  return in_or_empty(q.sensor_ids, t.sensor_id) && in_or_empty(q.detector_types, t.detector_type) &&
         in_or_empty(q.threat_types, t.threat_type) && in_or_empty(q.severities, t.severity) &&
         (!q.start_time || t.timestamp >= *q.start_time) &&
         (!q.end_time || t.timestamp < *q.end_time) &&
         (!q.is_acknowledged || t.is_acknowledged == *q.is_acknowledged);
}

class ThreatQueryTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    add_sensors(store(), {"sensor-a", "sensor-b", "sensor-c"});
    static const char* kDetectors[] = {"usb", "wifi", "ble", "network"};
    std::vector<domain::Threat> batch;
    for (int i = 0; i < 150; ++i) {
      // Small value ranges on purpose: many ties in every sort column.
      auto t = make_threat({.sensor_id = std::string("sensor-") + char('a' + i % 3),
                            .timestamp = kT0 + std::chrono::minutes(i * 7 % 50),
                            .severity = static_cast<Severity>(i * 3 % 5),
                            .detector_type = kDetectors[i % 4],
                            .threat_type = "t" + std::to_string(i / 3 % 3),
                            .threat_score = (i % 10) / 10.0});
      t.is_acknowledged = i % 7 == 0;
      t.created_at = kT0 + 1h + std::chrono::seconds(i / 2);
      rows_.push_back({t, i});
      batch.push_back(t);
      if (batch.size() == 50) insert(store(), std::exchange(batch, {}));
    }
  }

  Ids expected(const ThreatQuery& q) const {
    std::vector<Row> hits;
    for (const auto& r : rows_)
      if (matches(q, r.t)) hits.push_back(r);
    std::sort(hits.begin(), hits.end(), [&](const Row& a, const Row& b) {
      return q.descending ? sort_key(b, q.sort_by) < sort_key(a, q.sort_by)
                          : sort_key(a, q.sort_by) < sort_key(b, q.sort_by);
    });
    Ids ids;
    for (const auto& r : hits) ids.push_back(r.t.id);
    return ids;
  }

  ThreatPage query(const ThreatQuery& q) {
    auto page = store().query_threats(q);
    EXPECT_TRUE(page) << page.error().message;
    return page ? *page : ThreatPage{};
  }

  Ids walk_keyset(ThreatQuery q) {
    Ids ids;
    for (int pages = 0; pages < 100; ++pages) {
      auto page = query(q);
      for (const auto& t : page.threats) ids.push_back(t.id);
      if (page.next_cursor.empty()) return ids;
      EXPECT_EQ(page.threats.size(), static_cast<std::size_t>(q.page_size));
      q.cursor = page.next_cursor;
      q.page = 99;  // ignored when a cursor is given
    }
    ADD_FAILURE() << "keyset walk did not end";
    return ids;
  }

  Ids walk_offsets(ThreatQuery q) {
    Ids ids;
    for (q.page = 1; q.page < 100; ++q.page) {
      auto page = query(q);
      if (page.threats.empty()) return ids;
      for (const auto& t : page.threats) ids.push_back(t.id);
    }
    return ids;
  }

  std::vector<Row> rows_;
};

std::vector<ThreatQuery> filter_cases() {
  return {
      {},
      {.sensor_ids = {"sensor-a"}},
      {.sensor_ids = {"sensor-a", "sensor-c"}},
      {.detector_types = {"wifi"}},
      {.detector_types = {"ble", "usb", "nfc"}},
      {.threat_types = {"t2"}},
      {.threat_types = {"t0", "t1"}},
      {.severities = {Severity::critical}},
      {.severities = {Severity::high, Severity::critical}},
      {.start_time = kT0 + 14min},  // inclusive: threats sit exactly at this minute
      {.end_time = kT0 + 21min},    // exclusive
      {.start_time = kT0 + 7min, .end_time = kT0 + 35min},
      {.is_acknowledged = true},
      {.is_acknowledged = false},
      {.sensor_ids = {"sensor-b"}, .severities = {Severity::medium}, .start_time = kT0 + 5min},
      {.sensor_ids = {"nobody"}},
  };
}

TEST_P(ThreatQueryTest, EveryFilterMatchesTheModel) {
  int n = 0;
  for (auto q : filter_cases()) {
    q.page_size = 1000;
    auto page = query(q);
    auto want = expected(q);
    EXPECT_EQ(ids_of(page.threats), want) << "filter case " << n;
    EXPECT_EQ(page.total, static_cast<std::int64_t>(want.size())) << "filter case " << n;
    EXPECT_TRUE(page.total_is_exact);
    EXPECT_TRUE(page.next_cursor.empty());
    ++n;
  }
}

TEST_P(ThreatQueryTest, EverySortInBothDirections) {
  for (auto sort : kSorts)
    for (bool descending : {true, false}) {
      ThreatQuery q{.sort_by = sort, .descending = descending, .page_size = 1000};
      EXPECT_EQ(ids_of(query(q).threats), expected(q))
          << "sort " << static_cast<int>(sort) << (descending ? " desc" : " asc");
    }
}

TEST_P(ThreatQueryTest, KeysetWalkEqualsOffsetPagingForEverySort) {
  for (auto sort : kSorts)
    for (bool descending : {true, false}) {
      ThreatQuery q{.sort_by = sort, .descending = descending, .page_size = 7};
      auto want = expected(q);
      EXPECT_EQ(walk_keyset(q), want) << "sort " << static_cast<int>(sort);
      EXPECT_EQ(walk_offsets(q), want) << "sort " << static_cast<int>(sort);
    }
}

TEST_P(ThreatQueryTest, KeysetWalkWithFilters) {
  for (auto q : filter_cases()) {
    q.page_size = 4;
    q.sort_by = ThreatSort::severity;
    EXPECT_EQ(walk_keyset(q), expected(q));
    q.sort_by = ThreatSort::timestamp;
    q.descending = false;
    EXPECT_EQ(walk_keyset(q), expected(q));
  }
}

// A cursor is a position in the sort order, whatever filters it was made under.
TEST_P(ThreatQueryTest, CursorFromAnotherFilterContinuesAfterItsRow) {
  for (auto severity : {Severity::info, Severity::high, Severity::critical}) {
    ThreatQuery unfiltered{.sort_by = ThreatSort::severity, .page = 3, .page_size = 7};
    auto order = expected(unfiltered);
    auto cursor = query(unfiltered).next_cursor;  // after order[20]
    ThreatQuery filtered{.severities = {severity},
                         .sort_by = ThreatSort::severity,
                         .page_size = 1000,
                         .cursor = cursor};
    auto matching = expected(filtered);
    Ids want;
    for (auto it = order.begin() + 21; it != order.end(); ++it)
      if (std::find(matching.begin(), matching.end(), *it) != matching.end()) want.push_back(*it);
    EXPECT_EQ(ids_of(query(filtered).threats), want) << static_cast<int>(severity);
  }
}

TEST_P(ThreatQueryTest, OffsetPagesAndTheirCursor) {
  ThreatQuery q{.page = 3, .page_size = 10};
  auto want = expected(q);
  auto page = query(q);
  EXPECT_EQ(ids_of(page.threats), Ids(want.begin() + 20, want.begin() + 30));
  EXPECT_EQ(page.total, 150);
  ASSERT_FALSE(page.next_cursor.empty());  // offset pages offer a cursor too
  q.cursor = page.next_cursor;
  EXPECT_EQ(ids_of(query(q).threats), Ids(want.begin() + 30, want.begin() + 40));
  auto beyond = query({.page = 16, .page_size = 10});
  EXPECT_TRUE(beyond.threats.empty());
  EXPECT_EQ(beyond.total, 150);
  EXPECT_TRUE(query({.page = 15, .page_size = 10}).next_cursor.empty());
}

Errc cursor_error(Store& store, const ThreatQuery& q, std::vector<std::string>* loc = nullptr) {
  auto page = store.query_threats(q);
  if (!page && loc != nullptr && !page.error().fields.empty()) *loc = page.error().fields[0].loc;
  return code_of(page);
}

TEST_P(ThreatQueryTest, CursorMustMatchTheSortAndBeWellFormed) {
  auto cursor = query({.page_size = 5}).next_cursor;
  ASSERT_FALSE(cursor.empty());
  std::vector<std::string> loc;
  EXPECT_EQ(cursor_error(store(), {.descending = false, .cursor = cursor}, &loc),
            Errc::invalid_input);
  EXPECT_EQ(loc, (std::vector<std::string>{"query", "cursor"}));
  EXPECT_EQ(cursor_error(store(), {.sort_by = ThreatSort::severity, .cursor = cursor}),
            Errc::invalid_input);
  EXPECT_EQ(cursor_error(store(), {.sort_by = ThreatSort::created_at, .cursor = cursor}),
            Errc::invalid_input);
  for (const std::string& bad :
       std::vector<std::string>{"!!!", "e30", "WyJ0aW1lc3RhbXAiLCJkZXNjIl0", cursor.substr(0, 10),
                                cursor + "A", std::string(600, 'A')})
    EXPECT_EQ(cursor_error(store(), {.cursor = bad}), Errc::invalid_input) << bad;
  EXPECT_EQ(cursor_error(store(), {.cursor = cursor}), Errc::ok);
}

HONEYMAN_STORE_SUITE(ThreatQueryTest);

// ---------------------------------------------------------------------------------------------
class ThreatTotalTest : public StoreTest {};

TEST_P(ThreatTotalTest, CountersAreExactAndRowCountsStopAtTheCap) {
  add_sensors(store(), {"sensor-a", "sensor-b"});
  const int n = static_cast<int>(kTotalCountCap) + 50;
  std::vector<domain::Threat> batch;
  for (int i = 0; i < n; ++i) {
    batch.push_back(make_threat({.sensor_id = i % 10 == 0 ? "sensor-b" : "sensor-a",
                                 .timestamp = kT0 + std::chrono::seconds(i)}));
    if (batch.size() == 1000 || i == n - 1) insert(store(), std::exchange(batch, {}));
  }
  auto all = store().query_threats({}).value();
  EXPECT_EQ(all.total, n);
  EXPECT_TRUE(all.total_is_exact);
  auto windowed = store().query_threats({.start_time = kT0}).value();
  EXPECT_EQ(windowed.total, kTotalCountCap);
  EXPECT_FALSE(windowed.total_is_exact);
  auto small = store().query_threats({.sensor_ids = {"sensor-b"}, .start_time = kT0}).value();
  EXPECT_EQ(small.total, (n + 9) / 10);
  EXPECT_TRUE(small.total_is_exact);
  auto acked = store().query_threats({.is_acknowledged = true}).value();
  EXPECT_EQ(acked.total, 0);
  EXPECT_TRUE(acked.total_is_exact);
}

HONEYMAN_STORE_SUITE(ThreatTotalTest);

}  // namespace
}  // namespace honeyman::store::testing
