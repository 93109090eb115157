// honeyman-load: the load generators of the benchmarks and the demo (bench/mqtt-bench,
// bench/ws-bench, scripts/quickstart --demo), kept out of the server binary. They talk to a
// running server only from outside: HTTP, WebSocket and MQTT, like real sensors and dashboards.
#pragma once

#include <CLI/CLI.hpp>
#include <string_view>

namespace honeyman::load {

// `simulate`: simulated sensors onboarded through the API, publishing over MQTT.
void add_simulate_command(CLI::App& cli, int& exit_code);
// `ws-load`: N live-feed clients, delivery latency from commit.
void add_ws_load_command(CLI::App& cli, int& exit_code);

// Raises the soft descriptor limit (often 1024) to the hard one: load tools hold many sockets.
void raise_fd_limit();
// Prints "honeyman-load: <message>" to stderr and returns 1 (the exit code).
int fail(std::string_view message);

}  // namespace honeyman::load
