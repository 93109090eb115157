#include "jobs/jobs.hpp"

namespace honeyman::jobs {
namespace {

// Calls `step` (one bounded batch) until it deletes nothing or stop is requested; adds what it
// deleted to `total` and the time it took to `took`.
template <class Step>
Status delete_in_batches(Step step, const Clock& clock, const std::stop_token& stop,
                         std::int64_t& total, std::chrono::microseconds& took) {
  auto began = clock.steady_now();
  Status status;
  while (!stop.stop_requested()) {
    auto n = step();
    if (!n) {
      status = n.error();
      break;
    }
    if (*n == 0) break;
    total += *n;
  }
  took = std::chrono::duration_cast<std::chrono::microseconds>(clock.steady_now() - began);
  return status;
}

}  // namespace

Result<RetentionPass> apply_retention(store::Store& store, const RetentionConfig& config,
                                      Timestamp now, const Clock& clock, std::stop_token stop) {
  RetentionPass pass;
  pass.threat_cutoff = now - std::chrono::days(config.data_retention_days);
  pass.rollup_cutoff = now - std::chrono::days(config.rollup_retention_days);
  pass.audit_cutoff = now - std::chrono::days(config.audit_retention_days);
  auto threats = delete_in_batches(
      [&] { return store.delete_threats_before(pass.threat_cutoff, config.batch); }, clock, stop,
      pass.threats, pass.threats_took);
  if (!threats)
    return make_error(threats.error().code,
                      "deleting old threats failed: " + threats.error().message);
  auto rollups = delete_in_batches(
      [&] { return store.delete_rollups_before(pass.rollup_cutoff, config.batch); }, clock, stop,
      pass.rollups, pass.rollups_took);
  if (!rollups)
    return make_error(rollups.error().code,
                      "deleting old rollups failed: " + rollups.error().message);
  auto audit =
      delete_in_batches([&] { return store.delete_audit_before(pass.audit_cutoff, config.batch); },
                        clock, stop, pass.audit, pass.audit_took);
  if (!audit)
    return make_error(audit.error().code,
                      "deleting old audit records failed: " + audit.error().message);
  return pass;
}

}  // namespace honeyman::jobs
