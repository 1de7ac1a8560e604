#include "common/runtime.h"

#include <omp.h>

#include <Eigen/Core>

namespace fedseg {

void ConfigureThreads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
  Eigen::setNbThreads(1);
}

}  // namespace fedseg
