#include "coordinator/evaluation_tally.h"

namespace fedseg::coordinator {

Status EvaluationTally::Add(const std::string& region, const ClassificationSummary& summary) {
  if (regions_.count(region)) {
    return Status::InvalidArgument("evaluation of region '" + region + "' already counted");
  }
  FEDSEG_RETURN_IF_ERROR(
      total_.Merge(summary).WithContext("evaluation of region '" + region + "'"));
  regions_.emplace(region, ComputeReport(summary));
  return Status::OK();
}

void EvaluationTally::Reset(int num_classes) {
  total_ = ClassificationSummary(num_classes);
  regions_.clear();
}

}  // namespace fedseg::coordinator
