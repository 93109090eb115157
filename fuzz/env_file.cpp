// The .env file (core Settings): its lines, then the typed reads app's configuration makes of
// them (integers with bounds, booleans, lists in both spellings).
#include "fuzz/fuzz.hpp"
#include "fuzz/support.hpp"

namespace honeyman::fuzz {

int env_file(const std::uint8_t* data, std::size_t size) {
  constexpr std::string_view kTarget = "env_file";
  Settings settings;
  auto loaded = settings.load_env_text(support::as_text(data, size), ".env");
  if (!loaded) {
    support::check(loaded.error().code == Errc::invalid_input && !loaded.error().message.empty(),
                   kTarget, "a bad line is not reported as invalid input");
    return 0;
  }
  for (const std::string key : {"PORT", "DEBUG", "CORS_ORIGINS", "SECRET_KEY", "X"}) {
    auto value = settings.get(key);
    if (auto n = settings.get_int(key, 8000, 1, 65535))
      support::check(*n >= 1 && *n <= 65535, kTarget, "integer outside its bounds accepted");
    else
      support::check(value.has_value(), kTarget, "an absent key is an error");
    if (!settings.get_bool(key, false))
      support::check(value.has_value(), kTarget, "an absent key is an error");
    for (const auto& item : settings.get_list(key))
      support::check(!item.empty(), kTarget, "empty list item");
  }
  return 0;
}

}  // namespace honeyman::fuzz
