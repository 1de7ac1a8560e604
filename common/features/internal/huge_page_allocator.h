// An allocator for the engine's two large random-access arrays (the user index and the per-user
// statistics): blocks of 2 MiB or more are 2 MiB-aligned and marked MADV_HUGEPAGE, so a random
// access costs a cache miss but rarely also a TLB miss (with 4 KiB pages, 200,000 users' rows
// span several thousand pages, more than the TLB holds; under a hypervisor each page walk is
// two-dimensional). Smaller blocks, and systems without madvise, get ordinary memory.
#ifndef FEDSEG_COMMON_FEATURES_INTERNAL_HUGE_PAGE_ALLOCATOR_H_
#define FEDSEG_COMMON_FEATURES_INTERNAL_HUGE_PAGE_ALLOCATOR_H_

#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fedseg::features::internal {

template <typename T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHuge = size_t{2} << 20;

  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding is implicit

  T* allocate(size_t n) {
    if (n > static_cast<size_t>(-1) / sizeof(T) - kHuge) throw std::bad_array_new_length();
    const size_t bytes = n * sizeof(T);
    if (bytes < kHuge) return static_cast<T*>(::operator new(bytes));
    void* p = std::aligned_alloc(kHuge, (bytes + kHuge - 1) / kHuge * kHuge);
    if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint: failure leaves ordinary pages
#endif
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHuge) {
      ::operator delete(p);
    } else {
      std::free(p);
    }
  }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

}  // namespace fedseg::features::internal

#endif  // FEDSEG_COMMON_FEATURES_INTERNAL_HUGE_PAGE_ALLOCATOR_H_
