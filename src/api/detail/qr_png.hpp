// QR code rendering for onboarding: text → QR symbol (libqrencode) → PNG bytes (libpng).
#pragma once

#include <string>
#include <string_view>

#include "core/core.hpp"

namespace honeyman::api::detail {

// A PNG image (8-bit greyscale, `scale` pixels per module, the standard 4-module quiet zone)
// of a QR code holding `text` in byte mode with error correction level M.
// Errc::invalid_input when `text` is too long for a QR code; Errc::internal on a library failure.
Result<std::string> qr_png(std::string_view text, int scale = 8);

}  // namespace honeyman::api::detail
