// What the live status endpoint shows: a plain-data snapshot of the coordinator's state, and its
// two renderings, the /status JSON document and the /metrics Prometheus text exposition (format
// 0.0.4, https://prometheus.io/docs/instrumenting/exposition_formats/).
//
// The coordinator fills a snapshot on its own thread (Coordinator::Snapshot), so the status server
// never reaches into coordinator internals and needs no locks. Rendering is a pure function of the
// snapshot, tested without a network. Every label value comes from a bounded set: region names
// from the config, phase names, and refusal reasons (OpenSSL's verify and TLS reasons, or the
// coordinator's fixed refusal kinds), so a peer cannot grow the number of time series.
#ifndef FEDSEG_COORDINATOR_STATUS_STATUS_SNAPSHOT_H_
#define FEDSEG_COORDINATOR_STATUS_STATUS_SNAPSHOT_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coordinator/record/run_record.h"

namespace fedseg::coordinator {

struct RegionStatus {
  std::string name;  // the region's identity (certificate CN), from the config
  bool connected = false;
  bool selected = false;  // takes part in the current round
  bool replied = false;   // answered the current round
  bool retired = false;   // declined for good (privacy budget exhausted)
  int rounds_participated = 0;
  int rounds_missed = 0;
  int updates_refused = 0;          // updates the update screen refused (defences)
  uint32_t last_refused_round = 0;  // the round of the last refusal (0 if none)
  double epsilon_spent = 0;   // as last reported by the region (0 without DP)
  double epsilon_budget = 0;  // 0 = no budget
  double epsilon_delta = 0;
};

struct StatusSnapshot {
  std::string run_id;
  // The run's status word (run_status.h): "running" until the run ends.
  std::string status = "running";
  // One of kStatusPhases.
  std::string phase;
  uint32_t round = 0;  // current (or next) round
  int rounds_total = 0;
  uint32_t completed_rounds = 0;
  int min_regions = 0;
  size_t updates_received = 0;  // answers received in the current round
  double round_elapsed_s = 0;   // time since the current round started (0 outside a round)
  double last_round_seconds = 0;
  std::vector<double> round_seconds;  // duration of every completed round, oldest first
  uint64_t bytes_received = 0;        // frames received by this process
  double uptime_s = 0;
  double start_time_unix_s = 0;
  // The round of the newest global model with a federated evaluation (0 = the initial model),
  // and that evaluation; absent before the first.
  std::optional<uint32_t> evaluated_round;
  MetricsBrief last_evaluation;  // meaningful when evaluated_round is set
  // Example-weighted training loss of the last completed round (NaN when not finite); absent
  // before the first round and under DP-SGD, where regions keep it (the accountant does not
  // cover it).
  std::optional<double> train_loss;
  std::vector<RegionStatus> regions;  // every configured region, sorted by name
  // Refused connections on the federation port, per reason: TLS-level (TlsServer::refused_counts)
  // and coordinator-level ("unknown region", "identity mismatch", ...).
  std::map<std::string, uint64_t> refused;
};

// Every value StatusSnapshot::phase takes, in the order a run goes through them.
inline constexpr std::string_view kStatusPhases[] = {
    "joining", "summaries", "round", "waiting_for_quorum", "final_evaluation", "done"};

// The /status document.
nlohmann::json StatusJson(const StatusSnapshot& s);

// Its "last_metrics": {"model_round", "rows", "loss", "accuracy", "macro_f1", "positive_f1",
// "roc_auc", "kappa"} of the newest evaluation, plus "train_loss"; null when there is neither.
// Metrics that are not finite are null.
nlohmann::json LastMetricsJson(const StatusSnapshot& s);

// The /metrics body. `status_refused` are the status listener's own refusals per reason.
std::string PrometheusText(const StatusSnapshot& s,
                           const std::map<std::string, uint64_t>& status_refused);

// A label value escaped for the text format: backslash, double quote and line feed.
std::string EscapePrometheusLabel(std::string_view value);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_STATUS_STATUS_SNAPSHOT_H_
