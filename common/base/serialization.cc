#include "common/base/serialization.h"

#include <string>

namespace fedseg::internal {

namespace {

// The archive currently loading on this thread, and its input size (no stream = no limit).
constinit thread_local const std::istream* budget_stream = nullptr;
constinit thread_local uint64_t budget_total = 0;

}  // namespace

LoadBudgetScope::LoadBudgetScope(const std::istream& is, uint64_t total)
    : saved_stream_(budget_stream), saved_total_(budget_total) {
  budget_stream = &is;
  budget_total = total;
}

LoadBudgetScope::~LoadBudgetScope() {
  budget_stream = saved_stream_;
  budget_total = saved_total_;
}

void CheckContainerSize(uint64_t count, uint64_t min_elem_bytes) {
  if (budget_stream == nullptr) return;
  auto* is = const_cast<std::istream*>(budget_stream);
  std::streamoff pos = is->tellg();
  uint64_t consumed = pos < 0 ? budget_total : static_cast<uint64_t>(pos);
  uint64_t left = budget_total > consumed ? budget_total - consumed : 0;
  if (min_elem_bytes != 0 && count > left / min_elem_bytes) {
    throw cereal::Exception("length prefix of " + std::to_string(count) +
                            " elements exceeds the " + std::to_string(left) +
                            " bytes left in the input");
  }
}

}  // namespace fedseg::internal
