// Google Benchmark: FedAvg's weighted average of K updates of P floats, reported in GB/s of input
// read, next to a plain memcpy of the same K*P floats in the same run. The ratio
// (aggregation GB/s / copy GB/s) is the figure the federation issue targets (>= 50%). Wall-clock
// time (UseRealTime), since the average runs on every OpenMP thread.
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <vector>

#include "coordinator/strategy.h"

namespace fedseg::coordinator {
namespace {

struct Inputs {
  std::vector<std::vector<float>> updates;
  std::vector<const float*> ptrs;
  std::vector<double> weights;
};

Inputs Make(int k, size_t p) {
  Inputs in;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int j = 0; j < k; ++j) {
    in.updates.emplace_back(p);
    for (float& v : in.updates.back()) v = u(rng);
    in.ptrs.push_back(in.updates.back().data());
    in.weights.push_back(1.0 / k);
  }
  return in;
}

void BM_WeightedAverage(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  const size_t p = static_cast<size_t>(state.range(1));
  Inputs in = Make(k, p);
  std::vector<float> out(p);
  for (auto _ : state) {
    WeightedAverage(in.ptrs, in.weights, p, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * int64_t(k) * int64_t(p) * 4);
}

// The baseline: copying the same K*P floats (each update into one destination buffer).
void BM_CopySameBytes(benchmark::State& state) {
  const int k = static_cast<int>(state.range(0));
  const size_t p = static_cast<size_t>(state.range(1));
  Inputs in = Make(k, p);
  std::vector<float> out(p * k);
  for (auto _ : state) {
    for (int j = 0; j < k; ++j) std::memcpy(out.data() + j * p, in.ptrs[j], p * 4);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * int64_t(k) * int64_t(p) * 4);
}

#define AGG_ARGS ->UseRealTime()->Args({10, 1 << 20})->Args({100, 1 << 16})->Args({9, 2 << 10})
BENCHMARK(BM_WeightedAverage) AGG_ARGS;
BENCHMARK(BM_CopySameBytes) AGG_ARGS;

}  // namespace
}  // namespace fedseg::coordinator

BENCHMARK_MAIN();
