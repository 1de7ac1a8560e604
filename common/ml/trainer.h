// Local (non-private) training of the MLP on one node: mini-batch Adam/SGD, class weights,
// random over-/under-sampling, early stopping on a validation split, and a data-parallel batch
// gradient over OpenMP threads.
//
// The same Train() runs a region's local epochs inside a federated round (starting from the global
// weights) and the single-node baseline. DP-SGD (privacy/) reuses GradientComputer's building
// blocks but samples and clips differently.
#ifndef FEDSEG_COMMON_ML_TRAINER_H_
#define FEDSEG_COMMON_ML_TRAINER_H_

#include <functional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/data/schema.h"
#include "common/ml/mlp.h"
#include "common/ml/optimizer.h"

namespace fedseg::ml {

struct TrainConfig {
  int epochs = 30;                    // passes over the (re-sampled) training rows
  int batch_size = 64;                // rows per step
  OptimizerConfig optimizer;          // adam, lr 1e-3 by default
  std::string class_weight = "none";  // "none" or "balanced" (n / (K * n_c), as scikit-learn)
  std::string sampling = "none";      // "none", "over" (minority up) or "under" (majority down)
  uint64_t seed = 42;                 // shuffling, sampling (initialisation is the caller's)
  int early_stopping_patience = 0;    // stop after this many epochs without a better validation
                                      // loss and restore the best weights; 0 = off
  int threads = 0;                    // OpenMP threads for the batch gradient; 0 = default
  // FedProx's mu (Li et al., MLSys 2020): minimise loss + (mu/2) ||w - w0||^2 with w0 the weights
  // Train() starts from (a federated round's global model). Finite and >= 0; 0 = off, and then
  // the result is bit-identical to training without the term.
  double proximal_mu = 0.0;

  Status Validate() const;
};

struct EpochReport {
  int epoch = 0;               // 1-based
  double train_loss = 0.0;     // mean (weighted) cross-entropy over the epoch's steps
  double validation_loss = 0;  // NaN when there is no validation set
  double seconds = 0.0;
};

struct TrainReport {
  std::vector<EpochReport> history;
  int epochs_run = 0;
  int best_epoch = 0;  // epoch whose weights were kept (epochs_run without early stopping)
  bool stopped_early = false;
  int64_t examples_seen = 0;
  double seconds = 0.0;
};

// Data-parallel gradient of one batch: the batch's columns are split across OpenMP threads, each
// with its own workspace, and the partial gradients are summed. Small batches run on one thread,
// where a parallel region would cost more than it saves.
class GradientComputer {
 public:
  explicit GradientComputer(int threads = 0);
  // grad = d/dparams of sum_i coef_i * CE_i over the batch columns; returns that loss.
  double Compute(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXf>& x, const int* y,
                 const float* coef, Eigen::VectorXf* grad);

 private:
  int threads_;
  std::vector<MlpWorkspace> workspaces_;
  std::vector<Eigen::VectorXf> partial_;
};

// FedProx's proximal term (Li et al., MLSys 2020, eq. 2): (mu/2) ||w - w0||^2, in double.
double ProximalTerm(double mu, const Eigen::VectorXf& w, const Eigen::VectorXf& w0);

// *grad += mu (w - w0), the proximal term's gradient, in place: one fused Eigen loop without a
// temporary, since it runs after every local step (and DP-SGD's, privacy/dpsgd/dp_sgd.cc).
void AddProximalGradient(float mu, const Eigen::VectorXf& w, const Eigen::VectorXf& w0,
                         Eigen::VectorXf* grad);

// Checks that `data` can train `spec`: at least one row, labels for every row, every label a class
// of the model, feature count equal to the model's input, all features finite.
Status ValidateTrainingData(const ModelSpec& spec, const data::EncodedData& data);

// n / (K * n_c) per class (0 for an absent class), as scikit-learn's class_weight="balanced".
std::vector<float> BalancedClassWeights(const std::vector<int>& y, int num_classes);

// Mean cross-entropy of the model on data (with labels).
double MeanLoss(const Mlp& model, const data::EncodedData& data);

// Trains `model` in place on `train`; `validation` may be null (no early stopping then).
// `on_epoch` (may be empty) is called after every epoch, for progress display.
Result<TrainReport> Train(Mlp& model, const data::EncodedData& train, const data::EncodedData* validation,
                          const TrainConfig& config,
                          const std::function<void(const EpochReport&)>& on_epoch = {});

}  // namespace fedseg::ml

#endif  // FEDSEG_COMMON_ML_TRAINER_H_
