#include "common/base/progress.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace fedseg {
namespace {

TEST(ProgressTest, BarShowsTheFraction) {
  EXPECT_EQ(ProgressBar(0.5, 10), "[#####-----]  50%");
  EXPECT_EQ(ProgressBar(0.0, 4), "[----]   0%");
  EXPECT_EQ(ProgressBar(1.7, 4), "[####] 100%");
  EXPECT_EQ(ProgressBar(std::nan(""), 2), "[--]   0%");
}

TEST(ProgressTest, DrawsOnlyOnATerminalUnlessForced) {
  std::FILE* f = std::tmpfile();
  {
    ProgressLine quiet(f);  // a file is not a terminal: nothing is drawn
    EXPECT_FALSE(quiet.active());
    quiet.Update("epoch 1/2");
  }
  EXPECT_EQ(std::ftell(f), 0);
  {
    ProgressLine forced(f, /*force=*/true);
    forced.Update("epoch 1/2");
    forced.Update("epoch 2/2");
  }
  std::rewind(f);
  char buf[128] = {0};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  EXPECT_EQ(std::string(buf, n), "\r\033[Kepoch 1/2\r\033[Kepoch 2/2\n");
  std::fclose(f);
}

}  // namespace
}  // namespace fedseg
