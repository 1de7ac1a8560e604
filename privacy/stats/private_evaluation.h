// Private federated evaluation: the summary a region returns for a model evaluated on its test
// rows, released with the Gaussian mechanism on integer counts (docs/privacy.md, "Evaluation").
//
// One test row (user) adds, per group: 1 to one cell of the confusion matrix (L2 sensitivity 1);
// 1 to one score bucket of each of the K classes' histograms (its own class's histogram of its own
// rows, the other classes' histograms of other rows: L2 sensitivity sqrt(K)); and its log loss,
// clipped to `loss_clip_nats`, to the loss total. Each group gets rounded Gaussian noise of
// noise_multiplier times its sensitivity (AddRoundedGaussian), so the release is 3 Gaussian
// mechanisms of that noise multiplier. The histograms are first coarsened to `score_bins` buckets
// of equal width in logit (so ROC AUC sums the noise of few buckets), and the noisy counts
// are then made consistent (each class's histograms projected onto the non-negative counts that
// sum to the totals of the noisy confusion matrix, closest in L2 to the noisy ones; each coarse
// bucket's count placed at its middle fine bucket) --
// post-processing, free of privacy cost -- so the coordinator validates and merges the summary like
// an exact one.
#ifndef FEDSEG_PRIVACY_STATS_PRIVATE_EVALUATION_H_
#define FEDSEG_PRIVACY_STATS_PRIVATE_EVALUATION_H_

#include <cmath>
#include <cstdint>

#include "common/base/status.h"
#include "common/data/schema.h"
#include "common/ml/metrics.h"
#include "common/ml/mlp.h"
#include "privacy/noise/noise.h"

namespace fedseg::privacy {

struct EvaluationPrivacyConfig {
  double noise_multiplier = 10.0;  // sigma, > 0
  // Coarse score buckets per class histogram: two tails and score_bins - 2 of equal width in
  // logit over [-6, 6] (20: 2/3 of a logit each).
  int score_bins = 20;
  // Per-row log loss is clipped here (ln 100: a probability of the true class below 1% counts as
  // 1%), which bounds the loss total's sensitivity.
  double loss_clip_nats = std::log(100.0);
  Status Validate() const;
};

struct PrivateEvaluation {
  ml::ClassificationSummary summary;
  int64_t mechanisms = 3;  // Gaussian mechanisms of noise multiplier sigma (the ledger's count)
};

// Evaluates `model` on `test` (labels in [0, K)) and releases the noisy, consistent summary.
Result<PrivateEvaluation> PrivateEvaluate(const ml::Mlp& model, const data::EncodedData& test,
                                          const EvaluationPrivacyConfig& config,
                                          NoiseSource& noise);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_STATS_PRIVATE_EVALUATION_H_
