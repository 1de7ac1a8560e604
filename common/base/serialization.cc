#include "common/base/serialization.h"

#include <string>

namespace fedseg::internal {

thread_local const std::istream* LoadBudget::stream = nullptr;
thread_local uint64_t LoadBudget::total = 0;

void CheckContainerSize(uint64_t count, uint64_t min_elem_bytes) {
  if (LoadBudget::stream == nullptr) return;
  auto* is = const_cast<std::istream*>(LoadBudget::stream);
  std::streamoff pos = is->tellg();
  uint64_t consumed = pos < 0 ? LoadBudget::total : static_cast<uint64_t>(pos);
  uint64_t left = LoadBudget::total > consumed ? LoadBudget::total - consumed : 0;
  if (min_elem_bytes != 0 && count > left / min_elem_bytes) {
    throw cereal::Exception("length prefix of " + std::to_string(count) +
                            " elements exceeds the " + std::to_string(left) +
                            " bytes left in the input");
  }
}

}  // namespace fedseg::internal
