#include "common/base/serialization.h"

#include "common/protocol/messages.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>


namespace fedseg::protocol {
namespace {

// Portable binary: byte 0 is the archive's endianness flag, then RoundStartMsg's fields in order:
// uint32 round, bool train, ...
constexpr size_t kTrainOffset = 1 + 4;

TEST(SerializationTest, BoolsRoundTrip) {
  for (bool train : {false, true}) {
    RoundStartMsg m{3, train, 7, {1.0f, 2.0f}};
    RoundStartMsg back;
    ASSERT_TRUE(Parse(Serialize(m), &back, "round start").ok());
    EXPECT_EQ(back.train, train);
    EXPECT_EQ(back.weights, m.weights);
  }
}

// A bool byte other than 0 or 1 used to be copied into the bool (undefined behaviour when read);
// found by the frame fuzzer (tests/fuzz/regressions/frame/setup_bool_not_0_or_1).
TEST(SerializationTest, RefusesBoolOtherThanZeroOrOne) {
  std::string bytes = Serialize(RoundStartMsg{3, true, 7, {}});
  ASSERT_EQ(bytes[kTrainOffset], 1);
  for (int v : {2, 0x21, 0xff}) {
    bytes[kTrainOffset] = static_cast<char>(v);
    RoundStartMsg back;
    Status st = Parse(bytes, &back, "round start");
    ASSERT_FALSE(st.ok()) << v;
    EXPECT_TRUE(st.IsCorruption());
    EXPECT_NE(st.message().find("round start is malformed: a bool must be stored as 0 or 1, got " +
                                std::to_string(v)),
              std::string::npos)
        << st.message();
  }
}

TEST(SerializationTest, RefusesLengthLargerThanTheInput) {
  std::string bytes = Serialize(ErrorMsg{"abc"});
  bytes[1 + 7] = static_cast<char>(0x7f);  // top byte of the uint64 string length
  ErrorMsg back;
  Status st = Parse(bytes, &back, "error message");
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
}

struct Counts {
  std::map<std::string, double> m;
  template <class A>
  void serialize(A& ar) {
    ar(m);
  }
};

// A repeated map key used to be dropped silently, keeping the first value (found by the frame
// fuzzer in a SummaryReply: tests/fuzz/regressions/frame/summary_reply_repeated_map_key).
TEST(SerializationTest, RefusesRepeatedOrUnorderedMapKeys) {
  const std::string bytes = Serialize(Counts{{{"a", 1.0}, {"b", 2.0}}});
  Counts back;
  ASSERT_TRUE(Parse(bytes, &back, "counts").ok());
  EXPECT_EQ(back.m.size(), 2u);
  const size_t b = bytes.rfind('b');
  ASSERT_NE(b, std::string::npos);
  for (char key : {'a', '0'}) {  // repeated, then smaller than the previous key
    std::string bad = bytes;
    bad[b] = key;
    Status st = Parse(bad, &back, "counts");
    ASSERT_FALSE(st.ok()) << key;
    EXPECT_NE(st.message().find("map keys must be unique and in increasing order (entry 1)"),
              std::string::npos)
        << st.message();
  }
}

}  // namespace
}  // namespace fedseg::protocol
