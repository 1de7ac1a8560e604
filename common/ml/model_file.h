// The model file (.fsm): everything needed to segment a user table with a trained model — the
// preprocessing schema, the architecture, the flat weights, and training metadata.
//
// Layout: the checksummed container of common/base/container.h with magic "FSEGMODL" and format
// version kModelFormatVersion, whose payload is a cereal portable-binary record of the schema, the
// architecture, the weights and the metadata JSON (model_file.cc, ModelPayload), then, from
// version 2, the decision rule (decision_rule.h): uint8 objective, int32 positive class, float64
// threshold, float64 target; from version 3, the schema with its preprocessing record (date
// formats, category normalisation, notes). Version 1 files (no rule) still load, with the arg-max
// rule they were used with, and files before version 3 with the schema they were written with
// (dates as categories, values as written); files are always written as the current version.
//
// Loading checks, in order: the file is at least a header long, the magic, the version, that the
// payload size equals the bytes actually present (truncation), the checksum (corruption), that the
// payload parses with nothing left over, and that the parsed model is consistent (spec valid,
// weights of the right count and finite, schema matching the spec, the decision rule valid for
// the class count: a known objective, a finite threshold in [0, 1], positive class 0 or 1 and
// two classes for a threshold). Each failure is a clear error.
#ifndef FEDSEG_COMMON_ML_MODEL_FILE_H_
#define FEDSEG_COMMON_ML_MODEL_FILE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/data/schema.h"
#include "common/ml/decision_rule.h"
#include "common/ml/mlp.h"

namespace fedseg::ml {

inline constexpr char kModelMagic[8] = {'F', 'S', 'E', 'G', 'M', 'O', 'D', 'L'};
inline constexpr uint32_t kModelFormatVersion = 3;        // written
inline constexpr uint32_t kOldestModelFormatVersion = 1;  // read: 1 (no rule) to 3

struct ModelFile {
  data::Schema schema;
  Mlp model;
  std::string metadata_json = "{}";  // training metadata: mode, rows, epochs/rounds, config, time
  DecisionRule decision;             // how segment turns probabilities into segments (arg-max)
};

// Encodes a model file to bytes (header + payload).
std::string EncodeModelFile(const ModelFile& file);
// Decodes and validates; `source` names the file in error messages.
Result<ModelFile> DecodeModelFile(std::string_view bytes, std::string_view source);

Status SaveModelFile(const std::string& path, const ModelFile& file);  // atomic
Result<ModelFile> LoadModelFile(const std::string& path);

}  // namespace fedseg::ml

#endif  // FEDSEG_COMMON_ML_MODEL_FILE_H_
