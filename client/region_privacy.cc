#include "client/region_privacy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "client/privacy_policy.h"
#include "common/base/serialization.h"
#include "common/base/sha256.h"

namespace fedseg::client {

Status CheckSeededNoiseAvailable(const RegionConfig& config, const SeededNoiseFactory& seeded) {
  if (config.insecure_seeded_noise && !seeded) {
    return Status::FailedPrecondition(
        "privacy.insecure_seeded_noise is set, but this is a release build of fedseg-client: "
        "seeded (predictable) DP noise gives no privacy and exists only in the test build "
        "fedseg-client-seeded-noise (compiled with FEDSEG_INSECURE_TEST_NOISE); remove the key");
  }
  return Status::OK();
}

Result<std::unique_ptr<privacy::LedgerWriter>> OpenRegionLedger(const RegionConfig& config,
                                                                const std::string& run_id) {
  if (config.ledger.empty()) {
    return Status::FailedPrecondition("privacy.ledger is not set: the region has no ledger");
  }
  FEDSEG_ASSIGN_OR_RETURN(privacy::AccountantKind accountant,
                          privacy::ParseAccountantKind(config.accountant));
  FEDSEG_ASSIGN_OR_RETURN(std::unique_ptr<privacy::LedgerWriter> ledger,
                          privacy::LedgerWriter::Open(config.ledger, config.LedgerKeyPath(),
                                                      config.region, run_id, accountant));
  // The genesis entry's budget is the region's lifetime budget: a config that states another
  // one was edited after `ledger init` (raising it would hand the region a fresh budget).
  if (ledger->epsilon_budget() != config.epsilon_budget || ledger->budget_delta() != config.delta) {
    auto shown = [](double v) { return nlohmann::json(v).dump(); };  // shortest exact form
    return Status::FailedPrecondition(
        "privacy.epsilon_budget " + shown(config.epsilon_budget) + " and privacy.delta " +
        shown(config.delta) + " differ from the budget " + shown(ledger->epsilon_budget()) +
        " at delta " + shown(ledger->budget_delta()) + " recorded in ledger " + config.ledger +
        " when it was created; the ledger's budget is the region's lifetime budget");
  }
  return ledger;
}

Result<std::unique_ptr<RegionPrivacy>> RegionPrivacy::Create(const RegionConfig& config,
                                                             size_t n_train,
                                                             const std::string& run_id,
                                                             const SeededNoiseFactory& seeded) {
  if (n_train == 0) return Status::FailedPrecondition("no training rows");
  std::unique_ptr<RegionPrivacy> p(new RegionPrivacy());
  p->run_id_ = run_id;
  p->n_train_ = n_train;
  p->budget_ = config.epsilon_budget;
  p->threads_ = config.threads;
  p->max_sigma_ = config.max_noise_multiplier;
  p->min_sigma_ = config.dp_mode() ? config.min_noise_multiplier : 0.0;
  // The operator's delta (privacy.delta, default 1e-6). Never derived from the row count: a delta
  // computed from n would publish n in every epsilon figure the region reports.
  if (!(config.delta > 0 && config.delta < 1)) {
    return Status::InvalidArgument("privacy.delta must be in (0, 1)");
  }
  p->delta_ = config.delta;
  p->public_rows_ = PublicRowCount(n_train, config.row_count_bucket);
  p->evaluation_.noise_multiplier = config.evaluation_noise_multiplier;
  p->evaluations_reserved_ = config.evaluation == "noisy" ? config.evaluations_reserved : 0;
  FEDSEG_RETURN_IF_ERROR(CheckSeededNoiseAvailable(config, seeded));
  if (config.insecure_seeded_noise) {
    p->noise_ = seeded(config.noise_seed);
  } else {
    FEDSEG_ASSIGN_OR_RETURN(p->noise_, privacy::MakeNoiseSource());
  }
  if (!config.dp_mode()) {
    // Mode none: the region opted out of differential privacy and has no budget to account
    // against, so it keeps no ledger (a coordinator's DP-SGD plan is followed, unrecorded).
    return p;
  }
  FEDSEG_ASSIGN_OR_RETURN(p->ledger_, OpenRegionLedger(config, run_id));
  auto current = p->ledger_->CurrentEpsilon(p->delta_);
  if (current.ok()) p->spent_ = current->epsilon;
  return p;
}

Status RegionPrivacy::SetPlan(const protocol::TrainingPlan& plan) {
  if (have_plan_) return Status::OK();  // fixed once per run (a re-sent Setup changes nothing)
  // The plan comes from the coordinator: its DP-SGD parameters are checked here, once.
  Result<privacy::DpSgdParams> params =
      privacy::DpSgdParams::Create(plan.dp_clip_norm, plan.dp_noise_multiplier);
  if (!params.ok()) return params.status().WithContext("the training plan's DP-SGD parameters");
  plan_ = plan;
  params_ = *params;
  const DpSgdRoundShape shape = RoundShape(plan, public_rows_);
  q_ = shape.sampling_rate;
  steps_per_round_ = shape.steps;
  if (params_->noise_multiplier() > 0) {
    sigma_ = params_->noise_multiplier();
  } else if (budget_ <= 0) {
    return Status::InvalidArgument(
        "the federation trains with DP-SGD but this region has no privacy.epsilon_budget and the "
        "coordinator set no noise multiplier");
  }
  have_plan_ = true;
  return Status::OK();
}

Result<data::DataSummary> RegionPrivacy::ReleaseSummary(
    const data::RawDataset& train, double noise_multiplier,
    const std::map<std::string, std::vector<double>>& bounds, uint32_t round) {
  privacy::StatsPrivacyConfig sc;
  sc.noise_multiplier = noise_multiplier;
  for (const auto& [col, b] : bounds) {
    if (b.size() == 2) sc.bounds[col] = {b[0], b[1]};
  }
  // Category names pass Gaussian partition selection, whose failure probability is a delta of
  // its own: kSelectionShareOfDelta of the region's delta per summary, split over the categorical
  // columns, and recorded in the ledger entry so every epsilon after it is stated at what is left.
  int categorical = 0;
  for (const data::RawColumn& c : train.features) {
    categorical += c.type == data::ColumnType::kCategorical;
  }
  if (categorical > 0) sc.selection_delta = delta_ * kSelectionShareOfDelta / categorical;
  FEDSEG_ASSIGN_OR_RETURN(privacy::PrivateSummary ps,
                          privacy::PrivateSummarize(train, sc, *noise_));
  privacy::LedgerRelease r;
  r.round = round;
  r.mechanism = "gaussian";
  r.delta = delta_;
  // `count` Gaussian mechanisms, each with noise sigma times its own sensitivity: clip_norm 1 is
  // that normalised sensitivity (the ledger's "gaussian" entry, docs/ledger.md).
  r.params = {{"noise_multiplier", noise_multiplier},
              {"count", ps.mechanisms},
              {"clip_norm", 1.0},
              {"sensitivity",
               "preprocessing statistics: counts and histograms (1), sums clipped to public "
               "bounds (B), sums of squares (B^2); noise sigma times each group's sensitivity"}};
  if (ps.categorical_columns > 0 && noise_multiplier > 0) {
    r.params["selection_delta"] = sc.selection_delta * ps.categorical_columns;
  }
  if (!ledger_) return ps.summary;  // mode none: no ledger (see Create)
  FEDSEG_ASSIGN_OR_RETURN(privacy::EpsilonResult after, ledger_->EpsilonIfAppended(r));
  if (budget_ > 0 && after.epsilon > budget_) {
    return Status::ResourceExhausted("releasing the data summary would bring epsilon to " +
                                     std::to_string(after.epsilon) + ", over the budget " +
                                     std::to_string(budget_));
  }
  r.model_sha256 = Sha256Hex(Serialize(ps.summary));
  FEDSEG_ASSIGN_OR_RETURN(nlohmann::json entry, ledger_->Append(r));
  spent_ = entry.value("epsilon_after", after.epsilon);
  return ps.summary;
}

Result<double> RegionPrivacy::Calibrate(uint32_t round) {
  if (!ledger_) return Status::FailedPrecondition("no ledger to calibrate against (mode none)");
  // Spend what is left of the budget evenly over the rounds left in this run: the smallest sigma
  // whose total epsilon (earlier ledger entries included) stays within the budget.
  const int64_t rounds_left =
      std::max<int64_t>(1, plan_.total_rounds - static_cast<int64_t>(round) + 1);
  privacy::LedgerRelease r;
  r.round = round;
  r.mechanism = "sampled_gaussian";
  r.delta = delta_;
  r.model_sha256 = std::string(64, '0');  // a what-if release: the hash does not change epsilon
  auto eps_for = [&](double sigma, privacy::AccountantKind kind) -> Result<double> {
    r.params = {{"sampling_rate", q_},
                {"noise_multiplier", sigma},
                {"clip_norm", params_->clip_norm()},
                {"steps", steps_per_round_ * rounds_left}};
    std::vector<privacy::LedgerRelease> all = Reserved(round);
    all.insert(all.begin(), r);
    FEDSEG_ASSIGN_OR_RETURN(privacy::EpsilonResult e, ledger_->EpsilonIfAppended(all, kind));
    return e.epsilon;
  };
  // RDP first (cheap to evaluate); a PLD calibration then starts from its answer, which it
  // normally meets with room to spare (PLD is tighter), and bisects to 1e-3 (each PLD evaluation
  // is a composition; the round deadline must allow for the calibration).
  const privacy::AccountantKind rdp = privacy::AccountantKind::kRdp;
  double lo = 0.3, hi = 1e3;
  FEDSEG_ASSIGN_OR_RETURN(double eps_hi, eps_for(hi, rdp));
  if (eps_hi > budget_) {
    return Status::ResourceExhausted("privacy budget " + std::to_string(budget_) +
                                     " cannot cover " + std::to_string(rounds_left) +
                                     " more rounds even with noise multiplier 1000");
  }
  FEDSEG_ASSIGN_OR_RETURN(double eps_lo, eps_for(lo, rdp));
  if (eps_lo > budget_) {
    for (int i = 0; i < 60 && hi / lo > 1.0 + 1e-6; ++i) {
      const double mid = std::sqrt(lo * hi);
      FEDSEG_ASSIGN_OR_RETURN(double e, eps_for(mid, rdp));
      (e <= budget_ ? hi : lo) = mid;
    }
  } else {
    hi = lo;
  }
  const privacy::AccountantKind kind = ledger_->accountant();
  if (kind == rdp) return hi;  // the upper end meets the budget
  constexpr double kFloor = 0.3, kStep = 1.1, kTolerance = 1e-3;
  for (int i = 0;; ++i) {  // make hi meet the budget under PLD (almost always at once)
    FEDSEG_ASSIGN_OR_RETURN(double e, eps_for(hi, kind));
    if (e <= budget_) break;
    if (i >= 40) {
      return Status::ResourceExhausted("privacy budget " + std::to_string(budget_) +
                                       " cannot be met under the PLD accountant");
    }
    hi *= kStep;
  }
  lo = hi;
  while (lo > kFloor) {  // and lo miss it
    lo = std::max(kFloor, lo / kStep);
    FEDSEG_ASSIGN_OR_RETURN(double e, eps_for(lo, kind));
    if (e > budget_) break;
    hi = lo;
  }
  while (hi / lo > 1.0 + kTolerance) {
    const double mid = std::sqrt(lo * hi);
    FEDSEG_ASSIGN_OR_RETURN(double e, eps_for(mid, kind));
    (e <= budget_ ? hi : lo) = mid;
  }
  return hi;  // meets the budget under PLD
}

Result<RegionPrivacy::RoundPlan> RegionPrivacy::PlanRound(uint32_t round) {
  RoundPlan plan;
  if (!have_plan_) return Status::FailedPrecondition("DP-SGD round before the training plan");
  if (exhausted_) {
    plan.decline = true;
    plan.reason = "privacy budget exhausted";
    return plan;
  }
  if (sigma_ <= 0) {
    auto s = Calibrate(round);
    if (!s.ok()) {
      exhausted_ = true;
      plan.decline = true;
      plan.reason = s.status().message();
      return plan;
    }
    // Never below the region's floor: more noise than the budget needs spends less of it.
    sigma_ = std::max(*s, min_sigma_);
  }
  if (sigma_ > max_sigma_) {
    // The sigma itself stays in the local log: through q = batch / n it depends on the row count.
    exhausted_ = true;
    plan.decline = true;
    plan.reason =
        "noise ceiling: the noise this region would need is above its "
        "privacy.max_noise_multiplier, "
        "so its updates would be mostly noise";
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "noise multiplier %.4g needed, ceiling %.4g (spent epsilon %.4f of %.4f)", sigma_,
                  max_sigma_, spent_, budget_);
    plan.detail = buf;
    return plan;
  }
  // This round's parameters: the plan's clip norm with the fixed or calibrated sigma.
  FEDSEG_ASSIGN_OR_RETURN(privacy::DpSgdParams created,
                          privacy::DpSgdParams::Create(params_->clip_norm(), sigma_));
  FEDSEG_ASSIGN_OR_RETURN(privacy::DpSgdParams round_params,
                          created.WithSampling(q_, steps_per_round_));
  plan.dp.sampling_rate = round_params.sampling_rate();
  plan.dp.noise_multiplier = round_params.noise_multiplier();
  plan.dp.clip_norm = round_params.clip_norm();
  plan.dp.steps = round_params.steps();
  plan.dp.optimizer = plan_.optimizer;
  plan.dp.proximal_mu = plan_.proximal_mu;  // post-processing: no privacy cost (dp_sgd.h)
  plan.dp.threads = threads_;
  plan.dp.expected_batch = q_ * static_cast<double>(public_rows_);
  plan.release.round = round;
  plan.release.mechanism = "sampled_gaussian";
  plan.release.delta = delta_;
  plan.release.model_sha256 = std::string(64, '0');  // replaced by the real hash in Record()
  plan.release.params = {{"sampling_rate", q_},
                         {"noise_multiplier", sigma_},
                         {"clip_norm", params_->clip_norm()},
                         {"steps", steps_per_round_}};
  if (!ledger_) return plan;  // mode none: no budget, no ledger (see Create)
  FEDSEG_ASSIGN_OR_RETURN(privacy::EpsilonResult after, ledger_->EpsilonIfAppended(plan.release));
  plan.epsilon_after = after.epsilon;
  // The round must also leave the budget of the evaluations the region keeps it for.
  std::vector<privacy::LedgerRelease> with_reserve = Reserved(round);
  with_reserve.insert(with_reserve.begin(), plan.release);
  FEDSEG_ASSIGN_OR_RETURN(privacy::EpsilonResult reserved,
                          ledger_->EpsilonIfAppended(with_reserve, ledger_->accountant()));
  if (budget_ > 0 && reserved.epsilon > budget_ * (1 + 1e-9) && after.epsilon <= budget_) {
    exhausted_ = true;
    plan.decline = true;
    plan.reason =
        "privacy budget: the rest is kept for the reserved evaluation "
        "(privacy.evaluations_reserved)";
    return plan;
  }
  if (budget_ > 0 && after.epsilon > budget_ * (1 + 1e-9)) {
    exhausted_ = true;
    plan.decline = true;
    plan.reason = OverBudgetReason("round", after.epsilon);
  }
  return plan;
}

Status RegionPrivacy::Record(const RoundPlan& plan, const std::string& model_sha256) {
  if (!ledger_) return Status::OK();  // mode none
  privacy::LedgerRelease r = plan.release;
  r.model_sha256 = model_sha256;
  FEDSEG_ASSIGN_OR_RETURN(nlohmann::json entry, ledger_->Append(r));
  spent_ = entry.value("epsilon_after", plan.epsilon_after);
  return Status::OK();
}

std::string RegionPrivacy::OverBudgetReason(const char* release, double epsilon_after) const {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "privacy budget: this %s would bring epsilon to %.4f, over the budget %.4f "
                "(spent %.4f, delta %.3g)",
                release, epsilon_after, budget_, spent_, delta_);
  return buf;
}

privacy::LedgerRelease RegionPrivacy::EvaluationLedgerEntry(uint32_t round) const {
  privacy::LedgerRelease r;
  r.round = round;
  r.mechanism = "gaussian";
  r.delta = delta_;
  r.model_sha256 = std::string(64, '0');  // replaced by the summary's hash when recorded
  // Three Gaussian mechanisms, each with noise sigma times its own sensitivity (clip_norm 1 is
  // that normalised sensitivity, as for the data summary).
  r.params = {{"noise_multiplier", evaluation_.noise_multiplier},
              {"count", 3},
              {"clip_norm", 1.0},
              {"sensitivity",
               "evaluation: confusion matrix (1), score histograms (sqrt(K)), loss total clipped "
               "at ln 100 nats per row; noise sigma times each group's sensitivity"}};
  return r;
}

std::vector<privacy::LedgerRelease> RegionPrivacy::Reserved(uint32_t round) const {
  std::vector<privacy::LedgerRelease> out;
  for (int i = 0; i < evaluations_reserved_; ++i) out.push_back(EvaluationLedgerEntry(round));
  return out;
}

Result<RegionPrivacy::EvaluationRelease> RegionPrivacy::ReleaseEvaluation(
    const ml::Mlp& model, const data::EncodedData& test, uint32_t round) {
  if (!ledger_) return Status::FailedPrecondition("a noisy evaluation needs the ledger (mode dp)");
  EvaluationRelease out;
  privacy::LedgerRelease r = EvaluationLedgerEntry(round);
  FEDSEG_ASSIGN_OR_RETURN(privacy::EpsilonResult after, ledger_->EpsilonIfAppended(r));
  if (budget_ > 0 && after.epsilon > budget_ * (1 + 1e-9)) {
    out.decline = true;
    out.reason = OverBudgetReason("evaluation", after.epsilon);
    return out;
  }
  FEDSEG_ASSIGN_OR_RETURN(privacy::PrivateEvaluation pe,
                          privacy::PrivateEvaluate(model, test, evaluation_, *noise_));
  r.model_sha256 = Sha256Hex(Serialize(pe.summary));
  // Recorded before the summary leaves the region.
  FEDSEG_ASSIGN_OR_RETURN(nlohmann::json entry, ledger_->Append(r));
  spent_ = entry.value("epsilon_after", after.epsilon);
  if (evaluations_reserved_ > 0) --evaluations_reserved_;
  out.summary = std::move(pe.summary);
  return out;
}

}  // namespace fedseg::client
