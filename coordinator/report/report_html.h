// The human-readable run report: report.json rendered as one self-contained HTML page
// (report.html, next to report.json in the run directory).
//
// The page needs nothing from anywhere else: CSS is inline, the charts are inline SVG drawn here
// (html_chart.h), fonts are the viewer's own, and a Content-Security-Policy forbids every external
// load. It shows the run's status, global loss and ROC AUC / F1 per round, per-region metrics,
// each DP region's epsilon against its budget, the final confusion matrix and the configuration.
// One small inline script (allowed by its hash) only records a self-check in the DOM for tests:
// <body data-plots-expected="N" data-plots="N" data-errors="0">; the page is complete without it.
//
// Every string that comes from the run (region names from certificates, class names from data,
// configuration values) is HTML-escaped. Every record renders: what it lacks (a run stopped early,
// no final evaluation) is said on the page, never thrown.
//
// The page is drawn from the typed run record (coordinator/record/run_record.h). The overloads
// taking raw JSON remain for callers that still hold report.json as JSON: they read it with
// RunRecord::FromJson, and a document that is not a record renders a page naming the first field
// refused. The page's CSS and script are coordinator/report/assets/report.{css,js}.
#ifndef FEDSEG_COORDINATOR_REPORT_REPORT_HTML_H_
#define FEDSEG_COORDINATOR_REPORT_REPORT_HTML_H_

#include <nlohmann/json.hpp>
#include <string>

#include "common/base/status.h"
#include "coordinator/record/run_record.h"

namespace fedseg::coordinator {

// The page of a run record.
std::string RenderReportHtml(const RunRecord& record);

// Renders `record` and writes it atomically to `html_path`.
Status WriteReportHtml(const std::string& html_path, const RunRecord& record);

// The page for a report.json document (any JSON value; one that RunRecord::FromJson refuses
// renders a page that says why).
std::string RenderReportHtml(const nlohmann::json& report);

// Renders `report` and writes it atomically to `html_path`.
Status WriteReportHtml(const std::string& html_path, const nlohmann::json& report);

// Re-renders a run directory: reads <run_dir>/report.json into a RunRecord (refusing a missing or
// mistyped field, named in the error), writes <run_dir>/report.html (or
// `html_path` when not empty). Returns the path written.
Result<std::string> RenderRunDirectory(const std::string& run_dir,
                                       const std::string& html_path = "");

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_REPORT_REPORT_HTML_H_
