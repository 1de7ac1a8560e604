#include "common/ml/decision_rule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "common/ml/metrics.h"

namespace fedseg::ml {
namespace {

const std::vector<std::string> kNames = {"FALSE", "TRUE"};

struct Row {
  int label;  // 0 or 1
  float p1;   // p(class 1)
};

ClassificationSummary Summarise(const std::vector<Row>& rows) {
  ClassificationSummary s(2);
  for (const Row& r : rows) {
    const float probs[2] = {1.0f - r.p1, r.p1};
    s.Add(r.label, probs);
  }
  return s;
}

// Counts of class `pc` when rows with p(pc) >= t are flagged, by direct counting.
BinaryCounts CountAt(const std::vector<Row>& rows, int pc, double t) {
  BinaryCounts c;
  for (const Row& r : rows) {
    const double p = pc == 1 ? r.p1 : 1.0f - r.p1;
    const bool flagged = p >= t, positive = r.label == pc;
    (positive ? (flagged ? c.tp : c.fn) : (flagged ? c.fp : c.tn)) += 1;
  }
  return c;
}

// The rule's own decisions on the rows, counted.
BinaryCounts CountDecisions(const std::vector<Row>& rows, const DecisionRule& rule, int pc) {
  BinaryCounts c;
  for (const Row& r : rows) {
    const float probs[2] = {1.0f - r.p1, r.p1};
    const bool flagged = rule.Decide(probs, 2) == pc, positive = r.label == pc;
    (positive ? (flagged ? c.tp : c.fn) : (flagged ? c.fp : c.tn)) += 1;
  }
  return c;
}

// Every distinct score of class 1, plus 0: all thresholds that give different counts.
std::vector<double> Candidates(const std::vector<Row>& rows) {
  std::set<double> s = {0.0};
  for (const Row& r : rows) s.insert(r.p1);
  return {s.begin(), s.end()};
}

// A seeded sample whose scores sit at score-bucket centres (so the histogram loses nothing and a
// brute force over the raw scores is the exact optimum): 1 positive to 5 negatives, overlapping.
std::vector<Row> BucketCentredSample(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> pos(1.0, 1.5), neg(-1.5, 1.5);
  const double per_logit = ClassificationSummary::kScoreBins /
                           (ClassificationSummary::kLogitMax - ClassificationSummary::kLogitMin);
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i) {
    const int label = i % 6 == 0 ? 1 : 0;
    const double logit = std::clamp(label ? pos(rng) : neg(rng), -8.0, 8.0);
    const double bucket = std::floor((logit - ClassificationSummary::kLogitMin) * per_logit);
    const double centre = ClassificationSummary::kLogitMin + (bucket + 0.5) / per_logit;
    rows.push_back({label, static_cast<float>(1 / (1 + std::exp(-centre)))});
  }
  return rows;
}

DecisionGoal Goal(DecisionObjective o, double target = 0) {
  DecisionGoal g;
  g.objective = o;
  g.target = target;
  return g;
}

TEST(DecisionRuleTest, MaxF1MatchesBruteForceOverEveryThreshold) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    const std::vector<Row> rows = BucketCentredSample(seed, 3000);
    const ClassificationSummary s = Summarise(rows);
    double best = -1;
    for (double t : Candidates(rows)) best = std::max(best, CountAt(rows, 1, t).f1());
    auto choice = ChooseDecisionRule(s, Goal(DecisionObjective::kMaxF1), kNames);
    ASSERT_TRUE(choice.ok()) << choice.status().ToString();
    ASSERT_TRUE(choice->rule.is_threshold()) << choice->note;
    EXPECT_EQ(choice->rule.positive_class, 1);  // the minority
    EXPECT_TRUE(choice->rule.Validate(2).ok());
    const BinaryCounts own = CountDecisions(rows, choice->rule, 1);
    EXPECT_EQ(own.f1(), best) << "seed " << seed;
    EXPECT_EQ(choice->at_rule.tp, own.tp);
    EXPECT_EQ(choice->at_rule.fp, own.fp);
    EXPECT_EQ(choice->at_rule.fn, own.fn);
    EXPECT_EQ(choice->at_rule.tn, own.tn);
    // The histogram count at the chosen threshold agrees with the rows.
    auto cm = ConfusionAtRule(s, choice->rule);
    ASSERT_TRUE(cm.ok());
    // Row-major, row = true class: [TN, FP; FN, TP] for positive class 1.
    EXPECT_EQ((*cm)[3], own.tp);
    EXPECT_EQ((*cm)[2], own.fn);
    EXPECT_EQ((*cm)[1], own.fp);
    EXPECT_EQ((*cm)[0], own.tn);
    // Arg-max counts are the summary's confusion matrix: p1 > p0.
    const BinaryCounts argmax = CountAt(rows, 1, 0.5000001);
    EXPECT_EQ(choice->at_argmax.tp, argmax.tp);
    EXPECT_EQ(choice->at_argmax.fp, argmax.fp);
    EXPECT_GE(choice->at_rule.f1(), choice->at_argmax.f1());
  }
}

TEST(DecisionRuleTest, TargetsMatchBruteForce) {
  const std::vector<Row> rows = BucketCentredSample(7, 3000);
  const ClassificationSummary s = Summarise(rows);
  for (double target : {0.5, 0.7, 0.9}) {
    // min_precision: the largest recall among thresholds with precision >= target.
    double best_recall = -1;
    for (double t : Candidates(rows)) {
      const BinaryCounts c = CountAt(rows, 1, t);
      if (c.tp > 0 && c.precision() >= target) best_recall = std::max(best_recall, c.recall());
    }
    auto p = ChooseDecisionRule(s, Goal(DecisionObjective::kMinPrecision, target), kNames);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(p->rule.is_threshold()) << p->note;
    const BinaryCounts own = CountDecisions(rows, p->rule, 1);
    EXPECT_GE(own.precision(), target);
    EXPECT_EQ(own.recall(), best_recall) << "precision target " << target;
    EXPECT_EQ(p->rule.target, target);

    // min_recall: the largest precision among thresholds with recall >= target.
    double best_precision = -1;
    for (double t : Candidates(rows)) {
      const BinaryCounts c = CountAt(rows, 1, t);
      if (c.recall() >= target) best_precision = std::max(best_precision, c.precision());
    }
    auto r = ChooseDecisionRule(s, Goal(DecisionObjective::kMinRecall, target), kNames);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->rule.is_threshold()) << r->note;
    const BinaryCounts own_r = CountDecisions(rows, r->rule, 1);
    EXPECT_GE(own_r.recall(), target);
    EXPECT_EQ(own_r.precision(), best_precision) << "recall target " << target;
  }
}

// Positives at 0.9 x3, 0.6, 0.3 x2; negatives at 0.7, 0.3, 0.1 x6. By hand, flagging p >= t:
//   t in (0.1, 0.3]: TP 6 FP 2 FN 0: F1 12/14 = 0.857 (precision 0.75, recall 1)
//   t in (0.3, 0.6]: TP 4 FP 1 FN 2: F1 8/11 (precision 0.8, recall 0.667)
//   t in (0.6, 0.7]: TP 3 FP 1: F1 0.6;  t in (0.7, 0.9]: TP 3 FP 0: F1 0.667 (precision 1)
//   t <= 0.1: TP 6 FP 8: F1 0.6.
std::vector<Row> HandExample() {
  return {{1, 0.9f}, {1, 0.9f}, {1, 0.9f}, {1, 0.6f}, {1, 0.3f}, {1, 0.3f}, {0, 0.7f},
          {0, 0.3f}, {0, 0.1f}, {0, 0.1f}, {0, 0.1f}, {0, 0.1f}, {0, 0.1f}, {0, 0.1f}};
}

TEST(DecisionRuleTest, HandComputedExample) {
  const ClassificationSummary s = Summarise(HandExample());
  auto f1 = ChooseDecisionRule(s, Goal(DecisionObjective::kMaxF1), kNames);
  ASSERT_TRUE(f1.ok());
  EXPECT_EQ(f1->rule.positive_class, 1);
  EXPECT_GT(f1->rule.threshold, 0.1);
  EXPECT_LE(f1->rule.threshold, 0.3);
  // The middle (in logit) of the empty stretch between the scores 0.1 and 0.3, to a bucket.
  const double mid = 1 / (1 + std::exp(-(std::log(0.1 / 0.9) + std::log(0.3 / 0.7)) / 2));
  EXPECT_NEAR(f1->rule.threshold, mid, 0.003);
  EXPECT_EQ(f1->at_rule.tp, 6u);
  EXPECT_EQ(f1->at_rule.fp, 2u);
  EXPECT_DOUBLE_EQ(f1->at_rule.f1(), 12.0 / 14.0);
  EXPECT_EQ(f1->rows, 14u);
  // Arg-max flags p > 0.5: TP 4 FP 1 FN 2.
  EXPECT_EQ(f1->at_argmax.tp, 4u);
  EXPECT_EQ(f1->at_argmax.fp, 1u);
  EXPECT_EQ(f1->at_argmax.fn, 2u);
  EXPECT_EQ(f1->note, "");

  // Precision >= 0.8 is met exactly (4/5) at t in (0.3, 0.6]: recall 4/6.
  auto p80 = ChooseDecisionRule(s, Goal(DecisionObjective::kMinPrecision, 0.8), kNames);
  ASSERT_TRUE(p80.ok());
  EXPECT_GT(p80->rule.threshold, 0.3);
  EXPECT_LE(p80->rule.threshold, 0.6);
  EXPECT_EQ(p80->at_rule.tp, 4u);
  // Precision 1: only t in (0.7, 0.9].
  auto p100 = ChooseDecisionRule(s, Goal(DecisionObjective::kMinPrecision, 1.0), kNames);
  ASSERT_TRUE(p100.ok());
  EXPECT_GT(p100->rule.threshold, 0.7);
  EXPECT_LE(p100->rule.threshold, 0.9);
  EXPECT_EQ(p100->at_rule.tp, 3u);
  EXPECT_EQ(p100->at_rule.fp, 0u);
  // Recall >= 0.6 (TP >= 4): the best precision is 0.8 at (0.3, 0.6]; recall 1: (0.1, 0.3].
  auto r60 = ChooseDecisionRule(s, Goal(DecisionObjective::kMinRecall, 0.6), kNames);
  ASSERT_TRUE(r60.ok());
  EXPECT_EQ(r60->at_rule.tp, 4u);
  EXPECT_EQ(r60->at_rule.fp, 1u);
  auto r100 = ChooseDecisionRule(s, Goal(DecisionObjective::kMinRecall, 1.0), kNames);
  ASSERT_TRUE(r100.ok());
  EXPECT_EQ(r100->at_rule.tp, 6u);
  EXPECT_EQ(r100->at_rule.fp, 2u);
  EXPECT_GT(r100->rule.threshold, 0.1);
  EXPECT_LE(r100->rule.threshold, 0.3);

  // The operator names the majority class: thresholds on p(FALSE) = 1 - p(TRUE).
  DecisionGoal named = Goal(DecisionObjective::kMaxF1);
  named.positive_class = "FALSE";
  auto neg = ChooseDecisionRule(s, named, kNames);
  ASSERT_TRUE(neg.ok());
  EXPECT_EQ(neg->rule.positive_class, 0);
  double best = 0;
  for (double t : {0.0, 0.1, 0.3, 0.4, 0.7, 0.9}) best = std::max(best, CountAt(HandExample(), 0, t).f1());
  EXPECT_EQ(CountDecisions(HandExample(), neg->rule, 0).f1(), best);
}

TEST(DecisionRuleTest, TiesPreferTheHigherThresholdForF1) {
  // Positives 0.9, 0.3; negatives 0.5 x2, 0.1 x4. t in (0.5, 0.9]: TP 1 FP 0 FN 1, F1 2/3;
  // t in (0.1, 0.3]: TP 2 FP 2 FN 0, F1 4/6 = 2/3 as well. The higher threshold flags fewer.
  const std::vector<Row> rows = {{1, 0.9f}, {1, 0.3f}, {0, 0.5f}, {0, 0.5f},
                                 {0, 0.1f}, {0, 0.1f}, {0, 0.1f}, {0, 0.1f}};
  auto c = ChooseDecisionRule(Summarise(rows), Goal(DecisionObjective::kMaxF1), kNames);
  ASSERT_TRUE(c.ok());
  EXPECT_GT(c->rule.threshold, 0.5);
  EXPECT_LE(c->rule.threshold, 0.9);
  EXPECT_EQ(c->at_rule.tp, 1u);
  EXPECT_EQ(c->at_rule.fp, 0u);
  EXPECT_DOUBLE_EQ(c->at_rule.f1(), 2.0 / 3.0);
}

TEST(DecisionRuleTest, DegenerateCasesFallBackToArgMax) {
  // No rows at all, and every row of one class: the minority class has no rows.
  for (const std::vector<Row>& rows :
       {std::vector<Row>{}, std::vector<Row>{{0, 0.2f}, {0, 0.7f}, {0, 0.1f}},
        std::vector<Row>{{1, 0.2f}, {1, 0.7f}}}) {
    auto c = ChooseDecisionRule(Summarise(rows), Goal(DecisionObjective::kMaxF1), kNames);
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c->rule.is_threshold());
    EXPECT_NE(c->note.find("no evaluation rows of class"), std::string::npos) << c->note;
    EXPECT_TRUE(c->rule.Validate(2).ok());
  }
  // The operator's class is every row: no negatives.
  DecisionGoal g = Goal(DecisionObjective::kMaxF1);
  g.positive_class = "TRUE";
  auto all_true = ChooseDecisionRule(Summarise({{1, 0.2f}, {1, 0.7f}}), g, kNames);
  ASSERT_TRUE(all_true.ok());
  EXPECT_FALSE(all_true->rule.is_threshold());
  EXPECT_NE(all_true->note.find("no evaluation rows outside class TRUE"), std::string::npos);
  // A target nobody reaches: the top-scored row is a negative, so precision 1 is impossible.
  auto p = ChooseDecisionRule(Summarise({{0, 0.9f}, {1, 0.8f}, {0, 0.1f}}),
                              Goal(DecisionObjective::kMinPrecision, 1.0), kNames);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->rule.is_threshold());
  EXPECT_NE(p->note.find("no threshold reaches precision 1.000 for class TRUE on the 3 "
                         "evaluation rows (the most is 0.500)"),
            std::string::npos)
      << p->note;
  // More than two classes: arg-max, said so; asking for arg-max needs no note.
  ClassificationSummary three(3);
  const float probs[3] = {0.2f, 0.5f, 0.3f};
  three.Add(1, probs);
  auto k3 = ChooseDecisionRule(three, Goal(DecisionObjective::kMaxF1), {"a", "b", "c"});
  ASSERT_TRUE(k3.ok());
  EXPECT_FALSE(k3->rule.is_threshold());
  EXPECT_EQ(k3->positive_class, -1);
  EXPECT_NE(k3->note.find("3 classes"), std::string::npos);
  auto am = ChooseDecisionRule(Summarise(HandExample()), Goal(DecisionObjective::kArgMax), kNames);
  ASSERT_TRUE(am.ok());
  EXPECT_FALSE(am->rule.is_threshold());
  EXPECT_EQ(am->note, "");
  EXPECT_EQ(am->at_rule.tp, am->at_argmax.tp);
}

TEST(DecisionRuleTest, InvalidGoalsAreRefused) {
  DecisionGoal g = Goal(DecisionObjective::kMaxF1);
  g.positive_class = "MAYBE";
  auto c = ChooseDecisionRule(Summarise(HandExample()), g, kNames);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "decision positive class 'MAYBE' is not a class of the model (FALSE, TRUE)");
  for (double bad : {0.0, -0.1, 1.5, std::nan("")}) {
    EXPECT_FALSE(Goal(DecisionObjective::kMinPrecision, bad).Validate().ok()) << bad;
    EXPECT_FALSE(Goal(DecisionObjective::kMinRecall, bad).Validate().ok()) << bad;
  }
  EXPECT_FALSE(Goal(DecisionObjective::kOperator).Validate().ok());
}

TEST(DecisionRuleTest, ParseGoal) {
  EXPECT_EQ(DecisionGoal::Parse("f1")->objective, DecisionObjective::kMaxF1);
  EXPECT_EQ(DecisionGoal::Parse("argmax")->objective, DecisionObjective::kArgMax);
  auto p = DecisionGoal::Parse("precision>=0.8");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->objective, DecisionObjective::kMinPrecision);
  EXPECT_EQ(p->target, 0.8);
  auto r = DecisionGoal::Parse("recall>=1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->objective, DecisionObjective::kMinRecall);
  EXPECT_EQ(r->target, 1.0);
  for (const char* bad : {"precision>=0", "precision>=", "recall>=1.2", "recall>=x", "f2", ""}) {
    EXPECT_FALSE(DecisionGoal::Parse(bad).ok()) << bad;
  }
  EXPECT_EQ(DecisionGoal::Parse("recall>=x").status().message(),
            "decision 'recall>=x': the target after recall>= must be a number in (0, 1]");
}

TEST(DecisionRuleTest, ValidateAndDecide) {
  DecisionRule r;
  EXPECT_TRUE(r.Validate(2).ok());
  EXPECT_TRUE(r.Validate(5).ok());
  const float probs[3] = {0.3f, 0.4f, 0.3f};
  EXPECT_EQ(r.Decide(probs, 3), 1);
  const float tie[2] = {0.5f, 0.5f};
  EXPECT_EQ(r.Decide(tie, 2), 0);  // the first of equals, as the summary's arg-max

  r = DecisionRule{DecisionObjective::kMaxF1, 1, 0.25, 0};
  EXPECT_TRUE(r.Validate(2).ok());
  const float at[2] = {0.75f, 0.25f}, below[2] = {0.76f, 0.24f};
  EXPECT_EQ(r.Decide(at, 2), 1);  // p >= threshold
  EXPECT_EQ(r.Decide(below, 2), 0);
  EXPECT_EQ(r.Describe(kNames), "p(TRUE) >= 0.2500 (max F1 of TRUE)");
  EXPECT_EQ(r.ToJson(kNames)["threshold"], 0.25);
  EXPECT_EQ(r.ToJson(kNames)["positive_class"], "TRUE");

  auto refused = [](DecisionRule bad, int k, const std::string& what) {
    Status st = bad.Validate(k);
    EXPECT_TRUE(st.IsCorruption());
    EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
  };
  refused({DecisionObjective::kMaxF1, 1, std::nan(""), 0}, 2, "threshold");
  refused({DecisionObjective::kMaxF1, 1, 1.5, 0}, 2, "threshold");
  refused({DecisionObjective::kMaxF1, 1, -0.1, 0}, 2, "threshold");
  refused({DecisionObjective::kMaxF1, 2, 0.5, 0}, 2, "positive class 2");
  refused({DecisionObjective::kMaxF1, 1, 0.5, 0}, 3, "needs 2 classes");
  refused({static_cast<DecisionObjective>(9), 1, 0.5, 0}, 2, "unknown objective 9");
  refused({DecisionObjective::kArgMax, 1, 0.5, 0}, 2, "arg-max rule names");
  refused({DecisionObjective::kMinRecall, 1, 0.5, 2.0}, 2, "target");
}

TEST(DecisionRuleTest, ReportAtARule) {
  const ClassificationSummary s = Summarise(HandExample());
  // Arg-max's own matrix gives the plain report.
  auto same = ComputeReport(s, s.confusion());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->per_class[1].f1, ComputeReport(s).per_class[1].f1);
  auto choice = ChooseDecisionRule(s, Goal(DecisionObjective::kMaxF1), kNames);
  ASSERT_TRUE(choice.ok());
  auto cm = ConfusionAtRule(s, choice->rule);
  ASSERT_TRUE(cm.ok());
  auto at_rule = ComputeReport(s, *cm);
  ASSERT_TRUE(at_rule.ok());
  EXPECT_DOUBLE_EQ(at_rule->per_class[1].f1, 12.0 / 14.0);
  EXPECT_DOUBLE_EQ(at_rule->accuracy, 12.0 / 14.0);  // 6 TP + 6 TN of 14
  EXPECT_EQ(at_rule->roc_auc, ComputeReport(s).roc_auc);
  // A matrix of other rows is refused.
  auto bad = ComputeReport(s, std::vector<uint64_t>{1, 0, 0, 1});
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(ComputeReport(s, std::vector<uint64_t>{1, 2, 3}).ok());
}

}  // namespace
}  // namespace fedseg::ml
