// A checksummed file container: the 56-byte header shared by model files (.fsm) and coordinator
// checkpoints (.fsc) in front of a cereal payload.
//
//   offset  size  field
//   0       8     magic (e.g. "FSEGMODL", "FSEGCKPT")
//   8       4     format version, little-endian
//   12      4     header size (56), little-endian
//   16      8     payload size in bytes, little-endian
//   24      32    SHA-256 of the payload
//   56      ...   payload
//
// Opening checks the length, the magic, the version, that the announced payload size equals the
// bytes present (truncation or trailing data) and the checksum, in that order, each with its own
// message naming the source.
#ifndef FEDSEG_COMMON_BASE_CONTAINER_H_
#define FEDSEG_COMMON_BASE_CONTAINER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace fedseg {

inline constexpr uint32_t kContainerHeaderSize = 56;

std::string WrapContainer(std::string_view magic8, uint32_t version, std::string_view payload);

// Returns the payload (a view into `bytes`) after every header check. `kind` names the file type
// in messages ("fedseg model file").
Result<std::string_view> OpenContainer(std::string_view bytes, std::string_view magic8,
                                       uint32_t version, std::string_view source,
                                       std::string_view kind);
// The same for a format that reads every version in [oldest, newest]; *version receives the
// file's.
Result<std::string_view> OpenContainer(std::string_view bytes, std::string_view magic8,
                                       uint32_t oldest, uint32_t newest, std::string_view source,
                                       std::string_view kind, uint32_t* version);

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_CONTAINER_H_
