#include <atomic>
#include <condition_variable>
#include <mutex>

#include "broker/detail/mosquitto.hpp"

namespace honeyman::broker {
namespace {

class MosquittoPublisher final : public Publisher {
 public:
  ~MosquittoPublisher() override { stop(); }

  Status connect(const BrokerConfig& config, const std::string& client_id,
                 const std::string& username, const std::string& password) {
    auto mosq = detail::new_client(config, client_id, true, username, password, this);
    if (!mosq) return mosq.error();
    mosq_ = std::move(*mosq);
    mosquitto_connect_callback_set(mosq_.get(), [](mosquitto*, void* p, int rc) {
      auto& self = *static_cast<MosquittoPublisher*>(p);
      std::lock_guard lock(self.mutex_);
      self.connack_ = rc;
      self.connected_ = rc == 0;
      self.changed_.notify_all();
    });
    mosquitto_disconnect_callback_set(mosq_.get(), [](mosquitto*, void* p, int) {
      static_cast<MosquittoPublisher*>(p)->connected_ = false;
    });
    mosquitto_publish_callback_set(mosq_.get(), [](mosquitto*, void* p, int) {
      static_cast<MosquittoPublisher*>(p)->acked_.fetch_add(1, std::memory_order_relaxed);
    });
    mosquitto_reconnect_delay_set(mosq_.get(), 1, 30, true);
    mosquitto_max_inflight_messages_set(mosq_.get(), 1000);
    int rc = mosquitto_connect(mosq_.get(), config.host.c_str(), config.port, 30);
    if (rc != MOSQ_ERR_SUCCESS)
      return make_error(Errc::unavailable, "cannot reach the broker: " + detail::error_text(rc));
    mosquitto_loop_start(mosq_.get());
    running_ = true;
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, config.timeout, [&] { return connack_ >= 0; }))
      return make_error(Errc::unavailable, "the broker did not answer the login");
    if (connack_ != 0)
      return make_error(Errc::unauthorized,
                        "the broker refused the login: " + detail::connack_text(connack_));
    return {};
  }

  bool publish(const std::string& topic, std::string_view payload, int qos) override {
    int rc = mosquitto_publish(mosq_.get(), nullptr, topic.c_str(),
                               static_cast<int>(payload.size()), payload.data(), qos, false);
    return rc == MOSQ_ERR_SUCCESS || (qos > 0 && rc == MOSQ_ERR_NO_CONN);
  }
  std::uint64_t acknowledged() const override { return acked_.load(std::memory_order_relaxed); }
  bool connected() const override { return connected_; }
  void stop() override {
    if (!running_.exchange(false)) return;
    mosquitto_disconnect(mosq_.get());
    mosquitto_loop_stop(mosq_.get(), false);
  }

 private:
  detail::MosquittoHandle mosq_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int connack_ = -1;
  std::atomic<bool> connected_{false}, running_{false};
  std::atomic<std::uint64_t> acked_{0};
};

}  // namespace

Result<std::unique_ptr<Publisher>> connect_publisher(const BrokerConfig& config,
                                                     const std::string& client_id,
                                                     const std::string& username,
                                                     const std::string& password) {
  auto p = std::make_unique<MosquittoPublisher>();
  if (auto ok = p->connect(config, client_id, username, password); !ok) return ok.error();
  return std::unique_ptr<Publisher>(std::move(p));
}

}  // namespace honeyman::broker
