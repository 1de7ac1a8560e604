// The report page under construction: one object per rendering, one method per section of the
// page (report_html.h describes the page). Its methods are spread over page.cc (the frame and the
// header), page_charts.cc (quality, regions, privacy) and page_tables.cc (final model, rounds,
// refusals, configuration).
#ifndef FEDSEG_COORDINATOR_REPORT_INTERNAL_PAGE_H_
#define FEDSEG_COORDINATOR_REPORT_INTERNAL_PAGE_H_

#include <string>
#include <utility>
#include <vector>

#include "coordinator/report/html_chart.h"
#include "coordinator/report/internal/report_json.h"

namespace fedseg::coordinator::internal {

// More lines than this in one chart cannot be told apart; the table and metrics.csv remain.
inline constexpr size_t kMaxRegionLines = 16;

class Page {
 public:
  explicit Page(const Json& report);
  std::string Render();

 private:
  // Regions training with DP-SGD keep their training loss local, so none is shown for them.
  double TrainLoss(const Json* round) const;
  std::string Section(const std::string& id, const std::string& title, const std::string& html);
  std::string Missing(const std::string& what);
  std::string Figure(const LineChart& chart, const std::string& caption, const std::string& note);
  void CollectRegionNames();
  std::pair<const Json*, std::string> LatestRegionMetrics() const;
  static bool HasPoint(const ChartSeries& s);

  std::string Header();
  std::string GlobalQuality();
  std::string Regions();
  std::string Privacy();
  std::string FinalModel();
  std::string RoundsTable();
  std::string Refused();
  std::string Configuration();

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

}  // namespace fedseg::coordinator::internal

#endif  // FEDSEG_COORDINATOR_REPORT_INTERNAL_PAGE_H_
