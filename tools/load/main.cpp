#include <sys/resource.h>

#include <iostream>

#include "load.hpp"

namespace honeyman::load {

void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int fail(std::string_view message) {
  std::cerr << "honeyman-load: " << message << "\n";
  return 1;
}

}  // namespace honeyman::load

int main(int argc, char** argv) {
  CLI::App cli("Load generators for a running Honeyman server (benchmarks, demos)",
               "honeyman-load");
  cli.require_subcommand(1);
  cli.set_version_flag("--version", HONEYMAN_VERSION);
  int exit_code = 0;
  honeyman::load::add_simulate_command(cli, exit_code);
  honeyman::load::add_ws_load_command(cli, exit_code);
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }
  return exit_code;
}
