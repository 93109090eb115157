#include "support/mosquitto.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/process.hpp"

namespace honeyman::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

ProcessResult run(const std::vector<std::string>& argv, const std::string& scratch) {
  std::error_code ec;
  fs::remove(scratch, ec);
  SpawnOptions options;
  options.stdout_path = scratch;
  pid_t pid = spawn(argv, options);
  ProcessResult r;
  r.exit_code = wait_exit(pid, std::chrono::seconds(30));
  r.out = read_file(scratch);
  return r;
}

std::string dynsec_plugin() {
  for (const char* p : {"/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
                        "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
                        "/usr/lib/mosquitto_dynamic_security.so"})
    if (fs::exists(p)) return p;
  return {};
}

}  // namespace

MosquittoProcess::MosquittoProcess() : admin_password_(random_text(24)), port_(free_port()) {
  std::string pattern = (fs::temp_directory_path() / "honeyman-mosquitto-XXXXXX").string();
  dir_ = mkdtemp(pattern.data()) ? pattern : std::string();
  auto plugin = dynsec_plugin();
  if (plugin.empty()) {
    ADD_FAILURE() << "mosquitto_dynamic_security.so not found: install the `mosquitto` package "
                     "(scripts/install-deps --test)";
    return;
  }
  auto init =
      run({"mosquitto_ctrl", "dynsec", "init", dir_ + "/dynsec.json", admin_user_, admin_password_},
          dir_ + "/ctrl.out");
  if (init.exit_code != 0)
    ADD_FAILURE() << "mosquitto_ctrl dynsec init failed (is mosquitto-clients installed?): "
                  << init.out;
  write_config();
}

void MosquittoProcess::write_config() const {
  auto plugin = dynsec_plugin();
  std::ofstream conf(dir_ + "/mosquitto.conf");
  conf << "listener " << port_ << " 127.0.0.1\n"
       << "allow_anonymous false\n"
       << "plugin " << plugin << "\n"
       << "plugin_opt_config_file " << dir_ << "/dynsec.json\n"
       << "persistence true\n"
       << "persistence_location " << dir_ << "/\n"
       << "autosave_interval 1\n"
       << "max_queued_messages 0\n"
       << "max_queued_bytes 1073741824\n"
       << "log_dest stderr\n"
       << "log_type error\nlog_type warning\nlog_type notice\n";
  // As root Mosquitto would switch to user `mosquitto`, which cannot write this directory.
  if (geteuid() == 0) conf << "user root\n";
}

MosquittoProcess::~MosquittoProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(5));
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

void MosquittoProcess::start() {
  SpawnOptions options;
  options.stdout_path = dir_ + "/mosquitto.log";
  options.append = true;  // a restart keeps the earlier log
  pid_ = spawn({"mosquitto", "-c", dir_ + "/mosquitto.conf"}, options);
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    if (port_accepts(port_)) {
      started_once_ = true;
      return;
    }
    if (!running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // Nothing has been told this port before the first start, so a port somebody else took in the
  // meantime is replaced rather than failing the test.
  if (!started_once_ && log().find("Address already in use") != std::string::npos) {
    started_once_ = true;
    port_ = free_port();
    write_config();
    start();
    return;
  }
  FAIL() << "mosquitto did not start on port " << port_ << "; log:\n" << log();
}

void MosquittoProcess::stop(int signal) {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  if (wait_exit(pid_, std::chrono::seconds(15)) == -1) {
    kill(pid_, SIGKILL);
    wait_exit(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
}

bool MosquittoProcess::running() const {
  return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0;
}

std::string MosquittoProcess::log() const {
  return read_file(dir_ + "/mosquitto.log");
}

ProcessResult MosquittoProcess::ctrl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"mosquitto_ctrl",      "-h", "127.0.0.1", "-p",
                                   std::to_string(port_), "-u", admin_user_, "-P",
                                   admin_password_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, dir_ + "/ctrl.out");
}

std::map<std::string, std::string> MosquittoProcess::server_env() const {
  return {{"MQTT_BROKER_HOST", "127.0.0.1"},
          {"MQTT_BROKER_PORT", std::to_string(port_)},
          {"MQTT_ADMIN_USERNAME", admin_user_},
          {"MQTT_ADMIN_PASSWORD", admin_password_},
          {"MQTT_BROKER_USERNAME", "honeyman-server"},
          {"MQTT_BROKER_PASSWORD", "server-" + admin_password_}};
}

// ---------------------------------------------------------------------------------------------
struct MqttClient::Impl {
  mosquitto* mosq = nullptr;
  mutable std::mutex mutex;
  std::condition_variable changed;
  int connack = -2;  // -2: waiting
  bool is_connected = false;
  std::set<int> pending;  // QoS 1 message ids not yet acknowledged
  std::set<int> early;    // acknowledged before publish_nowait recorded them
  std::uint64_t acked = 0;
  std::set<int> subscribed;
  std::map<int, int> granted;  // message id -> the SUBACK's first code
  std::deque<MqttMessage> inbox;
  bool loop_started = false;

  static Impl& self(void* p) { return *static_cast<Impl*>(p); }
  static void on_connect(mosquitto*, void* p, int rc) {
    auto& s = self(p);
    std::lock_guard lock(s.mutex);
    s.connack = rc;
    s.is_connected = rc == 0;
    s.changed.notify_all();
  }
  static void on_disconnect(mosquitto*, void* p, int) {
    auto& s = self(p);
    std::lock_guard lock(s.mutex);
    s.is_connected = false;
    s.changed.notify_all();
  }
  static void on_publish(mosquitto*, void* p, int mid) {
    auto& s = self(p);
    std::lock_guard lock(s.mutex);
    if (s.pending.erase(mid))
      ++s.acked;
    else
      s.early.insert(mid);
    s.changed.notify_all();
  }
  static void on_subscribe(mosquitto*, void* p, int mid, int count, const int* codes) {
    auto& s = self(p);
    std::lock_guard lock(s.mutex);
    s.subscribed.insert(mid);
    if (count > 0) s.granted[mid] = codes[0];
    s.changed.notify_all();
  }
  static void on_message(mosquitto*, void* p, const mosquitto_message* m) {
    auto& s = self(p);
    std::lock_guard lock(s.mutex);
    s.inbox.push_back({m->topic, std::string(static_cast<const char*>(m->payload),
                                             static_cast<std::size_t>(m->payloadlen))});
    s.changed.notify_all();
  }
};

MqttClient::MqttClient(std::string client_id, bool clean_session)
    : impl_(std::make_unique<Impl>()) {
  static std::once_flag init;
  std::call_once(init, [] { mosquitto_lib_init(); });
  impl_->mosq = mosquitto_new(client_id.c_str(), clean_session, impl_.get());
  mosquitto_connect_callback_set(impl_->mosq, Impl::on_connect);
  mosquitto_disconnect_callback_set(impl_->mosq, Impl::on_disconnect);
  mosquitto_publish_callback_set(impl_->mosq, Impl::on_publish);
  mosquitto_subscribe_callback_set(impl_->mosq, Impl::on_subscribe);
  mosquitto_message_callback_set(impl_->mosq, Impl::on_message);
  mosquitto_reconnect_delay_set(impl_->mosq, 1, 2, false);
  mosquitto_max_inflight_messages_set(impl_->mosq, 0);  // unlimited, for load tests
}

MqttClient::~MqttClient() {
  disconnect();
  mosquitto_destroy(impl_->mosq);
}

int MqttClient::connect(std::uint16_t port, const std::string& username,
                        const std::string& password) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->connack = -2;
  }
  mosquitto_username_pw_set(impl_->mosq, username.c_str(), password.c_str());
  if (mosquitto_connect(impl_->mosq, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) return -1;
  if (!impl_->loop_started) {
    mosquitto_loop_start(impl_->mosq);
    impl_->loop_started = true;
  }
  std::unique_lock lock(impl_->mutex);
  if (!impl_->changed.wait_for(lock, std::chrono::seconds(10),
                               [&] { return impl_->connack != -2; }))
    return -1;
  int code = impl_->connack;
  if (code != 0) {
    lock.unlock();
    disconnect();  // otherwise the network thread keeps retrying a refused login
  }
  return code;
}

void MqttClient::disconnect() {
  if (!impl_->loop_started) return;
  mosquitto_disconnect(impl_->mosq);
  mosquitto_loop_stop(impl_->mosq, false);
  impl_->loop_started = false;
}

bool MqttClient::connected() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->is_connected;
}

bool MqttClient::publish_nowait(const std::string& topic, const std::string& payload, int qos) {
  int mid = 0;
  int rc = mosquitto_publish(impl_->mosq, &mid, topic.c_str(), static_cast<int>(payload.size()),
                             payload.data(), qos, false);
  // MOSQ_ERR_NO_CONN: queued, sent after the automatic reconnect (broker restart tests).
  if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) return false;
  if (qos == 0) return true;
  std::lock_guard lock(impl_->mutex);
  if (impl_->early.erase(mid))
    ++impl_->acked;
  else
    impl_->pending.insert(mid);
  return true;
}

bool MqttClient::publish(const std::string& topic, const std::string& payload, int qos,
                         std::chrono::milliseconds timeout) {
  if (!publish_nowait(topic, payload, qos)) return false;
  return qos == 0 || wait_acknowledged(timeout);
}

std::size_t MqttClient::unacknowledged() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->pending.size();
}

std::uint64_t MqttClient::acknowledged() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->acked;
}

bool MqttClient::wait_acknowledged(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  return impl_->changed.wait_for(lock, timeout, [&] { return impl_->pending.empty(); });
}

bool MqttClient::subscribe(const std::string& filter, int qos) {
  int mid = 0;
  std::unique_lock lock(impl_->mutex);
  if (mosquitto_subscribe(impl_->mosq, &mid, filter.c_str(), qos) != MOSQ_ERR_SUCCESS) return false;
  return impl_->changed.wait_for(lock, std::chrono::seconds(10),
                                 [&] { return impl_->subscribed.count(mid) > 0; });
}

int MqttClient::subscribe_granted(const std::string& filter, int qos) {
  int mid = 0;
  std::unique_lock lock(impl_->mutex);
  if (mosquitto_subscribe(impl_->mosq, &mid, filter.c_str(), qos) != MOSQ_ERR_SUCCESS) return -1;
  if (!impl_->changed.wait_for(lock, std::chrono::seconds(10),
                               [&] { return impl_->granted.count(mid) > 0; }))
    return -1;
  return impl_->granted[mid];
}

std::optional<MqttMessage> MqttClient::next_message(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  if (!impl_->changed.wait_for(lock, timeout, [&] { return !impl_->inbox.empty(); }))
    return std::nullopt;
  auto m = std::move(impl_->inbox.front());
  impl_->inbox.pop_front();
  return m;
}

}  // namespace honeyman::testing
