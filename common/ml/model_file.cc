#include "common/ml/model_file.h"

#include <vector>

#include "common/base/container.h"
#include "common/base/file_util.h"
#include "common/base/serialization.h"

namespace fedseg::ml {
namespace {

// The payload of every version:
//   1: the schema without its preprocessing record (SchemaCoreLayout), the spec, the weights and
//      the metadata;
//   2: version 1, then the decision rule;
//   3 (kModelFormatVersion): version 2 with the whole schema (date formats, category
//      normalisation, notes).
struct ModelPayloadFields {
  data::Schema schema;
  ModelSpec spec;
  std::vector<float> params;
  std::string metadata_json;
  DecisionRule decision;
};

template <uint32_t kVersion>
struct ModelPayload : ModelPayloadFields {
  template <class Archive>
  void serialize(Archive& ar) {
    if constexpr (kVersion >= 3) {
      ar(schema);
    } else {
      ar(data::SchemaCoreLayout{&schema});
    }
    ar(spec, params, metadata_json);
    if constexpr (kVersion >= 2) ar(decision);
  }
};

template <uint32_t kVersion>
Status ParsePayload(std::string_view bytes, ModelPayloadFields* out, const std::string& what) {
  ModelPayload<kVersion> p;
  FEDSEG_RETURN_IF_ERROR(Parse(bytes, &p, what));
  *out = std::move(static_cast<ModelPayloadFields&>(p));
  return Status::OK();
}

}  // namespace

std::string EncodeModelFile(const ModelFile& file) {
  ModelPayload<kModelFormatVersion> p;
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
  ModelPayloadFields p;  // version 1 has no rule: the arg-max these files were always used with
  const std::string what = src + ": model payload";
  static_assert(kModelFormatVersion == 3, "a new version needs its case here");
  FEDSEG_RETURN_IF_ERROR(version == 1   ? ParsePayload<1>(payload, &p, what)
                         : version == 2 ? ParsePayload<2>(payload, &p, what)
                                        : ParsePayload<3>(payload, &p, what));
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
