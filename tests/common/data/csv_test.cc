#include "common/data/csv.h"
#include "tests/common/data/data_test_util.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace fedseg::data {
namespace {

using test::SharedData;

using Rows = std::vector<std::vector<std::string>>;

CsvTable MustParse(std::string_view text, char delimiter = 0) {
  CsvOptions o;
  o.delimiter = delimiter;
  Result<CsvTable> t = ParseCsv(text, "t.csv", o);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (!t.ok()) return CsvTable{};
  return std::move(t).value();
}

// The message of the error ParseCsv must return.
std::string ParseError(std::string_view text, char delimiter = 0) {
  CsvOptions o;
  o.delimiter = delimiter;
  Result<CsvTable> t = ParseCsv(text, "t.csv", o);
  EXPECT_FALSE(t.ok()) << "parsed without error: " << text;
  if (t.ok()) return "";
  EXPECT_TRUE(t.status().IsInvalidArgument()) << t.status().ToString();
  return t.status().message();
}

TEST(CsvParseTest, SimpleTable) {
  CsvTable t = MustParse("a,b,c\n1,2,3\n4,5,6\n");
  EXPECT_EQ(t.source, "t.csv");
  EXPECT_EQ(t.delimiter, ',');
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(t.rows, (Rows{{"1", "2", "3"}, {"4", "5", "6"}}));
  EXPECT_EQ(t.line_numbers, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(t.cell_columns, (std::vector<uint32_t>{1, 3, 5, 1, 3, 5}));
}

TEST(CsvParseTest, QuotedFieldsWithDelimitersQuotesAndNewlines) {
  CsvTable t = MustParse(
      "name,quote,n\n"
      "\"Smith, John\",\"He said \"\"hi\"\"\",1\n"
      "\"two\nlines\",\"\",2\n"
      "\"crlf\r\ninside\",\"\"\"\",3\n"
      "plain,x\"y,4\n");
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"Smith, John", "He said \"hi\"", "1"}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"two\nlines", "", "2"}));
  EXPECT_EQ(t.rows[2], (std::vector<std::string>{"crlf\r\ninside", "\"", "3"}));
  // A quote inside an unquoted field is literal (as in most readers).
  EXPECT_EQ(t.rows[3], (std::vector<std::string>{"plain", "x\"y", "4"}));
  // Rows start on physical lines 2, 3, 5 (row 2 spans two lines), 7.
  EXPECT_EQ(t.line_numbers, (std::vector<uint64_t>{2, 3, 5, 7}));
  // The cell after a multi-line field starts on the next line: `lines","",2` has it at column 8.
  EXPECT_EQ(t.Where(1, 1), "t.csv:4:8");
  EXPECT_EQ(t.Where(1, 0), "t.csv:3:1");
  EXPECT_EQ(t.Where(0, 2), "t.csv:2:32");
}

TEST(CsvParseTest, LineEndings) {
  const Rows expected = {{"1", "2"}, {"3", "4"}};
  for (const char* text : {"a,b\n1,2\n3,4\n", "a,b\r\n1,2\r\n3,4\r\n", "a,b\r\n1,2\n3,4\r\n",
                           "a,b\n1,2\n3,4", "a,b\r\n1,2\r\n3,4", "a,b\n1,2\n3,4\r"}) {
    SCOPED_TRACE(testing::PrintToString(std::string(text)));
    CsvTable t = MustParse(text);
    EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(t.rows, expected);
    EXPECT_EQ(t.line_numbers, (std::vector<uint64_t>{2, 3}));
  }
}

TEST(CsvParseTest, EmptyFieldsAndTrailingDelimiter) {
  CsvTable t = MustParse("a,b,c\n,,\n1,,\n\"\",x,\n");
  EXPECT_EQ(t.rows, (Rows{{"", "", ""}, {"1", "", ""}, {"", "x", ""}}));
}

TEST(CsvParseTest, QuotedLastFieldWithoutNewline) {
  CsvTable t = MustParse("a,b\n1,\"x\ny\"");
  EXPECT_EQ(t.rows, (Rows{{"1", "x\ny"}}));
}

TEST(CsvParseTest, ByteOrderMarkIsSkipped) {
  CsvTable t = MustParse("\xEF\xBB\xBFid,v\n1,2\n");
  EXPECT_EQ(t.header, (std::vector<std::string>{"id", "v"}));
  EXPECT_EQ(t.rows, (Rows{{"1", "2"}}));
  // Columns count from after the mark.
  EXPECT_EQ(t.Where(0, 1), "t.csv:2:3");
}

TEST(CsvParseTest, TrailingBlankLinesIgnored) {
  CsvTable t = MustParse("a,b\n1,2\n\n\r\n\n");
  EXPECT_EQ(t.rows, (Rows{{"1", "2"}}));
  CsvTable header_only = MustParse("a,b\r\n\r\n");
  EXPECT_TRUE(header_only.rows.empty());
  EXPECT_EQ(header_only.header.size(), 2u);
}

TEST(CsvParseTest, HeaderNamesAreTrimmed) {
  CsvTable t = MustParse(" a ,\tb,\" c \"\n1,2,3\n");
  EXPECT_EQ(t.header, (std::vector<std::string>{"a", "b", "c"}));
  // Cells are not: the loader decides what whitespace means.
  CsvTable u = MustParse("a,b\n 1 , x\n");
  EXPECT_EQ(u.rows, (Rows{{" 1 ", " x"}}));
}

TEST(CsvParseTest, SingleColumn) {
  CsvTable t = MustParse("name\nalice\n\nbob\n");
  EXPECT_EQ(t.delimiter, ',');
  // A blank line inside a one-column table is an empty value, not a separator.
  EXPECT_EQ(t.rows, (Rows{{"alice"}, {""}, {"bob"}}));
}

TEST(CsvParseTest, CharacterColumnsCountUtf8) {
  // "é" is two bytes but one column.
  CsvTable t = MustParse("a,b,c\nJos\xC3\xA9,x,y\n");
  EXPECT_EQ(t.Where(0, 1), "t.csv:2:6");
  EXPECT_EQ(t.Where(0, 2), "t.csv:2:8");
}

TEST(CsvParseTest, BoundedByTheView) {
  // The view ends inside a quoted field; the bytes after it would close the quote.
  const std::string buffer = "a,b\n1,\"x\",2\n";
  std::string_view cut(buffer.data(), 8);  // "a,b\n1,\"x"
  Result<CsvTable> t = ParseCsv(cut, "cut.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            "cut.csv:2:3: unterminated quoted field (the quote opened here is never closed before "
            "the end of the input)");
  // A view ending right after a delimiter yields an empty last field, not the next byte.
  Result<CsvTable> u = ParseCsv(std::string_view(buffer.data(), 6), "cut.csv");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->rows, (Rows{{"1", ""}}));
}

TEST(CsvParseTest, EveryTruncationAndByteFlipIsHandled) {
  // Each prefix of a tricky document, and the document with each byte replaced by a quote or a
  // line break, must parse or fail with a positioned message; the input is copied to a buffer of
  // exactly its size so that a sanitizer build catches any read past the end.
  const std::string doc =
      "\xEF\xBB\xBFid;\"na;me\";note\r\n1;\"a \"\"q\"\"\";x\r\n2;\"multi\nline\";\r\n3;;\"\"\r\n";
  ASSERT_TRUE(ParseCsv(doc, "t.csv").ok());
  auto check = [](const std::string& text) {
    std::unique_ptr<char[]> exact(new char[text.size()]);
    std::memcpy(exact.get(), text.data(), text.size());
    Result<CsvTable> t = ParseCsv(std::string_view(exact.get(), text.size()), "t.csv");
    if (t.ok()) {
      for (const auto& row : t->rows) ASSERT_EQ(row.size(), t->header.size());
      ASSERT_EQ(t->line_numbers.size(), t->rows.size());
      ASSERT_EQ(t->cell_columns.size(), t->rows.size() * t->header.size());
    } else {
      ASSERT_EQ(t.status().message().rfind("t.csv:", 0), 0u) << t.status().message();
    }
  };
  for (size_t n = 0; n <= doc.size(); ++n) check(doc.substr(0, n));
  for (size_t i = 0; i < doc.size(); ++i) {
    for (char c : {'"', '\n', '\r', ';', ','}) {
      std::string flipped = doc;
      flipped[i] = c;
      check(flipped);
    }
  }
}

TEST(CsvDelimiterTest, AutoDetectsEachCandidate) {
  struct Case {
    const char* text;
    char delimiter;
  };
  for (const Case& c : {Case{"a,b,c\n1,2,3\n", ','}, Case{"a;b;c\n1;2,5;3\n", ';'},
                        Case{"a\tb\n1\t2\n", '\t'}, Case{"a|b\nx, y|2\n", '|'}}) {
    SCOPED_TRACE(testing::PrintToString(std::string(c.text)));
    CsvTable t = MustParse(c.text);
    EXPECT_EQ(t.delimiter, c.delimiter);
    EXPECT_EQ(t.rows.size(), 1u);
    EXPECT_EQ(t.rows[0].size(), t.header.size());
  }
}

TEST(CsvDelimiterTest, DetectionIgnoresQuotedParts) {
  // Quoted headers full of commas; only ';' gives a consistent split.
  CsvTable t = MustParse("\"a,b,c\";\"d,e\"\n\"1,2\";3\n\"x\";\"y,z\"\n");
  EXPECT_EQ(t.delimiter, ';');
  EXPECT_EQ(t.header, (std::vector<std::string>{"a,b,c", "d,e"}));
  EXPECT_EQ(t.rows, (Rows{{"1,2", "3"}, {"x", "y,z"}}));
}

TEST(CsvDelimiterTest, DetectionPrefersConsistentCount) {
  // ',' splits the header into 3 but the rows raggedly; ';' is consistent with 2.
  CsvTable t = MustParse("a,x;b,y\n1;2\n3,5;4\n");
  EXPECT_EQ(t.delimiter, ';');
  EXPECT_EQ(t.rows, (Rows{{"1", "2"}, {"3,5", "4"}}));
}

TEST(CsvDelimiterTest, ExplicitDelimiter) {
  CsvTable t = MustParse("a;b,c\n1;2,3\n", ',');
  EXPECT_EQ(t.delimiter, ',');
  EXPECT_EQ(t.header, (std::vector<std::string>{"a;b", "c"}));
  CsvTable u = MustParse("a;b,c\n1;2,3\n", ';');
  EXPECT_EQ(u.header, (std::vector<std::string>{"a", "b,c"}));
  CsvTable v = MustParse("a|b\n1|2\n", '|');
  EXPECT_EQ(v.rows, (Rows{{"1", "2"}}));
  CsvTable w = MustParse("a\tb\n1\t2\n", '\t');
  EXPECT_EQ(w.rows, (Rows{{"1", "2"}}));
  EXPECT_EQ(ParseError("a,b\n", '"'), "t.csv: the delimiter cannot be '\"'");
  EXPECT_EQ(ParseError("a,b\n", '\n'), "t.csv: the delimiter cannot be 0x0A");
}

TEST(CsvErrorTest, RaggedRows) {
  EXPECT_EQ(ParseError("a,b,c\n1,2,3\n4,5\n"),
            "t.csv:3:4: expected 3 fields (as in the header), got 2 (delimiter ',')");
  EXPECT_EQ(ParseError("a,b,c\n1,2,3\n4,5,6,7\n"),
            "t.csv:3:7: expected 3 fields (as in the header), got 4 (delimiter ',')");
  // The first extra field is on the line after a multi-line quoted field.
  EXPECT_EQ(ParseError("a,b\n1,2\n\"x\ny\",2,3\n"),
            "t.csv:4:6: expected 2 fields (as in the header), got 3 (delimiter ',')");
  // A blank line in the middle of a multi-column table is a one-field row.
  EXPECT_EQ(ParseError("a,b\r\n1,2\r\n\r\n3,4\r\n"),
            "t.csv:3:1: expected 2 fields (as in the header), got 1 (delimiter ',')");
  EXPECT_EQ(ParseError("a;b\n1;2\n3\n", ';'),
            "t.csv:3:2: expected 2 fields (as in the header), got 1 (delimiter ';')");
}

TEST(CsvErrorTest, UnterminatedQuoteNamesWhereItOpened) {
  EXPECT_EQ(ParseError("a,b\n1,2\n3,\"open\n4,5\n6,7\n"),
            "t.csv:3:3: unterminated quoted field (the quote opened here is never closed before "
            "the end of the input)");
  EXPECT_EQ(ParseError("\"a,b\n1,2\n"),
            "t.csv:1:1: unterminated quoted field (the quote opened here is never closed before "
            "the end of the input)");
}

TEST(CsvErrorTest, JunkAfterClosingQuote) {
  EXPECT_EQ(ParseError("a,b\n\"x\"y,2\n"),
            "t.csv:2:4: unexpected 'y' after a closing quote; expected the delimiter ',' or a line "
            "break");
  // A stray quote runs on to the next one; the message says where it opened.
  EXPECT_EQ(ParseError("a,b\n\"x,1\n2,\"y\",3\n"),
            "t.csv:3:4: unexpected 'y' after a closing quote; expected the delimiter ',' or a line "
            "break (the quoted field opened at line 2, column 1)");
}

TEST(CsvErrorTest, EmptyFile) {
  for (const char* text : {"", "\n\n", "\r\n", "\xEF\xBB\xBF", "\xEF\xBB\xBF\r\n"}) {
    SCOPED_TRACE(testing::PrintToString(std::string(text)));
    EXPECT_EQ(ParseError(text),
              "t.csv:1:1: empty file: a header row with column names is required");
  }
}

TEST(CsvErrorTest, DuplicateAndEmptyHeaderNames) {
  EXPECT_EQ(ParseError("id,age,id\n1,2,3\n"),
            "t.csv:1:8: duplicate column name 'id' (header fields 1 and 3)");
  EXPECT_EQ(ParseError("id, age ,age\n1,2,3\n"),
            "t.csv:1:10: duplicate column name 'age' (header fields 2 and 3)");
  EXPECT_EQ(ParseError("id,,x\n1,2,3\n"), "t.csv:1:4: empty column name (header field 2)");
  EXPECT_EQ(ParseError("id;x;  \n1;2;3\n"), "t.csv:1:6: empty column name (header field 3)");
}

TEST(CsvErrorTest, FileErrors) {
  Result<CsvTable> t = ReadCsvFile("/nonexistent/dir/x.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsNotFound()) << t.status().ToString();
  EXPECT_NE(t.status().message().find("/nonexistent/dir/x.csv"), std::string::npos);
}

TEST(CsvFileTest, ReadsFileAndNamesItInErrors) {
  const std::string path = testing::TempDir() + "/fedseg_csv_test.csv";
  {
    std::ofstream f(path, std::ios::binary);
    f << "a,b\r\n1,2\r\n3\r\n";
  }
  Result<CsvTable> t = ReadCsvFile(path);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(),
            path + ":3:2: expected 2 fields (as in the header), got 1 (delimiter ',')");
  {
    std::ofstream f(path, std::ios::binary);
    f << "a;b\r\n1;2\r\n";
  }
  t = ReadCsvFile(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->source, path);
  EXPECT_EQ(t->delimiter, ';');
  EXPECT_EQ(t->rows, (Rows{{"1", "2"}}));
  std::remove(path.c_str());
}

TEST(CsvFieldTest, AppendCsvFieldQuotesOnlyWhenNeeded) {
  auto write = [](std::string_view v, char d = ',') {
    std::string out;
    AppendCsvField(out, v, d);
    return out;
  };
  EXPECT_EQ(write("plain"), "plain");
  EXPECT_EQ(write(""), "");
  EXPECT_EQ(write("a,b"), "\"a,b\"");
  EXPECT_EQ(write("a,b", ';'), "a,b");
  EXPECT_EQ(write("a;b", ';'), "\"a;b\"");
  EXPECT_EQ(write("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(write("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(write("cr\r"), "\"cr\r\"");
  EXPECT_EQ(write(" lead"), "\" lead\"");
  EXPECT_EQ(write("trail "), "\"trail \"");
  EXPECT_EQ(write("in side"), "in side");
}

TEST(CsvFieldTest, AppendThenParseRoundTrips) {
  const std::vector<std::string> values = {"x", "a,b", "\"q\"", "l1\nl2", " pad ", "", "c\r\nd"};
  for (char d : {',', ';', '\t', '|'}) {
    std::string text;
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) text += d;
      text += 'h';  // not "h" + to_string(i): GCC 12 -Wrestrict false positive (PR 105651)
      text += std::to_string(i);
    }
    text += "\r\n";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i) text += d;
      AppendCsvField(text, values[i], d);
    }
    text += "\r\n";
    CsvTable t = MustParse(text, d);
    ASSERT_EQ(t.rows.size(), 1u);
    EXPECT_EQ(t.rows[0], values);
    // Auto-detection agrees with what was written.
    EXPECT_EQ(MustParse(text).delimiter, d);
  }
}

TEST(CsvValueTest, MissingTokens) {
  for (const char* v : {"", " ", "\t", "  \r", "NA", "na", " N/A ", "n/a", "NaN", "nan", "NAN",
                        "null", "NULL", "Null", "?", " ? "}) {
    EXPECT_TRUE(IsMissingValue(v)) << "'" << v << "'";
  }
  for (const char* v : {"0", "N", "A", "none", "nil", "-", "??", "NA1", "unknown", "nulls"}) {
    EXPECT_FALSE(IsMissingValue(v)) << "'" << v << "'";
  }
}

TEST(CsvValueTest, ParseNumberAcceptsDecimalForms) {
  struct Case {
    const char* text;
    double value;
  };
  for (const Case& c : {Case{"0", 0}, Case{"42", 42}, Case{"-3.5", -3.5}, Case{"+2", 2},
                        Case{" 1.25 ", 1.25}, Case{"7.50E-05", 7.5e-05}, Case{"7.5E-05", 7.5e-05},
                        Case{"9.83e-05", 9.83e-05}, Case{"1e3", 1000}, Case{".5", 0.5},
                        Case{"5.", 5}, Case{"0001", 1}, Case{"-0", 0}, Case{"1e-400", 0}}) {
    double x = -999;
    EXPECT_TRUE(ParseNumber(c.text, &x)) << c.text;
    EXPECT_DOUBLE_EQ(x, c.value) << c.text;
  }
}

TEST(CsvValueTest, ParseNumberIsStrict) {
  for (const char* v : {"",     " ",   "abc", "1a",    "1,5",    "1 000", "0x10", "inf",
                        "-inf", "nan", "NaN", "1e400", "-1e400", "+-1",   "--1",  "+",
                        "-",    "1e",  "e5",  "1.2.3", "TRUE",   "12%",   "$5"}) {
    double x = 123;
    EXPECT_FALSE(ParseNumber(v, &x)) << "'" << v << "'";
    EXPECT_EQ(x, 123) << "output changed for '" << v << "'";
  }
}

TEST(CsvRealFileTest, OnlineShoppers) {
  const std::string path = SharedData("online_shoppers_intention.csv");
  Result<CsvTable> t = ReadCsvFile(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->delimiter, ',');
  ASSERT_EQ(t->header.size(), 18u);
  EXPECT_EQ(t->header.front(), "Administrative");
  EXPECT_EQ(t->header.back(), "Revenue");
  EXPECT_EQ(t->rows.size(), 12330u);
  EXPECT_EQ(t->line_numbers.back(), 12331u);
  // CRLF: no field keeps a CR.
  for (const auto& row : t->rows) ASSERT_NE(row.back().back(), '\r');
  // The Excel-style exponent on line 11260.
  EXPECT_EQ(t->line_numbers[11258], 11260u);
  bool found = false;
  for (const std::string& v : t->rows[11258]) found = found || v == "7.50E-05";
  EXPECT_TRUE(found);
}

TEST(CsvRealFileTest, BankIsSemicolonWithQuotes) {
  Result<CsvTable> t = ReadCsvFile(SharedData("bank.csv"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->delimiter, ';');
  EXPECT_EQ(t->header.size(), 17u);
  EXPECT_EQ(t->header[0], "age");
  EXPECT_EQ(t->header[16], "y");
  EXPECT_EQ(t->rows.size(), 4521u);
  EXPECT_EQ(t->rows[0][1], "unemployed");  // quotes removed
}

TEST(CsvRealFileTest, ParsesAMegabyteInAFewMilliseconds) {
  std::ifstream f(SharedData("online_shoppers_intention.csv"), std::ios::binary);
  ASSERT_TRUE(f.good());
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(text.size(), 1000000u);
  double best_ms = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    Result<CsvTable> t = ParseCsv(text, "shoppers");
    const auto stop = std::chrono::steady_clock::now();
    ASSERT_TRUE(t.ok());
    best_ms = std::min(best_ms, std::chrono::duration<double, std::milli>(stop - start).count());
  }
  RecordProperty("parse_ms", std::to_string(best_ms));
  std::printf("parsed %zu bytes in %.2f ms (best of 5)\n", text.size(), best_ms);
  // Generous bound (shared, possibly sanitized CI machines); catches accidental quadratic work.
  EXPECT_LT(best_ms, 500.0);
}

}  // namespace
}  // namespace fedseg::data
