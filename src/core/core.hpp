// core: the error convention, time, identifiers, settings, logging and the blocking-work pool.
// Everything here is independent of the product's domain; every other module includes this.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/fwd.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

namespace honeyman {

// ---------------------------------------------------------------------------------------------
// Errors. Anything that touches I/O or input returns Result<T>; nothing throws across a module
// boundary. Errc says what kind of failure it is (and so which HTTP status it maps to); the
// message is meant for the caller and never contains secrets.
enum class Errc {
  ok = 0,
  invalid_input,      // validation failed; Error::fields says where (HTTP 422)
  bad_request,        // malformed request that is not a field problem, e.g. bad JSON (HTTP 400)
  unauthorized,       // missing or bad credential (HTTP 401)
  forbidden,          // authenticated but not allowed (HTTP 403)
  not_found,          // (HTTP 404)
  conflict,           // uniqueness violated, e.g. sensor_id taken (HTTP 409)
  payload_too_large,  // (HTTP 413)
  rate_limited,       // (HTTP 429)
  unavailable,        // a dependency (store, broker) cannot be reached now; retryable (HTTP 503)
  internal,           // a bug or an unexpected library failure (HTTP 500)
};

const std::error_category& error_category() noexcept;
inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// One entry of a FastAPI-compatible validation error list: {"loc": [...], "msg", "type"}.
struct FieldError {
  std::vector<std::string> loc;  // e.g. {"body", "threat_score"}; array indices as decimal text
  std::string msg;
  std::string type;  // e.g. "missing", "type_error", "value_error", "extra_forbidden"
};

struct Error {
  Errc code = Errc::internal;
  std::string message;
  std::vector<FieldError> fields;  // non-empty only for Errc::invalid_input
  int retry_after_seconds = 0;     // set with Errc::rate_limited
};

Error make_error(Errc code, std::string message);
Error validation_error(std::vector<FieldError> fields);

// Thrown only by Result<T>::value() on an error, i.e. never in correct code.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

template <class T>
using Result = boost::system::result<T, Error>;
using Status = boost::system::result<void, Error>;

// ---------------------------------------------------------------------------------------------
// Time. All stored and transmitted times are UTC with microsecond precision.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// The time and the waiting of everything that runs by itself (ingest, the live feed, the jobs),
// injected so tests drive time instead of sleeping. Implementations are thread-safe.
class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  // Wall-clock time, UTC: what is stored and shown.
  virtual Timestamp now() const = 0;
  // Monotonic time: intervals, deadlines and cache lifetimes (never jumps with the wall clock).
  virtual SteadyTime steady_now() const = 0;
  // Blocks the calling thread for `d` of this clock's time.
  virtual void sleep_for(std::chrono::milliseconds d) const = 0;
};
// The real clocks (std::chrono::system_clock and steady_clock).
const Clock& system_clock();

// A clock that moves only when a test says so: advance() moves both times; sleep_for() returns
// once advance() has moved the clock past the sleeper's deadline (so a retry or a timer fires
// exactly when the test lets it). Starts at `start` (wall) and an arbitrary steady epoch.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start = Timestamp(std::chrono::seconds(1'800'000'000)));
  Timestamp now() const override;
  SteadyTime steady_now() const override;
  void sleep_for(std::chrono::milliseconds d) const override;
  void advance(std::chrono::microseconds d);
  void set(Timestamp wall);  // wall time only (steady time never goes back)
  // Threads blocked in sleep_for() now.
  int sleepers() const;
  // Waits (real time, at most `timeout`) until sleep_for() has been entered `n` times in all
  // since construction; lets a test advance the clock exactly when a retry is pending.
  bool wait_for_sleeps(std::uint64_t n, std::chrono::milliseconds timeout) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// ---------------------------------------------------------------------------------------------
// Retrying a dependency that is down (the store, the broker). One policy and one loop for every
// caller, so backoff behaves the same everywhere.
struct Backoff {
  std::chrono::milliseconds initial{50};
  std::chrono::milliseconds max{2000};
  // The wait before retry number `attempt` (0: the first retry): initial * 2^attempt, capped.
  std::chrono::milliseconds delay(int attempt) const;
};

struct RetryPolicy {
  Backoff backoff;
  // Give up when the next wait would end later than this after the first call; none: never.
  std::optional<std::chrono::milliseconds> budget;
};

// Calls `fn` (returning a Result) until it succeeds or fails with an error that is not
// Errc::unavailable, waiting `policy.backoff` on `clock` between calls; with a budget, the last
// Errc::unavailable is returned once the next wait would exceed it. `on_retry(error, wait)` runs
// before each wait (logging, counters).
template <class Fn, class OnRetry>
auto retry_with_backoff(const Clock& clock, const RetryPolicy& policy, Fn&& fn, OnRetry&& on_retry)
    -> decltype(fn()) {
  const auto started = clock.steady_now();
  for (int attempt = 0;; ++attempt) {
    auto result = fn();
    if (result || result.error().code != Errc::unavailable) return result;
    auto wait = policy.backoff.delay(attempt);
    if (policy.budget && clock.steady_now() + wait > started + *policy.budget) return result;
    on_retry(result.error(), wait);
    clock.sleep_for(wait);
  }
}

// "2026-08-08T14:03:27.512904Z": RFC 3339, UTC, always six fractional digits.
std::string format_timestamp(Timestamp t);
// Accepts RFC 3339 / ISO 8601: date and time separated by 'T' or ' ', optional fraction (up to
// nine digits, truncated to microseconds), optional 'Z' or ±hh:mm / ±hhmm offset. A time without
// an offset is UTC (the field agent sends naive UTC). Years outside 1970..9999 are refused.
std::optional<Timestamp> parse_timestamp(std::string_view text);
std::int64_t to_unix_micros(Timestamp t);
Timestamp from_unix_micros(std::int64_t us);

// ---------------------------------------------------------------------------------------------
// Identifiers and secrets.
std::string uuid_v4();
// Time-ordered UUID (RFC 9562 v7): keeps b-tree inserts append-only.
std::string uuid_v7(Timestamp t);
// Canonical lower-case 8-4-4-4-12 form, or nullopt when `text` is not a UUID.
std::optional<std::string> normalize_uuid(std::string_view text);
// `bytes` random bytes from the OS CSPRNG, URL-safe base64 without padding.
std::string random_token(std::size_t bytes);
// Lower-case hex SHA-256: for high-entropy secrets (API keys, refresh and onboarding tokens)
// that are stored only as hashes. Never use for passwords.
std::string sha256_hex(std::string_view data);
// Comparison whose time does not depend on where the inputs differ.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;
// Sensor ids become MQTT topic levels and broker user names: [A-Za-z0-9._-]{1,64}. The rule
// lives here rather than in domain because broker, which parses topics, must not depend on
// domain; domain::is_valid_sensor_id is this function.
bool is_valid_sensor_id(std::string_view id);

// ---------------------------------------------------------------------------------------------
// Settings: the raw key/value configuration, merged from (lowest to highest precedence)
// defaults, a `.env` file, the process environment, and command-line flags. Each module turns
// these into its own typed config struct in app; parse errors are start-up fatal.
class Settings {
 public:
  // Reads `.env`-style lines (KEY=VALUE, optional `export `, quotes, # comments). A missing
  // file is not an error when `required` is false.
  Status load_env_file(const std::string& path, bool required);
  // The same lines from `text` (a file's content); `origin` names it in error messages.
  Status load_env_text(std::string_view text, std::string_view origin);
  // Takes every variable in `keys` that is set in the process environment.
  void load_environment(const std::vector<std::string>& keys);
  void set(const std::string& key, std::string value);  // a flag: highest precedence

  std::optional<std::string> get(const std::string& key) const;
  std::string get_or(const std::string& key, const std::string& fallback) const;
  Result<std::int64_t> get_int(const std::string& key, std::int64_t fallback, std::int64_t min,
                               std::int64_t max) const;
  Result<bool> get_bool(const std::string& key, bool fallback) const;
  // Comma-separated list (also accepts a JSON array of strings, as pydantic settings did).
  std::vector<std::string> get_list(const std::string& key) const;

 private:
  std::map<std::string, std::string> env_file_;
  std::map<std::string, std::string> environment_;
  std::map<std::string, std::string> flags_;
};

// ---------------------------------------------------------------------------------------------
// JSON text as people and Python write it: doubles as `0.82`, `36.1147`, `0.0`, `1e-05` (the
// shortest digits that read back exactly; Boost.JSON 1.81 would write `8.2E-1`), strings escaped
// as Boost.JSON does, no spaces. The one JSON writer of the product: responses, stored JSON,
// bus frames, logs.
std::string to_json_text(const boost::json::value& v);
std::string to_json_text(const boost::json::object& o);
std::string to_json_text(const boost::json::array& a);
// The same text appended to `out`: no string of its own (exports write millions of them).
void append_json_text(std::string& out, const boost::json::object& o);
std::string json_quote(std::string_view s);  // a JSON string literal, quotes included

namespace detail {
class JsonTextWriter;
}
// One JSON object written member by member in to_json_text's format and appended to `out` when
// the writer goes: for the hottest paths (exports, pages of threats), which would otherwise
// build a boost::json::object (a hash lookup and an allocation per member) only to write it.
// Members come out in call order; keys are not checked for duplicates.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out);
  ~JsonObjectWriter();
  JsonObjectWriter(const JsonObjectWriter&) = delete;
  JsonObjectWriter& operator=(const JsonObjectWriter&) = delete;

  void text(std::string_view key, std::string_view value);
  void null(std::string_view key);
  void boolean(std::string_view key, bool value);
  void integer(std::string_view key, std::int64_t value);
  void number(std::string_view key, double value);
  void value(std::string_view key, const boost::json::value& value);
  void array(std::string_view key, const boost::json::array& value);
  void object(std::string_view key, const boost::json::object& value);
  void strings(std::string_view key, const std::vector<std::string>& values);

 private:
  void key(std::string_view key);
  std::string& out_;
  std::unique_ptr<detail::JsonTextWriter> w_;
  bool first_ = true;
};

// Logging (spdlog underneath). `level`: trace|debug|info|warning|error|critical;
// `format`: text|json. Returns an error for unknown values. `buffered` (the server): lines are
// collected in memory and written to stderr together, at most 50 ms after they were logged, when
// 64 KiB are waiting, or at once for a warning or worse (one write() per batch instead of one per
// line); otherwise every line is written at once.
Status init_logging(std::string_view level, std::string_view format, bool buffered = false);
// Writes what is buffered and stops the periodic flush (call before exiting).
void shutdown_logging();

enum class LogLevel { trace, debug, info, warn, error, critical };
bool log_enabled(LogLevel level);

// A log line with named fields: an event. With LOG_FORMAT=json each field is a member of the
// line's object, after "message" (which is `event`); as text the line reads
// `event key=value key=value` (values with a space, '"' or '=' quoted). Keys are the caller's
// constants (lower-case, not time/level/thread/message); values must never hold secrets.
struct LogField {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double> value;
};
void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields);

// ---------------------------------------------------------------------------------------------
// Blocking work (database calls, password hashing) runs on a BlockingPool so it never stalls
// the network threads. run_blocking() suspends the calling coroutine, runs `fn` on the pool and
// resumes the coroutine on its own executor with fn's result.
class BlockingPool {
 public:
  explicit BlockingPool(std::size_t threads) : pool_(threads), threads_(threads) {}
  ~BlockingPool() { stop(); }
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  boost::asio::thread_pool::executor_type executor() { return pool_.get_executor(); }
  // Finishes queued work, then joins the threads.
  void stop() { pool_.join(); }

  // What run_blocking() calls are doing now (metrics; relaxed reads, thread-safe): waiting for a
  // thread, and running on one.
  std::size_t threads() const { return threads_; }
  std::int64_t queued() const { return queued_.load(std::memory_order_relaxed); }
  std::int64_t busy() const { return busy_.load(std::memory_order_relaxed); }

  // One run_blocking() task: queued from construction, busy from start() to destruction.
  class Task {
   public:
    explicit Task(BlockingPool& pool) : pool_(&pool) {
      pool_->queued_.fetch_add(1, std::memory_order_relaxed);
    }
    Task(Task&& other) noexcept : pool_(std::exchange(other.pool_, nullptr)), busy_(other.busy_) {}
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    Task& operator=(Task&&) = delete;
    ~Task() {
      if (!pool_) return;
      (busy_ ? pool_->busy_ : pool_->queued_).fetch_sub(1, std::memory_order_relaxed);
    }
    void start() {
      pool_->queued_.fetch_sub(1, std::memory_order_relaxed);
      pool_->busy_.fetch_add(1, std::memory_order_relaxed);
      busy_ = true;
    }

   private:
    BlockingPool* pool_;
    bool busy_ = false;
  };

 private:
  boost::asio::thread_pool pool_;
  std::size_t threads_;
  std::atomic<std::int64_t> queued_{0};
  std::atomic<std::int64_t> busy_{0};
};

template <class Fn>
auto run_blocking(BlockingPool& pool, Fn fn) -> boost::asio::awaitable<decltype(fn())> {
  using R = decltype(fn());
  // Named rather than a temporary inside co_await: GCC 12 destroys by-value captures of
  // temporaries in a co_await expression twice.
  auto task = [f = std::move(fn),
               t = BlockingPool::Task(pool)]() mutable -> boost::asio::awaitable<R> {
    t.start();
    co_return f();
  };
  co_return co_await boost::asio::co_spawn(pool.executor(), std::move(task),
                                           boost::asio::use_awaitable);
}

}  // namespace honeyman

template <>
struct std::is_error_code_enum<honeyman::Errc> : std::true_type {};
