#include <pthread.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "jobs/jobs.hpp"

namespace honeyman::jobs {

struct Scheduler::Job {
  std::string name;
  Schedule schedule;
  Work work;
  Clock::SteadyTime due;
  bool running = false;
  bool finished = false;  // until_success and it succeeded
  int failures = 0;       // in a row
};

Runner on_pool(BlockingPool& pool) {
  return
      [&pool](std::function<void()> task) { boost::asio::post(pool.executor(), std::move(task)); };
}

Scheduler::Scheduler(const Clock& clock, Runner runner)
    : clock_(clock), runner_(std::move(runner)) {}

Scheduler::~Scheduler() {
  stop();
}

void Scheduler::add(std::string name, Schedule schedule, Work work) {
  auto job = std::make_unique<Job>();
  job->name = std::move(name);
  job->due =
      clock_.steady_now() + (schedule.at_start ? std::chrono::milliseconds(0) : schedule.every);
  job->schedule = std::move(schedule);
  job->work = std::move(work);
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    changed_flag_ = true;
  }
  changed_.notify_all();
}

int Scheduler::run_due() {
  std::vector<Job*> due;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return 0;
    auto now = clock_.steady_now();
    for (auto& job : jobs_)
      if (!job->running && !job->finished && job->due <= now) {
        job->running = true;
        ++running_;
        due.push_back(job.get());
      }
  }
  // Outside the lock: an empty Runner runs the work right here, and finish() takes the lock.
  auto stop = stop_source_.get_token();
  for (auto* job : due) {
    auto task = [this, job, stop] { finish(*job, job->work(stop)); };
    if (runner_)
      runner_(std::move(task));
    else
      task();
  }
  return static_cast<int>(due.size());
}

void Scheduler::finish(Job& job, const Status& status) {
  std::lock_guard lock(mutex_);
  auto wait = job.schedule.every;
  if (status) {
    job.failures = 0;
    job.finished = job.schedule.until_success;
  } else {
    ++job.failures;
    if (job.schedule.retry) wait = job.schedule.retry->delay(job.failures - 1);
    spdlog::warn("{}: {} (next attempt in {} ms)", job.name, status.error().message, wait.count());
  }
  job.due = clock_.steady_now() + wait;
  job.running = false;
  --running_;
  changed_flag_ = true;
  // Under the lock: once running_ drops to 0, stop() may return and the Scheduler go away.
  changed_.notify_all();
}

std::optional<Clock::SteadyTime> Scheduler::next_due() const {
  std::lock_guard lock(mutex_);
  return next_due_locked();
}

std::optional<Clock::SteadyTime> Scheduler::next_due_locked() const {
  std::optional<Clock::SteadyTime> next;
  for (const auto& job : jobs_)
    if (!job->running && !job->finished && (!next || job->due < *next)) next = job->due;
  return next;
}

int Scheduler::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

void Scheduler::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { loop(); });
}

void Scheduler::loop() {
  pthread_setname_np(pthread_self(), "jobs");
  // With nothing waiting (every job running or finished), sleep until something changes.
  constexpr auto kIdle = std::chrono::hours(24);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    run_due();
    lock.lock();
    auto next = next_due_locked();
    auto wait = next ? *next - clock_.steady_now() : Clock::SteadyTime::duration(kIdle);
    if (wait > Clock::SteadyTime::duration::zero())
      changed_.wait_for(lock, wait, [&] { return stopping_ || changed_flag_; });
    changed_flag_ = false;
  }
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
  }
  stop_source_.request_stop();
  if (thread_.joinable()) thread_.join();
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return running_ == 0; });
}

}  // namespace honeyman::jobs
