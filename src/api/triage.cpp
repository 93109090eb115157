// The SOC workflow on threats (SPEC §7): status and assignee changes with their history, bulk
// changes, and the audit log's read route.
#include <boost/url/url.hpp>

#include "api/detail/common.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/request_bodies.hpp"
#include "api/detail/routes.hpp"
#include "api/detail/threat_query.hpp"

namespace honeyman::api::detail {

namespace {

constexpr std::size_t kMaxNote = 4096;

// A nullable username member: absent → nullopt; null → {nullopt}; a valid name → {name}.
std::optional<std::optional<std::string>> assignee_member(const json::object& body,
                                                          std::vector<FieldError>& errors,
                                                          std::vector<std::string> loc) {
  auto it = body.find("assignee");
  if (it == body.end()) return std::nullopt;
  if (it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string() || !domain::is_valid_username(it->value().get_string())) {
    errors.push_back({std::move(loc), "Input should be a username or null", "value_error"});
    return std::nullopt;
  }
  return std::optional<std::string>(std::string(it->value().get_string()));
}

std::optional<domain::ThreatStatus> status_member(const json::object& body,
                                                  std::vector<FieldError>& errors,
                                                  std::vector<std::string> loc) {
  auto it = body.find("status");
  if (it == body.end()) return std::nullopt;
  auto status = it->value().is_string() ? domain::parse_threat_status(it->value().get_string())
                                        : std::nullopt;
  if (!status)
    errors.push_back({std::move(loc),
                      "Input should be 'new', 'acknowledged', 'investigating', 'resolved' or "
                      "'false_positive'",
                      "enum"});
  return status;
}

// The bulk filter as the list's query string, so that one parser (parse_threat_query) applies
// the same rules to both. Errors are relocated from {"query", k} to {"body", "filter", k}.
Result<store::ThreatQuery> parse_filter_object(const json::object& filter) {
  static constexpr std::string_view kKeys[] = {"sensor_id",  "detector_type", "threat_type",
                                               "severity",   "status",        "assignee",
                                               "start_time", "end_time",      "is_acknowledged"};
  std::vector<FieldError> errors;
  boost::urls::url url;
  for (const auto& member : filter) {
    const std::string_view key = member.key();
    const json::value& value = member.value();
    std::vector<std::string> loc{"body", "filter", std::string(key)};
    if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys)) {
      errors.push_back({std::move(loc), "Extra inputs are not permitted", "extra_forbidden"});
      continue;
    }
    auto add = [&](const json::value& v) {
      if (v.is_string())
        url.params().append({key, v.get_string()});
      else if (v.is_bool())
        url.params().append({key, v.get_bool() ? "true" : "false"});
      else
        errors.push_back({loc, "Input should be a string, or a list of strings", "type_error"});
    };
    if (value.is_array()) {
      if (value.get_array().size() > 1000)
        errors.push_back({loc, "At most 1000 values", "too_long"});
      else
        for (const auto& v : value.get_array()) add(v);
    } else {
      add(value);
    }
  }
  if (!errors.empty()) return validation_error(std::move(errors));
  auto query = parse_threat_query(url.params());
  if (!query) {
    auto e = query.error();
    for (auto& f : e.fields)
      if (!f.loc.empty() && f.loc.front() == "query") {
        f.loc.front() = "filter";
        f.loc.insert(f.loc.begin(), "body");
      }
    return e;
  }
  return query;
}

}  // namespace

Result<store::ThreatChange> parse_threat_change(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"status", "assignee", "note"}, errors);
  store::ThreatChange change;
  change.status = status_member(body, errors, {"body", "status"});
  change.assignee = assignee_member(body, errors, {"body", "assignee"});
  change.note = string_member(body, "note", errors, false, kMaxNote);
  if (errors.empty() && change.empty() && !change.note)
    errors.push_back({{"body"}, "give at least one of status, assignee and note", "value_error"});
  if (!errors.empty()) return validation_error(std::move(errors));
  return change;
}

Result<BulkRequest> parse_bulk_request(const json::object& body) {
  std::vector<FieldError> errors;
  refuse_unknown_keys(body, {"ids", "filter", "set", "note"}, errors);
  BulkRequest out;
  if (auto* ids = body.if_contains("ids")) {
    if (!ids->is_array() || ids->get_array().empty()) {
      errors.push_back({{"body", "ids"}, "Input should be a non-empty list of ids", "list_type"});
    } else if (ids->get_array().size() > service::ThreatService::kMaxBulkIds) {
      errors.push_back({{"body", "ids"},
                        "List should have at most " +
                            std::to_string(service::ThreatService::kMaxBulkIds) + " items",
                        "too_long"});
    } else {
      std::size_t i = 0;
      for (const auto& v : ids->get_array()) {
        auto id = v.is_string() ? normalize_uuid(v.get_string()) : std::nullopt;
        if (!id)
          errors.push_back(
              {{"body", "ids", std::to_string(i)}, "Input should be a valid UUID", "uuid_parsing"});
        else
          out.selection.ids.push_back(std::move(*id));
        ++i;
      }
    }
  }
  if (auto* filter = body.if_contains("filter")) {
    if (!filter->is_object()) {
      errors.push_back({{"body", "filter"}, "Input should be a valid dictionary", "dict_type"});
    } else {
      auto query = parse_filter_object(filter->get_object());
      if (!query)
        for (auto& f : query.error().fields) errors.push_back(std::move(f));
      else
        out.selection.filter = std::move(*query);
    }
  }
  if (body.contains("ids") == body.contains("filter"))
    errors.push_back({{"body"}, "give either ids or filter", "value_error"});
  auto* set = body.if_contains("set");
  if (!set) {
    errors.push_back({{"body", "set"}, "Field required", "missing"});
  } else if (!set->is_object()) {
    errors.push_back({{"body", "set"}, "Input should be a valid dictionary", "dict_type"});
  } else {
    const auto& s = set->get_object();
    for (const auto& member : s)
      if (member.key() != "status" && member.key() != "assignee")
        errors.push_back({{"body", "set", std::string(member.key())},
                          "Extra inputs are not permitted",
                          "extra_forbidden"});
    out.change.status = status_member(s, errors, {"body", "set", "status"});
    out.change.assignee = assignee_member(s, errors, {"body", "set", "assignee"});
    if (s.empty())
      errors.push_back(
          {{"body", "set"}, "give at least one of status and assignee", "value_error"});
  }
  out.change.note = string_member(body, "note", errors, false, kMaxNote);
  if (!errors.empty()) return validation_error(std::move(errors));
  return out;
}

namespace {

json::value or_null(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

asio::awaitable<Response> update_threat(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "threat_id");
  if (!id) co_return http::error_response(id.error());
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto change = parse_threat_change(*body);
  if (!change) co_return http::error_response(change.error());
  auto by = actor_of(ctx);
  auto threat = co_await run_blocking(s.pool, [&] { return s.threats.update(*id, *change, by); });
  if (!threat) co_return http::error_response(threat.error());
  publish_threat_update(s, *threat, by.name);
  co_return ok(domain::to_json(*threat));
}

asio::awaitable<Response> threat_history(RequestContext& ctx, Services& s) {
  auto id = uuid_param(ctx, "threat_id");
  if (!id) co_return http::error_response(id.error());
  auto history = co_await run_blocking(s.pool, [&] { return s.threats.history(*id); });
  if (!history) co_return http::error_response(history.error());
  json::array out;
  out.reserve(history->size());
  for (const auto& h : *history)
    out.push_back(json::object{{"at", format_timestamp(h.at)},
                               {"actor", h.actor},
                               {"changes", h.changes},
                               {"note", or_null(h.note)}});
  co_return ok(out);
}

asio::awaitable<Response> bulk_update(RequestContext& ctx, Services& s) {
  auto body = body_object(ctx);
  if (!body) co_return http::error_response(body.error());
  auto request = parse_bulk_request(*body);
  if (!request) co_return http::error_response(request.error());
  auto by = actor_of(ctx);
  auto outcome = co_await run_blocking(
      s.pool, [&] { return s.threats.bulk_update(request->selection, request->change, by); });
  if (!outcome) co_return http::error_response(outcome.error());
  if (outcome->changed > 0 && s.bus) {
    json::object summary{{"matched", outcome->matched}, {"changed", outcome->changed}};
    if (request->change.status) summary["status"] = domain::to_string(*request->change.status);
    if (request->change.assignee) summary["assignee"] = or_null(*request->change.assignee);
    s.bus->publish({bus::bulk_update_event(std::move(summary), by.name, s.clock.now())});
  }
  co_return ok(json::object{{"matched", outcome->matched}, {"changed", outcome->changed}});
}

// GET /audit: newest first, keyset paging.
asio::awaitable<Response> list_audit(RequestContext& ctx, Services& s) {
  QueryReader q(ctx.query);
  store::AuditQuery query;
  for (auto [name, field] : {std::pair{"actor", &query.actor},
                             {"action", &query.action},
                             {"target_type", &query.target_type},
                             {"target_id", &query.target_id}}) {
    *field = q.text(name);
    if (*field && field->value().size() > 256)
      q.fail(name, "String should have at most 256 characters", "string_too_long");
  }
  query.start_time = q.timestamp("start_time");
  query.end_time = q.timestamp("end_time");
  query.cursor = q.text("cursor").value_or("");
  if (query.cursor.size() > 64) q.fail("cursor", "Invalid cursor", "value_error");
  query.page_size = q.integer("page_size", 50, 1, 1000);
  if (auto done = q.finish(); !done) co_return http::error_response(done.error());
  auto page = co_await run_blocking(s.pool, [&] { return s.store.query_audit(query); });
  if (!page) co_return http::error_response(page.error());
  json::array entries;
  entries.reserve(page->entries.size());
  for (const auto& e : page->entries)
    entries.push_back(json::object{
        {"id", e.id},
        {"at", format_timestamp(e.at)},
        {"actor", e.actor},
        {"actor_role", e.actor_role},
        {"client_addr", e.client_addr.empty() ? json::value(nullptr) : json::value(e.client_addr)},
        {"action", e.action},
        {"target_type", e.target_type},
        {"target_id", e.target_id.empty() ? json::value(nullptr) : json::value(e.target_id)},
        {"details", e.details}});
  co_return ok(
      json::object{{"entries", std::move(entries)},
                   {"next_cursor", page->next_cursor.empty() ? json::value(nullptr)
                                                             : json::value(page->next_cursor)}});
}

}  // namespace

void add_triage_routes(http::Router& router, Services& s) {
  using http::Access;
  using http::RateClass;
  using http::Verb;
  auto bind = [&s](auto fn) { return [&s, fn](RequestContext& c) { return fn(c, s); }; };
  const auto one = s.config.prefix + "/threats/{threat_id}";
  auto threat_id =
      path_param("threat_id", {{"type", "string"}, {"format", "uuid"}}, "The threat's id");
  auto no_threat = error_answer(404, "No such threat");

  auto patch_doc = route_doc(
      "Threats", {json_answer(200, "The threat as changed", schema_ref("Threat")), no_threat},
      {threat_id}, schema_ref("ThreatUpdate"));
  patch_doc.description =
      "Status, assignee (an active user; null unassigns) and a note. Every change is appended to "
      "the threat's history and the audit log in the same transaction, and announced on the "
      "WebSocket as `threat_update`.";
  router.add({Verb::patch, one, Access::analyst, RateClass::normal, bind(update_threat),
              "Triage a threat: status, assignee, note", patch_doc});
  router.add(
      {Verb::get, one + "/history", Access::viewer, RateClass::normal, bind(threat_history),
       "A threat's triage history, oldest first",
       route_doc("Threats",
                 {json_answer(200, "The history", array_of(schema_ref("HistoryEntry"))), no_threat},
                 {threat_id})});
  auto bulk_doc = route_doc(
      "Threats",
      {json_answer(200, "How many matched and how many changed", schema_ref("BulkResult"))}, {},
      schema_ref("BulkThreatUpdate"));
  bulk_doc.description =
      "By ids (at most 10,000) or by the list's filters (at most BULK_MAX_ROWS matches, else "
      "422 and nothing changes), in one transaction. One `threat_update` event with `bulk: true` "
      "goes out on the WebSocket.";
  router.add({Verb::post, s.config.prefix + "/threats/bulk", Access::analyst, RateClass::normal,
              bind(bulk_update), "Change many threats' status or assignee at once", bulk_doc});

  auto text = [](std::string name, std::string what) {
    return query_param(std::move(name), {{"type", "string"}}, std::move(what));
  };
  auto audit_doc = route_doc(
      "Audit", {json_answer(200, "Newest first", schema_ref("AuditList"))},
      {text("actor", "Username (or cli:<user>, a sensor id)"),
       text("action", "e.g. threat.update, user.delete, auth.login_failed"),
       text("target_type", "threat, user, sensor, onboarding_token, session"),
       text("target_id", "The target's id"),
       query_param("start_time", {{"type", "string"}, {"format", "date-time"}}, "Inclusive"),
       query_param("end_time", {{"type", "string"}, {"format", "date-time"}}, "Exclusive"),
       text("cursor", "next_cursor of the previous page"),
       query_param("page_size", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}},
                   "Default 50")});
  router.add({Verb::get, s.config.prefix + "/audit", Access::admin, RateClass::normal,
              bind(list_audit), "The audit log: who changed what", audit_doc});
}

}  // namespace honeyman::api::detail
