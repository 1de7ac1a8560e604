#include "common/features/internal/accumulator.h"

#include <algorithm>
#include <cmath>

namespace fedseg::features::internal {

void InsertDistinct(std::vector<uint64_t>* set, uint64_t h) {
  if (!set->empty() && set->back() < h) {  // common when values arrive in order (days)
    set->push_back(h);
    return;
  }
  auto it = std::lower_bound(set->begin(), set->end(), h);
  if (it == set->end() || *it != h) set->insert(it, h);
}

double FinishFeature(const FeatureDef& f, const Accumulator& a, size_t distinct,
                     double reference_days) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (a.n == 0) return f.absent ? *f.absent : nan;
  const double n = static_cast<double>(a.n);
  switch (f.agg) {
    case Aggregation::kCount:
      return n;
    case Aggregation::kDistinctCount:
      return static_cast<double>(distinct);
    case Aggregation::kSum:
      return a.sum;
    case Aggregation::kMean:
      return a.mean;
    case Aggregation::kMin:
      return a.lo;
    case Aggregation::kMax:
      return a.hi;
    case Aggregation::kStddev:
      return std::sqrt(a.m2 / n);
    case Aggregation::kRecency:
      return reference_days - a.last;
    case Aggregation::kTenure:
      return reference_days - a.first;
    case Aggregation::kShare:
      return static_cast<double>(a.matches) / n;
    case Aggregation::kEventsPerActiveDay:
      return n / static_cast<double>(std::max<size_t>(distinct, 1));
    case Aggregation::kSessionDuration: {
      // Row sessions: n rows whose durations were summed into `sum`. Gap sessions: the closed
      // sessions plus the open one.
      double total = a.sum, count = n;
      if (f.gap_minutes > 0) {
        total = a.session_total + (a.last - a.session_start) * 24 * 60;
        count = static_cast<double>(a.sessions + 1);
      }
      switch (f.session_stat) {
        case SessionStat::kSum:
          return total;
        case SessionStat::kMean:
          return total / count;
        case SessionStat::kCount:
          return count;
      }
      return nan;
    }
  }
  return nan;
}

}  // namespace fedseg::features::internal
