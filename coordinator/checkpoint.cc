#include "coordinator/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/base/container.h"
#include "common/base/file_util.h"

namespace fedseg::coordinator {

std::string EncodeCheckpoint(const Checkpoint& c) {
  return WrapContainer(std::string_view(kCheckpointMagic, 8), kCheckpointVersion, Serialize(c));
}

std::string SealCheckpoint(const Checkpoint& c, const CheckpointKey& key) {
  const std::string inner = EncodeCheckpoint(c);
  const CheckpointKey::Mac mac = key.Sign(inner);
  std::string payload(reinterpret_cast<const char*>(mac.data()), mac.size());
  payload += inner;
  return WrapContainer(std::string_view(kSealedCheckpointMagic, 8), kSealedCheckpointVersion,
                       payload);
}

Result<Checkpoint> UnsealCheckpoint(std::string_view bytes, const CheckpointKey& key,
                                    const std::string& source) {
  if (bytes.size() >= 8 && bytes.substr(0, 8) == std::string_view(kCheckpointMagic, 8)) {
    return Status::PermissionDenied(source +
                                    ": unauthenticated checkpoint (no HMAC; written by an older "
                                    "build or by hand): refused");
  }
  FEDSEG_ASSIGN_OR_RETURN(
      std::string_view payload,
      OpenContainer(bytes, std::string_view(kSealedCheckpointMagic, 8), kSealedCheckpointVersion,
                    source, "fedseg sealed checkpoint"));
  if (payload.size() < CheckpointKey::Mac{}.size()) {
    return Status::Corruption(source + ": sealed checkpoint shorter than its HMAC");
  }
  const std::string_view inner = payload.substr(CheckpointKey::Mac{}.size());
  if (!key.Verify(inner, reinterpret_cast<const uint8_t*>(payload.data()))) {
    return Status::PermissionDenied(source +
                                    ": checkpoint HMAC does not match (edited, or sealed with "
                                    "another checkpoint.key_file): refused");
  }
  return DecodeCheckpoint(inner, source);
}

Status SaveCheckpoint(const std::string& path, const Checkpoint& c, const CheckpointKey& key) {
  return WriteFileAtomic(path, SealCheckpoint(c, key));
}

std::string RoundCheckpointPath(const std::string& dir, uint32_t round) {
  char name[48];
  std::snprintf(name, sizeof name, "/checkpoint-round-%05u.fsc", round);
  return dir + name;
}

int PruneRoundCheckpoints(const std::string& dir, uint32_t newest, int keep) {
  int removed = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    unsigned round = 0;
    char tail = 0;
    const std::string name = e.path().filename().string();
    if (std::sscanf(name.c_str(), "checkpoint-round-%u.fs%c", &round, &tail) != 2 || tail != 'c') {
      continue;
    }
    if (static_cast<int64_t>(round) <= static_cast<int64_t>(newest) - keep &&
        std::filesystem::remove(e.path(), ec)) {
      ++removed;
    }
  }
  return removed;
}

namespace {

// Version 1: the schema without its preprocessing record (read as dates-free, values as written).
struct CheckpointV1 : Checkpoint {
  template <class A>
  void serialize(A& ar) {
    ar(run_id, completed_round, data::SchemaCoreLayout{&schema}, spec, weights, strategy_state,
       history_json, regions_json);
  }
};

}  // namespace

Result<Checkpoint> DecodeCheckpoint(std::string_view bytes, const std::string& path) {
  uint32_t version = 0;
  FEDSEG_ASSIGN_OR_RETURN(
      std::string_view payload,
      OpenContainer(bytes, std::string_view(kCheckpointMagic, 8), kOldestCheckpointVersion,
                    kCheckpointVersion, path, "fedseg checkpoint", &version));
  Checkpoint c;
  if (version >= 2) {
    FEDSEG_RETURN_IF_ERROR(Parse(payload, &c, path + ": checkpoint payload"));
  } else {
    CheckpointV1 v1;
    FEDSEG_RETURN_IF_ERROR(Parse(payload, &v1, path + ": checkpoint payload"));
    c = std::move(static_cast<Checkpoint&>(v1));
  }
  Status st = c.spec.Validate();
  if (!st.ok()) return Status::Corruption(path + ": " + st.message());
  st = c.schema.Validate();
  if (!st.ok()) return Status::Corruption(path + ": " + st.message());
  if (static_cast<int64_t>(c.weights.size()) != c.spec.num_params()) {
    return Status::Corruption(path + ": checkpoint weights do not match the architecture");
  }
  if (c.schema.input_dim() != c.spec.input_dim || c.schema.num_classes() != c.spec.num_classes) {
    return Status::Corruption(path + ": checkpoint schema (" + std::to_string(c.schema.input_dim()) +
                              " inputs, " + std::to_string(c.schema.num_classes()) +
                              " classes) and model spec (" + std::to_string(c.spec.input_dim) +
                              " inputs, " + std::to_string(c.spec.num_classes) +
                              " classes) disagree");
  }
  for (size_t i = 0; i < c.weights.size(); ++i) {
    if (!std::isfinite(c.weights[i])) {
      return Status::Corruption(path + ": checkpoint weight " + std::to_string(i) +
                                " is not finite");
    }
  }
  for (size_t i = 0; i < c.strategy_state.size(); ++i) {
    if (!std::isfinite(c.strategy_state[i])) {
      return Status::Corruption(path + ": checkpoint strategy state value " + std::to_string(i) +
                                " is not finite");
    }
  }
  return c;
}

void StoreRunRecord(const RunRecord& record, Checkpoint* c) {
  c->history_json = record.RoundsToJson().dump();
  c->regions_json = record.RegionsToJson().dump();
}

Result<CheckpointRecord> RestoreRunRecord(const Checkpoint& c, const std::string& source) {
  const nlohmann::json rounds = nlohmann::json::parse(c.history_json, nullptr, false);
  if (rounds.is_discarded()) return Status::Corruption(source + ": bad history (not JSON)");
  const nlohmann::json regions = nlohmann::json::parse(c.regions_json, nullptr, false);
  if (regions.is_discarded()) return Status::Corruption(source + ": bad regions (not JSON)");
  CheckpointRecord out;
  FEDSEG_ASSIGN_OR_RETURN(out.rounds, RunRecord::RoundsFromJson(rounds, source));
  FEDSEG_ASSIGN_OR_RETURN(out.regions, RunRecord::RegionsFromJson(regions, source));
  return out;
}

Result<Checkpoint> LoadCheckpoint(const std::string& path, const CheckpointKey& key) {
  FEDSEG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, uint64_t{4} << 30));
  return UnsealCheckpoint(bytes, key, path);
}

}  // namespace fedseg::coordinator
