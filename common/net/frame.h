// Wire frames: how fedseg messages are delimited on a TLS connection.
//
// Every message between the coordinator and a region travels as one frame: a fixed 16-byte header
// followed by `payload_length` bytes of payload whose meaning depends on `type` (the message types
// are defined by the protocol layer, see docs/protocol.md). All header fields are big-endian:
//
//   offset  size  field
//        0     4  magic           0x46534547, the ASCII bytes "FSEG"
//        4     2  version         kFrameProtocolVersion (3)
//        6     2  type            message type; the transport does not interpret it
//        8     4  payload_length  bytes of payload that follow the header, <= the receiver's limit
//       12     4  header_crc      CRC-32 (IEEE 802.3, as zlib's crc32) of bytes 0..11
//
// TLS already protects the bytes in transit; the header CRC is there to catch framing bugs (a
// reader that lost its place in the stream) with a precise error instead of a misread length. A
// receiver checks, in this order, that the header is complete, the magic, the version, the CRC and
// the payload length against its limit, all before it allocates anything for the payload.
#ifndef FEDSEG_COMMON_NET_FRAME_H_
#define FEDSEG_COMMON_NET_FRAME_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/base/status.h"

namespace fedseg::net {

inline constexpr uint32_t kFrameMagic = 0x46534547;  // "FSEG"
// 2: the data summary, schema and data contract carry date formats and the category rule.
// 3: the data contract lists the columns read as logarithms. A peer of an earlier version is
// refused at its first frame rather than misread.
inline constexpr uint16_t kFrameProtocolVersion = 3;
inline constexpr size_t kFrameHeaderSize = 16;
// The largest payload a receiver accepts unless configured lower. A model of 1M float parameters
// is ~4 MB; the margin leaves room for larger models and batched updates while still refusing a
// forged length (up to 4 GiB) before anything is allocated.
inline constexpr uint32_t kDefaultMaxFrameBytes = 256u << 20;

// A decoded header, fields in host byte order. The struct mirrors the wire layout field for field
// so that the table above, this struct and the codec cannot drift apart unnoticed.
struct FrameHeader {
  uint32_t magic = kFrameMagic;
  uint16_t version = kFrameProtocolVersion;
  uint16_t type = 0;
  uint32_t payload_length = 0;
  uint32_t header_crc = 0;
};
static_assert(sizeof(FrameHeader) == kFrameHeaderSize);
static_assert(std::is_standard_layout_v<FrameHeader>);
static_assert(offsetof(FrameHeader, magic) == 0);
static_assert(offsetof(FrameHeader, version) == 4);
static_assert(offsetof(FrameHeader, type) == 6);
static_assert(offsetof(FrameHeader, payload_length) == 8);
static_assert(offsetof(FrameHeader, header_crc) == 12);

// One message: its type and its payload bytes.
struct Frame {
  uint16_t type = 0;
  std::string payload;
};

// The 16 header bytes for a payload of `payload_length` bytes (CRC included). Senders write these
// and the payload as two buffers, so a large payload is never copied to be framed.
std::array<uint8_t, kFrameHeaderSize> EncodeFrameHeader(uint16_t type, uint32_t payload_length);

// Header plus payload in one string. `payload` must be shorter than 4 GiB (a payload that long
// could not be accepted by any receiver anyway; senders check their limit first).
std::string EncodeFrame(uint16_t type, std::string_view payload);

// Validates and decodes the first kFrameHeaderSize bytes of `bytes`. Refuses, without allocating
// for the payload: fewer than 16 bytes (InvalidArgument), a wrong magic or CRC (Corruption), an
// unsupported version (InvalidArgument), and a payload_length above `max_payload`
// (ResourceExhausted: "frame payload of 4294967295 bytes exceeds the 67108864-byte limit").
Result<FrameHeader> DecodeFrameHeader(std::span<const uint8_t> bytes, uint32_t max_payload);

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_FRAME_H_
