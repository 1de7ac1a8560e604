// Evaluating a model on encoded data into a mergeable ClassificationSummary.
#ifndef FEDSEG_COMMON_ML_EVALUATION_H_
#define FEDSEG_COMMON_ML_EVALUATION_H_

#include <cstdint>
#include <vector>

#include "common/data/schema.h"
#include "common/ml/decision_rule.h"
#include "common/ml/metrics.h"
#include "common/ml/mlp.h"

namespace fedseg::ml {

// Predicts every row of `data` (which must have labels) and summarises the predictions.
ClassificationSummary Evaluate(const Mlp& model, const data::EncodedData& data);

// The summary of Evaluate, plus the K x K confusion matrix (row = true class) of `rule`'s own
// decisions, counted row by row over the rows the summary counts (feed both to ComputeReport).
// `rule` must be valid for the model's class count.
struct RuleEvaluation {
  ClassificationSummary summary;
  std::vector<uint64_t> rule_confusion;
};
RuleEvaluation EvaluateWithRule(const Mlp& model, const data::EncodedData& data,
                                const DecisionRule& rule);

}  // namespace fedseg::ml

#endif  // FEDSEG_COMMON_ML_EVALUATION_H_
