// Administering users (SPEC §7): paged listing, profile changes, deletion, the last-active-admin
// rule, and the audit records that commit with each change.
#include <thread>

#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

class UserAdminTest : public StoreTest {
 protected:
  domain::User add(const std::string& name, domain::Role role = domain::Role::analyst,
                   bool active = true) {
    auto u = make_user(name);
    u.role = role;
    u.is_active = active;
    auto created = store().create_user(u);
    EXPECT_TRUE(created) << created.error().message;
    return u;
  }
  Errc change(const domain::User& u, const UserChange& c, const AuditEntry* audit = nullptr) {
    return code_of(store().change_user(u.id, c, kT0 + 1h, audit));
  }
  std::size_t audit_count() {
    AuditQuery q;
    q.page_size = 1000;
    return store().query_audit(q).value().entries.size();
  }
};

UserChange to_role(domain::Role r) {
  UserChange c;
  c.role = r;
  return c;
}
UserChange disable() {
  UserChange c;
  c.is_active = false;
  return c;
}
AuditEntry audit_of(const std::string& action) {
  return {
      .at = kT0, .actor = "root", .actor_role = "admin", .action = action, .target_type = "user"};
}

TEST_P(UserAdminTest, ListsUsersInPagesByUsername) {
  for (auto name : {"u4", "u1", "u6", "u0", "u3", "u5", "u2"}) add(name);
  std::vector<std::vector<std::string>> pages;
  for (int page = 1; page <= 4; ++page) {
    auto p = store().list_users(UserQuery{page, 3});
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->total, 7);
    std::vector<std::string> names;
    for (const auto& u : p->users) names.push_back(u.username);
    pages.push_back(names);
  }
  EXPECT_EQ(pages, (std::vector<std::vector<std::string>>{
                       {"u0", "u1", "u2"}, {"u3", "u4", "u5"}, {"u6"}, {}}));
  EXPECT_EQ(code_of(store().list_users(UserQuery{0, 3})), Errc::invalid_input);
  EXPECT_EQ(code_of(store().list_users(UserQuery{1, 0})), Errc::invalid_input);
  EXPECT_EQ(code_of(store().list_users(UserQuery{1, 101})), Errc::invalid_input);
}

TEST_P(UserAdminTest, TheLastActiveAdminCannotBeDemotedDisabledOrDeleted) {
  auto root = add("root", domain::Role::admin);
  add("old-admin", domain::Role::admin, false);  // inactive: does not count
  auto alice = add("alice");
  EXPECT_EQ(change(root, to_role(domain::Role::analyst)), Errc::conflict);
  EXPECT_EQ(change(root, disable()), Errc::conflict);
  EXPECT_EQ(code_of(store().delete_user(root.id)), Errc::conflict);
  auto still = store().find_user_by_id(root.id).value();
  EXPECT_EQ(still.role, domain::Role::admin);
  EXPECT_TRUE(still.is_active);

  EXPECT_EQ(change(alice, disable()), Errc::ok);  // not an admin: no rule
  UserChange enable;
  enable.is_active = true;
  EXPECT_EQ(change(root, enable), Errc::ok);                         // keeps an admin
  EXPECT_EQ(change(alice, to_role(domain::Role::admin)), Errc::ok);  // still disabled
  EXPECT_EQ(change(alice, enable), Errc::ok);
  EXPECT_EQ(change(root, to_role(domain::Role::viewer)), Errc::ok);  // alice is one now
  EXPECT_EQ(change(alice, to_role(domain::Role::analyst)), Errc::conflict);
  EXPECT_EQ(code_of(store().delete_user(alice.id)), Errc::conflict);
  EXPECT_EQ(code_of(store().delete_user(root.id)), Errc::ok);
  EXPECT_EQ(code_of(store().delete_user(root.id)), Errc::not_found);
}

// Two admins demoting each other at the same moment (the store's connections run them in
// parallel on PostgreSQL): exactly one wins, and the other stays the last active admin.
TEST_P(UserAdminTest, ConcurrentDemotionsLeaveAnAdmin) {
  std::optional<domain::User> survivor;
  for (int round = 0; round < 10; ++round) {
    auto a = add("a" + std::to_string(round), domain::Role::admin);
    auto b = add("b" + std::to_string(round), domain::Role::admin);
    if (survivor) ASSERT_EQ(change(*survivor, to_role(domain::Role::viewer)), Errc::ok);
    Errc first = Errc::internal, second = Errc::internal;
    std::thread t1([&] { first = change(a, to_role(domain::Role::viewer)); });
    std::thread t2([&] { second = change(b, to_role(domain::Role::viewer)); });
    t1.join();
    t2.join();
    ASSERT_TRUE((first == Errc::ok && second == Errc::conflict) ||
                (first == Errc::conflict && second == Errc::ok))
        << static_cast<int>(first) << " " << static_cast<int>(second);
    survivor = first == Errc::ok ? b : a;
    EXPECT_EQ(change(*survivor, disable()), Errc::conflict);
  }
}

TEST_P(UserAdminTest, EmailAndNameChangesKeepSessionsOthersEndThem) {
  auto alice = add("alice");
  auto bob = add("bob");
  Session s{uuid_v4(), alice.id, kT0, kT0 + 24h};
  ASSERT_TRUE(store().start_session(s, "h1", alice.password_hash));

  UserChange profile;
  profile.email = "alice@new.example";
  profile.full_name = std::optional<std::string>();
  auto changed = store().change_user(alice.id, profile, kT0 + 1h);
  ASSERT_TRUE(changed) << changed.error().message;
  EXPECT_EQ(changed->email, "alice@new.example");
  EXPECT_FALSE(changed->full_name);
  EXPECT_EQ(changed->tokens_valid_after, alice.tokens_valid_after);
  EXPECT_EQ(store().rotate_refresh_token("h1", "h2", kT0 + 2h).value().outcome,
            RotateOutcome::rotated);

  UserChange taken;
  taken.email = bob.email;
  EXPECT_EQ(change(alice, taken), Errc::conflict);

  EXPECT_EQ(change(alice, to_role(domain::Role::viewer)), Errc::ok);
  EXPECT_EQ(store().find_user_by_id(alice.id).value().tokens_valid_after, kT0 + 1h);
  EXPECT_EQ(store().rotate_refresh_token("h2", "h3", kT0 + 2h).value().outcome,
            RotateOutcome::invalid);
}

TEST_P(UserAdminTest, DeleteRemovesTheUserAndItsSessions) {
  auto alice = add("alice");
  Session s{uuid_v4(), alice.id, kT0, kT0 + 24h};
  ASSERT_TRUE(store().start_session(s, "h1", alice.password_hash));
  ASSERT_TRUE(store().delete_user(alice.id));
  EXPECT_EQ(code_of(store().find_user_by_id(alice.id)), Errc::not_found);
  EXPECT_EQ(store().rotate_refresh_token("h1", "h2", kT0 + 1h).value().outcome,
            RotateOutcome::invalid);
  add("alice");  // the name is free again
}

TEST_P(UserAdminTest, AuditRecordsCommitWithTheirChangeOnly) {
  auto root = add("root", domain::Role::admin);
  auto create = audit_of("user.create");
  auto alice = make_user("alice");
  ASSERT_TRUE(store().create_user(alice, &create));
  EXPECT_EQ(code_of(store().create_user(alice, &create)), Errc::conflict);
  EXPECT_EQ(audit_count(), 1u);

  auto change_audit = audit_of("user.update");
  EXPECT_EQ(code_of(store().change_user(uuid_v4(), disable(), kT0, &change_audit)),
            Errc::not_found);
  EXPECT_EQ(change(root, disable(), &change_audit), Errc::conflict);
  EXPECT_EQ(code_of(store().delete_user(uuid_v4(), &change_audit)), Errc::not_found);
  EXPECT_EQ(code_of(store().delete_user(root.id, &change_audit)), Errc::conflict);
  EXPECT_EQ(audit_count(), 1u);
  EXPECT_EQ(change(alice, disable(), &change_audit), Errc::ok);
  EXPECT_EQ(audit_count(), 2u);

  auto login = audit_of("auth.login");
  Session s{uuid_v4(), root.id, kT0, kT0 + 24h};
  ASSERT_TRUE(store().start_session(s, "h1", root.password_hash, &login));
  Session refused{uuid_v4(), alice.id, kT0, kT0 + 24h};  // alice is disabled
  EXPECT_EQ(code_of(store().start_session(refused, "h2", alice.password_hash, &login)),
            Errc::forbidden);
  auto logout = audit_of("auth.logout");
  ASSERT_TRUE(store().revoke_session(s.id, kT0 + 1h, &logout));
  EXPECT_EQ(audit_count(), 4u);
}

HONEYMAN_STORE_SUITE(UserAdminTest);

}  // namespace
}  // namespace honeyman::store::testing
