// Evaluating a model on encoded data into a mergeable ClassificationSummary.
#ifndef FEDSEG_COMMON_EVALUATION_H_
#define FEDSEG_COMMON_EVALUATION_H_

#include "common/metrics.h"
#include "common/mlp.h"
#include "common/schema.h"

namespace fedseg {

// Predicts every row of `data` (which must have labels) and summarises the predictions.
ClassificationSummary Evaluate(const Mlp& model, const EncodedData& data);

}  // namespace fedseg

#endif  // FEDSEG_COMMON_EVALUATION_H_
