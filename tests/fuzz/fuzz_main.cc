// libFuzzer entry point of one fuzz_<name> executable; FEDSEG_FUZZ_ENTRY names the target's
// function (set by tests/fuzz/CMakeLists.txt).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fedseg::fuzz::FEDSEG_FUZZ_ENTRY(data, size);
}
