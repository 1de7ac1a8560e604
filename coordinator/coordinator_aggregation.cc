// The coordinator's aggregation path: a round's updates go through the server-side defences
// (update_screen.h), the Strategy aggregates what is accepted into a candidate model, and the
// candidate replaces the global model only if it passes the sanity bound. Every refusal and cap is
// logged with the region's name, and every refusal is recorded (report.json: the region's
// updates_refused and last_refusal, the round's refused).
//
// The quorum (federation.min_regions) counts answers, not accepted updates: FinishRound checks it
// before the screen, and a refused update is an answer. So one region whose updates are always
// refused cannot make every round fail when the quorum is every region; the round goes on with
// the accepted updates, if there is at least one, and says so loudly (docs/security.md,
// "A refused region does not stall the run").
#include <spdlog/spdlog.h>

#include "coordinator/coordinator.h"
#include "coordinator/update_screen.h"

namespace fedseg::coordinator {

Status Coordinator::AggregateRound(std::vector<ClientUpdate>* used) {
  used->clear();
  if (secagg_step_ == SecAggStep::kAggregate) {
    Status st = AggregateSecAggRound(used);
    secagg_step_ = SecAggStep::kOff;
    secagg_.reset();
    secagg_outcome_.reset();
    return st;
  }
  if (config_.defences.enabled) {
    std::map<std::string, uint64_t> declared;
    for (const ClientUpdate& u : updates_) {
      if (const RegionState* r = registry_.Find(u.region))
        declared[u.region] = r->result.train_rows;
    }
    ScreenedRound screened = ScreenUpdates(updates_, declared, config_.defences);
    for (const ScreenedRound::Note& n : screened.refused) {
      log_->warn("round {}: refused the update of region {}: {}", round_, n.region, n.what);
      if (RegionState* r = registry_.Find(n.region)) {
        ++r->result.updates_refused;
        r->result.last_refused_round = round_;
        r->result.last_refusal = n.what;
      }
      round_refused_.insert(n.region);
    }
    for (const ScreenedRound::Note& n : screened.capped) {
      log_->warn("round {}: region {} {} (its declared training rows)", round_, n.region, n.what);
    }
    if (screened.clipped > 0) {
      log_->info(
          "round {}: {} of {} updates scaled down to the L2 bound {:.4g} (median norm {:.4g})",
          round_, screened.clipped, screened.accepted.size(), screened.clip_bound,
          screened.median_norm);
    }
    *used = std::move(screened.accepted);
  } else {
    *used = updates_;
  }
  if (used->empty()) {
    return Status::FailedPrecondition("all " + std::to_string(updates_.size()) +
                                      " updates were refused");
  }
  if (static_cast<int>(used->size()) < config_.min_regions) {
    std::string refused;
    for (const std::string& name : round_refused_) refused += (refused.empty() ? "" : ", ") + name;
    log_->warn("round {}: only {} of {} updates accepted, fewer than the quorum {}: the round "
               "goes on with the accepted ones (the quorum counts answers; refused this round: "
               "{})",
               round_, used->size(), updates_.size(), config_.min_regions, refused);
  }
  return ApplyAggregate(*used);
}

Status Coordinator::ApplyAggregate(const std::vector<ClientUpdate>& updates) {
  const std::vector<float> saved_state = strategy_->SaveState();
  Eigen::VectorXf candidate = global_;
  Status st = strategy_->Aggregate(updates, &candidate);
  if (st.ok()) st = CheckAggregate(candidate, config_.defences);
  if (!st.ok()) {
    // Server optimizer moments must not keep what the refused aggregate taught them.
    Status restored = strategy_->LoadState(saved_state, static_cast<size_t>(global_.size()));
    if (!restored.ok()) return restored.WithContext("restoring the strategy state");
    return st.WithContext("aggregate refused");
  }
  global_ = std::move(candidate);
  return Status::OK();
}

}  // namespace fedseg::coordinator
