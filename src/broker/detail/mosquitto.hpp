// libmosquitto behind RAII, shared by the broker module's admin client, subscriber and publisher;
// only code in this module's .cpp files and detail/ sees the C API.
#pragma once

#include <mosquitto.h>

#include <memory>
#include <string>

#include "broker/broker.hpp"

namespace honeyman::broker::detail {

struct MosquittoDestroy {
  void operator()(mosquitto* m) const noexcept { mosquitto_destroy(m); }
};
using MosquittoHandle = std::unique_ptr<mosquitto, MosquittoDestroy>;

// mosquitto_lib_init() once per process.
void init_library();

// A new client handle with TLS and credentials applied. Errc::internal when libmosquitto
// refuses the settings (e.g. an unreadable CA file).
Result<MosquittoHandle> new_client(const BrokerConfig& config, const std::string& client_id,
                                   bool clean_session, const std::string& username,
                                   const std::string& password, void* userdata);

// libmosquitto's text for an error / CONNACK code.
std::string error_text(int rc);
std::string connack_text(int rc);

}  // namespace honeyman::broker::detail
