#include "common/net/frame.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <limits>

namespace fedseg::net {
namespace {

// CRC-32 with the reflected IEEE 802.3 polynomial (the one zlib, PNG and Ethernet use), so any
// tool can check a captured header. A 256-entry table built at compile time; headers are 12 bytes,
// so speed is irrelevant, but a table keeps the loop obvious.
constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

uint32_t Crc32(const uint8_t* data, size_t size) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) c = kCrcTable[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

constexpr size_t kCrcCoveredBytes = 12;  // magic, version, type, payload_length

void PutU16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}
uint16_t GetU16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string Hex32(uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof(buf), "0x%08X", v);
  return buf;
}

}  // namespace

std::array<uint8_t, kFrameHeaderSize> EncodeFrameHeader(uint16_t type, uint32_t payload_length) {
  std::array<uint8_t, kFrameHeaderSize> h{};
  PutU32(&h[offsetof(FrameHeader, magic)], kFrameMagic);
  PutU16(&h[offsetof(FrameHeader, version)], kFrameProtocolVersion);
  PutU16(&h[offsetof(FrameHeader, type)], type);
  PutU32(&h[offsetof(FrameHeader, payload_length)], payload_length);
  PutU32(&h[offsetof(FrameHeader, header_crc)], Crc32(h.data(), kCrcCoveredBytes));
  return h;
}

std::string EncodeFrame(uint16_t type, std::string_view payload) {
  // An over-long payload is a caller bug. In release builds the length saturates at 2^32-1, which
  // every receiver refuses (their limit is at most kDefaultMaxFrameBytes unless raised on purpose)
  // instead of misreading the stream.
  assert(payload.size() <= std::numeric_limits<uint32_t>::max());
  const auto length =
      static_cast<uint32_t>(std::min<size_t>(payload.size(), std::numeric_limits<uint32_t>::max()));
  const auto header = EncodeFrameHeader(type, length);
  std::string out;
  out.reserve(kFrameHeaderSize + payload.size());
  out.append(reinterpret_cast<const char*>(header.data()), header.size());
  out.append(payload);
  return out;
}

Result<FrameHeader> DecodeFrameHeader(std::span<const uint8_t> bytes, uint32_t max_payload) {
  if (bytes.size() < kFrameHeaderSize) {
    return Status::InvalidArgument("truncated frame header: got " + std::to_string(bytes.size()) +
                                   " of " + std::to_string(kFrameHeaderSize) + " bytes");
  }
  const uint8_t* p = bytes.data();
  FrameHeader h;
  h.magic = GetU32(p + offsetof(FrameHeader, magic));
  h.version = GetU16(p + offsetof(FrameHeader, version));
  h.type = GetU16(p + offsetof(FrameHeader, type));
  h.payload_length = GetU32(p + offsetof(FrameHeader, payload_length));
  h.header_crc = GetU32(p + offsetof(FrameHeader, header_crc));

  if (h.magic != kFrameMagic) {
    return Status::Corruption("bad frame magic " + Hex32(h.magic) + " (expected " +
                              Hex32(kFrameMagic) + " \"FSEG\"): not a fedseg peer, or the " +
                              "stream lost its place");
  }
  // The version comes before the CRC: a future version may lay out (and checksum) the header
  // differently, and "unsupported version" is the useful message then.
  if (h.version != kFrameProtocolVersion) {
    return Status::InvalidArgument("unsupported frame protocol version " +
                                   std::to_string(h.version) + " (this build speaks version " +
                                   std::to_string(kFrameProtocolVersion) + ")");
  }
  const uint32_t crc = Crc32(p, kCrcCoveredBytes);
  if (h.header_crc != crc) {
    return Status::Corruption("frame header CRC mismatch: header says " + Hex32(h.header_crc) +
                              ", bytes give " + Hex32(crc));
  }
  if (h.payload_length > max_payload) {
    return Status::ResourceExhausted("frame payload of " + std::to_string(h.payload_length) +
                                     " bytes exceeds the " + std::to_string(max_payload) +
                                     "-byte limit");
  }
  return h;
}

}  // namespace fedseg::net
