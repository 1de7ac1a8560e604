#include "tests/fuzz/fuzz_targets.h"

#include <array>

namespace fedseg::fuzz {

std::span<const FuzzTarget> AllTargets() {
  static constexpr std::array<FuzzTarget, 7> kTargets = {{
      {"csv", FuzzCsv},
      {"frame", FuzzFrame},
      {"messages", FuzzMessages},
      {"model_file", FuzzModelFile},
      {"checkpoint", FuzzCheckpoint},
      {"ledger", FuzzLedger},
      {"json_config", FuzzJsonConfig},
  }};
  return kTargets;
}

void CheckFailed(const char* file, int line, const char* condition, const char* what) {
  std::fprintf(stderr, "%s:%d: fuzz property violated: %s (%s)\n", file, line, what, condition);
  std::abort();
}

}  // namespace fedseg::fuzz
