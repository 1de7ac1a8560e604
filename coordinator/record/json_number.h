// JSON numbers of the run record: report.json, the checkpoint's history and the report page all
// write a metric that is not finite (an AUC with one class present, a loss of a diverged model) as
// null, and read null back as NaN. This is the one place that rule lives.
#ifndef FEDSEG_COORDINATOR_RECORD_JSON_NUMBER_H_
#define FEDSEG_COORDINATOR_RECORD_JSON_NUMBER_H_

#include <nlohmann/json.hpp>

namespace fedseg::coordinator {

// `v` as a JSON number, or null when it is NaN or infinite (JSON has no such numbers).
nlohmann::json NumberOrNull(double v);

// The number `j` holds, or NaN when `j` is null, missing (nullptr) or not a number.
double NumberOrNaN(const nlohmann::json* j);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_RECORD_JSON_NUMBER_H_
