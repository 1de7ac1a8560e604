// `fedseg-client features`: computes a feature spec's one-row-per-user table from raw sources
// (common/features) and writes it as CSV; and the bridge that lets train, evaluate, segment and
// join take a spec in place of a feature CSV. The table a spec produces is loaded by the same
// typed loader as a CSV, so a spec and the CSV that `features --out` writes train the same model.
// The spec is recorded in model files (metadata "feature_spec"), so segment can recompute the
// same features from a new region's raw sources.
#ifndef FEDSEG_CLIENT_FEATURES_COMMAND_H_
#define FEDSEG_CLIENT_FEATURES_COMMAND_H_

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "common/base/status.h"
#include "common/data/dataset_loader.h"
#include "common/features/feature_spec.h"

namespace fedseg::client {

struct FeaturesArgs {
  std::string spec;
  std::string out;
  bool json = false;
};

void AddFeaturesCommand(CLI::App& app, FeaturesArgs& args, int* exit_code);
int RunFeatures(const FeaturesArgs& args);

// The part of a spec that fixes the encoding: everything but "sources" (file paths, delimiters
// and encodings are each region's own). Two regions compute the same features iff these match.
nlohmann::json FeatureDefinition(const nlohmann::json& spec);

// Error naming the first top-level entry where `spec`'s definition differs from `expected`'s
// (another region's, the coordinator's contract or a model's); OK if they match.
Status CheckSameDefinition(const nlohmann::json& spec, const nlohmann::json& expected,
                           const std::string& expected_name);

// Computes the spec's table and loads it with `options` (label and id column default to the
// spec's). Progress and the skipped-row report go to stderr unless quiet. *spec_json (if not null)
// receives the spec as read.
Result<data::RawDataset> LoadSpecDataset(const std::string& spec_path, data::LoadOptions options,
                                         bool quiet, nlohmann::json* spec_json = nullptr);

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_FEATURES_COMMAND_H_
