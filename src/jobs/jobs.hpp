// jobs: the server's background work, and the one scheduler that runs it.
//
//  - retention: threats past DATA_RETENTION_DAYS, then rollup hours past ROLLUP_RETENTION_DAYS,
//    in bounded batches (the ingest writer gets the store between them); at start, then every
//    RETENTION_INTERVAL_SECONDS;
//  - store maintenance (PostgreSQL: the next days' partitions): at start, then hourly;
//  - the sensor liveness sweep: online/offline changes logged and published as sensor_status
//    events, every SENSOR_SWEEP_INTERVAL;
//  - revocation polling: revocations made by other instances and the CLI, every 2 s;
//  - the server's broker account (MQTT administration configured): set up before MQTT ingest
//    starts, retried with backoff until it succeeds (the broker may come up after the server).
//
// Several instances may run every job at once: the store serialises maintenance and retention,
// and the sweep returns each change to exactly one instance.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth.hpp"
#include "broker/broker.hpp"
#include "bus/bus.hpp"
#include "core/core.hpp"
#include "store/store.hpp"

namespace honeyman::jobs {

// ---------------------------------------------------------------------------------------------
// Scheduling.

// When a job runs. Times are the scheduler's clock (Clock::steady_now).
struct Schedule {
  std::chrono::milliseconds every{0};  // from the end of one run to the start of the next
  bool at_start = false;               // first run at once; otherwise `every` after add()
  // After a failed run, the next one comes retry->delay(n) later (n: failures in a row - 1)
  // instead of `every`.
  std::optional<Backoff> retry;
  bool until_success = false;  // a one-off: no run after the first that succeeds
};

// One run of a job. `stop` is requested when the scheduler stops: work of many steps checks it
// between steps and returns early. An error is logged by the scheduler (with the job's name).
using Work = std::function<Status(std::stop_token stop)>;

// Where a due job runs: `task` is to be called once, on any thread. Production hands it to the
// BlockingPool (on_pool); an empty Runner calls it on the thread that found the job due.
using Runner = std::function<void(std::function<void()> task)>;
Runner on_pool(BlockingPool& pool);

// Runs jobs on their schedules. A job never overlaps itself: it is not due again before its run
// has returned. Jobs do overlap each other (with on_pool, each run is one pool task), so a long
// retention pass does not hold back revocation polling.
//
// Two ways to drive it: run_due() starts what is due now (tests, with a ManualClock), and
// start() runs a thread that calls run_due() and waits, in real time, for the next due time, a
// finished run or stop().
//
// Thread-safety: every method is thread-safe. Keeps a reference to `clock`.
class Scheduler {
 public:
  explicit Scheduler(const Clock& clock, Runner runner = {});
  ~Scheduler();  // stop()s
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void add(std::string name, Schedule schedule, Work work);
  // Starts every job that is due at clock.steady_now() and not running; returns how many.
  int run_due();
  // The earliest due time of the jobs that are neither running nor finished (nullopt: none).
  std::optional<Clock::SteadyTime> next_due() const;
  int running() const;  // runs started and not yet returned

  // Starts the scheduling thread.
  void start();
  // Prompt: requests stop from running jobs, ends the scheduling thread at once (it never waits
  // out an interval), then waits for the runs in progress to return. No run starts afterwards.
  // Call it before stopping the Runner's threads (a run handed to a stopped pool never returns).
  // Idempotent.
  void stop();

  const Clock& clock() const { return clock_; }

 private:
  struct Job;
  void finish(Job& job, const Status& status);
  std::optional<Clock::SteadyTime> next_due_locked() const;
  void loop();

  const Clock& clock_;
  Runner runner_;
  std::stop_source stop_source_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a run returned, a job was added, or stop()
  std::vector<std::unique_ptr<Job>> jobs_;
  int running_ = 0;
  bool changed_flag_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// The jobs.

struct RetentionConfig {
  int data_retention_days = 90;        // DATA_RETENTION_DAYS: raw threats
  int rollup_retention_days = 730;     // ROLLUP_RETENTION_DAYS: hourly rollups
  int audit_retention_days = 365;      // AUDIT_RETENTION_DAYS: the audit log (threats' own
                                       // retention never deletes audit records)
  std::chrono::seconds interval{600};  // RETENTION_INTERVAL_SECONDS
  int batch = 5000;                    // rows per transaction
};

struct RetentionPass {
  Timestamp threat_cutoff, rollup_cutoff, audit_cutoff;
  std::int64_t threats = 0, rollups = 0, audit = 0;  // rows deleted
  std::chrono::microseconds threats_took{0}, rollups_took{0}, audit_took{0};
};

// One retention pass counted from `now`: threats with timestamp < now - data_retention_days,
// then rollup hours ended by now - rollup_retention_days, then audit records older than
// now - audit_retention_days, each in batches of `config.batch`
// until a batch deletes nothing (or `stop` is requested: what was deleted so far is reported).
// Blocks (store calls). Errors name the step ("deleting old threats failed: ..."); rows deleted
// before a failure stay deleted. Durations are measured on `clock`.
Result<RetentionPass> apply_retention(store::Store& store, const RetentionConfig& config,
                                      Timestamp now, const Clock& clock, std::stop_token stop = {});

// One liveness sweep at `now`: a sensor is online when seen within 3 heartbeat intervals. Each
// change is logged ("sensor <id> is now online|offline") and published as one sensor_status
// event batch. Returns the number of changes.
Result<std::size_t> sweep_sensors(store::Store& store, bus::EventBus& bus, Timestamp now,
                                  std::chrono::seconds heartbeat_interval);

struct JobsConfig {
  RetentionConfig retention;
  std::chrono::seconds store_maintenance_interval{3600};
  std::chrono::seconds sensor_sweep_interval{5};       // SENSOR_SWEEP_INTERVAL
  std::chrono::seconds sensor_heartbeat_interval{60};  // SENSOR_HEARTBEAT_INTERVAL
  std::chrono::seconds revocation_poll{2};
  // The server's broker account: retried after 1 s, doubling up to 30 s.
  Backoff broker_account_retry{std::chrono::seconds(1), std::chrono::seconds(30)};
};

// What the server's jobs work on; everything must outlive the Scheduler's runs.
struct ServerJobs {
  store::Store& store;
  bus::EventBus& bus;
  auth::AuthService& auth;
  // MQTT administration configured: the server's broker account is set up first, then
  // `start_ingest` runs once (MQTT ingest starts consuming).
  broker::Admin* broker_admin = nullptr;
  std::string broker_username;
  std::function<Status()> start_ingest;
};

// Adds retention, store maintenance, the liveness sweep, revocation polling and (with a broker
// admin) the broker account setup to `scheduler`, on its clock.
void add_server_jobs(Scheduler& scheduler, const JobsConfig& config, const ServerJobs& jobs);

}  // namespace honeyman::jobs
