// The report page under construction: one object per rendering of a RunRecord, one method per
// section of the page (report_html.h describes the page). The record is typed; only the
// configuration echo and the final model's full report are still read as JSON (guarded, see
// report_json.h), as the record keeps them. Its methods are spread over page.cc (the frame and the
// header), page_charts.cc (quality, regions, privacy) and page_tables.cc (final model, rounds,
// refused updates and connections, configuration).
#ifndef FEDSEG_COORDINATOR_REPORT_INTERNAL_PAGE_H_
#define FEDSEG_COORDINATOR_REPORT_INTERNAL_PAGE_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/record/run_record.h"
#include "coordinator/report/html_chart.h"
#include "coordinator/report/internal/report_json.h"

namespace fedseg::coordinator::internal {

// More lines than this in one chart cannot be told apart; the table and metrics.csv remain.
inline constexpr size_t kMaxRegionLines = 16;

// Typed reads of the record where a part may be absent (nothing evaluated yet).
// A metric of `m`, NaN when there is no evaluation.
inline double Metric(const MetricsBrief* m, double MetricsBrief::*field) {
  return m != nullptr ? m->*field : kNaN;
}

inline const MetricsBrief* GlobalOf(const RoundResult* r) {
  return r != nullptr && r->evaluation ? &r->evaluation->global : nullptr;
}

inline const std::map<std::string, MetricsBrief>* RegionsOf(const RoundResult* r) {
  return r != nullptr && r->evaluation ? &r->evaluation->regions : nullptr;
}

inline const MetricsBrief* RegionOf(const std::map<std::string, MetricsBrief>* m,
                                            const std::string& name) {
  if (m == nullptr) return nullptr;
  const auto it = m->find(name);
  return it == m->end() ? nullptr : &it->second;
}

class Page {
 public:
  // `record` must outlive the page. `unreadable` (when not empty) says why the document could not
  // be read as a record; the page then lists it among what is missing.
  explicit Page(const RunRecord& record, const std::string& unreadable = "");
  std::string Render();

 private:
  // Regions training with DP-SGD keep their training loss local, so none is shown for them.
  double TrainLoss(const RoundResult& round) const;
  std::string Section(const std::string& id, const std::string& title, const std::string& html);
  std::string Missing(const std::string& what);
  std::string Figure(const LineChart& chart, const std::string& caption, const std::string& note);
  void CollectRegionNames();
  using RegionMetrics = std::map<std::string, MetricsBrief>;
  std::pair<const RegionMetrics*, std::string> LatestRegionMetrics() const;
  const RegionResult* FindRegion(const std::string& name) const;
  static bool HasPoint(const ChartSeries& s);

  std::string Header();
  std::string GlobalQuality();
  std::string Regions();
  std::string Privacy();
  std::string FinalModel();
  std::string RoundsTable();
  std::string Refused();
  std::string RefusedUpdates();
  std::string Configuration();

  const RunRecord& record_;
  const Json* config_ = nullptr;        // the configuration echo; null when empty
  const RoundResult* final_ = nullptr;  // the final round, once evaluated
  const Json* final_report_ = nullptr;  // ml::ClassificationReport::ToJson of the final model
  std::vector<std::string> region_names_;
  std::vector<std::string> missing_;
  std::string run_id_;
  int plots_ = 0;
  bool dp_run_ = false;
};

}  // namespace fedseg::coordinator::internal

#endif  // FEDSEG_COORDINATOR_REPORT_INTERNAL_PAGE_H_
