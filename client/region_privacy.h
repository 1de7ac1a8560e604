// A region's privacy guard: its ε budget, δ, the DP-SGD parameters of each round, the decision to
// decline a round that would overspend, and the signed ledger every release is recorded in.
//
// Before a round the guard asks the ledger what the region's total ε would be after this round's
// DP-SGD steps (composing every earlier release with the region's accountant, PLD by default;
// privacy.accountant in the config); above the budget, the
// round is declined and the region never trains on its rows again (the ledger makes that survive a
// restart: any further spend would still exceed the budget). The noise multiplier is either fixed
// by the coordinator's plan or calibrated once per run so the planned rounds spend the budget.
// A noise multiplier above the region's ceiling (privacy.max_noise_multiplier) is declined too:
// an update that is mostly noise spends budget and degrades the global model for nothing. In mode
// dp a calibrated noise multiplier is never below privacy.min_noise_multiplier (the plan itself is
// checked against the policy first, client/privacy_policy.h). δ is the region's own
// (privacy.delta), never derived from its row count.
#ifndef FEDSEG_CLIENT_REGION_PRIVACY_H_
#define FEDSEG_CLIENT_REGION_PRIVACY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "client/region_config.h"
#include "common/protocol/messages.h"
#include "privacy/dpsgd/dp_sgd.h"
#include "privacy/ledger/ledger.h"
#include "privacy/noise/noise.h"
#include "privacy/stats/private_evaluation.h"
#include "privacy/stats/private_summary.h"

namespace fedseg::client {

// The share of the region's delta that the partition selection of one data summary may spend
// (category names are released only when their noisy count clears a threshold; a category held by
// one user slips through with that probability). A ledger therefore states every epsilon after a
// summary at 99% of the region's delta, 98% after two runs' summaries, and so on.
inline constexpr double kSelectionShareOfDelta = 0.01;

// Makes the seeded (insecure) noise source for a config with privacy.insecure_seeded_noise. Only
// the test build of the region binary supplies one (client/main.cc under
// FEDSEG_INSECURE_TEST_NOISE); without it such a config is refused.
using SeededNoiseFactory = std::function<std::unique_ptr<privacy::NoiseSource>(uint64_t seed)>;

// OK, or the error for a config that asks for seeded noise from a build that has none.
Status CheckSeededNoiseAvailable(const RegionConfig& config, const SeededNoiseFactory& seeded);

// Opens the region's ledger (privacy.ledger, signed with privacy.ledger_key) for `run_id`: it must
// exist (NotFound naming `fedseg-client ledger init` otherwise) and its genesis entry must record
// the config's budget and delta. fedseg-client join opens it once before connecting, so a missing
// or broken ledger stops the region before it talks to anyone.
Result<std::unique_ptr<privacy::LedgerWriter>> OpenRegionLedger(const RegionConfig& config,
                                                                const std::string& run_id);

class RegionPrivacy {
 public:
  // Opens the region's ledger (mode dp; it must exist: `fedseg-client ledger init`, and record
  // the config's budget and delta) and noise source. n_train: training rows (one row = one user).
  // `seeded`: see SeededNoiseFactory (empty in release builds).
  static Result<std::unique_ptr<RegionPrivacy>> Create(const RegionConfig& config, size_t n_train,
                                                       const std::string& run_id,
                                                       const SeededNoiseFactory& seeded = {});
  // Fixes the DP-SGD plan (at Setup); fails when its clip norm or noise multiplier is invalid
  // (privacy::DpSgdParams) or when DP is asked for without budget or noise.
  Status SetPlan(const protocol::TrainingPlan& plan);

  // Releases the data summary with Gaussian noise (sigma = noise_multiplier) and records it.
  // Refused when the release alone would exceed the budget.
  Result<data::DataSummary> ReleaseSummary(const data::RawDataset& train, double noise_multiplier,
                                           const std::map<std::string, std::vector<double>>& bounds,
                                           uint32_t round);

  struct RoundPlan {
    bool decline = false;
    std::string reason;  // sent to the coordinator: generic, nothing derived from the rows
    std::string detail;  // for the region's own log only (may name sigma, which depends on n)
    privacy::DpSgdConfig dp;
    privacy::LedgerRelease release;
    double epsilon_after = 0.0;
  };
  // The DP-SGD parameters of `round`, or a decline when the budget would be exceeded.
  Result<RoundPlan> PlanRound(uint32_t round);
  // Appends the round's release to the ledger after training.
  Status Record(const RoundPlan& plan, const std::string& model_sha256);

  // Mode dp's evaluation (privacy.evaluation "noisy"): the model evaluated on the test rows,
  // released with noise and recorded in the ledger -- or a decline when the release would exceed
  // the budget. Nothing is computed from the rows before the budget check.
  struct EvaluationRelease {
    bool decline = false;
    std::string reason;  // sent to the coordinator
    ml::ClassificationSummary summary;
  };
  Result<EvaluationRelease> ReleaseEvaluation(const ml::Mlp& model, const data::EncodedData& test,
                                              uint32_t round);

  // The training row count as the region declares it (rounded up to privacy.row_count_bucket):
  // the example count it sends and the n of q = batch / n.
  uint64_t public_rows() const { return public_rows_; }
  double epsilon_spent() const { return spent_; }
  double budget() const { return budget_; }
  double delta() const { return delta_; }
  // The ledger's head and release count ("" and 0 in mode none, which keeps no ledger).
  std::string ledger_head() const { return ledger_ ? ledger_->head_hash() : std::string(); }
  int64_t ledger_entries() const { return ledger_ ? ledger_->entries() : 0; }
  privacy::NoiseSource& noise() { return *noise_; }

 private:
  RegionPrivacy() = default;
  Result<double> Calibrate(uint32_t round);
  // The ledger release of one evaluation, and the evaluations this run still keeps budget for.
  privacy::LedgerRelease EvaluationLedgerEntry(uint32_t round) const;
  // The decline reason of a release ("round", "evaluation") that would exceed the budget.
  std::string OverBudgetReason(const char* release, double epsilon_after) const;
  std::vector<privacy::LedgerRelease> Reserved(uint32_t round) const;

  protocol::TrainingPlan plan_;
  std::optional<privacy::DpSgdParams> params_;  // the plan's clip norm and sigma, checked
  size_t n_train_ = 0;
  uint64_t public_rows_ = 0;
  privacy::EvaluationPrivacyConfig evaluation_;
  int evaluations_reserved_ = 0;  // still to reserve in this run (decremented as they happen)
  bool have_plan_ = false;
  std::string run_id_;
  double budget_ = 0.0;
  double delta_ = 0.0;
  double q_ = 0.0;
  int64_t steps_per_round_ = 0;
  double sigma_ = 0.0;  // 0 until fixed
  double max_sigma_ = 0.0;
  double min_sigma_ = 0.0;  // mode dp: privacy.min_noise_multiplier (a calibrated sigma's floor)
  double spent_ = 0.0;
  bool exhausted_ = false;
  int threads_ = 0;
  std::unique_ptr<privacy::NoiseSource> noise_;
  std::unique_ptr<privacy::LedgerWriter> ledger_;
};

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_REGION_PRIVACY_H_
