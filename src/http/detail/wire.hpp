// Response serialisation for the socket writer. Beast's generic serializer walks a buffer
// sequence per field and, with the standard headers stored as fields, cost more than the rest of
// a small request; this writes the head into one reused string instead.
#pragma once

#include <string>

#include "http/http.hpp"

namespace honeyman::http::detail {

// Writes the status line, the response's own fields, the standard headers every response carries
// (Server, X-Content-Type-Options, X-Frame-Options, Referrer-Policy, Content-Security-Policy,
// Cache-Control; each unless the response sets it itself, e.g. a docs page with its own CSP)
// and the blank line into `out`, replacing its contents. The body follows as is: the caller
// has already framed it (Content-Length).
void serialize_head(const Response& response, std::string& out);

}  // namespace honeyman::http::detail
