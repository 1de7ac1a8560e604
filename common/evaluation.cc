#include "common/evaluation.h"

namespace fedseg {

ClassificationSummary Evaluate(const Mlp& model, const EncodedData& data) {
  ClassificationSummary summary(model.spec().num_classes);
  if (data.rows() == 0) return summary;
  Eigen::MatrixXf probs;
  model.Predict(data.x, &probs);
  summary.AddBatch(data.y.data(), probs.data(), data.rows());
  return summary;
}

}  // namespace fedseg
