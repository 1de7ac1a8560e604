#include "common/ml/optimizer.h"

#include <cmath>

namespace fedseg::ml {
namespace {

bool Positive(double v) { return std::isfinite(v) && v > 0; }

class Adam final : public Optimizer {
 public:
  explicit Adam(const OptimizerConfig& c) : c_(c) {}

  void Step(Eigen::VectorXf& params, Eigen::VectorXf& grad) override {
    if (m_.size() != params.size()) {
      m_.setZero(params.size());
      v_.setZero(params.size());
      t_ = 0;
    }
    if (c_.weight_decay > 0) grad += static_cast<float>(c_.weight_decay) * params;
    ++t_;
    const float b1 = static_cast<float>(c_.beta1), b2 = static_cast<float>(c_.beta2);
    m_ = b1 * m_ + (1.0f - b1) * grad;
    v_ = b2 * v_ + (1.0f - b2) * grad.cwiseProduct(grad);
    // Bias corrections folded into the step size and epsilon, as in PyTorch.
    const double bc1 = 1.0 - std::pow(c_.beta1, static_cast<double>(t_));
    const double bc2 = 1.0 - std::pow(c_.beta2, static_cast<double>(t_));
    const float step = static_cast<float>(c_.learning_rate / bc1);
    const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bc2));
    const float eps = static_cast<float>(c_.epsilon);
    params.array() -= step * m_.array() / (v_.array().sqrt() * inv_sqrt_bc2 + eps);
  }
  void Reset() override {
    m_.resize(0);
    v_.resize(0);
    t_ = 0;
  }

 private:
  OptimizerConfig c_;
  Eigen::VectorXf m_, v_;
  int64_t t_ = 0;
};

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerConfig& c) : c_(c) {}

  void Step(Eigen::VectorXf& params, Eigen::VectorXf& grad) override {
    if (c_.weight_decay > 0) grad += static_cast<float>(c_.weight_decay) * params;
    const float lr = static_cast<float>(c_.learning_rate);
    if (c_.momentum > 0) {
      if (velocity_.size() != params.size()) {
        velocity_ = grad;
      } else {
        velocity_ = static_cast<float>(c_.momentum) * velocity_ + grad;
      }
      params -= lr * velocity_;
    } else {
      params -= lr * grad;
    }
  }
  void Reset() override { velocity_.resize(0); }

 private:
  OptimizerConfig c_;
  Eigen::VectorXf velocity_;
};

}  // namespace

Status OptimizerConfig::Validate() const {
  if (name != "adam" && name != "sgd") {
    return Status::InvalidArgument("optimizer must be 'adam' or 'sgd', got '" + name + "'");
  }
  if (!Positive(learning_rate)) {
    return Status::InvalidArgument("learning rate must be finite and positive, got " +
                                   std::to_string(learning_rate));
  }
  if (!(momentum >= 0 && momentum < 1)) {
    return Status::InvalidArgument("momentum must be in [0, 1), got " + std::to_string(momentum));
  }
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
    return Status::InvalidArgument("Adam betas must be in [0, 1)");
  }
  if (!Positive(epsilon)) return Status::InvalidArgument("Adam epsilon must be positive");
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay)) {
    return Status::InvalidArgument("weight decay (L2) must be finite and >= 0, got " +
                                   std::to_string(weight_decay));
  }
  return Status::OK();
}

Result<std::unique_ptr<Optimizer>> MakeOptimizer(const OptimizerConfig& config) {
  FEDSEG_RETURN_IF_ERROR(config.Validate());
  if (config.name == "sgd") return std::unique_ptr<Optimizer>(std::make_unique<Sgd>(config));
  return std::unique_ptr<Optimizer>(std::make_unique<Adam>(config));
}

}  // namespace fedseg::ml
