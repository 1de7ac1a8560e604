// Google Benchmark: what differential privacy costs in local training, read from one run.
//
// BM_NonPrivateStep is GradientComputer + Adam on a fixed batch (as train_bench's BM_TrainStep);
// BM_DpSgdStep is PrivateGradientComputer (ghost norms, clipped sum, secure Gaussian noise on every
// coordinate) + Adam on the same batch. Items are examples, so items/s of the two at the same
// arguments give the DP slowdown. Shapes: 64->128->64->8 at batch 128 and the default segmentation
// model 75->64->32->2 at batch 64, on 1 and 2 threads. On a shared machine their separate runs see
// different load, so BM_DpVsNonPrivate also alternates the two steps within one loop and reports
// both rates and dp_over_nonprivate (DP throughput / non-private throughput) as counters.
// BM_DpSgdTrain runs whole DpSgdTrain calls of 100 steps (Poisson sampling and the gather
// included) at q = batch / n with n = 100 * batch; BM_SecureNoise measures the secure Gaussian
// sampler alone (items = draws). Times are wall-clock (the steps use OpenMP threads), and Eigen's
// own GEMM threading is off, as in the fedseg binaries (ConfigureThreads).
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>

#include "common/ml/mlp.h"
#include "common/ml/optimizer.h"
#include "common/ml/runtime.h"
#include "common/ml/trainer.h"
#include "privacy/dpsgd/dp_sgd.h"
#include "privacy/noise/noise.h"

namespace fedseg::privacy {
namespace {

ml::ModelSpec SpecFor(int which) {
  if (which == 0) return {64, {128, 64}, 8};
  return {75, {64, 32}, 2};
}

data::EncodedData MakeData(const ml::ModelSpec& spec, int n, uint64_t seed) {
  data::EncodedData d;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1);
  d.x.resize(spec.input_dim, n);
  for (Eigen::Index i = 0; i < d.x.size(); ++i) d.x.data()[i] = g(rng);
  for (int i = 0; i < n; ++i) d.y.push_back(i % spec.num_classes);
  return d;
}

ml::Mlp MakeModel(const ml::ModelSpec& spec) {
  ml::Mlp model = *ml::Mlp::Create(spec);
  model.InitRandom(1);
  return model;
}

void Label(benchmark::State& state, const ml::ModelSpec& spec, int batch, int threads) {
  state.SetLabel(spec.ToString() + " batch " + std::to_string(batch) + " threads " +
                 std::to_string(threads));
}

void BM_NonPrivateStep(benchmark::State& state) {
  const ml::ModelSpec spec = SpecFor(static_cast<int>(state.range(0)));
  const int batch = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  ml::Mlp model = MakeModel(spec);
  const data::EncodedData data = MakeData(spec, batch, 2);
  const std::vector<float> coef(batch, 1.0f / static_cast<float>(batch));
  ml::GradientComputer gc(threads);
  auto opt = *ml::MakeOptimizer({});
  Eigen::VectorXf grad;
  for (auto _ : state) {
    gc.Compute(model, data.x, data.y.data(), coef.data(), &grad);
    opt->Step(model.params(), grad);
    benchmark::DoNotOptimize(model.params().data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  Label(state, spec, batch, threads);
}

void BM_DpSgdStep(benchmark::State& state) {
  const ml::ModelSpec spec = SpecFor(static_cast<int>(state.range(0)));
  const int batch = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  ml::Mlp model = MakeModel(spec);
  const data::EncodedData data = MakeData(spec, batch, 2);
  auto computer = *PrivateGradientComputer::Create(/*clip_norm=*/1.0, /*noise_multiplier=*/1.0,
                                                   /*expected_batch=*/batch, threads);
  auto noise = *MakeNoiseSource();
  auto opt = *ml::MakeOptimizer({});
  Eigen::VectorXf grad;
  for (auto _ : state) {
    auto stats = computer.Compute(model, data.x, data.y.data(), *noise, &grad);
    if (!stats.ok()) {
      state.SkipWithError(stats.status().ToString().c_str());
      break;
    }
    opt->Step(model.params(), grad);
    benchmark::DoNotOptimize(model.params().data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  Label(state, spec, batch, threads);
}

void BM_DpSgdTrain(benchmark::State& state) {
  const ml::ModelSpec spec = SpecFor(static_cast<int>(state.range(0)));
  const int batch = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  ml::Mlp model = MakeModel(spec);
  const data::EncodedData data = MakeData(spec, 100 * batch, 2);
  DpSgdConfig config;
  config.sampling_rate = 0.01;
  config.steps = 100;
  config.threads = threads;
  auto noise = *MakeNoiseSource();
  int64_t examples = 0;
  for (auto _ : state) {
    auto report = DpSgdTrain(model, data, config, *noise);
    if (!report.ok()) {
      state.SkipWithError(report.status().ToString().c_str());
      break;
    }
    examples += static_cast<int64_t>(report->mean_batch_size * static_cast<double>(report->steps));
  }
  state.SetItemsProcessed(examples);
  Label(state, spec, batch, threads);
}

// Both steps in one loop, alternating which goes first, each timed on its own.
void BM_DpVsNonPrivate(benchmark::State& state) {
  const ml::ModelSpec spec = SpecFor(static_cast<int>(state.range(0)));
  const int batch = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  ml::Mlp plain = MakeModel(spec);
  ml::Mlp priv = MakeModel(spec);
  const data::EncodedData data = MakeData(spec, batch, 2);
  const std::vector<float> coef(batch, 1.0f / static_cast<float>(batch));
  ml::GradientComputer gc(threads);
  auto computer = *PrivateGradientComputer::Create(1.0, 1.0, batch, threads);
  auto noise = *MakeNoiseSource();
  auto plain_opt = *ml::MakeOptimizer({});
  auto priv_opt = *ml::MakeOptimizer({});
  Eigen::VectorXf plain_grad, priv_grad;
  double plain_s = 0, priv_s = 0;
  bool dp_first = false;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    for (int k = 0; k < 2; ++k) {
      const auto t0 = Clock::now();
      if ((k == 0) == dp_first) {
        if (!computer.Compute(priv, data.x, data.y.data(), *noise, &priv_grad).ok()) {
          state.SkipWithError("noise source failed");
          return;
        }
        priv_opt->Step(priv.params(), priv_grad);
        priv_s += std::chrono::duration<double>(Clock::now() - t0).count();
      } else {
        gc.Compute(plain, data.x, data.y.data(), coef.data(), &plain_grad);
        plain_opt->Step(plain.params(), plain_grad);
        plain_s += std::chrono::duration<double>(Clock::now() - t0).count();
      }
    }
    dp_first = !dp_first;
    benchmark::DoNotOptimize(plain.params().data());
    benchmark::DoNotOptimize(priv.params().data());
  }
  const double examples = static_cast<double>(state.iterations()) * batch;
  state.counters["nonprivate_per_s"] = examples / plain_s;
  state.counters["dp_per_s"] = examples / priv_s;
  state.counters["dp_over_nonprivate"] = plain_s / priv_s;
  Label(state, spec, batch, threads);
}

#define FEDSEG_DP_SHAPES \
  Args({0, 128, 1})->Args({0, 128, 2})->Args({1, 64, 1})->Args({1, 64, 2})->UseRealTime()
BENCHMARK(BM_NonPrivateStep)->FEDSEG_DP_SHAPES;
BENCHMARK(BM_DpSgdStep)->FEDSEG_DP_SHAPES;
BENCHMARK(BM_DpVsNonPrivate)->FEDSEG_DP_SHAPES;
BENCHMARK(BM_DpSgdTrain)->FEDSEG_DP_SHAPES;

void BM_SecureNoise(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto noise = *MakeNoiseSource();
  std::vector<float> out(n);
  for (auto _ : state) {
    noise->FillGaussian(out.data(), n, 1.0);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(n));
}
BENCHMARK(BM_SecureNoise)->Arg(17096)->Arg(7010);

}  // namespace
}  // namespace fedseg::privacy

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  fedseg::ml::ConfigureThreads(0);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
