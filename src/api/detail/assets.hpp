// Files compiled into the binary (cmake/embed.cmake): the API documentation viewers (Swagger UI,
// ReDoc, from their npm packages, vendored under third_party/) and the wire samples the OpenAPI
// document shows. Nothing is read from disk or fetched at run time.
#pragma once

#include <optional>
#include <string_view>

namespace honeyman::api::detail {

struct Asset {
  std::string_view data;  // the file as it is
  std::string_view gzip;  // the same, gzip-compressed
};

std::optional<Asset> find_asset(std::string_view name);

}  // namespace honeyman::api::detail
