#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "app/cli.hpp"

namespace honeyman::app {

store::Actor cli_actor() {
  std::string name;
  if (const char* sudo = std::getenv("SUDO_USER"); sudo && *sudo) name = sudo;
  if (name.empty())
    if (const passwd* pw = getpwuid(geteuid()); pw && pw->pw_name) name = pw->pw_name;
  if (name.empty()) name = "uid " + std::to_string(geteuid());
  return {"cli:" + name.substr(0, 64), "cli", ""};
}

int fail(std::string_view message) {
  std::cerr << "honeyman: " << message << "\n";
  return 1;
}

std::unique_ptr<store::Store> open_store_or_report(const ConfigLoader& load, AppConfig* config) {
  auto loaded = load(false);
  if (!loaded) {
    fail(loaded.error().message);
    return nullptr;
  }
  auto store = open_configured_store(*loaded);
  if (!store) {
    fail("cannot open store " + redact_url(loaded->store.database_url) + ": " +
         store.error().message);
    return nullptr;
  }
  if (config) *config = std::move(*loaded);
  return std::move(*store);
}

Result<std::string> obtain_password(bool from_stdin, bool& generated) {
  generated = !from_stdin;
  if (!from_stdin) return random_token(18);  // 144 bits, 24 characters
  std::string line;
  if (!std::getline(std::cin, line)) return make_error(Errc::invalid_input, "no password on stdin");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string error_text(const Error& error) {
  return error.fields.empty() ? error.message : error.fields.front().msg;
}

}  // namespace honeyman::app
