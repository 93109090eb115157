// GET /threats/export (SPEC §7): every list filter, newest first, streamed page by page.
//
// The cut-off: Store::latest_threat_seq() when the export begins, passed as max_seq on every
// page, so rows stored meanwhile are left out and the keyset pages do not shift. Each page is
// fetched on the BlockingPool only when the server asks for the next chunk, i.e. once the
// previous one is in the socket: a slow reader holds one page in memory, not the export.
#include <algorithm>
#include <array>

#include "api/detail/export_formats.hpp"
#include "api/detail/openapi.hpp"
#include "api/detail/routes.hpp"
#include "api/detail/threat_query.hpp"

namespace honeyman::api::detail {
namespace {

// Export pages: large enough that a statement per page is cheap beside writing its rows, small
// enough that one page (a few MB of text) is all an export holds.
constexpr int kExportPageSize = store::kMaxExportPageSize;

// The list's paging and sort make no sense for an export (it is the whole selection, newest
// first): they are refused rather than silently ignored.
constexpr std::array<std::string_view, 5> kRefused = {"page", "page_size", "cursor", "sort_by",
                                                      "sort_order"};

Result<ExportFormat> parse_export_format(const boost::urls::params_view& params) {
  QueryReader q(params);
  for (auto name : kRefused)
    if (params.contains(name))
      q.fail(name, "Not accepted by the export (it is the whole selection, newest first)",
             "extra_forbidden");
  auto format = q.text("format");
  ExportFormat out = ExportFormat::csv;
  if (!format)
    q.fail("format", "Field required", "missing");
  else if (*format == "csv")
    out = ExportFormat::csv;
  else if (*format == "ndjson")
    out = ExportFormat::ndjson;
  else if (*format == "stix")
    out = ExportFormat::stix;
  else
    q.fail("format", "Input should be 'csv', 'ndjson' or 'stix'", "enum");
  if (auto done = q.finish(); !done) return done.error();
  return out;
}

struct Export {
  Services& services;
  store::ThreatQuery query;
  std::unique_ptr<ExportWriter> writer;
  // The page to write next. The first is fetched before the head, so its errors are answers.
  std::optional<store::ThreatPage> page;
  bool begun = false, done = false;
};

// Runs on the pool. The page stays in the state: a Result<ThreatPage> carried back through
// run_blocking's completion is copied, 5,000 threats each time (11% of a CSV export's CPU).
Status fetch(Export& e) {
  auto page = e.services.threats.query(e.query);
  if (!page) return page.error();
  e.page = std::move(*page);
  return {};
}

asio::awaitable<Status> next_chunk(std::shared_ptr<Export> e, std::string& chunk) {
  if (e->done) co_return Status{};  // chunk left empty: the end
  if (!e->begun) {
    e->begun = true;
    e->writer->begin(chunk);
  }
  if (!e->page) {
    auto fetched = co_await run_blocking(e->services.pool, [&] { return fetch(*e); });
    if (!fetched) co_return fetched.error();
  }
  e->writer->page(e->page->threats, chunk);
  if (e->page->next_cursor.empty()) {
    e->writer->end(chunk);
    e->done = true;
  } else {
    e->query.cursor = std::move(e->page->next_cursor);
  }
  e->page.reset();
  co_return Status{};
}

std::string_view file_extension(ExportFormat format) {
  switch (format) {
    case ExportFormat::csv:
      return "csv";
    case ExportFormat::ndjson:
      return "ndjson";
    case ExportFormat::stix:
      return "stix.json";
  }
  return "txt";
}

asio::awaitable<Response> export_threats(RequestContext& ctx, Services& s) {
  auto format = parse_export_format(ctx.query);
  auto query = parse_threat_query(ctx.query);
  if (!format || !query) {  // every problem in one answer, as the list reports them
    auto error = format ? query.error() : format.error();
    if (!format && !query)
      for (const auto& f : query.error().fields) error.fields.push_back(f);
    co_return http::error_response(error);
  }
  auto e = std::make_shared<Export>(
      Export{s, std::move(*query), make_export_writer(*format), {}, false, false});
  e->query.with_total = false;
  e->query.page_size = kExportPageSize;
  auto cutoff = co_await run_blocking(s.pool, [&] { return s.store.latest_threat_seq(); });
  if (!cutoff) co_return http::error_response(cutoff.error());
  e->query.max_seq = *cutoff;
  auto first = co_await run_blocking(s.pool, [&] { return fetch(*e); });
  if (!first) co_return http::error_response(first.error());
  Response res{http::StatusCode::ok, 11};
  res.set(boost::beast::http::field::content_type, media_type(*format));
  res.set(boost::beast::http::field::content_disposition,
          "attachment; filename=\"threats-" + std::to_string(*cutoff) + "." +
              std::string(file_extension(*format)) + "\"");
  res.set("X-Export-Max-Seq", std::to_string(*cutoff));
  ctx.body_stream = [e](std::string& chunk) { return next_chunk(e, chunk); };
  co_return res;
}

http::RouteDoc export_doc() {
  http::RouteDoc filters;
  add_threat_query_doc(filters, true);
  http::RouteDoc doc = route_doc(
      "Threats",
      {{200,
        "The threats, newest first, streamed (Transfer-Encoding: chunked). A body cut short (no "
        "final 0-length chunk; the connection reset) is a failed export.",
        "text/csv, application/x-ndjson, application/stix+json",
        {{"type", "string"}}}},
      {query_param("format", {{"type", "string"}, {"enum", {"csv", "ndjson", "stix"}}},
                   "csv (RFC 4180, header row), ndjson (one Threat per line) or stix (one STIX "
                   "2.1 bundle)",
                   false)});
  doc.params.back().required = true;
  for (auto& p : filters.params)
    if (std::find(kRefused.begin(), kRefused.end(), p.name) == kRefused.end())
      doc.params.push_back(std::move(p));
  doc.description =
      "Every filter of `GET /threats`; `page`, `page_size`, `cursor`, `sort_by` and `sort_order` "
      "are refused (422). Only threats stored before the export began are included (the "
      "cut-off, `X-Export-Max-Seq`). Formats and the CSV column order: docs/API.md.";
  return doc;
}

}  // namespace

void add_export_route(http::Router& router, Services& s) {
  router.add({http::Verb::get, s.config.prefix + "/threats/export", http::Access::analyst,
              http::RateClass::normal, [&s](RequestContext& c) { return export_threats(c, s); },
              "Export threats as CSV, NDJSON or a STIX 2.1 bundle (streamed)", export_doc()});
}

}  // namespace honeyman::api::detail
