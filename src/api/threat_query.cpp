#include "api/detail/threat_query.hpp"

#include <boost/json/monotonic_resource.hpp>

namespace honeyman::api::detail {

Result<store::ThreatQuery> parse_threat_query(const boost::urls::params_view& params) {
  QueryReader q(params);
  store::ThreatQuery query;
  query.sensor_ids = q.list("sensor_id");
  for (const auto& id : query.sensor_ids)
    if (!domain::is_valid_sensor_id(id))
      q.fail("sensor_id", "Sensor ids are 1-64 characters of A-Z a-z 0-9 . _ -",
             "string_pattern_mismatch");
  query.detector_types = q.list("detector_type");
  for (auto& d : query.detector_types)
    for (auto& c : d) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  query.threat_types = q.list("threat_type");
  for (const auto& name : q.list("severity")) {
    auto severity = domain::parse_severity(name);
    if (!severity)
      q.fail("severity", "Input should be 'critical', 'high', 'medium', 'low' or 'info'", "enum");
    else
      query.severities.push_back(*severity);
  }
  query.start_time = q.timestamp("start_time");
  query.end_time = q.timestamp("end_time");
  if (query.start_time && query.end_time && *query.start_time > *query.end_time)
    q.fail("end_time", "end_time must not be before start_time", "value_error");
  query.is_acknowledged = q.boolean("is_acknowledged");
  for (const auto& name : q.list("status")) {
    auto status = domain::parse_threat_status(name);
    if (!status)
      q.fail("status",
             "Input should be 'new', 'acknowledged', 'investigating', 'resolved' or "
             "'false_positive'",
             "enum");
    else
      query.statuses.push_back(*status);
  }
  if (auto assignee = q.text("assignee")) {
    if (!assignee->empty() && !domain::is_valid_username(*assignee))
      q.fail("assignee", "Usernames are 1-64 characters of A-Z a-z 0-9 . _ @ -",
             "string_pattern_mismatch");
    query.assignee = std::move(*assignee);
  }
  query.page = q.integer("page", 1, 1, 1'000'000);
  query.page_size = q.integer("page_size", 50, 1, 1000);
  if (auto sort = q.text("sort_by")) {
    auto parsed = store::parse_threat_sort(*sort);
    if (!parsed)
      q.fail("sort_by",
             "Input should be 'timestamp', 'severity', 'threat_score', 'threat_type', "
             "'sensor_id', 'detector_type' or 'created_at'",
             "enum");
    else
      query.sort_by = *parsed;
  }
  if (auto order = q.text("sort_order")) {
    if (*order != "asc" && *order != "desc")
      q.fail("sort_order", "Input should be 'asc' or 'desc'", "enum");
    query.descending = *order != "asc";
  }
  query.cursor = q.text("cursor").value_or("");
  if (query.cursor.size() > 512) q.fail("cursor", "Invalid cursor", "value_error");
  // An offset costs the rows it skips (1.4 s at page 999 of 1,000 by threat_score over 1 M
  // rows); a cursor costs one page at any depth.
  if (query.cursor.empty() &&
      static_cast<std::int64_t>(query.page) * query.page_size > kMaxOffsetPagingDepth)
    q.fail("page",
           "page * page_size may not exceed " + std::to_string(kMaxOffsetPagingDepth) +
               "; to page deeper, use cursor (pass each answer's next_cursor)",
           "value_error");
  if (auto done = q.finish(); !done) return done.error();
  return query;
}

namespace {

Response page_response(const store::ThreatPage& page, const store::ThreatQuery& query) {
  // The page's JSON comes from one arena and goes with the answer: a page of 50 threats is
  // ~2,000 small allocations otherwise, which measured as the largest cost of this route.
  json::monotonic_resource arena(64 * 1024);
  json::storage_ptr storage(&arena);
  json::array threats(storage);
  threats.reserve(page.threats.size());
  for (const auto& t : page.threats) threats.push_back(domain::to_json(t, storage));
  json::object body(storage);
  body["threats"] = std::move(threats);
  body["total"] = page.total;
  body["total_is_exact"] = page.total_is_exact;
  body["page"] = query.page;
  body["page_size"] = query.page_size;
  body["next_cursor"] =
      page.next_cursor.empty() ? json::value(nullptr) : json::value(page.next_cursor);
  return ok(json::value(std::move(body)));
}

}  // namespace

// `sensor_id` by value: the coroutine starts after its caller returned (the /threats route passes
// a temporary), so a reference parameter would dangle.
asio::awaitable<Response> query_threats_response(RequestContext& ctx, Services& s,
                                                 std::string sensor_id) {
  auto query = parse_threat_query(ctx.query);
  if (!query) co_return http::error_response(query.error());
  if (!sensor_id.empty()) query->sensor_ids = {sensor_id};
  auto page = co_await run_blocking(s.pool, [&] { return s.threats.query(*query); });
  if (!page) co_return http::error_response(page.error());
  co_return page_response(*page, *query);
}

}  // namespace honeyman::api::detail
