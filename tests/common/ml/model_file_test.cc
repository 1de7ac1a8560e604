#include "common/ml/model_file.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/base/container.h"
#include "common/base/serialization.h"

namespace fedseg::ml {
namespace {

ModelFile MakeModel() {
  data::RawDataset d;
  d.source = "mem";
  d.features = {data::RawColumn{"x", data::ColumnType::kNumeric, {1, 2, 3}, {}, 0},
                data::RawColumn{"c", data::ColumnType::kCategorical, {}, {"a", "b", "a"}, 0}};
  d.labels = {"no", "yes", "no"};
  data::Schema schema = *data::Schema::FromSummary(data::Summarize(d), "y");
  Mlp m = *Mlp::Create({schema.input_dim(), {4}, 2});
  m.InitRandom(1);
  return ModelFile{schema, m, R"({"mode":"local"})", DecisionRule{}};
}

TEST(ModelFileTest, RoundTrip) {
  ModelFile f = MakeModel();
  std::string bytes = EncodeModelFile(f);
  ModelFile g = *DecodeModelFile(bytes, "m.fsm");
  EXPECT_EQ(g.model.spec(), f.model.spec());
  EXPECT_EQ(g.model.params(), f.model.params());
  EXPECT_EQ(g.schema.class_names(), f.schema.class_names());
  EXPECT_EQ(g.schema.columns()[1].vocabulary, f.schema.columns()[1].vocabulary);
  EXPECT_EQ(g.metadata_json, f.metadata_json);
  EXPECT_EQ(g.decision, DecisionRule{});  // arg-max unless set
}

TEST(ModelFileTest, RoundTripWithADecisionRule) {
  ModelFile f = MakeModel();
  f.decision = DecisionRule{DecisionObjective::kMinPrecision, 1, 0.3125, 0.8};
  const std::string bytes = EncodeModelFile(f);
  EXPECT_EQ(bytes[8], 3);  // written as version 3
  auto g = DecodeModelFile(bytes, "m.fsm");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->decision, f.decision);
  EXPECT_EQ(EncodeModelFile(*g), bytes);
}

TEST(ModelFileTest, EveryTruncationFails) {
  std::string bytes = EncodeModelFile(MakeModel());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = DecodeModelFile(std::string_view(bytes).substr(0, n), "m.fsm");
    ASSERT_FALSE(r.ok()) << "truncated to " << n;
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_NE(r.status().message().find("m.fsm"), std::string::npos);
  }
  auto r = DecodeModelFile(std::string_view(bytes).substr(0, bytes.size() - 3), "m.fsm");
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
}

TEST(ModelFileTest, EveryFlippedByteFails) {
  std::string bytes = EncodeModelFile(MakeModel());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x20;
    auto r = DecodeModelFile(bad, "m.fsm");
    EXPECT_FALSE(r.ok()) << "flipped byte " << i;
  }
}

TEST(ModelFileTest, SpecificErrors) {
  std::string bytes = EncodeModelFile(MakeModel());
  std::string bad = bytes;
  bad[0] = 'X';
  EXPECT_NE(DecodeModelFile(bad, "m").status().message().find("bad magic"), std::string::npos);
  bad = bytes;
  bad[8] = 9;
  EXPECT_NE(DecodeModelFile(bad, "m").status().message().find("version 9"), std::string::npos);
  bad = bytes;
  bad.back() ^= 1;
  EXPECT_NE(DecodeModelFile(bad, "m").status().message().find("checksum"), std::string::npos);
  EXPECT_NE(DecodeModelFile(bytes + "xx", "m").status().message().find("trailing"),
            std::string::npos);
}

TEST(ModelFileTest, SaveAndLoadFile) {
  std::string path = ::testing::TempDir() + "/model_file_test.fsm";
  ModelFile f = MakeModel();
  ASSERT_TRUE(SaveModelFile(path, f).ok());
  auto g = LoadModelFile(path);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->model.params(), f.model.params());
  EXPECT_TRUE(LoadModelFile(path + ".missing").status().IsNotFound());
}

// The version-1 payload layout of model_file.cc (the schema without its preprocessing record,
// spec, weights, metadata; version 2 appends the decision rule), to forge files.
struct ForgedPayload {
  data::Schema schema;
  ModelSpec spec;
  std::vector<float> params;
  std::string metadata_json;
  template <class A>
  void serialize(A& ar) {
    ar(data::SchemaCoreLayout{&schema}, spec, params, metadata_json);
  }
};

// A valid architecture of ~67M parameters with no weights in the file: refused by comparing the
// counts, before the 268 MB parameter vector is allocated.
TEST(ModelFileTest, RefusesMissingWeightsBeforeAllocatingTheModel) {
  ModelFile f = MakeModel();
  ForgedPayload p{f.schema, {f.schema.input_dim(), {8192, 8192}, 2}, {}, "{}"};
  ASSERT_TRUE(p.spec.Validate().ok());
  std::string bytes = WrapContainer(std::string_view(kModelMagic, sizeof(kModelMagic)),
                                    /*version 1: no rule*/ 1, Serialize(p));
  auto r = DecodeModelFile(bytes, "m.fsm");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption());
  EXPECT_NE(r.status().message().find("m.fsm: the file holds 0 weights, the "), std::string::npos)
      << r.status().message();
}

// A version-1 file (before decision rules: no rule after the metadata) loads with arg-max.
TEST(ModelFileTest, VersionOneLoadsWithArgMax) {
  ModelFile f = MakeModel();
  ForgedPayload p{f.schema, f.model.spec(),
                  std::vector<float>(f.model.params().data(),
                                     f.model.params().data() + f.model.params().size()),
                  f.metadata_json};
  const std::string v1 = WrapContainer(std::string_view(kModelMagic, sizeof(kModelMagic)), 1,
                                       Serialize(p));
  auto g = DecodeModelFile(v1, "old.fsm");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_FALSE(g->decision.is_threshold());
  EXPECT_EQ(g->decision.positive_class, -1);
  EXPECT_EQ(g->model.params(), f.model.params());
  EXPECT_EQ(g->metadata_json, f.metadata_json);
  // A version-2 header on that payload is short of the rule: refused, not read past the end.
  const std::string v2 = WrapContainer(std::string_view(kModelMagic, sizeof(kModelMagic)), 2,
                                       Serialize(p));
  EXPECT_TRUE(DecodeModelFile(v2, "m.fsm").status().IsCorruption());
  // Versions outside 1..3 are named.
  const std::string v4 =
      WrapContainer(std::string_view(kModelMagic, sizeof(kModelMagic)), 4, Serialize(p));
  EXPECT_EQ(DecodeModelFile(v4, "m.fsm").status().message(),
            "m.fsm: fedseg model file format version 4 is not supported (this build reads "
            "version 1 to 3)");
}

// Version 3 keeps the schema's preprocessing record: the date formats its columns are derived
// from, the category rule and the notes.
TEST(ModelFileTest, TheSchemasDatesRuleAndNotesRoundTrip) {
  data::RawDataset d;
  d.source = "mem";
  d.features = {
      data::RawColumn{"s[days]", data::ColumnType::kNumeric, {18000, 18001, 18002}, {}, 0},
      data::RawColumn{"c", data::ColumnType::kCategorical, {}, {"a", "b", "a"}, 0}};
  d.labels = {"no", "yes", "no"};
  d.date_formats = {{"s", "%d-%m-%Y"}};
  data::Schema schema = *data::Schema::FromSummary(data::Summarize(d), "y");
  schema.AddNote("column 'c': 3 spellings that differ only in case or spacing are 2 categories");
  Mlp m = *Mlp::Create({schema.input_dim(), {4}, 2});
  const ModelFile f{schema, m, "{}", DecisionRule{}};
  auto g = DecodeModelFile(EncodeModelFile(f), "m.fsm");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->schema.date_formats(), schema.date_formats());
  EXPECT_TRUE(g->schema.normalized_categories());
  ASSERT_EQ(g->schema.notes().size(), 2u);
  EXPECT_EQ(g->schema.notes(), schema.notes());
  EXPECT_EQ(g->schema.notes()[0],
            "column 's': dates (%d-%m-%Y) encoded as s[days], s[month] and s[weekday]");
  // Reading it back asks the loader for the date's source column, in its format, values normalised.
  const data::LoadOptions o = g->schema.MakeLoadOptions(/*label_optional=*/true);
  EXPECT_EQ(o.feature_columns, (std::vector<std::string>{"s", "c"}));
  EXPECT_EQ(o.dates, schema.date_formats());
  EXPECT_TRUE(o.normalize_categories);
  EXPECT_FALSE(o.detect_dates);
}

// Version 2: version 1, then the decision rule.
struct ForgedPayloadV2 : ForgedPayload {
  DecisionRule decision;
  template <class A>
  void serialize(A& ar) {
    ForgedPayload::serialize(ar);
    ar(decision);
  }
};

// A file from before version 3 reads values as they were written: no normalisation, no dates.
TEST(ModelFileTest, VersionTwoFilesKeepValuesAsWritten) {
  ModelFile f = MakeModel();
  ForgedPayloadV2 p;
  p.schema = f.schema;
  p.spec = f.model.spec();
  p.params.assign(f.model.params().data(), f.model.params().data() + f.model.params().size());
  p.metadata_json = "{}";
  const std::string v2 =
      WrapContainer(std::string_view(kModelMagic, sizeof(kModelMagic)), 2, Serialize(p));
  auto g = DecodeModelFile(v2, "old.fsm");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_FALSE(g->schema.normalized_categories());
  EXPECT_TRUE(g->schema.notes().empty());
  EXPECT_EQ(g->schema.columns()[1].vocabulary, f.schema.columns()[1].vocabulary);
  EXPECT_FALSE(g->schema.MakeLoadOptions(true).normalize_categories);
}

TEST(ModelFileTest, RefusesAnInvalidDecisionRule) {
  auto refused = [](DecisionRule rule, const std::string& what) {
    ModelFile f = MakeModel();
    f.decision = rule;
    auto r = DecodeModelFile(EncodeModelFile(f), "m.fsm");
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_TRUE(r.status().IsCorruption());
    EXPECT_NE(r.status().message().find("m.fsm: decision rule: " + what), std::string::npos)
        << r.status().message();
  };
  refused({DecisionObjective::kMaxF1, 1, std::nan(""), 0}, "threshold nan is not a number in [0, 1]");
  refused({DecisionObjective::kMaxF1, 1, 1.25, 0}, "threshold 1.250000 is not a number in [0, 1]");
  refused({DecisionObjective::kMaxF1, 2, 0.5, 0}, "positive class 2 is not 0 or 1");
  refused({DecisionObjective::kMaxF1, -1, 0.5, 0}, "positive class -1 is not 0 or 1");
  refused({static_cast<DecisionObjective>(7), 1, 0.5, 0}, "unknown objective 7");
}

struct Blob {
  std::vector<float> v;
  std::string s;
  template <class A>
  void serialize(A& ar) {
    ar(v, s);
  }
};

TEST(SerializationTest, HostileLengthPrefixIsRefusedBeforeAllocating) {
  Blob b{{1, 2, 3}, "hi"};
  std::string bytes = Serialize(b);
  Blob out;
  ASSERT_TRUE(Parse(bytes, &out, "blob").ok());
  EXPECT_EQ(out.v, b.v);
  // Byte 0 is cereal's endianness tag; bytes 1..8 the vector's length prefix.
  std::string bad = bytes;
  for (int i = 1; i <= 8; ++i) bad[i] = static_cast<char>(0xff);
  Status st = Parse(bad, &out, "blob");
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("exceeds"), std::string::npos) << st.message();
  bad = bytes;
  bad[1] = 0x00;
  bad[5] = 0x01;  // 2^32 floats
  EXPECT_FALSE(Parse(bad, &out, "blob").ok());
  EXPECT_FALSE(Parse(bytes.substr(0, bytes.size() - 1), &out, "blob").ok());
  EXPECT_FALSE(Parse(bytes + "z", &out, "blob").ok());
}

}  // namespace
}  // namespace fedseg::ml
