#include "common/ml/evaluation.h"

#include <cmath>

namespace fedseg::ml {

ClassificationSummary Evaluate(const Mlp& model, const data::EncodedData& data) {
  ClassificationSummary summary(model.spec().num_classes);
  if (data.rows() == 0) return summary;
  Eigen::MatrixXf probs;
  model.Predict(data.x, &probs);
  summary.AddBatch(data.y.data(), probs.data(), data.rows());
  return summary;
}

RuleEvaluation EvaluateWithRule(const Mlp& model, const data::EncodedData& data,
                                const DecisionRule& rule) {
  const int k = model.spec().num_classes;
  const size_t kk = static_cast<size_t>(k);
  RuleEvaluation out{ClassificationSummary(k), std::vector<uint64_t>(kk * kk, 0)};
  if (data.rows() == 0) return out;
  Eigen::MatrixXf probs;
  model.Predict(data.x, &probs);
  out.summary.AddBatch(data.y.data(), probs.data(), data.rows());
  for (size_t i = 0; i < data.rows(); ++i) {
    const float* p = probs.data() + i * kk;
    const int y = data.y[i];
    // The rows ClassificationSummary::Add skips (a label out of range, a non-finite probability).
    bool valid = y >= 0 && y < k;
    for (int c = 0; valid && c < k; ++c) valid = std::isfinite(p[c]);
    if (!valid) continue;
    ++out.rule_confusion[static_cast<size_t>(y) * kk + static_cast<size_t>(rule.Decide(p, k))];
  }
  return out;
}

}  // namespace fedseg::ml
