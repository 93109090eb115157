#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

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
    auto quoted = json_quote(payload);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// stderr, written in batches. Each thread formats its lines into a buffer of its own (its own
// formatter clone: spdlog's formatters are not thread-safe), so the IO threads do not contend on
// one lock and one cache line per line (measured: a shared buffer cost 3.5 µs per /health
// request with two IO threads, 1.3 µs with one); flush() writes every thread's buffer, one
// write() each. A thread's lines stay in order; lines of different threads logged within one
// flush interval may appear out of time order (each carries its time). Flushed every
// kFlushEvery by the flusher thread, when a buffer holds 64 KiB, at once for warnings and worse
// (the logger's flush_on), and on destruction.
class BufferedStderrSink final : public spdlog::sinks::sink {
 public:
  BufferedStderrSink() : id_(next_id_.fetch_add(1)) {}
  ~BufferedStderrSink() override { flush(); }

  void log(const spdlog::details::log_msg& msg) override {
    auto& b = local();
    // A new formatter is cloned before taking the buffer's lock: flush() takes the registry's
    // lock, then each buffer's, so this thread must never want them in the other order.
    std::unique_ptr<spdlog::formatter> fresh;
    if (b.version != version_.load(std::memory_order_acquire)) {  // only this thread writes it
      std::lock_guard registry(mutex_);
      fresh = prototype_->clone();
      b.version = version_.load(std::memory_order_relaxed);
    }
    std::lock_guard lock(b.mutex);  // contended only by flush()
    if (fresh) b.formatter = std::move(fresh);
    spdlog::memory_buf_t formatted;
    b.formatter->format(msg, formatted);
    b.text.append(formatted.data(), formatted.size());
    if (b.text.size() >= kMaxBuffered) write_out(b.text);
  }
  void flush() override {
    std::lock_guard registry(mutex_);
    for (const auto& b : buffers_) {
      std::lock_guard lock(b->mutex);
      write_out(b->text);
    }
  }
  void set_pattern(const std::string& pattern) override {
    set_formatter(std::make_unique<spdlog::pattern_formatter>(pattern));
  }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    std::lock_guard registry(mutex_);
    prototype_ = std::move(formatter);
    version_.fetch_add(1, std::memory_order_release);
  }

 private:
  static constexpr std::size_t kMaxBuffered = 64 * 1024;
  struct Buffer {
    std::mutex mutex;
    std::string text;
    std::unique_ptr<spdlog::formatter> formatter;
    std::uint64_t version = 0;
  };

  // This thread's buffer for this sink (registered on the thread's first line).
  Buffer& local() {
    thread_local std::uint64_t sink_id = 0;
    thread_local std::shared_ptr<Buffer> buffer;
    if (sink_id != id_ || !buffer) {
      buffer = std::make_shared<Buffer>();
      std::lock_guard registry(mutex_);
      buffers_.push_back(buffer);
      sink_id = id_;
    }
    return *buffer;
  }

  static void write_out(std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
      auto n = ::write(STDERR_FILENO, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // nowhere to write: drop rather than block the server
      done += static_cast<std::size_t>(n);
    }
    text.clear();
  }

  static inline std::atomic<std::uint64_t> next_id_{1};
  const std::uint64_t id_;
  std::mutex mutex_;  // guards buffers_ and prototype_
  std::vector<std::shared_ptr<Buffer>> buffers_;
  std::unique_ptr<spdlog::formatter> prototype_ = std::make_unique<spdlog::pattern_formatter>();
  std::atomic<std::uint64_t> version_{1};
};

constexpr auto kFlushEvery = std::chrono::milliseconds(50);

// Flushes the server's logger every kFlushEvery until stopped (shutdown_logging, or at exit).
struct Flusher {
  std::mutex mutex;
  std::condition_variable_any wake;
  std::jthread thread;
  void start(std::shared_ptr<spdlog::logger> logger) {
    thread = std::jthread([this, logger = std::move(logger)](std::stop_token stop) {
      while (!stop.stop_requested()) {
        {
          std::unique_lock lock(mutex);
          wake.wait_for(lock, stop, kFlushEvery, [] { return false; });
        }
        logger->flush();
      }
    });
  }
  void stop() {
    if (!thread.joinable()) return;
    thread.request_stop();
    thread.join();
  }
};
Flusher& flusher() {
  static Flusher f;
  return f;
}

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

// Numbers without fmt or locale: an integer, or a double with three decimals.
void append_number(std::string& out, const LogField& field) {
  char digits[64];
  std::to_chars_result r{};
  if (const auto* i = std::get_if<std::int64_t>(&field.value))
    r = std::to_chars(digits, digits + sizeof digits, *i);
  else
    r = std::to_chars(digits, digits + sizeof digits, std::get<double>(field.value),
                      std::chars_format::fixed, 3);
  out.append(digits, r.ptr);
}

// A string as a JSON string literal; the common case (nothing to escape) without a copy.
void append_quoted(std::string& out, std::string_view s) {
  bool plain = std::all_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\';
  });
  if (!plain) {
    out += json_quote(s);
    return;
  }
  out += '"';
  out += s;
  out += '"';
}

void append_json_value(std::string& out, const LogField& field) {
  if (const auto* s = std::get_if<std::string_view>(&field.value))
    append_quoted(out, *s);
  else if (const auto* d = std::get_if<double>(&field.value); d && !std::isfinite(*d))
    out += "null";
  else
    append_number(out, field);
}

void append_text_value(std::string& out, const LogField& field) {
  const auto* s = std::get_if<std::string_view>(&field.value);
  if (!s) return append_number(out, field);
  bool plain = !s->empty() && std::all_of(s->begin(), s->end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f && c != '"' && c != '=' && c != '\\';
  });
  if (plain)
    out += *s;
  else
    append_quoted(out, *s);
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
    append_quoted(line, event);
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

Status init_logging(std::string_view level, std::string_view format, bool buffered) {
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
  if (buffered)
    logger = std::make_shared<spdlog::logger>("honeyman", std::make_shared<BufferedStderrSink>());
  else
    logger = std::make_shared<spdlog::logger>("honeyman",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
  configure(*logger, parsed);
  flusher().stop();
  spdlog::set_default_logger(logger);
  if (buffered) flusher().start(logger);
  return {};
}

void shutdown_logging() {
  flusher().stop();
  spdlog::default_logger_raw()->flush();
}

}  // namespace honeyman
