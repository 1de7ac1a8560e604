// Query time of the privacy accountants at 10,000 steps of the Poisson-subsampled Gaussian
// mechanism (the target of docs/accountant.md: under 1 s per PLD query). Each iteration builds a
// fresh accountant, so the whole discretization and FFT composition is timed, for both adjacency
// directions. Run: build/bin/pld_bench (configure with -DFEDSEG_BUILD_BENCH=ON).
#include <benchmark/benchmark.h>

#include "privacy/accounting/accountant.h"
#include "privacy/accounting/pld_accountant.h"
#include "privacy/accounting/rdp_accountant.h"

namespace {

using fedseg::privacy::ComputeEpsilon;
using fedseg::privacy::PldAccountant;

// Arguments: sampling rate in thousandths, noise multiplier in tenths, steps.
void BM_PldEpsilon(benchmark::State& state) {
  const double q = static_cast<double>(state.range(0)) / 1000.0;
  const double sigma = static_cast<double>(state.range(1)) / 10.0;
  const int64_t steps = state.range(2);
  double eps = 0.0;
  for (auto _ : state) {
    PldAccountant acc;
    if (!acc.AddSampledGaussian(q, sigma, steps).ok()) state.SkipWithError("bad parameters");
    eps = acc.GetEpsilon(1e-5).value();
    benchmark::DoNotOptimize(eps);
  }
  state.counters["epsilon"] = eps;
}
BENCHMARK(BM_PldEpsilon)
    ->Args({1, 10, 10000})
    ->Args({3, 10, 10000})  // about the DP-SGD case
    ->Args({10, 10, 10000})
    ->Args({50, 20, 10000})
    ->Args({200, 40, 10000})
    ->Args({1000, 40, 1000})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime()
    ->UseRealTime();

void BM_RdpEpsilon(benchmark::State& state) {
  double eps = 0.0;
  for (auto _ : state) {
    eps = ComputeEpsilon(0.01, 1.0, 10000, 1e-5)->epsilon;
    benchmark::DoNotOptimize(eps);
  }
  state.counters["epsilon"] = eps;
}
BENCHMARK(BM_RdpEpsilon)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
