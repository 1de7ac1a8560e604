#include "privacy/stats/private_evaluation.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "privacy/stats/private_summary.h"

namespace fedseg::privacy {
namespace {

using ml::ClassificationSummary;
constexpr int kFineBins = ClassificationSummary::kScoreBins;
constexpr double kCoarseLogit = 6.0;  // p in [0.0025, 0.9975]

// Splits `total` over `weights` (non-negative) in proportion, by largest remainder, so the parts
// are integers summing to `total`. All weight zero: everything goes to `fallback`.
std::vector<uint64_t> Apportion(const std::vector<int64_t>& weights, uint64_t total,
                                size_t fallback) {
  std::vector<uint64_t> out(weights.size(), 0);
  const long double sum = std::accumulate(weights.begin(), weights.end(), 0.0L);
  if (total == 0) return out;
  if (!(sum > 0)) {
    out[fallback] = total;
    return out;
  }
  std::vector<std::pair<long double, size_t>> remainders;
  uint64_t given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const long double share = static_cast<long double>(weights[i]) * total / sum;
    out[i] = static_cast<uint64_t>(share);
    given += out[i];
    remainders.emplace_back(share - static_cast<long double>(out[i]), i);
  }
  std::sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  for (size_t i = 0; given < total; i = (i + 1) % remainders.size(), ++given) {
    ++out[remainders[i].second];
  }
  return out;
}

// The non-negative integer counts summing to `total` closest (in L2) to the noisy counts `v`:
// the Euclidean projection onto {x >= 0, sum x = total} is x = max(0, v - lambda) for the one
// lambda that makes the sum come out (Duchi et al. 2008), then rounded by largest remainder. It
// trims the same amount off every bucket, so pure-noise buckets (about half of them above 0)
// mostly vanish while buckets with rows keep their lead; no single noise spike can take all the
// rows, as it could when every bucket below a fixed bar was dropped.
std::vector<uint64_t> ProjectToTotal(const std::vector<int64_t>& v, uint64_t total) {
  std::vector<uint64_t> out(v.size(), 0);
  if (total == 0 || v.empty()) return out;
  std::vector<double> sorted(v.begin(), v.end());
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  const double t = static_cast<double>(total);
  double prefix = 0, lambda = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    prefix += sorted[i];
    const double candidate = (prefix - t) / static_cast<double>(i + 1);
    // The largest i whose bucket stays above the level: the standard simplex projection.
    if (sorted[i] - candidate > 0) lambda = candidate;
  }
  std::vector<int64_t> weights(v.size(), 0);
  // Scaled to integers for Apportion: the shares are what matter, not the absolute values.
  constexpr double kScale = 1 << 20;
  for (size_t i = 0; i < v.size(); ++i) {
    weights[i] = static_cast<int64_t>(
        std::llround(std::max(0.0, static_cast<double>(v[i]) - lambda) * kScale));
  }
  return Apportion(weights, total, 0);
}

}  // namespace

Status EvaluationPrivacyConfig::Validate() const {
  if (!(noise_multiplier > 0) || !std::isfinite(noise_multiplier)) {
    return Status::InvalidArgument("evaluation noise multiplier must be a finite number > 0");
  }
  if (score_bins < 3 || score_bins > 100) {
    return Status::InvalidArgument("evaluation score bins must be in [3, 100], got " +
                                   std::to_string(score_bins));
  }
  if (!(loss_clip_nats > 0) || !std::isfinite(loss_clip_nats)) {
    return Status::InvalidArgument("evaluation loss clip must be a finite number > 0");
  }
  return Status::OK();
}

Result<PrivateEvaluation> PrivateEvaluate(const ml::Mlp& model, const data::EncodedData& test,
                                          const EvaluationPrivacyConfig& config,
                                          NoiseSource& noise) {
  FEDSEG_RETURN_IF_ERROR(config.Validate());
  const int k = model.spec().num_classes;
  const size_t kk = static_cast<size_t>(k);
  FEDSEG_ASSIGN_OR_RETURN(ClassificationSummary exact, ClassificationSummary::Create(k));
  if (test.y.size() != test.rows()) {
    return Status::InvalidArgument("the test rows have no labels to evaluate against");
  }
  // The exact counts and the clipped loss total; neither leaves this function.
  // Each row's clipped loss in whole units (at most ceil(clip * units) of them), summed exactly.
  const double units_per_nat = ClassificationSummary::kLogLossUnitsPerNat;
  const double loss_sensitivity = std::ceil(config.loss_clip_nats * units_per_nat);
  int64_t loss_units = 0;
  if (test.rows() > 0) {
    Eigen::MatrixXf probs;
    model.Predict(test.x, &probs);
    exact.AddBatch(test.y.data(), probs.data(), test.rows());
    for (size_t i = 0; i < test.rows(); ++i) {
      const int y = test.y[i];
      if (y < 0 || y >= k) continue;
      const double p = probs(y, static_cast<Eigen::Index>(i));
      const double loss = std::isfinite(p) ? -std::log(std::max(p, 1e-300)) : config.loss_clip_nats;
      loss_units += std::llround(std::min(loss, config.loss_clip_nats) * units_per_nat);
    }
  }
  const double sigma = config.noise_multiplier;

  // Group 1: the confusion matrix (sensitivity 1).
  std::vector<uint64_t> confusion(kk * kk);
  for (size_t i = 0; i < kk * kk; ++i) {
    confusion[i] = static_cast<uint64_t>(std::max<int64_t>(
        0, AddRoundedGaussian(static_cast<int64_t>(exact.confusion()[i]), sigma, noise)));
  }
  uint64_t count = 0;
  std::vector<uint64_t> own(kk, 0);
  for (size_t c = 0; c < kk; ++c) {
    for (size_t j = 0; j < kk; ++j) own[c] += confusion[c * kk + j];
    count += own[c];
  }

  // Group 2: 2K coarse histograms (sensitivity sqrt(K): one bucket per class histogram). The
  // coarse buckets split the logit range [-kCoarseLogit, kCoarseLogit] evenly, with one tail
  // bucket on each side: a fixed, public map from the fine (logit-spaced) buckets. Even steps in
  // logit keep rare classes' scores apart, which even steps in probability would not (a model of
  // a 15% class puts most rows below p = 0.05).
  const size_t coarse_bins = static_cast<size_t>(config.score_bins);
  const double width = 2 * kCoarseLogit / static_cast<double>(coarse_bins - 2);
  auto coarse_of_logit = [&](double logit) -> size_t {
    if (logit < -kCoarseLogit) return 0;
    if (logit >= kCoarseLogit) return coarse_bins - 1;
    return std::min(coarse_bins - 2, 1 + static_cast<size_t>((logit + kCoarseLogit) / width));
  };
  std::vector<size_t> coarse_of(kFineBins);
  for (size_t f = 0; f < coarse_of.size(); ++f) {
    const double mid = ClassificationSummary::kLogitMin +
                       (static_cast<double>(f) + 0.5) / ClassificationSummary::kBinsPerLogit;
    coarse_of[f] = coarse_of_logit(mid);
  }
  std::vector<size_t> placed(coarse_bins);  // the fine bucket of each coarse bucket's middle
  for (size_t j = 0; j < coarse_bins; ++j) {
    const double mid = j == 0 ? -kCoarseLogit - width / 2
                       : j == coarse_bins - 1
                           ? kCoarseLogit + width / 2
                           : -kCoarseLogit + (static_cast<double>(j) - 0.5) * width;
    placed[j] = static_cast<size_t>(
        ClassificationSummary::ScoreBin(static_cast<float>(1.0 / (1.0 + std::exp(-mid)))));
  }
  const double hist_stddev = sigma * std::sqrt(static_cast<double>(k));
  std::vector<uint64_t> positive(kk * kFineBins, 0), negative(kk * kFineBins, 0);
  for (size_t c = 0; c < kk; ++c) {
    for (const bool pos : {true, false}) {
      const std::span<const uint64_t> fine = pos ? exact.positive_histogram(static_cast<int>(c))
                                                 : exact.negative_histogram(static_cast<int>(c));
      std::vector<int64_t> coarse(coarse_bins, 0);
      for (size_t f = 0; f < fine.size(); ++f)
        coarse[coarse_of[f]] += static_cast<int64_t>(fine[f]);
      // The noisy buckets are projected onto the counts that are non-negative and sum to the
      // class's (noisy, consistent) row count: ProjectToTotal. (Before: a bucket below twice
      // the noise's standard deviation was dropped and the rest rescaled; for a small class no
      // bucket cleared the bar, or one pure-noise spike did, and all its rows landed in one
      // made-up place. Telco churn under DP then showed "F1 0.86" at the threshold the
      // federation chose, 0.37 on held-out rows.)
      for (int64_t& v : coarse) v = AddRoundedGaussian(v, hist_stddev, noise);
      const uint64_t total = pos ? own[c] : count - own[c];
      const std::vector<uint64_t> parts = ProjectToTotal(coarse, total);
      std::vector<uint64_t>& out = pos ? positive : negative;
      for (size_t j = 0; j < coarse_bins; ++j) out[c * kFineBins + placed[j]] += parts[j];
    }
  }

  // Group 3: the clipped loss total (sensitivity loss_clip_nats), in whole units.
  int64_t noisy_loss = AddRoundedGaussian(loss_units, sigma * loss_sensitivity, noise);
  const double max_loss = static_cast<double>(count) * config.loss_clip_nats * units_per_nat;
  noisy_loss = std::clamp<int64_t>(noisy_loss, 0, static_cast<int64_t>(max_loss));
  // A failed CSPRNG yields no noise at all: nothing computed from it may leave.
  FEDSEG_RETURN_IF_ERROR(noise.status());

  PrivateEvaluation out;
  FEDSEG_ASSIGN_OR_RETURN(
      out.summary,
      ClassificationSummary::FromCounts(k, static_cast<uint64_t>(noisy_loss), std::move(confusion),
                                        std::move(positive), std::move(negative)));
  return out;
}

}  // namespace fedseg::privacy
