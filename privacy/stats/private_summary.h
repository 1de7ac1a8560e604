// Private federated statistics: the counts, sums and sums of squares a region contributes to the
// global schema, released with the Gaussian mechanism on clipped values.
//
// One row (user) changes, per statistic group, at most: the row count by 1; the label histogram
// by 1 in one bin; for every numeric column its (count, missing) pair by 1 in one of them, its sum
// by at most B = max(|lo|, |hi|) and its sum of squares by at most B^2, once its values are
// clipped to the public bounds [lo, hi]; for every categorical column its category histogram by 1
// in one bin. Each group gets N(0, (sigma * sensitivity)^2) on every entry, so the release is
// k Gaussian mechanisms of noise multiplier sigma (k counted by PrivateSummarize), which the RDP
// accountant composes as k * alpha / (2 sigma^2). Category names are released only when their noisy
// count reaches threshold = 1 + sigma * z(1 - selection_delta): a category held by a single user
// then appears with probability at most selection_delta (Gaussian partition selection), a delta
// that adds to the region's (epsilon, delta) and is recorded in its ledger.
#ifndef FEDSEG_PRIVACY_STATS_PRIVATE_SUMMARY_H_
#define FEDSEG_PRIVACY_STATS_PRIVATE_SUMMARY_H_

#include <map>
#include <string>
#include <utility>

#include "common/data/dataset_loader.h"
#include "common/data/schema.h"
#include "privacy/noise/noise.h"

namespace fedseg::privacy {

struct StatsPrivacyConfig {
  double noise_multiplier = 0.0;  // sigma; 0 = exact statistics (not private)
  // Public bounds per numeric column; values are clipped to them. Required for every numeric
  // column when noise_multiplier > 0 (boolean columns are bounded by [0, 1] already).
  std::map<std::string, std::pair<double, double>> bounds;
  double selection_delta = 1e-6;  // per categorical column
};

struct PrivateSummary {
  data::DataSummary summary;
  int64_t mechanisms = 0;  // Gaussian mechanisms composed (k)
  double category_threshold = 0.0;
  int categorical_columns = 0;  // each adds selection_delta to delta
};

Result<PrivateSummary> PrivateSummarize(const data::RawDataset& data,
                                        const StatsPrivacyConfig& config, NoiseSource& noise);

// x + round(Z), Z ~ N(0, stddev^2) drawn in double: the noise of every private statistic.
// Statistics are integers (counts, or sums in fixed point), so the output is exactly x shifted by
// an integer noise value whose distribution does not depend on x: unlike float noise added to a
// float sum, no low-order bit of the output carries the input (Mironov 2012). The release is a
// post-processing (rounding) of the Gaussian mechanism and is accounted as one. |x| must stay
// below 2^52 (checked by callers through their bounds).
int64_t AddRoundedGaussian(int64_t x, double stddev, NoiseSource& noise);

// The fixed-point grid of a sum of values clipped to magnitude `bound`: the largest power of two
// at most bound / 2^20, so one value moves the integer sum by at most 2^20 + 1 grid steps and a
// sum over 2^30 rows stays exact in a double.
double FixedPointStep(double bound);

// The z-score with upper tail probability p (inverse of the standard normal survival function).
double NormalUpperQuantile(double p);

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_STATS_PRIVATE_SUMMARY_H_
