#include "coordinator/robust_strategies.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace fedseg::coordinator {
namespace {

Status CheckSizes(const std::vector<ClientUpdate>& updates, size_t num_params) {
  if (updates.empty()) return Status::InvalidArgument("no updates to aggregate");
  for (const ClientUpdate& u : updates) {
    if (static_cast<size_t>(u.delta.size()) != num_params) {
      return Status::InvalidArgument("update from region '" + u.region + "' has " +
                                     std::to_string(u.delta.size()) + " values, expected " +
                                     std::to_string(num_params));
    }
  }
  return Status::OK();
}

// Calls fn(i, sorted values of coordinate i) for every coordinate.
template <class Fn>
void ForEachSortedCoordinate(const std::vector<ClientUpdate>& updates, size_t num_params, Fn fn) {
  std::vector<float> column(updates.size());
  for (size_t i = 0; i < num_params; ++i) {
    for (size_t k = 0; k < updates.size(); ++k) {
      column[k] = updates[k].delta[static_cast<Eigen::Index>(i)];
    }
    std::sort(column.begin(), column.end());
    fn(i, column);
  }
}

}  // namespace

Result<Eigen::VectorXf> CoordinateMedian(const std::vector<ClientUpdate>& updates,
                                         size_t num_params) {
  FEDSEG_RETURN_IF_ERROR(CheckSizes(updates, num_params));
  Eigen::VectorXf out(static_cast<Eigen::Index>(num_params));
  const size_t n = updates.size();
  ForEachSortedCoordinate(updates, num_params, [&](size_t i, const std::vector<float>& v) {
    // Halves summed separately: (a + b) / 2 would overflow for values near FLT_MAX.
    out[static_cast<Eigen::Index>(i)] = n % 2 == 1 ? v[n / 2] : v[n / 2 - 1] / 2 + v[n / 2] / 2;
  });
  return out;
}

Result<Eigen::VectorXf> TrimmedMean(const std::vector<ClientUpdate>& updates, size_t num_params,
                                    double trim_fraction) {
  FEDSEG_RETURN_IF_ERROR(CheckSizes(updates, num_params));
  if (!(trim_fraction >= 0 && trim_fraction < 0.5)) {
    return Status::InvalidArgument("trim_fraction must be in [0, 0.5)");
  }
  const size_t n = updates.size();
  const size_t k = static_cast<size_t>(std::floor(trim_fraction * static_cast<double>(n)));
  Eigen::VectorXf out(static_cast<Eigen::Index>(num_params));
  ForEachSortedCoordinate(updates, num_params, [&](size_t i, const std::vector<float>& v) {
    double sum = 0;  // double: kept values are bounded by the honest range, but may be large
    for (size_t j = k; j < n - k; ++j) sum += v[j];
    out[static_cast<Eigen::Index>(i)] = static_cast<float>(sum / static_cast<double>(n - 2 * k));
  });
  return out;
}

Result<std::vector<size_t>> KrumSelect(const std::vector<ClientUpdate>& updates, size_t num_params,
                                       int byzantine, int select) {
  FEDSEG_RETURN_IF_ERROR(CheckSizes(updates, num_params));
  const size_t n = updates.size();
  const size_t f = static_cast<size_t>(std::max(byzantine, 0));
  if (n < 2 * f + 3) {
    return Status::InvalidArgument("krum with f = " + std::to_string(f) + " needs at least " +
                                   std::to_string(2 * f + 3) + " updates, got " +
                                   std::to_string(n));
  }
  // Pairwise squared distances, in double: deltas of FLT_MAX would overflow float.
  std::vector<std::vector<double>> d(n, std::vector<double>(n, 0.0));
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = a + 1; b < n; ++b) {
      const double dist =
          (updates[a].delta.cast<double>() - updates[b].delta.cast<double>()).squaredNorm();
      d[a][b] = d[b][a] = std::isfinite(dist) ? dist : HUGE_VAL;
    }
  }
  // score(a) = sum of the n - f - 2 smallest distances from a to the others (Blanchard et al.).
  std::vector<double> score(n);
  for (size_t a = 0; a < n; ++a) {
    std::vector<double> row;
    for (size_t b = 0; b < n; ++b) {
      if (b != a) row.push_back(d[a][b]);
    }
    std::sort(row.begin(), row.end());
    score[a] = std::accumulate(row.begin(), row.begin() + static_cast<long>(n - f - 2), 0.0);
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return score[a] < score[b]; });
  const size_t m = select > 0 ? std::min(static_cast<size_t>(select), n) : n - f;
  order.resize(m);
  return order;
}

namespace {

class RobustStrategy final : public Strategy {
 public:
  explicit RobustStrategy(const StrategyConfig& c) : c_(c) {}
  std::string name() const override { return std::string(StrategyKindName(c_.kind)); }
  Status Aggregate(const std::vector<ClientUpdate>& updates, Eigen::VectorXf* global) override {
    const size_t p = static_cast<size_t>(global->size());
    Eigen::VectorXf delta;
    switch (c_.kind) {
      case StrategyKind::kMedian: {
        FEDSEG_ASSIGN_OR_RETURN(delta, CoordinateMedian(updates, p));
        break;
      }
      case StrategyKind::kTrimmedMean: {
        FEDSEG_ASSIGN_OR_RETURN(delta, TrimmedMean(updates, p, c_.trim_fraction));
        break;
      }
      case StrategyKind::kKrum: {
        FEDSEG_ASSIGN_OR_RETURN(std::vector<size_t> chosen,
                                KrumSelect(updates, p, c_.krum_byzantine, c_.krum_select));
        std::vector<ClientUpdate> selected;
        for (size_t i : chosen) selected.push_back(updates[i]);
        FEDSEG_ASSIGN_OR_RETURN(delta, MeanDelta(selected, p));
        break;
      }
      default:
        return Status::Internal("not a robust strategy: " + name());
    }
    *global += static_cast<float>(c_.server_learning_rate) * delta;
    return Status::OK();
  }
  std::vector<float> SaveState() const override { return {}; }
  Status LoadState(const std::vector<float>& state, size_t) override {
    return state.empty() ? Status::OK() : Status::Corruption(name() + " has no state");
  }

 private:
  StrategyConfig c_;
};

}  // namespace

Result<std::unique_ptr<Strategy>> MakeRobustStrategy(const StrategyConfig& config) {
  FEDSEG_RETURN_IF_ERROR(config.Validate());
  if (config.kind != StrategyKind::kMedian && config.kind != StrategyKind::kTrimmedMean &&
      config.kind != StrategyKind::kKrum) {
    return Status::InvalidArgument("not a robust strategy: " +
                                   std::string(StrategyKindName(config.kind)));
  }
  return std::unique_ptr<Strategy>(new RobustStrategy(config));
}

}  // namespace fedseg::coordinator
