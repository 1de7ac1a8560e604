// Evaluating a model on encoded data into a mergeable ClassificationSummary.
#ifndef FEDSEG_COMMON_ML_EVALUATION_H_
#define FEDSEG_COMMON_ML_EVALUATION_H_

#include "common/data/schema.h"
#include "common/ml/metrics.h"
#include "common/ml/mlp.h"

namespace fedseg::ml {

// Predicts every row of `data` (which must have labels) and summarises the predictions.
ClassificationSummary Evaluate(const Mlp& model, const data::EncodedData& data);

}  // namespace fedseg::ml

#endif  // FEDSEG_COMMON_ML_EVALUATION_H_
