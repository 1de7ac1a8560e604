// Replays every committed fuzz input (tests/fuzz/corpus/<target>/ and
// tests/fuzz/regressions/<target>/) through the fuzz targets' functions, in the ordinary build:
// a crash the fuzzer once found, once fixed, stays fixed. A property violation aborts this test
// binary with the target's message.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_targets.h"

namespace fedseg::fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = fs::path(FEDSEG_SOURCE_DIR) / "tests" / "fuzz";

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string ReadBytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

size_t Replay(const FuzzTarget& t, const fs::path& dir) {
  size_t n = 0;
  for (const fs::path& file : FilesIn(dir)) {
    SCOPED_TRACE(file.string());
    const std::string bytes = ReadBytes(file);
    EXPECT_EQ(t.function(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 0);
    ++n;
  }
  return n;
}

class FuzzReplayTest : public ::testing::TestWithParam<FuzzTarget> {};

TEST_P(FuzzReplayTest, SeedCorpusRunsClean) {
  const size_t n = Replay(GetParam(), kFuzzDir / "corpus" / GetParam().name);
  EXPECT_GE(n, 3u) << "the seed corpus of " << GetParam().name << " is missing or tiny";
}

TEST_P(FuzzReplayTest, RegressionInputsRunClean) {
  Replay(GetParam(), kFuzzDir / "regressions" / GetParam().name);
}

TEST_P(FuzzReplayTest, EmptyAndTinyInputsRunClean) {
  const uint8_t bytes[2] = {0x01, 0x00};
  EXPECT_EQ(GetParam().function(bytes, 0), 0);
  EXPECT_EQ(GetParam().function(bytes, 1), 0);
  EXPECT_EQ(GetParam().function(bytes, 2), 0);
}

INSTANTIATE_TEST_SUITE_P(AllTargets, FuzzReplayTest, ::testing::ValuesIn(AllTargets()),
                         [](const ::testing::TestParamInfo<FuzzTarget>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace fedseg::fuzz
