#include "client/privacy_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "privacy/accounting/number_format.h"

namespace fedseg::client {
namespace {

PolicyDecision Decline(std::string rule, std::string reason, std::string detail = "") {
  return PolicyDecision{false, std::move(rule), std::move(reason), std::move(detail)};
}

}  // namespace

DpSgdRoundShape RoundShape(const protocol::TrainingPlan& plan, size_t n_train) {
  DpSgdRoundShape s;
  if (n_train == 0) return s;
  s.sampling_rate =
      std::min(1.0, static_cast<double>(plan.batch_size) / static_cast<double>(n_train));
  // One local epoch = 1/q expected steps of Poisson-sampled batches.
  s.steps =
      std::max<int64_t>(1, static_cast<int64_t>(std::llround(plan.local_epochs / s.sampling_rate)));
  return s;
}

uint64_t PublicRowCount(uint64_t n, int64_t bucket) {
  const uint64_t b = bucket < 1 ? 1 : static_cast<uint64_t>(bucket);
  return (n + b - 1) / b * b;
}

PolicyDecision CheckSummaryRequest(const RegionConfig& config, double noise_multiplier) {
  if (!config.dp_mode()) return {};
  // Written so that NaN fails the check.
  if (!(noise_multiplier >= config.min_stats_noise_multiplier) ||
      !std::isfinite(noise_multiplier)) {
    return Decline("privacy.min_stats_noise_multiplier",
                   "privacy.min_stats_noise_multiplier: the coordinator asks for data statistics "
                   "with noise multiplier " +
                       privacy::FormatShortest(noise_multiplier) + ", below this region's floor " +
                       privacy::FormatShortest(config.min_stats_noise_multiplier) +
                       (noise_multiplier == 0 ? " (exact statistics)" : ""));
  }
  return {};
}

PolicyDecision CheckTrainingPlan(const RegionConfig& config, const protocol::TrainingPlan& plan,
                                 size_t n_train) {
  if (!config.dp_mode()) return {};
  if (!plan.dp) {
    return Decline("privacy.mode",
                   "privacy.mode: this region trains only with DP-SGD (mode \"dp\"); the "
                   "coordinator's plan turns DP off");
  }
  if (!(plan.dp_clip_norm <= config.max_clip_norm) || !(plan.dp_clip_norm > 0)) {
    return Decline("privacy.max_clip_norm",
                   "privacy.max_clip_norm: the plan's clip norm " + privacy::FormatShortest(plan.dp_clip_norm) +
                       " is above this region's ceiling " + privacy::FormatShortest(config.max_clip_norm));
  }
  // 0 = the region calibrates sigma to its budget (and raises it to its floor).
  const double sigma = plan.dp_noise_multiplier;
  if (!(sigma == 0 || sigma >= config.min_noise_multiplier) || !std::isfinite(sigma)) {
    return Decline("privacy.min_noise_multiplier",
                   "privacy.min_noise_multiplier: the plan's noise multiplier " + privacy::FormatShortest(sigma) +
                       " is below this region's floor " + privacy::FormatShortest(config.min_noise_multiplier));
  }
  // q and the steps depend on the private row count: the numbers stay in the local detail.
  const DpSgdRoundShape shape = RoundShape(plan, PublicRowCount(n_train, config.row_count_bucket));
  if (shape.sampling_rate > config.max_sampling_rate) {
    return Decline("privacy.max_sampling_rate",
                   "privacy.max_sampling_rate: the plan's batch size gives a sampling rate above "
                   "this region's ceiling",
                   "batch " + std::to_string(plan.batch_size) +
                       " gives q = " + privacy::FormatShortest(shape.sampling_rate) + ", ceiling " +
                       privacy::FormatShortest(config.max_sampling_rate));
  }
  if (shape.steps > config.max_steps_per_round) {
    return Decline("privacy.max_steps_per_round",
                   "privacy.max_steps_per_round: the plan asks for more DP-SGD steps per round "
                   "than this region allows",
                   std::to_string(plan.local_epochs) + " local epoch(s) at q = " +
                       privacy::FormatShortest(shape.sampling_rate) + " give " + std::to_string(shape.steps) +
                       " steps, ceiling " + std::to_string(config.max_steps_per_round));
  }
  return {};
}

}  // namespace fedseg::client
