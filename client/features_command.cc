#include "client/features_command.h"

#include <iostream>

#include "client/command_status.h"
#include "common/base/file_util.h"
#include "common/features/feature_engine.h"

namespace fedseg::client {
namespace {

// One line per rule that applied, so nothing is dropped or defaulted silently.
void PrintReport(const features::FeatureTable& t, std::ostream& os) {
  for (const features::SourceReport& s : t.sources) {
    if (s.rows == 0) continue;
    os << "source " << s.name << " (" << s.path << "): " << s.rows << " rows, " << s.used
       << " used";
    for (const auto& [reason, n] : s.skipped) os << ", " << n << " " << reason;
    os << "\n";
  }
  for (const features::FeatureReport& f : t.features) {
    if (f.absent_users == 0 && f.missing_values == 0) continue;
    os << "feature " << f.name << ": " << f.absent_users << " users without events (absent value)";
    if (f.missing_values) os << ", " << f.missing_values << " empty cells left out";
    os << "\n";
  }
  if (t.users_without_history) {
    os << t.users_without_history << " users with events only after the reference time left out\n";
  }
}

}  // namespace

nlohmann::json FeatureDefinition(const nlohmann::json& spec) {
  nlohmann::json d = spec;
  if (d.is_object()) d.erase("sources");
  return d;
}

Status CheckSameDefinition(const nlohmann::json& spec, const nlohmann::json& expected,
                           const std::string& expected_name) {
  const nlohmann::json a = FeatureDefinition(spec), b = FeatureDefinition(expected);
  if (a == b) return Status::OK();
  for (const char* key : {"reference_time", "id_column", "profile", "label"}) {
    if (a.value(key, nlohmann::json()) != b.value(key, nlohmann::json())) {
      return Status::InvalidArgument(std::string("the feature spec's '") + key + "' differs from " +
                                     expected_name + "'s");
    }
  }
  const nlohmann::json fa = a.value("features", nlohmann::json::array());
  const nlohmann::json fb = b.value("features", nlohmann::json::array());
  for (size_t i = 0; i < std::max(fa.size(), fb.size()); ++i) {
    if (i >= fa.size() || i >= fb.size() || fa[i] != fb[i]) {
      const nlohmann::json& f = i < fb.size() ? fb[i] : fa[i];
      return Status::InvalidArgument("the feature spec's features[" + std::to_string(i) + "] '" +
                                     f.value("name", std::string("?")) + "' differs from " +
                                     expected_name +
                                     "'s; every region must compute the same features");
    }
  }
  return Status::InvalidArgument("the feature spec differs from " + expected_name + "'s");
}

Result<data::RawDataset> LoadSpecDataset(const std::string& spec_path, data::LoadOptions options,
                                         bool quiet, nlohmann::json* spec_json) {
  FEDSEG_ASSIGN_OR_RETURN(features::FeatureSpec spec, features::LoadFeatureSpec(spec_path));
  FEDSEG_ASSIGN_OR_RETURN(features::FeatureTable table, features::ComputeFeatures(spec));
  if (!quiet) PrintReport(table, std::cerr);
  if (options.label.empty()) options.label = table.label_name;
  if (options.id_column.empty()) options.id_column = table.id_column;
  if (spec_json) *spec_json = spec.json;
  return data::LoadDataset(table.ToCsvTable(spec_path + " (features)"), options);
}

void AddFeaturesCommand(CLI::App& app, FeaturesArgs& a, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "features", "Compute the one-row-per-user feature table of a feature spec from raw sources");
  cmd->add_option("--spec", a.spec, "Feature spec (JSON, docs/features.md)")->required();
  cmd->add_option("--out", a.out, "Where to write the table (CSV: id, features, label)")
      ->required();
  cmd->add_flag("--json", a.json, "Print rows, id_column, label, features and the report as JSON");
  cmd->callback([&a, exit_code] { *exit_code = RunFeatures(a); });
}

int RunFeatures(const FeaturesArgs& a) {
  auto spec = features::LoadFeatureSpec(a.spec);
  if (!spec.ok()) return FailCommand(spec.status());
  auto table = features::ComputeFeatures(*spec);
  if (!table.ok()) return FailCommand(table.status());
  Status st = WriteFileAtomic(a.out, table->ToCsv());
  if (!st.ok()) return FailCommand(st);
  if (a.json) {
    nlohmann::json j = table->SummaryJson();
    j["out"] = a.out;
    j["spec"] = a.spec;
    std::cout << j.dump(2) << "\n";
  } else {
    PrintReport(*table, std::cerr);
    std::cout << "wrote " << table->rows() << " users x " << table->columns.size() << " features"
              << (table->label_name.empty() ? "" : " + label " + table->label_name) << " to "
              << a.out << "\n";
  }
  return 0;
}

}  // namespace fedseg::client
