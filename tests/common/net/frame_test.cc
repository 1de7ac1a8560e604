#include "common/net/frame.h"

#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fedseg::net {
namespace {

// An independent CRC-32 (bitwise, no table) so the test does not trust the code under test.
uint32_t ReferenceCrc32(const uint8_t* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

// A header with arbitrary fields and a correct CRC: what a hostile but well-formed peer sends.
std::array<uint8_t, kFrameHeaderSize> ForgeHeader(uint32_t magic, uint16_t version, uint16_t type,
                                                  uint32_t length) {
  std::array<uint8_t, kFrameHeaderSize> h{};
  auto put32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) h[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  put32(0, magic);
  h[4] = static_cast<uint8_t>(version >> 8);
  h[5] = static_cast<uint8_t>(version);
  h[6] = static_cast<uint8_t>(type >> 8);
  h[7] = static_cast<uint8_t>(type);
  put32(8, length);
  put32(12, ReferenceCrc32(h.data(), 12));
  return h;
}

std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(FrameTest, RoundTripsTypeAndPayload) {
  const std::string payload("model bytes\0with a NUL", 22);
  const std::string wire = EncodeFrame(0xBEEF, payload);
  ASSERT_EQ(wire.size(), kFrameHeaderSize + payload.size());

  Result<FrameHeader> header = DecodeFrameHeader(AsBytes(wire), kDefaultMaxFrameBytes);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->magic, kFrameMagic);
  EXPECT_EQ(header->version, kFrameProtocolVersion);
  EXPECT_EQ(header->type, 0xBEEF);
  EXPECT_EQ(header->payload_length, payload.size());
  EXPECT_EQ(wire.substr(kFrameHeaderSize), payload);
}

TEST(FrameTest, EmptyPayloadIsAHeaderAlone) {
  const std::string wire = EncodeFrame(3, "");
  ASSERT_EQ(wire.size(), kFrameHeaderSize);
  Result<FrameHeader> header = DecodeFrameHeader(AsBytes(wire), 0);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  EXPECT_EQ(header->payload_length, 0u);
}

// Pins the wire format byte for byte (big-endian fields, CRC-32 of bytes 0..11 as zlib computes
// it), so a change to the layout cannot pass unnoticed.
TEST(FrameTest, HeaderBytesMatchTheDocumentedLayout) {
  const auto h = EncodeFrameHeader(7, 2);
  const std::array<uint8_t, kFrameHeaderSize> expected = {
      0x46, 0x53, 0x45, 0x47,  // "FSEG"
      0x00, 0x03,              // version 3
      0x00, 0x07,              // type 7
      0x00, 0x00, 0x00, 0x02,  // 2 payload bytes
      0xEA, 0x71, 0x6A, 0xD1,  // zlib.crc32(bytes 0..11)
  };
  EXPECT_EQ(h, expected);
  EXPECT_EQ(ReferenceCrc32(h.data(), 12), 0xEA716AD1u);
}

TEST(FrameTest, RefusesTruncatedHeader) {
  const std::string wire = EncodeFrame(1, "abc");
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}}) {
    Result<FrameHeader> header = DecodeFrameHeader(AsBytes(wire.substr(0, n)), 1024);
    ASSERT_FALSE(header.ok());
    EXPECT_TRUE(header.status().IsInvalidArgument());
    EXPECT_EQ(header.status().message(),
              "truncated frame header: got " + std::to_string(n) + " of 16 bytes");
  }
}

TEST(FrameTest, RefusesBadMagic) {
  const auto h = ForgeHeader(0x47455420, kFrameProtocolVersion, 1, 0);  // "GET ": an HTTP client
  Result<FrameHeader> header = DecodeFrameHeader(h, 1024);
  ASSERT_FALSE(header.ok());
  EXPECT_TRUE(header.status().IsCorruption());
  EXPECT_NE(header.status().message().find("bad frame magic 0x47455420 (expected 0x46534547"),
            std::string::npos)
      << header.status().message();
}

TEST(FrameTest, RefusesUnsupportedVersion) {
  // Version 1 (a peer from before dates in the data summary), 2 (before the contract's log
  // columns) and a future version 4.
  for (const uint16_t v : {uint16_t{1}, uint16_t{2}, uint16_t{4}}) {
    const auto h = ForgeHeader(kFrameMagic, v, 1, 0);
    Result<FrameHeader> header = DecodeFrameHeader(h, 1024);
    ASSERT_FALSE(header.ok());
    EXPECT_TRUE(header.status().IsInvalidArgument());
    EXPECT_EQ(header.status().message(), "unsupported frame protocol version " + std::to_string(v) +
                                             " (this build speaks version 3)");
  }
}

TEST(FrameTest, RefusesCorruptedHeader) {
  // One flipped bit in the length, the CRC left as the sender computed it.
  std::string wire = EncodeFrame(1, "abcd");
  wire[11] = static_cast<char>(wire[11] ^ 0x01);
  Result<FrameHeader> header = DecodeFrameHeader(AsBytes(wire), 1024);
  ASSERT_FALSE(header.ok());
  EXPECT_TRUE(header.status().IsCorruption());
  EXPECT_NE(header.status().message().find("frame header CRC mismatch"), std::string::npos)
      << header.status().message();
}

TEST(FrameTest, RefusesOversizedLengthBeforeAllocating) {
  const auto h = ForgeHeader(kFrameMagic, kFrameProtocolVersion, 1, 0xFFFFFFFFu);
  // glibc's count of bytes in use: a decoder that reserved room for the payload would show 4 GiB
  // here (or fail to allocate), while the refusal itself costs one small Status.
  const size_t before = mallinfo2().uordblks;
  Result<FrameHeader> header = DecodeFrameHeader(h, 64u << 20);
  const size_t after = mallinfo2().uordblks;
  ASSERT_FALSE(header.ok());
  EXPECT_TRUE(header.status().IsResourceExhausted());
  EXPECT_EQ(header.status().message(),
            "frame payload of 4294967295 bytes exceeds the 67108864-byte limit");
  EXPECT_LT(after - std::min(after, before), size_t{4096});
}

TEST(FrameTest, AcceptsPayloadExactlyAtTheLimit) {
  const auto h = ForgeHeader(kFrameMagic, kFrameProtocolVersion, 1, 1024);
  EXPECT_TRUE(DecodeFrameHeader(h, 1024).ok());
  EXPECT_TRUE(DecodeFrameHeader(h, 1023).status().IsResourceExhausted());
}

TEST(FrameTest, DecodesOnlyTheFirstSixteenBytes) {
  std::string wire = EncodeFrame(9, "payload") + EncodeFrame(10, "next");
  Result<FrameHeader> header = DecodeFrameHeader(AsBytes(wire), 1024);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->type, 9);
  EXPECT_EQ(header->payload_length, 7u);
}

}  // namespace
}  // namespace fedseg::net
