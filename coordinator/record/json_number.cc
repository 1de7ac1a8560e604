#include "coordinator/record/json_number.h"

#include <cmath>
#include <limits>

namespace fedseg::coordinator {

nlohmann::json NumberOrNull(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

double NumberOrNaN(const nlohmann::json* j) {
  return j != nullptr && j->is_number() ? j->get<double>()
                                        : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace fedseg::coordinator
