// fedseg_round_overhead: the cost of one federated round apart from local training. Runs the real
// coordinator (in this process, on its own thread) and K region threads that speak the real
// protocol over mutual TLS on 127.0.0.1 but answer every RoundStart at once with a zero delta.
// A round therefore costs: sending the global model to K regions, their decoding and validation,
// K updates back, validation, FedAvg, the atomic checkpoint and the report. Prints the round
// durations the coordinator measured (report.json), e.g. for 10 regions and a 1M-parameter model:
//   fedseg_round_overhead --regions 10 --params-hidden 1000,900 --rounds 6
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/fake_summary.h"
#include "common/base/file_util.h"
#include "common/ml/runtime.h"
#include "common/net/tls_client.h"
#include "common/protocol/messages.h"
#include "coordinator/coordinator.h"

namespace fedseg {
namespace {

constexpr int kFeatures = 100;

// A region that answers instantly: the protocol without the training.
int FakeRegion(const std::string& name, uint16_t port, const std::string& pki) {
  using namespace std::chrono_literals;
  net::TlsConfig tls{pki + "/ca.crt", pki + "/" + name + ".crt", pki + "/" + name + ".key"};
  auto conn = net::TlsClientConnection::Connect("127.0.0.1", port, tls, 10s);
  if (!conn.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), conn.status().message().c_str());
    return 1;
  }
  net::TlsClientConnection& c = **conn;
  if (!c.Send(static_cast<uint16_t>(protocol::MessageType::kHello), Serialize(protocol::HelloMsg{name, "bench"}), 10s).ok())
    return 1;
  ml::ModelSpec spec;
  for (;;) {
    auto f = c.Receive(120s);
    if (!f.ok()) return 1;
    switch (static_cast<protocol::MessageType>(f->type)) {
      case protocol::MessageType::kWelcome: break;
      case protocol::MessageType::kSummaryRequest: {
        const protocol::SummaryReplyMsg r = bench::FakeSummaryReply(kFeatures);
        if (!c.Send(static_cast<uint16_t>(protocol::MessageType::kSummaryReply), Serialize(r), 30s).ok()) return 1;
        break;
      }
      case protocol::MessageType::kSetup: {
        protocol::SetupMsg s;
        if (!protocol::ParseFrame(*f, protocol::MessageType::kSetup, &s).ok()) return 1;
        spec = s.spec;
        break;
      }
      case protocol::MessageType::kRoundStart: {
        protocol::RoundStartMsg m;
        if (!protocol::ParseFrame(*f, protocol::MessageType::kRoundStart, &m).ok()) return 1;
        if (!protocol::ValidateWeights(m.weights, spec).ok()) return 1;
        protocol::UpdateMsg u;
        u.round = m.round;
        u.num_examples = m.train ? 100 : 0;
        if (m.train) u.delta.assign(m.weights.size(), 0.0f);
        u.evaluation = ml::ClassificationSummary(2);
        float p[2] = {0.4f, 0.6f};
        u.evaluation.Add(1, p);
        if (!c.Send(static_cast<uint16_t>(protocol::MessageType::kUpdate), Serialize(u), 60s).ok()) return 1;
        break;
      }
      case protocol::MessageType::kDone: return 0;
      default: return 1;
    }
  }
}

}  // namespace
}  // namespace fedseg

int main(int argc, char** argv) {
  using namespace fedseg;
  CLI::App app{"Round overhead of the coordinator over mutual TLS, excluding local training"};
  int regions = 10, rounds = 6;
  std::string hidden = "1000,900", src = FEDSEG_SOURCE_DIR_FOR_BENCH;
  app.add_option("--regions", regions)->capture_default_str();
  app.add_option("--rounds", rounds)->capture_default_str();
  app.add_option("--params-hidden", hidden, "Hidden widths (input is 100, 2 classes)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  ml::ConfigureThreads(0);
  const std::string dir = (std::filesystem::temp_directory_path() / "fedseg-round-bench").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string names;
  std::vector<std::string> region_names;
  for (int i = 0; i < regions; ++i) {
    region_names.push_back("bench-" + std::to_string(i));
    names += " " + region_names.back();
  }
  if (std::system(("bash " + src + "/scripts/gen-certs.sh --out " + dir + "/pki" + names + " >/dev/null").c_str()) != 0) {
    std::fprintf(stderr, "gen-certs.sh failed\n");
    return 1;
  }
  auto h = ml::ParseHiddenLayers(hidden);
  if (!h.ok()) return 2;
  coordinator::CoordinatorConfig cfg;
  cfg.port = 0;
  cfg.tls = {dir + "/pki/ca.crt", dir + "/pki/coordinator.crt", dir + "/pki/coordinator.key"};
  cfg.regions = region_names;
  cfg.run_dir = dir + "/run";
  cfg.data.label = "y";
  cfg.hidden = *h;
  cfg.plan.total_rounds = rounds;
  cfg.min_regions = regions;
  auto coord = coordinator::Coordinator::Create(cfg, {});
  if (!coord.ok()) {
    std::fprintf(stderr, "%s\n", coord.status().message().c_str());
    return 1;
  }
  const uint16_t port = (*coord)->port();
  std::thread server([&] { (*coord)->Run(); });
  std::vector<std::thread> clients;
  std::vector<int> rc(regions);
  for (int i = 0; i < regions; ++i) {
    clients.emplace_back([&, i] { rc[i] = FakeRegion(region_names[i], port, dir + "/pki"); });
  }
  for (auto& t : clients) t.join();
  server.join();
  auto report = ReadFile(cfg.run_dir + "/report.json");
  if (!report.ok()) return 1;
  auto j = nlohmann::json::parse(*report);
  std::vector<double> secs;
  for (size_t r = 1; r < j["rounds"].size(); ++r) {
    if (j["rounds"][r].contains("seconds")) secs.push_back(j["rounds"][r]["seconds"]);
  }
  std::printf("model %s (%lld parameters), %d regions over mutual TLS on loopback\n",
              j["model"]["architecture"].get<std::string>().c_str(),
              static_cast<long long>(j["model"]["parameters"].get<int64_t>()), regions);
  for (size_t i = 0; i < secs.size(); ++i) std::printf("round %zu: %.3f s\n", i + 1, secs[i]);
  std::vector<double> sorted = secs;
  std::sort(sorted.begin(), sorted.end());
  if (!sorted.empty()) {
    std::printf("median round overhead: %.3f s (min %.3f, max %.3f)\n", sorted[sorted.size() / 2],
                sorted.front(), sorted.back());
  }
  for (int v : rc) {
    if (v != 0) return 1;
  }
  return 0;
}
