// Constants the server sessions and the client share when they read frames. Internal to
// fedseg_net.
#ifndef FEDSEG_COMMON_NET_INTERNAL_FRAME_READING_H_
#define FEDSEG_COMMON_NET_INTERNAL_FRAME_READING_H_

#include <cstddef>

namespace fedseg::net::internal {

// Frame payloads are read in pieces of at most this size and the buffer grows only as bytes
// arrive, so a peer announcing a large (but allowed) frame and then stalling holds at most one
// piece of memory beyond what it actually sent.
inline constexpr size_t kPayloadChunkBytes = size_t{1} << 20;

}  // namespace fedseg::net::internal

#endif  // FEDSEG_COMMON_NET_INTERNAL_FRAME_READING_H_
