// fedseg-malicious-region: a TEST-ONLY region that attacks the federation (scripts/
// poisoning_test.sh, tests/integration/poisoning_test.cc). It holds a valid region certificate and
// follows the protocol — honest Hello, data summary and evaluation — but sends poisoned updates:
//
//   huge-n      delta = -global (zero the model) claiming 2^40 training examples
//   scale       its honest delta times 100 (model-replacement boosting)
//   sign-flip   its honest delta times -10
//   flt-max     every delta value +-FLT_MAX (alternating signs)
//   label-flip  an honest update trained on its rows with the labels flipped
//
// It is not a mode of fedseg-client and is not installed: it exists to show the coordinator's
// defences (docs/security.md) hold against a region that lies.
#include <CLI/CLI.hpp>
#include <cfloat>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>

#include "client/local_commands.h"
#include "client/region_config.h"
#include "common/base/log_escape.h"
#include "common/base/seed.h"
#include "common/base/serialization.h"
#include "common/ml/evaluation.h"
#include "common/ml/trainer.h"
#include "common/net/tls_client.h"
#include "common/protocol/messages.h"

namespace fedseg {
namespace {

enum class Attack { kHugeN, kScale, kSignFlip, kFltMax, kLabelFlip };

struct State {
  client::RegionConfig config;
  Attack attack = Attack::kScale;
  data::RawDataset train_raw, test_raw;
  std::optional<protocol::SetupMsg> setup;
  data::EncodedData train, test;
};

Status Load(State& s, const protocol::WelcomeMsg& w) {
  client::TableArgs t;
  t.data = s.config.train_data;
  t.label = w.contract.label;
  t.id_column = s.config.id_column;
  t.categorical = w.contract.categorical;
  t.numeric = w.contract.numeric;
  t.drop = w.contract.drop;
  t.dates = w.contract.dates;
  t.log = w.contract.log;  // as an honest region reads its table: the contract's, no detection
  t.detect_log = false;
  t.delimiter = s.config.delimiter;
  FEDSEG_ASSIGN_OR_RETURN(data::LoadOptions opts, client::MakeLoadOptions(t));
  FEDSEG_ASSIGN_OR_RETURN(s.train_raw, data::LoadDatasetFile(s.config.train_data, opts));
  data::LoadOptions test_opts = opts;
  for (const data::RawColumn& c : s.train_raw.features) {
    test_opts.types[c.name] = c.type;
    test_opts.feature_columns.push_back(c.name);
  }
  FEDSEG_ASSIGN_OR_RETURN(s.test_raw, data::LoadDatasetFile(s.config.test_data, test_opts));
  return Status::OK();
}

Result<net::Frame> Answer(State& s, const protocol::RoundStartMsg& msg) {
  const protocol::SetupMsg& setup = *s.setup;
  FEDSEG_RETURN_IF_ERROR(protocol::ValidateWeights(msg.weights, setup.spec));
  FEDSEG_ASSIGN_OR_RETURN(ml::Mlp model, ml::Mlp::Create(setup.spec));
  const Eigen::VectorXf global = Eigen::Map<const Eigen::VectorXf>(
      msg.weights.data(), static_cast<Eigen::Index>(msg.weights.size()));
  FEDSEG_RETURN_IF_ERROR(model.SetParams(global));
  protocol::UpdateMsg up;
  up.round = msg.round;
  up.evaluation = ml::Evaluate(model, s.test);  // honest: the attack is on training
  if (!msg.train) return protocol::MakeFrame(protocol::MessageType::kUpdate, up);
  data::EncodedData rows = s.train;
  if (s.attack == Attack::kLabelFlip) {
    for (int& y : rows.y) y = setup.spec.num_classes - 1 - y;
  }
  ml::TrainConfig tc;
  tc.epochs = setup.plan.local_epochs;
  tc.batch_size = setup.plan.batch_size;
  tc.optimizer = setup.plan.optimizer;
  tc.class_weight = setup.plan.class_weight;
  tc.seed = DeriveSeed(msg.seed, s.config.region);
  tc.threads = s.config.threads;
  FEDSEG_ASSIGN_OR_RETURN(ml::TrainReport rep, ml::Train(model, rows, nullptr, tc));
  Eigen::VectorXf delta = model.params() - global;
  up.num_examples = rows.rows();
  up.train_loss = rep.history.empty() ? 0.0 : rep.history.back().train_loss;
  switch (s.attack) {
    case Attack::kHugeN:
      delta = -global;
      up.num_examples = uint64_t{1} << 40;
      break;
    case Attack::kScale:
      delta *= 100.0f;
      break;
    case Attack::kSignFlip:
      delta *= -10.0f;
      break;
    case Attack::kFltMax:
      for (Eigen::Index i = 0; i < delta.size(); ++i) delta[i] = i % 2 ? -FLT_MAX : FLT_MAX;
      break;
    case Attack::kLabelFlip:
      break;
  }
  up.delta.assign(delta.data(), delta.data() + delta.size());
  return protocol::MakeFrame(protocol::MessageType::kUpdate, up);
}

int Run(State& s) {
  auto conn = net::TlsClientConnection::Connect(s.config.coordinator_host,
                                                s.config.coordinator_port, s.config.tls,
                                                std::chrono::seconds(10), net::TcpKeepalive{});
  for (int attempt = 0; !conn.ok() && attempt < 100; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    conn = net::TlsClientConnection::Connect(s.config.coordinator_host, s.config.coordinator_port,
                                             s.config.tls, std::chrono::seconds(10),
                                             net::TcpKeepalive{});
  }
  if (!conn.ok()) {
    std::fprintf(stderr, "malicious region: %s\n", conn.status().message().c_str());
    return 1;
  }
  net::TlsClientConnection& c = **conn;
  const auto io = std::chrono::seconds(60);
  Status st = c.Send(static_cast<uint16_t>(protocol::MessageType::kHello),
                     Serialize(protocol::HelloMsg{s.config.region, "fedseg 0.1.0"}), io);
  for (; st.ok();) {
    auto frame = c.Receive(std::chrono::seconds(s.config.receive_timeout_s));
    if (!frame.ok()) {
      st = frame.status();
      break;
    }
    const auto type = static_cast<protocol::MessageType>(frame->type);
    if (type == protocol::MessageType::kWelcome) {
      protocol::WelcomeMsg w;
      st = protocol::ParseFrame(*frame, type, &w);
      if (st.ok()) st = Load(s, w);
    } else if (type == protocol::MessageType::kSummaryRequest) {
      protocol::SummaryReplyMsg reply{data::Summarize(s.train_raw), s.train_raw.num_rows(),
                                      s.test_raw.num_rows()};
      st =
          c.Send(static_cast<uint16_t>(protocol::MessageType::kSummaryReply), Serialize(reply), io);
    } else if (type == protocol::MessageType::kSetup) {
      protocol::SetupMsg m;
      st = protocol::ParseFrame(*frame, type, &m);
      if (st.ok()) {
        auto train = m.schema.Encode(s.train_raw);
        auto test = m.schema.Encode(s.test_raw);
        if (!train.ok() || !test.ok()) {
          st = !train.ok() ? train.status() : test.status();
        } else {
          s.train = std::move(*train);
          s.test = std::move(*test);
          s.setup = std::move(m);
        }
      }
    } else if (type == protocol::MessageType::kRoundStart) {
      protocol::RoundStartMsg r;
      st = protocol::ParseFrame(*frame, type, &r);
      if (st.ok() && !s.setup) st = Status::FailedPrecondition("RoundStart before Setup");
      if (!st.ok()) break;
      auto answer = Answer(s, r);
      st = answer.ok() ? c.Send(answer->type, answer->payload, io) : answer.status();
    } else if (type == protocol::MessageType::kDone) {
      std::fprintf(stderr, "malicious region %s: federation finished\n", s.config.region.c_str());
      return 0;
    } else {
      protocol::ErrorMsg e;
      (void)protocol::ParseFrame(*frame, protocol::MessageType::kError, &e);
      st = Status::Aborted("coordinator: " + EscapeForLog(e.message));
    }
  }
  std::fprintf(stderr, "malicious region %s: %s\n", s.config.region.c_str(), st.message().c_str());
  return 1;
}

}  // namespace
}  // namespace fedseg

int main(int argc, char** argv) {
  CLI::App app{"fedseg-malicious-region: TEST ONLY: a region that sends poisoned updates"};
  std::string config_path, attack;
  app.add_option("--config", config_path, "Region config (as for fedseg-client join)")->required();
  app.add_option("--attack", attack, "huge-n, scale, sign-flip, flt-max or label-flip")
      ->required()
      ->check(CLI::IsMember({"huge-n", "scale", "sign-flip", "flt-max", "label-flip"}));
  CLI11_PARSE(app, argc, argv);
  auto config = fedseg::client::LoadRegionConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", config.status().message().c_str());
    return 2;
  }
  if (config->test_data.empty()) {
    std::fprintf(stderr, "error: %s: the malicious region needs data.test\n", config_path.c_str());
    return 2;
  }
  fedseg::State s;
  s.config = std::move(*config);
  using fedseg::Attack;
  s.attack = attack == "huge-n"      ? Attack::kHugeN
             : attack == "scale"     ? Attack::kScale
             : attack == "sign-flip" ? Attack::kSignFlip
             : attack == "flt-max"   ? Attack::kFltMax
                                     : Attack::kLabelFlip;
  return fedseg::Run(s);
}
