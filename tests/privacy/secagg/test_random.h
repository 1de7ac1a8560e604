// A deterministic RandomBytes for tests (splitmix64 stream), so failures reproduce.
#ifndef FEDSEG_TESTS_PRIVACY_SECAGG_TEST_RANDOM_H_
#define FEDSEG_TESTS_PRIVACY_SECAGG_TEST_RANDOM_H_

#include <memory>

#include "common/base/seed.h"
#include "privacy/secagg/random_bytes.h"

namespace fedseg::privacy::secagg {

inline RandomBytes SeededRandomBytesForTesting(uint64_t seed) {
  auto state = std::make_shared<uint64_t>(seed);
  return [state](std::span<uint8_t> out) {
    for (uint8_t& b : out) {
      *state = Mix64(*state + 0x9E3779B97F4A7C15ull);
      b = static_cast<uint8_t>(*state >> 24);
    }
    return Status::OK();
  };
}

inline RandomBytes FailingRandomBytesForTesting() {
  return [](std::span<uint8_t>) { return Status::Unavailable("test: the generator is broken"); };
}

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_TESTS_PRIVACY_SECAGG_TEST_RANDOM_H_
