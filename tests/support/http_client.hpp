// The one HTTP client of the test suites: synchronous Beast, one keep-alive connection, a timeout
// (default 10 s) on every operation. Connection failures come back as status 0 with the reason in
// `body`, so a test fails with a readable message instead of an exception. Not thread-safe: one
// client per thread.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace honeyman::testing {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names; a repeated field's values
                                               // joined with ", " (so a test sees it twice)
  boost::json::value json() const;             // null when the body is not JSON
  std::string header(std::string_view name) const;
};

class HttpClient {
 public:
  // Connects lazily; reconnects once, transparently, when the server closed the kept-alive
  // connection in the meantime.
  HttpClient(std::string host, std::uint16_t port);
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;

  // A non-empty body is sent as application/json unless `headers` name a Content-Type.
  Reply request(std::string_view method, std::string_view target, std::string_view body = {},
                const HeaderList& headers = {});
  Reply get(std::string_view target, const HeaderList& headers = {});
  Reply post(std::string_view target, const boost::json::value& body,
             const HeaderList& headers = {});
  Reply put(std::string_view target, const boost::json::value& body,
            const HeaderList& headers = {});
  Reply del(std::string_view target, const HeaderList& headers = {});
  // Sends `bytes` as they are on a fresh connection and reads one response (malformed-request
  // tests); the connection is closed afterwards.
  Reply raw(std::string_view bytes);
  void set_timeout(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

HeaderList bearer(std::string_view token);
HeaderList api_key(std::string_view key);

}  // namespace honeyman::testing
