// alerting: what leaves the server on its own (SPEC §8) — alert rules evaluated on the ingest
// path after commit, fired alerts written with their deliveries to the store's outbox and
// delivered from it (webhook, Slack, PagerDuty Events v2, syslog) with retries across restarts,
// and SIEM forwarding of every stored threat to syslog (RFC 5424 over UDP, TCP or TLS; CEF, LEEF
// 2.0 or JSON) from a bounded buffer that never blocks ingest.
//
// Parts (one file each):
//  - rules.cpp: RuleSpec / DestinationSpec parsing and validation (the API's bodies), and the
//    RuleEngine (matching, thresholds, cooldown): pure, driven by the caller's clock;
//  - payloads.cpp: the bodies each destination kind receives, the webhook signature;
//  - http_poster.cpp: outbound HTTP(S) POSTs with timeouts (Boost.Beast, OpenSSL);
//  - siem_formats.cpp, syslog.cpp: CEF / LEEF / JSON messages, RFC 5424 records, the syslog
//    sender (UDP, TCP with octet counting, TLS) and the SiemForwarder;
//  - service.cpp: AlertService — the engine on the writer's post-commit hook, the alert writer
//    thread, the outbox worker.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bus/bus.hpp"
#include "core/core.hpp"
#include "domain/domain.hpp"
#include "store/store.hpp"

namespace honeyman::alerting {

// ---------------------------------------------------------------------------------------------
// Rules and destinations (rules.cpp): the API's bodies, validated, and the rule engine.

// A destination as the API takes it: {name, kind, url?, secret?, routing_key?, host?, port?,
// transport?, format?}. Validated per kind (webhook/slack: an http(s) url; pagerduty: a
// routing_key, url defaulting to PagerDuty's Events v2 endpoint; syslog: host, port 1..65535,
// transport udp|tcp|tls, format cef|leef|json). Unknown keys are refused. With `current` (a
// PATCH) the body's members replace the current ones, a secret left out is kept.
Result<store::AlertDestination> destination_from_json(const boost::json::object& body,
                                                      const store::AlertDestination* current);
// The API's view: every setting but the secret and the routing key, with has_secret.
boost::json::object destination_json(const store::AlertDestination& destination);
inline constexpr std::string_view kPagerDutyEventsUrl = "https://events.pagerduty.com/v2/enqueue";

struct RuleMatch {
  std::optional<domain::Severity> min_severity;
  std::vector<std::string> detector_types, threat_types, sensor_ids;  // empty: any
  std::optional<double> min_score;
  bool matches(const domain::Threat& threat) const;
  bool matches_everything() const;
};
struct Threshold {
  std::int64_t count = 1;           // matching threats ...
  std::chrono::seconds window{60};  // ... within this long ...
  bool per_sensor = true;           // ... from one sensor (false: across the fleet)
};
struct RuleSpec {
  std::string id, name;
  bool enabled = true;
  RuleMatch match;
  std::optional<Threshold> threshold;
  std::chrono::seconds cooldown{0};
  std::vector<std::string> destination_ids;
};
// A rule as the API takes it: {name, enabled?, match, threshold?, cooldown_seconds?,
// destination_ids}; with `current` (a PATCH) the body's members replace the current ones.
// The store keeps {match, threshold, cooldown_seconds, destination_ids} as the definition.
Result<store::AlertRule> rule_from_json(const boost::json::object& body,
                                        const store::AlertRule* current);
boost::json::object rule_json(const store::AlertRule& rule);
// The stored rule, typed (its definition was validated when written).
Result<RuleSpec> rule_spec(const store::AlertRule& rule);

// Evaluates the enabled rules against each committed threat. Work per threat is bounded: one
// pass over the rules, and for a threshold rule one bounded deque (at most `count` commit times
// per sensor or for the fleet). Not thread-safe: one caller (the writer's commit observer).
//
// Semantics (docs/ALERTING.md): a rule without a threshold fires for each matching threat; with
// one it fires when `count` matching threats were committed within `window`, and starts counting
// again from zero. After firing, the rule stays quiet for `cooldown` for that sensor (per-sensor
// rules and rules without a threshold) or for the fleet: matches then are not counted. Windows
// use commit times (the server's clock), not the sensors'.
class RuleEngine {
 public:
  // Replaces the rules; the counting state of a rule whose definition is unchanged is kept.
  void set_rules(std::vector<RuleSpec> rules);
  // What the firing threat says about itself, copied (the threat itself is not kept).
  struct Facts {
    std::string threat_id, threat_type, detector_type, sensor_id;
    std::optional<std::string> device_name;
    domain::Severity severity = domain::Severity::info;
    double threat_score = 0;
    Timestamp timestamp;
  };
  struct Fired {
    store::Alert alert;  // rule, fired_at = `now`, sensor, threat_ids, count; no id or summary yet
    Facts facts;
    std::vector<std::string> destination_ids;
  };
  // The alerts `threat` fires, in rule order. Cheap on purpose (it runs on the ingest writer's
  // thread): the alert's id and summary are made later by complete().
  std::vector<Fired> evaluate(const domain::Threat& threat, Timestamp now);
  // Gives a fired alert its id (UUID v7 of fired_at) and summary (the firing threat's facts).
  static void complete(Fired& fired);
  std::size_t rule_count() const { return rules_.size(); }

 private:
  struct KeyState {
    std::vector<std::pair<Timestamp, std::string>> recent;  // ring of the last `count`
    std::size_t next = 0;
    Timestamp quiet_until{};
  };
  struct Compiled {
    RuleSpec spec;
    std::string fingerprint;
    bool stateless = false;         // no threshold, no cooldown: every match fires
    std::vector<KeyState> sensors;  // by sensor slot (per-sensor rules)
    KeyState fleet;                 // fleet-wide rules
  };
  // Each sensor's slot, found once per threat: rules index their state by it instead of hashing
  // the sensor id once per rule.
  std::unordered_map<std::string, std::size_t> slots_;
  std::vector<Compiled> rules_;
};

// ---------------------------------------------------------------------------------------------
// Payloads (payloads.cpp).

// The alert as the API, the WebSocket and webhooks show it:
// {id, rule_id, rule_name, fired_at, sensor_id, threat_ids, count, status, acknowledged_by,
//  acknowledged_at, summary}.
boost::json::object alert_json(const store::Alert& alert);
// A webhook's body: {"type": "alert", "data": alert_json(alert)}.
std::string webhook_body(const store::Alert& alert);
// Slack incoming-webhook body: {"text": <fallback>, "blocks": [...]} (section + context blocks).
std::string slack_body(const store::Alert& alert, std::string_view console_url);
// PagerDuty Events API v2 "trigger" event: {routing_key, event_action: "trigger", dedup_key:
// alert id, payload: {summary (<= 1024 chars), source, severity: critical|error|warning|info,
// timestamp, component, group, class, custom_details}, client, client_url?}.
std::string pagerduty_body(const store::Alert& alert, std::string_view routing_key,
                           std::string_view console_url);
// "sha256=<lower-case hex HMAC-SHA256 of body with key>": X-Honeyman-Signature.
std::string signature_header(std::string_view key, std::string_view body);

// ---------------------------------------------------------------------------------------------
// Outbound HTTP (http_poster.cpp).
struct PostRequest {
  std::string url;  // http:// or https:// (TLS verified against the system's trust store)
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10'000};  // the whole exchange: resolve .. response read
};
struct PostResult {
  int status = 0;     // the answer's HTTP status; 0 when none was received
  std::string error;  // why there was no answer (timeout, refused, TLS, bad URL); empty if one
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};
// Runs POSTs concurrently on its own I/O thread; each ends within its timeout whatever the peer
// does. Thread-safe.
class HttpPoster {
 public:
  HttpPoster();
  ~HttpPoster();  // stop()s
  HttpPoster(const HttpPoster&) = delete;
  HttpPoster& operator=(const HttpPoster&) = delete;
  // `done` runs on the poster's thread, exactly once (with an error when stopped first).
  void post(PostRequest request, std::function<void(PostResult)> done);
  void stop();  // ends every exchange in flight (their `done` hears "stopped"), joins; idempotent

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// SIEM formats and syslog (siem_formats.cpp, syslog.cpp).
enum class SiemFormat { cef, leef, json };
enum class SyslogTransport { udp, tcp, tls };
std::optional<SiemFormat> parse_siem_format(std::string_view text);
std::optional<SyslogTransport> parse_syslog_transport(std::string_view text);

// CEF:0|Honeyman|honeyman|<version>|<threat_type>|<name>|<severity 0-10>|<extensions> with
// extensions src, smac, dhost, dvchost (sensor id), rt (ms since the epoch), cs1 (detector,
// cs1Label=detector), cn1 (score x100), externalId (threat id), msg; escaped per the CEF spec.
// docs/ALERTING.md "SIEM forwarding: formats" has every format's exact fields, in order.
std::string cef_message(const domain::Threat& threat, std::string_view version);
// LEEF:2.0|Honeyman|honeyman|<version>|<threat_type>|x09|<TAB-separated key=value>: LEEF 2.0's
// sixth header field is the attribute delimiter, written out (x09, TAB) so no parser mistakes
// the first attribute for it.
std::string leef_message(const domain::Threat& threat, std::string_view version);
// The threat's API JSON (domain::to_json), on one line.
std::string json_message(const domain::Threat& threat);
std::string siem_message(SiemFormat format, const domain::Threat& threat, std::string_view version);
// An RFC 5424 record: "<PRI>1 TIMESTAMP HOSTNAME honeyman - <msgid> - MSG" with facility
// local0 and the severity mapped from the threat's (critical → 2 crit ... info → 6 info).
// HOSTNAME and MSGID are made valid (non-printable or space → '_', cut to 255 / 32, "-" when
// empty); MSG is sent as is, UTF-8 without a BOM (see siem_formats.cpp).
std::string syslog_record(std::string_view message, domain::Severity severity, Timestamp at,
                          std::string_view hostname, std::string_view msgid);

struct SyslogTarget {
  std::string host;
  std::uint16_t port = 514;
  SyslogTransport transport = SyslogTransport::udp;
  std::string ca_file;  // TLS: the CA to verify the server with; empty: the system's store
  std::chrono::milliseconds timeout{5000};
};
// Sends records one at a time on one connection (TCP/TLS: octet-counted framing, RFC 6587;
// reconnects when the connection is lost; UDP: one datagram per record, cut to 65,507 bytes).
// TLS verifies the server's chain and its name (SNI for a host name). Blocking, each send()
// within `timeout` (resolve, connect, handshake and write together); not thread-safe (one
// sender per thread).
class SyslogSender {
 public:
  explicit SyslogSender(SyslogTarget target);
  ~SyslogSender();
  SyslogSender(const SyslogSender&) = delete;
  SyslogSender& operator=(const SyslogSender&) = delete;
  // Errc::unavailable when the record could not be handed to the network within the timeout.
  Status send(std::string_view record);
  // Several records in one write (TCP/TLS: framed one after another; UDP: one datagram each).
  // On an error the caller cannot know how many arrived: sending them again may repeat some.
  Status send(const std::vector<std::string>& records);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct SiemForwarderConfig {
  SyslogTarget target;
  SiemFormat format = SiemFormat::cef;
  std::size_t capacity = 100'000;  // threats waiting to be sent; beyond it new ones are dropped
  std::string hostname;            // the records' HOSTNAME (default: gethostname())
  std::string version;             // the product version in CEF/LEEF headers
};
struct SiemCounters {
  std::uint64_t forwarded = 0, dropped = 0, send_errors = 0;
  std::size_t queued = 0;
};
// Every stored threat to one syslog destination. offer() never blocks: a threat that finds the
// buffer full is dropped and counted (metric honeyman_siem_dropped_total). One sender thread;
// a failed send is retried (the same record, backoff 100 ms doubling to 5 s) while the buffer
// fills. The record's TIMESTAMP is the threat's created_at, its MSGID "threat". Thread-safe.
class SiemForwarder {
 public:
  explicit SiemForwarder(SiemForwarderConfig config);
  ~SiemForwarder();  // stop()s
  SiemForwarder(const SiemForwarder&) = delete;
  SiemForwarder& operator=(const SiemForwarder&) = delete;
  // Queues `threats` (those with inserted[i] true, when given). Never blocks.
  void offer(const std::vector<domain::Threat>& threats,
             const std::vector<bool>* inserted = nullptr);
  SiemCounters counters() const;
  // Sends what is queued for at most `drain` more (plus one send in flight, at most the
  // target's timeout), then joins; what is left is counted as dropped, and so is anything
  // offered afterwards. Idempotent.
  void stop(std::chrono::milliseconds drain = std::chrono::milliseconds(2000));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// The service (service.cpp): everything above, wired to the store, the bus and the writer.
struct AlertServiceConfig {
  std::string instance_id;           // the outbox's claim owner (unique per running instance)
  std::chrono::hours retry_max{24};  // ALERT_RETRY_MAX_HOURS: then `failed`
  std::chrono::milliseconds retry_base{1000};      // ALERT_RETRY_BASE_MS: first retry's wait
  std::chrono::milliseconds retry_cap{3'600'000};  // the longest wait between attempts
  std::chrono::milliseconds http_timeout{10'000};  // ALERT_HTTP_TIMEOUT_MS: one POST, whole
  std::size_t per_destination_concurrency = 4;     // POSTs in flight to one destination
  std::chrono::milliseconds poll_interval{500};    // how often the outbox is read when idle
  std::chrono::seconds reload_interval{10};        // rules/destinations re-read (other instances)
  std::size_t max_pending_alerts = 100'000;        // fired, not yet written; beyond: dropped
  std::string siem_forward;           // SIEM_FORWARD: a syslog destination's id; empty: none
  std::size_t siem_buffer = 100'000;  // SIEM_BUFFER: threats waiting per forwarder
  std::string console_url;            // links in Slack/PagerDuty bodies; empty: none
  std::string version;                // CEF/LEEF headers
  std::string hostname;               // syslog HOSTNAME; empty: gethostname()
};

struct AlertServiceCounters {
  std::uint64_t evaluated = 0, fired = 0, dropped = 0;  // threats seen, alerts fired/dropped
  std::uint64_t delivered = 0, retried = 0, failed = 0;
  std::uint64_t forwarded = 0, forward_dropped = 0;
};

// Threads: rule evaluation runs on the ingest writer's thread (observe(), bounded work per
// threat); one thread writes fired alerts with their deliveries (retrying an unavailable store)
// and publishes them; one thread works the outbox (claims due deliveries, hands webhook/Slack/
// PagerDuty POSTs to the HttpPoster — at most per_destination_concurrency per destination — and
// syslog deliveries to its own sender thread, records outcomes); SIEM forwarders have their own.
class AlertService {
 public:
  AlertService(AlertServiceConfig config, store::Store& store, bus::EventBus* bus,
               const Clock& clock);
  ~AlertService();  // stop()s
  AlertService(const AlertService&) = delete;
  AlertService& operator=(const AlertService&) = delete;

  // Loads rules and destinations and starts the threads. Errc::invalid_input when SIEM_FORWARD
  // names no syslog destination; the store's error when it cannot be read.
  Status start();
  // The ingest writer's commit observer (ingest::CommitObserver). Never blocks.
  void observe(const std::vector<domain::Threat>& stored, const std::vector<bool>& inserted,
               Timestamp committed_at);
  // Re-reads rules and destinations now (after a change through this instance's API).
  void reload();
  // Sends a test message to a destination now and says how it went: the HTTP status or the
  // syslog send, with the error if any. Blocking (up to the timeout).
  PostResult test_destination(const store::AlertDestination& destination);
  AlertServiceCounters counters() const;
  // Stops evaluating, writes the fired alerts still waiting, ends the outbox work (claims in
  // flight run out with their lease) and the forwarders. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace honeyman::alerting
