// Optimizers over the flat parameter vector: Adam and SGD with momentum, both with optional L2
// weight decay (added to the gradient, as PyTorch's `weight_decay` does).
//
// Optimizers are separate from the model (ensmallen's split): a step reads the gradient and updates
// the parameters in place, so the same optimizer serves local training, DP-SGD (which hands it a
// noisy gradient) and server-side strategies (FedAdam/FedAvgM treat the averaged update as a
// pseudo-gradient).
#ifndef FEDSEG_COMMON_ML_OPTIMIZER_H_
#define FEDSEG_COMMON_ML_OPTIMIZER_H_

#include <Eigen/Dense>
#include <memory>
#include <string>

#include "common/base/status.h"

namespace fedseg::ml {

struct OptimizerConfig {
  std::string name = "adam";  // "adam" or "sgd"
  double learning_rate = 1e-3;
  double momentum = 0.9;       // sgd only
  double beta1 = 0.9;          // adam only
  double beta2 = 0.999;        // adam only
  double epsilon = 1e-8;       // adam only
  double weight_decay = 0.0;   // L2 coefficient

  Status Validate() const;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, learning_rate, momentum, beta1, beta2, epsilon, weight_decay);
  }
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // params -= update(grad). grad is taken by value-reference and may be modified (weight decay).
  virtual void Step(Eigen::VectorXf& params, Eigen::VectorXf& grad) = 0;
  // Forgets the moment estimates (start of a new federated round).
  virtual void Reset() = 0;
};

Result<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerConfig& config);

}  // namespace fedseg::ml

#endif  // FEDSEG_COMMON_ML_OPTIMIZER_H_
