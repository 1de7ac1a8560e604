#include "common/ml/trainer.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace fedseg::ml {

Status TrainConfig::Validate() const {
  if (epochs < 0 || epochs > 100000) {
    return Status::InvalidArgument("epochs must be in [0, 100000], got " + std::to_string(epochs));
  }
  if (batch_size < 1 || batch_size > (1 << 20)) {
    return Status::InvalidArgument("batch size must be in [1, 1048576], got " +
                                   std::to_string(batch_size));
  }
  if (class_weight != "none" && class_weight != "balanced") {
    return Status::InvalidArgument("class weight must be 'none' or 'balanced', got '" +
                                   class_weight + "'");
  }
  if (sampling != "none" && sampling != "over" && sampling != "under") {
    return Status::InvalidArgument("sampling must be 'none', 'over' or 'under', got '" + sampling +
                                   "'");
  }
  if (early_stopping_patience < 0) {
    return Status::InvalidArgument("early stopping patience must be >= 0");
  }
  if (threads < 0) return Status::InvalidArgument("threads must be >= 0");
  if (!std::isfinite(proximal_mu) || proximal_mu < 0) {
    return Status::InvalidArgument("proximal_mu must be finite and >= 0, got " +
                                   std::to_string(proximal_mu));
  }
  return optimizer.Validate();
}

GradientComputer::GradientComputer(int threads)
    : threads_(threads > 0 ? threads : omp_get_max_threads()) {
  workspaces_.resize(threads_);
  partial_.resize(threads_);
}

double GradientComputer::Compute(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXf>& x,
                                 const int* y, const float* coef, Eigen::VectorXf* grad) {
  const Eigen::Index b = x.cols();
  // Roughly 6 flops per parameter per example for forward + backward; below ~1 Mflop a batch is
  // faster on one thread than the cost of waking the others.
  const double work = 6.0 * static_cast<double>(model.spec().num_params()) * static_cast<double>(b);
  int t = threads_;
  if (work < 1e6 || b < 2 * t) t = 1;
  if (t == 1) {
    MlpWorkspace& ws = workspaces_[0];
    double loss = ws.Forward(model, x, y, coef);
    ws.Backward(model);
    ws.Gradient(model, grad);
    return loss;
  }
  double loss = 0.0;
  int team = 1;  // OpenMP may give fewer threads than asked: sum only the partials that ran
#pragma omp parallel num_threads(t) reduction(+ : loss)
  {
    const int id = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    if (id == 0) team = nt;
    const Eigen::Index begin = b * id / nt;
    const Eigen::Index end = b * (id + 1) / nt;
    MlpWorkspace& ws = workspaces_[id];
    loss += ws.Forward(model, x.middleCols(begin, end - begin), y + begin,
                       coef ? coef + begin : nullptr);
    ws.Backward(model);
    ws.Gradient(model, &partial_[id]);
  }
  *grad = partial_[0];
  for (int i = 1; i < team; ++i) *grad += partial_[i];
  return loss;
}

double ProximalTerm(double mu, const Eigen::VectorXf& w, const Eigen::VectorXf& w0) {
  return 0.5 * mu * (w - w0).cast<double>().squaredNorm();
}

void AddProximalGradient(float mu, const Eigen::VectorXf& w, const Eigen::VectorXf& w0,
                         Eigen::VectorXf* grad) {
  *grad += mu * (w - w0);
}

Status ValidateTrainingData(const ModelSpec& spec, const data::EncodedData& data) {
  if (data.x.rows() != spec.input_dim) {
    return Status::InvalidArgument("training data has " + std::to_string(data.x.rows()) +
                                   " features, the model expects " +
                                   std::to_string(spec.input_dim));
  }
  if (data.rows() == 0) return Status::InvalidArgument("no training rows");
  if (data.y.size() != data.rows()) return Status::InvalidArgument("training data has no labels");
  for (int c : data.y) {
    if (c < 0 || c >= spec.num_classes) {
      return Status::InvalidArgument("label index " + std::to_string(c) + " out of range [0, " +
                                     std::to_string(spec.num_classes) + ")");
    }
  }
  // An infinite feature makes gradients (and DP-SGD's per-example norms) non-finite.
  if (!data.x.allFinite()) return Status::InvalidArgument("training data has non-finite features");
  return Status::OK();
}

std::vector<float> BalancedClassWeights(const std::vector<int>& y, int num_classes) {
  std::vector<double> counts(num_classes, 0.0);
  for (int c : y) counts[c] += 1.0;
  std::vector<float> w(num_classes, 0.0f);
  for (int c = 0; c < num_classes; ++c) {
    if (counts[c] > 0) w[c] = static_cast<float>(y.size() / (num_classes * counts[c]));
  }
  return w;
}

double MeanLoss(const Mlp& model, const data::EncodedData& data) {
  if (data.rows() == 0) return std::numeric_limits<double>::quiet_NaN();
  Eigen::MatrixXf probs;
  model.Predict(data.x, &probs);
  double loss = 0.0;
  for (size_t i = 0; i < data.rows(); ++i) {
    loss -= std::log(std::max(probs(data.y[i], static_cast<Eigen::Index>(i)), 1e-30f));
  }
  return loss / static_cast<double>(data.rows());
}

namespace {

// The row order of one epoch: shuffled, and re-sampled per class when asked.
std::vector<size_t> EpochOrder(const std::vector<int>& y, int num_classes,
                               const std::string& sampling, std::mt19937_64& rng) {
  std::vector<size_t> order;
  if (sampling == "none") {
    order.resize(y.size());
    std::iota(order.begin(), order.end(), size_t{0});
  } else {
    std::vector<std::vector<size_t>> by_class(num_classes);
    for (size_t i = 0; i < y.size(); ++i) by_class[y[i]].push_back(i);
    size_t target = sampling == "over" ? 0 : std::numeric_limits<size_t>::max();
    for (const auto& rows : by_class) {
      if (rows.empty()) continue;
      target = sampling == "over" ? std::max(target, rows.size()) : std::min(target, rows.size());
    }
    for (auto& rows : by_class) {
      if (rows.empty()) continue;
      if (rows.size() >= target) {  // down-sample without replacement
        std::shuffle(rows.begin(), rows.end(), rng);
        order.insert(order.end(), rows.begin(), rows.begin() + target);
      } else {  // keep every row, then draw the rest with replacement
        order.insert(order.end(), rows.begin(), rows.end());
        std::uniform_int_distribution<size_t> pick(0, rows.size() - 1);
        for (size_t k = rows.size(); k < target; ++k) order.push_back(rows[pick(rng)]);
      }
    }
  }
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

}  // namespace

Result<TrainReport> Train(Mlp& model, const data::EncodedData& train, const data::EncodedData* validation,
                          const TrainConfig& config,
                          const std::function<void(const EpochReport&)>& on_epoch) {
  FEDSEG_RETURN_IF_ERROR(config.Validate());
  const ModelSpec& spec = model.spec();
  FEDSEG_RETURN_IF_ERROR(ValidateTrainingData(spec, train));
  FEDSEG_ASSIGN_OR_RETURN(std::unique_ptr<Optimizer> opt, MakeOptimizer(config.optimizer));

  std::vector<float> class_w(spec.num_classes, 1.0f);
  if (config.class_weight == "balanced") class_w = BalancedClassWeights(train.y, spec.num_classes);

  std::mt19937_64 rng(config.seed);
  GradientComputer gc(config.threads);
  Eigen::MatrixXf xb(spec.input_dim, config.batch_size);
  std::vector<int> yb(config.batch_size);
  std::vector<float> coef(config.batch_size);
  Eigen::VectorXf grad(spec.num_params());
  // FedProx's anchor w0: the weights this call starts from (the round's global model). Copied
  // once per call; with mu = 0 it is neither kept nor used, so plain training is unchanged.
  const float mu = static_cast<float>(config.proximal_mu);
  const Eigen::VectorXf anchor = mu > 0 ? model.params() : Eigen::VectorXf();

  TrainReport report;
  double best_val = std::numeric_limits<double>::infinity();
  Eigen::VectorXf best_params = model.params();
  int since_best = 0;
  const bool early = validation != nullptr && validation->rows() > 0 &&
                     config.early_stopping_patience > 0;
  const auto t_start = std::chrono::steady_clock::now();

  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<size_t> order = EpochOrder(train.y, spec.num_classes, config.sampling, rng);
    double loss_sum = 0.0;
    size_t steps = 0;
    for (size_t start = 0; start < order.size(); start += config.batch_size) {
      const size_t b = std::min<size_t>(config.batch_size, order.size() - start);
      double wsum = 0.0;
      for (size_t i = 0; i < b; ++i) {
        const size_t r = order[start + i];
        xb.col(static_cast<Eigen::Index>(i)) = train.x.col(static_cast<Eigen::Index>(r));
        yb[i] = train.y[r];
        wsum += class_w[yb[i]];
      }
      if (wsum <= 0) continue;
      // Weighted mean cross-entropy over the batch (PyTorch's CrossEntropyLoss(weight=...)).
      const float inv = static_cast<float>(1.0 / wsum);
      for (size_t i = 0; i < b; ++i) coef[i] = class_w[yb[i]] * inv;
      loss_sum += gc.Compute(model, xb.leftCols(static_cast<Eigen::Index>(b)), yb.data(),
                             coef.data(), &grad);
      // The reported loss stays the data's cross-entropy (comparable across mu); only the
      // gradient carries the proximal term.
      if (mu > 0) AddProximalGradient(mu, model.params(), anchor, &grad);
      opt->Step(model.params(), grad);
      ++steps;
      report.examples_seen += static_cast<int64_t>(b);
    }
    if (!AllFinite(model.params())) {
      return Status::FailedPrecondition(
          "training diverged at epoch " + std::to_string(epoch) +
          " (non-finite weights); lower the learning rate");
    }
    EpochReport er;
    er.epoch = epoch;
    er.train_loss = steps ? loss_sum / static_cast<double>(steps) : 0.0;
    er.validation_loss = (validation && validation->rows() > 0)
                             ? MeanLoss(model, *validation)
                             : std::numeric_limits<double>::quiet_NaN();
    er.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report.history.push_back(er);
    report.epochs_run = epoch;
    if (on_epoch) on_epoch(er);
    if (early) {
      if (er.validation_loss < best_val - 1e-6) {
        best_val = er.validation_loss;
        best_params = model.params();
        report.best_epoch = epoch;
        since_best = 0;
      } else if (++since_best >= config.early_stopping_patience) {
        report.stopped_early = true;
        break;
      }
    }
  }
  if (early && report.best_epoch > 0) {
    model.params() = best_params;
  } else {
    report.best_epoch = report.epochs_run;
  }
  report.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return report;
}

}  // namespace fedseg::ml
