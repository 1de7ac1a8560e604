#include "coordinator/report/report_html.h"

#include <exception>

#include "common/base/file_util.h"
#include "coordinator/report/html_chart.h"
#include "coordinator/report/internal/page.h"

namespace fedseg::coordinator {

using Json = nlohmann::json;

std::string RenderReportHtml(const RunRecord& record) {
  try {
    return internal::Page(record).Render();
  } catch (const std::exception& e) {
    // Not expected (the record is typed; its JSON parts are read guarded); a page that says so
    // beats a crash of the run.
    return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
           "<title>fedseg run report</title></head><body data-plots-expected=\"0\">"
           "<h1>fedseg run report</h1><p>The report could not be rendered: " +
           HtmlEscape(e.what()) + "</p></body></html>\n";
  }
}

std::string RenderReportHtml(const nlohmann::json& report) {
  Result<RunRecord> record = RunRecord::FromJson(report, "report.json");
  if (record.ok()) return RenderReportHtml(*record);
  // A document that is not a run record still gets a whole page, which says why.
  return internal::Page(RunRecord(), record.status().message()).Render();
}

Status WriteReportHtml(const std::string& html_path, const RunRecord& record) {
  return WriteFileAtomic(html_path, RenderReportHtml(record));
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
  Result<RunRecord> record = RunRecord::FromJson(report, json_path);
  if (!record.ok()) return record.status();
  const std::string out = html_path.empty() ? run_dir + "/report.html" : html_path;
  Status st = WriteReportHtml(out, *record);
  if (!st.ok()) return st;
  return out;
}

}  // namespace fedseg::coordinator
