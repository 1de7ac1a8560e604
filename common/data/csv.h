// RFC 4180 CSV ingest: the one place where fedseg turns bytes from a user's table into rows of
// strings. ParseCsv makes a single bounded pass over a memory buffer (it never reads past
// text.end()), accepts quoted fields with embedded delimiters, doubled quotes and line breaks, CRLF
// or LF line endings (mixed too, and a last line without one), skips a UTF-8 byte-order mark,
// ignores blank lines at the end, and requires a header row with unique, non-empty names. The
// delimiter is one of `,` `;` TAB `|`, detected from the first records or given explicitly. Every
// error names `source:line:column` (1-based; the column counts UTF-8 characters on that physical
// line) and says what was expected. As in most readers, a quote inside an unquoted field is kept
// literally; after a closing quote only the delimiter or a line break may follow. Typing the
// strings (numbers, booleans, missing values) is dataset_loader.h's job; the small value helpers
// here are shared by both.
#ifndef FEDSEG_COMMON_DATA_CSV_H_
#define FEDSEG_COMMON_DATA_CSV_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace fedseg::data {

struct CsvOptions {
  // Field delimiter. 0 = auto-detect among `,` `;` TAB `|`: the candidate that splits the header
  // and the first records into the same number (> 1) of fields, preferring more fields, then the
  // order listed. Explicit delimiters may be any byte except `"`, CR and LF.
  char delimiter = 0;
};

struct CsvTable {
  std::string source;  // file path or other name, used as the prefix of messages
  char delimiter = ',';
  std::vector<std::string> header;  // trimmed of surrounding spaces/tabs; unique and non-empty
  std::vector<std::vector<std::string>> rows;  // raw field text; rows[i].size() == header.size()
  std::vector<uint64_t> line_numbers;          // 1-based physical line where row i starts
  // rows.size() * header.size() entries, row-major: the 1-based column (in UTF-8 characters) at
  // which each cell starts on its own physical line. Kept so that later stages (type checks in
  // dataset_loader) can point at the exact cell. May be left empty by hand-built tables.
  std::vector<uint32_t> cell_columns;

  // "source:line:column" of cell (row, field), for messages. A cell after a quoted field that
  // spans lines starts on a later line than its row; that is accounted for. Without
  // line_numbers/cell_columns it degrades to "source:line" or "source: row N".
  std::string Where(size_t row, size_t field) const;
};

// Parses `text` (a whole CSV document). `source` only prefixes error messages and is copied into
// the table.
Result<CsvTable> ParseCsv(std::string_view text, std::string_view source,
                          const CsvOptions& options = {});

// Reads the file into memory and parses it. NotFound if it does not exist, IOError if unreadable.
Result<CsvTable> ReadCsvFile(const std::string& path, const CsvOptions& options = {});

// Appends one field to `out`, quoting it (and doubling inner quotes) when it contains the
// delimiter, a quote, CR or LF, or starts or ends with a space or tab. Does not append a delimiter.
void AppendCsvField(std::string& out, std::string_view field, char delimiter = ',');

// True for the tokens that mean "no value": empty or whitespace only, and (trimmed,
// case-insensitive) NA, N/A, NaN, null, ?.
bool IsMissingValue(std::string_view v);

// Parses a whole field (surrounding whitespace trimmed) as a finite decimal number: an optional
// sign, digits with an optional fraction, an optional exponent (`7.50E-05`). No hex, inf, nan,
// thousands separators or trailing characters. Values that underflow become 0 (or a subnormal);
// values that overflow are rejected. On failure returns false and leaves *out unchanged.
bool ParseNumber(std::string_view v, double* out);

// `v` without leading and trailing ASCII whitespace (space, TAB, CR, LF, VT, FF).
std::string_view TrimWhitespace(std::string_view v);

// ASCII case-insensitive equality ("NA" and "na", "TRUE" and "true").
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// A cell value quoted for an error message: 'value', cut after 40 characters with "...".
std::string QuoteForMessage(std::string_view v);

}  // namespace fedseg::data

#endif  // FEDSEG_COMMON_DATA_CSV_H_
