#include "store_fixture.hpp"

namespace honeyman::store::testing {
namespace {

class UsersTest : public StoreTest {};

void expect_same_user(const domain::User& a, const domain::User& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.username, b.username);
  EXPECT_EQ(a.email, b.email);
  EXPECT_EQ(a.full_name, b.full_name);
  EXPECT_EQ(a.role, b.role);
  EXPECT_EQ(a.is_active, b.is_active);
  EXPECT_EQ(a.is_verified, b.is_verified);
  EXPECT_EQ(a.password_hash, b.password_hash);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.last_login, b.last_login);
  EXPECT_EQ(a.tokens_valid_after, b.tokens_valid_after);
}

TEST_P(UsersTest, CreateAndFindByIdAndName) {
  auto alice = make_user("alice");
  ASSERT_TRUE(store().create_user(alice));
  auto by_id = store().find_user_by_id(alice.id);
  ASSERT_TRUE(by_id);
  expect_same_user(*by_id, alice);
  auto by_name = store().find_user_by_name("alice");
  ASSERT_TRUE(by_name);
  expect_same_user(*by_name, alice);
  EXPECT_EQ(code_of(store().find_user_by_name("Alice")), Errc::not_found);
  EXPECT_EQ(code_of(store().find_user_by_id(uuid_v4())), Errc::not_found);
}

TEST_P(UsersTest, OptionalFieldsRoundTripAsNull) {
  auto bob = make_user("bob");
  bob.email.reset();
  bob.full_name.reset();
  ASSERT_TRUE(store().create_user(bob));
  auto carol = make_user("carol");
  carol.email.reset();  // two users without email do not collide
  ASSERT_TRUE(store().create_user(carol));
  expect_same_user(store().find_user_by_id(bob.id).value(), bob);
}

TEST_P(UsersTest, DuplicateUsernameOrEmailConflicts) {
  ASSERT_TRUE(store().create_user(make_user("alice")));
  EXPECT_EQ(code_of(store().create_user(make_user("alice"))), Errc::conflict);
  auto other = make_user("alice2");
  other.email = "alice@example.org";
  EXPECT_EQ(code_of(store().create_user(other)), Errc::conflict);
  EXPECT_EQ(store().list_users().value().size(), 1u);
}

// change_user writes the columns it is given and tokens_valid_after, nothing else: a login's
// last_login, written meanwhile, stays.
TEST_P(UsersTest, ChangeWritesOnlyItsColumns) {
  auto alice = make_user("alice");
  alice.last_login = kT0 + 1min;
  ASSERT_TRUE(store().create_user(alice));
  auto other_admin = make_user("root");  // so that alice may be disabled
  other_admin.role = domain::Role::admin;
  ASSERT_TRUE(store().create_user(other_admin));
  UserChange role;
  role.role = domain::Role::admin;
  auto changed = store().change_user(alice.id, role, kT0 + 5min);
  ASSERT_TRUE(changed) << changed.error().message;
  alice.role = domain::Role::admin;
  alice.tokens_valid_after = kT0 + 5min;
  expect_same_user(*changed, alice);
  expect_same_user(store().find_user_by_id(alice.id).value(), alice);

  UserChange password_and_state;
  password_and_state.is_active = false;
  password_and_state.password_hash = "$argon2id$new";
  ASSERT_TRUE(store().change_user(alice.id, password_and_state, kT0 + 6min));
  alice.is_active = false;
  alice.password_hash = "$argon2id$new";
  alice.tokens_valid_after = kT0 + 6min;
  expect_same_user(store().find_user_by_id(alice.id).value(), alice);

  EXPECT_EQ(code_of(store().change_user(uuid_v4(), role, kT0)), Errc::not_found);
}

TEST_P(UsersTest, ListIsOrderedByUsername) {
  for (auto name : {"carol", "alice", "bob"}) ASSERT_TRUE(store().create_user(make_user(name)));
  std::vector<std::string> names;
  for (const auto& u : store().list_users().value()) names.push_back(u.username);
  EXPECT_EQ(names, (std::vector<std::string>{"alice", "bob", "carol"}));
}

TEST_P(UsersTest, UsersInvalidatedSince) {
  auto alice = make_user("alice"), bob = make_user("bob"), carol = make_user("carol");
  alice.tokens_valid_after = kT0 + 10s;
  bob.tokens_valid_after = kT0 + 20s;
  for (const auto& u : {alice, bob, carol}) ASSERT_TRUE(store().create_user(u));
  auto since_start = store().users_invalidated_since(kT0).value();
  EXPECT_EQ(since_start.size(), 2u);
  auto later = store().users_invalidated_since(kT0 + 10s).value();
  ASSERT_EQ(later.size(), 1u);  // strictly after
  EXPECT_EQ(later[0].first, bob.id);
  EXPECT_EQ(later[0].second, kT0 + 20s);
  EXPECT_TRUE(store().users_invalidated_since(kT0 + 20s).value().empty());
}

HONEYMAN_STORE_SUITE(UsersTest);

}  // namespace
}  // namespace honeyman::store::testing
