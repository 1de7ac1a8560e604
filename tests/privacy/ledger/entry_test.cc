// The ledger's entry format on its own: field parsing and range checks, the canonical params,
// the hash rule (ledger_test.cc checks whole ledgers).
#include "privacy/ledger/entry.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/base/sha256.h"

namespace fedseg::privacy {
namespace {

using json = nlohmann::json;

json SampledParams() {
  return {{"sampling_rate", 0.02}, {"noise_multiplier", 1.1}, {"clip_norm", 1.0}, {"steps", 50}};
}

// A valid entry (hash and signature are only checked for form here).
json ValidEntry() {
  return {{"seq", 1},
          {"time", "2024-05-01T12:34:56Z"},
          {"region", "region-a"},
          {"run_id", "run-1"},
          {"round", 1},
          {"mechanism", "sampled_gaussian"},
          {"params", SampledParams()},
          {"delta", 1e-5},
          {"epsilon_after", 0.5},
          {"order", 12.0},
          {"model_sha256", std::string(64, 'a')},
          {"prev_hash", kLedgerGenesisHash},
          {"hash", std::string(64, 'b')},
          {"signature", "c2ln"}};
}

std::string ParseError(const json& j) {
  Result<LedgerEntry> e = ParseLedgerEntry(j);
  return e.ok() ? "(parsed)" : e.status().message();
}

TEST(LedgerEntryTest, ParsesEveryField) {
  Result<LedgerEntry> e = ParseLedgerEntry(ValidEntry());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->seq, 1);
  EXPECT_EQ(e->time, "2024-05-01T12:34:56Z");
  EXPECT_EQ(e->region, "region-a");
  EXPECT_EQ(e->run_id, "run-1");
  EXPECT_EQ(e->round, 1u);
  EXPECT_EQ(e->mechanism, "sampled_gaussian");
  EXPECT_TRUE(e->mech.sampled);
  EXPECT_EQ(e->mech.sampling_rate, 0.02);
  EXPECT_EQ(e->mech.noise_multiplier, 1.1);
  EXPECT_EQ(e->mech.steps, 50);
  EXPECT_EQ(e->delta, 1e-5);
  EXPECT_EQ(e->epsilon_after, 0.5);
  EXPECT_EQ(e->order, 12.0);
  EXPECT_EQ(e->prev_hash, kLedgerGenesisHash);
  EXPECT_EQ(e->signature, "c2ln");
}

TEST(LedgerEntryTest, RefusesEachBadField) {
  auto with = [](const char* key, const json& value) {
    json j = ValidEntry();
    j[key] = value;
    return ParseError(j);
  };
  EXPECT_EQ(ParseError(json::array()), "not a JSON object");
  json extra = ValidEntry();
  extra["note"] = "x";
  EXPECT_EQ(ParseError(extra), "unknown field 'note'");
  json missing = ValidEntry();
  missing.erase("delta");
  EXPECT_EQ(ParseError(missing), "delta is missing");
  EXPECT_EQ(with("seq", 0), "seq must be >= 1, got 0");
  EXPECT_EQ(with("seq", 1.5), "seq must be an integer, got 1.5");
  EXPECT_EQ(with("time", "2024-13-01T00:00:00Z"),
            "time must be UTC ISO-8601 (YYYY-MM-DDTHH:MM:SSZ), got \"2024-13-01T00:00:00Z\"");
  EXPECT_EQ(with("region", ""), "region must be 1-256 printable ASCII characters, got \"\"");
  EXPECT_EQ(with("run_id", "a\tb"),
            "run_id must be 1-256 printable ASCII characters, got \"a\tb\"");
  EXPECT_EQ(with("round", -1), "round must be in [0, 2^32), got -1");
  EXPECT_EQ(with("round", 4294967296), "round must be in [0, 2^32), got 4294967296");
  EXPECT_EQ(with("mechanism", "laplace"),
            "mechanism must be \"sampled_gaussian\" or \"gaussian\", got \"laplace\"");
  EXPECT_EQ(with("delta", 1.0), "delta must be in (0, 1), got 1");
  EXPECT_EQ(with("delta", "small"), "delta must be a number, got \"small\"");
  EXPECT_EQ(with("epsilon_after", -0.5), "epsilon_after must be >= 0, got -0.5");
  EXPECT_EQ(with("model_sha256", ""), "model_sha256 is required for sampled_gaussian");
  EXPECT_EQ(with("model_sha256", std::string(64, 'A')),
            "model_sha256 must be 64 lowercase hex digits, got \"" + std::string(64, 'A') + "\"");
  EXPECT_EQ(with("prev_hash", "00"), "prev_hash must be 64 lowercase hex digits");
  EXPECT_EQ(with("hash", std::string(63, 'b')), "hash must be 64 lowercase hex digits");
  EXPECT_EQ(with("signature", 5), "signature must be a string, got 5");
}

TEST(LedgerEntryTest, MechanismParameters) {
  Result<LedgerMechanism> m = ParseLedgerMechanism("sampled_gaussian", SampledParams());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->name(), "sampled_gaussian");
  // The canonical params are typed: an integral clip norm stays a double, steps an integer.
  EXPECT_EQ(m->Params().dump(),
            R"({"clip_norm":1.0,"noise_multiplier":1.1,"sampling_rate":0.02,"steps":50})");

  json stats = {{"noise_multiplier", 8}, {"count", 1e1}, {"clip_norm", 2}, {"sensitivity", "rows"}};
  m = ParseLedgerMechanism("gaussian", stats);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_FALSE(m->sampled);
  EXPECT_EQ(m->sampling_rate, 1.0);
  EXPECT_EQ(m->steps, 10);
  EXPECT_EQ(m->Params().dump(),
            R"({"clip_norm":2.0,"count":10,"noise_multiplier":8.0,"sensitivity":"rows"})");

  auto error = [](const std::string& name, const json& params) {
    Result<LedgerMechanism> r = ParseLedgerMechanism(name, params);
    return r.ok() ? "(parsed)" : r.status().message();
  };
  json p = SampledParams();
  p["sampling_rate"] = 1.5;
  EXPECT_EQ(error("sampled_gaussian", p), "params.sampling_rate must be in (0, 1], got 1.5");
  p = SampledParams();
  p["noise_multiplier"] = 0;
  EXPECT_EQ(error("sampled_gaussian", p), "params.noise_multiplier must be positive, got 0");
  p = SampledParams();
  p["steps"] = 0;
  EXPECT_EQ(error("sampled_gaussian", p), "params.steps must be a positive integer, got 0");
  p = SampledParams();
  p["count"] = 3;
  EXPECT_EQ(error("sampled_gaussian", p), "unknown field 'params.count'");
  EXPECT_EQ(error("gaussian", SampledParams()), "params.count is missing");
  EXPECT_EQ(error("gaussian", json::array()), "params must be an object, got []");
  stats["sensitivity"] = std::string(1025, 'x');
  EXPECT_EQ(error("gaussian", stats),
            "params.sensitivity must be at most 1024 printable ASCII characters");
}

TEST(LedgerEntryTest, MechanismComposesIntoTheAccountant) {
  Result<LedgerMechanism> m = ParseLedgerMechanism("sampled_gaussian", SampledParams());
  ASSERT_TRUE(m.ok());
  RdpAccountant via_entry, direct;
  ASSERT_TRUE(m->AddTo(via_entry).ok());
  ASSERT_TRUE(direct.AddSampledGaussian(0.02, 1.1, 50).ok());
  EXPECT_EQ(via_entry.rdp(), direct.rdp());
}

TEST(LedgerEntryTest, HashLeavesOutHashAndSignature) {
  json entry = ValidEntry();
  json content = entry;
  content.erase("hash");
  content.erase("signature");
  EXPECT_EQ(LedgerEntryHash(entry), Sha256Hex(content.dump()));
  entry["signature"] = "other";
  entry["hash"] = std::string(64, 'f');
  EXPECT_EQ(LedgerEntryHash(entry), Sha256Hex(content.dump()));
  entry["round"] = 2;
  EXPECT_NE(LedgerEntryHash(entry), Sha256Hex(content.dump()));
}

TEST(LedgerEntryTest, NamesAndModelHashes) {
  EXPECT_TRUE(CheckLedgerName("r", "region").ok());
  EXPECT_TRUE(CheckLedgerName(std::string(256, 'r'), "region").ok());
  EXPECT_FALSE(CheckLedgerName(std::string(257, 'r'), "region").ok());
  EXPECT_FALSE(CheckLedgerName("caf\xc3\xa9", "run_id").ok());
  EXPECT_TRUE(CheckLedgerModelHash("", false).ok());
  EXPECT_FALSE(CheckLedgerModelHash("", true).ok());
  EXPECT_TRUE(CheckLedgerModelHash(std::string(64, '0'), true).ok());
}

}  // namespace
}  // namespace fedseg::privacy
