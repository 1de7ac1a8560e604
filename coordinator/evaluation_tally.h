// The federated evaluation of one model, merged as the regions' summaries arrive.
//
// A region's ClassificationSummary carries two score histograms per class (2 × K × 4,096 counts:
// 128 KiB for two classes). Keeping every region's summary until the round ends costs 128 MiB per
// 1,000 regions; the tally instead merges each summary into one running total on arrival and keeps
// only the region's own report (a few dozen numbers). Merging is exact and order-independent, so
// the total equals the merge of all summaries at the end.
#ifndef FEDSEG_COORDINATOR_EVALUATION_TALLY_H_
#define FEDSEG_COORDINATOR_EVALUATION_TALLY_H_

#include <map>
#include <string>

#include "common/base/status.h"
#include "common/ml/metrics.h"

namespace fedseg::coordinator {

class EvaluationTally {
 public:
  explicit EvaluationTally(int num_classes = 0) : total_(num_classes) {}

  // Merges `summary` into the total and keeps `region`'s report. Refuses (and changes nothing)
  // a summary that does not merge (another class count) or a region already counted.
  Status Add(const std::string& region, const ml::ClassificationSummary& summary);

  // Forgets everything: the tally of the next model, with `num_classes` classes.
  void Reset(int num_classes);

  bool empty() const { return regions_.empty(); }
  size_t size() const { return regions_.size(); }
  const ml::ClassificationSummary& total() const { return total_; }
  // Each counted region's own report, by name.
  const std::map<std::string, ml::ClassificationReport>& regions() const { return regions_; }

 private:
  ml::ClassificationSummary total_;
  std::map<std::string, ml::ClassificationReport> regions_;
};

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_EVALUATION_TALLY_H_
