#include "coordinator/report/internal/page.h"

#include <algorithm>
#include <cmath>

#include "coordinator/record/json_number.h"

namespace fedseg::coordinator::internal {

std::string Page::GlobalQuality() {
  if (rounds_.empty()) return Missing("No per-round metrics (\"rounds\")");
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
  for (const auto& [x, r] : rounds_) {
    const Json* g = Find(r, "global");
    test.points.push_back({x, Num(g, "loss")});
    if (x > 0) train.points.push_back({x, TrainLoss(r)});
    auc.points.push_back({x, Num(g, "roc_auc")});
    f1.points.push_back({x, Num(g, "positive_f1")});
    macro.points.push_back({x, Num(g, "macro_f1")});
  }
  for (ChartSeries* s : {&test, &train}) {
    if (HasPoint(*s)) loss.series.push_back(std::move(*s));
  }
  for (ChartSeries* s : {&auc, &f1, &macro}) {
    if (HasPoint(*s)) quality.series.push_back(std::move(*s));
  }
  std::string note =
      "Round r is the model after r rounds of training (0 = the initial model), "
      "evaluated on every region's held-out rows.";
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
    const Json* m = Find(metrics, name);
    const Json* info = Find(regions_, name);
    out += "<tr data-region=\"" + HtmlEscape(name) + "\"><td class=\"text\">" + HtmlEscape(name) +
           "</td><td>" + FormatCount(Num(m, "rows")) + "</td><td>" +
           FormatCount(Num(info, "train_rows")) + "</td><td>" + FormatMetric(Num(m, "accuracy")) +
           "</td><td>" + FormatMetric(Num(m, "roc_auc")) + "</td><td>" +
           FormatMetric(Num(m, "positive_f1")) + "</td><td>" + FormatMetric(Num(m, "macro_f1")) +
           "</td><td>" + FormatMetric(Num(m, "loss")) + "</td><td>" +
           FormatCount(Num(info, "rounds_participated")) + "</td><td>" +
           FormatCount(Num(info, "rounds_missed")) + "</td></tr>\n";
  }
  const Json* g = metrics == Find(final_, "regions") ? Find(final_, "global") : nullptr;
  if (g != nullptr) {
    out += "<tr class=\"total\"><td class=\"text\">all regions</td><td>" +
           FormatCount(Num(g, "rows")) + "</td><td></td><td>" + FormatMetric(Num(g, "accuracy")) +
           "</td><td>" + FormatMetric(Num(g, "roc_auc")) + "</td><td>" +
           FormatMetric(Num(g, "positive_f1")) + "</td><td>" + FormatMetric(Num(g, "macro_f1")) +
           "</td><td>" + FormatMetric(Num(g, "loss")) + "</td><td></td><td></td></tr>\n";
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
    for (const auto& [x, r] : rounds_) {
      s.points.push_back({x, Num(Find(Find(r, "regions"), region_names_[i]), "roc_auc")});
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
    const Json* r = Find(regions_, name);
    const double budget = Num(r, "epsilon_budget"), spent = Num(r, "epsilon_spent");
    if ((std::isfinite(budget) && budget > 0) || (std::isfinite(spent) && spent > 0) ||
        IsNonEmptyObject(Find(r, "epsilon_by_round"))) {
      dp_regions.push_back(name);
    }
  }
  if (regions_ == nullptr) return Missing("No per-region privacy figures (\"regions\")");
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
    const Json* r = Find(regions_, name);
    const double budget = Num(r, "epsilon_budget");
    std::vector<double> declined;
    if (const Json* d = Find(r, "declined_rounds"); d != nullptr && d->is_array()) {
      for (const Json& v : *d) {
        if (v.is_number()) declined.push_back(v.get<double>());
      }
    }
    std::string declined_text;
    for (double d : declined)
      declined_text += (declined_text.empty() ? "" : ", ") + FormatCount(d);
    std::string head = Str(r, "ledger_head");
    const std::string head_short = head.size() > 16 ? head.substr(0, 16) + "\u2026" : head;
    const double delta = Num(r, "epsilon_delta");
    out += "<tr data-region=\"" + HtmlEscape(name) + "\"><td class=\"text\">" + HtmlEscape(name) +
           "</td><td>" + FormatNumber(Num(r, "epsilon_spent"), 3) + "</td><td>" +
           FormatNumber(budget, 3) + "</td><td>" +
           (std::isfinite(delta) && delta > 0 ? HtmlEscape(Str(Find(r, "epsilon_delta")))
                                              : std::string("\u2013")) +
           "</td><td>" + (declined_text.empty() ? "none" : declined_text) +
           "</td><td class=\"text\">" + HtmlEscape(Str(r, "decline_reason")) +
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
    if (const Json* by = Find(r, "epsilon_by_round"); by != nullptr && by->is_object()) {
      std::vector<ChartPoint> pts;
      for (auto it = by->begin(); it != by->end(); ++it) {
        double x = 0;
        if (ParseRound(it.key(), &x) && it.value().is_number()) {
          pts.push_back({x, it.value().get<double>()});
        }
      }
      std::sort(pts.begin(), pts.end(),
                [](const ChartPoint& a, const ChartPoint& b) { return a.x < b.x; });
      spent.points = std::move(pts);
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
