// Whole rounds of the secure-aggregation protocol between in-process sessions: exact sums, each of
// the three dropout points, sparse neighbourhoods, a curious coordinator's view, and refusals.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/base/sha256.h"
#include "privacy/secagg/aggregator_session.h"
#include "privacy/secagg/neighbourhood.h"
#include "privacy/secagg/region_session.h"
#include "tests/privacy/secagg/test_random.h"

namespace fedseg::privacy::secagg {
namespace {

// Stand-in identity signatures: SHA-256 of a per-region secret and the message. The protocol only
// calls SignFn / VerifyFn; production passes the regions' certificate keys.
SignFn SignAs(const std::string& region) {
  return [region](std::string_view message) -> Result<std::string> {
    return Sha256Hex("identity-of-" + region + "|" + std::string(message));
  };
}
Status Verify(const std::string& region, std::string_view message, const std::string& signature) {
  if (Sha256Hex("identity-of-" + region + "|" + std::string(message)) == signature) {
    return Status::OK();
  }
  return Status::PermissionDenied("bad signature");
}

constexpr const char* kRun = "20261201T070000Z-run-a";

std::string Name(int i) {
  std::string n = "region-";
  if (i < 10) n += '0';
  if (i < 100) n += '0';
  return n + std::to_string(i);
}

// Where a region stops taking part.
enum class DropAt { kNever, kBeforeShares, kBeforeInput, kBeforeUnmask };

struct Federation {
  SecAggParams params;
  std::vector<std::string> names;
  std::map<std::string, std::vector<uint32_t>> inputs;
  std::map<std::string, DropAt> drops;
  // Everything the coordinator received, for the curious-coordinator test.
  std::vector<MaskedInput> seen_inputs;

  Federation(int n, uint64_t length, uint32_t neighbours = 0) {
    params.round = 7;
    params.vector_length = length;
    params.neighbours = neighbours;
    params.graph_seed = 99;
    for (int i = 0; i < n; ++i) {
      names.push_back(Name(i));
      std::vector<uint32_t> v(length);
      for (uint64_t k = 0; k < length; ++k) v[k] = static_cast<uint32_t>(1000 * i + k);
      inputs[Name(i)] = v;
    }
  }

  bool Present(const std::string& r, DropAt step) const {
    auto it = drops.find(r);
    return it == drops.end() || static_cast<int>(it->second) > static_cast<int>(step);
  }

  Result<AggregateOutcome> Run() {
    FEDSEG_ASSIGN_OR_RETURN(AggregatorSession coordinator, AggregatorSession::Create(kRun, params));
    std::map<std::string, RegionSession> regions;
    uint64_t seed = 1;
    for (const std::string& r : names) {
      FEDSEG_ASSIGN_OR_RETURN(
          RegionSession s,
          RegionSession::Create(kRun, r, params.round, SeededRandomBytesForTesting(seed++)));
      regions.emplace(r, std::move(s));
    }
    for (auto& [r, s] : regions) {
      FEDSEG_ASSIGN_OR_RETURN(AdvertiseKeys keys, s.Advertise(SignAs(r)));
      FEDSEG_RETURN_IF_ERROR(coordinator.AddKeys(r, keys, Verify));
    }
    FEDSEG_ASSIGN_OR_RETURN(KeyRoster roster, coordinator.CloseKeys());
    for (auto& [r, s] : regions) {
      if (!Present(r, DropAt::kBeforeShares)) continue;
      FEDSEG_ASSIGN_OR_RETURN(std::vector<ShareEnvelope> envelopes, s.ShareKeys(roster, Verify));
      FEDSEG_RETURN_IF_ERROR(coordinator.AddShares(r, envelopes));
    }
    FEDSEG_ASSIGN_OR_RETURN(auto forward, coordinator.CloseShares());
    for (auto& [r, s] : regions) {
      if (!Present(r, DropAt::kBeforeInput)) continue;
      FEDSEG_ASSIGN_OR_RETURN(MaskedInput masked, s.MaskInput(forward[r], inputs[r]));
      seen_inputs.push_back(masked);
      FEDSEG_RETURN_IF_ERROR(coordinator.AddMaskedInput(r, masked));
    }
    FEDSEG_ASSIGN_OR_RETURN(UnmaskRequest request, coordinator.CloseInputs());
    for (auto& [r, s] : regions) {
      if (!Present(r, DropAt::kBeforeUnmask)) continue;
      FEDSEG_ASSIGN_OR_RETURN(UnmaskResponse response, s.Unmask(request));
      FEDSEG_RETURN_IF_ERROR(coordinator.AddUnmask(r, response));
    }
    return coordinator.Finish();
  }

  std::vector<uint32_t> ExpectedSum(const std::vector<std::string>& aggregated) {
    std::vector<uint32_t> sum(params.vector_length, 0);
    for (const std::string& r : aggregated) {
      for (size_t k = 0; k < sum.size(); ++k) sum[k] += inputs[r][k];
    }
    return sum;
  }
};

TEST(SecAggProtocolTest, NoDropoutsGivesTheExactSum) {
  Federation f(5, 300);
  Result<AggregateOutcome> out = f.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->aggregated, f.names);
  EXPECT_TRUE(out->dropped.empty());
  EXPECT_EQ(out->sum, f.ExpectedSum(f.names));
}

TEST(SecAggProtocolTest, DropoutAtEachStepLeavesTheSurvivorsSum) {
  Federation f(7, 200);
  f.drops[Name(1)] = DropAt::kBeforeShares;  // advertised keys, then vanished
  f.drops[Name(3)] = DropAt::kBeforeInput;   // shared its keys, sent no input
  f.drops[Name(5)] = DropAt::kBeforeUnmask;  // its input is in the sum, it sent no shares back
  Result<AggregateOutcome> out = f.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::vector<std::string> expected = {Name(0), Name(2), Name(4), Name(5), Name(6)};
  EXPECT_EQ(out->aggregated, expected);
  EXPECT_EQ(out->dropped, (std::vector<std::string>{Name(1), Name(3)}));
  EXPECT_EQ(out->sum, f.ExpectedSum(expected));
}

TEST(SecAggProtocolTest, TooFewSurvivorsFailsTheRoundCleanly) {
  Federation f(4, 10);
  f.drops[Name(0)] = DropAt::kBeforeInput;
  f.drops[Name(1)] = DropAt::kBeforeInput;
  Result<AggregateOutcome> out = f.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(out.status().message().find("fewer than 3"), std::string::npos);
}

TEST(SecAggProtocolTest, TooFewUnmaskingSharesFailsTheRound) {
  // 5 regions, threshold ceil(0.5 * 4) = 2: with three silent at unmasking, a survivor's self-mask
  // seed has at most one share.
  Federation f(5, 10);
  f.drops[Name(0)] = DropAt::kBeforeUnmask;
  f.drops[Name(1)] = DropAt::kBeforeUnmask;
  f.drops[Name(2)] = DropAt::kBeforeUnmask;
  Result<AggregateOutcome> out = f.Run();
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("are needed"), std::string::npos);
}

TEST(SecAggProtocolTest, SparseNeighbourhoodsWithThirtyPercentDropouts) {
  Federation f(30, 64, /*neighbours=*/8);
  for (int i : {2, 5, 9, 13, 17, 21, 25, 28, 29}) {  // 9 of 30 at various steps
    f.drops[Name(i)] = static_cast<DropAt>(1 + i % 3);
  }
  Result<AggregateOutcome> out = f.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<std::string> expected;
  for (const std::string& r : f.names) {
    if (f.Present(r, DropAt::kBeforeInput)) expected.push_back(r);
  }
  EXPECT_EQ(out->aggregated, expected);
  EXPECT_EQ(out->sum, f.ExpectedSum(expected));
}

TEST(SecAggProtocolTest, TheDefaultNeighbourhoodOfAHundredRegionsSurvivesThirtyPercentDropouts) {
  const uint32_t k = DefaultNeighbours(100, NeighbourhoodAssumptions{});
  ASSERT_EQ(k, 58u);
  Federation f(100, 16, k);
  // 30 of 100 drop, ten at each step, spread over the ring's shuffled order.
  for (int i = 0; i < 30; ++i) f.drops[Name(3 * i + 1)] = static_cast<DropAt>(1 + i % 3);
  Result<AggregateOutcome> out = f.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<std::string> expected;
  for (const std::string& r : f.names) {
    if (f.Present(r, DropAt::kBeforeInput)) expected.push_back(r);
  }
  EXPECT_EQ(out->aggregated.size(), 80u);  // the 10 dropped before unmasking are in the sum
  EXPECT_EQ(out->aggregated, expected);
  EXPECT_EQ(out->sum, f.ExpectedSum(expected));
}

TEST(SecAggProtocolTest, ARegionChecksTheSignaturesOfItsNeighboursOnly) {
  // 12 regions on a 4-regular graph: region-000 uses (and checks) the keys of its 4 neighbours
  // only, as in SecAgg+; a bad signature on a neighbour's keys is refused, on another's it is not
  // looked at.
  SecAggParams params;
  params.round = 4;
  params.vector_length = 8;
  params.neighbours = 4;
  params.graph_seed = 11;
  KeyRoster roster;
  roster.params = params;
  std::vector<RegionSession> sessions;
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) {
    Result<RegionSession> s =
        RegionSession::Create(kRun, Name(i), params.round, SeededRandomBytesForTesting(300 + i));
    ASSERT_TRUE(s.ok());
    sessions.push_back(std::move(s).value());
    Result<AdvertiseKeys> keys = sessions.back().Advertise(SignAs(Name(i)));
    ASSERT_TRUE(keys.ok());
    roster.regions.push_back(*keys);
    names.push_back(Name(i));
  }
  const std::vector<std::string> neighbours = Neighbours(names, Name(0), params);
  ASSERT_EQ(neighbours.size(), 4u);
  std::string stranger;
  for (const std::string& n : names) {
    if (n != Name(0) && !std::binary_search(neighbours.begin(), neighbours.end(), n)) stranger = n;
  }
  std::vector<std::string> checked;
  const VerifyFn counting = [&](const std::string& region, std::string_view message,
                                const std::string& signature) {
    checked.push_back(region);
    return Verify(region, message, signature);
  };
  KeyRoster bad_stranger = roster;
  bad_stranger.regions[std::find(names.begin(), names.end(), stranger) - names.begin()].signature =
      "forged";
  Result<RegionSession> first =
      RegionSession::Create(kRun, Name(0), params.round, SeededRandomBytesForTesting(300));
  ASSERT_TRUE(first.ok());
  // The same seed gives region-000 the same keys as in the roster.
  ASSERT_TRUE(first->Advertise(SignAs(Name(0))).ok());
  Result<std::vector<ShareEnvelope>> ok = first->ShareKeys(bad_stranger, counting);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), 4u);
  EXPECT_EQ(checked, neighbours);
  KeyRoster bad_neighbour = roster;
  bad_neighbour.regions[std::find(names.begin(), names.end(), neighbours[1]) - names.begin()]
      .signature = "forged";
  Result<std::vector<ShareEnvelope>> refused = sessions[0].ShareKeys(bad_neighbour, Verify);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(refused.status().message().find(neighbours[1]), std::string::npos)
      << refused.status().message();
}

TEST(SecAggProtocolTest, NeighbourhoodsAreSymmetricAndOfTheRequestedSize) {
  SecAggParams params;
  params.neighbours = 6;
  params.graph_seed = 5;
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back(Name(i));
  for (const std::string& a : names) {
    const std::vector<std::string> na = Neighbours(names, a, params);
    EXPECT_EQ(na.size(), 6u);
    EXPECT_EQ(std::count(na.begin(), na.end(), a), 0);
    for (const std::string& b : na) {
      const std::vector<std::string> nb = Neighbours(names, b, params);
      EXPECT_TRUE(std::binary_search(nb.begin(), nb.end(), a)) << a << " " << b;
    }
  }
  params.neighbours = 0;
  EXPECT_EQ(Neighbours(names, names[0], params).size(), 39u);
}

TEST(SecAggProtocolTest, CuriousCoordinatorSeesUniformVectors) {
  // Every region's input is all zeros: what the coordinator receives must still look uniform
  // (each bit set about half the time), so no single input can be read from it.
  Federation f(4, 5000);
  for (auto& [r, v] : f.inputs) std::fill(v.begin(), v.end(), 0);
  Result<AggregateOutcome> out = f.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->sum, std::vector<uint32_t>(5000, 0));
  ASSERT_EQ(f.seen_inputs.size(), 4u);
  for (const MaskedInput& m : f.seen_inputs) {
    for (int bit = 0; bit < 32; ++bit) {
      int ones = 0;
      for (uint32_t w : m.values) ones += (w >> bit) & 1;
      EXPECT_GT(ones, 2300) << m.region << " bit " << bit;  // expected 2500, sd 35
      EXPECT_LT(ones, 2700) << m.region << " bit " << bit;
    }
  }
}

class SecAggRefusalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    params_.round = 3;
    params_.vector_length = 4;
    Result<AggregatorSession> c = AggregatorSession::Create(kRun, params_);
    ASSERT_TRUE(c.ok());
    coordinator_.emplace(std::move(c).value());
    for (int i = 0; i < 3; ++i) {
      Result<RegionSession> s =
          RegionSession::Create(kRun, Name(i), 3, SeededRandomBytesForTesting(i + 10));
      ASSERT_TRUE(s.ok());
      regions_.push_back(std::move(s).value());
    }
  }
  SecAggParams params_;
  std::optional<AggregatorSession> coordinator_;
  std::vector<RegionSession> regions_;
};

TEST_F(SecAggRefusalTest, UnsignedOrMisattributedKeysAreRefused) {
  Result<AdvertiseKeys> keys = regions_[0].Advertise(SignAs(Name(0)));
  ASSERT_TRUE(keys.ok());
  AdvertiseKeys forged = *keys;
  forged.signature = "";
  EXPECT_EQ(coordinator_->AddKeys(Name(0), forged, Verify).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(coordinator_->AddKeys(Name(1), *keys, Verify).code(), StatusCode::kPermissionDenied);
  AdvertiseKeys swapped = *keys;
  swapped.mask_public_key[0] ^= 1;  // a key the region never signed
  EXPECT_EQ(coordinator_->AddKeys(Name(0), swapped, Verify).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(coordinator_->AddKeys(Name(0), *keys, Verify).ok());
  EXPECT_EQ(coordinator_->AddKeys(Name(0), *keys, Verify).code(), StatusCode::kInvalidArgument);
}

TEST_F(SecAggRefusalTest, RegionRefusesARosterWithASubstitutedKey) {
  KeyRoster roster;
  roster.params = params_;
  for (int i = 0; i < 3; ++i) {
    Result<AdvertiseKeys> keys = regions_[i].Advertise(SignAs(Name(i)));
    ASSERT_TRUE(keys.ok());
    roster.regions.push_back(*keys);
  }
  roster.regions[2].envelope_public_key[5] ^= 1;  // a coordinator substituting its own key
  Result<std::vector<ShareEnvelope>> out = regions_[0].ShareKeys(roster, Verify);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(out.status().message().find(Name(2)), std::string::npos);
}

TEST_F(SecAggRefusalTest, KeysSignedForAnotherRunAreRefused) {
  // The same region, round and signing identity, in another run: a coordinator replaying what it
  // relayed in run B into run A's round of the same number.
  Result<RegionSession> elsewhere =
      RegionSession::Create("20261130T120000Z-run-b", Name(2), 3, SeededRandomBytesForTesting(77));
  ASSERT_TRUE(elsewhere.ok());
  Result<AdvertiseKeys> replayed = elsewhere->Advertise(SignAs(Name(2)));
  ASSERT_TRUE(replayed.ok());
  // The message signed differs only by the run id, and the signature over it does not verify.
  EXPECT_NE(AdvertisedKeysMessage(kRun, 3, *replayed),
            AdvertisedKeysMessage("20261130T120000Z-run-b", 3, *replayed));
  EXPECT_TRUE(Verify(Name(2), AdvertisedKeysMessage("20261130T120000Z-run-b", 3, *replayed),
                     replayed->signature)
                  .ok());
  // The receiving region refuses a roster carrying them, naming the region.
  KeyRoster roster;
  roster.params = params_;
  for (int i = 0; i < 2; ++i) {
    Result<AdvertiseKeys> keys = regions_[i].Advertise(SignAs(Name(i)));
    ASSERT_TRUE(keys.ok());
    roster.regions.push_back(*keys);
  }
  roster.regions.push_back(*replayed);
  Result<std::vector<ShareEnvelope>> out = regions_[0].ShareKeys(roster, Verify);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(out.status().message().find("the keys of region " + Name(2) +
                                        " are not signed by it for this run and round"),
            std::string::npos)
      << out.status().message();
  // And so does the coordinator's session of this run.
  Status added = coordinator_->AddKeys(Name(2), *replayed, Verify);
  EXPECT_EQ(added.code(), StatusCode::kPermissionDenied) << added.ToString();
  // Keys signed for this run by the same region are accepted.
  Result<AdvertiseKeys> genuine = regions_[2].Advertise(SignAs(Name(2)));
  ASSERT_TRUE(genuine.ok());
  EXPECT_TRUE(coordinator_->AddKeys(Name(2), *genuine, Verify).ok());
}

TEST_F(SecAggRefusalTest, EmptyRunIdIsRefused) {
  EXPECT_EQ(RegionSession::Create("", Name(0), 3, SeededRandomBytesForTesting(1)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(AggregatorSession::Create("", params_).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SecAggRefusalTest, ReplayedRoundAndWrongShapesAreRefused) {
  KeyRoster roster;
  roster.params = params_;
  for (int i = 0; i < 3; ++i) {
    Result<AdvertiseKeys> keys = regions_[i].Advertise(SignAs(Name(i)));
    ASSERT_TRUE(keys.ok());
    ASSERT_TRUE(coordinator_->AddKeys(Name(i), *keys, Verify).ok());
    roster.regions.push_back(*keys);
  }
  KeyRoster old = roster;
  old.params.round = 2;
  EXPECT_FALSE(regions_[1].ShareKeys(old, Verify).ok());  // a replayed round ends that session

  ASSERT_TRUE(coordinator_->CloseKeys().ok());
  Result<std::vector<ShareEnvelope>> shares = regions_[0].ShareKeys(roster, Verify);
  ASSERT_TRUE(shares.ok()) << shares.status().ToString();
  std::vector<ShareEnvelope> missing(shares->begin(), shares->begin() + 1);
  EXPECT_EQ(coordinator_->AddShares(Name(0), missing).code(), StatusCode::kInvalidArgument);
  std::vector<ShareEnvelope> unknown = *shares;
  unknown[0].to = "region-999";
  EXPECT_EQ(coordinator_->AddShares(Name(0), unknown).code(), StatusCode::kInvalidArgument);
  std::vector<ShareEnvelope> truncated = *shares;
  truncated[1].sealed.pop_back();
  EXPECT_EQ(coordinator_->AddShares(Name(0), truncated).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(coordinator_->AddShares(Name(0), *shares).ok());
  Result<std::vector<ShareEnvelope>> s2 = regions_[2].ShareKeys(roster, Verify);
  ASSERT_TRUE(s2.ok());
  ASSERT_TRUE(coordinator_->AddShares(Name(2), *s2).ok());
  // region-001 dropped out above: only two shared, fewer than the 3 survivors required.
  EXPECT_EQ(coordinator_->CloseShares().status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SecAggRefusalTest, WrongLengthInputAndOutOfOrderMessagesAreRefused) {
  KeyRoster roster;
  roster.params = params_;
  for (int i = 0; i < 3; ++i) {
    Result<AdvertiseKeys> keys = regions_[i].Advertise(SignAs(Name(i)));
    ASSERT_TRUE(keys.ok());
    ASSERT_TRUE(coordinator_->AddKeys(Name(i), *keys, Verify).ok());
  }
  MaskedInput early{Name(0), std::vector<uint32_t>(4)};
  EXPECT_EQ(coordinator_->AddMaskedInput(Name(0), early).code(), StatusCode::kFailedPrecondition);
  Result<KeyRoster> closed = coordinator_->CloseKeys();
  ASSERT_TRUE(closed.ok());
  std::map<std::string, std::vector<ShareEnvelope>> forward;
  for (int i = 0; i < 3; ++i) {
    Result<std::vector<ShareEnvelope>> shares = regions_[i].ShareKeys(*closed, Verify);
    ASSERT_TRUE(shares.ok());
    ASSERT_TRUE(coordinator_->AddShares(Name(i), *shares).ok());
  }
  Result<std::map<std::string, std::vector<ShareEnvelope>>> fwd = coordinator_->CloseShares();
  ASSERT_TRUE(fwd.ok());
  // A region refuses an input of the wrong length, and an envelope altered in transit.
  EXPECT_FALSE(regions_[0].MaskInput((*fwd)[Name(0)], std::vector<uint32_t>(5)).ok());
  std::vector<ShareEnvelope> tampered = (*fwd)[Name(1)];
  tampered[0].sealed[40] ^= 1;
  Result<MaskedInput> bad = regions_[1].MaskInput(tampered, std::vector<uint32_t>(4));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  Result<MaskedInput> good = regions_[2].MaskInput((*fwd)[Name(2)], std::vector<uint32_t>(4, 1));
  ASSERT_TRUE(good.ok());
  MaskedInput longer = *good;
  longer.values.push_back(0);
  EXPECT_EQ(coordinator_->AddMaskedInput(Name(2), longer).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(coordinator_->AddMaskedInput(Name(0), *good).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(coordinator_->AddMaskedInput(Name(2), *good).ok());
  EXPECT_EQ(coordinator_->AddMaskedInput(Name(2), *good).code(), StatusCode::kInvalidArgument);
}

TEST_F(SecAggRefusalTest, RegionNeverRevealsBothSharesOfOneNeighbour) {
  Federation f(5, 8);
  f.drops[Name(4)] = DropAt::kBeforeInput;
  // Run by hand up to the unmasking request, then check what one region reveals.
  Result<AggregatorSession> c = AggregatorSession::Create(kRun, f.params);
  ASSERT_TRUE(c.ok());
  std::map<std::string, RegionSession> rs;
  for (int i = 0; i < 5; ++i) {
    Result<RegionSession> s =
        RegionSession::Create(kRun, Name(i), f.params.round, SeededRandomBytesForTesting(50 + i));
    ASSERT_TRUE(s.ok());
    rs.emplace(Name(i), std::move(s).value());
    Result<AdvertiseKeys> k = rs.at(Name(i)).Advertise(SignAs(Name(i)));
    ASSERT_TRUE(k.ok());
    ASSERT_TRUE(c->AddKeys(Name(i), *k, Verify).ok());
  }
  Result<KeyRoster> roster = c->CloseKeys();
  ASSERT_TRUE(roster.ok());
  for (auto& [r, s] : rs) {
    Result<std::vector<ShareEnvelope>> e = s.ShareKeys(*roster, Verify);
    ASSERT_TRUE(e.ok());
    ASSERT_TRUE(c->AddShares(r, *e).ok());
  }
  Result<std::map<std::string, std::vector<ShareEnvelope>>> fwd = c->CloseShares();
  ASSERT_TRUE(fwd.ok());
  for (int i = 0; i < 4; ++i) {
    Result<MaskedInput> m = rs.at(Name(i)).MaskInput((*fwd)[Name(i)], std::vector<uint32_t>(8, 2));
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(c->AddMaskedInput(Name(i), *m).ok());
  }
  Result<UnmaskRequest> request = c->CloseInputs();
  ASSERT_TRUE(request.ok());
  // A survivor list naming a region twice, or leaving out the responder, is refused.
  UnmaskRequest twice = *request;
  twice.survivors.push_back(twice.survivors[0]);
  EXPECT_FALSE(rs.at(Name(0)).Unmask(twice).ok());  // this session is now closed
  Result<UnmaskResponse> response = rs.at(Name(1)).Unmask(*request);
  ASSERT_TRUE(response.ok());
  std::set<std::string> owners;
  for (const RevealedShare& r : response->shares) {
    EXPECT_TRUE(owners.insert(r.owner).second);  // one share per owner
    EXPECT_EQ(r.self_mask, r.owner != Name(4));  // the dropped one: its mask key only
  }
  EXPECT_EQ(owners.size(), 4u);
  // A second request is refused: the session has answered once.
  EXPECT_EQ(rs.at(Name(1)).Unmask(*request).status().code(), StatusCode::kFailedPrecondition);
  // The coordinator refuses a share of the wrong kind.
  UnmaskResponse wrong = *response;
  for (RevealedShare& r : wrong.shares) r.self_mask = !r.self_mask;
  EXPECT_EQ(c->AddUnmask(Name(1), wrong).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(c->AddUnmask(Name(1), *response).ok());
}

}  // namespace
}  // namespace fedseg::privacy::secagg
