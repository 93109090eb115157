#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json/string.hpp>

#include "core/core.hpp"

namespace honeyman {
namespace {

// %j: the log message as a JSON string literal (quotes included), so `LOG_FORMAT=json` emits
// one valid object per line whatever the message contains.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    auto quoted = json_quote(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

Status init_logging(std::string_view level, std::string_view format) {
  std::string lv(level);
  for (auto& c : lv) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lv == "warning") lv = "warn";
  auto parsed = spdlog::level::from_str(lv);
  if (parsed == spdlog::level::off && lv != "off")
    return make_error(Errc::invalid_input,
                      "LOG_LEVEL must be one of trace, debug, info, "
                      "warning, error, critical; got '" +
                          std::string(level) + "'");
  auto logger = spdlog::stderr_logger_mt("honeyman");
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","thread":%t,"message":%j})");
    logger->set_formatter(std::move(formatter));
  } else if (format == "text" || format.empty()) {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  } else {
    return make_error(Errc::invalid_input,
                      "LOG_FORMAT must be text or json; got '" + std::string(format) + "'");
  }
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return {};
}

}  // namespace honeyman
