#include "api/detail/qr_png.hpp"

#include <gtest/gtest.h>

namespace honeyman::api::detail {
namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  auto b = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i]));
  };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

TEST(QrPng, IsAPngOfTheExpectedSize) {
  auto png = qr_png(R"({"api_endpoint":"http://h/api/v2","onboarding_token":"abc"})", 8);
  ASSERT_TRUE(png) << png.error().message;
  ASSERT_GT(png->size(), 33u);
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png->substr(12, 4), "IHDR");
  auto width = be32(*png, 16), height = be32(*png, 20);
  EXPECT_EQ(width, height);
  // A whole number of 8-pixel modules; a QR symbol is 21 + 4k modules, plus 8 of quiet zone.
  ASSERT_EQ(width % 8, 0u);
  EXPECT_EQ((width / 8 - 8 - 21) % 4, 0u);
}

TEST(QrPng, LongerTextNeedsABiggerSymbol) {
  auto small = qr_png("x", 1), large = qr_png(std::string(500, 'x'), 1);
  ASSERT_TRUE(small && large);
  EXPECT_LT(be32(*small, 16), be32(*large, 16));
}

TEST(QrPng, TextBeyondQrCapacityIsRefused) {
  auto png = qr_png(std::string(5000, 'x'));
  ASSERT_FALSE(png);
  EXPECT_EQ(png.error().code, Errc::invalid_input);
}

}  // namespace
}  // namespace honeyman::api::detail
