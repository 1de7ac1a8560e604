// The segmentation model: a multi-layer perceptron (dense ReLU layers, softmax output, cross-entropy
// loss) whose weights live in one flat parameter vector.
//
// Layer l (0-based) maps in_l -> out_l with a weight matrix W_l (out_l x in_l, column-major) followed
// by a bias b_l; both are views into the flat vector at fixed offsets (mlpack's layout). Averaging,
// clipping, noising, serializing and validating a model are then operations on one vector, which is
// exactly what FedAvg and DP-SGD need. Data is laid out one column per example, so a mini-batch is
// a block of columns and every layer is one matrix product.
#ifndef FEDSEG_COMMON_ML_MLP_H_
#define FEDSEG_COMMON_ML_MLP_H_

#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "common/base/serialization.h"
#include "common/base/status.h"

namespace fedseg::ml {

// The architecture: input width, hidden widths, number of classes.
struct ModelSpec {
  int input_dim = 0;
  std::vector<int> hidden;
  int num_classes = 0;

  // Limits keep hostile specs from asking for absurd allocations.
  static constexpr int kMaxWidth = 1 << 16;
  static constexpr int kMaxLayers = 32;
  static constexpr int64_t kMaxParams = int64_t{1} << 28;

  Status Validate() const;
  int num_layers() const { return static_cast<int>(hidden.size()) + 1; }
  int layer_in(int l) const { return l == 0 ? input_dim : hidden[l - 1]; }
  int layer_out(int l) const { return l == num_layers() - 1 ? num_classes : hidden[l]; }
  int64_t weight_offset(int l) const;
  int64_t bias_offset(int l) const { return weight_offset(l) + int64_t{layer_out(l)} * layer_in(l); }
  int64_t num_params() const;
  std::string ToString() const;  // "17-64-32-2"
  bool operator==(const ModelSpec&) const = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(input_dim, hidden, num_classes);
  }
};

// Parses "64,32" (or "" for no hidden layer) into widths.
Result<std::vector<int>> ParseHiddenLayers(const std::string& text);

class Mlp {
 public:
  Mlp() = default;
  static Result<Mlp> Create(const ModelSpec& spec);

  const ModelSpec& spec() const { return spec_; }
  Eigen::VectorXf& params() { return params_; }
  const Eigen::VectorXf& params() const { return params_; }
  // Replaces the parameters; fails on a size mismatch or a non-finite value.
  Status SetParams(const Eigen::VectorXf& params);

  // PyTorch's default initialisation: W, b ~ U(-1/sqrt(in), 1/sqrt(in)), deterministic in seed.
  void InitRandom(uint64_t seed);

  Eigen::Map<const Eigen::MatrixXf> W(int l) const {
    return {params_.data() + spec_.weight_offset(l), spec_.layer_out(l), spec_.layer_in(l)};
  }
  Eigen::Map<const Eigen::VectorXf> b(int l) const {
    return {params_.data() + spec_.bias_offset(l), spec_.layer_out(l)};
  }

  // Class probabilities for x (input_dim x n): probs is resized to num_classes x n. Parallel over
  // chunks of columns with OpenMP.
  void Predict(const Eigen::Ref<const Eigen::MatrixXf>& x, Eigen::MatrixXf* probs) const;

 private:
  ModelSpec spec_;
  Eigen::VectorXf params_;
};

// True iff every value is finite.
bool AllFinite(const Eigen::Ref<const Eigen::VectorXf>& v);

// Reusable buffers for the forward and backward passes of one mini-batch. Not thread-safe: one
// workspace per thread.
class MlpWorkspace {
 public:
  // Forward pass over x (input_dim x b). Keeps activations for Backward and returns the summed
  // cross-entropy sum_i coef_i * -log p_i[y_i] (coef = nullptr means 1 for every example).
  double Forward(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXf>& x, const int* y,
                 const float* coef);

  // Backward pass after Forward: the per-example error signals of every layer, for the loss
  // sum_i coef_i * CE_i. Everything below is linear in each example's column of these signals.
  void Backward(const Mlp& model);

  // Gradient of sum_i coef_i * CE_i with respect to the flat parameters (resized as needed).
  void Gradient(const Mlp& model, Eigen::VectorXf* grad) const;

  // Squared L2 norm of each example's own gradient, without materialising per-example gradients:
  // for a dense layer the example's weight gradient is the outer product d_i a_i^T, whose squared
  // Frobenius norm is |d_i|^2 |a_i|^2 (plus |d_i|^2 for the bias). Used for DP-SGD clipping, so
  // accumulated in double: a float sum of thousands of squares can come out below the true norm
  // by ~1e-4 relative, enough for a clipped contribution to exceed the clip norm.
  void PerExampleSquaredNorms(const Mlp& model, Eigen::VectorXd* out) const;

  // Gradient of sum_i scale_i * coef_i * CE_i: each example's gradient scaled before summing (the
  // clipped sum of DP-SGD), in one pass.
  void ScaledGradient(const Mlp& model, const Eigen::Ref<const Eigen::VectorXf>& scale,
                      Eigen::VectorXf* grad) const;

  // Class probabilities of the last Forward (num_classes x b).
  const Eigen::MatrixXf& probs() const { return probs_; }

 private:
  // Weight and bias gradient of layer l from its per-example error signals d (out_l x b).
  void LayerGradient(const ModelSpec& spec, int l, const Eigen::MatrixXf& d,
                     Eigen::VectorXf* grad) const;

  const Eigen::MatrixXf* input_ = nullptr;     // the batch of the last Forward
  Eigen::MatrixXf input_copy_;                 // used when the batch is not a plain matrix
  std::vector<Eigen::MatrixXf> act_;           // act_[l]: output of hidden layer l (post-ReLU)
  std::vector<Eigen::MatrixXf> delta_;         // delta_[l]: dLoss/dZ_l per example
  Eigen::MatrixXf probs_;
  std::vector<int> labels_;
  std::vector<float> coef_;
};

}  // namespace fedseg::ml

#endif  // FEDSEG_COMMON_ML_MLP_H_
