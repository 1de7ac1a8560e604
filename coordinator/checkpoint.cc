#include "coordinator/checkpoint.h"

#include "common/base/container.h"
#include "common/base/file_util.h"

namespace fedseg::coordinator {

std::string EncodeCheckpoint(const Checkpoint& c) {
  return WrapContainer(std::string_view(kCheckpointMagic, 8), kCheckpointVersion, Serialize(c));
}

Status SaveCheckpoint(const std::string& path, const Checkpoint& c) {
  return WriteFileAtomic(path, EncodeCheckpoint(c));
}

Result<Checkpoint> DecodeCheckpoint(std::string_view bytes, const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(std::string_view payload,
                          OpenContainer(bytes, std::string_view(kCheckpointMagic, 8),
                                        kCheckpointVersion, path, "fedseg checkpoint"));
  Checkpoint c;
  FEDSEG_RETURN_IF_ERROR(Parse(payload, &c, path + ": checkpoint payload"));
  Status st = c.spec.Validate();
  if (!st.ok()) return Status::Corruption(path + ": " + st.message());
  st = c.schema.Validate();
  if (!st.ok()) return Status::Corruption(path + ": " + st.message());
  if (static_cast<int64_t>(c.weights.size()) != c.spec.num_params()) {
    return Status::Corruption(path + ": checkpoint weights do not match the architecture");
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

Result<Checkpoint> LoadCheckpoint(const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, uint64_t{4} << 30));
  return DecodeCheckpoint(bytes, path);
}

}  // namespace fedseg::coordinator
