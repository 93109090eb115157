#include "core/core.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace honeyman {
namespace {

TEST(Timestamp, ParsesNaiveAsUtcAndFormatsWithZ) {
  auto t = parse_timestamp("2026-08-08T14:03:27.512904");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_timestamp(*t), "2026-08-08T14:03:27.512904Z");
}

TEST(Timestamp, AppliesOffsets) {
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-08-08T16:00:00+02:00")),
            "2026-08-08T14:00:00.000000Z");
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-08-08T14:00:00-0130")),
            "2026-08-08T15:30:00.000000Z");
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-08-08 14:00Z")), "2026-08-08T14:00:00.000000Z");
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-08-08")), "2026-08-08T00:00:00.000000Z");
}

TEST(Timestamp, TruncatesNanoseconds) {
  EXPECT_EQ(format_timestamp(*parse_timestamp("2026-08-08T14:00:00.123456789Z")),
            "2026-08-08T14:00:00.123456Z");
}

TEST(Timestamp, RefusesGarbage) {
  for (const char* bad : {"", "yesterday", "2026-13-01T00:00:00", "2026-02-30T00:00:00",
                          "2026-08-08T25:00:00", "2026-08-08T14:00:00+", "2026-08-08T14:00:00Zjunk",
                          "1969-12-31T23:59:59Z", "2026-08-08T14:00:00.Z", "12345"})
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
}

TEST(Uuid, V7IsTimeOrderedAndNormalizes) {
  auto t = *parse_timestamp("2026-08-08T14:00:00Z");
  auto a = uuid_v7(t);
  auto b = uuid_v7(t + std::chrono::milliseconds(1));
  EXPECT_LT(a, b);
  EXPECT_EQ(a[14], '7');
  EXPECT_EQ(a.substr(0, 13), uuid_v7(t).substr(0, 13)) << "the millisecond is t's";
  // Ids of one millisecond are ordered as they were made (the live feed replays "after id").
  std::vector<std::string> same_ms;
  for (int i = 0; i < 1000; ++i) same_ms.push_back(uuid_v7(t));
  EXPECT_TRUE(std::is_sorted(same_ms.begin(), same_ms.end()));
  EXPECT_EQ(std::adjacent_find(same_ms.begin(), same_ms.end()), same_ms.end());
  for (const auto& id : same_ms) {
    EXPECT_EQ(id[14], '7');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
  }
  EXPECT_EQ(normalize_uuid("3F2504E0-4F89-41D3-9A0C-0305E82C3301"),
            "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
  EXPECT_FALSE(normalize_uuid("not-a-uuid"));
  EXPECT_FALSE(normalize_uuid("3f2504e0x4f89-41d3-9a0c-0305e82c3301"));
  EXPECT_EQ(uuid_v4()[14], '4');
}

TEST(Secrets, TokensAreRandomAndHashesStable) {
  EXPECT_NE(random_token(32), random_token(32));
  EXPECT_EQ(random_token(32).size(), 43u);
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

TEST(Settings, PrecedenceFlagsOverEnvironmentOverFile) {
  auto path = testing::TempDir() + "/honeyman_settings_test.env";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fputs(
        "# comment\nexport PORT=1\nHOST=\"0.0.0.0\"\nCORS_ORIGINS=[\"http://a\",\"http://b\"]\n"
        "LOG_LEVEL=debug # inline\n",
        f);
    std::fclose(f);
  }
  Settings s;
  ASSERT_TRUE(s.load_env_file(path, true));
  EXPECT_EQ(*s.get_int("PORT", 8000, 1, 65535), 1);
  EXPECT_EQ(s.get_or("HOST", ""), "0.0.0.0");
  EXPECT_EQ(s.get_or("LOG_LEVEL", ""), "debug");
  EXPECT_EQ(s.get_list("CORS_ORIGINS"), (std::vector<std::string>{"http://a", "http://b"}));
  s.set("PORT", "9000");
  EXPECT_EQ(*s.get_int("PORT", 8000, 1, 65535), 9000);
  s.set("PORT", "99999");
  EXPECT_FALSE(s.get_int("PORT", 8000, 1, 65535));
  s.set("PORT", "12ab");
  EXPECT_FALSE(s.get_int("PORT", 8000, 1, 65535));
  s.set("FLAG", "yes");
  EXPECT_TRUE(*s.get_bool("FLAG", false));
  s.set("FLAG", "maybe");
  EXPECT_FALSE(s.get_bool("FLAG", false));
  EXPECT_FALSE(s.load_env_file(path + ".missing", true));
  EXPECT_TRUE(s.load_env_file(path + ".missing", false));
}

}  // namespace
}  // namespace honeyman

namespace honeyman {
namespace {

using namespace std::chrono_literals;

TEST(ManualClock, MovesOnlyWhenAdvanced) {
  ManualClock clock;
  auto wall = clock.now();
  auto steady = clock.steady_now();
  clock.advance(1500ms);
  EXPECT_EQ(clock.now() - wall, 1500ms);
  EXPECT_EQ(clock.steady_now() - steady, 1500ms);
  clock.set(wall - 24h);  // the wall clock may jump back; steady time never does
  EXPECT_EQ(clock.now(), wall - 24h);
  EXPECT_EQ(clock.steady_now() - steady, 1500ms);
}

TEST(ManualClock, ASleeperWakesWhenTheClockPassesItsDeadline) {
  ManualClock clock;
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    clock.sleep_for(100ms);
    woke = true;
  });
  ASSERT_TRUE(clock.wait_for_sleeps(1, 10s));
  clock.advance(99ms);
  EXPECT_EQ(clock.sleepers(), 1);  // not yet: 1 ms short
  EXPECT_FALSE(woke);
  clock.advance(1ms);
  sleeper.join();
  EXPECT_TRUE(woke);
  EXPECT_EQ(clock.sleepers(), 0);
}

TEST(Backoff, DoublesUpToItsCap) {
  Backoff b{.initial = 50ms, .max = 1000ms};
  EXPECT_EQ(b.delay(0), 50ms);
  EXPECT_EQ(b.delay(1), 100ms);
  EXPECT_EQ(b.delay(4), 800ms);
  EXPECT_EQ(b.delay(5), 1000ms);
  EXPECT_EQ(b.delay(1000), 1000ms);  // no overflow however long the outage
}

Result<int> fail_with(Errc code) {
  return make_error(code, "down");
}

TEST(RetryWithBackoff, RetriesUnavailableUntilItSucceeds) {
  ManualClock clock;
  int calls = 0;
  std::vector<std::chrono::milliseconds> waits;
  std::thread caller([&] {
    auto r = retry_with_backoff(
        clock, RetryPolicy{.backoff = {.initial = 10ms, .max = 40ms}, .budget = std::nullopt},
        [&]() -> Result<int> {
          return ++calls < 4 ? fail_with(Errc::unavailable) : Result<int>(7);
        },
        [&](const Error&, std::chrono::milliseconds wait) { waits.push_back(wait); });
    EXPECT_TRUE(r);
    EXPECT_EQ(r ? *r : 0, 7);
  });
  for (int i = 1; i <= 3; ++i) {  // each retry waits on the clock until the test moves it
    ASSERT_TRUE(clock.wait_for_sleeps(i, 10s));
    clock.advance(40ms);
  }
  caller.join();
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{10ms, 20ms, 40ms}));
}

TEST(RetryWithBackoff, OtherErrorsAreReturnedAtOnce) {
  ManualClock clock;
  int calls = 0;
  auto r = retry_with_backoff(
      clock, RetryPolicy{},
      [&] {
        ++calls;
        return fail_with(Errc::invalid_input);
      },
      [](const Error&, std::chrono::milliseconds) {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_input);
  EXPECT_EQ(calls, 1);
}

TEST(RetryWithBackoff, GivesUpWhenTheNextWaitWouldPassTheBudget) {
  ManualClock clock;
  int calls = 0;
  std::thread caller([&] {
    auto r = retry_with_backoff(
        clock, RetryPolicy{.backoff = {.initial = 100ms, .max = 100ms}, .budget = 250ms},
        [&] {
          ++calls;
          return fail_with(Errc::unavailable);
        },
        [](const Error&, std::chrono::milliseconds) {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::unavailable);
  });
  for (int i = 1; i <= 2; ++i) {
    ASSERT_TRUE(clock.wait_for_sleeps(i, 10s));
    clock.advance(100ms);
  }
  caller.join();
  EXPECT_EQ(calls, 3);  // at 0, 100 and 200 ms; a wait to 300 ms would pass 250 ms
}

// What the logger writes to stderr while `fn` runs (stderr pointed at a temporary file).
template <class Fn>
std::string captured_stderr(Fn fn) {
  char path[] = "/tmp/honeyman-log-XXXXXX";
  int file = mkstemp(path);
  int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  fn();
  shutdown_logging();
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(file);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path);
  return text.str();
}

TEST(Logging, EventFieldsAreJsonMembers) {
  auto out = captured_stderr([] {
    ASSERT_TRUE(init_logging("info", "json", true));
    log_event(LogLevel::info, "request",
              {{"request_id", std::string_view("r-1")},
               {"route", std::string_view("/x/{id}")},
               {"status", std::int64_t{404}},
               {"duration_ms", 0.25},
               {"note", std::string_view("quote \" and \n newline")}});
    spdlog::info("{}", std::string_view(R"(x","evil":"1)"));
  });
  std::istringstream lines(out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  auto v = boost::json::parse(first).as_object();
  EXPECT_EQ(v.at("level"), "info");
  EXPECT_EQ(v.at("message"), "request");
  EXPECT_EQ(v.at("request_id"), "r-1");
  EXPECT_EQ(v.at("route"), "/x/{id}");
  EXPECT_EQ(v.at("status"), 404);
  EXPECT_DOUBLE_EQ(v.at("duration_ms").as_double(), 0.25);
  EXPECT_EQ(v.at("note"), "quote \" and \n newline");
  // An ordinary message that looks like JSON members stays a string.
  EXPECT_EQ(boost::json::parse(second).at("message"), R"(x","evil":"1)");
  ASSERT_TRUE(init_logging("info", "text"));
}

TEST(Logging, EventInTextIsKeyValue) {
  auto out = captured_stderr([] {
    ASSERT_TRUE(init_logging("info", "text"));
    log_event(LogLevel::info, "request",
              {{"method", std::string_view("GET")},
               {"principal", std::string_view("")},
               {"client", std::string_view("a b")}});
    log_event(LogLevel::debug, "hidden", {});
  });
  EXPECT_NE(out.find("info  request method=GET principal=\"\" client=\"a b\"\n"), std::string::npos)
      << out;
  EXPECT_EQ(out.find("hidden"), std::string::npos);
}

}  // namespace
}  // namespace honeyman

namespace honeyman {
namespace {

TEST(JsonText, WritesNumbersAsPeopleDo) {
  namespace json = boost::json;
  EXPECT_EQ(to_json_text(json::value(0.82)), "0.82");
  EXPECT_EQ(to_json_text(json::value(36.1147)), "36.1147");
  EXPECT_EQ(to_json_text(json::value(0.0)), "0.0");
  EXPECT_EQ(to_json_text(json::value(-2.0)), "-2.0");
  EXPECT_EQ(to_json_text(json::value(1e15)), "1000000000000000.0");
  EXPECT_EQ(to_json_text(json::value(1e16)), "1e+16");
  EXPECT_EQ(to_json_text(json::value(0.0001)), "0.0001");
  EXPECT_EQ(to_json_text(json::value(0.00001)), "1e-05");
  EXPECT_EQ(to_json_text(json::value(-122.41941550000001)), "-122.41941550000001");
  EXPECT_EQ(to_json_text(json::value(std::int64_t{-42})), "-42");
  EXPECT_EQ(to_json_text(json::value(std::uint64_t{18446744073709551615u})),
            "18446744073709551615");
}

TEST(JsonText, EveryDoubleReadsBackExactly) {
  std::mt19937_64 random(7);
  for (int i = 0; i < 20000; ++i) {
    double d;
    auto bits = random();
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    auto text = to_json_text(boost::json::value(d));
    // from_chars reads exactly; Boost.JSON 1.81's parser may be one unit in the last place off.
    double back = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), back);
    ASSERT_EQ(ec, std::errc()) << text;
    ASSERT_EQ(end, text.data() + text.size()) << text;
    EXPECT_EQ(back, d) << text;
  }
}

// Documents larger than the scratch buffer grow it (and a huge one does not keep it); text
// written before a growth survives it.
TEST(JsonText, LargeDocumentsComeOutWhole) {
  boost::json::array a;
  for (int i = 0; i < 3000; ++i) a.emplace_back(std::string(2000, static_cast<char>('a' + i % 26)));
  EXPECT_EQ(to_json_text(a), boost::json::serialize(a));  // ~6 MB
  boost::json::object small{{"k", "v"}};
  EXPECT_EQ(to_json_text(small), R"({"k":"v"})");
}

TEST(JsonText, MatchesBoostExceptForNumbers) {
  auto v = boost::json::parse(
      R"({"a":[1,true,null,"x\"y\\z\n\t\u0001é"],"b":{"c":-5,"d":"é😀","e":{}},"f":[]})");
  EXPECT_EQ(to_json_text(v), boost::json::serialize(v));
  EXPECT_EQ(json_quote("a\"b\x7f"), "\"a\\\"b\x7f\"");
}

}  // namespace
}  // namespace honeyman
