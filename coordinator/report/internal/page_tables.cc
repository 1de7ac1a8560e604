#include "coordinator/report/internal/page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "coordinator/record/json_number.h"

namespace fedseg::coordinator::internal {

std::string Page::FinalModel() {
  if (final_ == nullptr) {
    return Missing("No final evaluation (\"final\"): the run has not finished its last round");
  }
  if (final_report_ == nullptr)
    return Missing("No full report of the final model (\"final.report\")");
  std::vector<std::string> classes;
  const Json* per_class = Find(final_report_, "per_class");
  if (per_class != nullptr && per_class->is_array()) {
    for (const Json& c : *per_class) classes.push_back(Str(&c, "name"));
  }
  if (classes.empty() && record_.model) classes = record_.model->classes;
  std::string out;
  const Json* cm = Find(final_report_, "confusion");
  std::vector<std::vector<double>> matrix;
  bool square = cm != nullptr && cm->is_array() && !cm->empty();
  if (square) {
    for (const Json& row : *cm) {
      if (!row.is_array() || row.size() != cm->size()) {
        square = false;
        break;
      }
      std::vector<double> values;
      for (const Json& v : row) values.push_back(NumberOrNaN(&v));
      matrix.push_back(std::move(values));
    }
  }
  if (!square) {
    out += Missing("No confusion matrix of the final model (\"final.report.confusion\")");
  } else {
    const size_t k = matrix.size();
    auto name = [&](size_t i) {
      return i < classes.size() && !classes[i].empty() ? classes[i]
                                                       : "class " + std::to_string(i);
    };
    double max = 0, total = 0;
    for (const auto& row : matrix) {
      for (double v : row) {
        if (std::isfinite(v)) max = std::max(max, v), total += v;
      }
    }
    out += "<h3>Confusion matrix</h3>\n<table class=\"confusion\" data-classes=\"" +
           std::to_string(k) +
           "\">\n<caption>Rows: true class; columns: predicted class. Cells: "
           "count and share of the true class. " +
           FormatCount(total) + " test rows over all regions.</caption>\n";
    out += "<tr><th class=\"corner\">true \\ predicted</th>";
    for (size_t c = 0; c < k; ++c) out += "<th>" + HtmlEscape(name(c)) + "</th>";
    out += "<th>total</th></tr>\n";
    for (size_t t = 0; t < k; ++t) {
      double row_total = 0;
      for (double v : matrix[t]) row_total += std::isfinite(v) ? v : 0;
      out += "<tr><th>" + HtmlEscape(name(t)) + "</th>";
      for (size_t p = 0; p < k; ++p) {
        const double v = matrix[t][p];
        const double share = std::isfinite(v) && max > 0 ? v / max : 0;
        char bg[64];
        std::snprintf(bg, sizeof bg, "rgba(0, 114, 178, %.3f)", 0.06 + 0.84 * share);
        const bool dark = share > 0.55;
        out += "<td class=\"cell" + std::string(t == p ? " diagonal" : "") + "\" data-count=\"" +
               (std::isfinite(v) ? std::to_string(std::llround(v)) : std::string()) +
               "\" style=\"background: " + bg + (dark ? "; color: #fff" : "") + "\">" +
               FormatCount(v) + "<small>" +
               (row_total > 0 && std::isfinite(v) ? FormatNumber(100.0 * v / row_total, 1) + "%"
                                                  : std::string("\u2013")) +
               "</small></td>";
      }
      out += "<td>" + FormatCount(row_total) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  if (per_class != nullptr && per_class->is_array() && !per_class->empty()) {
    out +=
        "<h3>Per class</h3>\n<table class=\"per-class\">\n<tr><th>class</th><th>precision</th>"
        "<th>recall</th><th>F1</th><th>ROC AUC (one vs rest)</th><th>support</th></tr>\n";
    for (const Json& c : *per_class) {
      out += "<tr><td class=\"text\">" + HtmlEscape(Str(&c, "name")) + "</td><td>" +
             FormatMetric(Num(&c, "precision")) + "</td><td>" + FormatMetric(Num(&c, "recall")) +
             "</td><td>" + FormatMetric(Num(&c, "f1")) + "</td><td>" +
             FormatMetric(Num(&c, "roc_auc")) + "</td><td>" + FormatCount(Num(&c, "support")) +
             "</td></tr>\n";
    }
    out += "</table>\n";
  }
  out += "<table class=\"final-summary\">\n";
  const std::pair<const char*, const char*> rows[] = {{"accuracy", "accuracy"},
                                                      {"macro F1", "macro_f1"},
                                                      {"weighted F1", "weighted_f1"},
                                                      {"Cohen's kappa", "cohen_kappa"},
                                                      {"ROC AUC", "roc_auc"},
                                                      {"log loss", "log_loss"},
                                                      {"F1 (positive class)", "positive_f1"}};
  for (const auto& [label, key] : rows) {
    out += "<tr><th>" + std::string(label) + "</th><td>" + FormatMetric(Num(final_report_, key)) +
           "</td></tr>\n";
  }
  const std::string positive = Str(final_report_, "positive_class");
  if (!positive.empty()) {
    out += "<tr><th>positive class</th><td>" + HtmlEscape(positive) + "</td></tr>\n";
  }
  out += "</table>\n";
  return out;
}

std::string Page::RoundsTable() {
  if (record_.rounds.empty()) return Missing("No rounds");
  std::string out =
      "<table class=\"rounds\">\n<tr><th>round</th><th>updates / selected</th>"
      "<th>examples</th><th>training loss</th><th>seconds</th><th>test loss</th>"
      "<th>ROC AUC</th><th>F1</th><th>accuracy</th><th>evaluated by</th></tr>\n";
  for (const RoundResult& r : record_.rounds) {
    const MetricsBrief* g = GlobalOf(&r);
    const RoundTraining* t = r.training ? &*r.training : nullptr;
    const double evaluated_by =
        r.evaluation ? static_cast<double>(r.evaluation->evaluated_by) : kNaN;
    out += "<tr><td>" + FormatCount(r.round) + "</td><td>" +
           (t != nullptr ? FormatCount(static_cast<double>(t->updates)) + " / " +
                               FormatCount(static_cast<double>(t->selected))
                         : std::string("\u2013")) +
           "</td><td>" + FormatCount(t != nullptr ? static_cast<double>(t->examples) : kNaN) +
           "</td><td>" + FormatMetric(TrainLoss(r)) + "</td><td>" +
           FormatNumber(t != nullptr ? t->seconds : kNaN, 2) + "</td><td>" +
           FormatMetric(Metric(g, &MetricsBrief::loss)) + "</td><td>" +
           FormatMetric(Metric(g, &MetricsBrief::roc_auc)) + "</td><td>" +
           FormatMetric(Metric(g, &MetricsBrief::positive_f1)) + "</td><td>" +
           FormatMetric(Metric(g, &MetricsBrief::accuracy)) + "</td><td>" +
           FormatCount(evaluated_by) + "</td></tr>\n";
  }
  out += "</table>\n";
  return out;
}

std::string Page::Refused() {
  if (!record_.refused_connections || record_.refused_connections->empty()) return "";
  std::string out = "<table class=\"refused\">\n<tr><th>reason</th><th>connections</th></tr>\n";
  for (const auto& [reason, count] : *record_.refused_connections) {
    out += "<tr><td class=\"text\">" + HtmlEscape(reason) + "</td><td>" +
           FormatCount(static_cast<double>(count)) + "</td></tr>\n";
  }
  return out + "</table>\n";
}

std::string Page::RefusedUpdates() {
  // Shown only when the coordinator's defences refused an update (update_screen.h).
  std::map<std::string, std::vector<uint32_t>> rounds_of;
  for (const RoundResult& r : record_.rounds) {
    if (!r.training) continue;
    for (const std::string& name : r.training->refused) rounds_of[name].push_back(r.round);
  }
  std::string rows;
  for (const auto& [name, r] : record_.regions) {
    if (r.updates_refused <= 0) continue;
    std::string rounds;
    for (uint32_t round : rounds_of[name]) {
      rounds += (rounds.empty() ? "" : ", ") + std::to_string(round);
    }
    rows += "<tr data-region=\"" + HtmlEscape(name) + "\"><td class=\"text\">" +
            HtmlEscape(name) + "</td><td>" + FormatCount(r.updates_refused) + "</td><td>" +
            (rounds.empty() ? std::string("\u2013") : rounds) + "</td><td class=\"text\">round " +
            std::to_string(r.last_refused_round) + ": " + HtmlEscape(r.last_refusal) +
            "</td></tr>\n";
  }
  if (rows.empty()) return "";
  return "<p>Updates the coordinator's defences refused (docs/security.md, \"Poisoned "
         "updates\"): they were not aggregated. A round counts a refused update as an answer "
         "towards its quorum and goes on with the accepted ones.</p>\n"
         "<table class=\"refused-updates\">\n<tr><th>region</th><th>updates refused</th>"
         "<th>in rounds</th><th>last refusal</th></tr>\n" +
         rows + "</table>\n";
}

std::string Page::Configuration() {
  std::string out;
  if (record_.model) {
    out += "<h3>Model</h3>\n<pre class=\"config model\">" +
           HtmlEscape(Dump(record_.model->ToJson(), 2)) + "</pre>\n";
  }
  if (record_.decision) {  // runs before decision rules have none
    out += "<h3>Decision rule of final.fsm</h3>\n<p>Chosen on the final evaluation's merged "
           "summaries; precision, recall and F1 of the positive class at the rule and at arg-max "
           "on those rows.</p>\n<pre class=\"config decision\">" +
           HtmlEscape(Dump(record_.decision->ToJson(), 2)) + "</pre>\n";
  }
  if (config_ == nullptr) return out + Missing("No configuration (\"config\")");
  return out + "<h3>Coordinator configuration</h3>\n<pre class=\"config\">" +
         HtmlEscape(Dump(*config_, 2)) + "</pre>\n";
}

}  // namespace fedseg::coordinator::internal
