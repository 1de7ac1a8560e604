// Writes the seed corpora of tests/fuzz/corpus/<target>/ with the product's own serializers:
// valid inputs of every format, plus a few near-valid ones (truncated, one byte off). Run by
// hand after a format change (scripts/fuzz.sh --make-corpus), and commit the output:
//   fuzz_make_corpus SOURCE_DIR OUT_DIR
// SOURCE_DIR is the repository (for data/, examples/ and tests/fuzz/keys/).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/base/container.h"
#include "common/base/sha256.h"
#include "common/data/csv.h"
#include "common/data/dataset_loader.h"
#include "common/ml/model_file.h"
#include "common/net/frame.h"
#include "common/protocol/messages.h"
#include "coordinator/checkpoint.h"
#include "privacy/ledger/ledger.h"

namespace fs = std::filesystem;

namespace fedseg::fuzz {
namespace {

fs::path g_out;

void Write(const std::string& target, const std::string& name, std::string_view bytes) {
  const fs::path dir = g_out / target;
  fs::create_directories(dir);
  std::ofstream f(dir / name, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) {
    std::cerr << "cannot write " << (dir / name) << "\n";
    std::exit(1);
  }
}

std::string ReadText(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string WithByte(uint8_t b, std::string_view rest) {
  std::string out(1, static_cast<char>(b));
  out += rest;
  return out;
}

data::RawDataset SmallDataset() {
  data::RawDataset d;
  d.source = "mem";
  d.features = {data::RawColumn{"x", data::ColumnType::kNumeric, {1, 2, 3, 4}, {}, 0},
                data::RawColumn{"c", data::ColumnType::kCategorical, {}, {"a", "b", "a", "c"}, 0},
                data::RawColumn{"w", data::ColumnType::kBoolean, {0, 1, 1, 0}, {}, 0}};
  d.label_name = "y";
  d.labels = {"no", "yes", "no", "yes"};
  d.line_numbers = {2, 3, 4, 5};
  return d;
}

void MakeCsv(const fs::path& source_dir) {
  Write("csv", "simple", WithByte(0, "a,b,y\n1,x,no\n2,y,yes\n3,,no\n"));
  Write("csv", "quoted_crlf",
        WithByte(0, "\"name\",\"v\"\r\n\"a, \"\"b\"\"\",1\r\n\"multi\nline\",2\r\n"));
  Write("csv", "semicolon_bom",
        WithByte(2, "\xEF\xBB\xBFid;num;cat;label\n1;1,5;a;p\n2;NA;b;q\n3;7.50E-05;?;p\n"));
  Write("csv", "tab_missing", WithByte(3, "f\tg\tlabel\n1\tTRUE\ta\n\tfalse\tb\nnan\tN/A\ta\n"));
  Write("csv", "pipe_no_final_newline", WithByte(4, "p|q\n1|2\n3|4"));
  Write("csv", "bad_quote", WithByte(1, "a,b\n\"x\"y,1\n"));
  Write("csv", "ragged", WithByte(0, "a,b,c\n1,2\n"));
  Write("csv", "duplicate_header", WithByte(0, "a,a\n1,2\n"));
  Write("csv", "label_missing_rows", WithByte(0x42, "id,x,y\n1,0.5,\n2,1.5,b\n3,2,a\n4,3,b\n"));
  // The head of the bundled table (header and 24 rows), label = the last column (18 % 18 = 0:
  // byte 17 selects it).
  std::istringstream in(ReadText(source_dir / "data/online_shoppers_intention.csv"));
  std::string head, line;
  for (int i = 0; i < 25 && std::getline(in, line); ++i) head += line + "\n";
  Write("csv", "shoppers_head", WithByte(17, head));
}

std::vector<std::pair<std::string, net::Frame>> Messages() {
  data::RawDataset d = SmallDataset();
  data::DataSummary summary = Summarize(d);
  data::Schema schema = *data::Schema::FromSummary(summary, "y");
  const ml::ModelSpec spec{schema.input_dim(), {3}, 2};
  const ml::ModelSpec small{4, {3}, 2};  // the architecture messages_fuzz.cc validates against

  protocol::DataContract contract;
  contract.label = "y";
  contract.categorical = {"c"};
  contract.numeric = {"x"};
  contract.drop = {"id"};
  contract.bounds = {{"x", {0.0, 10.0}}};

  protocol::TrainingPlan plan;
  plan.local_epochs = 2;
  plan.dp = true;
  plan.dp_noise_multiplier = 1.1;
  plan.total_rounds = 5;
  plan.proximal_mu = 0.01;

  ml::ClassificationSummary eval(2);
  const float p1[2] = {0.8f, 0.2f}, p2[2] = {0.3f, 0.7f};
  eval.Add(0, p1);
  eval.Add(1, p2);
  eval.Add(1, p1);

  std::vector<float> weights(static_cast<size_t>(small.num_params()));
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 0.01f * static_cast<float>(i) - 0.1f;

  protocol::UpdateMsg update{1, 10, weights, 0.5, eval, 0.7, 8.0, 1e-5, std::string(64, 'a')};
  protocol::UpdateMsg eval_only{2, 10, {}, 0.0, eval, 0.7, 8.0, 1e-5, std::string(64, 'b')};
  protocol::UpdateMsg empty_eval{1,   3,   weights, 0.25, ml::ClassificationSummary(),
                                 0.0, 0.0, 0.0,     ""};

  return {
      {"hello", protocol::MakeFrame(protocol::MessageType::kHello,
                                    protocol::HelloMsg{"Region-1", "fedseg 0.1.0"})},
      {"welcome",
       MakeFrame(protocol::MessageType::kWelcome, protocol::WelcomeMsg{"run-1", contract, 3})},
      {"summary_request",
       MakeFrame(protocol::MessageType::kSummaryRequest, protocol::SummaryRequestMsg{0.5})},
      {"summary_reply",
       MakeFrame(protocol::MessageType::kSummaryReply, protocol::SummaryReplyMsg{summary, 4, 1})},
      {"setup",
       MakeFrame(protocol::MessageType::kSetup, protocol::SetupMsg{"run-1", schema, spec, plan})},
      {"round_start", MakeFrame(protocol::MessageType::kRoundStart,
                                protocol::RoundStartMsg{1, true, 99, weights})},
      {"update", MakeFrame(protocol::MessageType::kUpdate, update)},
      {"update_eval_only", MakeFrame(protocol::MessageType::kUpdate, eval_only)},
      {"update_empty_eval", MakeFrame(protocol::MessageType::kUpdate, empty_eval)},
      {"decline",
       MakeFrame(protocol::MessageType::kDecline,
                 protocol::DeclineMsg{4, "privacy budget spent", 8.0, 8.0, std::string(64, 'c')})},
      {"done",
       MakeFrame(protocol::MessageType::kDone, protocol::DoneMsg{weights, "all rounds done"})},
      {"error", MakeFrame(protocol::MessageType::kError, protocol::ErrorMsg{"unexpected message"})},
  };
}

void MakeMessagesAndFrames() {
  for (const auto& [name, frame] : Messages()) {
    // messages: byte 0 = type - 1 (the target maps it back with 1 + byte % 10).
    Write("messages", name, WithByte(static_cast<uint8_t>(frame.type - 1), frame.payload));
    Write("frame", name, net::EncodeFrame(frame.type, frame.payload));
  }
  const net::Frame hello = Messages()[0].second;
  std::string framed = net::EncodeFrame(hello.type, hello.payload);
  Write("frame", "truncated_payload", framed.substr(0, framed.size() - 3));
  std::string bad_crc = framed;
  bad_crc[13] ^= 1;
  Write("frame", "bad_crc", bad_crc);
  Write("frame", "header_only_unknown_type", net::EncodeFrame(77, ""));
  Write("messages", "truncated_update", WithByte(6, Messages()[6].second.payload.substr(0, 40)));
}

ml::ModelFile SmallModel() {
  data::RawDataset d = SmallDataset();
  data::Schema schema = *data::Schema::FromSummary(Summarize(d), "y");
  ml::Mlp m = *ml::Mlp::Create({schema.input_dim(), {4}, 2});
  m.InitRandom(1);
  return ml::ModelFile{schema, m, R"({"mode":"local"})", ml::DecisionRule{}};
}

void MakeContainers() {
  const std::string model = ml::EncodeModelFile(SmallModel());
  Write("model_file", "valid_file", WithByte(0, model));
  Write("model_file", "valid_payload", WithByte(1, model.substr(kContainerHeaderSize)));
  Write("model_file", "truncated_file", WithByte(0, model.substr(0, model.size() - 5)));
  ml::ModelFile no_hidden = SmallModel();
  no_hidden.model = *ml::Mlp::Create({no_hidden.schema.input_dim(), {}, 2});
  Write("model_file", "no_hidden_payload",
        WithByte(1, EncodeModelFile(no_hidden).substr(kContainerHeaderSize)));
  ml::ModelFile thresholded = SmallModel();
  thresholded.decision = ml::DecisionRule{ml::DecisionObjective::kMaxF1, 1, 0.3125, 0};
  Write("model_file", "threshold_rule_file", WithByte(0, ml::EncodeModelFile(thresholded)));

  coordinator::Checkpoint c;
  ml::ModelFile f = SmallModel();
  c.run_id = "run-1";
  c.completed_round = 3;
  c.schema = f.schema;
  c.spec = f.model.spec();
  c.weights.assign(f.model.params().data(), f.model.params().data() + f.model.params().size());
  c.strategy_state.assign(c.weights.size() * 2, 0.5f);
  c.history_json = R"([{"round":1,"loss":0.5}])";
  c.regions_json = R"({"Region-1":{"epsilon":0.7}})";
  const std::string ckpt = coordinator::EncodeCheckpoint(c);
  Write("checkpoint", "valid_file", WithByte(0, ckpt));
  Write("checkpoint", "valid_payload", WithByte(1, ckpt.substr(kContainerHeaderSize)));
  Write("checkpoint", "truncated_file", WithByte(0, ckpt.substr(0, ckpt.size() - 9)));
}

// The v2 ledger seeds: a genesis entry with a fresh ledger key of the region's own (InitLedger),
// then releases. The legacy (v1) seeds valid_3_entries, valid_1_entry, cut_last_line, reordered
// and empty (signed with tests/fuzz/keys/fuzz-region.key, the region's TLS key, over the bare
// hash) were made by the writer before the genesis entry existed; it no longer makes such
// ledgers, so they are kept as committed.
void MakeLedgers(const fs::path& /*source_dir*/) {
  const fs::path dir = fs::temp_directory_path() / ("fedseg-corpus-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "ledger.jsonl").string();
  const std::string key = (dir / "ledger.key").string();
  {
    auto init = privacy::InitLedger({path, key, "fuzz-region", 10.0, 1e-5});
    if (!init.ok()) {
      std::cerr << init.status().ToString() << "\n";
      std::exit(1);
    }
    auto w = privacy::LedgerWriter::Open(path, key, "fuzz-region", "run-1");
    if (!w.ok()) {
      std::cerr << w.status().ToString() << "\n";
      std::exit(1);
    }
    privacy::LedgerRelease stats;
    stats.round = 0;
    stats.mechanism = "gaussian";
    stats.params = {{"noise_multiplier", 8.0},
                    {"count", 12},
                    {"clip_norm", 1.0},
                    {"sensitivity", "one row changes each clipped count or sum by at most 1"}};
    stats.delta = 1e-5;
    if (!(*w)->Append(stats).ok()) std::exit(1);
    for (uint32_t r = 1; r <= 2; ++r) {
      privacy::LedgerRelease s;
      s.round = r;
      s.mechanism = "sampled_gaussian";
      s.params = {
          {"sampling_rate", 0.02}, {"noise_multiplier", 1.1}, {"clip_norm", 1.0}, {"steps", 50}};
      s.delta = 1e-5;
      s.model_sha256 = Sha256Hex("model of round " + std::to_string(r));
      if (!(*w)->Append(s).ok()) std::exit(1);
    }
  }
  const std::string text = ReadText(path);
  fs::remove_all(dir);
  Write("ledger", "v2_genesis_and_3_entries", text);
  const size_t first_nl = text.find('\n');
  Write("ledger", "v2_genesis_only", text.substr(0, first_nl + 1));
  Write("ledger", "v2_cut_last_line", text.substr(0, text.size() - 20));
}

void MakeConfigs(const fs::path& source_dir) {
  Write("json_config", "example", ReadText(source_dir / "examples/coordinator.json"));
  Write(
      "json_config", "minimal",
      R"({"regions": ["A", "B"], "data": {"label": "y"}, "tls": {"ca": "ca", "cert": "c", "key": "k"}})");
  Write("json_config", "dp_fedadam",
        R"({"regions": ["A"], "data": {"label": "y", "bounds": {"x": [0, 1]}},
  /* comment */ "strategy": {"name": "fedadam", "server_learning_rate": 0.01},
  "privacy": {"dp": true, "noise_multiplier": 1.1}, "federation": {"min_regions": 1}})");
  Write("json_config", "unknown_field", R"({"regionz": []})");
  Write("json_config", "syntax_error", "{\n  \"rounds\": 3,\n  oops\n}");
}

}  // namespace
}  // namespace fedseg::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: fuzz_make_corpus SOURCE_DIR OUT_DIR\n";
    return 2;
  }
  const fs::path source_dir = argv[1];
  fedseg::fuzz::g_out = argv[2];
  fedseg::fuzz::MakeCsv(source_dir);
  fedseg::fuzz::MakeMessagesAndFrames();
  fedseg::fuzz::MakeContainers();
  fedseg::fuzz::MakeLedgers(source_dir);
  fedseg::fuzz::MakeConfigs(source_dir);
  return 0;
}
