#include "common/ml/runtime.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace fedseg::ml {
namespace {

struct rlimit FileLimit() {
  struct rlimit lim {};
  EXPECT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  return lim;
}

TEST(RaiseOpenFileLimitTest, RaisesTheSoftLimitToTheHardLimit) {
  const struct rlimit before = FileLimit();
  ASSERT_GT(before.rlim_max, 64u);
  // Start from a low soft limit, as on a default Linux login (1,024), to see it raised.
  struct rlimit low = before;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);

  auto raised = RaiseOpenFileLimit();
  ASSERT_TRUE(raised.ok()) << raised.status().message();
  const struct rlimit after = FileLimit();
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
  EXPECT_EQ(after.rlim_max, before.rlim_max);
  EXPECT_EQ(*raised, static_cast<uint64_t>(before.rlim_max));

  // Idempotent: already at the hard limit.
  auto again = RaiseOpenFileLimit();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *raised);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &before), 0);
}

}  // namespace
}  // namespace fedseg::ml
