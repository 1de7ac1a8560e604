// Google Benchmark: the training step (forward + backward + Adam) and inference of the MLP, at the
// shapes the issue fixes (64->128->64->8 at batch 128; the seed design 3->10->2 at batch 32) and
// the default segmentation model on the shoppers data (75->64->32->2).
#include <benchmark/benchmark.h>

#include <random>

#include "common/ml/mlp.h"
#include "common/ml/optimizer.h"
#include "common/ml/runtime.h"
#include "common/ml/trainer.h"

namespace fedseg {
namespace {

struct Setup {
  ml::Mlp model;
  Eigen::MatrixXf x;
  std::vector<int> y;
  std::vector<float> coef;
};

Setup MakeSetup(const ml::ModelSpec& spec, int batch) {
  Setup s{*ml::Mlp::Create(spec), {}, {}, {}};
  s.model.InitRandom(1);
  std::mt19937_64 rng(2);
  std::normal_distribution<float> n(0, 1);
  s.x.resize(spec.input_dim, batch);
  for (Eigen::Index i = 0; i < s.x.size(); ++i) s.x.data()[i] = n(rng);
  for (int i = 0; i < batch; ++i) {
    s.y.push_back(i % spec.num_classes);
    s.coef.push_back(1.0f / batch);
  }
  return s;
}

ml::ModelSpec SpecFor(int which) {
  switch (which) {
    case 0: return {64, {128, 64}, 8};
    case 1: return {3, {10}, 2};
    default: return {75, {64, 32}, 2};
  }
}

void BM_TrainStep(benchmark::State& state) {
  const ml::ModelSpec spec = SpecFor(static_cast<int>(state.range(0)));
  const int batch = static_cast<int>(state.range(1));
  const int threads = static_cast<int>(state.range(2));
  Setup s = MakeSetup(spec, batch);
  ml::GradientComputer gc(threads);
  auto opt = *ml::MakeOptimizer({});
  Eigen::VectorXf grad;
  for (auto _ : state) {
    gc.Compute(s.model, s.x, s.y.data(), s.coef.data(), &grad);
    opt->Step(s.model.params(), grad);
    benchmark::DoNotOptimize(s.model.params().data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(spec.ToString() + " batch " + std::to_string(batch) + " threads " +
                 std::to_string(threads));
}
BENCHMARK(BM_TrainStep)
    ->Args({0, 128, 1})
    ->Args({0, 128, 2})
    ->Args({1, 32, 1})
    ->Args({2, 64, 1})
    ->Args({2, 64, 2});

void BM_Predict(benchmark::State& state) {
  const ml::ModelSpec spec = SpecFor(static_cast<int>(state.range(0)));
  const int n = static_cast<int>(state.range(1));
  Setup s = MakeSetup(spec, n);
  Eigen::MatrixXf probs;
  for (auto _ : state) {
    s.model.Predict(s.x, &probs);
    benchmark::DoNotOptimize(probs.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetLabel(spec.ToString());
}
BENCHMARK(BM_Predict)->Args({0, 10000})->Args({1, 10000})->Args({2, 12330});

}  // namespace
}  // namespace fedseg

int main(int argc, char** argv) {
  fedseg::ml::ConfigureThreads(0);  // Eigen's own threads off, as in the executables
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
