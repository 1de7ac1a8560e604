#include "common/model_file.h"

#include <cstring>
#include <vector>

#include "common/file_util.h"
#include "common/serialization.h"
#include "common/sha256.h"

namespace fedseg {
namespace {

struct ModelPayload {
  Schema schema;
  ModelSpec spec;
  std::vector<float> params;
  std::string metadata_json;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(schema, spec, params, metadata_json);
  }
};

void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

std::string EncodeModelFile(const ModelFile& file) {
  ModelPayload p;
  p.schema = file.schema;
  p.spec = file.model.spec();
  p.params.assign(file.model.params().data(),
                  file.model.params().data() + file.model.params().size());
  p.metadata_json = file.metadata_json;
  std::string payload = Serialize(p);
  std::string out;
  out.reserve(kModelHeaderSize + payload.size());
  out.append(kModelMagic, sizeof(kModelMagic));
  PutU32(out, kModelFormatVersion);
  PutU32(out, kModelHeaderSize);
  PutU64(out, payload.size());
  Sha256Digest d = Sha256(payload);
  out.append(reinterpret_cast<const char*>(d.data()), d.size());
  out += payload;
  return out;
}

Result<ModelFile> DecodeModelFile(std::string_view bytes, std::string_view source) {
  const std::string src(source);
  if (bytes.size() < kModelHeaderSize) {
    return Status::Corruption(src + ": not a fedseg model file (" + std::to_string(bytes.size()) +
                              " bytes, shorter than the " + std::to_string(kModelHeaderSize) +
                              "-byte header)");
  }
  if (std::memcmp(bytes.data(), kModelMagic, sizeof(kModelMagic)) != 0) {
    return Status::Corruption(src + ": not a fedseg model file (bad magic)");
  }
  const uint32_t version = GetU32(bytes.data() + 8);
  if (version != kModelFormatVersion) {
    return Status::Corruption(src + ": model format version " + std::to_string(version) +
                              " is not supported (this build reads version " +
                              std::to_string(kModelFormatVersion) + ")");
  }
  const uint32_t header = GetU32(bytes.data() + 12);
  if (header != kModelHeaderSize) {
    return Status::Corruption(src + ": header size " + std::to_string(header) + " is invalid");
  }
  const uint64_t payload_size = GetU64(bytes.data() + 16);
  const uint64_t present = bytes.size() - kModelHeaderSize;
  if (payload_size != present) {
    return Status::Corruption(src + ": header announces a " + std::to_string(payload_size) +
                              "-byte payload but " + std::to_string(present) + " bytes follow (" +
                              (present < payload_size ? "truncated" : "trailing data") + ")");
  }
  std::string_view payload = bytes.substr(kModelHeaderSize);
  Sha256Digest d = Sha256(payload);
  if (std::memcmp(d.data(), bytes.data() + 24, d.size()) != 0) {
    return Status::Corruption(src + ": checksum mismatch (the file is corrupted)");
  }
  ModelPayload p;
  FEDSEG_RETURN_IF_ERROR(Parse(payload, &p, src + ": model payload"));
  Status st = p.spec.Validate();
  if (!st.ok()) return Status::Corruption(src + ": invalid architecture: " + st.message());
  st = p.schema.Validate();
  if (!st.ok()) return Status::Corruption(src + ": " + st.message());
  if (p.schema.input_dim() != p.spec.input_dim ||
      p.schema.num_classes() != p.spec.num_classes) {
    return Status::Corruption(src + ": schema (" + std::to_string(p.schema.input_dim()) +
                              " features, " + std::to_string(p.schema.num_classes()) +
                              " classes) does not match the architecture " + p.spec.ToString());
  }
  FEDSEG_ASSIGN_OR_RETURN(Mlp model, Mlp::Create(p.spec));
  Eigen::VectorXf params = Eigen::Map<const Eigen::VectorXf>(p.params.data(),
                                                             static_cast<Eigen::Index>(p.params.size()));
  st = model.SetParams(params);
  if (!st.ok()) return Status::Corruption(src + ": " + st.message());
  ModelFile out;
  out.schema = std::move(p.schema);
  out.model = std::move(model);
  out.metadata_json = std::move(p.metadata_json);
  return out;
}

Status SaveModelFile(const std::string& path, const ModelFile& file) {
  return WriteFileAtomic(path, EncodeModelFile(file));
}

Result<ModelFile> LoadModelFile(const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, uint64_t{2} << 30));
  return DecodeModelFile(bytes, path);
}

}  // namespace fedseg
