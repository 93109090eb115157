// The request-smuggling rules (RFC 9112 §6.1, §6.3) on parsed headers.
#include "http/detail/framing.hpp"

#include <gtest/gtest.h>

namespace honeyman::http::detail {
namespace {

Request framing_header(std::vector<std::pair<std::string, std::string>> fields,
                       unsigned version = 11) {
  Request r{Verb::post, "/items", version};
  for (auto& [name, value] : fields) r.insert(name, value);
  return r;
}

std::optional<unsigned> refused_with(const Request& r) {
  auto refusal = check_framing(r);
  if (!refusal) return std::nullopt;
  EXPECT_FALSE(refusal->detail.empty());
  return static_cast<unsigned>(refusal->status);
}

TEST(Framing, PlainLengthsAndChunkedPass) {
  EXPECT_FALSE(refused_with(framing_header({})));
  EXPECT_FALSE(refused_with(framing_header({{"Content-Length", "5"}})));
  EXPECT_FALSE(refused_with(framing_header({{"Transfer-Encoding", "chunked"}})));
  EXPECT_FALSE(refused_with(framing_header({{"Transfer-Encoding", " Chunked "}})));
  EXPECT_FALSE(refused_with(framing_header({{"Transfer-Encoding", ", chunked,"}})));
  EXPECT_FALSE(refused_with(framing_header({{"Content-Length", "0"}}, 10)));
}

TEST(Framing, AFinalCodingOtherThanChunkedIs400) {
  for (auto te : {"xchunked", "chunked, identity", "identity", "gzip", "", " , ", "chunked;q=1, x"})
    EXPECT_EQ(refused_with(framing_header({{"Transfer-Encoding", te}})), 400u) << te;
  // Two fields are one list: "identity" comes last.
  EXPECT_EQ(refused_with(framing_header(
                {{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "identity"}})),
            400u);
}

TEST(Framing, TransferEncodingWithContentLengthOrInHttp10Is400) {
  EXPECT_EQ(
      refused_with(framing_header({{"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}})),
      400u);
  EXPECT_EQ(
      refused_with(framing_header({{"Content-Length", "3"}, {"Transfer-Encoding", "identity"}})),
      400u);
  EXPECT_EQ(refused_with(framing_header({{"Transfer-Encoding", "chunked"}}, 10)), 400u);
}

TEST(Framing, ChunkedTwiceOrMalformedCodingsAre400) {
  EXPECT_EQ(refused_with(framing_header({{"Transfer-Encoding", "chunked, chunked"}})), 400u);
  EXPECT_EQ(refused_with(framing_header({{"Transfer-Encoding", "chu nked"}})), 400u);
  EXPECT_EQ(refused_with(framing_header({{"Transfer-Encoding", "\"chunked\""}})), 400u);
}

TEST(Framing, OtherCodingsBeforeChunkedAre501) {
  EXPECT_EQ(refused_with(framing_header({{"Transfer-Encoding", "gzip, chunked"}})), 501u);
  EXPECT_EQ(refused_with(
                framing_header({{"Transfer-Encoding", "gzip"}, {"Transfer-Encoding", "chunked"}})),
            501u);
}

}  // namespace
}  // namespace honeyman::http::detail
