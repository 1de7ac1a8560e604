#include "common/data/csv.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>

namespace fedseg::data {
namespace {

constexpr char kAutoDelimiters[] = {',', ';', '\t', '|'};
// Records inspected by delimiter detection; enough to see a ragged candidate, cheap on any file.
constexpr size_t kDetectRecords = 64;
// Longest cell value quoted back in a message.
constexpr size_t kMaxQuotedValue = 40;

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }


std::string DescribeDelimiter(char d) {
  if (d == '\t') return "TAB";
  return std::string("'") + d + "'";
}

std::string DescribeChar(char c) {
  if (c == '\r') return "CR";
  if (c == '\t') return "TAB";
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "0x%02X", static_cast<unsigned char>(c));
    return buf;
  }
  return std::string("'") + c + "'";
}

std::string Position(std::string_view source, uint64_t line, uint64_t column) {
  std::string out(source);
  out += ':';
  out += std::to_string(line);
  out += ':';
  out += std::to_string(column);
  return out;
}

// One pass over [begin, end) that splits records into fields and tracks the physical line and
// character column of the cursor. All reads are bounded by `end_`.
class Tokenizer {
 public:
  Tokenizer(std::string_view text, std::string_view source, char delimiter)
      : p_(text.data()),
        end_(text.data() + text.size()),
        col_pos_(p_),
        source_(source),
        delimiter_(delimiter) {}

  bool AtEnd() const { return p_ >= end_; }
  uint64_t line() const { return line_; }
  // Where the last record ended (its line break, or the end of input).
  uint64_t record_end_line() const { return record_end_line_; }
  uint64_t record_end_column() const { return record_end_column_; }

  // Reads one record into `fields` (cleared first); appends each field's start column to
  // `columns`. The caller must check !AtEnd() first.
  Status Next(std::vector<std::string>* fields, std::vector<uint32_t>* columns) {
    fields->clear();
    for (;;) {
      columns->push_back(ClampColumn(ColumnAt(p_)));
      if (p_ < end_ && *p_ == '"') {
        FEDSEG_RETURN_IF_ERROR(QuotedField(fields));
        if (p_ >= end_) return EndRecord(p_);
        const char c = *p_;
        if (c == delimiter_) {
          ++p_;
          continue;
        }
        if (c == '\n') return EndRecord(p_);
        if (c == '\r' && p_ + 1 < end_ && p_[1] == '\n') return EndRecord(p_);
        std::string msg = Position(source_, line_, ColumnAt(p_)) + ": unexpected " +
                          DescribeChar(c) + " after a closing quote; expected the delimiter " +
                          DescribeDelimiter(delimiter_) + " or a line break";
        // A stray quote swallows text up to the next quote; say where it started.
        if (open_line_ != line_) {
          msg += " (the quoted field opened at line " + std::to_string(open_line_) + ", column " +
                 std::to_string(open_column_) + ")";
        }
        return Status::InvalidArgument(std::move(msg));
      }
      // Unquoted field: runs to the delimiter or LF; a CR right before the LF is the CRLF's.
      const char* q = p_;
      const char delimiter = delimiter_;
      while (q < end_ && *q != delimiter && *q != '\n') ++q;
      const char* field_end = q;
      if (q < end_ && *q == '\n' && field_end > p_ && field_end[-1] == '\r') --field_end;
      fields->emplace_back(p_, static_cast<size_t>(field_end - p_));
      if (q < end_ && *q == delimiter) {
        p_ = q + 1;
        continue;
      }
      return EndRecord(field_end);
    }
  }

 private:
  static uint32_t ClampColumn(uint64_t c) {
    return static_cast<uint32_t>(std::min<uint64_t>(c, std::numeric_limits<uint32_t>::max()));
  }

  // 1-based character column of `p`, which must be on the current line at or after the last
  // position asked for (true for a left-to-right scan), so the whole pass stays linear.
  uint64_t ColumnAt(const char* p) {
    uint64_t column = col_value_;
    for (const char* q = col_pos_; q < p; ++q) {
      column += (static_cast<unsigned char>(*q) & 0xC0) != 0x80;  // not a UTF-8 continuation
    }
    col_pos_ = p;
    col_value_ = column;
    return column;
  }

  // Accounts for the line breaks in [from, to).
  void CountLines(const char* from, const char* to) {
    while (from < to) {
      const void* nl = std::memchr(from, '\n', static_cast<size_t>(to - from));
      if (nl == nullptr) return;
      const char* n = static_cast<const char*>(nl);
      ++line_;
      col_pos_ = n + 1;
      col_value_ = 1;
      from = n + 1;
    }
  }

  // `at` is the field end: a CR of a CRLF, an LF, or end of input. Consumes the line break.
  Status EndRecord(const char* at) {
    record_end_line_ = line_;
    record_end_column_ = ColumnAt(at);
    const char* after = at;
    if (after < end_ && *after == '\r') ++after;
    if (after < end_ && *after == '\n') {
      ++after;
      ++line_;
      col_pos_ = after;
      col_value_ = 1;
    }
    p_ = after;
    return Status::OK();
  }

  // p_ is at the opening quote. Leaves p_ just after the closing quote.
  Status QuotedField(std::vector<std::string>* fields) {
    open_line_ = line_;
    open_column_ = ColumnAt(p_);
    ++p_;
    std::string value;
    for (;;) {
      const void* found = std::memchr(p_, '"', static_cast<size_t>(end_ - p_));
      if (found == nullptr) {
        return Status::InvalidArgument(Position(source_, open_line_, open_column_) +
                                       ": unterminated quoted field (the quote opened here is "
                                       "never closed before the end of the input)");
      }
      const char* q = static_cast<const char*>(found);
      value.append(p_, q);
      CountLines(p_, q);
      p_ = q + 1;
      if (p_ < end_ && *p_ == '"') {  // "" is a literal quote
        value.push_back('"');
        ++p_;
        continue;
      }
      break;
    }
    fields->push_back(std::move(value));
    return Status::OK();
  }

  const char* p_;
  const char* const end_;
  const char* col_pos_;  // ColumnAt's cache: col_value_ is the column of col_pos_
  uint64_t col_value_ = 1;
  uint64_t line_ = 1;
  uint64_t record_end_line_ = 1;
  uint64_t record_end_column_ = 1;
  uint64_t open_line_ = 1;  // where the last quoted field opened
  uint64_t open_column_ = 1;
  std::string_view source_;
  char delimiter_;
};

// Number of fields the first records split into with `delimiter`; empty when the header itself
// does not tokenize. Stops quietly at the first malformed record.
std::vector<size_t> SampleFieldCounts(std::string_view text, char delimiter) {
  std::vector<size_t> counts;
  Tokenizer tok(text, "", delimiter);
  std::vector<std::string> fields;
  std::vector<uint32_t> columns;
  while (!tok.AtEnd() && counts.size() < kDetectRecords) {
    columns.clear();
    if (!tok.Next(&fields, &columns).ok()) break;
    counts.push_back(fields.size());
  }
  return counts;
}

char DetectDelimiter(std::string_view text) {
  char best_consistent = 0;
  size_t best_consistent_width = 1;
  char best_header = 0;
  size_t best_header_width = 1;
  for (char d : kAutoDelimiters) {
    const std::vector<size_t> counts = SampleFieldCounts(text, d);
    if (counts.empty()) continue;
    const size_t width = counts.front();
    if (width <= 1) continue;
    if (width > best_header_width) {
      best_header = d;
      best_header_width = width;
    }
    const bool consistent =
        std::all_of(counts.begin(), counts.end(), [&](size_t c) { return c == width; });
    if (consistent && width > best_consistent_width) {
      best_consistent = d;
      best_consistent_width = width;
    }
  }
  if (best_consistent != 0) return best_consistent;
  // No candidate is consistent: use the one that splits the header most, so that the full parse
  // reports the first ragged row under the delimiter the author most likely meant.
  if (best_header != 0) return best_header;
  return ',';  // one column
}

// The physical line on which each field of a record that starts on `first_line` begins: line
// breaks inside earlier quoted fields push later fields down.
std::vector<uint64_t> FieldLines(uint64_t first_line, const std::vector<std::string>& fields) {
  std::vector<uint64_t> lines(fields.size());
  uint64_t line = first_line;
  for (size_t i = 0; i < fields.size(); ++i) {
    lines[i] = line;
    line += static_cast<uint64_t>(std::count(fields[i].begin(), fields[i].end(), '\n'));
  }
  return lines;
}


}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::string QuoteForMessage(std::string_view v) {
  std::string out = "'";
  if (v.size() > kMaxQuotedValue) {
    out.append(v.substr(0, kMaxQuotedValue));
    out += "...";
  } else {
    out.append(v);
  }
  out += "'";
  return out;
}

std::string_view TrimWhitespace(std::string_view v) {
  size_t b = 0;
  size_t e = v.size();
  while (b < e && IsAsciiSpace(v[b])) ++b;
  while (e > b && IsAsciiSpace(v[e - 1])) --e;
  return v.substr(b, e - b);
}

std::string CsvTable::Where(size_t row, size_t field) const {
  const size_t width = header.size();
  if (row >= line_numbers.size()) return source + ": row " + std::to_string(row + 1);
  uint64_t line = line_numbers[row];
  if (row < rows.size()) {
    // Line breaks inside earlier quoted fields of the same row push this cell down.
    for (size_t f = 0; f < field && f < rows[row].size(); ++f) {
      line += static_cast<uint64_t>(std::count(rows[row][f].begin(), rows[row][f].end(), '\n'));
    }
  }
  const size_t index = row * width + field;
  if (field >= width || cell_columns.size() != rows.size() * width ||
      index >= cell_columns.size()) {
    return source + ":" + std::to_string(line);
  }
  return Position(source, line, cell_columns[index]);
}

Result<CsvTable> ParseCsv(std::string_view text, std::string_view source,
                          const CsvOptions& options) {
  const char d = options.delimiter;
  if (d == '"' || d == '\r' || d == '\n') {
    return Status::InvalidArgument(std::string(source) + ": the delimiter cannot be " +
                                   DescribeChar(d));
  }
  if (text.size() >= 3 && static_cast<unsigned char>(text[0]) == 0xEF &&
      static_cast<unsigned char>(text[1]) == 0xBB && static_cast<unsigned char>(text[2]) == 0xBF) {
    text.remove_prefix(3);
  }
  // Blank lines at the end carry no records. (A quoted field that ends the input ends with its
  // closing quote, so this never eats a field's own line breaks.)
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) {
    return Status::InvalidArgument(std::string(source) +
                                   ":1:1: empty file: a header row with column names is required");
  }

  CsvTable table;
  table.source = std::string(source);
  table.delimiter = d != 0 ? d : DetectDelimiter(text);

  Tokenizer tok(text, source, table.delimiter);
  std::vector<uint32_t> header_columns;
  FEDSEG_RETURN_IF_ERROR(tok.Next(&table.header, &header_columns));
  const std::vector<uint64_t> header_lines = FieldLines(1, table.header);
  for (size_t i = 0; i < table.header.size(); ++i) {
    table.header[i] = std::string(TrimWhitespace(table.header[i]));
    if (table.header[i].empty()) {
      return Status::InvalidArgument(Position(source, header_lines[i], header_columns[i]) +
                                     ": empty column name (header field " + std::to_string(i + 1) +
                                     ")");
    }
  }
  std::unordered_map<std::string_view, size_t> seen;
  seen.reserve(table.header.size() * 2);
  for (size_t i = 0; i < table.header.size(); ++i) {
    auto [it, inserted] = seen.emplace(table.header[i], i);
    if (!inserted) {
      return Status::InvalidArgument(Position(source, header_lines[i], header_columns[i]) +
                                     ": duplicate column name " + QuoteForMessage(table.header[i]) +
                                     " (header fields " + std::to_string(it->second + 1) + " and " +
                                     std::to_string(i + 1) + ")");
    }
  }

  const size_t width = table.header.size();
  // One row per line break is an upper bound that avoids regrowing the row vector.
  const size_t estimate = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  table.rows.reserve(estimate);
  table.line_numbers.reserve(estimate);
  table.cell_columns.reserve(estimate * width);
  std::vector<std::string> fields;
  fields.reserve(width);
  while (!tok.AtEnd()) {
    const uint64_t line = tok.line();
    const size_t columns_before = table.cell_columns.size();
    FEDSEG_RETURN_IF_ERROR(tok.Next(&fields, &table.cell_columns));
    if (fields.size() != width) {
      uint64_t at_line = tok.record_end_line();
      uint64_t at_column = tok.record_end_column();
      if (fields.size() > width) {  // point at the first field too many
        at_line = FieldLines(line, fields)[width];
        at_column = table.cell_columns[columns_before + width];
      }
      return Status::InvalidArgument(Position(source, at_line, at_column) + ": expected " +
                                     std::to_string(width) + " fields (as in the header), got " +
                                     std::to_string(fields.size()) + " (delimiter " +
                                     DescribeDelimiter(table.delimiter) + ")");
    }
    table.rows.emplace_back(std::move(fields));
    table.line_numbers.push_back(line);
    fields = std::vector<std::string>();
    fields.reserve(width);
  }
  return table;
}

Result<CsvTable> ReadCsvFile(const std::string& path, const CsvOptions& options) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    std::string msg = path + ": cannot open: " + std::strerror(err);
    if (err == ENOENT) return Status::NotFound(std::move(msg));
    return Status::IOError(std::move(msg));
  }
  std::string data;
  char buf[1 << 16];
  for (;;) {
    const size_t n = std::fread(buf, 1, sizeof(buf), f);
    data.append(buf, n);
    if (n < sizeof(buf)) break;
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) return Status::IOError(path + ": read failed: " + std::strerror(err));
  return ParseCsv(data, path, options);
}

void AppendCsvField(std::string& out, std::string_view field, char delimiter) {
  bool quote = !field.empty() && (field.front() == ' ' || field.front() == '\t' ||
                                  field.back() == ' ' || field.back() == '\t');
  if (!quote) {
    for (char c : field) {
      if (c == delimiter || c == '"' || c == '\r' || c == '\n') {
        quote = true;
        break;
      }
    }
  }
  if (!quote) {
    out.append(field);
    return;
  }
  out.push_back('"');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

bool IsMissingValue(std::string_view v) {
  v = TrimWhitespace(v);
  if (v.empty()) return true;
  if (v.size() > 4) return false;
  return v == "?" || EqualsIgnoreCase(v, "na") || EqualsIgnoreCase(v, "n/a") ||
         EqualsIgnoreCase(v, "nan") || EqualsIgnoreCase(v, "null");
}

bool ParseNumber(std::string_view v, double* out) {
  v = TrimWhitespace(v);
  if (v.empty()) return false;
  // from_chars takes no '+'; accept one, but not "+-1".
  if (v.front() == '+') {
    v.remove_prefix(1);
    if (v.empty() || v.front() == '-') return false;
  }
  // from_chars would accept "inf"/"nan" and (in general format) nothing else non-decimal; the
  // isfinite check below rejects the former. A leading '.' ("  .5") is accepted.
  double value = 0;
  const char* first = v.data();
  const char* last = v.data() + v.size();
  const auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ptr != last) return false;
  if (ec == std::errc::result_out_of_range) {
    // Overflow or underflow; strtod tells them apart (HUGE_VAL vs. a tiny or zero value).
    const std::string copy(v);
    char* end = nullptr;
    value = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size()) return false;
  } else if (ec != std::errc()) {
    return false;
  }
  if (!std::isfinite(value)) return false;
  *out = value;
  return true;
}

}  // namespace fedseg::data
