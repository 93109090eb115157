#include <cstdio>
#include <iostream>

#include "app/cli.hpp"
#include "service/service.hpp"

namespace honeyman::app {
namespace {

struct UserArgs {
  std::string username, role = "viewer", email, full_name;
  bool password_stdin = false;
};

int add_user(const ConfigLoader& load, const UserArgs& a) {
  auto role = domain::parse_role(a.role);
  if (!role) return fail("role must be admin, analyst or viewer");
  bool generated = false;
  auto password = obtain_password(a.password_stdin, generated);
  if (!password) return fail(password.error().message);
  auto store = open_store_or_report(load);
  if (!store) return 1;
  service::UserService users(*store, system_clock());
  service::NewUser u;
  u.username = a.username;
  u.password = *password;
  u.role = *role;
  if (!a.email.empty()) u.email = a.email;
  if (!a.full_name.empty()) u.full_name = a.full_name;
  auto created = users.add(u, cli_actor());
  if (!created && created.error().code == Errc::invalid_input)
    return fail(error_text(created.error()));
  if (!created) return fail("cannot add user '" + a.username + "': " + created.error().message);
  std::cout << "user " << a.username << " added with role " << a.role << "\n";
  if (generated) std::cout << "password (shown once): " << *password << "\n";
  return 0;
}

int list_users(const ConfigLoader& load) {
  auto store = open_store_or_report(load);
  if (!store) return 1;
  auto users = service::UserService(*store, system_clock()).list();
  if (!users) return fail(users.error().message);
  std::printf("%-24s %-8s %-7s %-28s %s\n", "USERNAME", "ROLE", "ACTIVE", "CREATED", "LAST LOGIN");
  for (const auto& u : *users)
    std::printf("%-24s %-8s %-7s %-28s %s\n", u.username.c_str(),
                std::string(domain::to_string(u.role)).c_str(), u.is_active ? "yes" : "no",
                format_timestamp(u.created_at).c_str(),
                u.last_login ? format_timestamp(*u.last_login).c_str() : "never");
  return 0;
}

// Opens the store and applies `change` (a UserService call, which also ends the user's
// sessions); prints "user <name> <done>".
int modify_user(const ConfigLoader& load, const std::string& username,
                const std::function<Result<domain::User>(service::UserService&)>& change,
                std::string_view done) {
  auto store = open_store_or_report(load);
  if (!store) return 1;
  service::UserService users(*store, system_clock());
  if (auto changed = change(users); !changed) return fail(error_text(changed.error()));
  std::cout << "user " << username << " " << done << "\n";
  return 0;
}

}  // namespace

void add_user_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code) {
  auto* user = cli.add_subcommand("user", "Manage dashboard users")->require_subcommand(1);
  auto args = std::make_shared<UserArgs>();

  auto* add = user->add_subcommand("add", "Add a user; prints a generated password once");
  add->add_option("username", args->username, "Login name")->required();
  add->add_option("--role", args->role, "admin, analyst or viewer")
      ->capture_default_str()
      ->check(CLI::IsMember({"admin", "analyst", "viewer"}));
  add->add_option("--email", args->email, "E-mail address");
  add->add_option("--full-name", args->full_name, "Display name");
  add->add_flag("--password-stdin", args->password_stdin, "Read the password from stdin");
  add->callback([&, args] { exit_code = add_user(load, *args); });

  user->add_subcommand("list", "List users")->callback([&] { exit_code = list_users(load); });

  auto* set_role = user->add_subcommand("set-role", "Change a user's role (voids their tokens)");
  set_role->add_option("username", args->username)->required();
  set_role->add_option("role", args->role, "admin, analyst or viewer")
      ->required()
      ->check(CLI::IsMember({"admin", "analyst", "viewer"}));
  set_role->callback([&, args] {
    auto role = domain::parse_role(args->role);
    if (!role) {
      exit_code = fail("role must be admin, analyst or viewer");
      return;
    }
    exit_code = modify_user(
        load, args->username,
        [&](service::UserService& users) {
          return users.set_role(args->username, *role, cli_actor());
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
          [&](service::UserService& users) {
            return users.set_active(args->username, active, cli_actor());
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
        [&](service::UserService& users) {
          return users.set_password(args->username, *password, cli_actor());
        },
        "has a new password");
    if (exit_code == 0 && generated) std::cout << "password (shown once): " << *password << "\n";
  });
}

}  // namespace honeyman::app
