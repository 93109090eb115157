// AlertService: the rule engine on the writer's commit hook, the alert writer, the outbox worker
// and the SIEM forwarders (see alerting.hpp for the threads and their duties).
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "alerting/alerting.hpp"
#include "metrics/metrics.hpp"

namespace honeyman::alerting {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "honeyman";
  return buf;
}

// The request one delivery makes, built when the alert fires and stored as the delivery's body
// (so every retry sends the same bytes); the URL and signature come from the destination at
// send time (a rotated secret signs the retries).
std::string body_for(const store::AlertDestination& d, const store::Alert& a,
                     std::string_view console_url, std::string_view version,
                     std::string_view hostname) {
  if (d.kind == "slack") return slack_body(a, console_url);
  if (d.kind == "pagerduty") {
    const auto* key = d.config.if_contains("routing_key");
    return pagerduty_body(a, key && key->is_string() ? std::string_view(key->as_string()) : "",
                          console_url);
  }
  if (d.kind == "syslog") {
    // The alert as one syslog record, in the destination's format: JSON carries the alert;
    // CEF/LEEF carry the firing threat's fields with the rule's name.
    auto severity = domain::parse_severity(
                        a.summary.contains("severity") && a.summary.at("severity").is_string()
                            ? std::string_view(a.summary.at("severity").as_string())
                            : "high")
                        .value_or(domain::Severity::high);
    std::string message;
    const auto* format = d.config.if_contains("format");
    auto f = format && format->is_string() ? parse_siem_format(format->as_string()) : std::nullopt;
    if (f == SiemFormat::json || !f) {
      message = json::serialize(alert_json(a));
    } else {
      domain::Threat t;
      t.id = a.id;
      t.timestamp = a.fired_at;
      t.sensor_id = a.sensor_id.value_or("fleet");
      t.threat_type = "alert:" + a.rule_name;
      auto text = [&](const char* k) {
        const auto* v = a.summary.if_contains(k);
        return v && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      t.detector_type = text("detector_type");
      t.severity = severity;
      if (auto n = text("device_name"); !n.empty()) t.device_name = n;
      message = siem_message(*f, t, version);
    }
    return syslog_record(message, severity, a.fired_at, hostname, "alert");
  }
  return webhook_body(a);
}

std::string text_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<SyslogTarget> syslog_target(const store::AlertDestination& d) {
  if (d.kind != "syslog") return std::nullopt;
  SyslogTarget t;
  t.host = text_of(d.config, "host");
  if (const auto* p = d.config.if_contains("port"); p && p->is_int64())
    t.port = static_cast<std::uint16_t>(p->as_int64());
  t.transport =
      parse_syslog_transport(text_of(d.config, "transport")).value_or(SyslogTransport::udp);
  t.ca_file = text_of(d.config, "ca_file");
  return t;
}

struct Metrics {
  metrics::Counter fired =
      metrics::counter("honeyman_alerts_fired_total", "Alerts fired by the rules").with({});
  metrics::Counter dropped =
      metrics::counter("honeyman_alerts_dropped_total",
                       "Fired alerts dropped because too many were waiting to be written")
          .with({});
  metrics::CounterFamily deliveries = metrics::counter(
      "honeyman_alert_deliveries_total", "Delivery attempts by outcome (delivered|retry|failed)");
};

}  // namespace

struct AlertService::Impl {
  AlertServiceConfig config;
  store::Store& store;
  bus::EventBus* bus;
  const Clock& clock;
  Metrics m;

  // Rules (the engine: writer thread) and destinations (everyone), replaced by reload().
  std::mutex engine_mutex;
  RuleEngine engine;
  mutable std::mutex state_mutex;
  std::map<std::string, store::AlertDestination> destinations;
  std::map<std::string, std::string> forwarder_keys;  // destination id -> its settings' text
  std::map<std::string, std::unique_ptr<SiemForwarder>> forwarders;
  std::set<std::string> forwarded_by_rules;  // syslog destinations fed by match-all rules

  // Fired alerts waiting for the alert writer.
  std::mutex pending_mutex;
  std::condition_variable pending_cv;
  std::deque<RuleEngine::Fired> pending;
  bool stopping = false;

  // The outbox worker's inbox: outcomes from the poster's thread and the syslog thread.
  std::mutex outbox_mutex;
  std::condition_variable outbox_cv;
  std::vector<std::pair<store::Delivery, store::DeliveryOutcome>> outcomes;
  std::map<std::string, std::size_t> in_flight;  // per destination
  // Claimed deliveries waiting for one of their destination's slots (at most kWaiting each):
  // started as slots free up, instead of being handed back to the store and claimed again.
  std::map<std::string, std::deque<store::Delivery>> waiting;
  std::size_t waiting_total = 0;
  bool outbox_wake = false;

  // Syslog deliveries: their own thread (a blocking sender).
  std::mutex syslog_mutex;
  std::condition_variable syslog_cv;
  std::deque<std::pair<store::Delivery, store::AlertDestination>> syslog_queue;

  HttpPoster poster;
  std::atomic<std::uint64_t> evaluated{0}, fired{0}, dropped{0}, delivered{0}, retried{0},
      failed{0};
  std::thread alert_writer, outbox_worker, syslog_worker;
  std::once_flag stopped;
  std::mt19937_64 jitter{std::random_device{}()};

  Impl(AlertServiceConfig c, store::Store& s, bus::EventBus* b, const Clock& cl)
      : config(std::move(c)), store(s), bus(b), clock(cl) {
    if (config.hostname.empty()) config.hostname = host_name();
    if (config.instance_id.empty()) config.instance_id = uuid_v4();
    if (auto id = normalize_uuid(config.siem_forward)) config.siem_forward = *id;
  }

  Status load();
  void write_alerts();
  void work_outbox();
  void send_syslog();
  void dispatch(store::Delivery d, Timestamp now);
  void start_waiting(Timestamp now);
  static constexpr std::size_t kWaiting = 16;  // claimed rows waiting per destination
  static constexpr std::size_t kClaim = 64;    // claimed rows waiting in all, at most
  store::DeliveryOutcome outcome_of(const store::Delivery& d, bool ok, std::string error);
  void finish(std::pair<store::Delivery, store::DeliveryOutcome> done);
};

// Reads rules and destinations; rebuilds the engine's rules and the forwarders whose settings
// changed.
Status AlertService::Impl::load() {
  auto rules = store.list_rules();
  if (!rules) return rules.error();
  auto dests = store.list_destinations();
  if (!dests) return dests.error();
  std::map<std::string, store::AlertDestination> by_id;
  for (auto& d : *dests) by_id.emplace(d.id, std::move(d));

  std::vector<RuleSpec> specs;
  std::set<std::string> forward_ids;
  if (!config.siem_forward.empty()) {
    auto it = by_id.find(config.siem_forward);
    if (it == by_id.end() || it->second.kind != "syslog")
      return make_error(Errc::invalid_input,
                        "SIEM_FORWARD=" + config.siem_forward + " names no syslog destination");
    forward_ids.insert(config.siem_forward);
  }
  for (const auto& r : *rules) {
    auto spec = rule_spec(r);
    if (!spec) {
      log_event(LogLevel::warn, "alert rule unreadable, skipped", {{"rule_id", r.id}});
      continue;
    }
    // A rule that matches every threat with no threshold forwards to its syslog destinations
    // (SPEC §8: SIEM forwarding) instead of firing an alert per threat to them.
    if (spec->enabled && spec->match.matches_everything() && !spec->threshold) {
      std::vector<std::string> rest;
      bool forwards = false;
      for (const auto& id : spec->destination_ids) {
        auto it = by_id.find(id);
        if (it != by_id.end() && it->second.kind == "syslog") {
          forward_ids.insert(id);
          forwards = true;
        } else {
          rest.push_back(id);
        }
      }
      spec->destination_ids = std::move(rest);
      // A forwarding rule with only syslog destinations fires no alerts besides.
      if (forwards && spec->destination_ids.empty()) continue;
    }
    specs.push_back(std::move(*spec));
  }
  {
    std::lock_guard lock(engine_mutex);
    engine.set_rules(std::move(specs));
  }
  std::lock_guard lock(state_mutex);
  for (auto it = forwarders.begin(); it != forwarders.end();) {
    auto d = by_id.find(it->first);
    if (!forward_ids.contains(it->first) || d == by_id.end() ||
        json::serialize(d->second.config) != forwarder_keys[it->first]) {
      it->second->stop(500ms);
      forwarder_keys.erase(it->first);
      it = forwarders.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& id : forward_ids) {
    if (forwarders.contains(id)) continue;
    const auto& d = by_id.at(id);
    SiemForwarderConfig fc;
    fc.target = *syslog_target(d);
    fc.format = parse_siem_format(text_of(d.config, "format")).value_or(SiemFormat::cef);
    fc.capacity = config.siem_buffer;
    fc.hostname = config.hostname;
    fc.version = config.version;
    forwarders.emplace(id, std::make_unique<SiemForwarder>(fc));
    forwarder_keys[id] = json::serialize(d.config);
    log_event(LogLevel::info, "siem forwarding",
              {{"destination", d.name},
               {"host", fc.target.host},
               {"port", static_cast<std::int64_t>(fc.target.port)}});
  }
  destinations = std::move(by_id);
  return {};
}

// The alert writer: each fired alert with one delivery per destination, in one transaction
// (retried while the store is unavailable), then announced on the bus and to the outbox worker.
void AlertService::Impl::write_alerts() {
  auto last_reload = clock.steady_now();
  for (;;) {
    std::deque<RuleEngine::Fired> batch;
    {
      std::unique_lock lock(pending_mutex);
      pending_cv.wait_for(lock, 1s, [&] { return stopping || !pending.empty(); });
      if (pending.empty() && stopping) return;
      batch.swap(pending);
    }
    if (clock.steady_now() - last_reload >= config.reload_interval) {
      if (auto s = load(); !s)
        log_event(LogLevel::warn, "alert rules not reloaded", {{"error", s.error().message}});
      last_reload = clock.steady_now();
    }
    // One transaction for everything fired since the last round (a burst of alerts costs the
    // store one write, not one per alert: the ingest writer shares SQLite's single write lock).
    std::vector<store::Store::NewAlert> rows;
    rows.reserve(batch.size());
    for (auto& fired : batch) {
      RuleEngine::complete(fired);
      store::Store::NewAlert row{std::move(fired.alert), {}};
      std::lock_guard lock(state_mutex);
      for (const auto& id : fired.destination_ids) {
        auto it = destinations.find(id);
        if (it == destinations.end()) continue;
        store::Delivery d;
        d.id = uuid_v7(row.alert.fired_at);
        d.alert_id = row.alert.id;
        d.destination_id = it->first;
        d.created_at = row.alert.fired_at;
        d.next_attempt_at = row.alert.fired_at;
        d.body =
            body_for(it->second, row.alert, config.console_url, config.version, config.hostname);
        row.deliveries.push_back(std::move(d));
      }
      rows.push_back(std::move(row));
    }
    if (rows.empty()) continue;
    auto written = retry_with_backoff(
        clock, RetryPolicy{Backoff{100ms, 5000ms}, std::nullopt},
        [&] { return store.insert_alerts(rows); },
        [&](const Error& e, std::chrono::milliseconds) {
          log_event(LogLevel::warn, "alerts not written yet, retrying", {{"error", e.message}});
        });
    if (!written) {
      log_event(
          LogLevel::error, "alerts lost",
          {{"alerts", static_cast<std::int64_t>(rows.size())}, {"error", written.error().message}});
      continue;
    }
    if (bus) {
      bus::EventBatch events;
      auto now = clock.now();
      for (const auto& row : rows) events.push_back(bus::alert_event(alert_json(row.alert), now));
      bus->publish(std::move(events));
    }
    {
      std::lock_guard lock(outbox_mutex);
      outbox_wake = true;
    }
    outbox_cv.notify_one();
  }
}

store::DeliveryOutcome AlertService::Impl::outcome_of(const store::Delivery& d, bool ok,
                                                      std::string error) {
  auto now = clock.now();
  if (ok) return {store::DeliveryOutcome::delivered, now, now, ""};
  if (now - d.created_at >= config.retry_max)
    return {store::DeliveryOutcome::failed, now, now, std::move(error)};
  // initial * 2^attempts, capped, with ±20 % jitter so many deliveries do not retry in step.
  auto wait = config.retry_base * (1LL << std::min(d.attempts, 30));
  if (wait > config.retry_cap || wait <= 0ms) wait = config.retry_cap;
  std::uniform_real_distribution<double> spread(0.8, 1.2);
  auto jittered = std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(wait.count()) * spread(jitter)));
  return {store::DeliveryOutcome::retry, now, now + jittered, std::move(error)};
}

void AlertService::Impl::dispatch(store::Delivery d, Timestamp now) {
  store::AlertDestination dest;
  {
    std::lock_guard lock(state_mutex);
    auto it = destinations.find(d.destination_id);
    if (it == destinations.end()) {
      finish({d, {store::DeliveryOutcome::failed, now, now, "the destination was deleted"}});
      return;
    }
    dest = it->second;
  }
  {
    std::lock_guard lock(outbox_mutex);
    auto& n = in_flight[dest.id];
    if (n >= config.per_destination_concurrency) {
      auto& queue = waiting[dest.id];
      if (queue.size() < kWaiting) {
        queue.push_back(std::move(d));
        ++waiting_total;
        return;
      }
      // Busier still: the row goes back to the store for a few seconds (not an attempt).
      store::DeliveryOutcome later{store::DeliveryOutcome::release, now, now + 5s, d.last_error};
      outcomes.emplace_back(std::move(d), later);
      return;
    }
    ++n;
  }
  if (dest.kind == "syslog") {
    {
      std::lock_guard lock(syslog_mutex);
      syslog_queue.emplace_back(std::move(d), std::move(dest));
    }
    syslog_cv.notify_one();
    return;
  }
  PostRequest request;
  request.url = text_of(dest.config, "url");
  request.timeout = config.http_timeout;
  request.headers = {{"Content-Type", "application/json"}, {"X-Honeyman-Delivery", d.id}};
  if (auto secret = text_of(dest.config, "secret"); !secret.empty())
    request.headers.emplace_back("X-Honeyman-Signature", signature_header(secret, d.body));
  request.body = d.body;
  poster.post(std::move(request), [this, d = std::move(d)](PostResult r) mutable {
    if (r.error == "stopped") {  // shutting down: not an attempt, the row is due again at once
      std::lock_guard lock(outbox_mutex);
      --in_flight[d.destination_id];
      auto now = clock.now();
      store::DeliveryOutcome back{store::DeliveryOutcome::release, now, now, d.last_error};
      outcomes.emplace_back(std::move(d), back);
      return;
    }
    auto error = r.ok()            ? std::string()
                 : r.error.empty() ? "HTTP " + std::to_string(r.status)
                                   : r.error;
    auto outcome = outcome_of(d, r.ok(), std::move(error));
    {
      std::lock_guard lock(outbox_mutex);
      --in_flight[d.destination_id];
      outcomes.emplace_back(std::move(d), std::move(outcome));
    }
    outbox_cv.notify_one();
  });
}

// Starts waiting deliveries whose destination has a free slot again.
void AlertService::Impl::start_waiting(Timestamp now) {
  std::vector<store::Delivery> ready;
  {
    std::lock_guard lock(outbox_mutex);
    for (auto& [id, queue] : waiting) {
      auto free = config.per_destination_concurrency -
                  std::min(in_flight[id], config.per_destination_concurrency);
      for (; free > 0 && !queue.empty(); --free) {
        ready.push_back(std::move(queue.front()));
        queue.pop_front();
        --waiting_total;
      }
    }
  }
  for (auto& d : ready) dispatch(std::move(d), now);
}

void AlertService::Impl::finish(std::pair<store::Delivery, store::DeliveryOutcome> done) {
  auto& [d, outcome] = done;
  auto s = store.finish_delivery(d.id, config.instance_id, outcome);
  if (!s) {
    // Lost claim (the lease ran out: another instance may send it again, at least once) or a
    // store outage (the lease runs out and the row is claimed again).
    log_event(LogLevel::warn, "delivery outcome not recorded",
              {{"delivery_id", d.id}, {"error", s.error().message}});
    return;
  }
  const char* label = nullptr;
  switch (outcome.kind) {
    case store::DeliveryOutcome::delivered:
      ++delivered;
      label = "delivered";
      break;
    case store::DeliveryOutcome::retry:
      ++retried;
      label = "retry";
      break;
    case store::DeliveryOutcome::failed:
      ++failed;
      label = "failed";
      log_event(LogLevel::warn, "delivery failed for good",
                {{"delivery_id", d.id}, {"error", outcome.error}});
      break;
    case store::DeliveryOutcome::release:
      return;
  }
  if (auto c = m.deliveries.with({{"outcome", label}})) c.inc();
}

// The outbox worker: records outcomes, claims what is due (a lease longer than one attempt can
// take), and hands each claimed delivery to its sender.
void AlertService::Impl::work_outbox() {
  // Long enough for a delivery that waits behind its destination's full queue: kWaiting /
  // concurrency rounds of at most one timeout each, then its own attempt, plus a margin.
  const auto rounds = static_cast<long>(kWaiting / config.per_destination_concurrency + 2);
  const auto lease =
      std::chrono::duration_cast<std::chrono::microseconds>(config.http_timeout * rounds + 30s);
  for (;;) {
    std::vector<std::pair<store::Delivery, store::DeliveryOutcome>> done;
    bool stop_now = false;
    {
      std::unique_lock lock(outbox_mutex);
      outbox_cv.wait_for(lock, config.poll_interval,
                         [&] { return outbox_wake || !outcomes.empty() || stopping; });
      outbox_wake = false;
      done.swap(outcomes);
      stop_now = stopping;
    }
    for (auto& o : done) finish(std::move(o));
    if (stop_now) return;
    auto now = clock.now();
    start_waiting(now);
    std::size_t room;
    {
      std::lock_guard lock(outbox_mutex);
      room = waiting_total >= kClaim ? 0 : kClaim - waiting_total;
    }
    if (room == 0) continue;
    auto claimed =
        store.claim_deliveries(config.instance_id, now, now + lease, static_cast<int>(room));
    if (!claimed) {
      log_event(LogLevel::warn, "outbox not read", {{"error", claimed.error().message}});
      continue;
    }
    for (auto& d : *claimed) dispatch(std::move(d), now);
    if (claimed->size() == room) {
      std::lock_guard lock(outbox_mutex);
      outbox_wake = true;  // more may be due
    }
  }
}

void AlertService::Impl::send_syslog() {
  std::map<std::string, std::unique_ptr<SyslogSender>> senders;
  for (;;) {
    std::pair<store::Delivery, store::AlertDestination> job;
    {
      std::unique_lock lock(syslog_mutex);
      syslog_cv.wait(lock, [&] { return stopping || !syslog_queue.empty(); });
      if (stopping) {
        // Not sent now: handed back, due at once, for the next start (or another instance).
        std::lock_guard outbox(outbox_mutex);
        auto now = clock.now();
        for (auto& [d, dest] : syslog_queue) {
          --in_flight[d.destination_id];
          store::DeliveryOutcome back{store::DeliveryOutcome::release, now, now, d.last_error};
          outcomes.emplace_back(std::move(d), back);
        }
        syslog_queue.clear();
        return;
      }
      job = std::move(syslog_queue.front());
      syslog_queue.pop_front();
    }
    auto& [d, dest] = job;
    auto key = dest.id + json::serialize(dest.config);
    auto& sender = senders[key];
    if (!sender) sender = std::make_unique<SyslogSender>(*syslog_target(dest));
    auto sent = sender->send(d.body);
    auto outcome = outcome_of(d, bool(sent), sent ? std::string() : sent.error().message);
    {
      std::lock_guard lock(outbox_mutex);
      --in_flight[d.destination_id];
      outcomes.emplace_back(std::move(d), std::move(outcome));
    }
    outbox_cv.notify_one();
  }
}

// ---------------------------------------------------------------------------------------------
AlertService::AlertService(AlertServiceConfig config, store::Store& store, bus::EventBus* bus,
                           const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(config), store, bus, clock)) {}

AlertService::~AlertService() {
  stop();
}

Status AlertService::start() {
  if (auto s = impl_->load(); !s) return s;
  impl_->alert_writer = std::thread([this] { impl_->write_alerts(); });
  impl_->outbox_worker = std::thread([this] { impl_->work_outbox(); });
  impl_->syslog_worker = std::thread([this] { impl_->send_syslog(); });
  return {};
}

void AlertService::observe(const std::vector<domain::Threat>& stored,
                           const std::vector<bool>& inserted, Timestamp committed_at) {
  auto& s = *impl_;
  std::vector<RuleEngine::Fired> fired;
  {
    std::lock_guard lock(s.engine_mutex);
    if (s.engine.rule_count() > 0)
      for (std::size_t i = 0; i < stored.size(); ++i) {
        if (!inserted[i]) continue;
        auto alerts = s.engine.evaluate(stored[i], committed_at);
        for (auto& a : alerts) fired.push_back(std::move(a));
      }
  }
  s.evaluated += stored.size();
  {
    std::lock_guard lock(s.state_mutex);
    for (auto& [id, f] : s.forwarders) f->offer(stored, &inserted);
  }
  if (fired.empty()) return;
  {
    std::lock_guard lock(s.pending_mutex);
    for (auto& a : fired) {
      if (s.pending.size() >= s.config.max_pending_alerts) {
        ++s.dropped;
        if (s.m.dropped) s.m.dropped.inc();
        continue;
      }
      ++s.fired;
      if (s.m.fired) s.m.fired.inc();
      s.pending.push_back(std::move(a));
    }
  }
  s.pending_cv.notify_one();
}

void AlertService::reload() {
  if (auto s = impl_->load(); !s)
    log_event(LogLevel::warn, "alert rules not reloaded", {{"error", s.error().message}});
}

PostResult AlertService::test_destination(const store::AlertDestination& d) {
  store::Alert a;
  a.id = uuid_v7(impl_->clock.now());
  a.rule_id = "test";
  a.rule_name = "Test message from Honeyman";
  a.fired_at = impl_->clock.now();
  a.count = 0;
  a.summary = json::object{{"severity", "info"}, {"threat_type", "test"}, {"test", true}};
  auto body =
      body_for(d, a, impl_->config.console_url, impl_->config.version, impl_->config.hostname);
  if (d.kind == "syslog") {
    SyslogSender sender(*syslog_target(d));
    auto sent = sender.send(body);
    return sent ? PostResult{200, ""} : PostResult{0, sent.error().message};
  }
  PostRequest request;
  request.url = text_of(d.config, "url");
  request.timeout = impl_->config.http_timeout;
  request.headers = {{"Content-Type", "application/json"}, {"X-Honeyman-Delivery", a.id}};
  if (auto secret = text_of(d.config, "secret"); !secret.empty())
    request.headers.emplace_back("X-Honeyman-Signature", signature_header(secret, body));
  request.body = std::move(body);
  auto promise = std::make_shared<std::promise<PostResult>>();
  auto result = promise->get_future();
  impl_->poster.post(std::move(request),
                     [promise](PostResult r) { promise->set_value(std::move(r)); });
  return result.get();
}

AlertServiceCounters AlertService::counters() const {
  AlertServiceCounters c;
  const auto& s = *impl_;
  c.evaluated = s.evaluated;
  c.fired = s.fired;
  c.dropped = s.dropped;
  c.delivered = s.delivered;
  c.retried = s.retried;
  c.failed = s.failed;
  std::lock_guard lock(s.state_mutex);
  for (const auto& [id, f] : s.forwarders) {
    auto fc = f->counters();
    c.forwarded += fc.forwarded;
    c.forward_dropped += fc.dropped;
  }
  return c;
}

void AlertService::stop() {
  auto& s = *impl_;
  std::call_once(s.stopped, [&] {
    {
      std::lock_guard a(s.pending_mutex);
      std::lock_guard b(s.outbox_mutex);
      std::lock_guard c(s.syslog_mutex);
      s.stopping = true;
    }
    s.pending_cv.notify_all();
    s.outbox_cv.notify_all();
    s.syslog_cv.notify_all();
    if (s.alert_writer.joinable()) s.alert_writer.join();
    s.poster.stop();
    if (s.syslog_worker.joinable()) s.syslog_worker.join();
    if (s.outbox_worker.joinable()) s.outbox_worker.join();
    // Rows still waiting for a slot go back to the store, due at once (not attempts).
    auto now = s.clock.now();
    for (auto& [id, queue] : s.waiting)
      for (auto& d : queue) {
        store::DeliveryOutcome back{store::DeliveryOutcome::release, now, now, d.last_error};
        s.outcomes.emplace_back(std::move(d), back);
      }
    s.waiting.clear();
    // Outcomes that arrived after the worker's last round (the poster's "stopped" ones).
    for (auto& o : s.outcomes) s.finish(std::move(o));
    s.outcomes.clear();
    std::lock_guard lock(s.state_mutex);
    for (auto& [id, f] : s.forwarders) f->stop();
  });
}

}  // namespace honeyman::alerting
