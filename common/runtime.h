// Process-wide threading set-up. fedseg parallelises its own loops with OpenMP (data-parallel
// batch gradients, prediction chunks, aggregation blocks) and keeps Eigen's internal GEMM threading
// off: on the small matrices of a segmentation MLP, Eigen's own threads only add spinning and
// synchronisation, and several region processes on one machine would oversubscribe its cores.
#ifndef FEDSEG_COMMON_RUNTIME_H_
#define FEDSEG_COMMON_RUNTIME_H_

namespace fedseg {

// threads > 0: use that many OpenMP threads; 0: the OpenMP default (all cores).
void ConfigureThreads(int threads);

}  // namespace fedseg

#endif  // FEDSEG_COMMON_RUNTIME_H_
