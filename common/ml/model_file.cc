#include "common/ml/model_file.h"

#include <vector>

#include "common/base/container.h"
#include "common/base/file_util.h"
#include "common/base/serialization.h"

namespace fedseg::ml {
namespace {

// Version 1: everything but the decision rule.
struct ModelPayloadV1 {
  data::Schema schema;
  ModelSpec spec;
  std::vector<float> params;
  std::string metadata_json;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(schema, spec, params, metadata_json);
  }
};

// Version 2 (kModelFormatVersion): version 1, then the decision rule.
struct ModelPayload : ModelPayloadV1 {
  DecisionRule decision;

  template <class Archive>
  void serialize(Archive& ar) {
    ModelPayloadV1::serialize(ar);
    ar(decision);
  }
};

}  // namespace

std::string EncodeModelFile(const ModelFile& file) {
  ModelPayload p;
  p.schema = file.schema;
  p.spec = file.model.spec();
  p.params.assign(file.model.params().data(),
                  file.model.params().data() + file.model.params().size());
  p.metadata_json = file.metadata_json;
  p.decision = file.decision;
  return WrapContainer(std::string_view(kModelMagic, sizeof(kModelMagic)), kModelFormatVersion,
                       Serialize(p));
}

Result<ModelFile> DecodeModelFile(std::string_view bytes, std::string_view source) {
  const std::string src(source);
  uint32_t version = 0;
  FEDSEG_ASSIGN_OR_RETURN(
      std::string_view payload,
      OpenContainer(bytes, std::string_view(kModelMagic, sizeof(kModelMagic)),
                    kOldestModelFormatVersion, kModelFormatVersion, source, "fedseg model file",
                    &version));
  ModelPayload p;
  if (version == 1) {  // no rule: the arg-max these files were always used with
    FEDSEG_RETURN_IF_ERROR(
        Parse(payload, static_cast<ModelPayloadV1*>(&p), src + ": model payload"));
  } else {
    FEDSEG_RETURN_IF_ERROR(Parse(payload, &p, src + ": model payload"));
  }
  Status st = p.spec.Validate();
  if (!st.ok()) return Status::Corruption(src + ": invalid architecture: " + st.message());
  st = p.schema.Validate();
  if (!st.ok()) return Status::Corruption(src + ": " + st.message());
  if (p.schema.input_dim() != p.spec.input_dim || p.schema.num_classes() != p.spec.num_classes) {
    return Status::Corruption(src + ": schema (" + std::to_string(p.schema.input_dim()) +
                              " features, " + std::to_string(p.schema.num_classes()) +
                              " classes) does not match the architecture " + p.spec.ToString());
  }
  // Before Mlp::Create allocates spec.num_params() floats: a valid spec may ask for 2^28 of them
  // (1 GiB), which a file that does not hold them must not make us allocate.
  if (static_cast<int64_t>(p.params.size()) != p.spec.num_params()) {
    return Status::Corruption(src + ": the file holds " + std::to_string(p.params.size()) +
                              " weights, the " + p.spec.ToString() + " model needs " +
                              std::to_string(p.spec.num_params()));
  }
  st = p.decision.Validate(p.spec.num_classes);
  if (!st.ok()) return Status::Corruption(src + ": " + st.message());
  FEDSEG_ASSIGN_OR_RETURN(Mlp model, Mlp::Create(p.spec));
  Eigen::VectorXf params = Eigen::Map<const Eigen::VectorXf>(
      p.params.data(), static_cast<Eigen::Index>(p.params.size()));
  st = model.SetParams(params);
  if (!st.ok()) return Status::Corruption(src + ": " + st.message());
  ModelFile out;
  out.schema = std::move(p.schema);
  out.model = std::move(model);
  out.metadata_json = std::move(p.metadata_json);
  out.decision = p.decision;
  return out;
}

Status SaveModelFile(const std::string& path, const ModelFile& file) {
  return WriteFileAtomic(path, EncodeModelFile(file));
}

Result<ModelFile> LoadModelFile(const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, uint64_t{2} << 30));
  return DecodeModelFile(bytes, path);
}

}  // namespace fedseg::ml
