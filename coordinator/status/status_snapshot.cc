#include "coordinator/status/status_snapshot.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "coordinator/record/json_number.h"

namespace fedseg::coordinator {
namespace {

// Upper bounds of the round-duration histogram, in seconds. Rounds last from under a second (small
// models on one machine) to the round deadline (minutes); +Inf is implied.
constexpr double kRoundBuckets[] = {0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600};

// A sample value: Go's ParseFloat syntax, which Prometheus uses (NaN, +Inf, -Inf).
std::string Value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // The shortest text that reads back as exactly v.
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}
std::string Value(uint64_t v) { return std::to_string(v); }

// HELP text escaping: backslash and line feed (quotes stay as they are).
std::string EscapeHelp(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Accumulates the exposition; each family gets HELP and TYPE before its samples.
class Exposition {
 public:
  void Family(const char* name, const char* type, std::string_view help) {
    text_ += "# HELP ";
    text_ += name;
    text_ += ' ';
    text_ += EscapeHelp(help);
    text_ += "\n# TYPE ";
    text_ += name;
    text_ += ' ';
    text_ += type;
    text_ += '\n';
  }
  // `labels` are name/value pairs; values are escaped here.
  void Sample(std::string_view name,
              std::initializer_list<std::pair<const char*, std::string_view>> labels,
              const std::string& value) {
    text_ += name;
    if (labels.size() > 0) {
      text_ += '{';
      bool first = true;
      for (const auto& [label, v] : labels) {
        if (!first) text_ += ',';
        first = false;
        text_ += label;
        text_ += "=\"";
        text_ += EscapePrometheusLabel(v);
        text_ += '"';
      }
      text_ += '}';
    }
    text_ += ' ';
    text_ += value;
    text_ += '\n';
  }
  void Gauge(const char* name, std::string_view help, const std::string& value) {
    Family(name, "gauge", help);
    Sample(name, {}, value);
  }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace

std::string EscapePrometheusLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

nlohmann::json StatusJson(const StatusSnapshot& s) {
  nlohmann::json connected = nlohmann::json::array();
  nlohmann::json selected = nlohmann::json::array();
  nlohmann::json regions = nlohmann::json::object();
  for (const RegionStatus& r : s.regions) {
    if (r.connected) connected.push_back(r.name);
    if (r.selected) selected.push_back(r.name);
    regions[r.name] = {{"connected", r.connected},
                       {"selected", r.selected},
                       {"replied", r.replied},
                       {"retired", r.retired},
                       {"rounds_participated", r.rounds_participated},
                       {"rounds_missed", r.rounds_missed},
                       {"updates_refused", r.updates_refused},
                       {"last_refused_round", r.last_refused_round},
                       {"epsilon_spent", NumberOrNull(r.epsilon_spent)},
                       {"epsilon_budget", NumberOrNull(r.epsilon_budget)},
                       {"epsilon_delta", NumberOrNull(r.epsilon_delta)}};
  }
  return {{"run_id", s.run_id},
          {"status", s.status},
          {"phase", s.phase},
          {"round", s.round},
          {"rounds_total", s.rounds_total},
          {"completed_rounds", s.completed_rounds},
          {"min_regions", s.min_regions},
          {"connected_regions", connected},
          {"selected_regions", selected},
          {"updates_received", s.updates_received},
          {"round_elapsed_s", NumberOrNull(s.round_elapsed_s)},
          {"last_round_seconds", NumberOrNull(s.last_round_seconds)},
          {"last_metrics", LastMetricsJson(s)},
          {"regions", regions},
          {"bytes_received", s.bytes_received},
          {"refused_connections", s.refused},
          {"uptime_s", NumberOrNull(s.uptime_s)}};
}

nlohmann::json LastMetricsJson(const StatusSnapshot& s) {
  nlohmann::json m;
  if (s.evaluated_round) {
    m = s.last_evaluation.ToJson();
    m["model_round"] = *s.evaluated_round;
  }
  if (s.train_loss) {
    if (!m.is_object()) m = nlohmann::json::object();
    m["train_loss"] = NumberOrNull(*s.train_loss);
  }
  return m;
}

std::string PrometheusText(const StatusSnapshot& s,
                           const std::map<std::string, uint64_t>& status_refused) {
  Exposition e;
  e.Family("fedseg_run_info", "gauge", "The run this coordinator drives (always 1).");
  e.Sample("fedseg_run_info", {{"run_id", s.run_id}}, "1");
  e.Gauge("fedseg_start_time_seconds", "Unix time the coordinator process started.",
          Value(s.start_time_unix_s));
  e.Gauge("fedseg_uptime_seconds", "Seconds since the coordinator process started.",
          Value(s.uptime_s));

  e.Family("fedseg_phase", "gauge", "Current phase of the run: 1 for the current phase, else 0.");
  for (std::string_view p : kStatusPhases) {
    e.Sample("fedseg_phase", {{"phase", p}}, p == s.phase ? "1" : "0");
  }
  e.Gauge("fedseg_round", "Current (or next) round number.", Value(uint64_t{s.round}));
  e.Gauge("fedseg_rounds_planned", "Rounds the run is configured for (training.rounds).",
          Value(static_cast<uint64_t>(std::max(0, s.rounds_total))));
  e.Family("fedseg_rounds_completed_total", "counter",
           "Rounds aggregated and checkpointed (including those before a resume).");
  e.Sample("fedseg_rounds_completed_total", {}, Value(uint64_t{s.completed_rounds}));

  e.Family("fedseg_round_duration_seconds", "histogram",
           "Duration of completed rounds, from round start to aggregation.");
  double sum = 0;
  for (double v : s.round_seconds) sum += v;
  for (double bound : kRoundBuckets) {
    uint64_t n = 0;
    for (double v : s.round_seconds) n += v <= bound;
    e.Sample("fedseg_round_duration_seconds_bucket", {{"le", Value(bound)}}, Value(n));
  }
  e.Sample("fedseg_round_duration_seconds_bucket", {{"le", "+Inf"}},
           Value(uint64_t{s.round_seconds.size()}));
  e.Sample("fedseg_round_duration_seconds_sum", {}, Value(sum));
  e.Sample("fedseg_round_duration_seconds_count", {}, Value(uint64_t{s.round_seconds.size()}));
  e.Gauge("fedseg_last_round_duration_seconds", "Duration of the last completed round.",
          Value(s.last_round_seconds));
  e.Gauge("fedseg_current_round_elapsed_seconds",
          "Seconds since the current round started (0 outside a round).", Value(s.round_elapsed_s));

  e.Family("fedseg_bytes_received_total", "counter",
           "Bytes of frames (header and payload) received from regions by this process.");
  e.Sample("fedseg_bytes_received_total", {}, Value(s.bytes_received));

  uint64_t connected = 0, selected = 0;
  for (const RegionStatus& r : s.regions) {
    connected += r.connected;
    selected += r.selected;
  }
  e.Gauge("fedseg_configured_regions", "Regions allowed by the config.",
          Value(uint64_t{s.regions.size()}));
  e.Gauge("fedseg_connected_regions", "Regions with an authenticated connection.",
          Value(connected));
  e.Gauge("fedseg_selected_regions", "Regions selected for the current round.", Value(selected));
  e.Gauge("fedseg_updates_received", "Answers received in the current round.",
          Value(uint64_t{s.updates_received}));
  e.Gauge("fedseg_min_regions", "Quorum: updates a round needs (federation.min_regions).",
          Value(static_cast<uint64_t>(std::max(0, s.min_regions))));

  e.Family("fedseg_region_connected", "gauge", "1 while the region is connected, else 0.");
  for (const RegionStatus& r : s.regions) {
    e.Sample("fedseg_region_connected", {{"region", r.name}}, r.connected ? "1" : "0");
  }
  e.Family("fedseg_region_rounds_participated_total", "counter",
           "Rounds whose aggregate includes the region's update.");
  for (const RegionStatus& r : s.regions) {
    e.Sample("fedseg_region_rounds_participated_total", {{"region", r.name}},
             Value(static_cast<uint64_t>(std::max(0, r.rounds_participated))));
  }
  e.Family("fedseg_region_updates_refused_total", "counter",
           "Updates of the region the coordinator's update screen refused (defences).");
  for (const RegionStatus& r : s.regions) {
    e.Sample("fedseg_region_updates_refused_total", {{"region", r.name}},
             Value(static_cast<uint64_t>(std::max(0, r.updates_refused))));
  }
  e.Family("fedseg_region_epsilon", "gauge",
           "Differential-privacy epsilon the region reports having spent (0 without DP).");
  for (const RegionStatus& r : s.regions) {
    e.Sample("fedseg_region_epsilon", {{"region", r.name}}, Value(r.epsilon_spent));
  }
  e.Family("fedseg_region_epsilon_budget", "gauge",
           "The region's epsilon budget (0 = none reported).");
  for (const RegionStatus& r : s.regions) {
    e.Sample("fedseg_region_epsilon_budget", {{"region", r.name}}, Value(r.epsilon_budget));
  }
  e.Family("fedseg_region_delta", "gauge", "Delta of the region's (epsilon, delta) guarantee.");
  for (const RegionStatus& r : s.regions) {
    e.Sample("fedseg_region_delta", {{"region", r.name}}, Value(r.epsilon_delta));
  }

  if (const nlohmann::json m = LastMetricsJson(s); m.is_object()) {
    auto metric = [&](const char* name, const char* key, const char* help) {
      const auto it = m.find(key);
      if (it == m.end() || it->is_null()) return;  // not computed (e.g. AUC of one class)
      if (!it->is_number()) return;
      e.Gauge(name, help, Value(it->get<double>()));
    };
    metric("fedseg_model_evaluated_round", "model_round",
           "Round of the newest global model with a federated evaluation (0 = initial model).");
    metric("fedseg_model_loss", "loss", "Federated evaluation of that model: log loss.");
    metric("fedseg_model_accuracy", "accuracy", "Federated evaluation of that model: accuracy.");
    metric("fedseg_model_roc_auc", "roc_auc", "Federated evaluation of that model: ROC AUC.");
    metric("fedseg_model_macro_f1", "macro_f1", "Federated evaluation of that model: macro F1.");
    metric("fedseg_model_positive_f1", "positive_f1",
           "Federated evaluation of that model: F1 of the positive class.");
    metric("fedseg_model_kappa", "kappa", "Federated evaluation of that model: Cohen's kappa.");
    metric("fedseg_train_loss", "train_loss",
           "Mean local training loss of the last completed round, weighted by examples.");
  }

  e.Family("fedseg_refused_connections_total", "counter",
           "Connections refused, per listener (federation or status) and reason.");
  for (const auto& [reason, n] : s.refused) {
    e.Sample("fedseg_refused_connections_total", {{"listener", "federation"}, {"reason", reason}},
             Value(n));
  }
  for (const auto& [reason, n] : status_refused) {
    e.Sample("fedseg_refused_connections_total", {{"listener", "status"}, {"reason", reason}},
             Value(n));
  }
  return e.Take();
}

}  // namespace fedseg::coordinator
