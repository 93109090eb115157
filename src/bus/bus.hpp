// bus: how stored threats and sensor status changes reach every WebSocket client of every
// instance. An EventBus carries Events; each Event is serialised once, to the exact WebSocket
// text frame, and the same immutable buffer is shared by every local subscriber.
//
// Implementations: in-process (default; one instance) and Redis pub/sub (REDIS_URL; every
// instance publishes what it committed and receives what the others committed). The same Redis
// transport also carries a plain TextChannel between instances, for exchanges that are not events
// (http's rate-limit usage, on a channel of its own).
//
// Thread-safety: every method is thread-safe. publish() never blocks on the network: events go
// to a bounded queue (when it is full the oldest undelivered batch is dropped and counted).
// Listeners run on the bus's own dispatch thread, one batch at a time, in publication order for
// the events of one instance; they must not block.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/core.hpp"
#include "domain/domain.hpp"

namespace honeyman::bus {

enum class EventKind { threat, sensor_status, threat_update, alert };

struct Event {
  EventKind kind = EventKind::threat;
  // What subscribers filter on (threats and their updates: all four; sensor_status: sensor_id
  // only; a bulk update: none, it reaches every subscriber).
  std::string id;  // the threat id (UUID v7)
  std::string sensor_id;
  std::string severity;
  std::string detector_type;
  // The WebSocket text frame, built once. For a threat its top-level "timestamp" is the time the
  // threat was committed (delivery latency is measured from it).
  std::shared_ptr<const std::string> frame;
  // Threats: the commit time the frame carries (the bus's delivery lag is measured from it).
  std::optional<Timestamp> committed_at;
};
using EventPtr = std::shared_ptr<const Event>;
using EventBatch = std::vector<EventPtr>;

// {"type":"threat","data":{id, timestamp, sensor_id, threat_type, severity, detector_type,
//  threat_score, device_name, latitude, longitude},"timestamp":<committed_at>}
EventPtr threat_event(const domain::Threat& threat, Timestamp committed_at);
// {"type":"sensor_status","data":{sensor_id, is_online, last_heartbeat},"timestamp":<at>}
EventPtr sensor_status_event(std::string_view sensor_id, bool is_online,
                             std::optional<Timestamp> last_heartbeat, Timestamp at);
// A threat's triage changed (SPEC §7): {"type":"threat_update","data":{id, sensor_id, severity,
//  detector_type, status, assignee, is_acknowledged, updated_at, updated_by},"timestamp":<at>}
EventPtr threat_update_event(const domain::Threat& threat, std::string_view updated_by,
                             Timestamp at);
// Many threats changed at once (POST /threats/bulk): one event instead of one per threat;
// {"type":"threat_update","data":{"bulk": true, matched, changed, status?, assignee?,
//  updated_by},"timestamp":<at>}. Dashboards reload what they show.
EventPtr bulk_update_event(boost::json::object summary, std::string_view updated_by, Timestamp at);
// An alert fired (SPEC §8): {"type":"alert","data":<the alert as GET /alerts shows it>,
//  "timestamp":<at>}. Every client hears of it, whatever its filter.
EventPtr alert_event(boost::json::object alert, Timestamp at);
// Rebuilds an Event from its frame (what another instance published). Errc::invalid_input when
// the frame is not one of the shapes above.
Result<EventPtr> parse_event(std::string frame);

struct BusConfig {
  std::string redis_url;  // empty: in-process; redis://[:password@]host[:port][/db]
  std::string channel = "honeyman:events";
  std::size_t queue_capacity = 10'000;  // batches waiting for dispatch or for Redis
  std::chrono::milliseconds reconnect_min{100}, reconnect_max{5'000};
};

struct BusCounters {
  std::uint64_t published = 0;  // events published by this instance
  std::uint64_t received = 0;   // events received from other instances (Redis)
  std::uint64_t dropped = 0;    // events dropped because a queue was full or Redis was down
  std::uint64_t reconnects = 0;
};

class EventBus {
 public:
  using Listener = std::function<void(const EventBatch&)>;
  virtual ~EventBus() = default;

  // Hands `events` to every listener of every instance (this one included). Never blocks.
  virtual void publish(EventBatch events) = 0;
  // Adds a listener; returns its id for unsubscribe(). A listener added during dispatch sees
  // the next batch.
  virtual std::uint64_t subscribe(Listener listener) = 0;
  virtual void unsubscribe(std::uint64_t id) = 0;
  // In-process: always true. Redis: connected (for /ready).
  virtual bool connected() const = 0;
  virtual BusCounters counters() const = 0;
  // Stops the threads; later publishes are dropped. Called by the destructor.
  virtual void stop() = 0;
};

std::unique_ptr<EventBus> make_local_bus(const BusConfig& config);
// Errc::invalid_input for a malformed URL. Connects in the background (and reconnects with
// backoff), so a Redis that is down at start is not an error.
Result<std::unique_ptr<EventBus>> make_redis_bus(const BusConfig& config);
// make_redis_bus when config.redis_url is set, make_local_bus otherwise.
Result<std::unique_ptr<EventBus>> make_bus(const BusConfig& config);

// ---------------------------------------------------------------------------------------------
// A text channel between instances: what one instance publishes reaches every other instance's
// listener (never its own). Redis pub/sub keeps nothing: messages sent while Redis is down, or
// while no listener is set, are lost, so it suits exchanges that repeat (rate-limit usage).
//
// Thread-safety: every method is thread-safe. publish() never blocks (a bounded queue of
// config.queue_capacity messages; when full the oldest is dropped). The listener runs on the
// channel's subscriber thread, one message at a time, and must not block.
class TextChannel {
 public:
  using Listener = std::function<void(std::string_view message)>;
  virtual ~TextChannel() = default;

  virtual void publish(std::string message) = 0;
  // Sets the listener, replacing any earlier one.
  virtual void listen(Listener listener) = 0;
  virtual bool connected() const = 0;  // subscribed to Redis
  // Stops the threads (the listener is not called any more); later publishes are dropped.
  // Called by the destructor.
  virtual void stop() = 0;
};

// A channel on Redis channel `config.channel` of `config.redis_url` (reconnecting with backoff;
// a Redis that is down at start is not an error). Errc::invalid_input for a malformed URL.
Result<std::unique_ptr<TextChannel>> make_redis_channel(const BusConfig& config);

}  // namespace honeyman::bus
