#include "coordinator/report/internal/page.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string_view>

#include "common/base/base64.h"
#include "common/base/sha256.h"
#include "coordinator/record/json_number.h"
#include "coordinator/report/assets/report_css.h"
#include "coordinator/report/assets/report_js.h"

namespace fedseg::coordinator::internal {

Page::Page(const Json& report) {
  root_ = report.is_object() ? &report : nullptr;
  config_ = FindObject(root_, "config");
  final_ = FindObject(root_, "final");
  final_report_ = FindObject(final_, "report");
  if (const Json* rounds = Find(root_, "rounds"); rounds != nullptr && rounds->is_array()) {
    for (size_t i = 0; i < rounds->size(); ++i) {
      const Json& r = (*rounds)[i];
      if (!r.is_object()) continue;
      const double n = Num(&r, "round");
      rounds_.emplace_back(std::isfinite(n) ? n : static_cast<double>(i), &r);
    }
  }
  regions_ = FindObject(root_, "regions");
  CollectRegionNames();
  // Regions training with DP-SGD keep their training loss local (a statistic of raw rows no
  // accountant covers) and send 0, so the coordinator's mean training loss is meaningless then.
  if (const Json* dp = Find(Find(config_, "privacy"), "dp"); dp != nullptr && dp->is_boolean()) {
    dp_run_ = dp->get<bool>();
  }
  for (const std::string& name : region_names_) {
    const double budget = Num(Find(regions_, name), "epsilon_budget");
    if (std::isfinite(budget) && budget > 0) dp_run_ = true;
  }
}

double Page::TrainLoss(const Json* round) const { return dp_run_ ? kNaN : Num(round, "train_loss"); }

std::string Page::Render() {
  const std::string header = Header();
  std::string body;
  body += Section("quality", "Global model quality", GlobalQuality());
  body += Section("regions", "Regions", Regions());
  body += Section("privacy", "Differential privacy", Privacy());
  body += Section("final", "Final model", FinalModel());
  body += Section("rounds", "Rounds", RoundsTable());
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
  if (regions_ != nullptr && regions_->is_object()) {
    for (auto it = regions_->begin(); it != regions_->end(); ++it) names.insert(it.key());
  }
  if (const Json* list = Find(config_, "regions"); list != nullptr && list->is_array()) {
    for (const Json& n : *list) {
      if (n.is_string()) names.insert(n.get<std::string>());
    }
  }
  for (const auto& [x, r] : rounds_) {
    if (const Json* per = Find(r, "regions"); per != nullptr && per->is_object()) {
      for (auto it = per->begin(); it != per->end(); ++it) names.insert(it.key());
    }
  }
  region_names_.assign(names.begin(), names.end());
}

// Per-region metrics of the final model, or else of the latest round that has them.
std::pair<const Json*, std::string> Page::LatestRegionMetrics() const {
  if (const Json* per = Find(final_, "regions"); IsNonEmptyObject(per)) {
    return {per, "final model"};
  }
  for (auto it = rounds_.rbegin(); it != rounds_.rend(); ++it) {
    if (const Json* per = Find(it->second, "regions"); IsNonEmptyObject(per)) {
      return {per, "model after round " + FormatCount(it->first)};
    }
  }
  return {nullptr, ""};
}

bool Page::HasPoint(const ChartSeries& s) {
  return std::any_of(s.points.begin(), s.points.end(),
                     [](const ChartPoint& p) { return std::isfinite(p.y); });
}

std::string Page::Header() {
  if (root_ == nullptr) {
    missing_.push_back("the document is not a JSON object (is this a report.json?)");
  }
  run_id_ = Str(root_, "run_id");
  if (run_id_.empty()) missing_.push_back("run_id");

  // Status: the coordinator writes running / finished / failed; a finished run without a final
  // evaluation was stopped (by a signal) before its last round.
  const std::string raw = Str(root_, "status");
  std::string status = raw, cls = "stopped";
  if (raw == "finished" && final_ != nullptr) {
    status = "complete", cls = "complete";
  } else if (raw == "finished") {
    status = "stopped", cls = "stopped";
  } else if (raw == "failed") {
    cls = "failed";
  } else if (raw == "running") {
    cls = "running";
  } else if (raw.empty()) {
    status = "unknown";
    missing_.push_back("status");
  }

  const double completed = Num(root_, "completed_round");
  const double planned = Num(Find(config_, "training"), "rounds");
  std::string rounds = std::isfinite(completed) ? FormatCount(completed) : "\u2013";
  if (std::isfinite(planned)) rounds += " of " + FormatCount(planned);

  std::string regions = FormatCount(static_cast<double>(region_names_.size()));
  if (const Json* per = Find(final_, "regions"); per != nullptr && per->is_object()) {
    regions +=
        " (" + FormatCount(static_cast<double>(per->size())) + " evaluated the final model)";
  }

  double seconds = 0;
  bool any_seconds = false;
  for (const auto& [x, r] : rounds_) {
    const double s = Num(r, "seconds");
    if (std::isfinite(s)) seconds += s, any_seconds = true;
  }

  const Json* model = FindObject(root_, "model");
  std::string model_text = "\u2013";
  if (model != nullptr) {
    model_text = "MLP " + HtmlEscape(Str(model, "architecture"));
    const double params = Num(model, "parameters");
    if (std::isfinite(params)) model_text += " (" + FormatCount(params) + " parameters)";
  }

  std::string dp = "off";
  const Json* privacy = Find(config_, "privacy");
  if (const Json* on = Find(privacy, "dp"); on != nullptr && on->is_boolean()) {
    dp = on->get<bool>() ? "DP-SGD" : "off";
  }
  double max_budget = 0;
  if (regions_ != nullptr && regions_->is_object()) {
    for (const auto& [name, r] : regions_->items()) {
      const double b = Num(&r, "epsilon_budget");
      if (std::isfinite(b)) max_budget = std::max(max_budget, b);
    }
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
  item("Update bytes received", FormatBytes(Num(root_, "bytes_received")));
  const Json* g = Find(final_, "global");
  if (g != nullptr) {
    item("Final ROC AUC", FormatMetric(Num(g, "roc_auc")));
    item("Final F1 (positive class)", FormatMetric(Num(g, "positive_f1")));
    item("Final accuracy", FormatMetric(Num(g, "accuracy")));
    item("Final log loss", FormatMetric(Num(g, "loss")));
  }
  h += "</dl>\n";
  if (raw == "running") {
    h += "<p class=\"note\">The run is in progress: this page was written after round " +
         (std::isfinite(completed) ? FormatCount(completed) : std::string("?")) +
         " and is rewritten after every round.</p>\n";
  } else if (status == "stopped") {
    h += "<p class=\"note\">The run was stopped before its final evaluation; "
         "<code>--resume</code> "
         "continues it from the last checkpoint.</p>\n";
  }
  return h;
}

}  // namespace fedseg::coordinator::internal
