// Google Benchmark: the feature engine's per-event path on a synthetic event log (the shape of
// bench/features_bench.sh's: user_id, ts, category, amount; 400,000 rows, 20,000 users) — the
// record reader alone (tokenizing), and ComputeFeatures with the bench script's ten features
// (tokenize, parse, user lookup, accumulate, finish). Items/s are events per second of one
// thread. The end-to-end figure of record, against pandas, is bench/features_bench.sh.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "common/features/feature_engine.h"
#include "common/features/internal/record_reader.h"

namespace fedseg::features {
namespace {

constexpr int kRows = 400000;

// The log, written once per process to a temporary folder (removed at exit).
class Log {
 public:
  Log() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "fedseg_feature_bench_XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int> user(1, 20000), day(1, 28), month(1, 12), cat(0, 4);
    std::gamma_distribution<double> amount(2.0, 20.0);
    std::string text = "user_id,ts,category,amount\n";
    char line[96];
    for (int i = 0; i < kRows; ++i) {
      std::snprintf(line, sizeof line, "u%d,2023-%02d-%02d,%c,%.2f\n", user(rng), month(rng),
                    day(rng), static_cast<char>('A' + cat(rng)), amount(rng));
      text += line;
    }
    std::ofstream(path(), std::ios::binary) << text;
  }
  ~Log() { std::filesystem::remove_all(dir_); }
  std::string dir() const { return dir_; }
  std::string path() const { return dir_ + "/log.csv"; }

 private:
  std::string dir_;
};

const Log& TheLog() {
  static const Log log;
  return log;
}

void BM_RecordReader(benchmark::State& state) {
  const std::string path = TheLog().path();
  std::vector<std::string_view> fields;
  for (auto _ : state) {
    auto reader = internal::RecordReader::Open(path, ',', Encoding::kUtf8);
    if (!reader.ok()) {
      state.SkipWithError(reader.status().message().c_str());
      return;
    }
    int64_t n = 0;
    for (;;) {
      auto got = (*reader)->Next(&fields);
      if (!got.ok() || !*got) break;
      benchmark::DoNotOptimize(fields.data());
      ++n;
    }
    if (n != kRows + 1) state.SkipWithError("wrong record count");
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_RecordReader)->Unit(benchmark::kMillisecond);

void BM_ComputeFeatures(benchmark::State& state) {
  const nlohmann::json j = nlohmann::json::parse(R"({
    "reference_time": "2024-01-01",
    "id_column": "user_id",
    "sources": {"events": {"path": "log.csv", "user_id": "user_id", "timestamp": "ts"}},
    "features": [
      {"name": "events", "source": "events", "agg": "count"},
      {"name": "amount_sum", "source": "events", "agg": "sum", "column": "amount"},
      {"name": "amount_mean", "source": "events", "agg": "mean", "column": "amount"},
      {"name": "amount_min", "source": "events", "agg": "min", "column": "amount"},
      {"name": "amount_max", "source": "events", "agg": "max", "column": "amount"},
      {"name": "amount_std", "source": "events", "agg": "stddev", "column": "amount"},
      {"name": "share_a", "source": "events", "agg": "share", "column": "category", "value": "A"},
      {"name": "events_last_30_days", "source": "events", "agg": "count", "window": {"start_days": -30}},
      {"name": "recency", "source": "events", "agg": "recency"},
      {"name": "tenure", "source": "events", "agg": "tenure"}
    ]
  })");
  Result<FeatureSpec> spec = ParseFeatureSpec(j, "bench.json", TheLog().dir());
  if (!spec.ok()) {
    state.SkipWithError(spec.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    Result<FeatureTable> t = ComputeFeatures(*spec);
    if (!t.ok()) {
      state.SkipWithError(t.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(t->ids.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_ComputeFeatures)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fedseg::features
BENCHMARK_MAIN();
