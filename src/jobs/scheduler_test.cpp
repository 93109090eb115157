// The scheduler driven through run_due() on a ManualClock (no sleeping), plus its own thread on
// the real clock: runs what is due, stops at once.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "jobs/jobs.hpp"

namespace honeyman::jobs {
namespace {

using namespace std::chrono_literals;

Schedule every(std::chrono::milliseconds interval, bool at_start) {
  return Schedule{
      .every = interval, .at_start = at_start, .retry = std::nullopt, .until_success = false};
}

// Counts its runs; fails the next `failures` of them with Errc::unavailable.
struct Counter {
  int runs = 0;
  int failures = 0;
  Work work() {
    return [this](std::stop_token) -> Status {
      ++runs;
      if (failures > 0) {
        --failures;
        return make_error(Errc::unavailable, "down");
      }
      return {};
    };
  }
};

TEST(JobScheduler, AtStartThenEveryIntervalFromTheEndOfTheRun) {
  ManualClock clock;
  Scheduler s(clock);
  Counter c;
  s.add("job", every(10s, true), c.work());
  EXPECT_EQ(s.next_due(), clock.steady_now());
  EXPECT_EQ(s.run_due(), 1);
  EXPECT_EQ(s.run_due(), 0);
  clock.advance(9s);
  EXPECT_EQ(s.run_due(), 0);
  clock.advance(1s);
  EXPECT_EQ(s.run_due(), 1);
  EXPECT_EQ(c.runs, 2);
  EXPECT_EQ(s.next_due(), clock.steady_now() + 10s);
}

TEST(JobScheduler, WithoutAtStartTheFirstRunWaitsOneInterval) {
  ManualClock clock;
  Scheduler s(clock);
  Counter c;
  s.add("job", every(5s, false), c.work());
  EXPECT_EQ(s.run_due(), 0);
  clock.advance(5s);
  EXPECT_EQ(s.run_due(), 1);
}

TEST(JobScheduler, ALongRunPushesTheNextOneBack) {
  ManualClock clock;
  Scheduler s(clock);
  s.add("slow", every(10s, true), [&](std::stop_token) -> Status {
    clock.advance(7s);  // the run itself takes 7 s
    return {};
  });
  s.run_due();
  EXPECT_EQ(s.next_due(), clock.steady_now() + 10s);
}

TEST(JobScheduler, AJobNeverOverlapsItself) {
  ManualClock clock;
  std::vector<std::function<void()>> handed;  // runs handed to the runner, not yet run
  Scheduler s(clock, [&](std::function<void()> task) { handed.push_back(std::move(task)); });
  Counter c;
  s.add("job", every(1s, true), c.work());
  EXPECT_EQ(s.run_due(), 1);
  EXPECT_EQ(s.running(), 1);
  clock.advance(5s);
  EXPECT_EQ(s.run_due(), 0) << "still running";
  EXPECT_EQ(s.next_due(), std::nullopt);
  handed.front()();
  EXPECT_EQ(s.running(), 0);
  EXPECT_EQ(s.run_due(), 0) << "due one interval after the run ended";
  clock.advance(1s);
  EXPECT_EQ(s.run_due(), 1);
  ASSERT_EQ(handed.size(), 2u);
  handed.back()();  // the scheduler waits for handed-out runs when it is destroyed
}

TEST(JobScheduler, JobsDoNotWaitForEachOther) {
  ManualClock clock;
  std::vector<std::function<void()>> handed;
  Scheduler s(clock, [&](std::function<void()> task) { handed.push_back(std::move(task)); });
  Counter slow, fast;
  s.add("slow", every(1h, true), slow.work());
  s.add("fast", every(2s, false), fast.work());
  EXPECT_EQ(s.run_due(), 1);  // slow is handed out and never returns in this test
  for (int i = 0; i < 3; ++i) {
    clock.advance(2s);
    EXPECT_EQ(s.run_due(), 1);
    handed.back()();
  }
  EXPECT_EQ(fast.runs, 3);
  EXPECT_EQ(slow.runs, 0);
  handed.front()();  // let the slow one finish, so the scheduler can be destroyed
}

TEST(JobScheduler, FailuresAreRetriedWithBackoffUntilOneSucceeds) {
  ManualClock clock;
  Scheduler s(clock);
  Counter c;
  c.failures = 3;
  s.add("once",
        Schedule{.every = 0ms, .at_start = true, .retry = Backoff{1s, 3s}, .until_success = true},
        c.work());
  EXPECT_EQ(s.run_due(), 1);  // fails: next in 1 s
  clock.advance(999ms);
  EXPECT_EQ(s.run_due(), 0);
  clock.advance(1ms);
  EXPECT_EQ(s.run_due(), 1);  // fails: next in 2 s
  clock.advance(2s);
  EXPECT_EQ(s.run_due(), 1);  // fails: next in 3 s (the cap)
  clock.advance(2s);
  EXPECT_EQ(s.run_due(), 0);
  clock.advance(1s);
  EXPECT_EQ(s.run_due(), 1);  // succeeds
  EXPECT_EQ(c.runs, 4);
  EXPECT_EQ(s.next_due(), std::nullopt);
  clock.advance(1h);
  EXPECT_EQ(s.run_due(), 0);
}

TEST(JobScheduler, APeriodicJobThatFailsTriesAgainNextInterval) {
  ManualClock clock;
  Scheduler s(clock);
  Counter c;
  c.failures = 1;
  s.add("job", every(10s, true), c.work());
  EXPECT_EQ(s.run_due(), 1);
  EXPECT_EQ(s.next_due(), clock.steady_now() + 10s);
  clock.advance(10s);
  EXPECT_EQ(s.run_due(), 1);
  EXPECT_EQ(c.runs, 2);
}

TEST(JobScheduler, TheThreadRunsDueJobs) {
  Scheduler s(system_clock(), [](std::function<void()> task) { std::thread(task).detach(); });
  std::mutex m;
  std::condition_variable cv;
  int runs = 0;
  s.add("tick", every(10ms, true), [&](std::stop_token) -> Status {
    std::lock_guard lock(m);
    ++runs;
    cv.notify_all();
    return {};
  });
  s.start();
  std::unique_lock lock(m);
  EXPECT_TRUE(cv.wait_for(lock, 10s, [&] { return runs >= 3; }));
  lock.unlock();
  s.stop();
}

TEST(JobScheduler, StopIsPromptAndReachesRunningWork) {
  Scheduler s(system_clock(), [](std::function<void()> task) { std::thread(task).detach(); });
  std::promise<void> started;
  std::atomic<bool> saw_stop{false};
  s.add("long", every(600s, true), [&](std::stop_token stop) -> Status {
    started.set_value();
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait(lock, stop, [] { return false; });  // returns once stop is requested
    saw_stop = stop.stop_requested();
    return {};
  });
  Counter idle;
  s.add("idle", every(600s, false), idle.work());
  s.start();
  ASSERT_EQ(started.get_future().wait_for(10s), std::future_status::ready);
  auto before = std::chrono::steady_clock::now();
  s.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s) << "must not wait out an interval";
  EXPECT_TRUE(saw_stop);
  EXPECT_EQ(s.running(), 0);
  EXPECT_EQ(s.run_due(), 0) << "nothing starts after stop";
}

}  // namespace
}  // namespace honeyman::jobs
