// DP-SGD: differentially private local training of the MLP (Abadi et al. 2016, "Deep learning
// with differential privacy", Algorithm 1), with the Poisson subsampling the RDP accountant
// (privacy/accounting/rdp_accountant.h) assumes.
//
// Each step includes every training row independently with probability q, computes each sampled
// row's own gradient g_i of its cross-entropy, clips it to L2 norm C (g_i * min(1, C / |g_i|)),
// sums the clipped gradients, adds N(0, sigma^2 C^2) to every coordinate and divides by the
// EXPECTED batch size q n. Dividing by the realised size would make the divisor depend on the data;
// with the fixed divisor, adding or removing one row moves the sum by at most C, which is the
// sensitivity the sampled Gaussian mechanism of the accountant is computed for. The optimizer
// (Adam, SGD, weight decay) only post-processes the privatised gradient.
//
// Per-example norms come from MlpWorkspace's ghost norms and the clipped sum from its one-pass
// ScaledGradient, so per-example gradients are never materialised (Goodfellow 2015, "Efficient
// per-example gradient computations"; Lee and Kifer 2021). Large batches are split across OpenMP
// threads as in GradientComputer.
//
// Floating point: per-example squared norms and clipping factors are computed in double and
// examples are clipped to C * (1 - 1e-6), so the float rounding of the factor and of the products
// that apply it never lifts a clipped contribution above C; the noise is drawn in double and
// added to the clipped sum in double before one rounding to float (dp_sgd_test.cc:
// ExamplesWhoseFloatClippingExceedsTheClipNormStayWithinItNow shows examples on which the former
// all-float arithmetic exceeded C).
//
// FedProx (DpSgdConfig::proximal_mu): the proximal gradient mu (w - w0) is a function of the
// current weights and the round's global model only, never of the rows, so it is added to the
// privatised gradient AFTER clipping and noise, like the optimizer's weight decay. It is
// post-processing of the noisy release and costs no privacy: the accountant's sensitivity (C per
// row) and noise are exactly those of plain DP-SGD. Added per example before clipping, it would
// use up part of every row's norm budget C and be clipped with the data's signal.
//
// What is private: the model parameters after training (and anything computed from them only).
// The losses, batch sizes and clipping counts in DpSgdReport and PrivateGradientStats are computed
// from the raw data without noise: use them for local logs only, never send them to a peer.
#ifndef FEDSEG_PRIVACY_DPSGD_DP_SGD_H_
#define FEDSEG_PRIVACY_DPSGD_DP_SGD_H_

#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "common/base/status.h"
#include "common/data/schema.h"
#include "common/ml/mlp.h"
#include "common/ml/optimizer.h"
#include "privacy/dpsgd/dp_sgd_params.h"
#include "privacy/noise/noise.h"

namespace fedseg::privacy {

struct DpSgdConfig {
  // q: each row joins a step independently with probability q (Poisson subsampling). In (0, 1].
  double sampling_rate = 0.01;
  // sigma: the noise standard deviation in units of clip_norm. 0 gives no privacy (tests only;
  // DpSgdTrain logs a warning).
  double noise_multiplier = 1.0;
  // C: every example's gradient is scaled down to at most this L2 norm.
  double clip_norm = 1.0;
  // Optimizer steps, i.e. noisy releases the accountant must count.
  int64_t steps = 100;
  // Applied to the privatised gradient (post-processing).
  ml::OptimizerConfig optimizer;
  // OpenMP threads for the per-step gradient; 0 = the OpenMP default.
  int threads = 0;
  // What the noisy gradient sum is divided by; 0 = q times the training rows. A public value
  // (q times the region's declared row count) keeps the release a function of public numbers only.
  double expected_batch = 0.0;
  // FedProx's mu: each step's privatised gradient gets + mu (w - w0), w0 the weights DpSgdTrain
  // starts from (see the top of this file: no privacy cost). Finite and >= 0; 0 = off.
  double proximal_mu = 0.0;

  // Checks q, sigma, C and steps with DpSgdParams (privacy/dpsgd/dp_sgd_params.h), then threads,
  // proximal_mu and the optimizer.
  Status Validate() const;
};

// Statistics of a run. NOT private (see the top of this file): local logs only.
struct DpSgdReport {
  int64_t steps = 0;
  double mean_batch_size = 0;   // realised sampled rows per step
  double mean_loss = 0;         // cross-entropy per sampled row, before each step's update
  double last_loss = 0;         // mean cross-entropy of the final step's sample (0 if it was empty)
  double clipped_fraction = 0;  // share of sampled rows whose gradient norm exceeded clip_norm
  double seconds = 0;
};

// Runs DP-SGD on `model` in place; see the top of this file. Every random choice (sampling and
// noise) comes from `noise`. Fails without changing the model on invalid config or data
// (mismatched dimensions, missing or out-of-range labels, non-finite features, no rows). If the
// noise source fails mid-run, returns its error before applying the affected step: the model then
// holds the result of the completed steps, each fully privatised. Diverging (non-finite weights)
// is a FailedPrecondition.
Result<DpSgdReport> DpSgdTrain(ml::Mlp& model, const data::EncodedData& train,
                               const DpSgdConfig& config, NoiseSource& noise);

// Poisson subsampling: *rows = the indices in [0, n) that each pass an independent
// Bernoulli(q) trial, in increasing order. Instead of n uniforms it draws the gaps between
// selected rows, which are i.i.d. Geometric(q) for Bernoulli trials, by inversion
// (floor(ln U / ln(1 - q)) with U uniform in (0, 1]): O(q n) uniforms, same distribution. q must be
// in (0, 1]. Fails (with *rows empty) if the noise source has failed.
Status PoissonSample(size_t n, double q, NoiseSource& noise, std::vector<size_t>* rows);

// What one privatised gradient saw. NOT private: local logs only.
struct PrivateGradientStats {
  int64_t batch_size = 0;  // examples in the batch
  int64_t clipped = 0;     // examples whose gradient norm exceeded clip_norm
  double loss_sum = 0;     // summed cross-entropy of the batch, before the update
};

// One privatised gradient for a given batch (the core of a DP-SGD step, exposed for tests and
// benchmarks):
//   grad = (sum_i g_i * min(1, C / |g_i|) + N(0, sigma^2 C^2 I)) / expected_batch,
// g_i = the gradient of example i's cross-entropy. Keeps its buffers and per-thread workspaces
// between calls. Not thread-safe.
class PrivateGradientComputer {
 public:
  // clip_norm C finite and > 0, noise_multiplier sigma finite and >= 0, expected_batch (q n) finite
  // and > 0, threads >= 0 (0 = the OpenMP default).
  static Result<PrivateGradientComputer> Create(double clip_norm, double noise_multiplier,
                                                double expected_batch, int threads = 0);

  // x: input_dim x b batch, y: b labels (b may be 0: then grad is pure noise). Fails only if the
  // noise source has failed; *grad must then not be used.
  Result<PrivateGradientStats> Compute(const ml::Mlp& model,
                                       const Eigen::Ref<const Eigen::MatrixXf>& x, const int* y,
                                       NoiseSource& noise, Eigen::VectorXf* grad);

  double clip_norm() const { return clip_norm_; }
  double noise_multiplier() const { return noise_multiplier_; }
  double expected_batch() const { return expected_batch_; }

 private:
  PrivateGradientComputer(double clip_norm, double noise_multiplier, double expected_batch,
                          int threads);

  // Clipped gradient sum of one slice of the batch into *out; returns its loss.
  double ClippedSum(int slot, const ml::Mlp& model, const Eigen::Ref<const Eigen::MatrixXf>& x,
                    const int* y, Eigen::VectorXf* out, int64_t* clipped);

  double clip_norm_;
  double noise_multiplier_;
  double expected_batch_;
  int threads_;
  std::vector<ml::MlpWorkspace> workspaces_;  // one per thread
  std::vector<Eigen::VectorXf> partial_;      // per-thread clipped sums
  std::vector<Eigen::VectorXd> norms_;        // per-thread squared norms (double: see ClippedSum)
  std::vector<Eigen::VectorXf> scale_;        // per-thread clipping factors
  Eigen::VectorXd noise_;                     // drawn and added in double
};

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_DPSGD_DP_SGD_H_
