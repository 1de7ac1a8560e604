// The typed record of one federated run: what report.json, metrics.csv, the report page and the
// checkpoint's history all come from.
//
// report.json layout (RunRecord::ToJson; nlohmann::json orders keys alphabetically; every metric
// that is not finite is written as null, see json_number.h):
//   run_id, status (a word of run_status.h: running | completed | degraded | stopped | failed),
//   status_detail (why: "signal 15", the error, the figures; absent when there is nothing to
//   add), completed_round, config (the coordinator
//   configuration echoed as written by CoordinatorConfig::ToJson), bytes_received,
//   rounds: [ RoundResult ... ]   (rounds[i].round == i; round 0 is the initial model),
//   regions: { name: RegionResult },
//   model: { architecture, parameters, classes }          (once the schema is agreed),
//   final: the final model's round, written by the coordinator as a copy of
//          rounds[completed_round] (once the final model is evaluated),
//   refused_connections: { reason: count }               (while the listener exists),
//   decision: the decision rule written into final.fsm (DecisionRecord; once it is written),
//   secure_aggregation: true and secure_aggregation_parameters (the config's secure_aggregation
//   section without `enabled`) when the run used secure aggregation; absent otherwise. A round's
//   participants are then the regions whose masked updates were aggregated.
// A RoundResult is {round} plus, once the model of that round has been evaluated,
//   global (MetricsBrief), regions {name: MetricsBrief}, evaluated_by, and for the final model
//   report (ml::ClassificationReport::ToJson: per-class metrics and the confusion matrix), and
//   diverging (why this model shows the run diverging, run_status.h DivergenceOf; absent when
//   it does not);
// plus, once round `round` has been trained (round >= 1),
//   selected, updates, examples, train_loss (null if not finite), seconds, participants [names],
//   and refused [names] (regions whose update the defences refused in that round, in any of its
//   attempts; absent when none was).
// A MetricsBrief is {rows, loss, accuracy, macro_f1, positive_f1, roc_auc, kappa}.
//
// FromJson refuses a missing or mistyped field with a message naming it ("report.json:
// rounds[2].global.loss: expected a number or null, found string"). Fields that older files
// legitimately lack, and their values when absent:
//   - regions.<name>.epsilon_delta (0) and regions.<name>.ledger_head ("") were added with the
//     privacy ledger; report.json and checkpoints written before it have neither.
//   - status_detail came with the run-status vocabulary, when "finished" stopped being a status.
//   - regions.<name>.updates_refused (0), last_refused_round (0), last_refusal ("") and a round's
//     refused ([]) are written only when an update was refused (update_screen.h), so the reports
//     of runs without a refusal read as before.
//   - the optional groups above (a round's evaluation or training, model, final,
//     refused_connections, a round's report) are absent whenever the run had not reached them.
//   - decision came with decision rules (issue 14): reports of earlier runs have none.
#ifndef FEDSEG_COORDINATOR_RECORD_RUN_RECORD_H_
#define FEDSEG_COORDINATOR_RECORD_RUN_RECORD_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/ml/metrics.h"

namespace fedseg::coordinator {

// The headline metrics of one evaluation (the global model on all regions, or on one region).
struct MetricsBrief {
  uint64_t rows = 0;  // evaluated rows
  double loss = 0;    // log loss; NaN when not computable
  double accuracy = 0;
  double macro_f1 = 0;
  double positive_f1 = 0;
  double roc_auc = 0;
  double kappa = 0;  // Cohen's kappa

  static MetricsBrief FromReport(const ml::ClassificationReport& r);
  nlohmann::json ToJson() const;
  bool operator==(const MetricsBrief&) const = default;
};

// The evaluation of the model a round started from (round 0: the initial model).
struct RoundEvaluation {
  MetricsBrief global;
  std::map<std::string, MetricsBrief> regions;  // by region name
  uint64_t evaluated_by = 0;                    // regions that reported
  // The full ml::ClassificationReport::ToJson of the final model (only in the final round).
  std::optional<nlohmann::json> report;
  // Why this model shows the run diverging (DivergenceOf, run_status.h); "" when it does not.
  // JSON "diverging", written only when set.
  std::string diverging;
  bool operator==(const RoundEvaluation&) const = default;
};

// The training of round `round` (absent for round 0).
struct RoundTraining {
  uint64_t selected = 0;  // regions asked to train
  uint64_t updates = 0;   // updates aggregated
  uint64_t examples = 0;  // training examples behind them
  double train_loss = 0;  // example-weighted mean; NaN when not finite
  double seconds = 0;     // wall time of the round
  std::vector<std::string> participants;  // in aggregation order
  std::vector<std::string> refused;       // regions whose update was refused, by name
  bool operator==(const RoundTraining&) const = default;
};

struct RoundResult {
  uint32_t round = 0;
  std::optional<RoundEvaluation> evaluation;
  std::optional<RoundTraining> training;

  nlohmann::json ToJson() const;
  bool operator==(const RoundResult&) const = default;
};

// What the coordinator knows of one region over the run.
struct RegionResult {
  uint64_t train_rows = 0, test_rows = 0;
  int rounds_participated = 0;
  int rounds_missed = 0;
  std::vector<uint32_t> declined_rounds;  // rounds the region declined (its privacy budget)
  std::string decline_reason;             // the last decline's reason, "" if none
  bool retired = false;                   // left the federation (budget spent)
  double epsilon_spent = 0;               // DP-SGD epsilon spent so far (0 without DP)
  double epsilon_budget = 0;              // the region's budget (0 without DP)
  std::map<uint32_t, double> epsilon_by_round;  // epsilon spent after each trained round
  double epsilon_delta = 0;               // the delta of those epsilons
  std::string ledger_head;                // hex hash of the region's privacy-ledger head
  // Updates of this region the coordinator's defences refused (update_screen.h), over the run.
  int updates_refused = 0;
  uint32_t last_refused_round = 0;  // the round of the last refusal (0 if none)
  std::string last_refusal;         // its reason ("norm 1.2e+04 is more than 10 x ..."), or ""
  bool connected = false;

  nlohmann::json ToJson() const;
  bool operator==(const RegionResult&) const = default;
};

struct ModelFacts {
  std::string architecture;  // ml::ModelSpec::ToString(), "75-64-32-2"
  int64_t parameters = 0;
  std::vector<std::string> classes;

  nlohmann::json ToJson() const;
  bool operator==(const ModelFacts&) const = default;
};

// Precision, recall and F1 of the positive class under one decision rule.
struct DecisionMetrics {
  double precision = 0, recall = 0, f1 = 0;
  nlohmann::json ToJson() const;
  bool operator==(const DecisionMetrics&) const = default;
};

// The decision rule of final.fsm and what it was chosen for (common/ml/decision_rule.h). JSON:
// {goal, target, kind, positive_class (null for more than two classes), threshold (null for
// arg-max), note, rows, at_rule and at_argmax (DecisionMetrics; absent without positive_class)}.
struct DecisionRecord {
  std::string goal = "max_f1";   // the objective asked for (config decision.objective)
  double target = 0;             // its precision / recall target (0 for the others)
  std::string kind = "argmax";   // the rule written: "argmax" or "threshold"
  std::string positive_class;    // the class thresholded and measured; "" for K > 2
  std::optional<double> threshold;  // absent (null) for arg-max
  std::string note;              // why the rule is arg-max when a threshold was asked for
  uint64_t rows = 0;             // the merged evaluation rows it was chosen on
  std::optional<DecisionMetrics> at_rule, at_argmax;  // on those rows

  nlohmann::json ToJson() const;
  bool operator==(const DecisionRecord&) const = default;
};

struct RunRecord {
  std::string run_id;
  std::string status;         // a word of kRunStatusNames (run_status.h)
  std::string status_detail;  // why the run has that status; "" when there is nothing to add
  uint32_t completed_round = 0;
  nlohmann::json config = nlohmann::json::object();  // CoordinatorConfig::ToJson()
  std::vector<RoundResult> rounds;                   // rounds[i].round == i
  std::map<std::string, RegionResult> regions;
  uint64_t bytes_received = 0;
  std::optional<ModelFacts> model;
  // The evaluated final model: the coordinator sets it to rounds[completed_round] once the final
  // evaluation is recorded (report.json's "final").
  std::optional<RoundResult> final_round;
  std::optional<std::map<std::string, uint64_t>> refused_connections;
  std::optional<DecisionRecord> decision;  // set when final.fsm is written

  // rounds[r], appending empty rounds up to it (as the coordinator's history grows).
  RoundResult& Round(uint32_t r);
  // The final round when the final model was evaluated, else null.
  const RoundResult* Final() const;

  // report.json (layout above).
  nlohmann::json ToJson() const;
  static Result<RunRecord> FromJson(const nlohmann::json& j, const std::string& where);

  // The two parts the checkpoint stores: the rounds array and the regions object, in the layout
  // of report.json's "rounds" and "regions".
  nlohmann::json RoundsToJson() const;
  nlohmann::json RegionsToJson() const;
  static Result<std::vector<RoundResult>> RoundsFromJson(const nlohmann::json& j,
                                                         const std::string& where);
  static Result<std::map<std::string, RegionResult>> RegionsFromJson(const nlohmann::json& j,
                                                                     const std::string& where);

  // metrics.csv: a header, then per evaluated round its "global" row and one row per region:
  // round,scope,rows,loss,accuracy,macro_f1,positive_f1,roc_auc,kappa (metrics "%.6f", empty
  // when not finite).
  std::string MetricsCsv() const;

  bool operator==(const RunRecord&) const = default;
};

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_RECORD_RUN_RECORD_H_
