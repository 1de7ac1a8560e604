// A ClientUpdate from a region name, an example count and the delta's values, for the tests of
// the aggregation path.
#ifndef FEDSEG_TESTS_COORDINATOR_TEST_UPDATES_H_
#define FEDSEG_TESTS_COORDINATOR_TEST_UPDATES_H_

#include <string>
#include <utility>
#include <vector>

#include "coordinator/strategy.h"

namespace fedseg::coordinator {

inline ClientUpdate U(std::string region, uint64_t n, std::vector<float> d) {
  return {std::move(region), n,
          Eigen::Map<Eigen::VectorXf>(d.data(), static_cast<Eigen::Index>(d.size()))};
}

}  // namespace fedseg::coordinator

#endif  // FEDSEG_TESTS_COORDINATOR_TEST_UPDATES_H_
