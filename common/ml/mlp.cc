#include "common/ml/mlp.h"

#include <omp.h>

#include <cmath>
#include <random>
#include <sstream>

namespace fedseg::ml {

Status ModelSpec::Validate() const {
  if (input_dim <= 0 || input_dim > kMaxWidth) {
    return Status::InvalidArgument("input_dim must be in [1, " + std::to_string(kMaxWidth) +
                                   "], got " + std::to_string(input_dim));
  }
  if (num_classes < 2 || num_classes > kMaxWidth) {
    return Status::InvalidArgument("num_classes must be in [2, " + std::to_string(kMaxWidth) +
                                   "], got " + std::to_string(num_classes));
  }
  if (static_cast<int>(hidden.size()) >= kMaxLayers) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxLayers - 1) +
                                   " hidden layers, got " + std::to_string(hidden.size()));
  }
  for (size_t i = 0; i < hidden.size(); ++i) {
    if (hidden[i] <= 0 || hidden[i] > kMaxWidth) {
      return Status::InvalidArgument("hidden layer " + std::to_string(i + 1) + " width must be in [1, " +
                                     std::to_string(kMaxWidth) + "], got " +
                                     std::to_string(hidden[i]));
    }
  }
  // Products of widths up to 2^16 fit comfortably in int64.
  if (num_params() > kMaxParams) {
    return Status::InvalidArgument("model has " + std::to_string(num_params()) +
                                   " parameters, over the limit of " + std::to_string(kMaxParams));
  }
  return Status::OK();
}

int64_t ModelSpec::weight_offset(int l) const {
  int64_t off = 0;
  for (int k = 0; k < l; ++k) off += int64_t{layer_out(k)} * (layer_in(k) + 1);
  return off;
}

int64_t ModelSpec::num_params() const { return weight_offset(num_layers()); }

std::string ModelSpec::ToString() const {
  std::ostringstream os;
  os << input_dim;
  for (int h : hidden) os << "-" << h;
  os << "-" << num_classes;
  return os.str();
}

Result<std::vector<int>> ParseHiddenLayers(const std::string& text) {
  std::vector<int> out;
  if (text.empty() || text == "none") return out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    char* end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v <= 0 || v > ModelSpec::kMaxWidth) {
      return Status::InvalidArgument("--hidden: '" + item +
                                     "' is not a layer width (expected e.g. 64,32)");
    }
    out.push_back(static_cast<int>(v));
  }
  return out;
}

Result<Mlp> Mlp::Create(const ModelSpec& spec) {
  FEDSEG_RETURN_IF_ERROR(spec.Validate());
  Mlp m;
  m.spec_ = spec;
  m.params_.setZero(spec.num_params());
  return m;
}

Status Mlp::SetParams(const Eigen::VectorXf& params) {
  if (params.size() != params_.size()) {
    return Status::InvalidArgument("parameter vector has " + std::to_string(params.size()) +
                                   " values, the " + spec_.ToString() + " model needs " +
                                   std::to_string(params_.size()));
  }
  if (!AllFinite(params)) return Status::InvalidArgument("parameter vector has non-finite values");
  params_ = params;
  return Status::OK();
}

void Mlp::InitRandom(uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (int l = 0; l < spec_.num_layers(); ++l) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(spec_.layer_in(l)));
    std::uniform_real_distribution<float> u(-bound, bound);
    const int64_t begin = spec_.weight_offset(l);
    const int64_t end = spec_.weight_offset(l + 1);
    for (int64_t i = begin; i < end; ++i) params_[i] = u(rng);
  }
}

bool AllFinite(const Eigen::Ref<const Eigen::VectorXf>& v) { return v.allFinite(); }

namespace {

// Column-wise softmax in place; returns nothing. Subtracting the column max keeps exp() finite.
void SoftmaxColumns(Eigen::MatrixXf& z) {
  for (Eigen::Index j = 0; j < z.cols(); ++j) {
    auto col = z.col(j);
    float m = col.maxCoeff();
    col = (col.array() - m).exp();
    col /= col.sum();
  }
}

void ForwardInto(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXf>& x,
                 std::vector<Eigen::MatrixXf>& act, Eigen::MatrixXf& out) {
  const ModelSpec& spec = model.spec();
  const int L = spec.num_layers();
  act.resize(L - 1);
  for (int l = 0; l < L; ++l) {
    Eigen::MatrixXf& z = (l == L - 1) ? out : act[l];
    z.resize(spec.layer_out(l), x.cols());
    if (l == 0) {
      z.noalias() = model.W(0) * x;
    } else {
      z.noalias() = model.W(l) * act[l - 1];
    }
    z.colwise() += model.b(l);
    if (l < L - 1) z = z.cwiseMax(0.0f);
  }
  SoftmaxColumns(out);
}

}  // namespace

void Mlp::Predict(const Eigen::Ref<const Eigen::MatrixXf>& x, Eigen::MatrixXf* probs) const {
  const Eigen::Index n = x.cols();
  probs->resize(spec_.num_classes, n);
  constexpr Eigen::Index kChunk = 512;
  const Eigen::Index chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel if (chunks > 1)
  {
    std::vector<Eigen::MatrixXf> act;
    Eigen::MatrixXf out;
#pragma omp for schedule(static)
    for (Eigen::Index c = 0; c < chunks; ++c) {
      const Eigen::Index begin = c * kChunk;
      const Eigen::Index len = std::min(kChunk, n - begin);
      ForwardInto(*this, x.middleCols(begin, len), act, out);
      probs->middleCols(begin, len) = out;
    }
  }
}

double MlpWorkspace::Forward(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXf>& x,
                             const int* y, const float* coef) {
  input_copy_ = x;  // keeps the batch for Backward; batches are small
  input_ = &input_copy_;
  ForwardInto(model, input_copy_, act_, probs_);
  const Eigen::Index b = x.cols();
  labels_.assign(y, y + b);
  coef_.resize(b);
  double loss = 0.0;
  for (Eigen::Index i = 0; i < b; ++i) {
    coef_[i] = coef ? coef[i] : 1.0f;
    float p = std::max(probs_(y[i], i), 1e-30f);
    loss += static_cast<double>(coef_[i]) * -std::log(p);
  }
  return loss;
}

void MlpWorkspace::Backward(const Mlp& model) {
  const ModelSpec& spec = model.spec();
  const int L = spec.num_layers();
  const Eigen::Index b = probs_.cols();
  delta_.resize(L);
  // Softmax + cross-entropy: dCE/dz = p - onehot(y).
  Eigen::MatrixXf& top = delta_[L - 1];
  top = probs_;
  for (Eigen::Index i = 0; i < b; ++i) {
    top(labels_[i], i) -= 1.0f;
    top.col(i) *= coef_[i];
  }
  for (int l = L - 1; l > 0; --l) {
    Eigen::MatrixXf& d = delta_[l - 1];
    d.resize(spec.layer_out(l - 1), b);
    d.noalias() = model.W(l).transpose() * delta_[l];
    // ReLU: pass the signal where the unit was active.
    d = (act_[l - 1].array() > 0.0f).select(d, 0.0f);
  }
}

void MlpWorkspace::Gradient(const Mlp& model, Eigen::VectorXf* grad) const {
  const ModelSpec& spec = model.spec();
  grad->resize(spec.num_params());
  for (int l = 0; l < spec.num_layers(); ++l) LayerGradient(spec, l, delta_[l], grad);
}

void MlpWorkspace::LayerGradient(const ModelSpec& spec, int l, const Eigen::MatrixXf& d,
                                 Eigen::VectorXf* grad) const {
  Eigen::Map<Eigen::MatrixXf> gw(grad->data() + spec.weight_offset(l), spec.layer_out(l),
                                 spec.layer_in(l));
  Eigen::Map<Eigen::VectorXf> gb(grad->data() + spec.bias_offset(l), spec.layer_out(l));
  const Eigen::MatrixXf& a = (l == 0) ? *input_ : act_[l - 1];
  gw.noalias() = d * a.transpose();
  gb = d.rowwise().sum();
}

void MlpWorkspace::PerExampleSquaredNorms(const Mlp& model, Eigen::VectorXd* out) const {
  const ModelSpec& spec = model.spec();
  const Eigen::Index b = probs_.cols();
  out->setZero(b);
  for (int l = 0; l < spec.num_layers(); ++l) {
    const Eigen::MatrixXf& a = (l == 0) ? *input_ : act_[l - 1];
    const Eigen::VectorXd d2 = delta_[l].cast<double>().colwise().squaredNorm().transpose();
    const Eigen::VectorXd a2 = a.cast<double>().colwise().squaredNorm().transpose();
    out->array() += d2.array() * (a2.array() + 1.0);
  }
}

void MlpWorkspace::ScaledGradient(const Mlp& model, const Eigen::Ref<const Eigen::VectorXf>& scale,
                                  Eigen::VectorXf* grad) const {
  const ModelSpec& spec = model.spec();
  grad->resize(spec.num_params());
  for (int l = 0; l < spec.num_layers(); ++l) {
    LayerGradient(spec, l, delta_[l] * scale.asDiagonal(), grad);
  }
}

}  // namespace fedseg::ml
