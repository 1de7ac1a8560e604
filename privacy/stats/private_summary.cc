#include "privacy/stats/private_summary.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

namespace fedseg::privacy {
namespace {

// The noisy fixed-point sum: values already clipped to [-bound, bound]; each is rounded to the
// grid, the integer sum gets noise of sigma times the sum's sensitivity in grid steps.
double NoisyFixedPointSum(const std::vector<double>& values, double bound, double sigma,
                          bool squares, NoiseSource& noise) {
  const double b = squares ? bound * bound : bound;
  const double step = FixedPointStep(b);
  int64_t total = 0;
  for (double v : values) {
    if (std::isnan(v)) continue;
    total += std::llround((squares ? v * v : v) / step);
  }
  const double sensitivity = std::ceil(b / step);  // one row's |rounded value| at most
  return step * static_cast<double>(AddRoundedGaussian(total, sigma * sensitivity, noise));
}

// The public bounds of column `name`: its own, or, for a column read as a logarithm
// (data::LogColumnName), its source's bounds in the same transform (which is increasing).
std::optional<std::pair<double, double>> BoundsOf(const StatsPrivacyConfig& config,
                                                  const std::string& name) {
  if (auto it = config.bounds.find(name); it != config.bounds.end()) return it->second;
  const std::string source = data::LogSourceOf(name);
  if (auto it = config.bounds.find(source); !source.empty() && it != config.bounds.end()) {
    return std::pair{data::SignedLog1p(it->second.first), data::SignedLog1p(it->second.second)};
  }
  return std::nullopt;
}

}  // namespace

int64_t AddRoundedGaussian(int64_t x, double stddev, NoiseSource& noise) {
  double z = 0.0;
  noise.FillGaussian(&z, 1, stddev);
  if (!std::isfinite(z)) return x;  // a failed source: the caller checks noise.status()
  return x + static_cast<int64_t>(std::llround(z));
}

double FixedPointStep(double bound) {
  if (!(bound > 0) || !std::isfinite(bound)) return 1.0;
  return std::ldexp(1.0, static_cast<int>(std::floor(std::log2(bound))) - 20);
}

double NormalUpperQuantile(double p) {
  // Bisection on erfc: 0.5 * erfc(z / sqrt(2)) = p. Monotone, exact to double precision.
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(mid / std::sqrt(2.0)) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Result<PrivateSummary> PrivateSummarize(const data::RawDataset& data,
                                        const StatsPrivacyConfig& config, NoiseSource& noise) {
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
  // Per feature column: the numeric ones' public bounds (the sums' sensitivity below).
  std::vector<std::pair<double, double>> column_bounds(clipped.features.size());
  for (size_t i = 0; i < clipped.features.size(); ++i) {
    data::RawColumn& c = clipped.features[i];
    if (c.type != data::ColumnType::kNumeric) continue;
    const auto bounds = BoundsOf(config, c.name);
    if (!bounds) {
      return Status::InvalidArgument("private statistics need public bounds for numeric column '" +
                                     c.name + "' (data.bounds in the coordinator's config)");
    }
    column_bounds[i] = *bounds;
    const auto [lo, hi] = *bounds;
    if (!(lo <= hi) || !std::isfinite(lo) || !std::isfinite(hi)) {
      return Status::InvalidArgument("bounds of column '" + c.name +
                                     "' must be finite with lo <= hi");
    }
    for (double& v : c.numeric) {
      if (!std::isnan(v)) v = std::clamp(v, lo, hi);
    }
  }
  data::DataSummary s = data::Summarize(clipped);
  auto noisy_count = [&](double count, double stddev) {
    return std::max<int64_t>(0, AddRoundedGaussian(std::llround(count), stddev, noise));
  };
  out.category_threshold = 1.0 + sigma * NormalUpperQuantile(config.selection_delta);
  s.rows = static_cast<uint64_t>(noisy_count(static_cast<double>(s.rows), sigma));
  ++out.mechanisms;
  for (auto& [label, count] : s.label_counts)
    count = static_cast<double>(noisy_count(count, sigma));
  ++out.mechanisms;
  for (size_t i = 0; i < s.columns.size(); ++i) {
    data::ColumnSummary& c = s.columns[i];
    if (c.type == data::ColumnType::kCategorical) {
      std::map<std::string, double> kept;
      double missing = 0;
      for (const auto& [cat, count] : c.categories) {
        const double noisy =
            static_cast<double>(AddRoundedGaussian(std::llround(count), sigma, noise));
        if (noisy >= out.category_threshold) kept[cat] = noisy;
        if (cat == data::kMissingCategory) missing = std::max(0.0, noisy);
      }
      c.categories = std::move(kept);
      c.missing = static_cast<uint64_t>(missing);
      ++out.mechanisms;
      ++out.categorical_columns;
    } else {
      double b = 1.0;  // booleans are 0/1
      if (c.type == data::ColumnType::kNumeric) {
        const auto [lo, hi] = column_bounds[i];  // summaries keep the dataset's column order
        b = std::max(std::abs(lo), std::abs(hi));
      }
      // The clipped values of this column (summaries keep columns in the dataset's order).
      const std::vector<double>& values = clipped.features[i].numeric;
      c.count = static_cast<uint64_t>(noisy_count(static_cast<double>(c.count), sigma));
      c.missing = static_cast<uint64_t>(noisy_count(static_cast<double>(c.missing), sigma));
      c.sum = NoisyFixedPointSum(values, b, sigma, /*squares=*/false, noise);
      c.sum_sq = std::max(0.0, NoisyFixedPointSum(values, b, sigma, /*squares=*/true, noise));
      out.mechanisms += 3;
    }
  }
  // A failed CSPRNG yields NaN noise; nothing computed from it may be released.
  FEDSEG_RETURN_IF_ERROR(noise.status());
  out.summary = std::move(s);
  return out;
}

}  // namespace fedseg::privacy
