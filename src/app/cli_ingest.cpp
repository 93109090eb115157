#include <boost/json.hpp>
#include <iostream>

#include "app/cli.hpp"

namespace honeyman::app {
namespace {

// One JSON object per line, newest first: what ingestion refused and why.
int list_dead_letters(const ConfigLoader& load, int limit) {
  auto store = open_store_or_report(load);
  if (!store) return 1;
  auto letters = store->list_dead_letters(limit);
  if (!letters) return fail(letters.error().message);
  for (const auto& d : *letters)
    std::cout << to_json_text(boost::json::object{{"id", d.id},
                                                  {"received_at", format_timestamp(d.received_at)},
                                                  {"source", d.source},
                                                  {"topic", d.topic},
                                                  {"reason", d.reason},
                                                  {"payload", d.payload}})
              << "\n";
  return 0;
}

}  // namespace

void add_ingest_commands(CLI::App& cli, const ConfigLoader& load, int& exit_code) {
  auto limit = std::make_shared<int>(100);
  auto* dl = cli.add_subcommand("dead-letters",
                                "List refused ingest messages with their reasons (JSON lines)");
  dl->add_option("--limit", *limit, "At most this many, newest first")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  dl->callback([&, limit] { exit_code = list_dead_letters(load, *limit); });
}

}  // namespace honeyman::app
