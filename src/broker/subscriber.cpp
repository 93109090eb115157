#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "broker/detail/mosquitto.hpp"

namespace honeyman::broker {
namespace {

class MosquittoSubscriber final : public Subscriber {
 public:
  MosquittoSubscriber(BrokerConfig config, std::vector<std::string> filters, Handler handler)
      : config_(std::move(config)), filters_(std::move(filters)), handler_(std::move(handler)) {}
  ~MosquittoSubscriber() override { stop(); }

  Status start() {
    auto mosq = detail::new_client(config_, config_.client_id, false, config_.username,
                                   config_.password, this);
    if (!mosq) return mosq.error();
    mosq_ = std::move(*mosq);
    mosquitto_connect_callback_set(mosq_.get(), on_connect);
    mosquitto_disconnect_callback_set(mosq_.get(), on_disconnect);
    mosquitto_message_callback_set(mosq_.get(), on_message);
    mosquitto_reconnect_delay_set(mosq_.get(), 1, 30, true);
    // A refused first attempt is not fatal: the network thread keeps retrying with backoff.
    int rc = mosquitto_connect_async(mosq_.get(), config_.host.c_str(), config_.port, 30);
    if (rc != MOSQ_ERR_SUCCESS)
      spdlog::warn("mqtt: cannot reach {}:{} yet ({}); retrying in the background", config_.host,
                   config_.port, detail::error_text(rc));
    rc = mosquitto_loop_start(mosq_.get());
    if (rc != MOSQ_ERR_SUCCESS)
      return make_error(Errc::internal, "cannot start the MQTT thread: " + detail::error_text(rc));
    running_ = true;
    return {};
  }

  void stop() override {
    std::lock_guard lock(stop_mutex_);
    if (!running_) return;
    stopping_ = true;
    mosquitto_disconnect(mosq_.get());
    mosquitto_loop_stop(mosq_.get(), false);
    running_ = false;
  }

  bool connected() const override { return connected_; }

 private:
  static MosquittoSubscriber& self(void* p) { return *static_cast<MosquittoSubscriber*>(p); }

  static void on_connect(mosquitto* m, void* p, int rc) {
    auto& s = self(p);
    if (rc != 0) {
      spdlog::error("mqtt: broker refused the server's login as '{}': {}", s.config_.username,
                    detail::connack_text(rc));
      return;
    }
    s.connected_ = true;
    spdlog::info("mqtt: connected to {}:{} as '{}' (client id {})", s.config_.host, s.config_.port,
                 s.config_.username, s.config_.client_id);
    for (const auto& f : s.filters_) {
      int sub = mosquitto_subscribe(m, nullptr, f.c_str(), 1);
      if (sub != MOSQ_ERR_SUCCESS)
        spdlog::error("mqtt: cannot subscribe to {}: {}", f, detail::error_text(sub));
    }
  }

  static void on_disconnect(mosquitto*, void* p, int rc) {
    auto& s = self(p);
    s.connected_ = false;
    if (!s.stopping_)
      spdlog::warn("mqtt: disconnected from the broker ({}); reconnecting with backoff",
                   detail::error_text(rc));
  }

  static void on_message(mosquitto*, void* p, const mosquitto_message* m) {
    auto& s = self(p);
    std::string_view payload(static_cast<const char*>(m->payload),
                             static_cast<std::size_t>(m->payloadlen));
    s.handler_(m->topic, payload);
  }

  BrokerConfig config_;
  std::vector<std::string> filters_;
  Handler handler_;
  detail::MosquittoHandle mosq_;
  std::mutex stop_mutex_;
  bool running_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> connected_{false};
};

}  // namespace

Result<std::unique_ptr<Subscriber>> start_subscriber(const BrokerConfig& config,
                                                     std::vector<std::string> filters,
                                                     Subscriber::Handler handler) {
  if (!config.enabled()) return make_error(Errc::invalid_input, "MQTT_BROKER_HOST is not set");
  if (config.client_id.empty()) return make_error(Errc::invalid_input, "MQTT client id is empty");
  auto s = std::make_unique<MosquittoSubscriber>(config, std::move(filters), std::move(handler));
  if (auto ok = s->start(); !ok) return ok.error();
  return std::unique_ptr<Subscriber>(std::move(s));
}

}  // namespace honeyman::broker
