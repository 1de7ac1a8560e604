// Process-wide set-up. fedseg parallelises its own loops with OpenMP (data-parallel batch
// gradients, prediction chunks, aggregation blocks) and keeps Eigen's internal GEMM threading off:
// on the small matrices of a segmentation MLP, Eigen's own threads only add spinning and
// synchronisation, and several region processes on one machine would oversubscribe its cores.
// Processes that hold one connection per region (the coordinator, `fedseg-client load`) also need
// more open files than the usual soft limit of 1,024.
#ifndef FEDSEG_COMMON_ML_RUNTIME_H_
#define FEDSEG_COMMON_ML_RUNTIME_H_

#include <cstdint>

#include "common/base/status.h"

namespace fedseg::ml {

// threads > 0: use that many OpenMP threads; 0: the OpenMP default (all cores).
void ConfigureThreads(int threads);

// Raises this process's soft limit on open files (RLIMIT_NOFILE) to its hard limit, which an
// unprivileged process may do, and returns the soft limit now in force. Never lowers it.
Result<uint64_t> RaiseOpenFileLimit();

}  // namespace fedseg::ml

#endif  // FEDSEG_COMMON_ML_RUNTIME_H_
