// The coordinator's checkpoint: everything needed to continue a run after a crash, written
// atomically (temp file, fsync, rename) after every completed round, so a `kill -9` at any point
// leaves either the previous checkpoint or the new one, never a partial file.
#ifndef FEDSEG_COORDINATOR_CHECKPOINT_H_
#define FEDSEG_COORDINATOR_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ml/mlp.h"
#include "common/data/schema.h"
#include "common/base/serialization.h"
#include "common/base/status.h"

namespace fedseg::coordinator {

inline constexpr char kCheckpointMagic[8] = {'F', 'S', 'E', 'G', 'C', 'K', 'P', 'T'};
inline constexpr uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::string run_id;
  uint32_t completed_round = 0;  // rounds whose aggregate is in `weights`
  data::Schema schema;
  ml::ModelSpec spec;
  std::vector<float> weights;         // global model after completed_round
  std::vector<float> strategy_state;  // server optimizer moments
  std::string history_json = "[]";    // per-round metrics so far (report.json's "rounds")
  std::string regions_json = "{}";    // per-region accounting so far

  template <class A>
  void serialize(A& ar) {
    ar(run_id, completed_round, schema, spec, weights, strategy_state, history_json, regions_json);
  }
};

// The file's bytes: the checksummed container (common/base/container.h, magic "FSEGCKPT") around the
// cereal record.
std::string EncodeCheckpoint(const Checkpoint& c);
// Opens the container, parses the record and checks it is consistent (spec and schema valid,
// weights matching the architecture); every failure is a Corruption naming `source`.
Result<Checkpoint> DecodeCheckpoint(std::string_view bytes, const std::string& source);

Status SaveCheckpoint(const std::string& path, const Checkpoint& c);
Result<Checkpoint> LoadCheckpoint(const std::string& path);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_CHECKPOINT_H_
