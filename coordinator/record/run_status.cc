#include "coordinator/record/run_status.h"

#include <cmath>
#include <cstdio>
#include <iterator>

namespace fedseg::coordinator {

static_assert(std::size(kRunStatusNames) == static_cast<size_t>(RunStatus::kFailed) + 1);

std::string_view RunStatusName(RunStatus s) { return kRunStatusNames[static_cast<int>(s)]; }

std::optional<RunStatus> ParseRunStatus(std::string_view word) {
  for (size_t i = 0; i < std::size(kRunStatusNames); ++i) {
    if (kRunStatusNames[i] == word) return static_cast<RunStatus>(i);
  }
  return std::nullopt;
}

int RunStatusExitCode(RunStatus s) {
  switch (s) {
    case RunStatus::kFailed:
      return 1;
    case RunStatus::kDegraded:
      return 3;
    case RunStatus::kRunning:
    case RunStatus::kCompleted:
    case RunStatus::kStopped:
      return 0;
  }
  return 1;
}

namespace {

std::string Figures(const MetricsBrief& m) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "log loss %.4g (ROC AUC %.4g, accuracy %.4g)", m.loss, m.roc_auc,
                m.accuracy);
  return buf;
}

}  // namespace

std::optional<std::string> WorseThanInitial(const MetricsBrief& initial,
                                            const MetricsBrief& final_model) {
  const std::string against =
      Figures(final_model) + " against " + Figures(initial) + " for the initial model (round 0)";
  if (std::isfinite(initial.loss) &&
      !(std::isfinite(final_model.loss) && final_model.loss <= initial.loss)) {
    return "the final model is worse than the initial model: " + against;
  }
  // A constant model (every update zeroed, or all weights collapsed) can have a lower log loss
  // than a random start, ln 2 for two balanced classes, while ranking no user above another.
  if (std::isfinite(initial.roc_auc) && std::isfinite(final_model.roc_auc) &&
      final_model.roc_auc <= 0.5 && final_model.roc_auc < initial.roc_auc) {
    return "the final model ranks no better than chance, below the initial model: " + against;
  }
  return std::nullopt;
}

std::optional<std::string> DivergenceOf(const std::vector<RoundResult>& earlier,
                                        uint32_t model_round, const MetricsBrief& now) {
  if (now.rows == 0) return std::nullopt;  // nothing was evaluated
  if (!std::isfinite(now.loss)) {
    return "the federated loss of the model of round " + std::to_string(model_round) +
           " is not finite";
  }
  std::optional<uint32_t> best_round;
  double best = 0;
  for (const RoundResult& r : earlier) {
    if (r.round >= model_round || !r.evaluation || r.evaluation->global.rows == 0) continue;
    const double loss = r.evaluation->global.loss;
    // A mean log loss of 0 is no measurement: under DP the regions' noisy loss totals can be
    // projected to nothing (and regions that sat a round out report none); a model is never
    // compared with it.
    if (std::isfinite(loss) && loss > 0 && (!best_round || loss < best)) {
      best = loss;
      best_round = r.round;
    }
  }
  if (!best_round || !(now.loss > kDivergenceFactor * best)) return std::nullopt;
  char text[256];
  std::snprintf(text, sizeof text,
                "the federated loss of the model of round %u, %.4g, is above %.3g times the best "
                "so far (%.4g, the model of round %u)",
                model_round, now.loss, kDivergenceFactor, best, *best_round);
  return std::string(text);
}

}  // namespace fedseg::coordinator
