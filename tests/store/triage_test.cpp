// Triage (SPEC §7): status, assignee, history, acknowledgement, bulk changes, their filters, and
// the audit records written with them.
#include <algorithm>
#include <thread>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

using boost::json::array;
using boost::json::object;
using domain::ThreatStatus;

ThreatChange set_status(ThreatStatus s) {
  ThreatChange c;
  c.status = s;
  return c;
}
ThreatChange assign(std::optional<std::string> who) {
  ThreatChange c;
  c.assignee = std::move(who);
  return c;
}
AuditEntry audit_of(const std::string& action, const std::string& target_id) {
  return {.at = kT0,
          .actor = "alice",
          .actor_role = "analyst",
          .client_addr = "127.0.0.1",
          .action = action,
          .target_type = "threat",
          .target_id = target_id,
          .details = object{{"request", "r-1"}}};
}

class TriageTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    add_sensors(store(), {"sensor-a"});
  }
  std::vector<domain::Threat> threats(int n, Timestamp from = kT0) {
    std::vector<domain::Threat> batch;
    for (int i = 0; i < n; ++i) batch.push_back(make_threat({.timestamp = from + i * 1s}));
    return insert(store(), batch);
  }
  domain::Threat update(const std::string& id, const ThreatChange& c, Timestamp at = kT0 + 1h,
                        const std::string& actor = "alice") {
    auto r = store().update_threat(id, c, actor, at);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : domain::Threat{};
  }
  domain::Threat find(const std::string& id) {
    auto r = store().find_threat(id);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : domain::Threat{};
  }
  std::vector<HistoryEntry> history(const std::string& id) {
    auto h = store().threat_history(id);
    EXPECT_TRUE(h) << h.error().message;
    return h ? *h : std::vector<HistoryEntry>{};
  }
  // The ids a query finds (sorted), checking that its total agrees.
  std::vector<std::string> found(ThreatQuery q) {
    q.page_size = 1000;
    auto page = store().query_threats(q);
    EXPECT_TRUE(page) << page.error().message;
    if (!page) return {};
    EXPECT_EQ(page->total, static_cast<std::int64_t>(page->threats.size()));
    auto ids = ids_of(page->threats);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  std::vector<AuditEntry> audits() {
    AuditQuery q;
    q.page_size = 1000;
    auto page = store().query_audit(q);
    EXPECT_TRUE(page) << page.error().message;
    return page ? page->entries : std::vector<AuditEntry>{};
  }
  Result<BulkOutcome> bulk(const ThreatSelection& sel, const ThreatChange& c, std::int64_t max_rows,
                           const AuditEntry* audit = nullptr) {
    return store().bulk_update_threats(sel, c, "alice", kT0 + 2h, max_rows, audit);
  }
};

std::vector<std::string> sorted(std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST_P(TriageTest, NewThreatsAreNewUnassignedAndUpdatedWhenCreated) {
  auto t = threats(1)[0];
  auto stored = find(t.id);
  EXPECT_EQ(stored.status, ThreatStatus::new_);
  EXPECT_FALSE(stored.assignee);
  EXPECT_FALSE(stored.is_acknowledged);
  EXPECT_EQ(stored.updated_at, stored.created_at);
  EXPECT_TRUE(history(t.id).empty());
}

TEST_P(TriageTest, UpdateWritesWhatDiffersAndRecordsEachField) {
  auto t = threats(1)[0];
  auto looking = set_status(ThreatStatus::investigating);
  looking.note = "looking";
  auto u = update(t.id, looking, kT0 + 1h, "alice");
  EXPECT_EQ(u.status, ThreatStatus::investigating);
  EXPECT_TRUE(u.is_acknowledged);
  EXPECT_EQ(u.acknowledged_by, "alice");  // leaving `new` records the acknowledgement
  EXPECT_EQ(u.acknowledged_at, kT0 + 1h);
  EXPECT_EQ(u.updated_at, kT0 + 1h);

  u = update(t.id, assign("bob"), kT0 + 2h, "carol");
  EXPECT_EQ(u.assignee, "bob");
  EXPECT_EQ(u.acknowledged_by, "alice");  // kept: recorded already

  ThreatChange both;
  both.status = ThreatStatus::resolved;
  both.assignee = std::optional<std::string>();
  u = update(t.id, both, kT0 + 3h, "bob");
  EXPECT_EQ(u.status, ThreatStatus::resolved);
  EXPECT_FALSE(u.assignee);

  ThreatChange note;
  note.note = "just a note";
  u = update(t.id, note, kT0 + 4h, "bob");
  EXPECT_EQ(u.updated_at, kT0 + 3h);                               // a note changes no field
  u = update(t.id, set_status(ThreatStatus::resolved), kT0 + 5h);  // the same again: no entry
  EXPECT_EQ(u.updated_at, kT0 + 3h);

  auto h = history(t.id);
  ASSERT_EQ(h.size(), 4u);
  EXPECT_EQ(h[0].actor, "alice");
  EXPECT_EQ(h[0].at, kT0 + 1h);
  EXPECT_EQ(h[0].note, "looking");
  EXPECT_EQ(h[0].changes, (object{{"status", array{"new", "investigating"}}}));
  EXPECT_EQ(h[1].actor, "carol");
  EXPECT_EQ(h[1].changes, (object{{"assignee", array{nullptr, "bob"}}}));
  EXPECT_FALSE(h[1].note);
  EXPECT_EQ(h[2].changes, (object{{"status", array{"investigating", "resolved"}},
                                  {"assignee", array{"bob", nullptr}}}));
  EXPECT_TRUE(h[3].changes.empty());
  EXPECT_EQ(h[3].note, "just a note");

  EXPECT_EQ(code_of(store().update_threat(uuid_v4(), both, "x", kT0)), Errc::not_found);
  EXPECT_EQ(code_of(store().update_threat("nope", both, "x", kT0)), Errc::not_found);
  EXPECT_EQ(code_of(store().threat_history(uuid_v4())), Errc::not_found);
}

TEST_P(TriageTest, IsAcknowledgedIsExactlyStatusOtherThanNew) {
  auto t = threats(1)[0];
  for (auto s : {ThreatStatus::acknowledged, ThreatStatus::investigating, ThreatStatus::new_,
                 ThreatStatus::resolved, ThreatStatus::false_positive, ThreatStatus::new_}) {
    auto u = update(t.id, set_status(s));
    EXPECT_EQ(u.status, s);
    EXPECT_EQ(u.is_acknowledged, s != ThreatStatus::new_);
    ThreatQuery acknowledged;
    acknowledged.is_acknowledged = s != ThreatStatus::new_;
    EXPECT_EQ(found(acknowledged).size(), 1u) << domain::to_string(s);
  }
  EXPECT_EQ(find(t.id).acknowledged_by, "alice");  // going back to `new` keeps the record
}

TEST_P(TriageTest, AcknowledgeMovesOnlyNewThreatsOn) {
  auto ts = threats(2);
  auto a = store().acknowledge_threat(ts[0].id, "alice", "seen", kT0 + 1h);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->status, ThreatStatus::acknowledged);
  EXPECT_TRUE(a->is_acknowledged);
  EXPECT_EQ(a->acknowledged_by, "alice");
  EXPECT_EQ(a->acknowledged_at, kT0 + 1h);
  EXPECT_EQ(a->acknowledgement_notes, "seen");
  EXPECT_EQ(a->updated_at, kT0 + 1h);
  auto h = history(ts[0].id);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].changes.at("status"), (array{"new", "acknowledged"}));
  EXPECT_EQ(h[0].note, "seen");

  update(ts[1].id, set_status(ThreatStatus::resolved), kT0 + 1h, "bob");
  auto b = store().acknowledge_threat(ts[1].id, "carol", std::nullopt, kT0 + 2h);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->status, ThreatStatus::resolved);  // further along: stays
  EXPECT_TRUE(b->is_acknowledged);
  EXPECT_EQ(b->acknowledged_by, "carol");
  EXPECT_EQ(code_of(store().acknowledge_threat(uuid_v4(), "x", std::nullopt, kT0)),
            Errc::not_found);
}

TEST_P(TriageTest, FiltersByStatusesAndAssignee) {
  auto ts = threats(5);
  update(ts[0].id, set_status(ThreatStatus::investigating));
  update(ts[1].id, set_status(ThreatStatus::resolved));
  update(ts[2].id, assign("bob"));
  auto carol = set_status(ThreatStatus::investigating);
  carol.assignee = "carol";
  update(ts[3].id, carol);

  ThreatQuery q;
  q.statuses = {ThreatStatus::new_};
  EXPECT_EQ(found(q), sorted({ts[2].id, ts[4].id}));
  q.statuses = {ThreatStatus::investigating, ThreatStatus::resolved};
  EXPECT_EQ(found(q), sorted({ts[0].id, ts[1].id, ts[3].id}));
  q.statuses = {};
  q.assignee = "bob";
  EXPECT_EQ(found(q), sorted({ts[2].id}));
  q.assignee = "";
  EXPECT_EQ(found(q), sorted({ts[0].id, ts[1].id, ts[4].id}));
  q.assignee = "carol";
  q.statuses = {ThreatStatus::investigating};
  EXPECT_EQ(found(q), sorted({ts[3].id}));
  q.statuses = {ThreatStatus::resolved};
  EXPECT_TRUE(found(q).empty());

  // Keyset pages through a status filter, newest first.
  ThreatQuery page;
  page.statuses = {ThreatStatus::new_, ThreatStatus::investigating};
  page.page_size = 2;
  auto first = store().query_threats(page).value();
  ASSERT_EQ(first.threats.size(), 2u);
  EXPECT_EQ(first.threats[0].id, ts[4].id);
  EXPECT_EQ(first.threats[1].id, ts[3].id);
  page.cursor = first.next_cursor;
  auto second = store().query_threats(page).value();
  ASSERT_EQ(second.threats.size(), 2u);
  EXPECT_EQ(second.threats[0].id, ts[2].id);
  EXPECT_EQ(second.threats[1].id, ts[0].id);
  EXPECT_TRUE(second.next_cursor.empty());
}

TEST_P(TriageTest, BulkByIdsChangesAndRecordsOnlyWhatDiffers) {
  auto ts = threats(4);
  update(ts[0].id, set_status(ThreatStatus::resolved));
  ThreatSelection sel;
  sel.ids = {ts[0].id, ts[1].id, ts[2].id, uuid_v4(), "not-a-threat-id"};
  auto c = set_status(ThreatStatus::resolved);
  c.note = "bulk";
  auto out = bulk(sel, c, 100);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->matched, 3);
  EXPECT_EQ(out->changed, 2);
  EXPECT_EQ(history(ts[0].id).size(), 1u);  // its own update only
  auto h = history(ts[1].id);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].changes, (object{{"status", array{"new", "resolved"}}}));
  EXPECT_EQ(h[0].note, "bulk");
  EXPECT_EQ(h[0].actor, "alice");
  EXPECT_EQ(h[0].at, kT0 + 2h);
  auto t1 = find(ts[1].id);
  EXPECT_EQ(t1.status, ThreatStatus::resolved);
  EXPECT_TRUE(t1.is_acknowledged);
  EXPECT_EQ(t1.acknowledged_by, "alice");
  EXPECT_EQ(t1.acknowledged_at, kT0 + 2h);
  EXPECT_EQ(t1.updated_at, kT0 + 2h);
  EXPECT_EQ(find(ts[3].id).status, ThreatStatus::new_);

  auto back = bulk(sel, set_status(ThreatStatus::new_), 100).value();  // back to new
  EXPECT_EQ(back.changed, 3);
  EXPECT_FALSE(find(ts[1].id).is_acknowledged);
}

TEST_P(TriageTest, BulkByFilterRefusesTooLargeSelectionsAndChangesNothing) {
  auto ts = threats(6);
  update(ts[0].id, assign("bob"));
  ThreatSelection sel;
  sel.filter = ThreatQuery{};
  sel.filter->assignee = "";  // unassigned: five
  auto to_carol = assign("carol");
  auto audit = audit_of("threat.bulk_update", "");
  auto refused = bulk(sel, to_carol, 4, &audit);
  EXPECT_EQ(code_of(refused), Errc::invalid_input);
  ThreatQuery carols;
  carols.assignee = "carol";
  EXPECT_TRUE(found(carols).empty());
  EXPECT_TRUE(history(ts[1].id).empty());
  EXPECT_TRUE(audits().empty());

  auto out = bulk(sel, to_carol, 5, &audit);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->matched, 5);
  EXPECT_EQ(out->changed, 5);
  EXPECT_EQ(found(carols).size(), 5u);
  EXPECT_EQ(history(ts[1].id).at(0).changes, (object{{"assignee", array{nullptr, "carol"}}}));
  auto records = audits();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].details.at("matched"), 5);
  EXPECT_EQ(records[0].details.at("changed"), 5);
  EXPECT_EQ(records[0].details.at("request"), "r-1");

  // By the list filters: carol's threats from the fifth on, closed and unassigned.
  sel.filter = carols;
  sel.filter->start_time = ts[4].timestamp;
  ThreatChange close;
  close.status = ThreatStatus::false_positive;
  close.assignee = std::optional<std::string>();
  out = bulk(sel, close, 100);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->matched, 2);
  EXPECT_EQ(out->changed, 2);
  EXPECT_EQ(history(ts[5].id).back().changes, (object{{"status", array{"new", "false_positive"}},
                                                      {"assignee", array{"carol", nullptr}}}));
  EXPECT_EQ(find(ts[3].id).status, ThreatStatus::new_);
  EXPECT_EQ(find(ts[3].id).assignee, "carol");
}

TEST_P(TriageTest, ChangesWriteTheirAuditRecordAndFailedOnesNone) {
  auto t = threats(1)[0];
  auto audit = audit_of("threat.update", t.id);
  ASSERT_TRUE(
      store().update_threat(t.id, set_status(ThreatStatus::resolved), "alice", kT0 + 1h, &audit));
  ASSERT_EQ(audits().size(), 1u);
  EXPECT_EQ(audits()[0].details.at("changes"), (object{{"status", array{"new", "resolved"}}}));
  EXPECT_EQ(audits()[0].details.at("request"), "r-1");
  EXPECT_EQ(audits()[0].target_id, t.id);

  EXPECT_EQ(code_of(store().update_threat(uuid_v4(), set_status(ThreatStatus::resolved), "alice",
                                          kT0, &audit)),
            Errc::not_found);
  EXPECT_EQ(code_of(store().acknowledge_threat(uuid_v4(), "alice", std::nullopt, kT0, &audit)),
            Errc::not_found);
  EXPECT_EQ(code_of(store().delete_threat(uuid_v4(), &audit)), Errc::not_found);
  EXPECT_EQ(audits().size(), 1u);

  auto ack = audit_of("threat.acknowledge", t.id);
  ASSERT_TRUE(store().acknowledge_threat(t.id, "bob", "late", kT0 + 2h, &ack));
  auto del = audit_of("threat.delete", t.id);
  ASSERT_TRUE(store().delete_threat(t.id, &del));
  auto records = audits();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].action, "threat.delete");  // newest first
  EXPECT_EQ(records[1].action, "threat.acknowledge");
  EXPECT_TRUE(records[1].details.at("changes").is_object());
}

// The history goes with its threat: the same threat stored again starts without one.
TEST_P(TriageTest, DeletingAThreatDeletesItsHistory) {
  auto t = threats(1)[0];
  update(t.id, set_status(ThreatStatus::resolved));
  ASSERT_TRUE(store().delete_threat(t.id));
  EXPECT_EQ(code_of(store().threat_history(t.id)), Errc::not_found);
  insert(store(), {t});
  EXPECT_TRUE(history(t.id).empty());
}

// PostgreSQL drops the first day's partition whole and deletes the next day's old rows one by
// one; either way their history goes, later threats keep theirs, and the audit log stays.
TEST_P(TriageTest, RetentionRemovesTheHistoryOfRemovedThreats) {
  ASSERT_TRUE(store().maintain(kT0));
  std::vector<domain::Threat> batch;
  for (auto at : {kT0, kT0 + 24h, kT0 + 26h, kT0 + 72h})
    batch.push_back(make_threat({.timestamp = at}));
  auto ts = insert(store(), batch);
  ASSERT_EQ(ts.size(), 4u);
  auto audit = audit_of("threat.update", "");
  for (const auto& t : ts)
    ASSERT_TRUE(store().update_threat(t.id, assign("bob"), "alice", kT0 + 80h, &audit));
  for (;;) {
    auto n = store().delete_threats_before(kT0 + 25h, 1000);
    ASSERT_TRUE(n) << n.error().message;
    if (*n == 0) break;
  }
  EXPECT_EQ(code_of(store().find_threat(ts[1].id)), Errc::not_found);
  insert(store(), {ts[0], ts[1]});
  EXPECT_TRUE(history(ts[0].id).empty());
  EXPECT_TRUE(history(ts[1].id).empty());
  EXPECT_EQ(history(ts[2].id).size(), 1u);
  EXPECT_EQ(history(ts[3].id).size(), 1u);
  EXPECT_EQ(audits().size(), 4u);
}

// Concurrent changes of one threat (in parallel on PostgreSQL's pool) make one history in which
// each entry's old value is the previous entry's new one, ending at the threat's state.
TEST_P(TriageTest, ConcurrentChangesMakeAChainedHistory) {
  auto t = threats(1)[0];
  const ThreatStatus cycle[] = {ThreatStatus::acknowledged, ThreatStatus::investigating,
                                ThreatStatus::resolved, ThreatStatus::false_positive};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      for (int i = 0; i < 5; ++i) {
        auto c = set_status(cycle[(w + i) % 4]);
        c.assignee = "user" + std::to_string(w);
        EXPECT_TRUE(store().update_threat(t.id, c, "user" + std::to_string(w), kT0 + 1h));
      }
    });
  for (auto& w : workers) w.join();
  auto h = history(t.id);
  ASSERT_FALSE(h.empty());
  boost::json::value status = "new", assignee = nullptr;
  for (const auto& e : h) {
    if (const auto* s = e.changes.if_contains("status")) {
      EXPECT_EQ(s->as_array()[0], status);
      status = s->as_array()[1];
    }
    if (const auto* a = e.changes.if_contains("assignee")) {
      EXPECT_EQ(a->as_array()[0], assignee);
      assignee = a->as_array()[1];
    }
  }
  auto now = find(t.id);
  EXPECT_EQ(status, boost::json::value(std::string(domain::to_string(now.status))));
  ASSERT_TRUE(now.assignee);
  EXPECT_EQ(assignee, boost::json::value(*now.assignee));
}

HONEYMAN_STORE_SUITE(TriageTest);

}  // namespace
}  // namespace honeyman::store::testing
