// Google Benchmark: serialization of what crosses the network and the disk every round — an
// Update message carrying a 1M-parameter delta and an evaluation summary, and a model file —
// in both directions, with the bounded loaders and validation the receiver runs.
#include <benchmark/benchmark.h>

#include <random>

#include "common/ml/model_file.h"
#include "common/protocol/messages.h"

namespace fedseg {
namespace {

protocol::UpdateMsg MakeUpdate(size_t n) {
  protocol::UpdateMsg m;
  m.round = 3;
  m.num_examples = 1000;
  m.delta.resize(n);
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0, 0.01f);
  for (float& v : m.delta) v = d(rng);
  m.evaluation = ml::ClassificationSummary(2);
  float p[2] = {0.3f, 0.7f};
  for (int i = 0; i < 100; ++i) m.evaluation.Add(i % 2, p);
  return m;
}

void BM_EncodeUpdate(benchmark::State& state) {
  protocol::UpdateMsg m = MakeUpdate(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    net::Frame f = MakeFrame(protocol::MessageType::kUpdate, m);
    benchmark::DoNotOptimize(f.payload.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0) * 4);
}
BENCHMARK(BM_EncodeUpdate)->Arg(1 << 20)->Arg(7010);

void BM_DecodeAndValidateUpdate(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  net::Frame f = MakeFrame(protocol::MessageType::kUpdate, MakeUpdate(n));
  for (auto _ : state) {
    protocol::UpdateMsg m;
    Status st = protocol::ParseFrame(f, protocol::MessageType::kUpdate, &m);
    if (st.ok()) st = protocol::ValidateUpdate(m, 3, n, 2, true);
    if (!st.ok()) state.SkipWithError(st.message().c_str());
    benchmark::DoNotOptimize(m.delta.data());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0) * 4);
}
BENCHMARK(BM_DecodeAndValidateUpdate)->Arg(1 << 20)->Arg(7010);

ml::ModelFile MakeModelFile() {
  data::RawDataset d;
  d.source = "bench";
  d.features = {data::RawColumn{"x", data::ColumnType::kNumeric, {1, 2, 3}, {}, 0}};
  d.labels = {"a", "b", "a"};
  data::Schema schema = *data::Schema::FromSummary(data::Summarize(d), "y");
  ml::Mlp m = *ml::Mlp::Create({schema.input_dim(), {1000, 1000}, 2});
  m.InitRandom(1);
  return ml::ModelFile{schema, m, "{}", ml::DecisionRule{}};
}

void BM_EncodeModelFile(benchmark::State& state) {
  ml::ModelFile f = MakeModelFile();
  for (auto _ : state) {
    std::string bytes = ml::EncodeModelFile(f);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetBytesProcessed(state.iterations() * f.model.spec().num_params() * 4);
}
BENCHMARK(BM_EncodeModelFile);

void BM_DecodeModelFile(benchmark::State& state) {
  ml::ModelFile f = MakeModelFile();
  std::string bytes = ml::EncodeModelFile(f);
  for (auto _ : state) {
    auto g = ml::DecodeModelFile(bytes, "bench.fsm");
    if (!g.ok()) state.SkipWithError(g.status().message().c_str());
    benchmark::DoNotOptimize(g->model.params().data());
  }
  state.SetBytesProcessed(state.iterations() * f.model.spec().num_params() * 4);
}
BENCHMARK(BM_DecodeModelFile);

}  // namespace
}  // namespace fedseg

BENCHMARK_MAIN();
