#include "api/detail/qr_png.hpp"

#include <png.h>
#include <qrencode.h>

#include <memory>
#include <vector>

namespace honeyman::api::detail {
namespace {

struct QrFree {
  void operator()(QRcode* q) const noexcept { QRcode_free(q); }
};
using QrCode = std::unique_ptr<QRcode, QrFree>;

struct PngWriter {
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngWriter() { png_destroy_write_struct(&png, info ? &info : nullptr); }
};

void append(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  out->append(reinterpret_cast<const char*>(data), length);
}
void flush(png_structp) {}

constexpr int kQuietZone = 4;  // modules of white around the symbol (ISO/IEC 18004)

}  // namespace

Result<std::string> qr_png(std::string_view text, int scale) {
  std::string input(text);  // libqrencode wants a NUL-terminated string
  QrCode code(QRcode_encodeString8bit(input.c_str(), 0, QR_ECLEVEL_M));
  if (!code) return make_error(Errc::invalid_input, "text too long for a QR code");
  const int modules = code->width + 2 * kQuietZone;
  const int side = modules * scale;

  std::vector<png_byte> row(static_cast<std::size_t>(side));
  std::string out;
  PngWriter w;
  w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (!w.png) return make_error(Errc::internal, "cannot create PNG writer");
  w.info = png_create_info_struct(w.png);
  if (!w.info) return make_error(Errc::internal, "cannot create PNG info");
  // libpng reports errors by longjmp; nothing with a destructor is created below this point.
  if (setjmp(png_jmpbuf(w.png))) return make_error(Errc::internal, "PNG encoding failed");
  png_set_write_fn(w.png, &out, append, flush);
  png_set_IHDR(w.png, w.info, static_cast<png_uint_32>(side), static_cast<png_uint_32>(side), 8,
               PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(w.png, w.info);
  for (int y = 0; y < side; ++y) {
    int my = y / scale - kQuietZone;
    for (int x = 0; x < side; ++x) {
      int mx = x / scale - kQuietZone;
      bool inside = mx >= 0 && my >= 0 && mx < code->width && my < code->width;
      bool dark = inside && (code->data[my * code->width + mx] & 1);
      row[static_cast<std::size_t>(x)] = dark ? 0 : 255;
    }
    png_write_row(w.png, row.data());
  }
  png_write_end(w.png, nullptr);
  return out;
}

}  // namespace honeyman::api::detail
