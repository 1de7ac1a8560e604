#include "privacy/stats/private_summary.h"

#include <algorithm>
#include <cmath>

namespace fedseg::privacy {
namespace {

double Noise(NoiseSource& noise, double stddev) {
  float v = 0.0f;
  noise.FillGaussian(&v, 1, stddev);
  return v;
}

}  // namespace

double NormalUpperQuantile(double p) {
  // Bisection on erfc: 0.5 * erfc(z / sqrt(2)) = p. Monotone, exact to double precision.
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Result<PrivateSummary> PrivateSummarize(const data::RawDataset& data, const StatsPrivacyConfig& config,
                                        NoiseSource& noise) {
  PrivateSummary out;
  const double sigma = config.noise_multiplier;
  if (!(sigma >= 0) || !std::isfinite(sigma)) {
    return Status::InvalidArgument("stats noise_multiplier must be finite and >= 0");
  }
  if (!(config.selection_delta > 0 && config.selection_delta < 1)) {
    return Status::InvalidArgument("selection_delta must be in (0, 1)");
  }
  if (sigma == 0) {
    out.summary = data::Summarize(data);
    return out;
  }
  // Clip numeric values to the public bounds before summarising.
  data::RawDataset clipped = data;
  for (data::RawColumn& c : clipped.features) {
    if (c.type != data::ColumnType::kNumeric) continue;
    auto it = config.bounds.find(c.name);
    if (it == config.bounds.end()) {
      return Status::InvalidArgument(
          "private statistics need public bounds for numeric column '" + c.name +
          "' (data.bounds in the coordinator's config)");
    }
    const auto [lo, hi] = it->second;
    if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi)) {
      return Status::InvalidArgument("bounds of column '" + c.name + "' must be finite with lo <= hi");
    }
    for (double& v : c.numeric) {
      if (!std::isnan(v)) v = std::clamp(v, lo, hi);
    }
  }
  data::DataSummary s = data::Summarize(clipped);
  out.category_threshold = 1.0 + sigma * NormalUpperQuantile(config.selection_delta);
  s.rows = static_cast<uint64_t>(std::max(0.0, std::round(static_cast<double>(s.rows) + Noise(noise, sigma))));
  ++out.mechanisms;
  for (auto& [label, count] : s.label_counts) count = std::max(0.0, count + Noise(noise, sigma));
  ++out.mechanisms;
  for (data::ColumnSummary& c : s.columns) {
    if (c.type == data::ColumnType::kCategorical) {
      std::map<std::string, double> kept;
      double missing = 0;
      for (const auto& [cat, count] : c.categories) {
        const double noisy = count + Noise(noise, sigma);
        if (noisy >= out.category_threshold) kept[cat] = noisy;
        if (cat == data::kMissingCategory) missing = std::max(0.0, noisy);
      }
      c.categories = std::move(kept);
      c.missing = static_cast<uint64_t>(std::round(missing));
      ++out.mechanisms;
      ++out.categorical_columns;
    } else {
      double b = 1.0;  // booleans are 0/1
      if (c.type == data::ColumnType::kNumeric) {
        const auto [lo, hi] = config.bounds.at(c.name);
        b = std::max(std::abs(lo), std::abs(hi));
      }
      const double count = std::max(0.0, static_cast<double>(c.count) + Noise(noise, sigma));
      const double missing = std::max(0.0, static_cast<double>(c.missing) + Noise(noise, sigma));
      c.count = static_cast<uint64_t>(std::round(count));
      c.missing = static_cast<uint64_t>(std::round(missing));
      c.sum += Noise(noise, sigma * b);
      c.sum_sq = std::max(0.0, c.sum_sq + Noise(noise, sigma * b * b));
      out.mechanisms += 3;
    }
  }
  // A failed CSPRNG yields NaN noise; nothing computed from it may be released.
  FEDSEG_RETURN_IF_ERROR(noise.status());
  out.summary = std::move(s);
  return out;
}

}  // namespace fedseg::privacy
