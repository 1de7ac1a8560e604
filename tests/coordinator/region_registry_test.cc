#include "coordinator/region_registry.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace fedseg::coordinator {
namespace {

const std::vector<std::string> kRegions = {"eu-north", "eu-south", "eu-west", "us-east",
                                           "us-west"};

// Connects and sets up `names` without a network: fresh session ids, no session object.
void MakeReady(RegionRegistry& reg, const std::vector<std::string>& names) {
  static uint64_t id = 100;
  for (const std::string& n : names) {
    reg.Attach(n, ++id, nullptr);
    reg.Find(n)->set_up = true;
  }
}

TEST(RegionRegistryTest, HelloFromAnAllowedRegionIsAdmitted) {
  RegionRegistry reg(kRegions, 2, 1.0, 7);
  EXPECT_FALSE(reg.CheckHello("eu-west", "eu-west").has_value());
}

TEST(RegionRegistryTest, HelloFromARegionOutsideTheAllowListIsRefused) {
  RegionRegistry reg(kRegions, 2, 1.0, 7);
  const auto refusal = reg.CheckHello("mallory", "mallory");
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->kind, "unknown region");
  EXPECT_EQ(refusal->reason, "unknown region 'mallory' (not in the config)");
}

TEST(RegionRegistryTest, HelloClaimingAnotherIdentityIsRefusedBeforeTheAllowList) {
  RegionRegistry reg(kRegions, 2, 1.0, 7);
  const auto refusal = reg.CheckHello("eu-west", "mallory");
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->kind, "identity mismatch");
  EXPECT_EQ(refusal->reason,
            "region claims identity 'eu-west' but its certificate is for 'mallory'");
}

TEST(RegionRegistryTest, SilentConnectionsPerIdentityAreBounded) {
  RegionRegistry reg(kRegions, 2, 1.0, 7);
  const auto t0 = RegionRegistry::Clock::now();
  for (uint64_t id = 1; id <= RegionRegistry::kMaxSilentConnectionsPerIdentity; ++id) {
    EXPECT_FALSE(reg.AddPending(id, "eu-west", nullptr, t0).has_value());
  }
  // Another identity is not affected.
  EXPECT_FALSE(reg.AddPending(50, "us-east", nullptr, t0).has_value());
  const auto refusal = reg.AddPending(99, "eu-west", nullptr, t0);
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->kind, "too many connections without Hello");
  EXPECT_EQ(refusal->reason, "4 connections of 'eu-west' already wait without a Hello");
  EXPECT_FALSE(reg.IsPending(99));
  EXPECT_EQ(reg.PendingOf("eu-west"), 4u);
  // Once one says Hello (or closes), a new connection is accepted again.
  reg.RemovePending(1);
  EXPECT_FALSE(reg.AddPending(99, "eu-west", nullptr, t0).has_value());
}

TEST(RegionRegistryTest, PendingConnectionsExpireAfterTheHelloTimeout) {
  RegionRegistry reg(kRegions, 2, 1.0, 7);
  const auto t0 = RegionRegistry::Clock::now();
  ASSERT_FALSE(reg.AddPending(1, "eu-west", nullptr, t0).has_value());
  ASSERT_FALSE(reg.AddPending(2, "us-east", nullptr, t0 + std::chrono::seconds(5)).has_value());
  EXPECT_TRUE(reg.TakeExpiredPending(t0 + std::chrono::seconds(10), std::chrono::seconds(10))
                  .empty());
  EXPECT_EQ(reg.TakeExpiredPending(t0 + std::chrono::seconds(11), std::chrono::seconds(10)).size(),
            1u);
  EXPECT_FALSE(reg.IsPending(1));
  EXPECT_TRUE(reg.IsPending(2));
}

TEST(RegionRegistryTest, AttachReplacesAndDetachDisconnectsOnlyTheCurrentSession) {
  RegionRegistry reg(kRegions, 2, 1.0, 7);
  EXPECT_EQ(reg.Attach("eu-west", 1, nullptr), nullptr);
  reg.Find("eu-west")->set_up = true;
  EXPECT_EQ(reg.BySession(1), reg.Find("eu-west"));
  reg.Attach("eu-west", 2, nullptr);  // a reconnect: must be set up again
  EXPECT_FALSE(reg.Find("eu-west")->set_up);
  EXPECT_EQ(reg.BySession(1), nullptr);
  // The replaced session's close changes nothing.
  EXPECT_EQ(reg.Detach(1), nullptr);
  EXPECT_TRUE(reg.Find("eu-west")->connected);
  EXPECT_EQ(reg.ConnectedCount(), 1u);
  RegionState* r = reg.Detach(2);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->name, "eu-west");
  EXPECT_FALSE(r->connected);
  EXPECT_EQ(reg.ConnectedCount(), 0u);
  EXPECT_EQ(reg.BySession(2), nullptr);
}

TEST(RegionRegistryTest, ReadinessNeedsConnectionSetupAndBudget) {
  RegionRegistry reg(kRegions, 2, 1.0, 7);
  reg.Attach("eu-west", 1, nullptr);
  EXPECT_TRUE(reg.ReadyRegions().empty());  // not set up yet
  MakeReady(reg, {"us-east", "us-west"});
  reg.Find("eu-west")->set_up = true;
  reg.Find("us-west")->result.retired = true;
  EXPECT_EQ(reg.ReadyRegions(), (std::vector<std::string>{"eu-west", "us-east"}));
}

TEST(RegionRegistryTest, QuorumCountsReadyRegions) {
  RegionRegistry reg(kRegions, 3, 1.0, 7);
  EXPECT_FALSE(reg.HasQuorum());
  MakeReady(reg, {"eu-west", "us-east"});
  EXPECT_FALSE(reg.HasQuorum());
  MakeReady(reg, {"us-west"});
  EXPECT_TRUE(reg.HasQuorum());
  reg.Detach(reg.Find("us-west")->session_id);
  EXPECT_FALSE(reg.HasQuorum());
  // Retired regions never count again; ActiveCount tells when the quorum is out of reach.
  EXPECT_EQ(reg.ActiveCount(), 5);
  reg.Find("eu-north")->result.retired = true;
  reg.Find("eu-south")->result.retired = true;
  reg.Find("us-west")->result.retired = true;
  EXPECT_EQ(reg.ActiveCount(), 2);
}

TEST(RegionRegistryTest, SelectionIsDeterministicForASeedAndRound) {
  RegionRegistry a(kRegions, 2, 0.5, 42);
  RegionRegistry b(kRegions, 2, 0.5, 42);
  MakeReady(a, kRegions);
  MakeReady(b, kRegions);
  std::set<std::set<std::string>> seen;
  for (uint32_t round = 1; round <= 10; ++round) {
    const std::set<std::string> s = a.SelectForRound(round);
    EXPECT_EQ(s.size(), 3u);  // ceil(0.5 x 5)
    EXPECT_EQ(s, b.SelectForRound(round));
    EXPECT_EQ(s, a.SelectForRound(round));
    seen.insert(s);
  }
  EXPECT_GT(seen.size(), 1u);  // the draw changes with the round
  // The draw of a fixed seed and round is pinned (std::mt19937_64 is fully specified, std::shuffle
  // is libstdc++'s): a resumed run must select the same regions, and a change here changes which
  // regions train in seeded federations.
  EXPECT_EQ(RegionRegistry::Select(kRegions, 0.4, 1, 42, 1),
            (std::set<std::string>{"eu-north", "eu-west"}));
  EXPECT_EQ(RegionRegistry::Select(kRegions, 0.4, 1, 42, 3),
            (std::set<std::string>{"eu-west", "us-west"}));
}

TEST(RegionRegistryTest, SelectionTakesAtLeastTheQuorumAndAtMostTheReady) {
  // fraction 0.1 of 5 is 1, raised to the quorum of 3.
  EXPECT_EQ(RegionRegistry::Select(kRegions, 0.1, 3, 1, 1).size(), 3u);
  // Fewer ready than the quorum: all of them.
  EXPECT_EQ(RegionRegistry::Select({"a", "b"}, 0.1, 3, 1, 1),
            (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(RegionRegistry::Select(kRegions, 1.0, 2, 1, 1),
            std::set<std::string>(kRegions.begin(), kRegions.end()));
  EXPECT_TRUE(RegionRegistry::Select({}, 1.0, 2, 1, 1).empty());
}

}  // namespace
}  // namespace fedseg::coordinator
