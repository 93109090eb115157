// Subcommands other than `serve`. Each returns the process exit code and prints a one-line
// reason on stderr when it fails.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "app/app.hpp"

namespace honeyman::app {

// Loads the configuration when a subcommand runs (after flags are parsed).
using ConfigLoader = std::function<Result<AppConfig>(bool for_server)>;

// Adds `user ...`, `sensor ...`, `init` and `migrate` to `cli`; the chosen one stores its exit
// code in `exit_code`.
void add_user_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code);
void add_sensor_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code);
void add_admin_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code);
void add_seed_command(CLI::App& cli, const ConfigLoader& load, int& exit_code);
// `dead-letters`.
void add_ingest_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code);
// `backup --to PATH`, `restore --from PATH [--replace]`.
void add_backup_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code);
// Shared by the commands: prints "honeyman: <message>" to stderr and returns 1.
int fail(std::string_view message);
// Opens the configured store, or prints why not. `config`, if given, receives the configuration.
std::unique_ptr<store::Store> open_store_or_report(const ConfigLoader& load,
                                                   AppConfig* config = nullptr);
// A password from stdin (one line) when `from_stdin`, else a new random one. The password policy
// is the UserService's to check.
Result<std::string> obtain_password(bool from_stdin, bool& generated);
// A service error in one line: the first field problem of a validation error, else the message.
std::string error_text(const Error& error);
// The operator at the command line, as the audit log names them: "cli:<login name>" (SUDO_USER
// first: who ran sudo, not root), role "cli", no client address.
store::Actor cli_actor();

}  // namespace honeyman::app
