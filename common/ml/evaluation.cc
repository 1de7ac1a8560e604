#include "common/ml/evaluation.h"

namespace fedseg::ml {

ClassificationSummary Evaluate(const Mlp& model, const data::EncodedData& data) {
  ClassificationSummary summary(model.spec().num_classes);
  if (data.rows() == 0) return summary;
  Eigen::MatrixXf probs;
  model.Predict(data.x, &probs);
  summary.AddBatch(data.y.data(), probs.data(), data.rows());
  return summary;
}

}  // namespace fedseg::ml
