#include "common/base/container.h"

#include <cstring>

#include "common/base/sha256.h"

namespace fedseg {
namespace {

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetLe(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

std::string WrapContainer(std::string_view magic8, uint32_t version, std::string_view payload) {
  std::string out;
  out.reserve(kContainerHeaderSize + payload.size());
  out.append(magic8.substr(0, 8));
  out.resize(8, '\0');
  PutLe(out, version, 4);
  PutLe(out, kContainerHeaderSize, 4);
  PutLe(out, payload.size(), 8);
  Sha256Digest d = Sha256(payload);
  out.append(reinterpret_cast<const char*>(d.data()), d.size());
  out.append(payload);
  return out;
}

Result<std::string_view> OpenContainer(std::string_view bytes, std::string_view magic8,
                                       uint32_t version, std::string_view source,
                                       std::string_view kind) {
  uint32_t v = 0;
  return OpenContainer(bytes, magic8, version, version, source, kind, &v);
}

Result<std::string_view> OpenContainer(std::string_view bytes, std::string_view magic8,
                                       uint32_t oldest, uint32_t newest, std::string_view source,
                                       std::string_view kind, uint32_t* version) {
  const std::string src(source);
  const std::string k(kind);
  if (bytes.size() < kContainerHeaderSize) {
    return Status::Corruption(src + ": not a " + k + " (" + std::to_string(bytes.size()) +
                              " bytes, shorter than the " + std::to_string(kContainerHeaderSize) +
                              "-byte header)");
  }
  if (bytes.substr(0, 8) != magic8.substr(0, 8)) {
    return Status::Corruption(src + ": not a " + k + " (bad magic)");
  }
  const uint32_t v = static_cast<uint32_t>(GetLe(bytes.data() + 8, 4));
  if (v < oldest || v > newest) {
    return Status::Corruption(
        src + ": " + k + " format version " + std::to_string(v) +
        " is not supported (this build reads version " +
        (oldest == newest ? std::to_string(newest)
                          : std::to_string(oldest) + " to " + std::to_string(newest)) +
        ")");
  }
  *version = v;
  const uint32_t header = static_cast<uint32_t>(GetLe(bytes.data() + 12, 4));
  if (header != kContainerHeaderSize) {
    return Status::Corruption(src + ": header size " + std::to_string(header) + " is invalid");
  }
  const uint64_t payload_size = GetLe(bytes.data() + 16, 8);
  const uint64_t present = bytes.size() - kContainerHeaderSize;
  if (payload_size != present) {
    return Status::Corruption(src + ": header announces a " + std::to_string(payload_size) +
                              "-byte payload but " + std::to_string(present) + " bytes follow (" +
                              (present < payload_size ? "truncated" : "trailing data") + ")");
  }
  std::string_view payload = bytes.substr(kContainerHeaderSize);
  Sha256Digest d = Sha256(payload);
  if (std::memcmp(d.data(), bytes.data() + 24, d.size()) != 0) {
    return Status::Corruption(src + ": checksum mismatch (the file is corrupted)");
  }
  return payload;
}

}  // namespace fedseg
