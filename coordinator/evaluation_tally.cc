#include "coordinator/evaluation_tally.h"

namespace fedseg::coordinator {

Status EvaluationTally::Add(const std::string& region, const ml::ClassificationSummary& summary) {
  if (regions_.count(region)) {
    return Status::InvalidArgument("evaluation of region '" + region + "' already counted");
  }
  FEDSEG_RETURN_IF_ERROR(
      total_.Merge(summary).WithContext("evaluation of region '" + region + "'"));
  regions_.emplace(region, ml::ComputeReport(summary));
  return Status::OK();
}

void EvaluationTally::Reset(int num_classes) {
  total_ = ml::ClassificationSummary(num_classes);
  regions_.clear();
}

}  // namespace fedseg::coordinator
