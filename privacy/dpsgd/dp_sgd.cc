#include "privacy/dpsgd/dp_sgd.h"

#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "common/ml/trainer.h"

namespace fedseg::privacy {
namespace {

// Uniforms PoissonSample draws per FillUniform call; one call covers a typical step.
constexpr size_t kUniformChunk = 256;

// DpSgdTrain checks the weights for divergence this often (and after the last step).
constexpr int64_t kFiniteCheckEvery = 64;

// What drawing the noise for one parameter costs, in examples' worth of gradient work on one
// parameter (measured with bench/dp_bench.cc: ~4 ns per Gaussian vs ~0.1 ns per example and
// parameter). Only used to balance threads.
constexpr double kNoiseCostInExamples = 40.0;
// Examples are clipped to C * (1 - kClipMargin) (see ClippedSum).
constexpr double kClipMargin = 1e-6;

}  // namespace

Status DpSgdConfig::Validate() const {
  FEDSEG_ASSIGN_OR_RETURN(DpSgdParams params, DpSgdParams::Create(clip_norm, noise_multiplier));
  FEDSEG_RETURN_IF_ERROR(params.WithSampling(sampling_rate, steps).status());
  if (threads < 0) {
    return Status::InvalidArgument("threads must be >= 0, got " + std::to_string(threads));
  }
  if (!(expected_batch >= 0) || !std::isfinite(expected_batch)) {
    return Status::InvalidArgument("expected_batch must be finite and >= 0 (0: q times the rows)");
  }
  if (!std::isfinite(proximal_mu) || proximal_mu < 0) {
    return Status::InvalidArgument("proximal_mu must be finite and >= 0, got " +
                                   std::to_string(proximal_mu));
  }
  return optimizer.Validate().WithContext("optimizer");
}

Status PoissonSample(size_t n, double q, NoiseSource& noise, std::vector<size_t>* rows) {
  rows->clear();
  FEDSEG_RETURN_IF_ERROR(DpSgdParams::CheckSamplingRate(q));
  if (q == 1) {
    for (size_t i = 0; i < n; ++i) rows->push_back(i);
    return Status::OK();
  }
  // P(gap >= k) = P(U <= (1 - q)^k) = (1 - q)^k: the number of rejected rows before the next
  // selected one, exactly as for independent Bernoulli(q) trials (up to double rounding, ~1e-16
  // relative). log1p keeps ln(1 - q) accurate for small q.
  const double log_keep = std::log1p(-q);
  double u[kUniformChunk];
  size_t used = kUniformChunk;
  double next = -1.0;  // index of the last selected row; doubles hold any realistic n exactly
  const double limit = static_cast<double>(n);
  for (;;) {
    if (used == kUniformChunk) {
      noise.FillUniform(u, kUniformChunk);
      FEDSEG_RETURN_IF_ERROR(noise.status().WithContext("Poisson sampling"));
      used = 0;
    }
    const double v = 1.0 - u[used++];  // in (0, 1]
    const double gap = std::floor(std::log(v) / log_keep);
    if (!(gap >= 0)) {  // NaN from a broken substitute source
      rows->clear();
      return Status::Internal("Poisson sampling: the noise source returned a non-uniform value");
    }
    next += 1.0 + gap;
    if (next >= limit) break;
    rows->push_back(static_cast<size_t>(next));
  }
  return Status::OK();
}

PrivateGradientComputer::PrivateGradientComputer(double clip_norm, double noise_multiplier,
                                                 double expected_batch, int threads)
    : clip_norm_(clip_norm),
      noise_multiplier_(noise_multiplier),
      expected_batch_(expected_batch),
      threads_(threads > 0 ? threads : omp_get_max_threads()) {
  workspaces_.resize(threads_);
  partial_.resize(threads_);
  norms_.resize(threads_);
  scale_.resize(threads_);
}

Result<PrivateGradientComputer> PrivateGradientComputer::Create(double clip_norm,
                                                                double noise_multiplier,
                                                                double expected_batch,
                                                                int threads) {
  FEDSEG_RETURN_IF_ERROR(DpSgdParams::Create(clip_norm, noise_multiplier).status());
  if (!(std::isfinite(expected_batch) && expected_batch > 0)) {
    return Status::InvalidArgument("expected_batch must be finite and > 0, got " +
                                   std::to_string(expected_batch));
  }
  if (threads < 0) {
    return Status::InvalidArgument("threads must be >= 0, got " + std::to_string(threads));
  }
  return PrivateGradientComputer(clip_norm, noise_multiplier, expected_batch, threads);
}

double PrivateGradientComputer::ClippedSum(int slot, const ml::Mlp& model,
                                           const Eigen::Ref<const Eigen::MatrixXf>& x, const int* y,
                                           Eigen::VectorXf* out, int64_t* clipped) {
  ml::MlpWorkspace& ws = workspaces_[slot];
  Eigen::VectorXd& norms = norms_[slot];
  Eigen::VectorXf& scale = scale_[slot];
  const double loss = ws.Forward(model, x, y, nullptr);
  ws.Backward(model);
  ws.PerExampleSquaredNorms(model, &norms);
  const Eigen::Index b = x.cols();
  scale.resize(b);
  // Norms and factors in double, and a bound a hair below C: the factor's rounding to float
  // (relative 6e-8) and the float products that apply it can then never lift a clipped
  // contribution above C, so the sensitivity the accountant assumes holds on the machine.
  const double bound = clip_norm_ * (1.0 - kClipMargin);
  const double bound2 = bound * bound;
  int64_t count = 0;
  for (Eigen::Index i = 0; i < b; ++i) {
    const double n2 = norms[i];
    if (n2 <= bound2) {
      scale[i] = 1.0f;
    } else {  // also NaN: the NaN propagates, and DpSgdTrain reports divergence
      scale[i] = static_cast<float>(bound / std::sqrt(n2));
      ++count;
    }
  }
  ws.ScaledGradient(model, scale, out);
  *clipped += count;
  return loss;
}

Result<PrivateGradientStats> PrivateGradientComputer::Compute(
    const ml::Mlp& model, const Eigen::Ref<const Eigen::MatrixXf>& x, const int* y,
    NoiseSource& noise, Eigen::VectorXf* grad) {
  const Eigen::Index p = model.spec().num_params();
  const Eigen::Index b = x.cols();
  const bool noisy = noise_multiplier_ > 0;
  const double stddev = noise_multiplier_ * clip_norm_;
  if (noisy) noise_.resize(p);
  PrivateGradientStats stats;
  stats.batch_size = b;
  // The cost model of GradientComputer (~6 flops per parameter per example; below ~1 Mflop waking
  // other threads costs more than it saves), with the noise counted as kNoiseCostInExamples
  // examples: drawing one Gaussian (~4 ns, most of it OpenSSL's AES-CTR) costs about as much as
  // 40 examples' forward + backward work on one parameter.
  const double noise_examples = noisy ? kNoiseCostInExamples : 0.0;
  int t = threads_;
  if (b == 0 || 6.0 * static_cast<double>(p) * (static_cast<double>(b) + noise_examples) < 1e6) {
    t = 1;
  }
  if (t == 1) {
    if (b == 0) {
      grad->setZero(p);
    } else {
      stats.loss_sum = ClippedSum(0, model, x, y, grad, &stats.clipped);
    }
    if (noisy) noise.FillGaussian(noise_.data(), static_cast<size_t>(p), stddev);
  } else {
    double loss = 0.0;
    int64_t clipped = 0;
    int team = 1;
#pragma omp parallel num_threads(t) reduction(+ : loss, clipped)
    {
      const int id = omp_get_thread_num();
      const int nt = omp_get_num_threads();
      if (id == 0) team = nt;
      // The noise does not depend on the data, so thread 0 draws it while the others work on the
      // batch, and takes a share of examples that evens out the threads' total work.
      Eigen::Index first = b;  // thread 0's examples: [0, first)
      if (nt > 1) {
        const double share = (static_cast<double>(b) + noise_examples) / nt - noise_examples;
        first = std::clamp<Eigen::Index>(std::llround(share), 0, b);
      }
      const Eigen::Index begin = id == 0 ? 0 : first + (b - first) * (id - 1) / (nt - 1);
      const Eigen::Index end = id == 0 ? first : first + (b - first) * id / (nt - 1);
      if (id == 0 && noisy) noise.FillGaussian(noise_.data(), static_cast<size_t>(p), stddev);
      if (end > begin) {
        loss += ClippedSum(id, model, x.middleCols(begin, end - begin), y + begin, &partial_[id],
                           &clipped);
      } else {
        partial_[id].setZero(p);
      }
    }
    // The team may be smaller than asked (nested parallelism, OMP_THREAD_LIMIT): sum only the
    // partials written in this call.
    *grad = partial_[0];
    for (int i = 1; i < team; ++i) *grad += partial_[i];
    stats.loss_sum = loss;
    stats.clipped = clipped;
  }
  if (noisy) {
    FEDSEG_RETURN_IF_ERROR(noise.status().WithContext("DP-SGD noise"));
    // Noise drawn and added in double, then one rounding to float: the float sum's low-order bits
    // do not survive next to noise of full double precision.
    *grad = ((grad->cast<double>() + noise_) * (1.0 / expected_batch_)).cast<float>();
  } else {
    *grad *= static_cast<float>(1.0 / expected_batch_);
  }
  return stats;
}

Result<DpSgdReport> DpSgdTrain(ml::Mlp& model, const data::EncodedData& train,
                               const DpSgdConfig& config, NoiseSource& noise) {
  FEDSEG_RETURN_IF_ERROR(config.Validate());
  const ml::ModelSpec& spec = model.spec();
  // Includes finite features: an infinite one would make its example's gradient norm infinite,
  // clipping could not bound it (inf * 0 is NaN) and the sensitivity argument would fail.
  FEDSEG_RETURN_IF_ERROR(ml::ValidateTrainingData(spec, train));
  FEDSEG_RETURN_IF_ERROR(noise.status().WithContext("DP-SGD noise source"));

  const size_t n = train.rows();
  // The divisor of the noisy sum. A region passes q times its public (rounded) row count: q times
  // the exact count would rescale every release by a function of the private n.
  const double expected_batch = config.expected_batch > 0
                                    ? config.expected_batch
                                    : config.sampling_rate * static_cast<double>(n);
  FEDSEG_ASSIGN_OR_RETURN(PrivateGradientComputer computer,
                          PrivateGradientComputer::Create(config.clip_norm, config.noise_multiplier,
                                                          expected_batch, config.threads));
  FEDSEG_ASSIGN_OR_RETURN(std::unique_ptr<ml::Optimizer> opt, MakeOptimizer(config.optimizer));
  if (config.noise_multiplier == 0) {
    spdlog::warn("DP-SGD with noise_multiplier 0: clipping only, NO privacy guarantee");
  }

  // Sized for a batch a few standard deviations above the expected one; grows (rarely) if a
  // step samples more.
  const double sd = std::sqrt(expected_batch * (1 - config.sampling_rate));
  Eigen::Index capacity = std::min<Eigen::Index>(
      static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(expected_batch + 6 * sd + 16));
  Eigen::MatrixXf xb(spec.input_dim, capacity);
  std::vector<int> yb(capacity);
  std::vector<size_t> rows;
  rows.reserve(capacity);
  Eigen::VectorXf grad(spec.num_params());
  // FedProx's anchor w0, the round's global model: public (the coordinator sent it), so the
  // proximal gradient built from it is post-processing. Unused, and not copied, with mu = 0.
  const float mu = static_cast<float>(config.proximal_mu);
  const Eigen::VectorXf anchor = mu > 0 ? model.params() : Eigen::VectorXf();

  DpSgdReport report;
  int64_t sampled = 0, clipped = 0;
  double loss_sum = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t step = 0; step < config.steps; ++step) {
    if (Status s = PoissonSample(n, config.sampling_rate, noise, &rows); !s.ok()) {
      return s.WithContext("DP-SGD step " + std::to_string(step + 1));
    }
    const Eigen::Index b = static_cast<Eigen::Index>(rows.size());
    if (b > capacity) {
      capacity = b;
      xb.resize(spec.input_dim, capacity);
      yb.resize(capacity);
    }
    for (Eigen::Index i = 0; i < b; ++i) {
      xb.col(i) = train.x.col(static_cast<Eigen::Index>(rows[i]));
      yb[i] = train.y[rows[i]];
    }
    FEDSEG_ASSIGN_OR_RETURN(PrivateGradientStats stats,
                            computer.Compute(model, xb.leftCols(b), yb.data(), noise, &grad));
    // After clipping and noise, never inside them: mu (w - w0) does not depend on the rows (w is
    // itself the output of earlier private steps), so adding it is free post-processing, and the
    // rows' clipped gradients keep their full norm budget C.
    if (mu > 0) ml::AddProximalGradient(mu, model.params(), anchor, &grad);
    opt->Step(model.params(), grad);
    // Non-finite weights stay non-finite, so checking every kFiniteCheckEvery steps and at the
    // end catches divergence at a fraction of the cost of checking every step.
    if (((step + 1) % kFiniteCheckEvery == 0 || step + 1 == config.steps) &&
        !ml::AllFinite(model.params())) {
      return Status::FailedPrecondition("DP-SGD diverged by step " + std::to_string(step + 1) +
                                        " (non-finite weights); lower the learning rate");
    }
    sampled += stats.batch_size;
    clipped += stats.clipped;
    loss_sum += stats.loss_sum;
    report.last_loss = b > 0 ? stats.loss_sum / static_cast<double>(b) : 0.0;
    ++report.steps;
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (report.steps > 0) {
    report.mean_batch_size = static_cast<double>(sampled) / static_cast<double>(report.steps);
  }
  if (sampled > 0) {
    report.mean_loss = loss_sum / static_cast<double>(sampled);
    report.clipped_fraction = static_cast<double>(clipped) / static_cast<double>(sampled);
  }
  return report;
}

}  // namespace fedseg::privacy
