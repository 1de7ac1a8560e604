// The data summary the benches' instant regions send: `features` numeric columns of 100 rows and
// two balanced classes, so the coordinator builds a `features`-input schema without any data.
#ifndef FEDSEG_BENCH_FAKE_SUMMARY_H_
#define FEDSEG_BENCH_FAKE_SUMMARY_H_

#include <string>

#include "common/protocol/messages.h"

namespace fedseg::bench {

inline protocol::SummaryReplyMsg FakeSummaryReply(int features) {
  protocol::SummaryReplyMsg r;
  for (int j = 0; j < features; ++j) {
    data::ColumnSummary col;
    col.name = "x" + std::to_string(j);
    col.count = 100;
    col.sum = 10;
    col.sum_sq = 120;
    r.summary.columns.push_back(col);
  }
  r.summary.label_counts = {{"a", 50}, {"b", 50}};
  r.summary.rows = 100;
  r.train_rows = 100;
  return r;
}

}  // namespace fedseg::bench

#endif  // FEDSEG_BENCH_FAKE_SUMMARY_H_
