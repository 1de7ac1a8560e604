// Aggregation strategies: how the coordinator turns a round's region updates into the next global
// model (Flower's split: the server loop knows nothing of the algorithm).
//
// Regions send deltas (local weights minus the global weights they started from) and their number
// of training examples. Every strategy first takes the example-weighted mean of the deltas (FedAvg,
// McMahan et al. 2017); FedAvg adds it to the global weights, FedAvgM (Hsu et al. 2019) runs it
// through server momentum, and FedAdam (Reddi et al. 2021, "Adaptive Federated Optimization")
// treats its negation as a pseudo-gradient for a server-side Adam step. The averaging kernel is a
// pure function, benchmarked in bench/aggregation_bench.cc.
//
// The robust strategies (coordinate-wise median, trimmed mean, Multi-Krum) replace the mean by a
// statistic a minority of arbitrary updates cannot move far; they live in robust_strategies.h and
// their breakdown points are in docs/security.md. Server-side defences that apply to every
// strategy (weight caps, outlier refusal, norm clipping, the aggregate's sanity bound) are in
// update_screen.h.
#ifndef FEDSEG_COORDINATOR_STRATEGY_H_
#define FEDSEG_COORDINATOR_STRATEGY_H_

#include <Eigen/Dense>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace fedseg::coordinator {

struct ClientUpdate {
  std::string region;
  uint64_t num_examples = 0;
  Eigen::VectorXf delta;  // local weights - global weights
};

// out[i] = sum_k weights[k] * inputs[k][i] for i < n. Cache-blocked, parallel over blocks.
void WeightedAverage(const std::vector<const float*>& inputs, const std::vector<double>& weights,
                     size_t n, float* out);

// The aggregation algorithms; their config and report names come from one table in strategy.cc.
enum class StrategyKind { kFedAvg, kFedAvgM, kFedAdam, kMedian, kTrimmedMean, kKrum };

// "fedavg", "fedavgm", "fedadam", "median", "trimmed-mean" or "krum".
std::string_view StrategyKindName(StrategyKind kind);
// The kind named `name`; an unknown name is an error listing the known ones.
Result<StrategyKind> ParseStrategyKind(std::string_view name);

// Defaults measured on the bundled table (docs/quality.md, "Server strategies"): with FedAvgM's
// classic momentum 0.9 at server step 1 the global loss oscillated (0.30 to 2.5) and FedAdam at
// step 1 diverged (AUC 0.50); at these values both end within 0.01 ROC AUC of FedAvg with a loss
// that does not climb. Use ForKind for a kind's defaults.
struct StrategyConfig {
  StrategyKind kind = StrategyKind::kFedAvg;
  double server_learning_rate = 1.0;  // fedadam: kFedAdamServerLearningRate (ForKind)
  double server_momentum = 0.5;       // fedavgm
  double beta1 = 0.9, beta2 = 0.99;   // fedadam (beta1: kFedAdamBeta1 by ForKind)
  double tau = 1e-3;                  // fedadam: adaptivity (epsilon)
  double trim_fraction = 0.2;         // trimmed-mean: share of updates dropped at each end
  int krum_byzantine = 1;             // krum: f, the number of malicious updates tolerated
  int krum_select = 0;                // krum: m updates averaged; 0 = n - f (Multi-Krum), 1 = Krum

  static constexpr double kFedAdamServerLearningRate = 0.01;
  static constexpr double kFedAdamBeta1 = 0.5;
  // The defaults of `kind` (FedAdam's server step and first-moment decay differ from the others').
  static StrategyConfig ForKind(StrategyKind kind);

  Status Validate() const;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Updates `global` in place from the round's updates (all of global's size, checked before).
  virtual Status Aggregate(const std::vector<ClientUpdate>& updates, Eigen::VectorXf* global) = 0;
  // Server-side optimizer state, for checkpoints (so a resumed run is identical).
  virtual std::vector<float> SaveState() const = 0;
  virtual Status LoadState(const std::vector<float>& state, size_t num_params) = 0;
};

Result<std::unique_ptr<Strategy>> MakeStrategy(const StrategyConfig& config);

// The example-weighted mean of the updates' deltas. Fails when there is no update, when sizes
// differ from `num_params`, or when the total example count is zero.
Result<Eigen::VectorXf> MeanDelta(const std::vector<ClientUpdate>& updates, size_t num_params);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_STRATEGY_H_
