// Typed dataset loading: turns a parsed CsvTable into the typed columns the ML pipeline consumes.
// It picks out the label and the (optional) identifier column, which are never features, applies
// the caller's drops and type overrides (or a trained model's schema), infers the remaining
// feature types (boolean, numeric, categorical), normalizes missing values (NaN for numbers,
// kMissingCategory for categories) and drops rows whose label is missing. Every error names the
// file, and `file:line:column` when a single cell is at fault. Imputation and encoding are the
// Schema's job; this file only decides types and keeps raw values. It also holds the
// deterministic stratified train/test split used before training.
#ifndef FEDSEG_COMMON_DATA_DATASET_LOADER_H_
#define FEDSEG_COMMON_DATA_DATASET_LOADER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "common/data/csv.h"

namespace fedseg::data {

enum class ColumnType { kNumeric, kCategorical, kBoolean };

// "numeric", "categorical", "boolean".
std::string_view ColumnTypeName(ColumnType t);

inline constexpr std::string_view kMissingCategory = "<missing>";

// A date or datetime column is not one feature but three, derived in its place:
//   "<name>[days]"     numeric: days since 1970-01-01 (a fraction for the time of day);
//   "<name>[month]"    categorical: "jan" ... "dec";
//   "<name>[weekday]"  categorical: "mon" ... "sun".
// The days carry trend and tenure, the month and weekday seasonality; a date one-hot encoded as
// itself would be one input per distinct day, none of which a new day matches.
enum class DatePart { kDays, kMonth, kWeekday };
inline constexpr DatePart kDateParts[] = {DatePart::kDays, DatePart::kMonth, DatePart::kWeekday};
// "<column>[days]", "<column>[month]", "<column>[weekday]".
std::string DatePartName(std::string_view column, DatePart part);
// "column 'X': dates (%d-%m-%Y) encoded as X[days], X[month] and X[weekday]": the note a date
// column leaves in RawDataset::notes and in a schema.
std::string DateNote(std::string_view column, std::string_view format);
// The source column of a derived name ("Signup[month]" -> "Signup"), or empty if `name` is not of
// that form.
std::string DateSourceOf(std::string_view name);

// Categorical values are compared after this normalisation: ASCII letters in lower case, runs of
// spaces and tabs as one space ("Credit  Card", "credit card" and "CREDIT CARD" are one category).
std::string NormalizeCategory(std::string_view value);

// A heavy-tailed numeric column X is read as X[log1p] = sign(x) * ln(1 + |x|) (SignedLog1p), in
// place of X: counts, amounts and durations whose few very large values would otherwise dominate
// a standardised input (and, under DP-SGD, the clipped gradients).
std::string LogColumnName(std::string_view column);
// The source column of a LogColumnName, or "" for any other name.
std::string LogSourceOf(std::string_view name);
double SignedLog1p(double x);
// Its inverse, sign(y) (e^|y| - 1): a log column's value in the source column's units.
double SignedExpm1(double y);
// "column 'X': encoded as X[log1p] = sign(X) ln(1 + |X|)".
std::string LogNote(std::string_view column);
// Detection (LoadOptions::detect_log): a numeric column with at least kLogMinValues present
// values, none negative, whose skewness is at least kLogMinSkewness and whose absolute skewness
// the transform cuts by at least a third (a column of rates or proportions, all in [0, 1], is
// left as it is by the last rule).
inline constexpr size_t kLogMinValues = 20;
inline constexpr double kLogMinSkewness = 1.0;
// The sample skewness (third standardised moment) of the non-NaN values; 0 when they are fewer
// than two or all equal.
double Skewness(const std::vector<double>& values);

// The largest magnitude a numeric feature value may have. Summaries add up squares of the values
// over every row, so a value near the double range (1e200) would make them infinite; no count,
// amount or duration of a user is anywhere near this, so such a value is a unit or parse mistake.
inline constexpr double kMaxAbsFeatureValue = 1e15;

struct RawColumn {
  std::string name;
  ColumnType type = ColumnType::kNumeric;
  // kNumeric and kBoolean (0/1): NaN where missing. Empty for kCategorical.
  std::vector<double> numeric;
  // kCategorical: the trimmed value; kBoolean: "true"/"false". kMissingCategory where missing.
  // Empty for kNumeric.
  std::vector<std::string> text;
  uint64_t missing = 0;  // missing values in this column, among the kept rows
};

struct LoadOptions {
  // Label column. Required unless label_optional. Rows whose label is missing are dropped, except
  // with label_optional (segmenting), where every row is kept.
  std::string label;
  // For segmentation: the table may lack the label column (then labels stay empty).
  bool label_optional = false;
  // Direct identifier (customer id...): carried in RawDataset::ids, never a feature. Optional.
  std::string id_column;
  // Type overrides and dropped columns. Unknown names are an error that lists the columns.
  std::vector<std::string> categorical;
  std::vector<std::string> numeric;
  std::vector<std::string> drop;
  // Date columns: name -> format (common/data/timestamp.h: strftime-like, e.g. "%d-%m-%Y"), or ""
  // to detect the format. A value the format does not read is an error at its file:line:column.
  std::map<std::string, std::string> dates;
  // Undeclared columns that are neither boolean nor numeric, and whose every value reads as a date
  // in one of the usual formats (ISO 8601; day-first or month-first with '/', '-' or '.'; with or
  // without a time), are read as dates. Each detection is a RawDataset note.
  bool detect_dates = true;
  // Categorical values are normalised (NormalizeCategory). Off only for model files written before
  // the rule, whose vocabularies hold values as written.
  bool normalize_categories = true;
  // Numeric columns read as LogColumnName(X) = SignedLog1p(x): the declared ones (a declared column
  // that is not numeric is an error) and, with detect_log, every other one the detection rule above
  // picks (each pick is a RawDataset note).
  std::vector<std::string> log_columns;
  bool detect_log = true;
  // Forced types, e.g. from a trained model's schema; win over inference. Unknown names are an
  // error; a name also in `categorical`/`numeric` with a different type is an error.
  std::map<std::string, ColumnType> types;
  // If non-empty: exactly these features, in this order (a model's schema). A missing one is an
  // error; other columns of the table are ignored.
  std::vector<std::string> feature_columns;
  char delimiter = 0;  // for LoadDatasetFile; 0 = auto-detect
};

struct RawDataset {
  std::string source;
  std::vector<RawColumn> features;     // in file order (or feature_columns order)
  std::string label_name;              // empty if the table has no label column
  std::vector<std::string> labels;     // trimmed label per kept row (empty if no label column)
  std::string id_name;                 // empty if none
  std::vector<std::string> ids;        // trimmed id per kept row, or the 1-based data row number
  std::vector<uint64_t> line_numbers;  // source line per kept row
  uint64_t dropped_missing_label = 0;
  // Date columns read (declared or detected): source column -> format. Their derived columns are
  // in `features`.
  std::map<std::string, std::string> date_formats;
  // Decisions the loader took that the caller did not spell out (a date format it detected,
  // spellings it merged), one sentence each, for the caller to print once.
  std::vector<std::string> notes;

  size_t num_rows() const { return line_numbers.size(); }
};

// Asks `o` for feature column `name` of type `type`, as it was loaded before: a column derived
// from a date (DateSourceOf(name) in `date_formats`) asks for its source column once, read with
// the recorded format; a LogColumnName asks for its source, read numeric and transformed. Appends
// to o->feature_columns, o->types, o->dates and o->log_columns.
void RequestFeatureColumn(const std::string& name, ColumnType type,
                          const std::map<std::string, std::string>& date_formats, LoadOptions* o);

// Options that load another table (a separate test table) into the same feature columns, types,
// date formats and log columns as `d`: `base` with every feature of `d` requested, and no
// detection of further log columns.
LoadOptions SameColumnsAs(const RawDataset& d, LoadOptions base);

// Types and extracts the table's columns. A table without data rows (or whose every row lacks a
// label) is an error.
Result<RawDataset> LoadDataset(const CsvTable& table, const LoadOptions& options);
Result<RawDataset> LoadDatasetFile(const std::string& path, const LoadOptions& options);

// Distinct label values, sorted. Error if there are fewer than two (names the file and column).
Result<std::vector<std::string>> DistinctLabels(const RawDataset& d);

// Stratified split of row indices into (train, test), each sorted ascending. Every class is
// shuffled with std::mt19937_64(seed) (our own Fisher-Yates, so the result is the same on every
// platform) and round(n * test_fraction) of its n rows go to test, clamped to [1, n - 1] when
// n >= 2 (a class with one row stays in train). test_fraction <= 0 puts everything in train,
// >= 1 everything in test.
std::pair<std::vector<size_t>, std::vector<size_t>> StratifiedSplit(
    const std::vector<std::string>& labels, double test_fraction, uint64_t seed);

// The rows `rows` of `d` (in that order; repeats allowed), with per-column missing counts
// recomputed. Every index must be < d.num_rows(); an out-of-range index aborts (a caller bug).
RawDataset SelectRows(const RawDataset& d, const std::vector<size_t>& rows);

}  // namespace fedseg::data

#endif  // FEDSEG_COMMON_DATA_DATASET_LOADER_H_
