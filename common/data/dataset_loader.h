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

  size_t num_rows() const { return line_numbers.size(); }
};

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
