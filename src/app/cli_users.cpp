#include <cstdio>
#include <iostream>

#include "app/cli.hpp"
#include "auth/auth.hpp"

namespace honeyman::app {
namespace {

struct UserArgs {
  std::string username, role = "viewer", email, full_name;
  bool password_stdin = false;
};

int add_user(const ConfigLoader& load, const UserArgs& a) {
  auto role = domain::parse_role(a.role);
  if (!role) return fail("role must be admin, analyst or viewer");
  if (!domain::is_valid_username(a.username))
    return fail("usernames are 1-64 characters of A-Z a-z 0-9 . _ @ -");
  bool generated = false;
  auto password = obtain_password(a.password_stdin, generated);
  if (!password) return fail(password.error().message);
  auto store = open_store_or_report(load);
  if (!store) return 1;
  auto hash = auth::hash_password(*password);
  if (!hash) return fail(hash.error().message);
  domain::User u;
  u.id = uuid_v4();
  u.username = a.username;
  if (!a.email.empty()) u.email = a.email;
  if (!a.full_name.empty()) u.full_name = a.full_name;
  u.role = *role;
  u.is_verified = true;
  u.password_hash = *hash;
  u.created_at = system_clock().now();
  auto created = store->create_user(u);
  if (!created) return fail("cannot add user '" + a.username + "': " + created.error().message);
  std::cout << "user " << a.username << " added with role " << a.role << "\n";
  if (generated) std::cout << "password (shown once): " << *password << "\n";
  return 0;
}

int list_users(const ConfigLoader& load) {
  auto store = open_store_or_report(load);
  if (!store) return 1;
  auto users = store->list_users();
  if (!users) return fail(users.error().message);
  std::printf("%-24s %-8s %-7s %-28s %s\n", "USERNAME", "ROLE", "ACTIVE", "CREATED", "LAST LOGIN");
  for (const auto& u : *users)
    std::printf("%-24s %-8s %-7s %-28s %s\n", u.username.c_str(),
                std::string(domain::to_string(u.role)).c_str(), u.is_active ? "yes" : "no",
                format_timestamp(u.created_at).c_str(),
                u.last_login ? format_timestamp(*u.last_login).c_str() : "never");
  return 0;
}

// Loads a user, applies `change`, voids the user's existing tokens and saves.
int modify_user(const ConfigLoader& load, const std::string& username,
                const std::function<Status(domain::User&)>& change, std::string_view done) {
  auto store = open_store_or_report(load);
  if (!store) return 1;
  auto user = store->find_user_by_name(username);
  if (!user) return fail("no user '" + username + "'");
  if (auto ok = change(*user); !ok) return fail(ok.error().message);
  auto now = system_clock().now();
  user->tokens_valid_after = now;  // running servers drop the old tokens within seconds
  if (auto ok = store->update_user(*user); !ok) return fail(ok.error().message);
  if (auto ok = store->revoke_user_sessions(user->id, now); !ok) return fail(ok.error().message);
  std::cout << "user " << username << " " << done << "\n";
  return 0;
}

}  // namespace

void add_user_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code) {
  auto* user = cli.add_subcommand("user", "Manage dashboard users")->require_subcommand(1);
  auto args = std::make_shared<UserArgs>();

  auto* add = user->add_subcommand("add", "Add a user; prints a generated password once");
  add->add_option("username", args->username, "Login name")->required();
  add->add_option("--role", args->role, "admin, analyst or viewer")->capture_default_str();
  add->add_option("--email", args->email, "E-mail address");
  add->add_option("--full-name", args->full_name, "Display name");
  add->add_flag("--password-stdin", args->password_stdin, "Read the password from stdin");
  add->callback([&, args] { exit_code = add_user(load, *args); });

  user->add_subcommand("list", "List users")->callback([&] { exit_code = list_users(load); });

  auto* set_role = user->add_subcommand("set-role", "Change a user's role (voids their tokens)");
  set_role->add_option("username", args->username)->required();
  set_role->add_option("role", args->role, "admin, analyst or viewer")->required();
  set_role->callback([&, args] {
    exit_code = modify_user(
        load, args->username,
        [&](domain::User& u) -> Status {
          auto role = domain::parse_role(args->role);
          if (!role)
            return make_error(Errc::invalid_input, "role must be admin, analyst or viewer");
          u.role = *role;
          return {};
        },
        "now has role " + args->role);
  });

  for (bool active : {false, true}) {
    auto* cmd = user->add_subcommand(
        active ? "enable" : "disable",
        active ? "Let a disabled user log in again" : "Disable a user and end their sessions");
    cmd->add_option("username", args->username)->required();
    cmd->callback([&, args, active] {
      exit_code = modify_user(
          load, args->username,
          [active](domain::User& u) -> Status {
            u.is_active = active;
            return {};
          },
          active ? "enabled" : "disabled");
    });
  }

  auto* passwd =
      user->add_subcommand("passwd", "Set a new password (generated unless --password-stdin)");
  passwd->add_option("username", args->username)->required();
  passwd->add_flag("--password-stdin", args->password_stdin, "Read the password from stdin");
  passwd->callback([&, args] {
    bool generated = false;
    auto password = obtain_password(args->password_stdin, generated);
    if (!password) {
      exit_code = fail(password.error().message);
      return;
    }
    exit_code = modify_user(
        load, args->username,
        [&](domain::User& u) -> Status {
          auto hash = auth::hash_password(*password);
          if (!hash) return hash.error();
          u.password_hash = *hash;
          return {};
        },
        "has a new password");
    if (exit_code == 0 && generated) std::cout << "password (shown once): " << *password << "\n";
  });
}

}  // namespace honeyman::app
