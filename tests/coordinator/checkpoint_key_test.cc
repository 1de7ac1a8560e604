// Sealed checkpoints: an edited checkpoint with a recomputed plain checksum, a checkpoint sealed
// with another key and an unsealed (version-1) checkpoint are refused; decoding refuses
// non-finite weights and a schema that disagrees with the model spec; key files are 0600, outside
// the run directory, and exactly 64 hex digits; per-round copies are pruned to checkpoint.keep.
#include "coordinator/checkpoint_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "common/base/container.h"
#include "common/base/file_util.h"
#include "common/base/serialization.h"
#include "common/data/dataset_loader.h"
#include "common/data/schema.h"
#include "coordinator/checkpoint.h"

namespace fedseg::coordinator {
namespace {

namespace fs = std::filesystem;

std::string TempDir(const std::string& name) {
  const std::string dir =
      (fs::temp_directory_path() / ("fedseg-ckkey-" + std::to_string(getpid()) + "-" + name))
          .string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A consistent checkpoint: a 2-input, 2-class schema and a matching model.
Checkpoint SmallCheckpoint() {
  data::RawDataset raw;
  raw.label_name = "y";
  raw.labels = {"no", "yes", "no"};
  for (const char* name : {"x", "z"}) {
    data::RawColumn col;
    col.name = name;
    col.type = data::ColumnType::kNumeric;
    col.numeric = {1, 2, 5};
    raw.features.push_back(col);
  }
  Checkpoint c;
  c.run_id = "run-test";
  c.completed_round = 2;
  c.schema = *data::Schema::FromSummary(data::Summarize(raw), "y", {});
  c.spec = ml::ModelSpec{c.schema.input_dim(), {3}, c.schema.num_classes()};
  c.weights.assign(static_cast<size_t>(c.spec.num_params()), 0.25f);
  return c;
}

CheckpointKey Key(uint8_t fill) {
  std::array<uint8_t, CheckpointKey::kSize> b;
  b.fill(fill);
  return CheckpointKey::FromBytes(b);
}

TEST(CheckpointKeyTest, SealedCheckpointsRoundTripAndEditsAreRefused) {
  const Checkpoint c = SmallCheckpoint();
  const CheckpointKey key = Key(7);
  const std::string sealed = SealCheckpoint(c, key);
  auto back = UnsealCheckpoint(sealed, key, "ck.fsc");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->weights, c.weights);

  // The attack of issue 16: all weights 0.5, the inner container's SHA-256 recomputed, and the
  // outer one too — only the HMAC is missing.
  Checkpoint edited = c;
  std::fill(edited.weights.begin(), edited.weights.end(), 0.5f);
  const std::string inner = EncodeCheckpoint(edited);
  std::string payload = sealed.substr(kContainerHeaderSize, 32) + inner;
  const std::string forged =
      WrapContainer(std::string_view(kSealedCheckpointMagic, 8), kSealedCheckpointVersion, payload);
  auto refused = UnsealCheckpoint(forged, key, "ck.fsc");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsPermissionDenied());
  EXPECT_NE(refused.status().message().find("ck.fsc: checkpoint HMAC does not match"),
            std::string::npos)
      << refused.status().message();
  // Another key, and an unsealed checkpoint (what earlier builds wrote).
  EXPECT_TRUE(UnsealCheckpoint(sealed, Key(8), "ck.fsc").status().IsPermissionDenied());
  auto plain = UnsealCheckpoint(EncodeCheckpoint(c), key, "ck.fsc");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("unauthenticated checkpoint"), std::string::npos);
}

TEST(CheckpointKeyTest, DecodingChecksFinitenessAndSchemaSpecAgreement) {
  Checkpoint c = SmallCheckpoint();
  c.weights[3] = NAN;
  auto nan = DecodeCheckpoint(EncodeCheckpoint(c), "ck.fsc");
  ASSERT_FALSE(nan.ok());
  EXPECT_NE(nan.status().message().find("ck.fsc: checkpoint weight 3 is not finite"),
            std::string::npos)
      << nan.status().message();
  c = SmallCheckpoint();
  c.strategy_state = {0.0f, INFINITY};
  EXPECT_FALSE(DecodeCheckpoint(EncodeCheckpoint(c), "ck.fsc").ok());
  c = SmallCheckpoint();
  c.spec.input_dim += 1;  // weights resized to match the spec, but not the schema
  c.weights.assign(static_cast<size_t>(c.spec.num_params()), 0.25f);
  auto disagree = DecodeCheckpoint(EncodeCheckpoint(c), "ck.fsc");
  ASSERT_FALSE(disagree.ok());
  EXPECT_NE(disagree.status().message().find("disagree"), std::string::npos)
      << disagree.status().message();
}

// The version-1 layout: the schema without its preprocessing record.
struct CheckpointV1Layout : Checkpoint {
  template <class A>
  void serialize(A& ar) {
    ar(run_id, completed_round, data::SchemaCoreLayout{&schema}, spec, weights, strategy_state,
       history_json, regions_json);
  }
};

// A run checkpointed before dates and category normalisation resumes: its schema reads values as
// written, and the next checkpoint is written as version 2 with that record.
TEST(CheckpointKeyTest, VersionOneCheckpointsLoadAndAreRewrittenAsVersionTwo) {
  CheckpointV1Layout old;
  static_cast<Checkpoint&>(old) = SmallCheckpoint();
  const std::string v1 = WrapContainer(std::string_view(kCheckpointMagic, 8), 1, Serialize(old));
  auto c = DecodeCheckpoint(v1, "old.fsc");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->run_id, "run-test");
  EXPECT_EQ(c->completed_round, 2u);
  EXPECT_EQ(c->weights, old.weights);
  EXPECT_FALSE(c->schema.normalized_categories());
  const std::string v2 = EncodeCheckpoint(*c);
  EXPECT_EQ(v2[8], 2);
  auto again = DecodeCheckpoint(v2, "new.fsc");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->schema.normalized_categories());
  EXPECT_EQ(EncodeCheckpoint(*again), v2);
  // A version-2 header on the version-1 payload is short of the record: refused.
  EXPECT_TRUE(
      DecodeCheckpoint(WrapContainer(std::string_view(kCheckpointMagic, 8), 2, Serialize(old)),
                       "bad.fsc")
          .status()
          .IsCorruption());
}

TEST(CheckpointKeyTest, KeyFilesAreMade0600AndCheckedOnLoad) {
  const std::string dir = TempDir("keys");
  const std::string path = dir + "/run.ckpt-key";
  auto made = CheckpointKey::LoadOrCreate(path);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = CheckpointKey::Load(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(made->Sign("x"), again->Sign("x"));
  // Readable by others: refused.
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_TRUE(CheckpointKey::Load(path).status().IsPermissionDenied());
  // Not 64 hex digits.
  const std::string bad = dir + "/bad.key";
  ASSERT_TRUE(WriteFileAtomic(bad, std::string(63, 'a') + "g\n").ok());
  ASSERT_EQ(::chmod(bad.c_str(), 0600), 0);
  auto refused = CheckpointKey::Load(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("character 64 is not hex"), std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(CheckpointKey::Load(dir + "/missing.key").ok());
  // Inside the run directory: refused; beside it (the default): fine.
  EXPECT_FALSE(CheckKeyOutsideRunDirectory(dir + "/run/key", dir + "/run").ok());
  EXPECT_TRUE(
      CheckKeyOutsideRunDirectory(DefaultCheckpointKeyPath(dir + "/run/"), dir + "/run").ok());
  EXPECT_EQ(DefaultCheckpointKeyPath(dir + "/run/"), dir + "/run.ckpt-key");
  fs::remove_all(dir);
}

TEST(CheckpointKeyTest, RoundCheckpointsArePrunedToTheLastN) {
  const std::string dir = TempDir("prune");
  for (uint32_t r = 1; r <= 6; ++r)
    ASSERT_TRUE(WriteFileAtomic(RoundCheckpointPath(dir, r), "x").ok());
  ASSERT_TRUE(WriteFileAtomic(dir + "/checkpoint.fsc", "x").ok());
  EXPECT_EQ(RoundCheckpointPath(dir, 12), dir + "/checkpoint-round-00012.fsc");
  EXPECT_EQ(PruneRoundCheckpoints(dir, 6, 3), 3);
  for (uint32_t r = 1; r <= 6; ++r) EXPECT_EQ(fs::exists(RoundCheckpointPath(dir, r)), r > 3) << r;
  EXPECT_TRUE(fs::exists(dir + "/checkpoint.fsc"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace fedseg::coordinator
