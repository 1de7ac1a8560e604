// What the coordinator records and writes: the run history (per-round training figures and the
// federated evaluation of each model), the per-region accounting, the checkpoint, report.json,
// report.html and metrics.csv, the privacy console line, and the live status snapshot.
#include <cmath>
#include <cstdio>
#include <string>

#include "common/base/file_util.h"
#include "coordinator/checkpoint.h"
#include "coordinator/coordinator.h"
#include "coordinator/report/report_html.h"

namespace fedseg::coordinator {
namespace {

nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json Brief(const ml::ClassificationReport& r) {
  return {{"rows", r.count},         {"loss", Num(r.log_loss)},       {"accuracy", Num(r.accuracy)},
          {"macro_f1", Num(r.macro_f1)}, {"positive_f1", Num(r.positive_f1)},
          {"roc_auc", Num(r.roc_auc)},   {"kappa", Num(r.cohen_kappa)}};
}

}  // namespace

StatusSnapshot Coordinator::Snapshot() const {
  // kStatusPhases lists the phases in the order of the Phase enum.
  static_assert(std::size(kStatusPhases) == static_cast<size_t>(Phase::kDone) + 1);
  const auto now = Clock::now();
  StatusSnapshot s;
  s.run_id = run_id_;
  s.phase = std::string(kStatusPhases[static_cast<int>(phase_)]);
  s.round = round_;
  s.rounds_total = config_.rounds;
  s.completed_rounds = completed_round_;
  s.min_regions = config_.min_regions;
  const bool in_round = phase_ == Phase::kRound || phase_ == Phase::kFinalEvaluation;
  s.updates_received = in_round ? replied_.size() : 0;
  if (phase_ == Phase::kRound) {
    s.round_elapsed_s = std::chrono::duration<double>(now - round_started_).count();
  }
  s.last_round_seconds = last_round_seconds_;
  for (const nlohmann::json& h : history_) {
    const auto it = h.find("seconds");
    if (it != h.end() && it->is_number()) s.round_seconds.push_back(it->get<double>());
  }
  s.bytes_received = bytes_received_;
  s.uptime_s = std::chrono::duration<double>(now - started_).count();
  s.start_time_unix_s = std::chrono::duration<double>(started_wall_.time_since_epoch()).count();
  // The newest evaluated model, and the training loss of the last completed round.
  for (size_t i = history_.size(); i-- > 0;) {
    if (!history_[i].contains("global")) continue;
    s.last_metrics = history_[i]["global"];
    s.last_metrics["model_round"] = i;
    break;
  }
  // Under DP-SGD regions keep their training loss local (it is not covered by the accountant), so
  // the recorded 0 would mislead.
  if (!config_.plan.dp && completed_round_ > 0 && history_.size() > completed_round_ &&
      history_[completed_round_].contains("train_loss")) {
    if (!s.last_metrics.is_object()) s.last_metrics = nlohmann::json::object();
    s.last_metrics["train_loss"] = history_[completed_round_]["train_loss"];
  }
  for (const auto& [name, r] : registry_.regions()) {
    RegionStatus rs;
    rs.name = name;
    rs.connected = r.connected;
    rs.selected = in_round && selected_.count(name) > 0;
    rs.replied = in_round && replied_.count(name) > 0;
    rs.retired = r.retired;
    rs.rounds_participated = r.rounds_participated;
    rs.rounds_missed = r.rounds_missed;
    rs.epsilon_spent = r.epsilon_spent;
    rs.epsilon_budget = r.epsilon_budget;
    rs.epsilon_delta = r.epsilon_delta;
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
    if (r.epsilon_budget <= 0 && r.epsilon_spent <= 0) continue;
    std::snprintf(buf, sizeof buf, "%s%s eps %.4f/%.4f", line.empty() ? "" : ", ", name.c_str(),
                  r.epsilon_spent, r.epsilon_budget);
    line += buf;
    if (!r.declined_rounds.empty()) {
      line += " (declined round " + std::to_string(r.declined_rounds.front()) + ")";
    }
  }
  if (!line.empty()) log_->info("privacy {}: {}", when, line);
}

// ---------------------------------------------------------------------------------------------
// Outputs

void Coordinator::RecordEvaluation(uint32_t model_round, const EvaluationTally& evals) {
  while (history_.size() <= model_round) history_.push_back({{"round", history_.size()}});
  nlohmann::json& h = history_[model_round];
  if (evals.empty()) return;
  nlohmann::json per_region = nlohmann::json::object();
  for (const auto& [name, report] : evals.regions()) per_region[name] = Brief(report);
  ml::ClassificationReport rep = ComputeReport(evals.total());
  h["global"] = Brief(rep);
  h["regions"] = per_region;
  h["evaluated_by"] = evals.size();
  // The full report (per-class metrics, confusion matrix) for the final model.
  if (phase_ == Phase::kFinalEvaluation) h["report"] = rep.ToJson(schema_.class_names());
}

Status Coordinator::WriteCheckpoint() {
  Checkpoint c;
  c.run_id = run_id_;
  c.completed_round = completed_round_;
  c.schema = schema_;
  c.spec = spec_;
  c.weights.assign(global_.data(), global_.data() + global_.size());
  c.strategy_state = strategy_->SaveState();
  c.history_json = history_.dump();
  c.regions_json = RegionsJson().dump();
  return SaveCheckpoint(run_dir_->checkpoint_path(), c);
}

nlohmann::json Coordinator::RegionsJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, r] : registry_.regions()) {
    out[name] = {{"train_rows", r.train_rows},
                 {"test_rows", r.test_rows},
                 {"rounds_participated", r.rounds_participated},
                 {"rounds_missed", r.rounds_missed},
                 {"declined_rounds", r.declined_rounds},
                 {"decline_reason", r.last_decline_reason},
                 {"retired", r.retired},
                 {"epsilon_spent", r.epsilon_spent},
                 {"epsilon_budget", r.epsilon_budget},
                 {"epsilon_by_round", r.epsilon_by_round},
                 {"epsilon_delta", r.epsilon_delta},
                 {"ledger_head", r.ledger_head},
                 {"connected", r.connected}};
  }
  return out;
}

void Coordinator::LoadRegionsJson(const nlohmann::json& j) {
  for (auto& [name, r] : registry_.regions()) {
    if (!j.contains(name)) continue;
    const auto& e = j[name];
    r.train_rows = e.value("train_rows", uint64_t{0});
    r.test_rows = e.value("test_rows", uint64_t{0});
    r.rounds_participated = e.value("rounds_participated", 0);
    r.rounds_missed = e.value("rounds_missed", 0);
    r.declined_rounds = e.value("declined_rounds", std::vector<uint32_t>{});
    r.last_decline_reason = e.value("decline_reason", std::string());
    r.retired = e.value("retired", false);
    r.epsilon_spent = e.value("epsilon_spent", 0.0);
    r.epsilon_budget = e.value("epsilon_budget", 0.0);
    r.epsilon_by_round = e.value("epsilon_by_round", nlohmann::json::object());
    r.epsilon_delta = e.value("epsilon_delta", 0.0);
    r.ledger_head = e.value("ledger_head", std::string());
  }
}

void Coordinator::WriteReport() {
  nlohmann::json report = {{"run_id", run_id_},
                           {"status", phase_ == Phase::kDone ? (exit_code_ == 0 ? "finished" : "failed")
                                                             : "running"},
                           {"completed_round", completed_round_},
                           {"config", config_.ToJson()},
                           {"rounds", history_},
                           {"regions", RegionsJson()},
                           {"bytes_received", bytes_received_}};
  if (have_schema_) {
    report["model"] = {{"architecture", spec_.ToString()},
                       {"parameters", spec_.num_params()},
                       {"classes", schema_.class_names()}};
  }
  if (final_evaluated_ && history_.size() > completed_round_) {
    report["final"] = history_[completed_round_];
  }
  if (server_) report["refused_connections"] = server_->refused_counts();
  Status st = WriteFileAtomic(run_dir_->report_json_path(), report.dump(2));
  if (!st.ok()) log_->error("cannot write report.json: {}", st.message());
  // The same report as a self-contained page, kept in step with report.json.
  st = WriteReportHtml(run_dir_->report_html_path(), report);
  if (!st.ok()) log_->error("cannot write report.html: {}", st.message());

  // metrics.csv: one row per (model round, scope).
  std::string csv = "round,scope,rows,loss,accuracy,macro_f1,positive_f1,roc_auc,kappa\n";
  auto cell = [](const nlohmann::json& v) {
    if (!v.is_number()) return std::string();
    char b[32];
    std::snprintf(b, sizeof b, "%.6f", v.get<double>());
    return std::string(b);
  };
  auto row = [&](size_t round, const std::string& scope, const nlohmann::json& m) {
    csv += std::to_string(round) + "," + scope + "," + std::to_string(m.value("rows", uint64_t{0})) +
           "," + cell(m["loss"]) + "," + cell(m["accuracy"]) + "," + cell(m["macro_f1"]) + "," +
           cell(m["positive_f1"]) + "," + cell(m["roc_auc"]) + "," + cell(m["kappa"]) + "\n";
  };
  for (size_t i = 0; i < history_.size(); ++i) {
    const nlohmann::json& h = history_[i];
    if (!h.contains("global")) continue;
    row(i, "global", h["global"]);
    for (auto it = h["regions"].begin(); it != h["regions"].end(); ++it) row(i, it.key(), it.value());
  }
  st = WriteFileAtomic(run_dir_->metrics_csv_path(), csv);
  if (!st.ok()) log_->error("cannot write metrics.csv: {}", st.message());
}

void Coordinator::RecordRound(uint64_t examples, double loss, double secs) {
  while (history_.size() <= round_) history_.push_back({{"round", history_.size()}});
  nlohmann::json& h = history_[round_];
  h["selected"] = selected_.size();
  h["updates"] = updates_.size();
  h["examples"] = examples;
  h["train_loss"] = Num(loss);
  h["seconds"] = secs;
  nlohmann::json parts = nlohmann::json::array();
  for (const ClientUpdate& u : updates_) parts.push_back(u.region);
  h["participants"] = parts;
}

}  // namespace fedseg::coordinator
