// Helpers shared by the tests of common/data.
#ifndef FEDSEG_TESTS_COMMON_DATA_DATA_TEST_UTIL_H_
#define FEDSEG_TESTS_COMMON_DATA_DATA_TEST_UTIL_H_

#include <string>

namespace fedseg::data::test {

// A dataset of ../shared/data beside the checkout (tests that need one skip when it is absent).
inline std::string SharedData(const char* name) {
  return std::string(FEDSEG_SOURCE_DIR "/../shared/data/") + name;
}

}  // namespace fedseg::data::test

#endif  // FEDSEG_TESTS_COMMON_DATA_DATA_TEST_UTIL_H_
