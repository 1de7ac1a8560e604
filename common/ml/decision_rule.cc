#include "common/ml/decision_rule.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>

namespace fedseg::ml {
namespace {

using u128 = unsigned __int128;

// A non-negative ratio num / den compared exactly (counts are uint64, products fit in 128 bits).
struct Ratio {
  u128 num = 0, den = 1;
  bool operator<(const Ratio& o) const { return num * o.den < o.num * den; }
  bool operator==(const Ratio& o) const { return num * o.den == o.num * den; }
};

double ToDouble(uint64_t num, uint64_t den) {
  return den == 0 ? 0.0 : static_cast<double>(num) / static_cast<double>(den);
}

// num / den >= target, with a relative slack of 1e-12 so that 4/5 meets a target of 0.8.
bool AtLeast(uint64_t num, uint64_t den, double target) {
  return den > 0 &&
         static_cast<double>(num) >= target * static_cast<double>(den) * (1 - 1e-12);
}

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// The first bucket whose lower edge is at or above `t`: rows in buckets >= it have p >= t. A
// threshold within 1e-6 bucket of an edge counts as that edge (rounding of ScoreBinLowerEdge).
int FirstBinAtOrAbove(double t) {
  if (!(t > 0)) return 0;
  if (t >= 1) return ClassificationSummary::kScoreBins - 1;  // p = 1 lands in the last bucket
  const double x = (std::log(t / (1 - t)) - ClassificationSummary::kLogitMin) * ClassificationSummary::kBinsPerLogit;
  if (x <= 0) return 0;
  const double r = std::nearbyint(x);
  const double b = std::fabs(x - r) < 1e-6 ? r : std::ceil(x);
  return b >= ClassificationSummary::kScoreBins ? ClassificationSummary::kScoreBins : static_cast<int>(b);
}

BinaryCounts CountsFromConfusion(const std::vector<uint64_t>& cm, int pc) {
  const size_t p = static_cast<size_t>(pc), o = 1 - p;
  return BinaryCounts{cm[p * 2 + p], cm[o * 2 + p], cm[p * 2 + o], cm[o * 2 + o]};
}

}  // namespace

std::string_view DecisionObjectiveName(DecisionObjective o) {
  switch (o) {
    case DecisionObjective::kArgMax: return "argmax";
    case DecisionObjective::kMaxF1: return "max_f1";
    case DecisionObjective::kMinPrecision: return "min_precision";
    case DecisionObjective::kMinRecall: return "min_recall";
    case DecisionObjective::kOperator: return "operator";
  }
  return "unknown";
}

Result<DecisionObjective> ParseDecisionObjective(std::string_view name) {
  for (uint8_t i = 0; i <= kMaxDecisionObjective; ++i) {
    const auto o = static_cast<DecisionObjective>(i);
    if (DecisionObjectiveName(o) == name) return o;
  }
  return Status::InvalidArgument("unknown decision objective '" + std::string(name) +
                                 "' (argmax, max_f1, min_precision, min_recall)");
}

double ScoreBinLowerEdge(int b) {
  if (b <= 0) return 0.0;
  const double logit = ClassificationSummary::kLogitMin + b / ClassificationSummary::kBinsPerLogit;
  return 1.0 / (1.0 + std::exp(-logit));
}

Status DecisionRule::Validate(int num_classes) const {
  const uint8_t o = static_cast<uint8_t>(objective);
  if (o > kMaxDecisionObjective) {
    return Status::Corruption("decision rule: unknown objective " + std::to_string(o));
  }
  if (!is_threshold()) {
    if (positive_class != -1) {
      return Status::Corruption("decision rule: an arg-max rule names positive class " +
                                std::to_string(positive_class));
    }
    return Status::OK();
  }
  if (num_classes != 2) {
    return Status::Corruption("decision rule: a threshold needs 2 classes, the model has " +
                              std::to_string(num_classes));
  }
  if (positive_class != 0 && positive_class != 1) {
    return Status::Corruption("decision rule: positive class " + std::to_string(positive_class) +
                              " is not 0 or 1");
  }
  if (!std::isfinite(threshold) || threshold < 0 || threshold > 1) {
    return Status::Corruption("decision rule: threshold " + std::to_string(threshold) +
                              " is not a number in [0, 1]");
  }
  if (!std::isfinite(target) || target < 0 || target > 1) {
    return Status::Corruption("decision rule: target " + std::to_string(target) +
                              " is not a number in [0, 1]");
  }
  return Status::OK();
}

int DecisionRule::Decide(const float* probs, int k) const {
  if (is_threshold()) {
    return static_cast<double>(probs[positive_class]) >= threshold ? positive_class
                                                                   : 1 - positive_class;
  }
  int best = 0;
  for (int c = 1; c < k; ++c) {
    if (probs[c] > probs[best]) best = c;
  }
  return best;
}

std::string DecisionRule::Describe(const std::vector<std::string>& names) const {
  if (!is_threshold()) return "arg-max";
  const std::string pc = ClassNameOr(names, positive_class);
  std::string out = "p(" + pc + ") >= " + Fixed(threshold, 4) + " (";
  switch (objective) {
    case DecisionObjective::kMaxF1: out += "max F1 of " + pc; break;
    case DecisionObjective::kMinPrecision:
      out += "max recall with precision >= " + Fixed(target, 3);
      break;
    case DecisionObjective::kMinRecall:
      out += "max precision with recall >= " + Fixed(target, 3);
      break;
    default: out += "set by the operator"; break;
  }
  return out + ")";
}

nlohmann::json DecisionRule::ToJson(const std::vector<std::string>& names) const {
  nlohmann::json j = {{"kind", is_threshold() ? "threshold" : "argmax"},
                      {"objective", std::string(DecisionObjectiveName(objective))}};
  j["positive_class"] = is_threshold() ? nlohmann::json(ClassNameOr(names, positive_class))
                                       : nlohmann::json();
  j["threshold"] = is_threshold() ? nlohmann::json(threshold) : nlohmann::json();
  if (objective == DecisionObjective::kMinPrecision || objective == DecisionObjective::kMinRecall) {
    j["target"] = target;
  }
  return j;
}

Status DecisionGoal::Validate() const {
  switch (objective) {
    case DecisionObjective::kArgMax:
    case DecisionObjective::kMaxF1: return Status::OK();
    case DecisionObjective::kMinPrecision:
    case DecisionObjective::kMinRecall:
      if (!(target > 0 && target <= 1)) {
        return Status::InvalidArgument(std::string(DecisionObjectiveName(objective)) +
                                       ": the target must be in (0, 1], got " +
                                       std::to_string(target));
      }
      return Status::OK();
    case DecisionObjective::kOperator: break;
  }
  return Status::InvalidArgument("decision objective must be argmax, max_f1, min_precision or "
                                 "min_recall");
}

Result<DecisionGoal> DecisionGoal::Parse(std::string_view text) {
  DecisionGoal g;
  if (text == "f1" || text == "max_f1") {
    g.objective = DecisionObjective::kMaxF1;
    return g;
  }
  if (text == "argmax") {
    g.objective = DecisionObjective::kArgMax;
    return g;
  }
  for (auto [prefix, o] : {std::pair<std::string_view, DecisionObjective>{
                               "precision>=", DecisionObjective::kMinPrecision},
                           {"recall>=", DecisionObjective::kMinRecall}}) {
    if (text.substr(0, prefix.size()) != prefix) continue;
    const std::string num(text.substr(prefix.size()));
    char* end = nullptr;
    const double v = num.empty() ? NAN : std::strtod(num.c_str(), &end);
    if (num.empty() || end != num.c_str() + num.size() || !(v > 0 && v <= 1)) {
      return Status::InvalidArgument("decision '" + std::string(text) + "': the target after " +
                                     std::string(prefix) + " must be a number in (0, 1]");
    }
    g.objective = o;
    g.target = v;
    return g;
  }
  return Status::InvalidArgument("decision '" + std::string(text) +
                                 "': expected f1, argmax, precision>=P or recall>=R");
}

double BinaryCounts::precision() const { return ToDouble(tp, tp + fp); }
double BinaryCounts::recall() const { return ToDouble(tp, tp + fn); }
double BinaryCounts::f1() const { return ToDouble(2 * tp, 2 * tp + fp + fn); }

nlohmann::json BinaryCounts::ToJson() const {
  return {{"tp", tp},          {"fp", fp},           {"fn", fn}, {"tn", tn},
          {"precision", precision()}, {"recall", recall()}, {"f1", f1()}};
}

nlohmann::json DecisionChoice::ToJson(const std::vector<std::string>& names) const {
  nlohmann::json g = {{"objective", std::string(DecisionObjectiveName(goal.objective))}};
  if (goal.objective == DecisionObjective::kMinPrecision ||
      goal.objective == DecisionObjective::kMinRecall) {
    g["target"] = goal.target;
  }
  g["positive_class"] =
      goal.positive_class.empty() ? nlohmann::json() : nlohmann::json(goal.positive_class);
  nlohmann::json j = {{"rule", rule.ToJson(names)}, {"goal", g}, {"note", note}, {"rows", rows}};
  if (positive_class >= 0) {
    j["counts_of"] = ClassNameOr(names, positive_class);
    j["at_rule"] = at_rule.ToJson();
    j["at_argmax"] = at_argmax.ToJson();
  }
  return j;
}

Result<DecisionChoice> ChooseDecisionRule(const ClassificationSummary& s, const DecisionGoal& goal,
                                          const std::vector<std::string>& names) {
  FEDSEG_RETURN_IF_ERROR(goal.Validate());
  const int k = s.num_classes();
  int named = -1;
  if (!goal.positive_class.empty()) {
    auto it = std::find(names.begin(), names.end(), goal.positive_class);
    if (it == names.end()) {
      std::string known;
      for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
      return Status::InvalidArgument("decision positive class '" + goal.positive_class +
                                     "' is not a class of the model (" + known + ")");
    }
    named = static_cast<int>(it - names.begin());
  }
  DecisionChoice out;
  out.goal = goal;
  out.rows = s.count();
  if (k != 2) {
    if (goal.objective != DecisionObjective::kArgMax) {
      out.note = std::to_string(k) + " classes: thresholds are for two classes, the rule is arg-max";
    }
    return out;
  }
  const std::vector<uint64_t>& cm = s.confusion();
  const int pc = named >= 0 ? named : (cm[0] + cm[1] < cm[2] + cm[3] ? 0 : 1);
  out.positive_class = pc;
  out.at_argmax = out.at_rule = CountsFromConfusion(cm, pc);
  if (goal.objective == DecisionObjective::kArgMax) return out;
  const std::string pname = ClassNameOr(names, pc);
  const std::span<const uint64_t> pos = s.positive_histogram(pc), neg = s.negative_histogram(pc);
  uint64_t num_pos = 0, num_neg = 0;
  for (int b = 0; b < ClassificationSummary::kScoreBins; ++b) {
    num_pos += pos[static_cast<size_t>(b)];
    num_neg += neg[static_cast<size_t>(b)];
  }
  if (num_pos == 0 || num_neg == 0) {
    out.note = "no evaluation rows " +
               (num_pos == 0 ? "of class " + pname : "outside class " + pname) +
               ": no threshold can be chosen, the rule is arg-max";
    return out;
  }
  // tp[b], fp[b]: rows at or above bucket b (suffix sums).
  std::vector<uint64_t> tp(ClassificationSummary::kScoreBins + 1, 0), fp(ClassificationSummary::kScoreBins + 1, 0);
  for (int b = ClassificationSummary::kScoreBins - 1; b >= 0; --b) {
    tp[static_cast<size_t>(b)] = tp[static_cast<size_t>(b) + 1] + pos[static_cast<size_t>(b)];
    fp[static_cast<size_t>(b)] = fp[static_cast<size_t>(b) + 1] + neg[static_cast<size_t>(b)];
  }
  // Scan from the highest threshold down; the tie rules of the header decide whether an equal
  // value replaces the best so far (a lower threshold).
  int best = -1;
  Ratio best_value;
  for (int b = ClassificationSummary::kScoreBins - 1; b >= 0; --b) {
    const uint64_t t = tp[static_cast<size_t>(b)], f = fp[static_cast<size_t>(b)];
    std::optional<Ratio> value;
    bool replace_on_tie = false;
    switch (goal.objective) {
      case DecisionObjective::kMaxF1:
        if (t > 0) value = Ratio{2 * u128{t}, u128{t} + f + num_pos};
        break;
      case DecisionObjective::kMinPrecision:
        if (t > 0 && AtLeast(t, t + f, goal.target)) value = Ratio{t, num_pos};
        break;
      case DecisionObjective::kMinRecall:
        if (AtLeast(t, num_pos, goal.target)) value = Ratio{t, u128{t} + f};
        replace_on_tie = true;  // same precision, more recall
        break;
      default: break;
    }
    if (!value) continue;
    if (best < 0 || best_value < *value || (replace_on_tie && *value == best_value)) {
      best = b;
      best_value = *value;
    }
  }
  if (best < 0) {
    if (goal.objective == DecisionObjective::kMaxF1) {  // unreachable: tp[0] = num_pos > 0
      out.note = "no threshold flags a row of class " + pname + ", the rule is arg-max";
    } else {
      const bool precision = goal.objective == DecisionObjective::kMinPrecision;
      double reach = 0;
      for (int b = 0; b < ClassificationSummary::kScoreBins; ++b) {
        const uint64_t t = tp[static_cast<size_t>(b)], f = fp[static_cast<size_t>(b)];
        reach = std::max(reach, precision ? ToDouble(t, t + f) : ToDouble(t, num_pos));
      }
      out.note = std::string("no threshold reaches ") + (precision ? "precision" : "recall") +
                 " " + Fixed(goal.target, 3) + " for class " + pname + " on the " +
                 std::to_string(s.count()) + " evaluation rows (the most is " + Fixed(reach, 3) +
                 "), the rule is arg-max";
    }
    return out;
  }
  // Every threshold from bucket lo to hi flags the same rows: take the middle one.
  int lo = best, hi = best;
  const auto same = [&](int b) {
    return tp[static_cast<size_t>(b)] == tp[static_cast<size_t>(best)] &&
           fp[static_cast<size_t>(b)] == fp[static_cast<size_t>(best)];
  };
  while (lo > 0 && same(lo - 1)) --lo;
  while (hi + 1 < ClassificationSummary::kScoreBins && same(hi + 1)) ++hi;
  const int chosen = lo + (hi - lo) / 2;
  out.rule.objective = goal.objective;
  out.rule.positive_class = pc;
  out.rule.threshold = ScoreBinLowerEdge(chosen);
  out.rule.target = goal.target;
  const size_t c = static_cast<size_t>(chosen);
  out.at_rule = BinaryCounts{tp[c], fp[c], num_pos - tp[c], num_neg - fp[c]};
  return out;
}

Result<std::vector<uint64_t>> ConfusionAtRule(const ClassificationSummary& s,
                                              const DecisionRule& rule) {
  const int k = s.num_classes();
  FEDSEG_RETURN_IF_ERROR(rule.Validate(k));
  if (!rule.is_threshold()) return s.confusion();
  const int pc = rule.positive_class;
  const size_t p = static_cast<size_t>(pc), o = 1 - p;
  const std::span<const uint64_t> pos = s.positive_histogram(pc), neg = s.negative_histogram(pc);
  uint64_t tp = 0, fp = 0, num_pos = 0, num_neg = 0;
  const int first = FirstBinAtOrAbove(rule.threshold);
  for (int b = 0; b < ClassificationSummary::kScoreBins; ++b) {
    num_pos += pos[static_cast<size_t>(b)];
    num_neg += neg[static_cast<size_t>(b)];
    if (b >= first) {
      tp += pos[static_cast<size_t>(b)];
      fp += neg[static_cast<size_t>(b)];
    }
  }
  std::vector<uint64_t> cm(4, 0);
  cm[p * 2 + p] = tp;
  cm[p * 2 + o] = num_pos - tp;
  cm[o * 2 + p] = fp;
  cm[o * 2 + o] = num_neg - fp;
  return cm;
}

}  // namespace fedseg::ml
