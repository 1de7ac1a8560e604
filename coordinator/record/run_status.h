// The run-status vocabulary: the one word that report.json ("status"), report.html, the /status
// document and `fedseg-coordinator --json` use for a run, with the exit code that goes with it
// (docs/operations.md, "Run status"). A word says what happened; "status_detail" says why
// ("signal 15", "checkpoint failed: ...", the figures of a model worse than the initial one).
#ifndef FEDSEG_COORDINATOR_RECORD_RUN_STATUS_H_
#define FEDSEG_COORDINATOR_RECORD_RUN_STATUS_H_

#include <optional>
#include <string>
#include <string_view>

#include "coordinator/record/run_record.h"

namespace fedseg::coordinator {

enum class RunStatus {
  kRunning,    // in progress
  kCompleted,  // every round trained, the final model evaluated and written: exit 0
  kDegraded,   // completed, but the final model is worse than the initial one (its federated
               // log loss is higher): final.fsm is written for inspection, not for use: exit 3
  kStopped,    // stopped by a signal; --resume continues from the last checkpoint: exit 0
  kFailed,     // ended by an error (detail says which): exit 1
};

// Every word, in the order of the enum.
inline constexpr std::string_view kRunStatusNames[] = {"running", "completed", "degraded",
                                                       "stopped", "failed"};

std::string_view RunStatusName(RunStatus s);
// The status of a word; nullopt for any other word. "finished", which report.json used before this
// vocabulary for both a completed and a stopped run, is not a status word.
std::optional<RunStatus> ParseRunStatus(std::string_view word);
// The coordinator's exit code for a run that ended with `s` (kRunning: 0).
int RunStatusExitCode(RunStatus s);

// Whether a completed run is kDegraded: the final model's federated log loss is higher than the
// initial model's (round 0: the same architecture, randomly initialised, evaluated on the
// regions' held-out rows), or not finite while the initial one was; or its ROC AUC is at most 0.5
// (no better than chance) and below the initial model's. Returns the status detail naming both
// models' loss, AUC and accuracy, or nullopt when the final model is not worse or the figures are
// unknown. The loss is the main criterion because it scores every prediction; a model trained on
// noise (a region calibrating sigma = 147 to spend the last of its budget) ends with a loss far
// above the initial one. The AUC criterion catches a constant model (an attack that zeroes the
// updates), whose loss, ln 2 for two balanced classes, can be below a random start's.
std::optional<std::string> WorseThanInitial(const MetricsBrief& initial,
                                            const MetricsBrief& final_model);

// Whether the global model of round `model_round`, whose federated evaluation is `now`, shows the
// run diverging: its log loss is not finite, or above kDivergenceFactor times the lowest loss of
// the models evaluated before it (`earlier`: rounds[0..model_round), those without an
// evaluation skipped). Returns the reason naming both losses and the best model's round. A
// server step too large for the strategy (FedAvgM's momentum 0.9 at step 1 went from 0.69 to
// 2.5 on the bundled table) trips it within a few rounds; the ordinary ups and downs of a
// converging run (within 40% of the best, measured) do not.
inline constexpr double kDivergenceFactor = 1.5;
std::optional<std::string> DivergenceOf(const std::vector<RoundResult>& earlier,
                                        uint32_t model_round, const MetricsBrief& now);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_RECORD_RUN_STATUS_H_
