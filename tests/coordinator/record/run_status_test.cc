#include "coordinator/record/run_status.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

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

}  // namespace
}  // namespace fedseg::coordinator
