#include "coordinator/update_screen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "coordinator/robust_strategies.h"

namespace fedseg::coordinator {
namespace {

// The lower median: with two values, the smaller, so one update cannot set the reference alone.
double LowerMedian(std::vector<double> v) {
  if (v.empty()) return 0;
  const size_t mid = (v.size() - 1) / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<long>(mid), v.end());
  return v[mid];
}

template <class... Args>
std::string Format(const char* fmt, Args... args) {
  char buf[160];
  std::snprintf(buf, sizeof buf, fmt, args...);
  return buf;
}

}  // namespace

Status DefenceConfig::Validate() const {
  if (!(clip_norm >= 0) || !std::isfinite(clip_norm)) {
    return Status::InvalidArgument("defences.clip_norm must be finite and >= 0 (0 = adaptive)");
  }
  if (!(clip_multiplier > 0) || !std::isfinite(clip_multiplier)) {
    return Status::InvalidArgument("defences.clip_multiplier must be finite and positive");
  }
  if (!(outlier_factor > 1) || !std::isfinite(outlier_factor)) {
    return Status::InvalidArgument("defences.outlier_factor must be finite and > 1");
  }
  if (!(max_weight_abs > 0) || !std::isfinite(max_weight_abs)) {
    return Status::InvalidArgument("defences.max_weight_abs must be finite and positive");
  }
  return Status::OK();
}

ScreenedRound ScreenUpdates(std::vector<ClientUpdate> updates,
                            const std::map<std::string, uint64_t>& declared_rows,
                            const DefenceConfig& config) {
  ScreenedRound out;
  if (updates.empty()) return out;
  std::vector<double> norms, peaks, counts;
  for (const ClientUpdate& u : updates) {
    const Eigen::VectorXd d = u.delta.cast<double>();
    norms.push_back(d.norm());
    peaks.push_back(d.size() ? d.cwiseAbs().maxCoeff() : 0.0);
    counts.push_back(static_cast<double>(u.num_examples));
  }
  out.median_norm = LowerMedian(norms);
  // Direction: the cosine similarity of each update with the coordinate-wise median of the
  // round's updates (a reference fewer than half the updates cannot move). An update pointing
  // away from it is refused, as FLTrust (Cao et al. 2021, "FLTrust: Byzantine-robust Federated
  // Learning via Trust Bootstrapping", NDSS) gives zero trust to a negative cosine; FLTrust's
  // reference is a server-side root dataset, ours the median, so it needs 3 updates or more.
  std::vector<double> cosines(updates.size(), 0.0);
  if (updates.size() >= 3) {
    Result<Eigen::VectorXf> median =
        CoordinateMedian(updates, static_cast<size_t>(updates[0].delta.size()));
    if (median.ok()) {
      const Eigen::VectorXd m = median->cast<double>();
      const double m_norm = m.norm();
      for (size_t i = 0; i < updates.size(); ++i) {
        const double denom = m_norm * norms[i];
        if (denom > 0 && std::isfinite(denom)) {
          cosines[i] = m.dot(updates[i].delta.cast<double>()) / denom;
        }
      }
    }
  }
  const double median_peak = LowerMedian(peaks);
  const double median_count = LowerMedian(counts);

  std::vector<double> kept_norms;
  for (size_t i = 0; i < updates.size(); ++i) {
    ClientUpdate& u = updates[i];
    const double limit_norm = config.outlier_factor * out.median_norm;
    const double limit_peak = config.outlier_factor * median_peak;
    if (!std::isfinite(norms[i]) || norms[i] > limit_norm) {
      out.refused.push_back(
          {u.region, Format("norm %.4g is more than %.4g x the round's median norm %.4g", norms[i],
                            config.outlier_factor, out.median_norm)});
      continue;
    }
    if (!std::isfinite(peaks[i]) || peaks[i] > limit_peak) {
      out.refused.push_back(
          {u.region, Format("largest |value| %.4g is more than %.4g x the round's median %.4g",
                            peaks[i], config.outlier_factor, median_peak)});
      continue;
    }
    if (cosines[i] < 0) {
      out.refused.push_back(
          {u.region, Format("its direction opposes the round's coordinate-wise median update "
                            "(cosine similarity %.3f)",
                            cosines[i])});
      continue;
    }
    auto it = declared_rows.find(u.region);
    const bool declared = it != declared_rows.end() && it->second > 0;
    if (declared && u.num_examples > it->second) {
      // An honest region trains on exactly the rows it declared: a larger claim is a lie.
      out.refused.push_back({u.region, "claims " + std::to_string(u.num_examples) +
                                           " training examples but declared " +
                                           std::to_string(it->second) + " at join"});
      continue;
    }
    const uint64_t cap = declared ? it->second : static_cast<uint64_t>(median_count);
    if (u.num_examples > cap) {
      out.capped.push_back({u.region, "claimed " + std::to_string(u.num_examples) +
                                          " examples, weight capped at " + std::to_string(cap)});
      u.num_examples = cap;
    }
    kept_norms.push_back(norms[i]);
    out.accepted.push_back(std::move(u));
  }
  out.clip_bound =
      config.clip_norm > 0 ? config.clip_norm : config.clip_multiplier * LowerMedian(kept_norms);
  for (size_t i = 0; i < out.accepted.size(); ++i) {
    if (kept_norms[i] > out.clip_bound) {
      out.accepted[i].delta *= static_cast<float>(out.clip_bound / kept_norms[i]);
      ++out.clipped;
    }
  }
  return out;
}

Status CheckAggregate(const Eigen::VectorXf& candidate, const DefenceConfig& config) {
  for (Eigen::Index i = 0; i < candidate.size(); ++i) {
    const float w = candidate[i];
    if (!std::isfinite(w)) {
      return Status::InvalidArgument("the aggregate has a non-finite weight at index " +
                                     std::to_string(i));
    }
    if (config.enabled && std::fabs(static_cast<double>(w)) > config.max_weight_abs) {
      return Status::InvalidArgument(
          "the aggregate's weight " + std::to_string(i) +
          Format(" is %.4g, beyond the sanity bound %.4g (defences.max_weight_abs)",
                 static_cast<double>(w), config.max_weight_abs));
    }
  }
  return Status::OK();
}

}  // namespace fedseg::coordinator
