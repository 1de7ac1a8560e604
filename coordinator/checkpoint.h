// The coordinator's checkpoint: everything needed to continue a run after a crash, written
// atomically (temp file, fsync, rename) after every completed round, so a `kill -9` at any point
// leaves either the previous checkpoint or the new one, never a partial file.
//
// On disk a checkpoint is sealed: an outer container (magic "FSEGCKPS", version 1) whose payload
// is the 32-byte HMAC-SHA-256 (checkpoint_key.h) of the inner bytes, then the inner bytes (the
// "FSEGCKPT" container below). The plain SHA-256 of a container only detects accidents; the HMAC
// makes an edited checkpoint (weights changed, checksum recomputed) fail to load.
#ifndef FEDSEG_COORDINATOR_CHECKPOINT_H_
#define FEDSEG_COORDINATOR_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/serialization.h"
#include "common/base/status.h"
#include "common/data/schema.h"
#include "common/ml/mlp.h"
#include "coordinator/checkpoint_key.h"
#include "coordinator/record/run_record.h"

namespace fedseg::coordinator {

inline constexpr char kCheckpointMagic[8] = {'F', 'S', 'E', 'G', 'C', 'K', 'P', 'T'};
// Version 2 holds the whole schema (its date formats, category normalisation and notes);
// version 1 checkpoints, whose schema has none, still load.
inline constexpr uint32_t kCheckpointVersion = 2;
inline constexpr uint32_t kOldestCheckpointVersion = 1;
inline constexpr char kSealedCheckpointMagic[8] = {'F', 'S', 'E', 'G', 'C', 'K', 'P', 'S'};
inline constexpr uint32_t kSealedCheckpointVersion = 1;

struct Checkpoint {
  std::string run_id;
  uint32_t completed_round = 0;  // rounds whose aggregate is in `weights`
  data::Schema schema;
  ml::ModelSpec spec;
  std::vector<float> weights;         // global model after completed_round
  std::vector<float> strategy_state;  // server optimizer moments
  // The run record so far, as JSON text in report.json's layout (run_record.h): its "rounds"
  // and its "regions". Text, not a cereal record, since version 1: see StoreRunRecord.
  std::string history_json = "[]";
  std::string regions_json = "{}";

  template <class A>
  void serialize(A& ar) {
    ar(run_id, completed_round, schema, spec, weights, strategy_state, history_json, regions_json);
  }
};

// The file's bytes: the checksummed container (common/base/container.h, magic "FSEGCKPT") around the
// cereal record.
std::string EncodeCheckpoint(const Checkpoint& c);
// Opens the container, parses the record and checks it is consistent (spec and schema valid and
// agreeing on input width and classes, weights matching the architecture, every weight and
// strategy-state value finite); every failure is a Corruption naming `source`.
Result<Checkpoint> DecodeCheckpoint(std::string_view bytes, const std::string& source);

// The parts of the run record a checkpoint carries.
struct CheckpointRecord {
  std::vector<RoundResult> rounds;
  std::map<std::string, RegionResult> regions;
};

// Stores `record`'s rounds and regions in `c` (history_json, regions_json). The encoding is the
// one every version-1 checkpoint has used, so checkpoints written by earlier builds still load.
void StoreRunRecord(const RunRecord& record, Checkpoint* c);
// Reads them back; a text that is not JSON, or a missing or mistyped field, is a Corruption
// naming `source` and the field ("<source>: rounds[2].global.loss: ..."), never a silent default.
// Fields that older runs lack (run_record.h lists them) take their documented defaults.
Result<CheckpointRecord> RestoreRunRecord(const Checkpoint& c, const std::string& source);

// The sealed file's bytes, and their opening: the HMAC is checked (constant time) before the
// inner checkpoint is parsed; a wrong MAC is a PermissionDenied naming `source`.
std::string SealCheckpoint(const Checkpoint& c, const CheckpointKey& key);
Result<Checkpoint> UnsealCheckpoint(std::string_view bytes, const CheckpointKey& key,
                                    const std::string& source);

Status SaveCheckpoint(const std::string& path, const Checkpoint& c, const CheckpointKey& key);
Result<Checkpoint> LoadCheckpoint(const std::string& path, const CheckpointKey& key);

// "<dir>/checkpoint-round-00012.fsc": the per-round copies --resume --from-round reads.
std::string RoundCheckpointPath(const std::string& dir, uint32_t round);
// Deletes the per-round checkpoints in `dir` of rounds up to newest - keep (keeping `keep`).
// Returns how many it deleted.
int PruneRoundCheckpoints(const std::string& dir, uint32_t newest, int keep);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_CHECKPOINT_H_
