// fedseg_mlp_throughput: trains an MLP on synthetic data exactly as ../shared/peers/
// torch_mlp_bench.py does (X ~ N(0, 1), labels = argmax(X W) for a random W, Adam, lr 1e-3, one
// shuffled pass per epoch) and prints `samples_per_s=<float> final_loss=<float> seconds=<float>`,
// so scripts/bench_vs_pytorch.sh can compare the two on the same machine in one run.
//
// With --dp-clip C (> 0) it trains with DP-SGD instead, like the peer's --dp-clip/--dp-sigma:
// privacy::DpSgdTrain with clip norm C, noise multiplier --dp-sigma, the secure noise source, the
// same Adam, and Poisson sampling at q = batch / samples (expected batch = --batch) for as many
// steps as the non-private run takes. samples_per_s counts the rows actually sampled.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>
#include <random>

#include "common/ml/mlp.h"
#include "common/ml/optimizer.h"
#include "common/ml/runtime.h"
#include "common/ml/trainer.h"
#include "privacy/dpsgd/dp_sgd.h"
#include "privacy/noise/noise.h"

int main(int argc, char** argv) {
  using namespace fedseg;
  CLI::App app{"fedseg MLP training throughput on synthetic data (peer of torch_mlp_bench.py)"};
  int features = 64, classes = 8, batch = 128, samples = 200000, epochs = 1, threads = 2;
  std::string hidden = "128,64";
  double lr = 1e-3, dp_clip = 0.0, dp_sigma = 1.0;
  app.add_option("--features", features)->capture_default_str();
  app.add_option("--hidden", hidden)->capture_default_str();
  app.add_option("--classes", classes)->capture_default_str();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--samples", samples)->capture_default_str();
  app.add_option("--epochs", epochs)->capture_default_str();
  app.add_option("--threads", threads)->capture_default_str();
  app.add_option("--lr", lr)->capture_default_str();
  app.add_option("--dp-clip", dp_clip, "per-example clipping norm; 0 = no DP")
      ->capture_default_str();
  app.add_option("--dp-sigma", dp_sigma, "DP-SGD noise multiplier")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto h = ml::ParseHiddenLayers(hidden);
  if (!h.ok()) {
    std::fprintf(stderr, "error: %s\n", h.status().message().c_str());
    return 2;
  }
  auto model_or = ml::Mlp::Create({features, *h, classes});
  if (!model_or.ok()) {
    std::fprintf(stderr, "error: %s\n", model_or.status().message().c_str());
    return 2;
  }
  ml::Mlp model = std::move(*model_or);
  model.InitRandom(0);
  ml::ConfigureThreads(threads);

  std::mt19937_64 rng(0);
  std::normal_distribution<float> n01(0, 1);
  Eigen::MatrixXf x(features, samples), w(features, classes);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = n01(rng);
  for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = n01(rng);
  std::vector<int> y(samples);
  Eigen::MatrixXf scores = w.transpose() * x;
  for (int i = 0; i < samples; ++i) {
    Eigen::Index c = 0;
    scores.col(i).maxCoeff(&c);
    y[i] = static_cast<int>(c);
  }

  ml::OptimizerConfig oc;
  oc.learning_rate = lr;
  if (dp_clip > 0) {
    privacy::DpSgdConfig dc;
    dc.sampling_rate = std::min(1.0, static_cast<double>(batch) / samples);
    dc.noise_multiplier = dp_sigma;
    dc.clip_norm = dp_clip;
    dc.steps = static_cast<int64_t>(epochs) * ((samples + batch - 1) / batch);
    dc.optimizer = oc;
    dc.threads = threads;
    auto noise = privacy::MakeNoiseSource();
    if (!noise.ok()) {
      std::fprintf(stderr, "error: %s\n", noise.status().ToString().c_str());
      return 1;
    }
    data::EncodedData data;
    data.x = std::move(x);
    data.y = std::move(y);
    const auto t0 = std::chrono::steady_clock::now();
    auto report = privacy::DpSgdTrain(model, data, dc, **noise);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!report.ok()) {
      std::fprintf(stderr, "error: %s\n", report.status().ToString().c_str());
      return 1;
    }
    const double seen = report->mean_batch_size * static_cast<double>(report->steps);
    std::printf("samples_per_s=%.1f final_loss=%.4f seconds=%.3f\n", seen / dt, report->last_loss,
                dt);
    std::fprintf(stderr, "dp-sgd: q=%.6g steps=%lld mean_batch=%.2f clipped_fraction=%.3f\n",
                 dc.sampling_rate, static_cast<long long>(report->steps), report->mean_batch_size,
                 report->clipped_fraction);
    return 0;
  }
  auto opt = *ml::MakeOptimizer(oc);
  ml::GradientComputer gc(threads);
  Eigen::MatrixXf xb(features, batch);
  std::vector<int> yb(batch);
  std::vector<float> coef(batch);
  Eigen::VectorXf grad;
  std::vector<int> perm(samples);
  double loss = 0;
  long long seen = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int ep = 0; ep < epochs; ++ep) {
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int start = 0; start < samples; start += batch) {
      const int b = std::min(batch, samples - start);
      for (int i = 0; i < b; ++i) {
        xb.col(i) = x.col(perm[start + i]);
        yb[i] = y[perm[start + i]];
        coef[i] = 1.0f / static_cast<float>(b);
      }
      loss = gc.Compute(model, xb.leftCols(b), yb.data(), coef.data(), &grad);
      opt->Step(model.params(), grad);
      seen += b;
    }
  }
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("samples_per_s=%.1f final_loss=%.4f seconds=%.3f\n", seen / dt, loss, dt);
  return 0;
}
