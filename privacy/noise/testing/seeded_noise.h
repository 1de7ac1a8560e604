// TESTS ONLY: a seeded, predictable noise source, so that tests and the determinism integration
// tests can reproduce a DP run bit for bit. It gives no privacy at all.
//
// It lives in its own library, fedseg_privacy_noise_testing, which is built only with the test
// suite (FEDSEG_BUILD_TESTS) and linked only by test targets: the unit tests, and the test copy of
// the region binary, fedseg-client-seeded-noise (tests/CMakeLists.txt, compiled with
// FEDSEG_INSECURE_TEST_NOISE). The installed fedseg-client does not contain this code, so no
// configuration can make it use seeded noise (docs/security.md, "Seeded noise").
#ifndef FEDSEG_PRIVACY_NOISE_TESTING_SEEDED_NOISE_H_
#define FEDSEG_PRIVACY_NOISE_TESTING_SEEDED_NOISE_H_

#include <cstdint>
#include <memory>

#include "privacy/noise/noise.h"

namespace fedseg::privacy {

// A reproducible stream: the production sampler (SecureNoiseSource's transform and buffering) fed
// from std::mt19937_64(seed) instead of OpenSSL. Logs a warning each time one is made.
std::unique_ptr<NoiseSource> MakeInsecureSeededNoiseForTesting(uint64_t seed);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_NOISE_TESTING_SEEDED_NOISE_H_
