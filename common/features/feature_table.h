// The result of a feature spec: one row per user (the id, profile columns, features, label) and a
// report of what was read, skipped and left absent, so no rule applies silently. It converts to
// the CSV that `fedseg-client features` writes and to the in-memory CsvTable that train, segment
// and join load exactly as they would load that CSV, so a spec and its CSV train the same model.
#ifndef FEDSEG_COMMON_FEATURES_FEATURE_TABLE_H_
#define FEDSEG_COMMON_FEATURES_FEATURE_TABLE_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/data/csv.h"

namespace fedseg::features {

struct FeatureColumn {
  std::string name;
  bool text = false;               // profile columns are copied as text
  std::vector<double> numbers;     // !text: one per user, NaN where missing (absent, no default)
  std::vector<std::string> texts;  // text: one per user
};

struct SourceReport {
  std::string name, path;
  uint64_t rows = 0;  // data records read
  uint64_t used = 0;  // records that reached at least one feature or the label
  // Records not used, by reason: "bad_timestamp", "missing_user_id", "bad_number",
  // "wrong_field_count" (only with "bad_rows": "skip"), "user_not_in_profile",
  // "outside_windows".
  std::map<std::string, uint64_t> skipped;
};

struct FeatureReport {
  std::string name;
  uint64_t events = 0;          // events that passed the window and filters
  uint64_t absent_users = 0;    // users without such events (given the feature's absent value)
  uint64_t missing_values = 0;  // events whose aggregated cell was empty (left out)
};

struct FeatureTable {
  std::string id_column;
  std::vector<std::string> ids;
  std::vector<FeatureColumn> columns;  // profile columns, then features, in spec order
  std::string label_name;              // empty without a label
  std::vector<std::string> labels;     // one per user when label_name is set ("" = missing)
  std::vector<SourceReport> sources;
  std::vector<FeatureReport> features;
  uint64_t users_without_history = 0;  // seen only after the reference time (no profile): left out

  size_t rows() const { return ids.size(); }
  // The table as CSV text: id column first, then the columns, then the label.
  std::string ToCsv() const;
  // The same as a parsed table (`source` names it in later messages).
  data::CsvTable ToCsvTable(const std::string& source) const;
  // rows, id_column, label, features (names), label_counts, and the report.
  nlohmann::json SummaryJson() const;
};

}  // namespace fedseg::features

#endif  // FEDSEG_COMMON_FEATURES_FEATURE_TABLE_H_
