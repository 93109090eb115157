// Alerting over REST (SPEC §8): destinations and rules (admin), fired alerts (viewer+; analysts
// acknowledge), the delivery outbox (admin), and commands to sensors (admin). Bodies are
// validated by the alerting module (one set of rules for every caller); every change writes its
// audit record in its own transaction and reloads this instance's rules at once.
#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/routes.hpp"

namespace honeyman::api::detail {

namespace {

constexpr std::size_t kMaxArgsBytes = 16 * 1024;

json::object delivery_json(const store::Delivery& d) {
  return {{"id", d.id},
          {"alert_id", d.alert_id},
          {"destination_id", d.destination_id},
          {"status", d.status},
          {"attempts", d.attempts},
          {"created_at", format_timestamp(d.created_at)},
          {"next_attempt_at", format_timestamp(d.next_attempt_at)},
          {"delivered_at",
           d.delivered_at ? json::value(format_timestamp(*d.delivered_at)) : json::value(nullptr)},
          {"last_error", d.last_error.empty() ? json::value(nullptr) : json::value(d.last_error)}};
}

json::object command_json(const store::SensorCommand& c) {
  return {{"id", c.id},
          {"sensor_id", c.sensor_id},
          {"kind", c.kind},
          {"command", c.command},
          {"args", c.args},
          {"status", c.status},
          {"issued_at", format_timestamp(c.issued_at)},
          {"issued_by", c.issued_by},
          {"updated_at",
           c.updated_at ? json::value(format_timestamp(*c.updated_at)) : json::value(nullptr)},
          {"message", c.message ? json::value(*c.message) : json::value(nullptr)}};
}

json::value cursor_json(const std::string& cursor) {
  return cursor.empty() ? json::value(nullptr) : json::value(cursor);
}

// Every rule's destinations must exist: a rule that points nowhere would fire into nothing.
Status check_destinations(store::Store& store, const store::AlertRule& rule) {
  const auto* ids = rule.definition.if_contains("destination_ids");
  if (!ids || !ids->is_array()) return {};
  std::vector<FieldError> errors;
  for (std::size_t i = 0; i < ids->as_array().size(); ++i) {
    auto found = store.find_destination(std::string(ids->as_array()[i].as_string()));
    if (!found && found.error().code == Errc::not_found)
      errors.push_back(
          {{"body", "destination_ids", std::to_string(i)}, "No such destination", "value_error"});
    else if (!found)
      return found.error();
  }
  if (!errors.empty()) return validation_error(std::move(errors));
  return {};
}

void reload(Services& s) {
  if (s.alerts) s.alerts->reload();
}

// --- Destinations.
asio::awaitable<Response> list_destinations(RequestContext&, Services& s) {
  auto all = co_await run_blocking(s.pool, [&] { return s.store.list_destinations(); });
  if (!all) co_return http::error_response(all.error());
  json::array out;
  for (const auto& d : *all) out.push_back(alerting::destination_json(d));
  co_return ok(json::object{{"destinations", std::move(out)}});
}

asio::awaitable<Response> create_destination(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto d = alerting::destination_from_json(*body, nullptr);
  if (!d) co_return http::error_response(d.error());
  d->id = uuid_v4();
  d->created_at = d->updated_at = s.clock.now();
  auto audit = store::audit_entry(actor_of(ctx), d->created_at, "alert_destination.create",
                                  "alert_destination", d->id, {{"kind", d->kind}});
  auto done = co_await run_blocking(s.pool, [&] { return s.store.create_destination(*d, &audit); });
  if (!done) co_return http::error_response(done.error());
  reload(s);
  co_return created(alerting::destination_json(*d));
}

asio::awaitable<Response> get_destination(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "destination_id");
  if (!id) co_return http::error_response(id.error());
  auto d = co_await run_blocking(s.pool, [&] { return s.store.find_destination(*id); });
  if (!d) co_return http::error_response(d.error());
  co_return ok(alerting::destination_json(*d));
}

asio::awaitable<Response> update_destination(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "destination_id");
  if (!id) co_return http::error_response(id.error());
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto by = actor_of(ctx);
  auto changed = co_await run_blocking(s.pool, [&]() -> Result<store::AlertDestination> {
    auto current = s.store.find_destination(*id);
    if (!current) return current.error();
    auto d = alerting::destination_from_json(*body, &*current);
    if (!d) return d.error();
    d->updated_at = s.clock.now();
    auto audit = store::audit_entry(by, d->updated_at, "alert_destination.update",
                                    "alert_destination", d->id, {{"kind", d->kind}});
    if (auto done = s.store.update_destination(*d, &audit); !done) return done.error();
    return d;
  });
  if (!changed) co_return http::error_response(changed.error());
  reload(s);
  co_return ok(alerting::destination_json(*changed));
}

asio::awaitable<Response> delete_destination(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "destination_id");
  if (!id) co_return http::error_response(id.error());
  auto audit = store::audit_entry(actor_of(ctx), s.clock.now(), "alert_destination.delete",
                                  "alert_destination", *id);
  auto done =
      co_await run_blocking(s.pool, [&] { return s.store.delete_destination(*id, &audit); });
  if (!done) co_return http::error_response(done.error());
  reload(s);
  co_return ok(message("Destination deleted"));
}

asio::awaitable<Response> test_destination(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "destination_id");
  if (!id) co_return http::error_response(id.error());
  if (!s.alerts)
    co_return http::error_response(make_error(Errc::unavailable, "alerting is not running"));
  auto result = co_await run_blocking(s.pool, [&]() -> Result<alerting::PostResult> {
    auto d = s.store.find_destination(*id);
    if (!d) return d.error();
    return s.alerts->test_destination(*d);
  });
  if (!result) co_return http::error_response(result.error());
  co_return ok(json::object{
      {"ok", result->ok()},
      {"status", result->status},
      {"error", result->ok()            ? json::value(nullptr)
                : result->error.empty() ? json::value("HTTP " + std::to_string(result->status))
                                        : json::value(result->error)}});
}

// --- Rules.
asio::awaitable<Response> list_rules(RequestContext&, Services& s) {
  auto all = co_await run_blocking(s.pool, [&] { return s.store.list_rules(); });
  if (!all) co_return http::error_response(all.error());
  json::array out;
  for (const auto& r : *all) out.push_back(alerting::rule_json(r));
  co_return ok(json::object{{"rules", std::move(out)}});
}

asio::awaitable<Response> create_rule(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto rule = alerting::rule_from_json(*body, nullptr);
  if (!rule) co_return http::error_response(rule.error());
  rule->id = uuid_v4();
  rule->created_at = rule->updated_at = s.clock.now();
  auto audit = store::audit_entry(actor_of(ctx), rule->created_at, "alert_rule.create",
                                  "alert_rule", rule->id, {{"name", rule->name}});
  auto done = co_await run_blocking(s.pool, [&]() -> Status {
    if (auto checked = check_destinations(s.store, *rule); !checked) return checked;
    return s.store.create_rule(*rule, &audit);
  });
  if (!done) co_return http::error_response(done.error());
  reload(s);
  co_return created(alerting::rule_json(*rule));
}

asio::awaitable<Response> get_rule(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "rule_id");
  if (!id) co_return http::error_response(id.error());
  auto rule = co_await run_blocking(s.pool, [&] { return s.store.find_rule(*id); });
  if (!rule) co_return http::error_response(rule.error());
  co_return ok(alerting::rule_json(*rule));
}

asio::awaitable<Response> update_rule(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "rule_id");
  if (!id) co_return http::error_response(id.error());
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto by = actor_of(ctx);
  auto changed = co_await run_blocking(s.pool, [&]() -> Result<store::AlertRule> {
    auto current = s.store.find_rule(*id);
    if (!current) return current.error();
    auto rule = alerting::rule_from_json(*body, &*current);
    if (!rule) return rule.error();
    if (auto checked = check_destinations(s.store, *rule); !checked) return checked.error();
    rule->updated_at = s.clock.now();
    auto audit = store::audit_entry(by, rule->updated_at, "alert_rule.update", "alert_rule",
                                    rule->id, {{"name", rule->name}});
    if (auto done = s.store.update_rule(*rule, &audit); !done) return done.error();
    return rule;
  });
  if (!changed) co_return http::error_response(changed.error());
  reload(s);
  co_return ok(alerting::rule_json(*changed));
}

asio::awaitable<Response> delete_rule(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "rule_id");
  if (!id) co_return http::error_response(id.error());
  auto audit =
      store::audit_entry(actor_of(ctx), s.clock.now(), "alert_rule.delete", "alert_rule", *id);
  auto done = co_await run_blocking(s.pool, [&] { return s.store.delete_rule(*id, &audit); });
  if (!done) co_return http::error_response(done.error());
  reload(s);
  co_return ok(message("Rule deleted"));
}

// --- Alerts and deliveries.
asio::awaitable<Response> list_alerts(RequestContext& ctx, Services& s) {
  QueryReader q(ctx.query);
  store::AlertQuery query;
  query.status = q.text("status");
  if (query.status && *query.status != "firing" && *query.status != "acknowledged" &&
      *query.status != "resolved")
    q.fail("status", "Input should be 'firing', 'acknowledged' or 'resolved'", "enum");
  query.rule_id = q.text("rule_id");
  query.sensor_id = q.text("sensor_id");
  query.cursor = q.text("cursor").value_or("");
  query.page_size = q.integer("page_size", 50, 1, 1000);
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  auto page = co_await run_blocking(s.pool, [&] { return s.store.query_alerts(query); });
  if (!page) co_return http::error_response(page.error());
  json::array alerts;
  for (const auto& a : page->alerts) alerts.push_back(alerting::alert_json(a));
  co_return ok(
      json::object{{"alerts", std::move(alerts)}, {"next_cursor", cursor_json(page->next_cursor)}});
}

asio::awaitable<Response> acknowledge_alert(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "alert_id");
  if (!id) co_return http::error_response(id.error());
  auto by = actor_of(ctx);
  auto at = s.clock.now();
  auto audit = store::audit_entry(by, at, "alert.acknowledge", "alert", *id);
  auto alert = co_await run_blocking(
      s.pool, [&] { return s.store.acknowledge_alert(*id, by.name, at, &audit); });
  if (!alert) co_return http::error_response(alert.error());
  co_return ok(alerting::alert_json(*alert));
}

asio::awaitable<Response> list_deliveries(RequestContext& ctx, Services& s) {
  QueryReader q(ctx.query);
  store::DeliveryQuery query;
  query.status = q.text("status");
  if (query.status && *query.status != "pending" && *query.status != "delivered" &&
      *query.status != "failed")
    q.fail("status", "Input should be 'pending', 'delivered' or 'failed'", "enum");
  query.alert_id = q.text("alert_id");
  query.cursor = q.text("cursor").value_or("");
  query.page_size = q.integer("page_size", 50, 1, 1000);
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  auto page = co_await run_blocking(s.pool, [&] { return s.store.query_deliveries(query); });
  if (!page) co_return http::error_response(page.error());
  json::array out;
  for (const auto& d : page->deliveries) out.push_back(delivery_json(d));
  co_return ok(json::object{{"deliveries", std::move(out)},
                            {"next_cursor", cursor_json(page->next_cursor)}});
}

// --- Sensor commands.
Result<service::NewCommand> parse_command(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"command", "args"}, errors);
  service::NewCommand c;
  auto name = string_member(body, "command", errors, true, 64);
  if (name && (name->empty() ||
               name->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
                                       "nopqrstuvwxyz0123456789_.:-") != std::string::npos))
    errors.push_back({{"body", "command"}, "Input should match ^[A-Za-z0-9_.:-]+$", "value_error"});
  if (const auto* args = body.if_contains("args"); args && !args->is_null()) {
    if (!args->is_object())
      errors.push_back({{"body", "args"}, "Input should be an object", "dict_type"});
    else if (json::serialize(*args).size() > kMaxArgsBytes)
      errors.push_back({{"body", "args"}, "args must be at most 16 KiB as JSON", "value_error"});
    else
      c.args = args->as_object();
  }
  if (!errors.empty()) return validation_error(std::move(errors));
  c.command = std::move(*name);
  return c;
}

Result<service::NewCommand> parse_rule_update(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"rules_version", "url"}, errors);
  service::NewCommand c;
  c.kind = "rule_update";
  c.command = "rule_update";
  if (auto v = string_member(body, "rules_version", errors, false, 64))
    c.args["rules_version"] = *v;
  if (auto url = string_member(body, "url", errors, false, 2048)) {
    if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0)
      errors.push_back(
          {{"body", "url"}, "Input should be an http:// or https:// URL", "value_error"});
    else
      c.args["url"] = *url;
  }
  if (!errors.empty()) return validation_error(std::move(errors));
  return c;
}

asio::awaitable<Response> send_command(RequestContext& ctx, Services& s, bool rule_update) {
  auto sensor_id = sensor_id_param(ctx);
  if (!sensor_id) co_return http::error_response(sensor_id.error());
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto command = rule_update ? parse_rule_update(*body) : parse_command(*body);
  if (!command) co_return http::error_response(command.error());
  if (!s.commands)
    co_return http::error_response(make_error(Errc::unavailable, "commands are not available"));
  auto by = actor_of(ctx);
  auto sent = co_await run_blocking(
      s.pool, [&] { return s.commands->send(*sensor_id, std::move(*command), by); });
  if (!sent) co_return http::error_response(sent.error());
  co_return http::json_response(http::StatusCode::accepted,
                                json::object{{"id", sent->id}, {"status", "sent"}});
}

asio::awaitable<Response> list_commands(RequestContext& ctx, Services& s) {
  auto sensor_id = sensor_id_param(ctx);
  if (!sensor_id) co_return http::error_response(sensor_id.error());
  QueryReader q(ctx.query);
  int limit = q.integer("limit", 100, 1, 1000);
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  if (!s.commands)
    co_return http::error_response(make_error(Errc::unavailable, "commands are not available"));
  auto history =
      co_await run_blocking(s.pool, [&] { return s.commands->history(*sensor_id, limit); });
  if (!history) co_return http::error_response(history.error());
  json::array out;
  for (const auto& c : *history) out.push_back(command_json(c));
  co_return ok(json::object{{"commands", std::move(out)}});
}

}  // namespace

void add_alert_routes(http::Router& router, Services& s) {
  using http::Access;
  using http::RateClass;
  using http::Verb;
  auto bind = [&s](auto fn) { return [&s, fn](RequestContext& c) { return fn(c, s); }; };
  const auto p = s.config.prefix;
  auto uuid = json::object{{"type", "string"}, {"format", "uuid"}};
  auto destination_id = path_param("destination_id", uuid, "The destination's id");
  auto rule_id = path_param("rule_id", uuid, "The rule's id");
  auto alert_id = path_param("alert_id", uuid, "The alert's id");
  auto no_destination = error_answer(404, "No such destination");
  auto no_rule = error_answer(404, "No such rule");
  auto page_params = std::vector<http::ParamDoc>{
      query_param("cursor", {{"type", "string"}}, "next_cursor of the previous page"),
      query_param("page_size", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}},
                  "Default 50")};

  const auto dests = p + "/alerts/destinations";
  router.add({Verb::get, dests, Access::admin, RateClass::normal, bind(list_destinations),
              "Alert destinations, by name (secrets are never shown)",
              route_doc("Alerting", {json_answer(200, "The destinations",
                                                 schema_ref("AlertDestinationList"))})});
  router.add({Verb::post, dests, Access::admin, RateClass::normal, bind(create_destination),
              "Add a destination: webhook, Slack, PagerDuty or syslog",
              route_doc("Alerting", {json_answer(201, "Created", schema_ref("AlertDestination"))},
                        {}, schema_ref("AlertDestinationInput"))});
  router.add({Verb::get, dests + "/{destination_id}", Access::admin, RateClass::normal,
              bind(get_destination), "One destination",
              route_doc("Alerting",
                        {json_answer(200, "The destination", schema_ref("AlertDestination")),
                         no_destination},
                        {destination_id})});
  router.add(
      {Verb::patch, dests + "/{destination_id}", Access::admin, RateClass::normal,
       bind(update_destination), "Change a destination (members not given are kept)",
       route_doc("Alerting",
                 {json_answer(200, "As changed", schema_ref("AlertDestination")), no_destination},
                 {destination_id}, schema_ref("AlertDestinationInput"))});
  router.add(
      {Verb::delete_, dests + "/{destination_id}", Access::admin, RateClass::normal,
       bind(delete_destination), "Delete a destination (its pending deliveries end as failed)",
       route_doc("Alerting", {json_answer(200, "Deleted", schema_ref("Message")), no_destination},
                 {destination_id})});
  router.add({Verb::post, dests + "/{destination_id}/test", Access::admin, RateClass::normal,
              bind(test_destination), "Send a test message to the destination now",
              route_doc("Alerting",
                        {json_answer(200, "How it went", schema_ref("DestinationTest")),
                         no_destination, error_answer(503, "Alerting is not running")},
                        {destination_id})});

  const auto rules = p + "/alerts/rules";
  router.add({Verb::get, rules, Access::admin, RateClass::normal, bind(list_rules),
              "Alert rules, by name",
              route_doc("Alerting", {json_answer(200, "The rules", schema_ref("AlertRuleList"))})});
  auto rule_doc = route_doc("Alerting", {json_answer(201, "Created", schema_ref("AlertRule"))}, {},
                            schema_ref("AlertRuleInput"));
  rule_doc.description =
      "Without a threshold the rule fires for each matching threat; with one, when `count` "
      "matching threats were stored within `window_seconds` (per sensor or fleet-wide), then "
      "counts again from zero. After firing it is quiet for `cooldown_seconds`. A rule with an "
      "empty match and no threshold forwards every threat to its syslog destinations (SIEM).";
  router.add({Verb::post, rules, Access::admin, RateClass::normal, bind(create_rule),
              "Add an alert rule", rule_doc});
  router.add(
      {Verb::get, rules + "/{rule_id}", Access::admin, RateClass::normal, bind(get_rule),
       "One rule",
       route_doc("Alerting", {json_answer(200, "The rule", schema_ref("AlertRule")), no_rule},
                 {rule_id})});
  router.add(
      {Verb::patch, rules + "/{rule_id}", Access::admin, RateClass::normal, bind(update_rule),
       "Change a rule (members not given are kept)",
       route_doc("Alerting", {json_answer(200, "As changed", schema_ref("AlertRule")), no_rule},
                 {rule_id}, schema_ref("AlertRuleInput"))});
  router.add({Verb::delete_, rules + "/{rule_id}", Access::admin, RateClass::normal,
              bind(delete_rule), "Delete a rule (its alerts stay)",
              route_doc("Alerting", {json_answer(200, "Deleted", schema_ref("Message")), no_rule},
                        {rule_id})});

  auto alerts_params = page_params;
  alerts_params.push_back(query_param(
      "status", {{"type", "string"}, {"enum", {"firing", "acknowledged", "resolved"}}}, ""));
  alerts_params.push_back(query_param("rule_id", {{"type", "string"}}, ""));
  alerts_params.push_back(query_param("sensor_id", {{"type", "string"}}, ""));
  router.add({Verb::get, p + "/alerts", Access::viewer, RateClass::normal, bind(list_alerts),
              "Fired alerts, newest first",
              route_doc("Alerting", {json_answer(200, "A page of alerts", schema_ref("AlertList"))},
                        alerts_params)});
  router.add({Verb::post, p + "/alerts/{alert_id}/acknowledge", Access::analyst, RateClass::normal,
              bind(acknowledge_alert), "Acknowledge an alert",
              route_doc("Alerting",
                        {json_answer(200, "The alert", schema_ref("Alert")),
                         error_answer(404, "No such alert")},
                        {alert_id})});
  auto delivery_params = page_params;
  delivery_params.push_back(query_param(
      "status", {{"type", "string"}, {"enum", {"pending", "delivered", "failed"}}}, ""));
  delivery_params.push_back(query_param("alert_id", {{"type", "string"}}, ""));
  router.add(
      {Verb::get, p + "/alerts/deliveries", Access::admin, RateClass::normal, bind(list_deliveries),
       "The delivery outbox, newest first",
       route_doc("Alerting", {json_answer(200, "A page of deliveries", schema_ref("DeliveryList"))},
                 delivery_params)});

  const auto commands = p + "/sensors/{sensor_id}/commands";
  auto no_sensor = error_answer(404, "Sensor not found");
  auto not_sent = error_answer(503, "MQTT is off or the broker cannot be reached");
  router.add({Verb::post, commands, Access::admin, RateClass::normal,
              [&s](RequestContext& c) { return send_command(c, s, false); },
              "Send a command to a sensor's agent (MQTT, QoS 1)",
              route_doc("Sensors",
                        {json_answer(202, "Sent", schema_ref("CommandSent")), no_sensor, not_sent},
                        {sensor_id_path()}, schema_ref("CommandInput"))});
  router.add(
      {Verb::get, commands, Access::admin, RateClass::normal, bind(list_commands),
       "Commands sent to a sensor, newest first, with the agent's answers",
       route_doc("Sensors",
                 {json_answer(200, "The history", schema_ref("SensorCommandList")), no_sensor},
                 {sensor_id_path(),
                  query_param("limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}},
                              "Default 100")})});
  router.add({Verb::post, p + "/sensors/{sensor_id}/rules/update", Access::admin, RateClass::normal,
              [&s](RequestContext& c) { return send_command(c, s, true); },
              "Tell a sensor's agent to update its detection rules (MQTT, QoS 1)",
              route_doc("Sensors",
                        {json_answer(202, "Sent", schema_ref("CommandSent")), no_sensor, not_sent},
                        {sensor_id_path()}, schema_ref("RuleUpdateInput"))});
}

}  // namespace honeyman::api::detail
