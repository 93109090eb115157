#include <boost/throw_exception.hpp>
#include <stdexcept>

#include "core/core.hpp"

namespace honeyman {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "honeyman"; }
  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::ok:
        return "ok";
      case Errc::invalid_input:
        return "invalid input";
      case Errc::bad_request:
        return "bad request";
      case Errc::unauthorized:
        return "unauthorized";
      case Errc::forbidden:
        return "forbidden";
      case Errc::not_found:
        return "not found";
      case Errc::conflict:
        return "conflict";
      case Errc::payload_too_large:
        return "payload too large";
      case Errc::rate_limited:
        return "rate limited";
      case Errc::unavailable:
        return "unavailable";
      case Errc::internal:
        return "internal error";
    }
    return "unknown error";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

Error make_error(Errc code, std::string message) {
  return Error{code, std::move(message), {}, 0};
}

Error validation_error(std::vector<FieldError> fields) {
  return Error{Errc::invalid_input, "validation failed", std::move(fields), 0};
}

void throw_exception_from_error(const Error& e, const boost::source_location& loc) {
  boost::throw_exception(std::runtime_error(e.message), loc);
}

}  // namespace honeyman
