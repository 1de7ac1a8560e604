#include "common/ml/runtime.h"

#include <omp.h>
#include <sys/resource.h>

#include <Eigen/Core>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

namespace fedseg::ml {

void ConfigureThreads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);  // this thread's OpenMP setting
  // Eigen's thread count is one process-wide static that every product reads: set it once, so
  // that threads configuring themselves (fedseg-client load runs a region per thread) never
  // write it while another thread's matrix product reads it (a data race ThreadSanitizer found).
  static std::once_flag eigen_once;
  std::call_once(eigen_once, [] { Eigen::setNbThreads(1); });
}

Result<uint64_t> RaiseOpenFileLimit() {
  struct rlimit lim {};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return Status::IOError(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  if (lim.rlim_cur < lim.rlim_max) {
    const rlim_t before = lim.rlim_cur;
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      return Status::IOError("setrlimit(RLIMIT_NOFILE) from " + std::to_string(before) + " to " +
                             std::to_string(lim.rlim_max) + ": " + std::strerror(errno));
    }
  }
  return static_cast<uint64_t>(lim.rlim_cur);
}

}  // namespace fedseg::ml
