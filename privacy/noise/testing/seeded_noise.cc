#include "privacy/noise/testing/seeded_noise.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace fedseg::privacy {

std::unique_ptr<NoiseSource> MakeInsecureSeededNoiseForTesting(uint64_t seed) {
  spdlog::warn(
      "MakeInsecureSeededNoiseForTesting(seed={}): a seeded, predictable noise source; it gives "
      "NO privacy and is for tests only",
      seed);
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return MakeSecureNoiseWithBytesForTesting([rng](unsigned char* buf, size_t n) {
    for (size_t i = 0; i < n; i += sizeof(uint64_t)) {
      const uint64_t w = (*rng)();
      std::memcpy(buf + i, &w, std::min(sizeof w, n - i));
    }
    return true;
  });
}

}  // namespace fedseg::privacy
