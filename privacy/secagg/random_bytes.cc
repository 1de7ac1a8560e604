#include "privacy/secagg/random_bytes.h"

#include <openssl/rand.h>

#include <climits>
#include <cstring>

#include "common/base/openssl_error.h"

namespace fedseg::privacy::secagg {

RandomBytes SecureRandomBytes() {
  return [](std::span<uint8_t> out) -> Status {
    size_t done = 0;
    while (done < out.size()) {
      const size_t chunk = std::min<size_t>(out.size() - done, INT_MAX);
      if (RAND_priv_bytes(out.data() + done, static_cast<int>(chunk)) != 1) {
        return Status::Unavailable("secure aggregation: the CSPRNG failed: " + TakeOpenSslError());
      }
      done += chunk;
    }
    return Status::OK();
  };
}

Result<uint64_t> RandomUint64(const RandomBytes& random) {
  uint8_t bytes[8];
  FEDSEG_RETURN_IF_ERROR(random(bytes));
  uint64_t value;
  std::memcpy(&value, bytes, sizeof(value));
  return value;
}

}  // namespace fedseg::privacy::secagg
