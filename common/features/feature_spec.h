// The feature specification: how a region turns its raw sources (a profile table, order lines,
// session logs) into the one-row-per-user table that training and segmentation consume. A spec is
// JSON (docs/features.md documents every field); ParseFeatureSpec checks it once into a FeatureSpec
// whose every later use can rely on: known aggregations, windows with start < end, a label window
// that begins at or after the end of every feature window (features and label never overlap in
// time), unique names, each feature naming a declared source. Column names are checked against the
// files' headers by the engine (feature_engine.h), which is the first to open them. Errors name the
// spec file and the entry ("features[3] 'sales_sum'").
#ifndef FEDSEG_COMMON_FEATURES_FEATURE_SPEC_H_
#define FEDSEG_COMMON_FEATURES_FEATURE_SPEC_H_

#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace fedseg::features {

enum class Encoding { kUtf8, kWindows1252 };

// One named CSV source. An event source has a timestamp column; the profile source (at most one
// row per user) has none.
struct SourceSpec {
  std::string name;
  std::string path;  // as resolved: relative paths are taken from the spec file's folder
  std::string user_id;
  std::string timestamp;                      // column; empty for the profile source
  std::string timestamp_format = "%Y-%m-%d";  // strftime-like (%Y %m %d %H %M %S), or "unix"
  char delimiter = ',';                       // ' ' = runs of spaces/tabs (fixed-width text files)
  Encoding encoding = Encoding::kUtf8;
  bool header = true;
  std::vector<std::string> columns;  // the column names when header is false
  bool skip_bad_rows = false;        // "bad_rows": "skip" counts and reports instead of failing
};

// Events with time t in [reference + start_days, reference + end_days) days.
struct Window {
  double start_days = -std::numeric_limits<double>::infinity();
  double end_days = 0.0;
  bool Contains(double t_days, double reference_days) const {
    const double r = t_days - reference_days;
    return r >= start_days && r < end_days;
  }
};

enum class FilterOp { kEq, kNe, kLt, kLe, kGt, kGe };

// `column op value`: a string value compares text (trimmed; == and != only), a number value
// compares numbers (a row whose cell is empty or not a number fails the filter).
struct Filter {
  std::string column;
  FilterOp op = FilterOp::kEq;
  std::string value;
  bool numeric = false;  // the JSON value was a number: compare as numbers
  double number = 0.0;
};

enum class Aggregation {
  kCount,
  kDistinctCount,
  kSum,
  kMean,
  kMin,
  kMax,
  kStddev,
  kRecency,             // days from the last event to the reference time
  kTenure,              // days from the first event to the reference time
  kShare,               // events whose column == value, over all events
  kEventsPerActiveDay,  // events / distinct calendar days with an event
  kSessionDuration,     // minutes per session: end column - timestamp, or gaps between events
};

// "count", "distinct_count", ... (the JSON names).
std::string_view AggregationName(Aggregation a);

enum class SessionStat { kSum, kMean, kCount };

struct FeatureDef {
  std::string name;
  std::string source;
  Aggregation agg = Aggregation::kCount;
  std::string column;  // distinct_count, sum/mean/min/max/stddev, share
  std::string value;   // share: the value counted
  Window window;
  std::vector<Filter> filters;
  // A user without events in the window: this value, or missing (NaN, imputed by the model's
  // schema and counted in the report) when not set. Counts, sums and shares default to 0.
  std::optional<double> absent;
  // kSessionDuration: sessions are rows with an end column, or runs of events no more than
  // gap_minutes apart.
  std::string end_column;
  std::string end_format;  // the end column's format; the source's timestamp format if empty
  double gap_minutes = 0.0;
  SessionStat session_stat = SessionStat::kSum;
};

// The label: a profile column; a column of an event source that is constant per user (Superstore's
// Segment on every order line; two different values for one user are an error); or whether the
// user has events in a later window.
struct LabelSpec {
  enum class Kind { kNone, kProfileColumn, kEventColumn, kWindow };
  Kind kind = Kind::kNone;
  std::string name;    // the output column
  std::string column;  // kProfileColumn, kEventColumn
  std::string source;  // kEventColumn, kWindow
  Window window;
  std::vector<Filter> filters;
  bool positive_when_any = true;  // "when": "any" (1 if an event) or "none" (1 if no event: churn)
};

struct FeatureSpec {
  std::string spec_file;        // names the spec in messages
  std::string reference_time;   // as written
  double reference_days = 0.0;  // days since 1970-01-01
  std::string id_column = "user_id";
  std::vector<SourceSpec> sources;
  std::string profile_source;  // empty: users are those with events before the reference
  std::vector<std::string> profile_columns;  // copied to the output as features
  std::vector<FeatureDef> features;
  LabelSpec label;
  nlohmann::json json;  // the spec as read (paths as written), recorded in model files

  const SourceSpec* FindSource(std::string_view name) const;
};

// Checks a spec. `spec_file` names it in messages; relative source paths are resolved against
// `base_dir` (empty: as written).
Result<FeatureSpec> ParseFeatureSpec(const nlohmann::json& j, const std::string& spec_file,
                                     const std::string& base_dir);
// Reads a spec file (comments allowed); relative paths are taken from its folder.
Result<FeatureSpec> LoadFeatureSpec(const std::string& path);

}  // namespace fedseg::features

#endif  // FEDSEG_COMMON_FEATURES_FEATURE_SPEC_H_
