// Threats of accepted MQTT messages between their submission to the ThreatWriter and their
// commit. At most `max` wait at a time, so what was acknowledged to the broker and not yet
// committed stays bounded (the message queue being the other bound). A submission that fails
// with Errc::unavailable stays in flight until it is resubmitted and committed: nothing
// acknowledged is dropped.
//
// Thread-safe. The decoder thread submits, waits and resubmits; outcomes arrive on the
// ThreatWriter's thread (or at once on the caller's, when the writer refuses a submission).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "broker/broker.hpp"
#include "ingest/detail/stats.hpp"
#include "ingest/ingest.hpp"

namespace honeyman::ingest::detail {

class InFlight {
 public:
  // One message's threats on their way to a commit. The threats themselves move into the writer;
  // a resubmission decodes the payload again with the same receipt time rather than keeping a
  // deep copy of every threat in flight.
  struct Message {
    std::string topic, payload;
    broker::SensorTopic from;
    Timestamp received_at;
    std::size_t count = 0;  // threats
  };
  using MessagePtr = std::shared_ptr<const Message>;

  InFlight(ThreatWriter& writer, IngestTallies& tallies, std::size_t max);

  // Blocks until `n` more threats fit (true; anything fits when nothing is in flight), or until a
  // failed submission waits to be resubmitted (false: resubmit first, then ask again).
  bool wait_for_room(std::size_t n);
  // Blocks until nothing is in flight (true), or a failed submission waits (false).
  bool wait_until_settled();

  // Hands `threats` (m->count of them) to the writer; `m` is in flight until its outcome.
  void submit(MessagePtr m, std::vector<domain::Threat> threats);

  bool has_failed() const;
  // The submissions that failed with Errc::unavailable (still in flight): resubmit() or
  // abandon() each.
  std::vector<MessagePtr> take_failed();
  void resubmit(MessagePtr m, std::vector<domain::Threat> threats);
  // Gives up a failed submission (the caller dead-letters it): no longer in flight.
  void abandon(const MessagePtr& m);
  // Blocks until every resubmission has its outcome.
  void wait_resubmitted();

  // The messages whose threats the store refused (not retryable), with the dead letter reason.
  std::vector<std::pair<MessagePtr, std::string>> take_refused();
  std::size_t count() const;

 private:
  void hand_to_writer(MessagePtr m, std::vector<domain::Threat> threats, bool resubmitted);
  void settle(const MessagePtr& m, const StoredThreats& result, bool resubmitted);

  ThreatWriter& writer_;
  IngestTallies& tallies_;
  const std::size_t max_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t threats_ = 0;       // in flight, failed ones included
  std::size_t resubmitting_ = 0;  // resubmissions without an outcome yet
  std::vector<MessagePtr> failed_;
  std::vector<std::pair<MessagePtr, std::string>> refused_;
};

}  // namespace honeyman::ingest::detail
