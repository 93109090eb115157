#include "http/detail/rate_share.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

namespace honeyman::http {
namespace json = boost::json;
namespace asio = boost::asio;

namespace detail {

std::string encode_rate_usage(std::string_view instance, const std::vector<RateUsage>& usage) {
  json::array entries;
  entries.reserve(usage.size());
  for (const auto& u : usage) entries.push_back(json::array{u.key, u.per_minute, u.count});
  json::object data{{"instance", instance}, {"usage", std::move(entries)}};
  return to_json_text(json::object{{"type", "rate_usage"}, {"data", std::move(data)}});
}

namespace {

bool in_bounds(std::int64_t n) {
  return n >= 1 && n <= kMaxSharedLimit;
}

// One [key, per_minute, count] entry, or nothing when it is malformed or out of bounds.
std::optional<RateUsage> usage_entry(const json::value& v) {
  const auto* a = v.if_array();
  if (!a || a->size() != 3 || !(*a)[0].is_string() || !(*a)[1].is_int64() || !(*a)[2].is_int64())
    return std::nullopt;
  const auto& key = (*a)[0].get_string();
  auto per_minute = (*a)[1].get_int64(), count = (*a)[2].get_int64();
  if (key.empty() || key.size() > kMaxSharedKeyBytes || !in_bounds(per_minute) || !in_bounds(count))
    return std::nullopt;
  return RateUsage{std::string(key), static_cast<int>(per_minute), static_cast<int>(count)};
}

}  // namespace

std::vector<RateUsage> decode_rate_usage(std::string_view frame, std::string_view self) {
  std::vector<RateUsage> out;
  boost::system::error_code ec;
  auto v = json::parse(frame, ec);
  if (ec || !v.is_object()) return out;
  const auto* type = v.as_object().if_contains("type");
  const auto* data = v.as_object().if_contains("data");
  if (!type || !type->is_string() || type->get_string() != "rate_usage") return out;
  if (!data || !data->is_object()) return out;
  const auto* instance = data->as_object().if_contains("instance");
  const auto* usage = data->as_object().if_contains("usage");
  if (!instance || !instance->is_string() || instance->get_string() == self) return out;
  if (!usage || !usage->is_array()) return out;
  for (const auto& e : usage->get_array())
    if (auto u = usage_entry(e)) out.push_back(std::move(*u));
  return out;
}

}  // namespace detail

struct RateLimitSharing::Impl {
  Server& server;
  Send send;
  std::chrono::milliseconds period;
  std::string instance = uuid_v4();
  asio::steady_timer timer;

  Impl(Server& s, asio::io_context& io, Send f, std::chrono::milliseconds p)
      : server(s), send(std::move(f)), period(p), timer(io) {}

  void exchange() {
    auto usage = server.take_rate_usage();
    if (!usage.empty()) send(detail::encode_rate_usage(instance, usage));
  }

  // Holds the Impl alive while it waits; ends when the timer is cancelled.
  static asio::awaitable<void> loop(std::shared_ptr<Impl> self) {
    for (;;) {
      self->timer.expires_after(self->period);
      auto [ec] = co_await self->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      self->exchange();
    }
  }
};

RateLimitSharing::RateLimitSharing(Server& server, asio::io_context& io, Send send,
                                   std::chrono::milliseconds period)
    : impl_(std::make_shared<Impl>(server, io, std::move(send), period)) {}

RateLimitSharing::~RateLimitSharing() {
  stop();
}

void RateLimitSharing::start() {
  impl_->server.track_rate_usage();
  asio::co_spawn(impl_->timer.get_executor(), Impl::loop(impl_), asio::detached);
}

void RateLimitSharing::exchange() {
  impl_->exchange();
}

void RateLimitSharing::receive(std::string_view message) {
  auto usage = detail::decode_rate_usage(message, impl_->instance);
  if (usage.empty()) return;
  int requests = 0;
  for (const auto& u : usage) requests += u.count;
  // At debug level: what an operator checks when limits seem not to hold across instances (and
  // what the cluster test waits for instead of guessing how long an exchange takes).
  spdlog::debug("rate limits: charged {} requests under {} keys from another instance", requests,
                usage.size());
  impl_->server.add_rate_usage(usage);
}

void RateLimitSharing::stop() {
  // The timer belongs to the io_context's threads.
  asio::post(impl_->timer.get_executor(), [impl = impl_] { impl->timer.cancel(); });
}

}  // namespace honeyman::http
