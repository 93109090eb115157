#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cmath>

#include "core/core.hpp"

namespace honeyman {
namespace {

// log_event() lines in JSON mode carry their fields already serialised; this address (never a
// real file name) marks them, so no message text can pass itself off as raw JSON.
constexpr char kEventMarker[] = "<event>";
bool g_json = false;  // set by init_logging() before any other thread logs

// %j: the log message as a JSON string literal (quotes included), so `LOG_FORMAT=json` emits
// one valid object per line whatever the message contains; a log_event() line's payload is
// already `"event","key":value,...` and is copied as is.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view payload(msg.payload.data(), msg.payload.size());
    if (msg.source.filename == kEventMarker) {
      dest.append(payload.data(), payload.data() + payload.size());
      return;
    }
    auto quoted = boost::json::serialize(boost::json::string(payload));
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::trace:
      return spdlog::level::trace;
    case LogLevel::debug:
      return spdlog::level::debug;
    case LogLevel::info:
      return spdlog::level::info;
    case LogLevel::warn:
      return spdlog::level::warn;
    case LogLevel::error:
      return spdlog::level::err;
    case LogLevel::critical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

void append_json_value(std::string& out, const LogField& field) {
  if (const auto* s = std::get_if<std::string_view>(&field.value)) {
    out += boost::json::serialize(boost::json::string(*s));
  } else if (const auto* i = std::get_if<std::int64_t>(&field.value)) {
    out += std::to_string(*i);
  } else {
    double d = std::get<double>(field.value);
    out += std::isfinite(d) ? fmt::format("{:.3f}", d) : std::string("null");
  }
}

void append_text_value(std::string& out, const LogField& field) {
  if (const auto* s = std::get_if<std::string_view>(&field.value)) {
    bool plain = !s->empty() && s->find_first_of(" \"=\t\n\r") == std::string_view::npos;
    out += plain ? std::string(*s) : boost::json::serialize(boost::json::string(*s));
  } else if (const auto* i = std::get_if<std::int64_t>(&field.value)) {
    out += std::to_string(*i);
  } else {
    out += fmt::format("{:.3f}", std::get<double>(field.value));
  }
}

void configure(spdlog::logger& logger, spdlog::level::level_enum level) {
  if (g_json) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","thread":%t,"message":%j})");
    logger.set_formatter(std::move(formatter));
  } else {
    logger.set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger.set_level(level);
  logger.flush_on(spdlog::level::warn);
}

}  // namespace

bool log_enabled(LogLevel level) {
  return spdlog::default_logger_raw()->should_log(to_spdlog(level));
}

void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  auto* logger = spdlog::default_logger_raw();
  auto lv = to_spdlog(level);
  if (!logger->should_log(lv)) return;
  std::string line;
  line.reserve(256);
  if (g_json) {
    line += boost::json::serialize(boost::json::string(event));
    for (const auto& f : fields) {
      line += ",\"";
      line += f.key;
      line += "\":";
      append_json_value(line, f);
    }
    logger->log(spdlog::source_loc{kEventMarker, 0, ""}, lv, std::string_view(line));
    return;
  }
  line += event;
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    append_text_value(line, f);
  }
  logger->log(lv, std::string_view(line));
}

Status init_logging(std::string_view level, std::string_view format, bool async) {
  std::string lv(level);
  for (auto& c : lv) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lv == "warning") lv = "warn";
  auto parsed = spdlog::level::from_str(lv);
  if (parsed == spdlog::level::off && lv != "off")
    return make_error(Errc::invalid_input,
                      "LOG_LEVEL must be one of trace, debug, info, "
                      "warning, error, critical; got '" +
                          std::string(level) + "'");
  if (format != "json" && format != "text" && !format.empty())
    return make_error(Errc::invalid_input,
                      "LOG_FORMAT must be text or json; got '" + std::string(format) + "'");
  g_json = format == "json";
  std::shared_ptr<spdlog::logger> logger;
  if (async) {
    // One logging thread, a bounded queue; a full queue blocks the caller rather than losing
    // lines. The stderr sink flushes every line, so the log stays as prompt as sync logging.
    spdlog::init_thread_pool(8192, 1);
    logger = std::make_shared<spdlog::async_logger>(
        "honeyman", std::make_shared<spdlog::sinks::stderr_sink_mt>(), spdlog::thread_pool(),
        spdlog::async_overflow_policy::block);
  } else {
    logger = std::make_shared<spdlog::logger>("honeyman",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  }
  configure(*logger, parsed);
  spdlog::set_default_logger(logger);
  return {};
}

// The logging thread's queue is written out in order; the lines logged after this (static
// destructors, the last words of main) go straight to stderr.
void shutdown_logging() {
  auto current = spdlog::default_logger();
  if (!std::dynamic_pointer_cast<spdlog::async_logger>(current)) return;
  auto sync = std::make_shared<spdlog::logger>("honeyman",
                                               std::make_shared<spdlog::sinks::stderr_sink_mt>());
  configure(*sync, current->level());
  spdlog::set_default_logger(sync);
  current.reset();
  spdlog::shutdown();  // joins the logging thread once its queue is written
  spdlog::set_default_logger(sync);
}

}  // namespace honeyman
