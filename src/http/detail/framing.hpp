// Message framing of a request, checked once its header is read and before its body is: the
// request-smuggling rules of RFC 9112 §6.1 and §6.3. Beast alone reads an unknown or final
// non-chunked Transfer-Encoding as "no body", and the body would then be answered as a second
// request. Pure; the server answers a refusal and closes the connection.
#pragma once

#include <optional>
#include <string>

#include "http/http.hpp"

namespace honeyman::http::detail {

struct FramingRefusal {
  StatusCode status;
  std::string detail;
};

// nullopt: the body length is well defined (Content-Length, `Transfer-Encoding: chunked`, or
// neither). Otherwise, always answered by closing the connection:
// - 400 for Transfer-Encoding in an HTTP/1.0 request, together with Content-Length, with
//   `chunked` not last or more than once, or with an element that is not a token;
// - 501 for a coding other than `chunked` before a final `chunked` (gzip, deflate, ...): the
//   server decodes none.
std::optional<FramingRefusal> check_framing(const Request& header);

}  // namespace honeyman::http::detail
