#include <iostream>

#include "app/cli.hpp"
#include "auth/auth.hpp"

namespace honeyman::app {

int fail(std::string_view message) {
  std::cerr << "honeyman: " << message << "\n";
  return 1;
}

std::unique_ptr<store::Store> open_store_or_report(const ConfigLoader& load) {
  auto config = load(false);
  if (!config) {
    fail(config.error().message);
    return nullptr;
  }
  auto store = open_configured_store(*config);
  if (!store) {
    fail("cannot open store " + redact_url(config->store.database_url) + ": " +
         store.error().message);
    return nullptr;
  }
  return std::move(*store);
}

Result<std::string> obtain_password(bool from_stdin, bool& generated) {
  generated = !from_stdin;
  if (!from_stdin) return random_token(18);  // 144 bits, 24 characters
  std::string line;
  if (!std::getline(std::cin, line)) return make_error(Errc::invalid_input, "no password on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (auto ok = auth::check_password_policy(line); !ok)
    return make_error(Errc::invalid_input, ok.error().fields.front().msg);
  return line;
}

}  // namespace honeyman::app
