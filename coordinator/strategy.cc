#include "coordinator/strategy.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>

#include "coordinator/robust_strategies.h"

namespace fedseg::coordinator {

void WeightedAverage(const std::vector<const float*>& inputs, const std::vector<double>& weights,
                     size_t n, float* out) {
  // Blocks of 4096 floats (16 KiB) keep the output block in L1 while each input streams through
  // once; a single pass reads every input byte exactly once and writes the output once.
  constexpr size_t kBlock = 4096;
  const size_t k = inputs.size();
  const size_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<float> w(weights.begin(), weights.end());
#pragma omp parallel for schedule(static) if (n >= (size_t{1} << 16))
  for (size_t b = 0; b < blocks; ++b) {
    const size_t begin = b * kBlock;
    const size_t len = std::min(kBlock, n - begin);
    Eigen::Map<Eigen::ArrayXf> o(out + begin, static_cast<Eigen::Index>(len));
    if (k == 0) {
      o.setZero();
      continue;
    }
    o = w[0] * Eigen::Map<const Eigen::ArrayXf>(inputs[0] + begin, static_cast<Eigen::Index>(len));
    for (size_t j = 1; j < k; ++j) {
      o += w[j] * Eigen::Map<const Eigen::ArrayXf>(inputs[j] + begin, static_cast<Eigen::Index>(len));
    }
  }
}

namespace {

struct StrategyKindEntry {
  StrategyKind kind;
  std::string_view name;
};
constexpr StrategyKindEntry kStrategyKinds[] = {
    {StrategyKind::kFedAvg, "fedavg"},
    {StrategyKind::kFedAvgM, "fedavgm"},
    {StrategyKind::kFedAdam, "fedadam"},
    {StrategyKind::kMedian, "median"},
    {StrategyKind::kTrimmedMean, "trimmed-mean"},
    {StrategyKind::kKrum, "krum"},
};

}  // namespace

std::string_view StrategyKindName(StrategyKind kind) {
  for (const StrategyKindEntry& e : kStrategyKinds) {
    if (e.kind == kind) return e.name;
  }
  return "unknown";
}

Result<StrategyKind> ParseStrategyKind(std::string_view name) {
  std::string known;
  for (size_t i = 0; i < std::size(kStrategyKinds); ++i) {
    if (kStrategyKinds[i].name == name) return kStrategyKinds[i].kind;
    known += i == 0 ? "" : i + 1 == std::size(kStrategyKinds) ? " or " : ", ";
    known += "'" + std::string(kStrategyKinds[i].name) + "'";
  }
  return Status::InvalidArgument("strategy must be " + known + ", got '" + std::string(name) + "'");
}

StrategyConfig StrategyConfig::ForKind(StrategyKind kind) {
  StrategyConfig c;
  c.kind = kind;
  if (kind == StrategyKind::kFedAdam) {
    c.server_learning_rate = kFedAdamServerLearningRate;
    c.beta1 = kFedAdamBeta1;
  }
  return c;
}

Status StrategyConfig::Validate() const {
  if (StrategyKindName(kind) == "unknown") {
    return Status::InvalidArgument("strategy kind " + std::to_string(static_cast<int>(kind)) +
                                   " is not a known strategy");
  }
  if (!(server_learning_rate > 0) || !std::isfinite(server_learning_rate)) {
    return Status::InvalidArgument("server_learning_rate must be finite and positive");
  }
  if (!(server_momentum >= 0 && server_momentum < 1)) {
    return Status::InvalidArgument("server_momentum must be in [0, 1)");
  }
  if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
    return Status::InvalidArgument("fedadam betas must be in [0, 1)");
  }
  if (!(tau > 0)) return Status::InvalidArgument("fedadam tau must be positive");
  if (!(trim_fraction >= 0 && trim_fraction < 0.5)) {
    return Status::InvalidArgument("trim_fraction must be in [0, 0.5)");
  }
  if (krum_byzantine < 0) return Status::InvalidArgument("krum_byzantine must be >= 0");
  if (krum_select < 0) return Status::InvalidArgument("krum_select must be >= 0 (0 = n - f)");
  return Status::OK();
}

Result<Eigen::VectorXf> MeanDelta(const std::vector<ClientUpdate>& updates, size_t num_params) {
  if (updates.empty()) return Status::InvalidArgument("no updates to aggregate");
  double total = 0;
  for (const ClientUpdate& u : updates) {
    if (static_cast<size_t>(u.delta.size()) != num_params) {
      return Status::InvalidArgument("update from region '" + u.region + "' has " +
                                     std::to_string(u.delta.size()) + " values, expected " +
                                     std::to_string(num_params));
    }
    total += static_cast<double>(u.num_examples);
  }
  if (total <= 0) return Status::InvalidArgument("updates carry no training examples");
  std::vector<const float*> ptrs;
  std::vector<double> w;
  for (const ClientUpdate& u : updates) {
    ptrs.push_back(u.delta.data());
    w.push_back(static_cast<double>(u.num_examples) / total);
  }
  Eigen::VectorXf mean(static_cast<Eigen::Index>(num_params));
  WeightedAverage(ptrs, w, num_params, mean.data());
  return mean;
}

namespace {

class FedAvg final : public Strategy {
 public:
  std::string name() const override { return std::string(StrategyKindName(StrategyKind::kFedAvg)); }
  Status Aggregate(const std::vector<ClientUpdate>& updates, Eigen::VectorXf* global) override {
    FEDSEG_ASSIGN_OR_RETURN(Eigen::VectorXf mean, MeanDelta(updates, global->size()));
    *global += mean;
    return Status::OK();
  }
  std::vector<float> SaveState() const override { return {}; }
  Status LoadState(const std::vector<float>& state, size_t) override {
    return state.empty() ? Status::OK() : Status::Corruption("fedavg has no state");
  }
};

class FedAvgM final : public Strategy {
 public:
  explicit FedAvgM(const StrategyConfig& c) : c_(c) {}
  std::string name() const override { return std::string(StrategyKindName(StrategyKind::kFedAvgM)); }
  Status Aggregate(const std::vector<ClientUpdate>& updates, Eigen::VectorXf* global) override {
    FEDSEG_ASSIGN_OR_RETURN(Eigen::VectorXf mean, MeanDelta(updates, global->size()));
    if (velocity_.size() != global->size()) velocity_.setZero(global->size());
    velocity_ = static_cast<float>(c_.server_momentum) * velocity_ + mean;
    *global += static_cast<float>(c_.server_learning_rate) * velocity_;
    return Status::OK();
  }
  std::vector<float> SaveState() const override {
    return {velocity_.data(), velocity_.data() + velocity_.size()};
  }
  Status LoadState(const std::vector<float>& s, size_t n) override {
    if (!s.empty() && s.size() != n) return Status::Corruption("fedavgm state has a wrong size");
    velocity_ = Eigen::Map<const Eigen::VectorXf>(s.data(), static_cast<Eigen::Index>(s.size()));
    return Status::OK();
  }

 private:
  StrategyConfig c_;
  Eigen::VectorXf velocity_;
};

class FedAdam final : public Strategy {
 public:
  explicit FedAdam(const StrategyConfig& c) : c_(c) {}
  std::string name() const override { return std::string(StrategyKindName(StrategyKind::kFedAdam)); }
  Status Aggregate(const std::vector<ClientUpdate>& updates, Eigen::VectorXf* global) override {
    FEDSEG_ASSIGN_OR_RETURN(Eigen::VectorXf mean, MeanDelta(updates, global->size()));
    if (m_.size() != global->size()) {
      m_.setZero(global->size());
      // Reddi et al. initialise v to tau^2 so the first steps are not huge.
      v_ = Eigen::VectorXf::Constant(global->size(), static_cast<float>(c_.tau * c_.tau));
    }
    const float b1 = static_cast<float>(c_.beta1), b2 = static_cast<float>(c_.beta2);
    m_ = b1 * m_ + (1 - b1) * mean;
    v_ = b2 * v_ + (1 - b2) * mean.cwiseProduct(mean);
    global->array() += static_cast<float>(c_.server_learning_rate) * m_.array() /
                       (v_.array().sqrt() + static_cast<float>(c_.tau));
    return Status::OK();
  }
  std::vector<float> SaveState() const override {
    std::vector<float> s(m_.data(), m_.data() + m_.size());
    s.insert(s.end(), v_.data(), v_.data() + v_.size());
    return s;
  }
  Status LoadState(const std::vector<float>& s, size_t n) override {
    if (s.empty()) {  // a run that has not aggregated yet
      m_.resize(0);
      v_.resize(0);
      return Status::OK();
    }
    if (s.size() != 2 * n) return Status::Corruption("fedadam state has a wrong size");
    m_ = Eigen::Map<const Eigen::VectorXf>(s.data(), static_cast<Eigen::Index>(n));
    v_ = Eigen::Map<const Eigen::VectorXf>(s.data() + n, static_cast<Eigen::Index>(n));
    return Status::OK();
  }

 private:
  StrategyConfig c_;
  Eigen::VectorXf m_, v_;
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeStrategy(const StrategyConfig& config) {
  FEDSEG_RETURN_IF_ERROR(config.Validate());
  switch (config.kind) {
    case StrategyKind::kFedAvg: return std::unique_ptr<Strategy>(new FedAvg());
    case StrategyKind::kFedAvgM: return std::unique_ptr<Strategy>(new FedAvgM(config));
    case StrategyKind::kFedAdam: return std::unique_ptr<Strategy>(new FedAdam(config));
    case StrategyKind::kMedian:
    case StrategyKind::kTrimmedMean:
    case StrategyKind::kKrum: return MakeRobustStrategy(config);
  }
  return Status::Internal("MakeStrategy: unhandled strategy kind");
}

}  // namespace fedseg::coordinator
