// The region's privacy policy applied to what a coordinator asks: a data-summary request and a
// training plan are checked against the region's own config (privacy.mode and the floors and
// ceilings in docs/privacy.md, "The region's privacy policy") before any data-dependent work,
// and anything outside the policy is declined with a reason that names the rule.
//
// The reason goes to the coordinator, so it carries only the rule and the coordinator's own
// values (its σ, its clip norm); a rule whose outcome depends on the private row count (the
// sampling rate q = batch / n and the steps per round 1/q) keeps the numbers in `detail`, which
// only the region's log sees.
#ifndef FEDSEG_CLIENT_PRIVACY_POLICY_H_
#define FEDSEG_CLIENT_PRIVACY_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "client/region_config.h"
#include "common/protocol/messages.h"

namespace fedseg::client {

struct PolicyDecision {
  bool accept = true;
  std::string rule;    // the config field that declined: "privacy.min_noise_multiplier", ...
  std::string reason;  // sent to the coordinator in the Decline: names the rule
  std::string detail;  // the region's own log only (may depend on the row count)
};

// The shape of one DP-SGD round on n training rows: q = batch / n (at most 1), and the expected
// steps of one local pass per epoch, local_epochs / q (at least 1).
struct DpSgdRoundShape {
  double sampling_rate = 0.0;
  int64_t steps = 0;
};
DpSgdRoundShape RoundShape(const protocol::TrainingPlan& plan, size_t n_train);

// n rounded up to a multiple of `bucket` (>= 1): the row count a region in mode dp declares
// public. 0 stays 0.
uint64_t PublicRowCount(uint64_t n, int64_t bucket);

// A data-summary request with Gaussian noise multiplier `noise_multiplier` (0: exact statistics).
PolicyDecision CheckSummaryRequest(const RegionConfig& config, double noise_multiplier);

// A training plan (the coordinator's Setup), for a region with n_train training rows (in mode dp
// q and the steps are those of the public count, PublicRowCount).
PolicyDecision CheckTrainingPlan(const RegionConfig& config, const protocol::TrainingPlan& plan,
                                 size_t n_train);

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_PRIVACY_POLICY_H_
