// Server-side defences applied to a round's updates before any Strategy sees them, and to the
// aggregate before it replaces the global model (docs/security.md, "Poisoned updates"):
//
//  1. Weight cap: an update claiming more examples (its FedAvg weight) than the training rows its
//     region declared in its data summary at join is refused (an honest region trains on exactly
//     those rows); a region whose declaration is unknown is capped at the round's median count.
//  2. Outlier refusal: an update whose L2 norm, or largest absolute value, is more than
//     `outlier_factor` times the round's median (the lower median, so one of two cannot set it) is
//     refused and named; the others are aggregated.
//     So is an update whose cosine similarity with the round's coordinate-wise median update is
//     negative (with 3 updates or more; see update_screen.cc).
//  3. Norm bounding: every remaining delta is scaled down to an L2 bound, fixed (`clip_norm`) or
//     adaptive (`clip_multiplier` times the median norm of the accepted updates), as in Sun et al.
//     2019, "Can You Really Backdoor Federated Learning?" (norm difference clipping).
//  4. Aggregate check: a candidate model with a non-finite weight or one beyond `max_weight_abs`
//     is never applied (CheckAggregate).
//
// Norms are computed in double: a delta of FLT_MAX values has an L2 norm that overflows float.
#ifndef FEDSEG_COORDINATOR_UPDATE_SCREEN_H_
#define FEDSEG_COORDINATOR_UPDATE_SCREEN_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "coordinator/strategy.h"

namespace fedseg::coordinator {

struct DefenceConfig {
  bool enabled = true;           // false: updates go to the strategy as sent (for experiments)
  double clip_norm = 0;          // fixed L2 bound on each delta; 0 = adaptive
  double clip_multiplier = 2.0;  // adaptive bound: this times the round's median update norm
  double outlier_factor = 10.0;  // refuse norms / max |value| beyond this times the median
  double max_weight_abs = 1000;  // an aggregate with |weight| beyond this is not applied

  Status Validate() const;
};

struct ScreenedRound {
  std::vector<ClientUpdate> accepted;  // capped and clipped, in input order
  struct Note {
    std::string region;
    std::string what;  // "refused: norm 1.2e+03 is 85.1 x the round's median 14.1"
  };
  std::vector<Note> refused;  // not aggregated
  std::vector<Note> capped;   // weight cut to the round's median count (no declaration)
  double median_norm = 0;     // of all updates, before clipping
  double clip_bound = 0;      // the L2 bound applied (0 when nothing was clipped)
  size_t clipped = 0;         // updates scaled down to clip_bound
};

// Applies defences 1-3 to `updates`. `declared_rows` maps a region to the training rows it
// declared at join; a region missing from it (or with 0) is capped at the round's median count.
ScreenedRound ScreenUpdates(std::vector<ClientUpdate> updates,
                            const std::map<std::string, uint64_t>& declared_rows,
                            const DefenceConfig& config);

// Defence 4: OK when every weight of `candidate` is finite and within max_weight_abs.
Status CheckAggregate(const Eigen::VectorXf& candidate, const DefenceConfig& config);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_UPDATE_SCREEN_H_
