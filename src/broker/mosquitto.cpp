#include "broker/detail/mosquitto.hpp"

#include <mutex>

namespace honeyman::broker::detail {

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string error_text(int rc) {
  return mosquitto_strerror(rc);
}
std::string connack_text(int rc) {
  return mosquitto_connack_string(rc);
}

Result<MosquittoHandle> new_client(const BrokerConfig& config, const std::string& client_id,
                                   bool clean_session, const std::string& username,
                                   const std::string& password, void* userdata) {
  init_library();
  MosquittoHandle mosq(mosquitto_new(client_id.c_str(), clean_session, userdata));
  if (!mosq) return make_error(Errc::internal, "cannot create an MQTT client");
  int rc = mosquitto_int_option(mosq.get(), MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (rc == MOSQ_ERR_SUCCESS && !username.empty())
    rc = mosquitto_username_pw_set(mosq.get(), username.c_str(), password.c_str());
  if (rc == MOSQ_ERR_SUCCESS && config.use_tls) {
    const char* cafile = config.ca_cert.empty() ? nullptr : config.ca_cert.c_str();
    const char* capath = config.ca_cert.empty() ? "/etc/ssl/certs" : nullptr;
    rc = mosquitto_tls_set(mosq.get(), cafile, capath, nullptr, nullptr, nullptr);
  }
  if (rc != MOSQ_ERR_SUCCESS)
    return make_error(Errc::invalid_input, "MQTT client settings refused: " + error_text(rc));
  return mosq;
}

}  // namespace honeyman::broker::detail
