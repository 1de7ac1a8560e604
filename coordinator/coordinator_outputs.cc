// What the coordinator records and writes: the run record (per-round training figures, the
// federated evaluation of each model, per-region results), and from it the checkpoint's history,
// report.json, report.html, metrics.csv and the live status snapshot; and the privacy console line.
#include <cstdio>
#include <string>

#include "common/base/file_util.h"
#include "coordinator/checkpoint.h"
#include "coordinator/coordinator.h"
#include "coordinator/record/run_status.h"
#include "coordinator/report/report_html.h"

namespace fedseg::coordinator {

StatusSnapshot Coordinator::Snapshot() const {
  // kStatusPhases lists the phases in the order of the Phase enum.
  static_assert(std::size(kStatusPhases) == static_cast<size_t>(Phase::kDone) + 1);
  const auto now = Clock::now();
  StatusSnapshot s;
  s.run_id = record_.run_id;
  s.status = std::string(RunStatusName(status_));
  s.phase = std::string(kStatusPhases[static_cast<int>(phase_)]);
  s.round = round_;
  s.rounds_total = config_.rounds();
  s.completed_rounds = completed_round_;
  s.min_regions = config_.min_regions;
  const bool in_round = phase_ == Phase::kRound || phase_ == Phase::kFinalEvaluation;
  s.updates_received = in_round ? SelectedReplied() : 0;
  if (phase_ == Phase::kRound) {
    s.round_elapsed_s = std::chrono::duration<double>(now - round_started_).count();
  }
  s.last_round_seconds = last_round_seconds_;
  for (const RoundResult& h : record_.rounds) {
    if (h.training) s.round_seconds.push_back(h.training->seconds);
  }
  s.bytes_received = bytes_received_;
  s.uptime_s = std::chrono::duration<double>(now - started_).count();
  s.start_time_unix_s = std::chrono::duration<double>(started_wall_.time_since_epoch()).count();
  // The newest evaluated model, and the training loss of the last completed round.
  for (size_t i = record_.rounds.size(); i-- > 0;) {
    if (!record_.rounds[i].evaluation) continue;
    s.evaluated_round = static_cast<uint32_t>(i);
    s.last_evaluation = record_.rounds[i].evaluation->global;
    break;
  }
  // Under DP-SGD regions keep their training loss local (it is not covered by the accountant), so
  // the recorded 0 would mislead.
  if (!config_.plan.dp && completed_round_ > 0 && completed_round_ < record_.rounds.size() &&
      record_.rounds[completed_round_].training) {
    s.train_loss = record_.rounds[completed_round_].training->train_loss;
  }
  for (const auto& [name, r] : registry_.regions()) {
    RegionStatus rs;
    rs.name = name;
    rs.connected = r.connected;
    rs.selected = in_round && selected_.count(name) > 0;
    rs.replied = in_round && replied_.count(name) > 0;
    rs.retired = r.result.retired;
    rs.rounds_participated = r.result.rounds_participated;
    rs.rounds_missed = r.result.rounds_missed;
    rs.updates_refused = r.result.updates_refused;
    rs.last_refused_round = r.result.last_refused_round;
    rs.epsilon_spent = r.result.epsilon_spent;
    rs.epsilon_budget = r.result.epsilon_budget;
    rs.epsilon_delta = r.result.epsilon_delta;
    s.regions.push_back(std::move(rs));
  }
  if (server_) s.refused = server_->refused_counts();
  for (const auto& [kind, n] : registry_.refused()) s.refused[kind] += n;
  return s;
}

void Coordinator::LogPrivacy(const std::string& when) {
  std::string line;
  char buf[160];
  for (const auto& [name, r] : registry_.regions()) {
    const RegionResult& x = r.result;
    if (x.epsilon_budget <= 0 && x.epsilon_spent <= 0) continue;
    std::snprintf(buf, sizeof buf, "%s%s eps %.4f/%.4f", line.empty() ? "" : ", ", name.c_str(),
                  x.epsilon_spent, x.epsilon_budget);
    line += buf;
    if (!x.declined_rounds.empty()) {
      line += " (declined round " + std::to_string(x.declined_rounds.front()) + ")";
    }
  }
  if (!line.empty()) log_->info("privacy {}: {}", when, line);
}

// ---------------------------------------------------------------------------------------------
// The record

void Coordinator::RecordEvaluation(uint32_t model_round, const EvaluationTally& evals) {
  RoundResult& h = record_.Round(model_round);
  if (evals.empty()) return;
  RoundEvaluation e;
  for (const auto& [name, report] : evals.regions()) {
    e.regions[name] = MetricsBrief::FromReport(report);
  }
  const ml::ClassificationReport rep = ComputeReport(evals.total());
  e.global = MetricsBrief::FromReport(rep);
  e.evaluated_by = evals.size();
  // The full report (per-class metrics, confusion matrix) for the final model.
  if (phase_ == Phase::kFinalEvaluation) {
    e.report = rep.ToJson(schema_.class_names());
  } else if (h.evaluation) {
    e.report = std::move(h.evaluation->report);
  }
  // Said once per model, where an operator looks: the log, report.json's round, and (for the
  // final model) the run's status. The checkpoint is still written, so the run can be resumed
  // with other settings from an earlier round's checkpoint.
  if (auto diverging = DivergenceOf(record_.rounds, model_round, e.global)) {
    e.diverging = *diverging;
    log_->warn(
        "{}: the run is diverging (lower strategy.server_learning_rate or "
        "training.learning_rate; checkpoint-round-*.fsc keeps earlier models)",
        e.diverging);
  }
  h.evaluation = std::move(e);
}

void Coordinator::RecordRound(uint64_t examples, double loss, double secs) {
  RoundTraining t;
  t.selected = selected_.size();
  t.updates = updates_.size();
  t.examples = examples;
  t.train_loss = loss;
  t.seconds = secs;
  for (const ClientUpdate& u : updates_) t.participants.push_back(u.region);
  t.refused.assign(round_refused_.begin(), round_refused_.end());
  round_refused_.clear();
  record_.Round(round_).training = std::move(t);
}

void Coordinator::RefreshRecord() {
  record_.status = std::string(RunStatusName(status_));
  record_.status_detail = status_detail_;
  record_.completed_round = completed_round_;
  record_.config = config_.ToJson();
  record_.bytes_received = bytes_received_;
  record_.regions.clear();
  for (const auto& [name, r] : registry_.regions()) {
    RegionResult x = r.result;
    x.connected = r.connected;
    record_.regions.emplace(name, std::move(x));
  }
  if (have_schema_) {
    record_.model = ModelFacts{spec_.ToString(), spec_.num_params(), schema_.class_names()};
  }
  if (final_evaluated_ && completed_round_ < record_.rounds.size()) {
    record_.final_round = record_.rounds[completed_round_];
  }
  if (server_) record_.refused_connections = server_->refused_counts();
}

Status Coordinator::RestoreRecord(const Checkpoint& ck, const std::string& where) {
  FEDSEG_ASSIGN_OR_RETURN(CheckpointRecord restored, RestoreRunRecord(ck, where));
  record_.rounds = std::move(restored.rounds);
  std::map<std::string, RegionResult>& results = restored.regions;
  // Regions of the checkpoint that the config no longer lists are dropped, as before.
  for (auto& [name, r] : registry_.regions()) {
    auto it = results.find(name);
    if (it == results.end()) continue;
    r.result = std::move(it->second);
    r.result.connected = false;
  }
  return Status::OK();
}

Status Coordinator::WriteCheckpoint() {
  RefreshRecord();
  Checkpoint c;
  c.run_id = record_.run_id;
  c.completed_round = completed_round_;
  c.schema = schema_;
  c.spec = spec_;
  c.weights.assign(global_.data(), global_.data() + global_.size());
  c.strategy_state = strategy_->SaveState();
  StoreRunRecord(record_, &c);
  // The per-round copy first: checkpoint.fsc, what a plain --resume reads, names a round whose
  // copy exists.
  FEDSEG_RETURN_IF_ERROR(
      SaveCheckpoint(RoundCheckpointPath(run_dir_->path(), completed_round_), c, *checkpoint_key_));
  FEDSEG_RETURN_IF_ERROR(SaveCheckpoint(run_dir_->checkpoint_path(), c, *checkpoint_key_));
  PruneRoundCheckpoints(run_dir_->path(), completed_round_, config_.checkpoints_kept);
  return Status::OK();
}

void Coordinator::WriteReport() {
  RefreshRecord();
  Status st = WriteFileAtomic(run_dir_->report_json_path(), record_.ToJson().dump(2));
  if (!st.ok()) log_->error("cannot write report.json: {}", st.message());
  // The same report as a self-contained page, kept in step with report.json.
  st = WriteReportHtml(run_dir_->report_html_path(), record_);
  if (!st.ok()) log_->error("cannot write report.html: {}", st.message());
  // metrics.csv: one row per (model round, scope).
  st = WriteFileAtomic(run_dir_->metrics_csv_path(), record_.MetricsCsv());
  if (!st.ok()) log_->error("cannot write metrics.csv: {}", st.message());
}

}  // namespace fedseg::coordinator
