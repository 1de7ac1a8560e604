// Fuzz targets: model files and coordinator checkpoints, the two checksummed containers (see
// fuzz_targets.h).
#include <Eigen/Dense>
#include <string>
#include <string_view>

#include "common/base/container.h"
#include "common/ml/model_file.h"
#include "coordinator/checkpoint.h"
#include "tests/fuzz/fuzz_targets.h"

namespace fedseg::fuzz {
namespace {

// Byte 0 even: the rest is the file. Odd: the rest is a payload, put in a container with the
// right magic, version and checksum, so that mutations reach the payload parser.
std::string FileBytes(const uint8_t* data, size_t size, std::string_view magic, uint32_t version) {
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) return std::string(rest);
  return WrapContainer(magic, version, rest);
}

}  // namespace

int FuzzModelFile(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string bytes = FileBytes(
      data, size, std::string_view(ml::kModelMagic, sizeof(ml::kModelMagic)), ml::kModelFormatVersion);
  Result<ml::ModelFile> f = ml::DecodeModelFile(bytes, "fuzz.fsm");
  if (!f.ok()) {
    FEDSEG_FUZZ_CHECK(f.status().message().find("fuzz.fsm") != std::string::npos,
                      "model file errors name the file");
    return 0;
  }
  // An accepted model is consistent and usable: validate, predict, re-encode.
  const ml::ModelSpec& spec = f->model.spec();
  FEDSEG_FUZZ_CHECK(spec.Validate().ok(), "an accepted model has a valid architecture");
  FEDSEG_FUZZ_CHECK(f->schema.Validate().ok(), "an accepted model has a valid schema");
  FEDSEG_FUZZ_CHECK(f->model.params().size() == spec.num_params(), "parameter count");
  FEDSEG_FUZZ_CHECK(ml::AllFinite(f->model.params()), "an accepted model has finite weights");
  FEDSEG_FUZZ_CHECK(f->schema.input_dim() == spec.input_dim, "schema width matches the model");
  FEDSEG_FUZZ_CHECK(f->decision.Validate(spec.num_classes).ok(),
                    "an accepted model has a valid decision rule");
  if (spec.num_params() <= (int64_t{1} << 16)) {
    Eigen::MatrixXf x = Eigen::MatrixXf::Zero(spec.input_dim, 2);
    Eigen::MatrixXf probs;
    f->model.Predict(x, &probs);
    FEDSEG_FUZZ_CHECK(probs.rows() == spec.num_classes && probs.cols() == 2, "prediction shape");
  }
  const std::string encoded = ml::EncodeModelFile(*f);
  Result<ml::ModelFile> again = ml::DecodeModelFile(encoded, "re-encoded.fsm");
  FEDSEG_FUZZ_CHECK(again.ok(), "a re-encoded model file decodes");
  FEDSEG_FUZZ_CHECK(ml::EncodeModelFile(*again) == encoded, "model file encoding is stable");
  // Older versions are re-encoded as the current one (version 1 gains the arg-max rule).
  const bool current = static_cast<uint8_t>(bytes[8]) == ml::kModelFormatVersion;
  FEDSEG_FUZZ_CHECK(!current || encoded.size() == bytes.size(), "re-encoding keeps the size");
  return 0;
}

int FuzzCheckpoint(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string bytes =
      FileBytes(data, size, std::string_view(coordinator::kCheckpointMagic, 8),
                coordinator::kCheckpointVersion);
  Result<coordinator::Checkpoint> c = coordinator::DecodeCheckpoint(bytes, "fuzz.fsc");
  if (!c.ok()) {
    FEDSEG_FUZZ_CHECK(c.status().message().find("fuzz.fsc") != std::string::npos,
                      "checkpoint errors name the file");
    return 0;
  }
  FEDSEG_FUZZ_CHECK(c->spec.Validate().ok() && c->schema.Validate().ok(),
                    "an accepted checkpoint is consistent");
  FEDSEG_FUZZ_CHECK(static_cast<int64_t>(c->weights.size()) == c->spec.num_params(),
                    "checkpoint weights match the architecture");
  const std::string encoded = coordinator::EncodeCheckpoint(*c);
  // Older versions are re-encoded as the current one, whose schema record is longer.
  const bool current = static_cast<uint8_t>(bytes[8]) == coordinator::kCheckpointVersion;
  FEDSEG_FUZZ_CHECK(!current || encoded.size() == bytes.size(), "re-encoding keeps the size");
  Result<coordinator::Checkpoint> again = coordinator::DecodeCheckpoint(encoded, "re-encoded.fsc");
  FEDSEG_FUZZ_CHECK(again.ok(), "a re-encoded checkpoint decodes");
  FEDSEG_FUZZ_CHECK(coordinator::EncodeCheckpoint(*again) == encoded, "encoding is stable");
  return 0;
}

}  // namespace fedseg::fuzz
