#include "coordinator/report/internal/page.h"

#include <algorithm>
#include <cmath>

#include "coordinator/record/json_number.h"

namespace fedseg::coordinator::internal {

std::string Page::GlobalQuality() {
  if (record_.rounds.empty()) return Missing("No per-round metrics (\"rounds\")");
  LineChart loss;
  loss.title = "Global loss per round";
  loss.x_label = "round";
  loss.y_label = "log loss";
  ChartSeries test{"test loss (federated evaluation)", {}, PaletteColor(0)};
  ChartSeries train{"training loss (mean over updates)", {}, PaletteColor(1)};
  LineChart quality;
  quality.title = "Global ROC AUC and F1 per round";
  quality.x_label = "round";
  quality.y_label = "score";
  ChartSeries auc{"ROC AUC", {}, PaletteColor(0)};
  ChartSeries f1{"F1 (positive class)", {}, PaletteColor(1)};
  ChartSeries macro{"macro F1", {}, PaletteColor(2)};
  for (const RoundResult& r : record_.rounds) {
    const double x = r.round;
    const MetricsBrief* g = GlobalOf(&r);
    test.points.push_back({x, Metric(g, &MetricsBrief::loss)});
    if (x > 0) train.points.push_back({x, TrainLoss(r)});
    auc.points.push_back({x, Metric(g, &MetricsBrief::roc_auc)});
    f1.points.push_back({x, Metric(g, &MetricsBrief::positive_f1)});
    macro.points.push_back({x, Metric(g, &MetricsBrief::macro_f1)});
  }
  for (ChartSeries* s : {&test, &train}) {
    if (HasPoint(*s)) loss.series.push_back(std::move(*s));
  }
  for (ChartSeries* s : {&auc, &f1, &macro}) {
    if (HasPoint(*s)) quality.series.push_back(std::move(*s));
  }
  std::string note =
      "Round r is the model after r rounds of training (0 = the initial model), "
      "evaluated on the held-out rows of every region connected in the round after it, "
      "selected to train or not (report.json: evaluated_by per round).";
  if (dp_run_) note += " DP-SGD regions keep their training loss private, so none is shown.";
  std::string out = Figure(loss, "Global loss per round", note);
  if (out.empty()) out += Missing("No global loss in any round");
  std::string q = Figure(quality, "Global ROC AUC and F1 per round", "");
  out += q.empty() ? Missing("No global ROC AUC or F1 in any round") : q;
  return out;
}

std::string Page::Regions() {
  std::string out;
  if (region_names_.empty()) return Missing("No regions");
  const auto [metrics, which] = LatestRegionMetrics();
  if (metrics == nullptr) {
    out += Missing("No per-region evaluation in any round");
  }
  out += "<table class=\"regions\">\n<caption>" +
         (metrics ? "Metrics of the " + HtmlEscape(which) + " on each region's test rows"
                  : std::string("Regions")) +
         "</caption>\n<tr><th>region</th><th>test rows</th><th>train rows</th><th>accuracy</th>"
         "<th>ROC AUC</th><th>F1</th><th>macro F1</th><th>log loss</th><th>rounds taken part</th>"
         "<th>rounds missed</th></tr>\n";
  for (const std::string& name : region_names_) {
    const MetricsBrief* m = RegionOf(metrics, name);
    const RegionResult* info = FindRegion(name);
    const double rows = m != nullptr ? static_cast<double>(m->rows) : kNaN;
    out += "<tr data-region=\"" + HtmlEscape(name) + "\"><td class=\"text\">" + HtmlEscape(name) +
           "</td><td>" + FormatCount(rows) + "</td><td>" +
           FormatCount(info != nullptr ? static_cast<double>(info->train_rows) : kNaN) +
           "</td><td>" + FormatMetric(Metric(m, &MetricsBrief::accuracy)) + "</td><td>" +
           FormatMetric(Metric(m, &MetricsBrief::roc_auc)) + "</td><td>" +
           FormatMetric(Metric(m, &MetricsBrief::positive_f1)) + "</td><td>" +
           FormatMetric(Metric(m, &MetricsBrief::macro_f1)) + "</td><td>" +
           FormatMetric(Metric(m, &MetricsBrief::loss)) + "</td><td>" +
           FormatCount(info != nullptr ? info->rounds_participated : kNaN) + "</td><td>" +
           FormatCount(info != nullptr ? info->rounds_missed : kNaN) + "</td></tr>\n";
  }
  // The total row only when the table shows the final model.
  const MetricsBrief* g = metrics != nullptr && metrics == RegionsOf(final_) ? GlobalOf(final_)
                                                                            : nullptr;
  if (g != nullptr) {
    out += "<tr class=\"total\"><td class=\"text\">all regions</td><td>" +
           FormatCount(static_cast<double>(g->rows)) + "</td><td></td><td>" +
           FormatMetric(g->accuracy) + "</td><td>" + FormatMetric(g->roc_auc) + "</td><td>" +
           FormatMetric(g->positive_f1) + "</td><td>" + FormatMetric(g->macro_f1) + "</td><td>" +
           FormatMetric(g->loss) + "</td><td></td><td></td></tr>\n";
  }
  out += "</table>\n";

  if (region_names_.size() > kMaxRegionLines) {
    return out + "<p>ROC AUC per round is drawn for up to " + std::to_string(kMaxRegionLines) +
           " regions (more lines are unreadable); this run has " +
           std::to_string(region_names_.size()) +
           ": every region's metrics per round are in <code>metrics.csv</code>.</p>\n";
  }
  LineChart auc;
  auc.title = "ROC AUC per region and round";
  auc.x_label = "round";
  auc.y_label = "ROC AUC";
  for (size_t i = 0; i < region_names_.size(); ++i) {
    ChartSeries s{region_names_[i], {}, PaletteColor(i)};
    s.dashed = i >= 10;  // past the palette's 10 colours, tell repeated ones apart
    for (const RoundResult& r : record_.rounds) {
      const MetricsBrief* m = RegionOf(RegionsOf(&r), region_names_[i]);
      s.points.push_back({static_cast<double>(r.round), Metric(m, &MetricsBrief::roc_auc)});
    }
    if (HasPoint(s)) auc.series.push_back(std::move(s));
  }
  out += Figure(auc, "ROC AUC per region and round",
                "Each region evaluates the global model on its own held-out rows.");
  return out;
}

std::string Page::Privacy() {
  std::vector<std::string> dp_regions;
  for (const std::string& name : region_names_) {
    const RegionResult* r = FindRegion(name);
    if (r == nullptr) continue;
    if ((std::isfinite(r->epsilon_budget) && r->epsilon_budget > 0) ||
        (std::isfinite(r->epsilon_spent) && r->epsilon_spent > 0) || !r->epsilon_by_round.empty()) {
      dp_regions.push_back(name);
    }
  }
  if (dp_regions.empty()) {
    return "<p>No region trained with differential privacy in this run (no region reported an "
           "\u03b5 budget).</p>\n";
  }
  std::string out =
      "<p>\u03b5 is each region's total spend after the round, as its privacy accountant "
      "reported "
      "it (an upper bound at the region's \u03b4); regions verify it independently with "
      "<code>fedseg-audit verify</code>.</p>\n";
  out +=
      "<table class=\"privacy\">\n<tr><th>region</th><th>\u03b5 spent</th><th>\u03b5 budget</th>"
      "<th>\u03b4</th><th>declined rounds</th><th>reason</th><th>ledger head</th></tr>\n";
  std::string charts;
  for (size_t i = 0; i < dp_regions.size(); ++i) {
    const std::string& name = dp_regions[i];
    const RegionResult& r = *FindRegion(name);
    const double budget = r.epsilon_budget;
    const std::vector<double> declined(r.declined_rounds.begin(), r.declined_rounds.end());
    std::string declined_text;
    for (double d : declined)
      declined_text += (declined_text.empty() ? "" : ", ") + FormatCount(d);
    const std::string& head = r.ledger_head;
    const std::string head_short = head.size() > 16 ? head.substr(0, 16) + "\u2026" : head;
    const double delta = r.epsilon_delta;
    out += "<tr data-region=\"" + HtmlEscape(name) + "\"><td class=\"text\">" + HtmlEscape(name) +
           "</td><td>" + FormatNumber(r.epsilon_spent, 3) + "</td><td>" +
           FormatNumber(budget, 3) + "</td><td>" +
           (std::isfinite(delta) && delta > 0 ? HtmlEscape(Json(delta).dump())
                                              : std::string("\u2013")) +
           "</td><td>" + (declined_text.empty() ? "none" : declined_text) +
           "</td><td class=\"text\">" + HtmlEscape(r.decline_reason) +
           "</td><td class=\"text\"><code title=\"" + HtmlEscape(head) + "\">" +
           HtmlEscape(head_short) + "</code></td></tr>\n";

    LineChart c;
    c.title = "\u03b5 of " + name;
    c.x_label = "round";
    c.y_label = "\u03b5 spent";
    c.y_from_zero = true;
    c.y_decimals = 3;
    c.width = 420;
    c.height = 250;
    ChartSeries spent{"\u03b5 spent", {}, PaletteColor(0)};
    for (const auto& [round, eps] : r.epsilon_by_round) {  // in round order
      if (std::isfinite(eps)) spent.points.push_back({static_cast<double>(round), eps});
    }
    if (!HasPoint(spent)) {
      charts += "<p class=\"missing\">" + HtmlEscape(name) +
                ": no \u03b5 per round (\"epsilon_by_round\") in report.json.</p>\n";
      continue;
    }
    double xmin = spent.points.front().x, xmax = spent.points.back().x;
    for (double d : declined) xmin = std::min(xmin, d), xmax = std::max(xmax, d);
    c.series.push_back(std::move(spent));
    if (std::isfinite(budget) && budget > 0) {
      ChartSeries line{
          "budget " + FormatNumber(budget, 2), {{xmin, budget}, {xmax, budget}}, PaletteColor(1)};
      line.dashed = true;
      line.markers = false;
      c.series.push_back(std::move(line));
      if (!declined.empty()) {
        ChartMarks marks{"declined round", {}, "#cf222e"};
        for (double d : declined) marks.points.push_back({d, budget});
        c.marks.push_back(std::move(marks));
      }
    }
    charts += Figure(c, name, "");
  }
  out += "</table>\n";
  if (!charts.empty()) {
    out +=
        "<h3>\u03b5 over rounds against each region's budget</h3>\n<div class=\"multiples\">\n" +
        charts + "</div>\n";
  }
  return out;
}

}  // namespace fedseg::coordinator::internal
