#include "common/features/internal/record_reader.h"

#include <gtest/gtest.h>

#include "tests/common/features/test_files.h"

namespace fedseg::features::internal {
namespace {

using Records = std::vector<std::vector<std::string>>;

Records ReadAll(const std::string& path, char delimiter = ',', Encoding enc = Encoding::kUtf8,
                std::vector<uint64_t>* lines = nullptr) {
  auto r = RecordReader::Open(path, delimiter, enc);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  Records out;
  std::vector<std::string_view> f;
  for (;;) {
    auto got = (*r)->Next(&f);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok() || !*got) break;
    out.emplace_back(f.begin(), f.end());
    if (lines) lines->push_back((*r)->line());
  }
  return out;
}

TEST(RecordReaderTest, QuotesCrlfBomAndBlankLines) {
  TestDir dir;
  const std::string p = dir.Write(
      "a.csv",
      "\xEF\xBB\xBFid,name\r\n1,\"Smith, J\"\r\n\r\n2,\"say \"\"hi\"\"\nthere\"\r\n3,\r\n4,x");
  std::vector<uint64_t> lines;
  const Records r = ReadAll(p, ',', Encoding::kUtf8, &lines);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0], (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(r[1], (std::vector<std::string>{"1", "Smith, J"}));
  EXPECT_EQ(r[2], (std::vector<std::string>{"2", "say \"hi\"\nthere"}));
  EXPECT_EQ(r[3], (std::vector<std::string>{"3", ""}));
  EXPECT_EQ(r[4], (std::vector<std::string>{"4", "x"}));
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 2, 4, 6, 7}));
}

TEST(RecordReaderTest, WhitespaceDelimitedFixedWidth) {
  TestDir dir;
  const std::string p =
      dir.Write("c.txt", " 00001 19970101  1   11.77\r\n 00002 19970112  5   77.00\r\n");
  const Records r = ReadAll(p, ' ');
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1], (std::vector<std::string>{"00002", "19970112", "5", "77.00"}));
}

TEST(RecordReaderTest, Windows1252BecomesUtf8) {
  TestDir dir;
  const std::string p = dir.Write("w.csv", "name\nRoy Franz\xF6sisch \x93quoted\x94\n");
  const Records r = ReadAll(p, ',', Encoding::kWindows1252);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[1][0], "Roy Franz\xC3\xB6sisch \xE2\x80\x9Cquoted\xE2\x80\x9D");
  std::string out;
  AppendWindows1252AsUtf8("\x81\x80", &out);
  EXPECT_EQ(out, "\xEF\xBF\xBD\xE2\x82\xAC");  // undefined byte -> U+FFFD, 0x80 -> euro sign
}

TEST(RecordReaderTest, RecordsAcrossBufferRefills) {
  TestDir dir;
  std::string text = "id,v\n";
  for (int i = 0; i < 200000; ++i)
    text += std::to_string(i) + ",\"value " + std::to_string(i) + "\"\n";
  const Records r = ReadAll(dir.Write("big.csv", text));
  ASSERT_EQ(r.size(), 200001u);
  EXPECT_EQ(r.back(), (std::vector<std::string>{"199999", "value 199999"}));
  EXPECT_EQ(r[123457], (std::vector<std::string>{"123456", "value 123456"}));
}

TEST(RecordReaderTest, UnclosedQuoteIsAnError) {
  TestDir dir;
  auto r = RecordReader::Open(dir.Write("q.csv", "a,b\n1,\"open\n2,3\n"), ',', Encoding::kUtf8);
  ASSERT_TRUE(r.ok());
  std::vector<std::string_view> f;
  ASSERT_TRUE(*(*r)->Next(&f));
  auto got = (*r)->Next(&f);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("q.csv:2: a quoted field is not closed"), std::string::npos)
      << got.status().message();
}

TEST(RecordReaderTest, OverlongRecordIsRefused) {
  TestDir dir;
  auto r = RecordReader::Open(
      dir.Write("l.csv", "a\n\"" + std::string(kMaxRecordBytes + 10, 'x') + "\"\n"), ',',
      Encoding::kUtf8);
  ASSERT_TRUE(r.ok());
  std::vector<std::string_view> f;
  ASSERT_TRUE(*(*r)->Next(&f));
  auto got = (*r)->Next(&f);
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(got.status().IsResourceExhausted()) << got.status().ToString();
}

TEST(RecordReaderTest, MissingFileIsNotFound) {
  auto r = RecordReader::Open("/nonexistent/x.csv", ',', Encoding::kUtf8);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound());
}

}  // namespace
}  // namespace fedseg::features::internal
