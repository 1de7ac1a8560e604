#include "coordinator/record/run_status.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace fedseg::coordinator {
namespace {

TEST(RunStatusTest, EveryWordParsesBackAndHasItsExitCode) {
  for (RunStatus s : {RunStatus::kRunning, RunStatus::kCompleted, RunStatus::kDegraded,
                      RunStatus::kStopped, RunStatus::kFailed}) {
    EXPECT_EQ(ParseRunStatus(RunStatusName(s)), s) << RunStatusName(s);
  }
  EXPECT_EQ(RunStatusName(RunStatus::kCompleted), "completed");
  EXPECT_EQ(RunStatusName(RunStatus::kDegraded), "degraded");
  EXPECT_EQ(RunStatusName(RunStatus::kStopped), "stopped");
  EXPECT_EQ(RunStatusName(RunStatus::kFailed), "failed");
  EXPECT_EQ(RunStatusExitCode(RunStatus::kCompleted), 0);
  EXPECT_EQ(RunStatusExitCode(RunStatus::kStopped), 0);
  EXPECT_EQ(RunStatusExitCode(RunStatus::kFailed), 1);
  EXPECT_EQ(RunStatusExitCode(RunStatus::kDegraded), 3);
  // The words of before: "finished" meant completed or stopped; "interrupted by signal 15" was
  // --json's. Neither is a status.
  EXPECT_FALSE(ParseRunStatus("finished"));
  EXPECT_FALSE(ParseRunStatus("interrupted by signal 15"));
  EXPECT_FALSE(ParseRunStatus(""));
}

MetricsBrief Brief(double loss, double auc, double accuracy) {
  MetricsBrief m;
  m.rows = 100;
  m.loss = loss;
  m.roc_auc = auc;
  m.accuracy = accuracy;
  return m;
}

TEST(RunStatusTest, AFinalModelWithAHigherLossThanTheInitialIsWorse) {
  auto worse = WorseThanInitial(Brief(0.6931, 0.51, 0.845), Brief(2.5, 0.475, 0.157));
  ASSERT_TRUE(worse.has_value());
  EXPECT_EQ(*worse,
            "the final model is worse than the initial model: log loss 2.5 (ROC AUC 0.475, "
            "accuracy 0.157) against log loss 0.6931 (ROC AUC 0.51, accuracy 0.845) for the "
            "initial model (round 0)");
  // A loss that is not finite while the initial one was: worse.
  EXPECT_TRUE(WorseThanInitial(Brief(0.69, 0.5, 0.8), Brief(NAN, 0.5, 0.8)).has_value());
  EXPECT_TRUE(WorseThanInitial(Brief(0.69, 0.5, 0.8), Brief(INFINITY, 0.5, 0.8)).has_value());
}

TEST(RunStatusTest, AModelThatRanksNoBetterThanChanceIsWorseEvenWithALowerLoss) {
  // The huge-n attack without defences: every update zeroed, loss ln 2 below the start's 0.73.
  auto worse = WorseThanInitial(Brief(0.73, 0.624, 0.5), Brief(0.6931, 0.5, 0.845));
  ASSERT_TRUE(worse.has_value());
  EXPECT_EQ(*worse,
            "the final model ranks no better than chance, below the initial model: log loss "
            "0.6931 (ROC AUC 0.5, accuracy 0.845) against log loss 0.73 (ROC AUC 0.624, accuracy "
            "0.5) for the initial model (round 0)");
  EXPECT_TRUE(WorseThanInitial(Brief(0.73, 0.6, 0.5), Brief(0.6, 0.3, 0.5)).has_value());
  // Chance level, but no worse than the start, or better than chance: not flagged on the AUC.
  EXPECT_FALSE(WorseThanInitial(Brief(0.73, 0.5, 0.5), Brief(0.69, 0.5, 0.8)));
  EXPECT_FALSE(WorseThanInitial(Brief(0.73, 0.45, 0.5), Brief(0.69, 0.48, 0.8)));
  EXPECT_FALSE(WorseThanInitial(Brief(0.73, 0.624, 0.5), Brief(0.69, 0.501, 0.8)));
  // An unknown AUC on either side says nothing.
  EXPECT_FALSE(WorseThanInitial(Brief(0.73, NAN, 0.5), Brief(0.69, 0.3, 0.8)));
  EXPECT_FALSE(WorseThanInitial(Brief(0.73, 0.6, 0.5), Brief(0.69, NAN, 0.8)));
}

TEST(RunStatusTest, AnImprovedOrEqualModelOrAnUnknownStartIsNotFlagged) {
  EXPECT_FALSE(WorseThanInitial(Brief(0.69, 0.5, 0.8), Brief(0.31, 0.91, 0.89)));
  EXPECT_FALSE(WorseThanInitial(Brief(0.69, 0.5, 0.8), Brief(0.69, 0.5, 0.8)));
  // Without a finite initial loss there is nothing to compare with.
  EXPECT_FALSE(WorseThanInitial(Brief(NAN, 0.5, 0.8), Brief(5.0, 0.6, 0.1)));
}

// The losses of the bundled table's FedAvgM run at momentum 0.9 and server step 1 (the old
// default): 0.757 at the start, 0.45, then 0.69 and 2.5. The third model is flagged against the
// second (the best so far), and so is the fourth; a converging run's ups and downs are not.
TEST(RunStatusTest, ALossAboveOneAndAHalfTimesTheBestSoFarIsDiverging) {
  std::vector<RoundResult> rounds;
  auto add = [&](double loss) {
    RoundResult r;
    r.round = static_cast<uint32_t>(rounds.size());
    r.evaluation = RoundEvaluation{};
    r.evaluation->global = Brief(loss, 0.8, 0.8);
    rounds.push_back(r);
  };
  add(0.757);
  add(0.4507);
  EXPECT_FALSE(DivergenceOf(rounds, 2, Brief(0.6760, 0.8, 0.8)));  // 1.4999 x 0.4507
  EXPECT_EQ(DivergenceOf(rounds, 2, Brief(0.6926, 0.8, 0.8)).value_or(""),
            "the federated loss of the model of round 2, 0.6926, is above 1.5 times the best so "
            "far (0.4507, the model of round 1)");
  // Rounds without an evaluation (training under DP) are skipped, and so are later rounds.
  RoundResult unevaluated;
  unevaluated.round = 2;
  rounds.push_back(unevaluated);
  add(0.30);
  EXPECT_EQ(DivergenceOf(rounds, 3, Brief(0.9, 0.8, 0.8)).value_or(""),
            "the federated loss of the model of round 3, 0.9, is above 1.5 times the best so far "
            "(0.4507, the model of round 1)");
  EXPECT_TRUE(DivergenceOf(rounds, 4, Brief(0.46, 0.8, 0.8)));  // best is now 0.30 (round 3)
  EXPECT_FALSE(DivergenceOf(rounds, 4, Brief(0.44, 0.8, 0.8)));
  // Not finite is diverging whatever came before; nothing evaluated, or nothing to compare
  // with, is not.
  EXPECT_EQ(DivergenceOf(rounds, 4, Brief(NAN, 0.8, 0.8)).value_or(""),
            "the federated loss of the model of round 4 is not finite");
  EXPECT_FALSE(DivergenceOf({}, 0, Brief(5.0, 0.5, 0.5)));
  MetricsBrief empty;
  EXPECT_FALSE(DivergenceOf(rounds, 4, empty));
}

// A DP run whose first evaluated round reported a loss of 0 (noisy loss totals projected to
// nothing) was flagged diverging at every later round, and ended `degraded`: a loss of 0 is no
// measurement to compare with.
TEST(RunStatusTest, ALossOfZeroIsNotTheBestSoFar) {
  std::vector<RoundResult> rounds(2);
  rounds[0].round = 1;
  rounds[0].evaluation = RoundEvaluation{};
  rounds[0].evaluation->global = Brief(0.0, 0.5, 0.8);
  EXPECT_FALSE(DivergenceOf({rounds[0]}, 2, Brief(0.41, 0.8, 0.8)));
  rounds[1].round = 2;
  rounds[1].evaluation = RoundEvaluation{};
  rounds[1].evaluation->global = Brief(0.41, 0.8, 0.8);
  EXPECT_FALSE(DivergenceOf(rounds, 3, Brief(0.45, 0.8, 0.8)));
  EXPECT_TRUE(DivergenceOf(rounds, 3, Brief(0.70, 0.8, 0.8)));  // against 0.41, not 0
}

}  // namespace
}  // namespace fedseg::coordinator
