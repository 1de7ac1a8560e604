// Per-user running state of one feature (or of the window label), updated one event at a time and
// turned into the feature's value at the end. Mean and standard deviation use Welford's update
// (Knuth, TAOCP vol. 2, 4.2.2) so large sums of similar values keep their precision; the standard
// deviation is the population one (divide by n). Distinct values are kept as 64-bit hashes in a
// sorted vector per user.
#ifndef FEDSEG_COMMON_FEATURES_INTERNAL_ACCUMULATOR_H_
#define FEDSEG_COMMON_FEATURES_INTERNAL_ACCUMULATOR_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "common/features/feature_spec.h"

namespace fedseg::features::internal {

struct Accumulator {
  uint64_t n = 0;
  uint64_t matches = 0;  // share: events with the value
  double sum = 0, mean = 0, m2 = 0;
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  double first = std::numeric_limits<double>::infinity();
  double last = -std::numeric_limits<double>::infinity();
  // Gap sessions: the current session's start, the closed sessions' total and count.
  double session_start = 0, session_total = 0;
  uint64_t sessions = 0;

  void AddTime(double t) {
    ++n;
    if (t < first) first = t;
    if (t > last) last = t;
  }
  void AddValue(double x) {
    sum += x;
    const double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
};

// Inserts h into the sorted vector `set` if absent.
void InsertDistinct(std::vector<uint64_t>* set, uint64_t h);

// The feature's value for one user (NaN if undefined and no absent value is set).
double FinishFeature(const FeatureDef& f, const Accumulator& a, size_t distinct,
                     double reference_days);

}  // namespace fedseg::features::internal

#endif  // FEDSEG_COMMON_FEATURES_INTERNAL_ACCUMULATOR_H_
