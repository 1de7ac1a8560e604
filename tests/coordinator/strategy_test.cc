#include "coordinator/strategy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>

namespace fedseg::coordinator {
namespace {

ClientUpdate U(std::string region, uint64_t n, std::vector<float> d) {
  return {std::move(region), n,
          Eigen::Map<Eigen::VectorXf>(d.data(), static_cast<Eigen::Index>(d.size()))};
}

TEST(StrategyTest, FedAvgIsTheExampleWeightedMean) {
  auto s = *MakeStrategy({});
  Eigen::VectorXf global(2);
  global << 1.0f, 1.0f;
  // Regions with 100 and 300 examples: mean delta = 0.25 * d1 + 0.75 * d2.
  std::vector<ClientUpdate> ups = {U("a", 100, {4.0f, 0.0f}), U("b", 300, {0.0f, -4.0f})};
  ASSERT_TRUE(s->Aggregate(ups, &global).ok());
  EXPECT_FLOAT_EQ(global[0], 2.0f);
  EXPECT_FLOAT_EQ(global[1], -2.0f);
}

TEST(StrategyTest, FedAvgEqualsAveragingLocalModels) {
  std::mt19937 rng(3);
  std::normal_distribution<float> n;
  const int p = 10000;  // spans several blocks
  Eigen::VectorXf global(p);
  for (int i = 0; i < p; ++i) global[i] = n(rng);
  std::vector<Eigen::VectorXf> locals;
  std::vector<ClientUpdate> ups;
  std::vector<uint64_t> sizes = {318, 4780, 434};
  for (uint64_t sz : sizes) {
    Eigen::VectorXf local(p);
    for (int i = 0; i < p; ++i) local[i] = n(rng);
    ups.push_back({"r", sz, local - global});
    locals.push_back(local);
  }
  Eigen::VectorXf want = Eigen::VectorXf::Zero(p);
  double total = 318 + 4780 + 434;
  for (size_t k = 0; k < 3; ++k) want += static_cast<float>(sizes[k] / total) * locals[k];
  auto s = *MakeStrategy({});
  ASSERT_TRUE(s->Aggregate(ups, &global).ok());
  EXPECT_LT((global - want).cwiseAbs().maxCoeff(), 1e-5f);
}

TEST(StrategyTest, FedAvgMAccumulatesMomentum) {
  StrategyConfig c;
  c.kind = StrategyKind::kFedAvgM;
  c.server_momentum = 0.5;
  auto s = *MakeStrategy(c);
  Eigen::VectorXf g = Eigen::VectorXf::Zero(1);
  std::vector<ClientUpdate> ups = {U("a", 1, {1.0f})};
  ASSERT_TRUE(s->Aggregate(ups, &g).ok());
  EXPECT_FLOAT_EQ(g[0], 1.0f);  // v = 1
  ASSERT_TRUE(s->Aggregate(ups, &g).ok());
  EXPECT_FLOAT_EQ(g[0], 2.5f);  // v = 0.5 + 1
  // The state survives a checkpoint: a restored strategy continues identically.
  auto restored = *MakeStrategy(c);
  ASSERT_TRUE(restored->LoadState(s->SaveState(), 1).ok());
  Eigen::VectorXf g2 = g;
  ASSERT_TRUE(s->Aggregate(ups, &g).ok());
  ASSERT_TRUE(restored->Aggregate(ups, &g2).ok());
  EXPECT_EQ(g[0], g2[0]);
}

TEST(StrategyTest, FedAdamFollowsReddiEtAl) {
  StrategyConfig c;
  c.kind = StrategyKind::kFedAdam;
  c.server_learning_rate = 0.1;
  c.beta1 = 0.9;
  c.beta2 = 0.99;
  c.tau = 1e-3;
  auto s = *MakeStrategy(c);
  Eigen::VectorXf g = Eigen::VectorXf::Zero(1);
  ASSERT_TRUE(s->Aggregate({U("a", 1, {2.0f})}, &g).ok());
  const double m = 0.1 * 2.0;
  const double v = 0.99 * 1e-6 + 0.01 * 4.0;
  EXPECT_NEAR(g[0], 0.1 * m / (std::sqrt(v) + 1e-3), 1e-6);
}

TEST(StrategyTest, RefusesBadInput) {
  auto s = *MakeStrategy({});
  Eigen::VectorXf g = Eigen::VectorXf::Zero(2);
  EXPECT_FALSE(s->Aggregate({}, &g).ok());
  Status st = s->Aggregate({U("eu-west", 5, {1.0f})}, &g);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("eu-west"), std::string::npos);
  EXPECT_FALSE(s->Aggregate({U("a", 0, {1.0f, 1.0f})}, &g).ok());
  StrategyConfig bad;
  bad.kind = static_cast<StrategyKind>(7);
  EXPECT_FALSE(MakeStrategy(bad).ok());
}

// One name table serves the config reader, the report and MakeStrategy: every kind round-trips
// through its name, and the strategy built for it reports that name.
TEST(StrategyKindTest, NamesRoundTripAndUnknownNamesAreListed) {
  const std::pair<StrategyKind, const char*> kinds[] = {{StrategyKind::kFedAvg, "fedavg"},
                                                        {StrategyKind::kFedAvgM, "fedavgm"},
                                                        {StrategyKind::kFedAdam, "fedadam"},
                                                        {StrategyKind::kMedian, "median"},
                                                        {StrategyKind::kTrimmedMean, "trimmed-mean"},
                                                        {StrategyKind::kKrum, "krum"}};
  for (const auto& [kind, name] : kinds) {
    EXPECT_EQ(StrategyKindName(kind), name);
    auto parsed = ParseStrategyKind(name);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(*parsed, kind);
    StrategyConfig c;
    c.kind = kind;
    auto s = MakeStrategy(c);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->name(), name);
  }
  auto bad = ParseStrategyKind("fedprox");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_EQ(bad.status().message(),
            "strategy must be 'fedavg', 'fedavgm', 'fedadam', 'median', 'trimmed-mean' or 'krum', "
            "got 'fedprox'");
  EXPECT_FALSE(ParseStrategyKind("FedAvg").ok());  // names are case-sensitive, as before
  EXPECT_FALSE(ParseStrategyKind("").ok());
}

}  // namespace
}  // namespace fedseg::coordinator
