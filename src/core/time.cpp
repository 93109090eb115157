#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/core.hpp"

namespace honeyman {
namespace {

class SystemClock final : public Clock {
 public:
  Timestamp now() const override {
    return std::chrono::time_point_cast<std::chrono::microseconds>(
        std::chrono::system_clock::now());
  }
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  void sleep_for(std::chrono::milliseconds d) const override { std::this_thread::sleep_for(d); }
};

// Reads exactly `n` decimal digits at `pos`, advancing it.
bool read_digits(std::string_view s, std::size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

struct ManualClock::State {
  mutable std::mutex mutex;
  mutable std::condition_variable moved;
  Timestamp wall;
  SteadyTime steady{std::chrono::hours(1)};
  mutable int sleepers = 0;
  mutable std::uint64_t sleeps = 0;
};

ManualClock::ManualClock(Timestamp start) : state_(std::make_shared<State>()) {
  state_->wall = start;
}

Timestamp ManualClock::now() const {
  std::lock_guard lock(state_->mutex);
  return state_->wall;
}

Clock::SteadyTime ManualClock::steady_now() const {
  std::lock_guard lock(state_->mutex);
  return state_->steady;
}

void ManualClock::sleep_for(std::chrono::milliseconds d) const {
  std::unique_lock lock(state_->mutex);
  auto deadline = state_->steady + d;
  ++state_->sleepers;
  ++state_->sleeps;
  state_->moved.notify_all();
  state_->moved.wait(lock, [&] { return state_->steady >= deadline; });
  --state_->sleepers;
}

void ManualClock::advance(std::chrono::microseconds d) {
  std::lock_guard lock(state_->mutex);
  state_->wall += d;
  state_->steady += d;
  state_->moved.notify_all();
}

void ManualClock::set(Timestamp wall) {
  std::lock_guard lock(state_->mutex);
  state_->wall = wall;
}

int ManualClock::sleepers() const {
  std::lock_guard lock(state_->mutex);
  return state_->sleepers;
}

bool ManualClock::wait_for_sleeps(std::uint64_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->moved.wait_for(lock, timeout, [&] { return state_->sleeps >= n; });
}

std::chrono::milliseconds Backoff::delay(int attempt) const {
  auto d = initial;
  for (int i = 0; i < attempt && d < max; ++i) d *= 2;
  return std::min(d, max);
}

std::int64_t to_unix_micros(Timestamp t) {
  return t.time_since_epoch().count();
}
Timestamp from_unix_micros(std::int64_t us) {
  return Timestamp{std::chrono::microseconds{us}};
}

std::string format_timestamp(Timestamp t) {
  using namespace std::chrono;
  auto day = floor<days>(t);
  year_month_day ymd{day};
  auto since_midnight = t - day;
  auto h = duration_cast<hours>(since_midnight);
  auto m = duration_cast<minutes>(since_midnight - h);
  auto s = duration_cast<seconds>(since_midnight - h - m);
  auto us = (since_midnight - h - m - s).count();
  int year = int(ymd.year());
  char buf[40];
  if (year < 0 || year > 9999) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", year,
                  unsigned(ymd.month()), unsigned(ymd.day()), int(h.count()), int(m.count()),
                  int(s.count()), static_cast<long long>(us));
    return buf;
  }
  // By hand: snprintf was ~7% of a CSV export (four times per row).
  auto put = [](char* at, long long value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
  };
  std::memcpy(buf, "0000-00-00T00:00:00.000000Z", 28);
  put(buf, year, 4);
  put(buf + 5, unsigned(ymd.month()), 2);
  put(buf + 8, unsigned(ymd.day()), 2);
  put(buf + 11, h.count(), 2);
  put(buf + 14, m.count(), 2);
  put(buf + 17, s.count(), 2);
  put(buf + 20, us, 6);
  return std::string(buf, 27);
}

std::optional<Timestamp> parse_timestamp(std::string_view s) {
  using namespace std::chrono;
  std::size_t pos = 0;
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (!read_digits(s, pos, 4, y) || !expect(s, pos, '-') || !read_digits(s, pos, 2, mo) ||
      !expect(s, pos, '-') || !read_digits(s, pos, 2, d))
    return std::nullopt;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    ++pos;
    if (!read_digits(s, pos, 2, h) || !expect(s, pos, ':') || !read_digits(s, pos, 2, mi))
      return std::nullopt;
    if (pos < s.size() && s[pos] == ':' && (++pos, !read_digits(s, pos, 2, se)))
      return std::nullopt;
  }
  std::int64_t micros = 0;
  if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) micros = micros * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (int i = digits; i < 6; ++i) micros *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int sign = s[pos] == '-' ? -1 : 1;
      ++pos;
      int oh = 0, om = 0;
      if (!read_digits(s, pos, 2, oh)) return std::nullopt;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (!read_digits(s, pos, 2, om) || oh > 23 || om > 59) return std::nullopt;
      offset_minutes = sign * (oh * 60 + om);
    }
  }
  if (pos != s.size()) return std::nullopt;
  if (y < 1970 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  auto t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{se} + microseconds{micros} -
           minutes{offset_minutes};
  return time_point_cast<microseconds>(t);
}

}  // namespace honeyman
