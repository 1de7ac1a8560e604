// The decision rule: how a model's class probabilities become one segment per user, and how the
// rule is chosen from evaluation counts alone.
//
// Two kinds of rule:
//   - arg-max: the most probable class (the first of equals). Always used for more than two
//     classes, and by model files written before rules existed.
//   - threshold (two classes only): the positive class when p(positive) >= threshold, else the
//     other class.
// A threshold is chosen from a ClassificationSummary's score histograms of the positive class
// (metrics.h): its 4,096 buckets, uniform in logit, are the candidate thresholds, each bucket's
// lower edge. Predicting "positive" for every row at or above bucket b gives TP(b) = the positive
// rows in buckets >= b and FP(b) = the negative rows there, exactly, so the chooser needs nothing
// but what regions already release (no row-level data): the federation chooses on its merged
// evaluation summaries, `fedseg-client train` on a summary of its validation rows.
//
// Objectives (DecisionGoal):
//   max_f1          maximise F1 of the positive class (the default);
//   min_precision   maximise recall subject to precision >= target;
//   min_recall      maximise precision subject to recall >= target;
//   argmax          no threshold.
// Ties: among thresholds with different counts and the same objective value, the one with fewer
// flagged rows for max_f1 (the higher threshold), the higher precision for min_precision, the
// higher recall for min_recall. Thresholds with identical counts form a run of adjacent empty
// buckets; the middle of that run (in logit) is taken, as far as possible from the scores on
// either side. The positive class is the one the operator names, else the minority class of the
// summary's rows (class 1 when both have as many rows).
// When no threshold can serve (more than two classes, no rows of the positive class or none of
// the other, a target no threshold reaches) the rule falls back to arg-max, and the choice says
// why (DecisionChoice::note).
#ifndef FEDSEG_COMMON_ML_DECISION_RULE_H_
#define FEDSEG_COMMON_ML_DECISION_RULE_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/ml/metrics.h"

namespace fedseg::ml {

// How a rule was (or is to be) chosen. The numeric values are stored in model files.
enum class DecisionObjective : uint8_t {
  kArgMax = 0,
  kMaxF1 = 1,
  kMinPrecision = 2,
  kMinRecall = 3,
  kOperator = 4,  // a threshold given by hand (`fedseg-client segment --threshold`)
};
inline constexpr uint8_t kMaxDecisionObjective = 4;

// "argmax", "max_f1", "min_precision", "min_recall", "operator".
std::string_view DecisionObjectiveName(DecisionObjective o);
Result<DecisionObjective> ParseDecisionObjective(std::string_view name);

struct DecisionRule {
  DecisionObjective objective = DecisionObjective::kArgMax;
  int positive_class = -1;  // threshold rules: 0 or 1; arg-max: -1
  double threshold = 0.5;   // threshold rules: in [0, 1]; p(positive) >= threshold is positive
  double target = 0;        // min_precision / min_recall: the target it was chosen for

  bool is_threshold() const { return objective != DecisionObjective::kArgMax; }

  // A threshold rule needs two classes, a known positive class and a finite threshold in [0, 1];
  // an arg-max rule has positive_class -1. Corruption (it usually comes from a file) otherwise.
  Status Validate(int num_classes) const;

  // The decided class for one row's `k` probabilities. The rule must be valid for k classes.
  int Decide(const float* probs, int k) const;

  // "arg-max" or "p(TRUE) >= 0.2932 (max F1 of TRUE)".
  std::string Describe(const std::vector<std::string>& class_names) const;
  // {"kind": "argmax"|"threshold", "objective", "positive_class" (name or null),
  //  "threshold" (null for arg-max), "target" (min_precision/min_recall only)}.
  nlohmann::json ToJson(const std::vector<std::string>& class_names) const;

  bool operator==(const DecisionRule&) const = default;

  template <class Archive>
  void serialize(Archive& ar) {
    uint8_t o = static_cast<uint8_t>(objective);
    int32_t pc = positive_class;
    ar(o, pc, threshold, target);
    objective = static_cast<DecisionObjective>(o);  // checked by Validate
    positive_class = pc;
  }
};

// What the operator asks for (the coordinator's `decision` config, `train --decision`).
struct DecisionGoal {
  DecisionObjective objective = DecisionObjective::kMaxF1;  // never kOperator
  double target = 0;           // min_precision / min_recall: in (0, 1]
  std::string positive_class;  // a class name; "" = the minority class of the evaluation rows

  Status Validate() const;
  // "f1" (max_f1), "argmax", "precision>=P", "recall>=R" (the `train --decision` syntax).
  static Result<DecisionGoal> Parse(std::string_view text);
};

// Counts of the positive class's decisions on the rows a rule was chosen on.
struct BinaryCounts {
  uint64_t tp = 0, fp = 0, fn = 0, tn = 0;
  double precision() const;  // 0 when nothing is flagged
  double recall() const;     // 0 without positives
  double f1() const;         // 2tp / (2tp + fp + fn); 0 when that is 0/0
  nlohmann::json ToJson() const;  // {tp, fp, fn, tn, precision, recall, f1}
};

struct DecisionChoice {
  DecisionRule rule;
  DecisionGoal goal;
  std::string note;   // why the rule is arg-max although a threshold was asked for; "" otherwise
  uint64_t rows = 0;  // the evaluation rows it was chosen on
  int positive_class = -1;  // the class the counts below are of (-1: more than two classes)
  BinaryCounts at_rule, at_argmax;

  // {rule (DecisionRule::ToJson), goal {objective, target, positive_class}, note, rows,
  //  at_rule, at_argmax (BinaryCounts::ToJson, absent for more than two classes)}.
  nlohmann::json ToJson(const std::vector<std::string>& class_names) const;
};

// Chooses the rule for `goal` from `s` (the evaluation rows: a federation's merged summaries, or a
// validation split). InvalidArgument only when the goal itself is invalid or names a class that
// is not in `class_names`; every other case gives a rule (see the fallbacks above).
Result<DecisionChoice> ChooseDecisionRule(const ClassificationSummary& s, const DecisionGoal& goal,
                                          const std::vector<std::string>& class_names);

// The K x K confusion matrix (row = true class) of `rule`'s decisions on the rows of `s`,
// computed from the score histograms: exact for thresholds at a bucket edge (every chosen one),
// to the bucket otherwise. For arg-max, s.confusion().
Result<std::vector<uint64_t>> ConfusionAtRule(const ClassificationSummary& s,
                                              const DecisionRule& rule);

// The lower edge, in probability, of score bucket b of ClassificationSummary (0 for b <= 0).
double ScoreBinLowerEdge(int b);

}  // namespace fedseg::ml

#endif  // FEDSEG_COMMON_ML_DECISION_RULE_H_
