#include "client/region_privacy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "client/ledger_command.h"
#include "client/privacy_policy.h"
#include "coordinator/config.h"
#include "privacy/accounting/accountant.h"
#include "privacy/noise/testing/seeded_noise.h"

namespace fedseg::client {
namespace {

namespace fs = std::filesystem;

class RegionPrivacyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(fs::temp_directory_path() / ("fedseg-rp-" + std::to_string(::getpid())));
    fs::create_directories(*dir_);
    ok_ = std::system(
              ("bash " FEDSEG_SOURCE_DIR "/scripts/gen-certs.sh --out " + *dir_ + " eu >/dev/null")
                  .c_str()) == 0;
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  RegionConfig Config(const std::string& ledger, double budget) {
    RegionConfig c;
    c.region = "eu";
    c.tls = {*dir_ + "/ca.crt", *dir_ + "/eu.crt", *dir_ + "/eu.key"};
    c.train_data = "unused.csv";
    c.epsilon_budget = budget;
    c.delta = 1e-5;
    c.ledger = *dir_ + "/" + ledger;
    c.mode = budget > 0 ? "dp" : "none";
    c.insecure_seeded_noise = true;
    // Training-only budgets, as these tests compute them; the reserve has its own tests.
    c.evaluations_reserved = 0;
    return c;
  }
  // RegionPrivacy::Create with the seeded noise the test build supplies; in mode dp the ledger is
  // created first (`ledger init`, with the config's budget) unless it exists or `init` is false.
  static Result<std::unique_ptr<RegionPrivacy>> Create(const RegionConfig& c, size_t n,
                                                       const std::string& run, bool init = true) {
    if (init && c.dp_mode() && !fs::exists(c.ledger)) {
      Result<LedgerInitReport> r = InitRegionLedger(c);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
    return RegionPrivacy::Create(
        c, n, run, [](uint64_t seed) { return privacy::MakeInsecureSeededNoiseForTesting(seed); });
  }
  static protocol::TrainingPlan Plan(double sigma, int rounds) {
    protocol::TrainingPlan p;
    p.dp = true;
    p.batch_size = 50;
    p.local_epochs = 1;
    p.dp_noise_multiplier = sigma;
    p.total_rounds = rounds;
    return p;
  }
  static std::string* dir_;
  static bool ok_;
};
std::string* RegionPrivacyTest::dir_ = nullptr;
bool RegionPrivacyTest::ok_ = false;

TEST_F(RegionPrivacyTest, TheRoundThatWouldOverspendIsDeclinedAndNothingIsTrainedAfter) {
  ASSERT_TRUE(ok_);
  // n = 1000, batch 50: q = 0.05, 20 steps per round at sigma 1.0; PLD, the default accountant.
  const double per_round2 = *privacy::ComputePldEpsilon(0.05, 1.0, 40, 1e-5);
  const double per_round3 = *privacy::ComputePldEpsilon(0.05, 1.0, 60, 1e-5);
  const double budget = 0.5 * (per_round2 + per_round3);  // affords exactly two rounds
  auto p = Create(Config("overspend.jsonl", budget), 1000, "run-1");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE((*p)->SetPlan(Plan(1.0, 10)).ok());
  for (uint32_t round = 1; round <= 2; ++round) {
    auto plan = (*p)->PlanRound(round);
    ASSERT_TRUE(plan.ok());
    EXPECT_FALSE(plan->decline) << plan->reason;
    EXPECT_EQ(plan->dp.steps, 20);
    EXPECT_DOUBLE_EQ(plan->dp.sampling_rate, 0.05);
    ASSERT_TRUE((*p)->Record(*plan, std::string(64, 'a')).ok());
  }
  EXPECT_NEAR((*p)->epsilon_spent(), per_round2, 1e-6 * per_round2);
  auto third = (*p)->PlanRound(3);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->decline);
  EXPECT_NE(third->reason.find("over the budget"), std::string::npos) << third->reason;
  // Once declined, never again (even for a round that would be cheaper).
  auto fourth = (*p)->PlanRound(4);
  ASSERT_TRUE(fourth.ok());
  EXPECT_TRUE(fourth->decline);
  // The ledger holds exactly the two rounds; a restarted region sees the spend and still declines.
  p->reset();  // the ledger admits one writer at a time
  auto again = Create(Config("overspend.jsonl", budget), 1000, "run-1");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NEAR((*again)->epsilon_spent(), per_round2, 1e-6 * per_round2);
  ASSERT_TRUE((*again)->SetPlan(Plan(1.0, 10)).ok());
  EXPECT_TRUE((*again)->PlanRound(3)->decline);
}

// A model with signal and labelled test rows for the evaluation releases.
struct EvalFixture {
  ml::Mlp model = *ml::Mlp::Create({2, {}, 2});
  data::EncodedData test;
  EvalFixture() {
    Eigen::VectorXf p = Eigen::VectorXf::Zero(model.spec().num_params());
    p(0) = 1;
    p(3) = 1;
    EXPECT_TRUE(model.SetParams(p).ok());
    test.x.resize(2, 300);
    for (int i = 0; i < 300; ++i) {
      test.x(0, i) = static_cast<float>(i % 2);
      test.x(1, i) = static_cast<float>(1 - i % 2);
      test.y.push_back(i % 2 == 0 ? 1 : 0);
    }
  }
};

// A coordinator that floods a region with evaluate-only requests (crafted weights or not) spends
// the region's budget on noisy evaluations and is then declined: never a release over budget.
TEST_F(RegionPrivacyTest, EvaluateOnlyRequestsAreChargedUntilTheBudgetThenDeclined) {
  ASSERT_TRUE(ok_);
  RegionConfig c = Config("eval-flood.jsonl", 2.0);
  c.evaluation_noise_multiplier = 6;
  auto p = Create(c, 1000, "run-e1");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EvalFixture f;
  // How many evaluations (3 Gaussian mechanisms at sigma 6 each) fit in epsilon 2 at delta 1e-5,
  // by the accountant directly.
  int expected = 0;
  for (int k = 1; k < 100; ++k) {
    privacy::Accountant a;
    ASSERT_TRUE(a.AddGaussian(6.0, 3 * k).ok());
    if (a.GetEpsilon(privacy::AccountantKind::kPld, 1e-5)->epsilon > 2.0) break;
    expected = k;
  }
  ASSERT_GE(expected, 1);
  int released = 0;
  bool declined = false;
  for (uint32_t round = 1; round <= 20; ++round) {
    auto ev = (*p)->ReleaseEvaluation(f.model, f.test, round);
    ASSERT_TRUE(ev.ok()) << ev.status().ToString();
    if (ev->decline) {
      declined = true;
      EXPECT_NE(ev->reason.find("privacy budget: this evaluation would bring epsilon to"),
                std::string::npos)
          << ev->reason;
      EXPECT_EQ(ev->summary.count(), 0u);
    } else {
      EXPECT_FALSE(declined) << "a release after a decline, round " << round;
      ++released;
      EXPECT_TRUE(ev->summary.Validate().ok());
      EXPECT_NEAR(static_cast<double>(ev->summary.count()), 300.0, 4 * 6 * 2);
    }
    EXPECT_LE((*p)->epsilon_spent(), 2.0 * (1 + 1e-9));
  }
  EXPECT_EQ(released, expected);
  EXPECT_TRUE(declined);
}

// The DP-SGD calibration leaves the budget of the reserved (final) evaluation: after the planned
// rounds it can still be released, and the total stays within the budget.
TEST_F(RegionPrivacyTest, CalibrationKeepsTheBudgetOfTheReservedEvaluation) {
  ASSERT_TRUE(ok_);
  for (int reserved : {0, 1}) {
    RegionConfig c = Config("reserve-" + std::to_string(reserved) + ".jsonl", 3.0);
    c.evaluations_reserved = reserved;
    auto p = Create(c, 1000, "run-r" + std::to_string(reserved));
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE((*p)->SetPlan(Plan(/*sigma=*/0, /*rounds=*/5)).ok());
    for (uint32_t round = 1; round <= 5; ++round) {
      auto plan = (*p)->PlanRound(round);
      ASSERT_TRUE(plan.ok());
      ASSERT_FALSE(plan->decline) << "round " << round << ": " << plan->reason;
      ASSERT_TRUE((*p)->Record(*plan, std::string(64, 'c')).ok());
    }
    EvalFixture f;
    auto ev = (*p)->ReleaseEvaluation(f.model, f.test, 6);
    ASSERT_TRUE(ev.ok());
    // Without a reserve the rounds spend everything and the final evaluation is declined.
    EXPECT_EQ(ev->decline, reserved == 0) << ev->reason;
    EXPECT_LE((*p)->epsilon_spent(), 3.0 * (1 + 1e-9));
    EXPECT_GT((*p)->epsilon_spent(), 2.9);
  }
}

// Mode dp: the row count is declared rounded up to the bucket; q and the DP-SGD divisor use it.
TEST_F(RegionPrivacyTest, TheRowCountIsDeclaredRoundedAndQUsesIt) {
  ASSERT_TRUE(ok_);
  RegionConfig c = Config("public-n.jsonl", 3.0);
  c.row_count_bucket = 100;
  auto p = Create(c, 1234, "run-n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->public_rows(), 1300u);
  ASSERT_TRUE((*p)->SetPlan(Plan(1.0, 5)).ok());
  auto plan = (*p)->PlanRound(1);
  ASSERT_TRUE(plan.ok() && !plan->decline);
  EXPECT_DOUBLE_EQ(plan->dp.sampling_rate, 50.0 / 1300.0);
  EXPECT_DOUBLE_EQ(plan->dp.expected_batch, 50.0);  // q * public rows, not q * 1234
  EXPECT_EQ(PublicRowCount(1300, 100), 1300u);
  EXPECT_EQ(PublicRowCount(1, 100), 100u);
  EXPECT_EQ(PublicRowCount(0, 100), 0u);
  EXPECT_EQ(PublicRowCount(1234, 1), 1234u);
}

TEST_F(RegionPrivacyTest, CalibratedNoiseSpendsTheBudgetOverThePlannedRounds) {
  ASSERT_TRUE(ok_);
  auto p = Create(Config("calibrated.jsonl", 3.0), 1000, "run-2");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->SetPlan(Plan(/*sigma=*/0, /*rounds=*/5)).ok());  // 0: calibrate
  double sigma = 0;
  for (uint32_t round = 1; round <= 5; ++round) {
    auto plan = (*p)->PlanRound(round);
    ASSERT_TRUE(plan.ok());
    ASSERT_FALSE(plan->decline) << "round " << round << ": " << plan->reason;
    sigma = plan->dp.noise_multiplier;
    ASSERT_TRUE((*p)->Record(*plan, std::string(64, 'b')).ok());
  }
  // Five rounds of 20 steps land at (not over) the budget; a sixth would overspend.
  EXPECT_LE((*p)->epsilon_spent(), 3.0 * (1 + 1e-9));
  EXPECT_GT((*p)->epsilon_spent(), 2.99);
  EXPECT_NEAR(*privacy::ComputePldEpsilon(0.05, sigma, 100, 1e-5), (*p)->epsilon_spent(), 1e-6);
  EXPECT_TRUE((*p)->PlanRound(6)->decline);
  // PLD needs less noise than RDP for the same budget.
  EXPECT_LT(sigma, *privacy::CalibrateNoiseMultiplier(3.0, 0.05, 100, 1e-5));
}

TEST_F(RegionPrivacyTest, TheRdpAccountantCanBeChosen) {
  ASSERT_TRUE(ok_);
  RegionConfig c = Config("rdp.jsonl", 10.0);
  c.accountant = "rdp";
  auto p = Create(c, 1000, "run-4");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE((*p)->SetPlan(Plan(1.0, 10)).ok());
  auto plan = (*p)->PlanRound(1);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE((*p)->Record(*plan, std::string(64, 'c')).ok());
  EXPECT_EQ((*p)->epsilon_spent(), privacy::ComputeEpsilon(0.05, 1.0, 20, 1e-5)->epsilon);
  c.accountant = "moments";
  c.coordinator_host = "127.0.0.1";
  EXPECT_EQ(c.Validate().message(),
            "privacy.accountant must be \"pld\" or \"rdp\", got \"moments\"");
}

// A budget all but spent calibrates to a huge sigma: past the ceiling the region declines with a
// generic reason (sigma depends on n through q, so it stays in the local detail) and never trains.
TEST_F(RegionPrivacyTest, NoiseAboveTheCeilingIsDeclinedWithAGenericReason) {
  ASSERT_TRUE(ok_);
  const double tiny = 0.02;  // over 5 rounds of 20 steps at q 0.05: sigma far above 10
  auto p = Create(Config("ceiling.jsonl", tiny), 1000, "run-5");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->SetPlan(Plan(0, 5)).ok());
  auto plan = (*p)->PlanRound(1);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->decline);
  EXPECT_EQ(plan->reason,
            "noise ceiling: the noise this region would need is above its "
            "privacy.max_noise_multiplier, so its updates would be mostly noise");
  EXPECT_NE(plan->detail.find("ceiling 10 "), std::string::npos) << plan->detail;
  EXPECT_TRUE((*p)->PlanRound(2)->decline);  // never trains again in this run
  EXPECT_EQ((*p)->epsilon_spent(), 0.0);     // nothing was released

  // The same budget with a higher ceiling trains: the ceiling, not the budget, declined.
  RegionConfig lax = Config("ceiling-lax.jsonl", tiny);
  lax.max_noise_multiplier = 1000;
  auto q = Create(lax, 1000, "run-6");
  ASSERT_TRUE(q.ok());
  ASSERT_TRUE((*q)->SetPlan(Plan(0, 5)).ok());
  auto trains = (*q)->PlanRound(1);
  ASSERT_TRUE(trains.ok());
  EXPECT_FALSE(trains->decline) << trains->reason;
  EXPECT_GT(trains->dp.noise_multiplier, 10.0);

  // A noise multiplier fixed by the coordinator above the ceiling is declined the same way.
  auto fixed = Create(Config("ceiling-fixed.jsonl", 0.0), 1000, "run-7");
  ASSERT_TRUE(fixed.ok());
  ASSERT_TRUE((*fixed)->SetPlan(Plan(12.0, 5)).ok());
  EXPECT_TRUE((*fixed)->PlanRound(1)->decline);
}

// A region in mode dp never starts from a fresh budget: without its ledger it stops, naming
// `ledger init`; a config whose budget differs from the one the ledger recorded is refused.
TEST_F(RegionPrivacyTest, AMissingLedgerIsAnErrorNeverAFreshBudget) {
  ASSERT_TRUE(ok_);
  RegionConfig c = Config("missing.jsonl", 3.0);
  auto p = Create(c, 1000, "run-m", /*init=*/false);
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.status().IsNotFound()) << p.status().ToString();
  EXPECT_NE(p.status().message().find("ledger " + c.ledger + " does not exist"), std::string::npos)
      << p.status().ToString();
  EXPECT_NE(p.status().message().find("fedseg-client ledger init --config"), std::string::npos);
  EXPECT_FALSE(fs::exists(c.ledger));

  ASSERT_TRUE(InitRegionLedger(c).ok());
  EXPECT_TRUE(fs::exists(c.LedgerKeyPath()));
  EXPECT_EQ(c.LedgerKeyPath(), c.ledger + ".key");
  EXPECT_TRUE(Create(c, 1000, "run-m").ok());
  Result<LedgerInitReport> again = InitRegionLedger(c);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already exists"), std::string::npos);

  c.epsilon_budget = 30.0;  // raised in the config after `ledger init`
  p = Create(c, 1000, "run-m");
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.status().IsFailedPrecondition()) << p.status().ToString();
  EXPECT_NE(p.status().message().find("privacy.epsilon_budget 30.0 and privacy.delta 1e-05 differ "
                                      "from the budget 3.0 at delta 1e-05 recorded in ledger"),
            std::string::npos)
      << p.status().ToString();
}

TEST_F(RegionPrivacyTest, DpWithoutBudgetOrNoiseIsRefused) {
  ASSERT_TRUE(ok_);
  auto p = Create(Config("none.jsonl", 0.0), 1000, "run-3");
  ASSERT_TRUE(p.ok());
  Status st = (*p)->SetPlan(Plan(0, 5));
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("epsilon_budget"), std::string::npos);
}

// A plan from the coordinator is checked with privacy::DpSgdParams when it arrives; an invalid one
// fixes nothing, so a valid plan sent afterwards is still taken, and its clip norm is what every
// round uses.
TEST_F(RegionPrivacyTest, AnInvalidPlanIsRefusedWithTheDpSgdParamsMessage) {
  ASSERT_TRUE(ok_);
  auto p = Create(Config("bad-plan.jsonl", 0.0), 1000, "run-4");
  ASSERT_TRUE(p.ok());
  protocol::TrainingPlan bad = Plan(1.0, 5);
  bad.dp_clip_norm = -1;
  Status st = (*p)->SetPlan(bad);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(),
            "the training plan's DP-SGD parameters: clip_norm must be finite and positive, got "
            "-1.000000");
  bad = Plan(std::nan(""), 5);
  EXPECT_EQ((*p)->SetPlan(bad).message(),
            "the training plan's DP-SGD parameters: noise_multiplier must be finite and >= 0, got "
            "nan");
  EXPECT_FALSE((*p)->PlanRound(1).ok());  // still no plan
  protocol::TrainingPlan good = Plan(1.3, 5);
  good.dp_clip_norm = 0.5;
  ASSERT_TRUE((*p)->SetPlan(good).ok());
  auto round = (*p)->PlanRound(1);
  ASSERT_TRUE(round.ok()) << round.status().ToString();
  EXPECT_FALSE(round->decline);
  EXPECT_EQ(round->dp.clip_norm, 0.5);
  EXPECT_EQ(round->dp.noise_multiplier, 1.3);
  EXPECT_DOUBLE_EQ(round->dp.sampling_rate, 0.05);  // batch 50 of 1000 rows
  EXPECT_EQ(round->dp.steps, 20);                   // one epoch = 1/q steps
  EXPECT_EQ(round->release.params["clip_norm"], 0.5);
  EXPECT_TRUE(round->dp.Validate().ok());
}

// delta is the operator's (privacy.delta, default 1e-6), whatever the row count: a delta derived
// from n would publish n in every epsilon the region reports.
TEST_F(RegionPrivacyTest, DeltaIsTheConfiguredOneNeverDerivedFromTheRowCount) {
  ASSERT_TRUE(ok_);
  RegionConfig c = Config("delta.jsonl", 3.0);
  c.delta = RegionConfig{}.delta;
  EXPECT_EQ(c.delta, 1e-6);
  for (size_t n : {100u, 1000u}) {
    auto p = Create(c, n, "run-d" + std::to_string(n));
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ((*p)->delta(), 1e-6) << n;
  }
  c.delta = 0;  // formerly "derive 1/(10 n)": now refused
  EXPECT_EQ(Create(c, 1000, "run-d0").status().message(), "privacy.delta must be in (0, 1)");
}

// In mode dp a calibrated sigma is never below privacy.min_noise_multiplier: a large budget then
// spends less than it could, never more noise-free training.
TEST_F(RegionPrivacyTest, ACalibratedSigmaIsRaisedToTheRegionsFloor) {
  ASSERT_TRUE(ok_);
  RegionConfig c = Config("floor.jsonl", 1000.0);  // calibrates to the search's 0.3 lower end
  c.min_noise_multiplier = 0.8;
  c.accountant = "rdp";  // the quick calibration
  auto p = Create(c, 1000, "run-f");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE((*p)->SetPlan(Plan(0, 5)).ok());
  auto plan = (*p)->PlanRound(1);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_FALSE(plan->decline) << plan->reason;
  EXPECT_EQ(plan->dp.noise_multiplier, 0.8);
  EXPECT_EQ(plan->release.params["noise_multiplier"], 0.8);
}

// A release build has no seeded noise: a config asking for it is refused, not silently secure.
TEST_F(RegionPrivacyTest, SeededNoiseIsRefusedWithoutTheTestBuildsFactory) {
  ASSERT_TRUE(ok_);
  RegionConfig c = Config("seeded.jsonl", 3.0);
  const std::string expected =
      "privacy.insecure_seeded_noise is set, but this is a release build of fedseg-client: seeded "
      "(predictable) DP noise gives no privacy and exists only in the test build "
      "fedseg-client-seeded-noise (compiled with FEDSEG_INSECURE_TEST_NOISE); remove the key";
  EXPECT_EQ(CheckSeededNoiseAvailable(c, {}).message(), expected);
  auto p = RegionPrivacy::Create(c, 1000, "run-s");
  EXPECT_TRUE(p.status().IsFailedPrecondition());
  EXPECT_EQ(p.status().message(), expected);
  c.insecure_seeded_noise = false;  // the secure source needs no factory
  EXPECT_TRUE(CheckSeededNoiseAvailable(c, {}).ok());
  ASSERT_TRUE(InitRegionLedger(c).ok());
  auto secure = RegionPrivacy::Create(c, 1000, "run-s");
  EXPECT_TRUE(secure.ok()) << secure.status().ToString();
}

// The defaults fit a budget of 1 on the smallest region of the bundled 9-region split (255
// training rows, declared 300): the coordinator's data summary under DP (39 Gaussian mechanisms,
// 10 numeric and 7 categorical columns, at kDpStatsNoiseMultiplier), DP-SGD at the default plan
// (batch 32, 30 rounds) and the reserved final evaluation at the default evaluation noise. With
// the evaluation at sigma 10 (the former default) the calibrated sigma was 12.5, above the noise
// ceiling of 10, and the region declined every round (docs/quality.md).
TEST_F(RegionPrivacyTest, TheDefaultsLetTheSmallestBundledRegionTrainAtEpsilonOne) {
  ASSERT_TRUE(ok_);
  constexpr int kRows = 255;
  data::RawDataset d;
  d.source = "mem";
  std::map<std::string, std::vector<double>> bounds;
  for (int col = 0; col < 10; ++col) {
    data::RawColumn x{"x" + std::to_string(col), data::ColumnType::kNumeric, {}, {}, 0};
    for (int i = 0; i < kRows; ++i) x.numeric.push_back((i * (col + 1)) % 10);
    bounds[x.name] = {0.0, 10.0};
    d.features.push_back(std::move(x));
  }
  for (int col = 0; col < 7; ++col) {
    data::RawColumn t{"c" + std::to_string(col), data::ColumnType::kCategorical, {}, {}, 0};
    for (int i = 0; i < kRows; ++i) t.text.push_back(i % 3 ? "a" : "b");
    d.features.push_back(std::move(t));
  }
  for (int i = 0; i < kRows; ++i) d.labels.push_back(i % 6 ? "FALSE" : "TRUE");
  d.line_numbers.assign(kRows, 1);
  protocol::TrainingPlan plan = coordinator::CoordinatorConfig{}.plan;  // the default plan
  plan.dp = true;
  ASSERT_EQ(plan.total_rounds, 30);
  // Round 1 of a region with the default policy but `evaluation_noise_multiplier`.
  auto first_round = [&](const std::string& ledger, double evaluation_noise) {
    RegionConfig c = Config(ledger, 1.0);
    const RegionConfig defaults;
    c.delta = defaults.delta;
    c.evaluations_reserved = defaults.evaluations_reserved;
    EXPECT_EQ(c.max_noise_multiplier, defaults.max_noise_multiplier);
    c.evaluation_noise_multiplier = evaluation_noise;
    auto p = Create(c, kRows, "run-" + ledger);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    if (!p.ok()) return Result<RegionPrivacy::RoundPlan>(p.status());
    EXPECT_EQ((*p)->public_rows(), 300u);
    auto s = (*p)->ReleaseSummary(d, coordinator::kDpStatsNoiseMultiplier, bounds, 0);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE((*p)->SetPlan(plan).ok());
    return (*p)->PlanRound(1);
  };
  auto round1 = first_round("defaults-eps1.jsonl", RegionConfig{}.evaluation_noise_multiplier);
  ASSERT_TRUE(round1.ok()) << round1.status().ToString();
  EXPECT_FALSE(round1->decline) << round1->reason;
  EXPECT_LE(round1->dp.noise_multiplier, RegionConfig{}.max_noise_multiplier);
  // The former evaluation noise leaves too little: the region would decline every round.
  auto before = first_round("sigma-e-10-eps1.jsonl", 10.0);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_TRUE(before->decline);
  EXPECT_NE(before->reason.find("noise ceiling"), std::string::npos) << before->reason;
}

// Noisy statistics are recorded in the ledger as a "gaussian" entry the ledger accepts (before,
// its params were refused: "params.clip_norm is missing") and charged to the budget.
TEST_F(RegionPrivacyTest, ANoisyDataSummaryIsChargedToTheLedger) {
  ASSERT_TRUE(ok_);
  data::RawDataset d;
  d.source = "mem";
  data::RawColumn amount{"amount", data::ColumnType::kNumeric, {}, {}, 0};
  data::RawColumn city{"city", data::ColumnType::kCategorical, {}, {}, 0};
  data::RawColumn device{"device", data::ColumnType::kCategorical, {}, {}, 0};
  for (int i = 0; i < 200; ++i) {
    amount.numeric.push_back(i % 7);
    city.text.push_back(i % 2 ? "Lyon" : "Paris");
    device.text.push_back("phone");
    d.labels.push_back(i % 4 ? "no" : "yes");
  }
  d.features = {amount, city, device};
  d.line_numbers.assign(200, 1);
  const RegionConfig c = Config("summary.jsonl", 3.0);
  auto p = Create(c, 200, "run-sum");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto s = (*p)->ReleaseSummary(d, 20.0, {{"amount", {0.0, 10.0}}}, 0);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_GT((*p)->epsilon_spent(), 0.0);
  EXPECT_LT((*p)->epsilon_spent(), 3.0);
  // The entry: 2 + 3 (amount) + 2 (categorical) Gaussian mechanisms at sigma 20, and the delta of
  // the two columns' partition selection, 1% of the region's delta; the epsilon after it is
  // stated at the other 99%.
  std::ifstream in(c.ledger);
  std::string line, last;
  while (std::getline(in, line)) last = line;
  const nlohmann::json e = nlohmann::json::parse(last);
  EXPECT_EQ(e["params"]["count"], 7) << e.dump();
  EXPECT_DOUBLE_EQ(e["params"]["selection_delta"].get<double>(), c.delta * kSelectionShareOfDelta);
  privacy::Accountant gaussians;
  ASSERT_TRUE(gaussians.AddGaussian(20.0, 7).ok());
  const privacy::AccountantKind kind =
      *privacy::ParseAccountantKind(e["accountant"].get<std::string>());
  const double expected = gaussians.GetEpsilon(kind, c.delta * 0.99)->epsilon;
  EXPECT_NEAR(e["epsilon_after"].get<double>(), expected, expected * 1e-6);
  EXPECT_GT(expected, gaussians.GetEpsilon(kind, c.delta)->epsilon);
  // Too little noise for the budget: refused before anything is released.
  auto over = (*p)->ReleaseSummary(d, 0.5, {{"amount", {0.0, 10.0}}}, 0);
  EXPECT_TRUE(over.status().IsResourceExhausted()) << over.status().ToString();
}

}  // namespace
}  // namespace fedseg::client
