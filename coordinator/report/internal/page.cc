#include "coordinator/report/internal/page.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>

#include "common/base/base64.h"
#include "common/base/sha256.h"
#include "coordinator/record/json_number.h"
#include "coordinator/record/run_status.h"
#include "coordinator/report/assets/report_css.h"
#include "coordinator/report/assets/report_js.h"

namespace fedseg::coordinator::internal {

Page::Page(const RunRecord& record, const std::string& unreadable) : record_(record) {
  if (!unreadable.empty()) missing_.push_back(unreadable);
  config_ = record.config.is_object() && !record.config.empty() ? &record.config : nullptr;
  final_ = record.Final();
  if (final_ != nullptr && final_->evaluation && final_->evaluation->report &&
      final_->evaluation->report->is_object()) {
    final_report_ = &*final_->evaluation->report;
  }
  CollectRegionNames();
  // Regions training with DP-SGD keep their training loss local (a statistic of raw rows no
  // accountant covers) and send 0, so the coordinator's mean training loss is meaningless then.
  if (const Json* dp = Find(Find(config_, "privacy"), "dp"); dp != nullptr && dp->is_boolean()) {
    dp_run_ = dp->get<bool>();
  }
  for (const auto& [name, r] : record.regions) {
    if (std::isfinite(r.epsilon_budget) && r.epsilon_budget > 0) dp_run_ = true;
  }
}

double Page::TrainLoss(const RoundResult& round) const {
  return dp_run_ || !round.training ? kNaN : round.training->train_loss;
}

const RegionResult* Page::FindRegion(const std::string& name) const {
  const auto it = record_.regions.find(name);
  return it == record_.regions.end() ? nullptr : &it->second;
}

std::string Page::Render() {
  const std::string header = Header();
  std::string body;
  body += Section("quality", "Global model quality", GlobalQuality());
  body += Section("regions", "Regions", Regions());
  body += Section("privacy", "Differential privacy", Privacy());
  body += Section("final", "Final model", FinalModel());
  body += Section("rounds", "Rounds", RoundsTable());
  if (std::string refused = RefusedUpdates(); !refused.empty()) {
    body += Section("refused-updates", "Refused updates", refused);
  }
  if (std::string refused = Refused(); !refused.empty()) {
    body += Section("connections", "Refused connections", refused);
  }
  body += Section("config", "Configuration", Configuration());

  const std::string title = "fedseg run " + (run_id_.empty() ? std::string("report") : run_id_);
  const Sha256Digest digest = Sha256(kReportJs);
  const std::string csp =
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
      "script-src 'sha256-" +
      Base64Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())) + "'";
  std::string out;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"" + csp + "\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<title>" + HtmlEscape(title) + "</title>\n";
  out += "<style>" + std::string(kReportCss) + "</style>\n";
  out += "<script>" + std::string(kReportJs) + "</script>\n";
  out += "</head>\n<body data-plots-expected=\"" + std::to_string(plots_) + "\">\n";
  out += "<header>\n<h1>fedseg run report</h1>\n";
  out +=
      "<p class=\"run-id\">" + (run_id_.empty() ? "(no run id)" : HtmlEscape(run_id_)) + "</p>\n";
  out +=
      "<nav><a href=\"#quality\">Quality</a><a href=\"#regions\">Regions</a>"
      "<a href=\"#privacy\">Privacy</a><a href=\"#final\">Final model</a>"
      "<a href=\"#rounds\">Rounds</a><a href=\"#config\">Configuration</a></nav>\n";
  out += header;
  out += "</header>\n";
  if (!missing_.empty()) {
    out += "<div class=\"note\" id=\"missing\"><strong>Not in this report.json:</strong><ul>";
    for (const std::string& m : missing_) out += "<li>" + HtmlEscape(m) + "</li>";
    out += "</ul></div>\n";
  }
  out += body;
  out +=
      "<footer>Written by fedseg-coordinator from report.json in the same directory; "
      "re-render with <code>fedseg-coordinator report --run-dir DIR</code>.</footer>\n";
  out += "</body>\n</html>\n";
  return out;
}

std::string Page::Section(const std::string& id, const std::string& title, const std::string& html) {
  return "<section id=\"" + id + "\">\n<h2>" + HtmlEscape(title) + "</h2>\n" + html +
         "</section>\n";
}

std::string Page::Missing(const std::string& what) {
  missing_.push_back(what);
  return "<p class=\"missing\">" + HtmlEscape(what) + ".</p>\n";
}

std::string Page::Figure(const LineChart& chart, const std::string& caption, const std::string& note) {
  std::string svg = RenderLineChart(chart);
  if (svg.empty()) return "";
  ++plots_;
  std::string out = "<figure>\n<figcaption>" + HtmlEscape(caption);
  if (!note.empty()) out += " <small>" + HtmlEscape(note) + "</small>";
  return out + "</figcaption>\n" + svg + "\n</figure>\n";
}

void Page::CollectRegionNames() {
  std::set<std::string> names;
  for (const auto& [name, r] : record_.regions) names.insert(name);
  if (const Json* list = Find(config_, "regions"); list != nullptr && list->is_array()) {
    for (const Json& n : *list) {
      if (n.is_string()) names.insert(n.get<std::string>());
    }
  }
  for (const RoundResult& r : record_.rounds) {
    if (r.evaluation) {
      for (const auto& [name, m] : r.evaluation->regions) names.insert(name);
    }
  }
  region_names_.assign(names.begin(), names.end());
}

// Per-region metrics of the final model, or else of the latest round that has them.
std::pair<const Page::RegionMetrics*, std::string> Page::LatestRegionMetrics() const {
  if (const RegionMetrics* per = RegionsOf(final_); per != nullptr && !per->empty()) {
    return {per, "final model"};
  }
  for (auto it = record_.rounds.rbegin(); it != record_.rounds.rend(); ++it) {
    if (const RegionMetrics* per = RegionsOf(&*it); per != nullptr && !per->empty()) {
      return {per, "model after round " + FormatCount(it->round)};
    }
  }
  return {nullptr, ""};
}

bool Page::HasPoint(const ChartSeries& s) {
  return std::any_of(s.points.begin(), s.points.end(),
                     [](const ChartPoint& p) { return std::isfinite(p.y); });
}

std::string Page::Header() {
  run_id_ = record_.run_id;
  if (run_id_.empty()) missing_.push_back("run_id");

  // Status: one word of run_status.h (running, completed, degraded, stopped, failed), shown as
  // written. report.json files from before that vocabulary say "finished" for a completed run
  // (with a final evaluation) and for a stopped one (without).
  std::string status = record_.status;
  if (status == "finished") status = final_ != nullptr ? "completed" : "stopped";
  std::string cls = status;
  if (status == "completed") {
    cls = "complete";
  } else if (status == "degraded") {
    cls = "failed";
  } else if (status.empty()) {
    status = cls = "unknown";
    missing_.push_back("status");
  } else if (!ParseRunStatus(status)) {
    cls = "stopped";
  }
  const std::string& raw = status;

  const double completed = record_.completed_round;
  const double planned = Num(Find(config_, "training"), "rounds");
  std::string rounds = std::isfinite(completed) ? FormatCount(completed) : "\u2013";
  if (std::isfinite(planned)) rounds += " of " + FormatCount(planned);

  std::string regions = FormatCount(static_cast<double>(region_names_.size()));
  if (const RegionMetrics* per = RegionsOf(final_); per != nullptr) {
    regions +=
        " (" + FormatCount(static_cast<double>(per->size())) + " evaluated the final model)";
  }

  double seconds = 0;
  bool any_seconds = false;
  for (const RoundResult& r : record_.rounds) {
    const double s = r.training ? r.training->seconds : kNaN;
    if (std::isfinite(s)) seconds += s, any_seconds = true;
  }

  std::string model_text = "\u2013";
  if (record_.model) {
    model_text = "MLP " + HtmlEscape(record_.model->architecture) + " (" +
                 FormatCount(static_cast<double>(record_.model->parameters)) + " parameters)";
  }

  std::string dp = "off";
  const Json* privacy = Find(config_, "privacy");
  if (const Json* on = Find(privacy, "dp"); on != nullptr && on->is_boolean()) {
    dp = on->get<bool>() ? "DP-SGD" : "off";
  }
  double max_budget = 0;
  for (const auto& [name, r] : record_.regions) {
    if (std::isfinite(r.epsilon_budget)) max_budget = std::max(max_budget, r.epsilon_budget);
  }
  if (max_budget > 0) {
    dp = "DP-SGD, \u03b5 budget up to " + FormatNumber(max_budget, 2) + " per region";
  }

  std::string h = "<dl class=\"summary\">\n";
  auto item = [&](const std::string& k, const std::string& v_html) {
    h += "<div><dt>" + HtmlEscape(k) + "</dt><dd>" + v_html + "</dd></div>\n";
  };
  item("Status", "<span class=\"status status-" + cls + "\">" + HtmlEscape(status) + "</span>");
  item("Rounds completed", rounds);
  item("Regions", regions);
  item("Time in rounds", any_seconds ? FormatSeconds(seconds) : "\u2013");
  item("Model", model_text);
  item("Strategy", HtmlEscape(Str(Find(config_, "strategy"), "name")));
  item("Differential privacy", HtmlEscape(dp));
  item("Update bytes received", FormatBytes(static_cast<double>(record_.bytes_received)));
  if (const MetricsBrief* g = GlobalOf(final_); g != nullptr) {
    item("Final ROC AUC", FormatMetric(g->roc_auc));
    item("Final F1 (positive class)", FormatMetric(g->positive_f1));
    item("Final accuracy", FormatMetric(g->accuracy));
    item("Final log loss", FormatMetric(g->loss));
  }
  h += "</dl>\n";
  if (raw == "running") {
    h += "<p class=\"note\">The run is in progress: this page was written after round " +
         (std::isfinite(completed) ? FormatCount(completed) : std::string("?")) +
         " and is rewritten after every round.</p>\n";
  } else if (status == "stopped") {
    h += "<p class=\"note\">The run was stopped before its final evaluation" +
         (record_.status_detail.empty() ? "" : " (" + HtmlEscape(record_.status_detail) + ")") +
         "; <code>--resume</code> continues it from the last checkpoint.</p>\n";
  } else if (status == "degraded") {
    h += "<p class=\"note status-failed\">Do not deploy this model: " +
         HtmlEscape(record_.status_detail) + ".</p>\n";
  } else if (status == "failed" && !record_.status_detail.empty()) {
    h += "<p class=\"note status-failed\">The run failed: " + HtmlEscape(record_.status_detail) +
         ".</p>\n";
  }
  return h;
}

}  // namespace fedseg::coordinator::internal
