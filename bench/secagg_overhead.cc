// fedseg_secagg_bench: what secure aggregation costs a federated round, in time and bytes, against
// plain FedAvg (issue 11, deliverable 6). Runs the real coordinator in this process, twice, with N
// region threads that speak the real protocol over mutual TLS on 127.0.0.1: once plain FedAvg, once
// with secure aggregation, where each region runs the real region side (privacy/secagg's
// RegionSession and the wire conversions of privacy/secagg/wire, as fedseg-client does) on a fixed
// synthetic delta instead of training. A fraction F of the regions drops out of every round: in the
// secure run after sending its keys and its shares (the costly case: the survivors reveal its
// mask-key shares and the coordinator removes its pairwise masks), in the plain run at RoundStart,
// without answering; either way it closes its connection and joins again for the next round.
// Prints the mean round time of each run (the coordinator's own figure, report.json), the bytes the
// regions sent and received in the training rounds (frames: 8-byte header + payload, TLS records
// and handshakes not counted), their ratios, and the largest difference between the two runs' final
// weights (the same regions are aggregated in both, so it is the fixed-point error), e.g.
//   fedseg_secagg_bench --regions 100 --params 100000 --dropout 0.3
#include <pthread.h>
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "bench/fake_summary.h"
#include "common/base/file_util.h"
#include "common/ml/model_file.h"
#include "common/ml/runtime.h"
#include "common/net/identity_signature.h"
#include "common/net/tls_client.h"
#include "common/protocol/messages.h"
#include "coordinator/coordinator.h"
#include "privacy/secagg/neighbourhood.h"
#include "privacy/secagg/region_session.h"
#include "privacy/secagg/wire/secagg_wire.h"

namespace fedseg {
namespace {

using namespace std::chrono_literals;
namespace secagg = privacy::secagg;
using protocol::MessageType;

constexpr int kFeatures = 100;  // input width of the model (and columns of the fake summaries)

struct RegionSpec {
  std::string name;
  int index = 0;
  bool drops = false;   // leaves every training round (see the header)
  bool secure = false;  // the run has secure aggregation
  uint16_t port = 0;
  std::string pki;
  std::string certificate_pem;  // sent with its keys
};

// Frame bytes (header + payload) a region sent and received: all of them, and those of the
// training rounds (RoundStart with train, the Update answering it, every SecAgg message).
struct Bytes {
  std::atomic<uint64_t> total{0};
  std::atomic<uint64_t> rounds{0};
};

// CPU seconds of the calling thread so far.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// The steps of a training round, as one party's work: in the plain run a region only has kUpdate
// (the model in, its update out); in the secure run kKeys (the model in, its signed keys and the
// update's metadata out), kShares (the roster in, its neighbours' keys checked, shares sealed),
// kMaskedInput (the envelopes in, encoded and masked update out) and kUnmask.
enum Phase { kUpdatePhase, kKeys, kShares, kMaskedInput, kUnmask, kPhases };
constexpr const char* kPhaseNames[kPhases] = {"update", "keys", "shares", "masked_input", "unmask"};
// The message that starts each phase (at a region, and at the coordinator, which sends it).
constexpr MessageType kPhaseStart[kPhases] = {
    MessageType::kRoundStart, MessageType::kRoundStart, MessageType::kSecAggRoster,
    MessageType::kSecAggForward, MessageType::kSecAggUnmaskRequest};

// What each party's CPU did in each round, for the critical-path model (see CriticalPath).
class Timeline {
 public:
  using PhaseCpu = std::array<double, kPhases>;
  explicit Timeline(size_t regions) : region_(regions) {}
  // The coordinator's thread, whose CPU clock the regions read when a message arrives.
  void SetCoordinatorClock(clockid_t clock) { coordinator_clock_ = clock; }
  // A region received `type` of `round`: the coordinator's CPU clock now, the earliest such
  // reading for that message being where the coordinator's step begins.
  void Arrived(uint32_t round, MessageType type) {
    timespec ts{};
    if (clock_gettime(coordinator_clock_, &ts) != 0) return;
    const double cpu = static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
    std::lock_guard lock(mu_);
    auto [it, fresh] = first_.try_emplace({round, static_cast<int>(type)}, cpu);
    if (!fresh) it->second = std::min(it->second, cpu);
  }
  // Called by region `index`'s own thread only.
  void AddRegionCpu(size_t index, uint32_t round, Phase phase, double seconds) {
    region_[index][round][phase] += seconds;
  }
  std::optional<double> FirstArrival(uint32_t round, MessageType type) const {
    auto it = first_.find({round, static_cast<int>(type)});
    if (it == first_.end()) return std::nullopt;
    return it->second;
  }
  const std::vector<std::map<uint32_t, PhaseCpu>>& regions() const { return region_; }

 private:
  clockid_t coordinator_clock_{};
  std::mutex mu_;
  std::map<std::pair<uint32_t, int>, double> first_;
  std::vector<std::map<uint32_t, PhaseCpu>> region_;
};

// One region's connection, counting what passes.
class Link {
 public:
  Link(std::unique_ptr<net::TlsClientConnection> conn, Bytes& bytes)
      : conn_(std::move(conn)), bytes_(bytes) {}
  template <typename T>
  Status Send(MessageType type, const T& msg, bool round_traffic) {
    const std::string payload = Serialize(msg);
    Count(payload.size(), round_traffic);
    return conn_->Send(static_cast<uint16_t>(type), payload, 120s);
  }
  Result<net::Frame> Receive() {
    FEDSEG_ASSIGN_OR_RETURN(net::Frame f, conn_->Receive(600s));
    const auto type = static_cast<MessageType>(f.type);
    // RoundStart is counted by the caller, once it knows whether the round trains.
    if (type != MessageType::kRoundStart) {
      Count(f.payload.size(), type >= MessageType::kSecAggKeys);
    }
    return f;
  }
  void Count(size_t payload, bool round_traffic) {
    bytes_.total += payload + 8;
    if (round_traffic) bytes_.rounds += payload + 8;
  }
  void Close() { conn_->Close(); }

 private:
  std::unique_ptr<net::TlsClientConnection> conn_;
  Bytes& bytes_;
};

// The region's fixed delta: small values in [-1e-3, 1e-3], different per region.
std::vector<float> Delta(int index, size_t params) {
  std::vector<float> d(params);
  for (size_t j = 0; j < params; ++j) {
    d[j] = 1e-3f * static_cast<float>(static_cast<int>((index * 7 + j) % 13) - 6) / 6.0f;
  }
  return d;
}


protocol::UpdateMsg Metadata(uint32_t round, bool train) {
  protocol::UpdateMsg u;
  u.round = round;
  u.num_examples = train ? 100 : 0;
  u.evaluation = ml::ClassificationSummary(2);
  float p[2] = {0.4f, 0.6f};
  u.evaluation.Add(1, p);
  return u;
}

// What one connection ended with.
enum class Outcome { kDone, kRejoin, kError };

// The region side of secure aggregation for one round, as client/federated_client.cc does it.
struct SecureRound {
  uint32_t round = 0;
  std::optional<secagg::RegionSession> session;
  protocol::SecAggRosterMsg roster;
};

Outcome Serve(const RegionSpec& spec, Link& link, net::IdentityVerifier& verifier,
              Timeline& timeline, std::string* error) {
  const std::string key_file = spec.pki + "/" + spec.name + ".key";
  const std::string& certificate_pem = spec.certificate_pem;
  auto fail = [&](const std::string& what, const Status& st) {
    *error = spec.name + ": " + what + ": " + st.message();
    return Outcome::kError;
  };
  ml::ModelSpec model;
  std::string run_id;
  std::vector<float> delta;
  std::optional<SecureRound> sr;
  // This thread's CPU from the end of the previous message's handling (so receiving and
  // decrypting the next one counts) to the end of this one's, charged to the phase it starts.
  double mark = ThreadCpuSeconds();
  std::optional<std::pair<uint32_t, Phase>> charge;
  auto settle = [&] {
    const double now = ThreadCpuSeconds();
    if (charge) timeline.AddRegionCpu(spec.index, charge->first, charge->second, now - mark);
    charge.reset();
    mark = now;
  };
  for (;;) {
    settle();
    auto f = link.Receive();
    if (!f.ok()) return fail("receive", f.status());
    const auto type = static_cast<MessageType>(f->type);
    if (type == MessageType::kDone) timeline.Arrived(0, type);
    Status st;
    switch (type) {
      case MessageType::kWelcome:
        break;
      case MessageType::kSummaryRequest:
        st = link.Send(MessageType::kSummaryReply, bench::FakeSummaryReply(kFeatures), false);
        break;
      case MessageType::kSetup: {
        protocol::SetupMsg s;
        st = protocol::ParseFrame(*f, type, &s);
        if (!st.ok()) break;
        model = s.spec;
        run_id = s.run_id;
        delta = Delta(spec.index, static_cast<size_t>(model.num_params()));
        break;
      }
      case MessageType::kRoundStart: {
        protocol::RoundStartMsg m;
        st = protocol::ParseFrame(*f, type, &m);
        if (!st.ok()) break;
        link.Count(f->payload.size(), m.train);
        timeline.Arrived(m.round, type);
        if (m.train) charge.emplace(m.round, spec.secure ? kKeys : kUpdatePhase);
        if (!m.train) {
          st = link.Send(MessageType::kUpdate, Metadata(m.round, false), false);
          break;
        }
        if (!spec.secure) {
          if (spec.drops) return Outcome::kRejoin;  // leaves without answering
          protocol::UpdateMsg u = Metadata(m.round, true);
          u.delta = delta;
          st = link.Send(MessageType::kUpdate, u, true);
          break;
        }
        auto session =
            secagg::RegionSession::Create(run_id, spec.name, m.round, secagg::SecureRandomBytes());
        if (!session.ok()) return fail("session", session.status());
        auto keys = session->Advertise([&key_file](std::string_view message) {
          return net::SignWithKeyFile(key_file, message);
        });
        if (!keys.ok()) return fail("keys", keys.status());
        sr.emplace();
        sr->round = m.round;
        sr->session.emplace(std::move(*session));
        st = link.Send(MessageType::kSecAggKeys,
                       secagg::KeysToWire(m.round, *keys, certificate_pem), true);
        if (st.ok()) st = link.Send(MessageType::kUpdate, Metadata(m.round, true), true);
        break;
      }
      case MessageType::kSecAggRoster: {
        protocol::SecAggRosterMsg msg;
        st = protocol::ParseFrame(*f, type, &msg);
        if (!st.ok() || !sr || msg.round != sr->round) break;
        charge.emplace(msg.round, kShares);
        timeline.Arrived(msg.round, type);
        auto roster = secagg::RosterFromWire(msg);
        if (!roster.ok()) return fail("roster", roster.status());
        std::map<std::string, std::string> certificates;
        for (const auto& k : msg.regions) certificates[k.region] = k.certificate_pem;
        auto envelopes =
            sr->session->ShareKeys(*roster,
                                   [&](const std::string& region, std::string_view message,
                                       const std::string& signature) -> Status {
                                     auto it = certificates.find(region);
                                     if (it == certificates.end())
                                       return Status::PermissionDenied("no certificate");
                                     return verifier.Verify(it->second, region, message, signature);
                                   });
        if (!envelopes.ok()) return fail("shares", envelopes.status());
        sr->roster = std::move(msg);
        st = link.Send(MessageType::kSecAggShares,
                       protocol::SecAggSharesMsg{sr->round, secagg::EnvelopesToWire(*envelopes)},
                       true);
        if (st.ok() && spec.drops) {
          settle();
          return Outcome::kRejoin;  // after its keys and shares
        }
        break;
      }
      case MessageType::kSecAggForward: {
        protocol::SecAggSharesMsg msg;
        st = protocol::ParseFrame(*f, type, &msg);
        if (!st.ok() || !sr || msg.round != sr->round) break;
        charge.emplace(msg.round, kMaskedInput);
        timeline.Arrived(msg.round, type);
        size_t clipped = 0;
        auto input = secagg::WeightedClippedInput(delta, 100, sr->roster.weight_scale,
                                                  sr->roster.clip_range, &clipped);
        if (!input.ok()) return fail("input", input.status());
        auto codec = secagg::RoundCodec(sr->roster.clip_range, sr->roster.regions.size());
        if (!codec.ok()) return fail("codec", codec.status());
        auto encoded = codec->Encode(*input, secagg::SecureRandomBytes());
        if (!encoded.ok()) return fail("encode", encoded.status());
        auto masked =
            sr->session->MaskInput(secagg::EnvelopesFromWire(msg.envelopes), std::move(*encoded));
        if (!masked.ok()) return fail("mask", masked.status());
        st = link.Send(MessageType::kSecAggMaskedInput,
                       protocol::SecAggMaskedInputMsg{sr->round, std::move(masked->values)}, true);
        break;
      }
      case MessageType::kSecAggUnmaskRequest: {
        protocol::SecAggUnmaskRequestMsg msg;
        st = protocol::ParseFrame(*f, type, &msg);
        if (!st.ok() || !sr || msg.round != sr->round) break;
        charge.emplace(msg.round, kUnmask);
        timeline.Arrived(msg.round, type);
        auto response = sr->session->Unmask(secagg::UnmaskRequest{msg.round, msg.survivors});
        if (!response.ok()) return fail("unmask", response.status());
        st = link.Send(MessageType::kSecAggUnmaskResponse,
                       secagg::UnmaskToWire(msg.round, *response), true);
        sr.reset();
        break;
      }
      case MessageType::kDone:
        return Outcome::kDone;
      case MessageType::kError: {
        protocol::ErrorMsg e;
        (void)protocol::ParseFrame(*f, type, &e);
        *error = spec.name + ": the coordinator says: " + e.message;
        return Outcome::kError;
      }
      default:
        *error = spec.name + ": unexpected " + protocol::MessageTypeName(f->type);
        return Outcome::kError;
    }
    if (!st.ok()) return fail(protocol::MessageTypeName(f->type), st);
  }
}

// Connects (again after each drop) until Done; "" or the error.
std::string RunRegion(RegionSpec spec, Bytes& bytes, Timeline& timeline) {
  auto pem = net::ReadCertificatePem(spec.pki + "/" + spec.name + ".crt");
  if (!pem.ok()) return spec.name + ": " + pem.status().message();
  spec.certificate_pem = *pem;
  // As fedseg-client: one verifier for the region's life (the CA loaded once).
  auto verifier = net::IdentityVerifier::Create(spec.pki + "/ca.crt");
  if (!verifier.ok()) return spec.name + ": " + verifier.status().message();
  net::TlsConfig tls{spec.pki + "/ca.crt", spec.pki + "/" + spec.name + ".crt",
                     spec.pki + "/" + spec.name + ".key"};
  auto conn = net::TlsClientConnection::Connect("127.0.0.1", spec.port, tls, 60s);
  if (!conn.ok()) return spec.name + ": " + conn.status().message();
  std::unique_ptr<net::TlsClientConnection> next = std::move(*conn);
  for (;;) {
    Link link(std::move(next), bytes);
    protocol::HelloMsg hello{spec.name, "secagg bench"};
    if (Status st = link.Send(MessageType::kHello, hello, false); !st.ok()) {
      return spec.name + ": " + st.message();
    }
    if (spec.drops) {
      // The connection it joins again on, opened (TLS handshake done) while it still takes part:
      // after a drop only its Hello remains, so it is back before the next round starts, as it
      // would be in both runs had it dropped out for good and a region just like it stood in.
      auto spare = net::TlsClientConnection::Connect("127.0.0.1", spec.port, tls, 60s);
      if (!spare.ok()) return spec.name + ": " + spare.status().message();
      next = std::move(*spare);
    }
    std::string error;
    const Outcome o = Serve(spec, link, *verifier, timeline, &error);
    link.Close();
    if (o == Outcome::kDone) return "";
    if (o == Outcome::kError) return error;
  }
}

struct RunResult {
  std::vector<double> round_seconds;
  std::vector<size_t> participants;
  uint64_t bytes_total = 0;
  uint64_t bytes_rounds = 0;
  // CPU seconds of the coordinator's thread and of all region threads over the whole run (set-up
  // and final evaluation included): on this machine N regions share its cores, in a federation
  // each region computes on its own machine, in parallel with the others.
  double coordinator_cpu_s = 0;
  double regions_cpu_s = 0;
  std::vector<float> final_weights;
  // Per training round, the critical-path model (CriticalPath): per phase the coordinator's CPU
  // and the slowest and mean region's CPU, and their sum over the phases.
  struct PhaseModel {
    Phase phase;
    double coordinator_s = 0;
    double slowest_region_s = 0;
    double mean_region_s = 0;
  };
  struct RoundModel {
    uint32_t round = 0;
    std::vector<PhaseModel> phases;
    double critical_path_s = 0;
  };
  std::vector<RoundModel> model;
};

// The round time a deployment would see if every party computed on its own machine: for each
// phase of the round, the coordinator's CPU in it (its thread's CPU clock between the first
// arrival, at any region, of the message that starts the phase and of the one that starts the
// next; the last phase ends where the next round, or Done, arrives) plus the CPU of the slowest
// region in it (its thread's CPU from receiving the phase's message to sending its answer), summed
// over the phases. It assumes no overlap between the coordinator's and the regions' work (an
// upper bound in that respect) and no network time (loopback here; a lower bound in that one).
std::vector<RunResult::RoundModel> CriticalPath(const Timeline& timeline, bool secure,
                                                const std::vector<uint32_t>& rounds,
                                                double coordinator_end_cpu) {
  std::vector<Phase> phases;
  if (secure) {
    phases = {kKeys, kShares, kMaskedInput, kUnmask};
  } else {
    phases = {kUpdatePhase};
  }
  std::vector<RunResult::RoundModel> out;
  for (uint32_t r : rounds) {
    RunResult::RoundModel m;
    m.round = r;
    std::vector<double> bounds;
    for (Phase p : phases) {
      auto b = timeline.FirstArrival(r, kPhaseStart[p]);
      if (!b) break;
      bounds.push_back(*b);
    }
    if (bounds.size() != phases.size()) continue;  // a round that failed a step: not modelled
    auto end = timeline.FirstArrival(r + 1, MessageType::kRoundStart);
    if (!end) end = timeline.FirstArrival(0, MessageType::kDone);
    bounds.push_back(end ? *end : coordinator_end_cpu);
    for (size_t i = 0; i < phases.size(); ++i) {
      RunResult::PhaseModel pm;
      pm.phase = phases[i];
      pm.coordinator_s = bounds[i + 1] - bounds[i];
      size_t n = 0;
      for (const auto& region : timeline.regions()) {
        auto it = region.find(r);
        if (it == region.end()) continue;
        const double c = it->second[phases[i]];
        if (c <= 0) continue;
        pm.slowest_region_s = std::max(pm.slowest_region_s, c);
        pm.mean_region_s += c;
        ++n;
      }
      if (n > 0) pm.mean_region_s /= static_cast<double>(n);
      m.critical_path_s += pm.coordinator_s + pm.slowest_region_s;
      m.phases.push_back(pm);
    }
    out.push_back(std::move(m));
  }
  return out;
}

Result<RunResult> RunFederation(bool secure, const std::vector<std::string>& names,
                                const std::vector<bool>& drops, const std::vector<int>& hidden,
                                int rounds, int neighbours, const std::string& dir) {
  coordinator::CoordinatorConfig cfg;
  cfg.port = 0;
  cfg.tls = {dir + "/pki/ca.crt", dir + "/pki/coordinator.crt", dir + "/pki/coordinator.key"};
  cfg.regions = names;
  cfg.run_dir = dir + (secure ? "/secure" : "/plain");
  cfg.data.label = "y";
  cfg.hidden = hidden;
  cfg.plan.total_rounds = rounds;
  const int dropped = static_cast<int>(std::count(drops.begin(), drops.end(), true));
  cfg.min_regions = std::max(3, static_cast<int>(names.size()) - dropped);
  cfg.round_deadline_s = 600;
  cfg.join_timeout_s = 600;
  cfg.summary_deadline_s = 600;
  cfg.hello_timeout_s = 3600;  // a dropping region's spare connection waits a round for its Hello
  cfg.handshake_timeout_s = 120;
  cfg.max_handshakes_per_address = 2 * static_cast<int>(names.size()) + 16;
  cfg.defences.enabled = false;  // secure aggregation needs it off; the same in both runs
  cfg.secure_aggregation.enabled = secure;
  cfg.secure_aggregation.neighbours = neighbours;
  cfg.secure_aggregation.step_deadline_s = 600;
  FEDSEG_RETURN_IF_ERROR(cfg.Validate());
  FEDSEG_ASSIGN_OR_RETURN(auto coord, coordinator::Coordinator::Create(cfg, {}));
  const uint16_t port = coord->port();
  double coordinator_cpu = 0;
  // The coordinator's thread stays until the regions are done, so they can read its CPU clock.
  std::promise<void> regions_done;
  std::shared_future<void> released = regions_done.get_future().share();
  std::promise<clockid_t> clock_ready;
  std::thread server([&] {
    clockid_t clock{};
    pthread_getcpuclockid(pthread_self(), &clock);
    clock_ready.set_value(clock);
    coord->Run();
    coordinator_cpu = ThreadCpuSeconds();
    released.wait();
  });
  Timeline timeline(names.size());
  timeline.SetCoordinatorClock(clock_ready.get_future().get());
  std::vector<double> region_cpu(names.size());
  Bytes bytes;
  std::vector<std::string> errors(names.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < names.size(); ++i) {
    threads.emplace_back([&, i] {
      RegionSpec spec{names[i], static_cast<int>(i), drops[i], secure, port, dir + "/pki", ""};
      errors[i] = RunRegion(spec, bytes, timeline);
      region_cpu[i] = ThreadCpuSeconds();
    });
  }
  for (auto& t : threads) t.join();
  regions_done.set_value();
  server.join();
  for (const std::string& e : errors) {
    if (!e.empty())
      return Status::Internal(std::string(secure ? "secure" : "plain") + " run: " + e);
  }
  FEDSEG_ASSIGN_OR_RETURN(std::string report, ReadFile(cfg.run_dir + "/report.json"));
  const nlohmann::json j = nlohmann::json::parse(report, nullptr, false);
  if (!j.is_object() || j.value("status", "") != "completed") {
    return Status::Internal(std::string(secure ? "secure" : "plain") + " run did not complete: " +
                            (j.is_object() ? j.dump().substr(0, 400) : report));
  }
  RunResult out;
  std::vector<uint32_t> trained;
  for (size_t r = 1; r < j["rounds"].size(); ++r) {
    const auto& round = j["rounds"][r];
    if (!round.contains("seconds")) continue;
    trained.push_back(round.value("round", static_cast<uint32_t>(r)));
    out.round_seconds.push_back(round["seconds"].get<double>());
    out.participants.push_back(round.value("participants", nlohmann::json::array()).size());
  }
  out.coordinator_cpu_s = coordinator_cpu;
  out.model = CriticalPath(timeline, secure, trained, coordinator_cpu);
  for (double c : region_cpu) out.regions_cpu_s += c;
  out.bytes_total = bytes.total;
  out.bytes_rounds = bytes.rounds;
  FEDSEG_ASSIGN_OR_RETURN(ml::ModelFile model, ml::LoadModelFile(cfg.run_dir + "/final.fsm"));
  out.final_weights.assign(model.model.params().data(),
                           model.model.params().data() + model.model.params().size());
  return out;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

double MeanCriticalPath(const RunResult& r) {
  std::vector<double> v;
  for (const auto& m : r.model) v.push_back(m.critical_path_s);
  return Mean(v);
}

// Per phase, the mean over the modelled rounds of the coordinator's, the slowest and the mean
// region's CPU seconds.
std::vector<RunResult::PhaseModel> MeanPhases(const RunResult& r) {
  std::vector<RunResult::PhaseModel> out;
  for (const auto& m : r.model) {
    for (size_t i = 0; i < m.phases.size(); ++i) {
      if (out.size() <= i) out.push_back({m.phases[i].phase, 0, 0, 0});
      out[i].coordinator_s += m.phases[i].coordinator_s / static_cast<double>(r.model.size());
      out[i].slowest_region_s +=
          m.phases[i].slowest_region_s / static_cast<double>(r.model.size());
      out[i].mean_region_s += m.phases[i].mean_region_s / static_cast<double>(r.model.size());
    }
  }
  return out;
}

nlohmann::json RunJson(const RunResult& r) {
  nlohmann::json rounds = nlohmann::json::array();
  for (const auto& m : r.model) {
    nlohmann::json phases = nlohmann::json::object();
    for (const auto& p : m.phases) {
      phases[kPhaseNames[p.phase]] = {{"coordinator_cpu_s", p.coordinator_s},
                                      {"slowest_region_cpu_s", p.slowest_region_s},
                                      {"mean_region_cpu_s", p.mean_region_s}};
    }
    rounds.push_back(
        {{"round", m.round}, {"critical_path_s", m.critical_path_s}, {"phases", phases}});
  }
  return {{"mean_round_s", Mean(r.round_seconds)},
          {"mean_critical_path_s", MeanCriticalPath(r)},
          {"critical_path_rounds", rounds},
          {"round_s", r.round_seconds},
          {"participants", r.participants},
          {"bytes_rounds", r.bytes_rounds},
          {"coordinator_cpu_s", r.coordinator_cpu_s},
          {"regions_cpu_s", r.regions_cpu_s},
          {"bytes_total", r.bytes_total}};
}

}  // namespace
}  // namespace fedseg

int main(int argc, char** argv) {
  using namespace fedseg;
  CLI::App app{"Secure aggregation against plain FedAvg: round time and bytes over mutual TLS"};
  int regions = 10, rounds = 3, neighbours = -1;
  int64_t params = 100000;
  double dropout = 0.3;
  bool json = false;
  std::string hidden_text, src = FEDSEG_SOURCE_DIR_FOR_BENCH;
  app.add_option("--regions", regions, "Regions (threads), at least 3")->capture_default_str();
  app.add_option("--params", params, "About this many model parameters (one hidden layer)")
      ->capture_default_str();
  app.add_option("--dropout", dropout, "Fraction of regions that leave every round, in [0, 0.7)")
      ->capture_default_str();
  app.add_option("--rounds", rounds, "Training rounds per run")->capture_default_str();
  app.add_option("--neighbours", neighbours,
                 "secure_aggregation.neighbours: 0 = complete graph, an even k = SecAgg+ "
                 "k-regular graph; -1 = the coordinator's default (complete up to 64 regions, "
                 "else the smallest safe k for 30% dropouts and 20% colluders)")
      ->capture_default_str();
  app.add_option("--params-hidden", hidden_text,
                 "Hidden widths instead of --params (input 100, 2 classes)");
  app.add_flag("--json", json, "One JSON object on stdout instead of the text summary");
  CLI11_PARSE(app, argc, argv);
  if (regions < 3 || !(dropout >= 0 && dropout < 0.7) || rounds < 1 || params < 10) {
    std::fprintf(stderr, "--regions >= 3, --dropout in [0, 0.7), --rounds >= 1, --params >= 10\n");
    return 2;
  }
  // -1: the coordinator's default (privacy/secagg/neighbourhood.h), here for N selected regions.
  const uint32_t used_neighbours =
      neighbours >= 0 ? static_cast<uint32_t>(neighbours)
                      : secagg::DefaultNeighbours(static_cast<size_t>(regions), {});
  std::vector<int> hidden;
  if (!hidden_text.empty()) {
    auto h = ml::ParseHiddenLayers(hidden_text);
    if (!h.ok()) {
      std::fprintf(stderr, "--params-hidden: %s\n", h.status().message().c_str());
      return 2;
    }
    hidden = *h;
  } else {
    // One hidden layer of width h: 100 h + h + 2 h + 2 parameters.
    hidden = {std::max<int>(1, static_cast<int>(std::lround((params - 2) / 103.0)))};
  }
  ml::ConfigureThreads(1);
  const std::string dir = (std::filesystem::temp_directory_path() / "fedseg-secagg-bench").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::vector<std::string> names;
  std::vector<bool> drops;
  std::string args;
  for (int i = 0; i < regions; ++i) {
    char b[32];
    std::snprintf(b, sizeof b, "bench-%04d", i);
    names.push_back(b);
    args += " " + names.back();
    // Exactly floor(F N) regions drop, spread evenly over the names.
    drops.push_back(std::floor((i + 1) * dropout) > std::floor(i * dropout));
  }
  if (std::system(
          ("bash " + src + "/scripts/gen-certs.sh --out " + dir + "/pki" + args + " >/dev/null")
              .c_str()) != 0) {
    std::fprintf(stderr, "scripts/gen-certs.sh failed\n");
    return 1;
  }
  auto plain = RunFederation(false, names, drops, hidden, rounds, neighbours, dir);
  if (!plain.ok()) {
    std::fprintf(stderr, "%s\n", plain.status().message().c_str());
    return 1;
  }
  auto secure = RunFederation(true, names, drops, hidden, rounds, neighbours, dir);
  if (!secure.ok()) {
    std::fprintf(stderr, "%s\n", secure.status().message().c_str());
    return 1;
  }
  double max_diff = 0;
  for (size_t i = 0; i < plain->final_weights.size() && i < secure->final_weights.size(); ++i) {
    max_diff =
        std::max(max_diff, std::abs(double(plain->final_weights[i]) - secure->final_weights[i]));
  }
  const double time_ratio = Mean(secure->round_seconds) / Mean(plain->round_seconds);
  const double bytes_ratio =
      static_cast<double>(secure->bytes_rounds) / static_cast<double>(plain->bytes_rounds);
  const double critical_path_ratio = MeanCriticalPath(*secure) / MeanCriticalPath(*plain);
  const int dropped = static_cast<int>(std::count(drops.begin(), drops.end(), true));
  const int64_t real_params = static_cast<int64_t>(plain->final_weights.size());
  if (json) {
    nlohmann::json j = {{"regions", regions},
                        {"params", real_params},
                        {"hidden", hidden},
                        {"dropout", dropout},
                        {"dropped_per_round", dropped},
                        {"rounds", rounds},
                        {"neighbours", used_neighbours},
                        {"plain", RunJson(*plain)},
                        {"secure", RunJson(*secure)},
                        {"time_ratio", time_ratio},
                        {"bytes_ratio", bytes_ratio},
                        {"critical_path_ratio", critical_path_ratio},
                        {"max_abs_weight_diff", max_diff}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf(
      "%d regions (%d leave each round), %lld parameters, %d rounds, neighbours %s, "
      "mutual TLS on loopback\n",
      regions, dropped, static_cast<long long>(real_params), rounds,
      used_neighbours == 0 ? "all" : std::to_string(used_neighbours).c_str());
  for (const auto& [label, r] : {std::pair<const char*, const RunResult*>{"plain: ", &*plain},
                                 std::pair<const char*, const RunResult*>{"secure:", &*secure}}) {
    std::printf(
        "%s mean round %.3f s, %.1f MB in training rounds (%.1f MB in all); CPU: coordinator "
        "%.2f s, regions %.2f s (%.3f s a region)\n",
        label, Mean(r->round_seconds), r->bytes_rounds / 1e6, r->bytes_total / 1e6,
        r->coordinator_cpu_s, r->regions_cpu_s, r->regions_cpu_s / regions);
  }
  for (const auto& [label, r] : {std::pair<const char*, const RunResult*>{"plain: ", &*plain},
                                 std::pair<const char*, const RunResult*>{"secure:", &*secure}}) {
    std::printf("%s critical path %.3f s a round (CPU s, mean over rounds:", label,
                MeanCriticalPath(*r));
    for (const auto& p : MeanPhases(*r)) {
      std::printf(" %s coordinator %.3f + slowest region %.3f (mean %.3f);", kPhaseNames[p.phase],
                  p.coordinator_s, p.slowest_region_s, p.mean_region_s);
    }
    std::printf(")\n");
  }
  std::printf(
      "time_ratio=%.3f bytes_ratio=%.3f critical_path_ratio=%.3f max_abs_weight_diff=%.3g\n",
      time_ratio, bytes_ratio, critical_path_ratio, max_diff);
  return 0;
}
