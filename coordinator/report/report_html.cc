#include "coordinator/report/report_html.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "common/base/file_util.h"
#include "common/base/sha256.h"
#include "coordinator/report/html_chart.h"

namespace fedseg::coordinator {
namespace {

using Json = nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// More lines than this in one chart cannot be told apart; the table and metrics.csv remain.
constexpr size_t kMaxRegionLines = 16;

// ---------------------------------------------------------------------------------------------
// Guarded access: nlohmann::json's operator[] on a missing key of a const object is undefined and
// get<T>() throws on a type mismatch, so every read goes through these.

const Json* Find(const Json* j, const std::string& key) {
  if (j == nullptr || !j->is_object()) return nullptr;
  auto it = j->find(key);
  return it == j->end() ? nullptr : &*it;
}

double Num(const Json* j) { return j != nullptr && j->is_number() ? j->get<double>() : kNaN; }
double Num(const Json* j, const std::string& key) { return Num(Find(j, key)); }

std::string Str(const Json* j) {
  if (j == nullptr) return "";
  if (j->is_string()) return j->get_ref<const std::string&>();
  if (j->is_number() || j->is_boolean()) return j->dump();
  return "";
}
std::string Str(const Json* j, const std::string& key) { return Str(Find(j, key)); }

// The member `key` when it is a JSON object, else null.
const Json* FindObject(const Json* j, const std::string& key) {
  const Json* v = Find(j, key);
  return v != nullptr && v->is_object() ? v : nullptr;
}

bool IsNonEmptyObject(const Json* j) { return j != nullptr && j->is_object() && !j->empty(); }

std::string Dump(const Json& j, int indent) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

std::string Base64(const uint8_t* data, size_t n) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < n; i += 3) {
    const uint32_t b = (uint32_t{data[i]} << 16) | (i + 1 < n ? uint32_t{data[i + 1]} << 8 : 0) |
                       (i + 2 < n ? uint32_t{data[i + 2]} : 0);
    out += kAlphabet[(b >> 18) & 63];
    out += kAlphabet[(b >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(b >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[b & 63] : '=';
  }
  return out;
}

std::string FormatMetric(double v) { return FormatNumber(v, 4); }

std::string FormatSeconds(double s) {
  if (!std::isfinite(s)) return "\u2013";
  char buf[64];
  if (s < 60 || s >= 1e9) {  // (the int conversions below need a sane range)
    std::snprintf(buf, sizeof buf, "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s / 60),
                  static_cast<int>(std::fmod(s, 60)));
  } else {
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s / 3600),
                  static_cast<int>(std::fmod(s, 3600) / 60));
  }
  return buf;
}

std::string FormatBytes(double b) {
  if (!std::isfinite(b)) return "\u2013";
  if (b < 1024) return FormatCount(b) + " B";
  if (b < 1024.0 * 1024) return FormatNumber(b / 1024, 1) + " KiB";
  if (b < 1024.0 * 1024 * 1024) return FormatNumber(b / 1024 / 1024, 1) + " MiB";
  return FormatNumber(b / 1024 / 1024 / 1024, 2) + " GiB";
}

// Parses a round number used as a JSON object key ("3").
bool ParseRound(const std::string& key, double* out) {
  long v = 0;
  auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), v);
  if (ec != std::errc() || ptr != key.data() + key.size() || v < 0) return false;
  *out = static_cast<double>(v);
  return true;
}

// The page's only script: a self-check for tests (plots drawn with a non-zero size, script or
// resource errors). The page is complete without it.
constexpr const char* kSelfCheckScript = R"JS(
(function () {
  var errors = [];
  function note(message) {
    errors.push(String(message));
    if (document.body) {
      document.body.setAttribute('data-errors', String(errors.length));
      document.body.setAttribute('data-error-messages', errors.join(' | '));
    }
  }
  window.addEventListener('error', function (e) { note(e.message || 'failed to load a resource'); }, true);
  document.addEventListener('securitypolicyviolation', function (e) { note('blocked ' + e.blockedURI); });
  document.addEventListener('DOMContentLoaded', function () {
    var plots = document.querySelectorAll('svg.plot'), drawn = 0;
    for (var i = 0; i < plots.length; i++) {
      var box = plots[i].getBoundingClientRect();
      if (box.width > 0 && box.height > 0 && plots[i].querySelector('g.series')) drawn++;
    }
    document.body.setAttribute('data-plots', String(drawn));
    document.body.setAttribute('data-errors', String(errors.length));
    document.body.setAttribute('data-error-messages', errors.join(' | '));
  });
})();
)JS";

constexpr const char* kStyle = R"CSS(
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       "DejaVu Sans", sans-serif; color: #1f2328; background: #fff; max-width: 1100px;
       margin: 0 auto; padding: 24px; }
h1 { font-size: 1.6em; margin: 0; }
h2 { font-size: 1.25em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.2em 0 .4em; }
.run-id { color: #57606a; font-family: ui-monospace, "DejaVu Sans Mono", monospace; margin: .2em 0 1em; }
nav { font-size: .9em; margin-bottom: 1em; }
nav a { margin-right: 1em; color: #0969da; text-decoration: none; }
dl.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr));
             gap: 10px 24px; margin: 0; }
dl.summary dt { color: #57606a; font-size: .85em; }
dl.summary dd { margin: 0; font-weight: 600; }
.status-complete { color: #1a7f37; } .status-stopped { color: #9a6700; }
.status-failed { color: #cf222e; } .status-running { color: #0969da; }
.note { background: #fff8c5; border: 1px solid #d4a72c66; border-radius: 6px; padding: 8px 12px; }
.note ul { margin: .3em 0 0; padding-left: 1.3em; }
p.missing { color: #6e5300; font-style: italic; }
figure { margin: 1em 0 1.5em; }
figcaption { font-weight: 600; margin-bottom: .3em; }
figcaption small { font-weight: normal; color: #57606a; }
svg.plot { display: block; width: 100%; max-width: 760px; height: auto; font-size: 11px; }
.multiples svg.plot { max-width: 420px; }
svg.plot text { fill: #1f2328; }
svg.plot .gridline { stroke: #eaeef2; }
svg.plot .tick, svg.plot .frame { stroke: #6e7781; }
svg.plot .axis-title { font-size: 12px; fill: #57606a; }
.multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 8px 20px; }
.multiples figure { margin: .5em 0; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: .5em 0 1em; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eaeef2; text-align: right; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
th:first-child, td:first-child { text-align: left; white-space: nowrap; }
td.text { text-align: left; }
caption { text-align: left; color: #57606a; padding-bottom: .3em; }
tr.total td { font-weight: 600; border-top: 2px solid #d0d7de; }
table.confusion td.cell { min-width: 5.5em; text-align: center; }
table.confusion td.cell small { display: block; font-size: .8em; opacity: .85; }
table.confusion td.diagonal { outline: 2px solid #1f2328; outline-offset: -2px; }
table.confusion th.corner { font-weight: normal; color: #57606a; font-size: .85em; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
pre.config { background: #f6f8fa; border: 1px solid #eaeef2; border-radius: 6px; padding: 12px;
             font-size: 12px; line-height: 1.4; overflow: auto; }
footer { margin-top: 3em; color: #57606a; font-size: .85em; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-after: avoid; }
  figure, table, dl.summary, .note { break-inside: avoid; }
  pre.config { white-space: pre-wrap; word-break: break-all; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)CSS";

// ---------------------------------------------------------------------------------------------

class Page {
 public:
  explicit Page(const Json& report) {
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

  double TrainLoss(const Json* round) const { return dp_run_ ? kNaN : Num(round, "train_loss"); }

  std::string Render() {
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
    const Sha256Digest digest = Sha256(kSelfCheckScript);
    const std::string csp =
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "script-src 'sha256-" +
        Base64(digest.data(), digest.size()) + "'";
    std::string out;
    out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    out += "<meta http-equiv=\"Content-Security-Policy\" content=\"" + csp + "\">\n";
    out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    out += "<title>" + HtmlEscape(title) + "</title>\n";
    out += "<style>" + std::string(kStyle) + "</style>\n";
    out += "<script>" + std::string(kSelfCheckScript) + "</script>\n";
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

 private:
  // -------------------------------------------------------------------------------------------
  std::string Section(const std::string& id, const std::string& title, const std::string& html) {
    return "<section id=\"" + id + "\">\n<h2>" + HtmlEscape(title) + "</h2>\n" + html +
           "</section>\n";
  }

  std::string Missing(const std::string& what) {
    missing_.push_back(what);
    return "<p class=\"missing\">" + HtmlEscape(what) + ".</p>\n";
  }

  std::string Figure(const LineChart& chart, const std::string& caption, const std::string& note) {
    std::string svg = RenderLineChart(chart);
    if (svg.empty()) return "";
    ++plots_;
    std::string out = "<figure>\n<figcaption>" + HtmlEscape(caption);
    if (!note.empty()) out += " <small>" + HtmlEscape(note) + "</small>";
    return out + "</figcaption>\n" + svg + "\n</figure>\n";
  }

  void CollectRegionNames() {
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
  std::pair<const Json*, std::string> LatestRegionMetrics() const {
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

  // -------------------------------------------------------------------------------------------
  std::string Header() {
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

  // -------------------------------------------------------------------------------------------
  std::string GlobalQuality() {
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

  static bool HasPoint(const ChartSeries& s) {
    return std::any_of(s.points.begin(), s.points.end(),
                       [](const ChartPoint& p) { return std::isfinite(p.y); });
  }

  // -------------------------------------------------------------------------------------------
  std::string Regions() {
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

  // -------------------------------------------------------------------------------------------
  std::string Privacy() {
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

  // -------------------------------------------------------------------------------------------
  std::string FinalModel() {
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
    if (const Json* mc = Find(Find(root_, "model"), "classes");
        classes.empty() && mc != nullptr && mc->is_array()) {
      for (const Json& c : *mc) classes.push_back(Str(&c));
    }
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
        for (const Json& v : row) values.push_back(Num(&v));
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

  // -------------------------------------------------------------------------------------------
  std::string RoundsTable() {
    if (rounds_.empty()) return Missing("No rounds");
    std::string out =
        "<table class=\"rounds\">\n<tr><th>round</th><th>updates / selected</th>"
        "<th>examples</th><th>training loss</th><th>seconds</th><th>test loss</th>"
        "<th>ROC AUC</th><th>F1</th><th>accuracy</th><th>evaluated by</th></tr>\n";
    for (const auto& [x, r] : rounds_) {
      const Json* g = Find(r, "global");
      const double updates = Num(r, "updates"), selected = Num(r, "selected");
      out += "<tr><td>" + FormatCount(x) + "</td><td>" +
             (std::isfinite(updates) ? FormatCount(updates) + " / " + FormatCount(selected)
                                     : std::string("\u2013")) +
             "</td><td>" + FormatCount(Num(r, "examples")) + "</td><td>" +
             FormatMetric(TrainLoss(r)) + "</td><td>" + FormatNumber(Num(r, "seconds"), 2) +
             "</td><td>" + FormatMetric(Num(g, "loss")) + "</td><td>" +
             FormatMetric(Num(g, "roc_auc")) + "</td><td>" + FormatMetric(Num(g, "positive_f1")) +
             "</td><td>" + FormatMetric(Num(g, "accuracy")) + "</td><td>" +
             FormatCount(Num(r, "evaluated_by")) + "</td></tr>\n";
    }
    out += "</table>\n";
    return out;
  }

  std::string Refused() {
    const Json* refused = Find(root_, "refused_connections");
    if (!IsNonEmptyObject(refused)) return "";
    std::string out = "<table class=\"refused\">\n<tr><th>reason</th><th>connections</th></tr>\n";
    for (auto it = refused->begin(); it != refused->end(); ++it) {
      out += "<tr><td class=\"text\">" + HtmlEscape(it.key()) + "</td><td>" +
             FormatCount(Num(&it.value())) + "</td></tr>\n";
    }
    return out + "</table>\n";
  }

  std::string Configuration() {
    std::string out;
    if (const Json* model = FindObject(root_, "model"); model != nullptr) {
      out +=
          "<h3>Model</h3>\n<pre class=\"config model\">" + HtmlEscape(Dump(*model, 2)) + "</pre>\n";
    }
    if (config_ == nullptr) return out + Missing("No configuration (\"config\")");
    return out + "<h3>Coordinator configuration</h3>\n<pre class=\"config\">" +
           HtmlEscape(Dump(*config_, 2)) + "</pre>\n";
  }

  const Json* root_ = nullptr;
  const Json* config_ = nullptr;
  const Json* final_ = nullptr;
  const Json* final_report_ = nullptr;
  const Json* regions_ = nullptr;
  std::vector<std::pair<double, const Json*>> rounds_;  // (round number, entry)
  std::vector<std::string> region_names_;
  std::vector<std::string> missing_;
  std::string run_id_;
  int plots_ = 0;
  bool dp_run_ = false;
};

}  // namespace

std::string RenderReportHtml(const nlohmann::json& report) {
  try {
    return Page(report).Render();
  } catch (const std::exception& e) {
    // Not expected (every access is guarded); a page that says so beats a crash of the run.
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
           "<title>fedseg run report</title></head><body data-plots-expected=\"0\">"
           "<h1>fedseg run report</h1><p>The report could not be rendered: " +
           HtmlEscape(e.what()) + "</p></body></html>\n";
  }
}

Status WriteReportHtml(const std::string& html_path, const nlohmann::json& report) {
  return WriteFileAtomic(html_path, RenderReportHtml(report));
}

Result<std::string> RenderRunDirectory(const std::string& run_dir, const std::string& html_path) {
  const std::string json_path = run_dir + "/report.json";
  Result<std::string> text = ReadFile(json_path, uint64_t{1} << 30);
  if (!text.ok()) return text.status().WithContext("reading the run's report");
  Json report = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded()) return Status::Corruption(json_path + ": not valid JSON");
  const std::string out = html_path.empty() ? run_dir + "/report.html" : html_path;
  Status st = WriteReportHtml(out, report);
  if (!st.ok()) return st;
  return out;
}

}  // namespace fedseg::coordinator
