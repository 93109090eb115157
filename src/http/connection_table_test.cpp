// Connection admission: caps in total and per client, idle connections shed oldest first.
#include "http/detail/connection_table.hpp"

#include <gtest/gtest.h>

#include "http/http.hpp"

namespace honeyman::http::detail {
namespace {

using ConnPtr = ConnectionTable::Ptr;

ConnPtr new_connection(std::string key) {
  return std::make_shared<Connection>(std::move(key), boost::asio::any_io_executor());
}

// Admits a connection of `key` and returns it, or null when refused; `shed` collects victims.
ConnPtr admit_one(ConnectionTable& table, std::string key, std::vector<ConnPtr>* shed = nullptr) {
  auto c = new_connection(std::move(key));
  auto admission = table.admit(c);
  if (shed) shed->insert(shed->end(), admission.shed.begin(), admission.shed.end());
  return admission.admitted ? c : nullptr;
}

TEST(ConnectionTable, BusyConnectionsAreNeverShedSoNewOnesAreRefused) {
  ConnectionTable table(3, 2);
  auto a1 = admit_one(table, "a"), a2 = admit_one(table, "a");
  ASSERT_TRUE(a1 && a2);
  EXPECT_FALSE(admit_one(table, "a"));  // the client's cap, nothing idle
  auto b1 = admit_one(table, "b");
  ASSERT_TRUE(b1);
  EXPECT_FALSE(admit_one(table, "c"));  // the total cap, nothing idle
  EXPECT_EQ(table.size(), 3u);
  table.release(a1);
  table.release(a1);  // idempotent
  EXPECT_EQ(table.size(), 2u);
  EXPECT_TRUE(admit_one(table, "c"));
}

TEST(ConnectionTable, AtTheClientsCapItsOwnOldestIdleConnectionMakesRoom) {
  ConnectionTable table(10, 2);
  auto a1 = admit_one(table, "a"), a2 = admit_one(table, "a"), b1 = admit_one(table, "b");
  ASSERT_TRUE(table.set_idle(b1, true));  // another client's idle connection is not touched
  ASSERT_TRUE(table.set_idle(a2, true));
  ASSERT_TRUE(table.set_idle(a1, true));
  std::vector<ConnPtr> shed;
  auto a3 = admit_one(table, "a", &shed);
  ASSERT_TRUE(a3);
  ASSERT_EQ(shed.size(), 1u);
  EXPECT_EQ(shed[0], a2);  // idle longest
  EXPECT_TRUE(a2->shed);
  EXPECT_FALSE(table.set_idle(a2, true));  // its session must close, not wait for a request
  EXPECT_EQ(table.size(), 3u);
  table.release(a2);  // its session ends later: nothing more to release
  EXPECT_EQ(table.size(), 3u);
}

TEST(ConnectionTable, AtTheTotalCapTheOldestIdleConnectionOfAnyoneMakesRoom) {
  ConnectionTable table(3, 3);
  auto a1 = admit_one(table, "a"), b1 = admit_one(table, "b"), b2 = admit_one(table, "b");
  ASSERT_TRUE(table.set_idle(b1, true));
  ASSERT_TRUE(table.set_idle(a1, true));
  ASSERT_TRUE(table.set_idle(a1, false));  // busy again: no longer a candidate
  std::vector<ConnPtr> shed;
  ASSERT_TRUE(admit_one(table, "c", &shed));
  ASSERT_EQ(shed.size(), 1u);
  EXPECT_EQ(shed[0], b1);
  EXPECT_FALSE(a1->shed);
  EXPECT_FALSE(admit_one(table, "d"));  // nothing idle any more
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.clients(), 3u);
}

TEST(ConnectionTable, ProxiesCountOnlyAgainstTheTotal) {
  ConnectionTable table(4, 1);
  EXPECT_TRUE(admit_one(table, ""));
  EXPECT_TRUE(admit_one(table, ""));
  EXPECT_TRUE(admit_one(table, ""));
  EXPECT_TRUE(admit_one(table, "a"));
  EXPECT_FALSE(admit_one(table, ""));
  EXPECT_EQ(table.clients(), 1u);
}

TEST(ConnectionTable, ShedOldestFreesADescriptorWhenThereIsAnIdleConnection) {
  ConnectionTable table(4, 4);
  auto a1 = admit_one(table, "a"), a2 = admit_one(table, "a");
  EXPECT_EQ(table.shed_oldest(), nullptr);
  ASSERT_TRUE(table.set_idle(a2, true));
  ASSERT_TRUE(table.set_idle(a1, true));
  EXPECT_EQ(table.shed_oldest(), a2);
  EXPECT_EQ(table.shed_oldest(), a1);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.clients(), 0u);
}

TEST(ConnectionLimitDefaults, LeaveDescriptorsForTheRestOfTheProcess) {
  auto small = default_connection_limits(1024);
  EXPECT_EQ(small.total, 896u);
  EXPECT_EQ(small.per_client, 112u);
  auto large = default_connection_limits(1'048'576);
  EXPECT_EQ(large.total, 943'719u);
  EXPECT_EQ(large.per_client, 1024u);
  auto tiny = default_connection_limits(64);
  EXPECT_EQ(tiny.total, 16u);
  EXPECT_EQ(tiny.per_client, 8u);
  auto given = default_connection_limits(1024, 40);
  EXPECT_EQ(given.total, 40u);
  EXPECT_EQ(given.per_client, 8u);
}

}  // namespace
}  // namespace honeyman::http::detail
