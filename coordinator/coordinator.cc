#include "coordinator/coordinator.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>

#include "common/base/failpoint.h"
#include "common/base/file_util.h"
#include "common/ml/model_file.h"
#include "coordinator/checkpoint.h"
#include "coordinator/report/report_html.h"
#include "common/base/seed.h"

namespace fedseg::coordinator {
namespace {

constexpr auto kTick = std::chrono::milliseconds(100);

std::chrono::steady_clock::duration Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

nlohmann::json Num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json Brief(const ml::ClassificationReport& r) {
  return {{"rows", r.count},         {"loss", Num(r.log_loss)},       {"accuracy", Num(r.accuracy)},
          {"macro_f1", Num(r.macro_f1)}, {"positive_f1", Num(r.positive_f1)},
          {"roc_auc", Num(r.roc_auc)},   {"kappa", Num(r.cohen_kappa)}};
}

std::string MakeRunId(uint64_t seed) {
  std::random_device rd;
  char buf[64];
  std::snprintf(buf, sizeof buf, "run-%08x-%llu", rd(), static_cast<unsigned long long>(seed));
  return buf;
}

}  // namespace

Result<std::unique_ptr<Coordinator>> Coordinator::Create(CoordinatorConfig config,
                                                         Options options) {
  FEDSEG_RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<Coordinator> c(new Coordinator(std::move(config), options));
  FEDSEG_RETURN_IF_ERROR(c->Init());
  return c;
}

Coordinator::Coordinator(CoordinatorConfig config, Options options)
    : config_(std::move(config)), options_(options), tick_(io_), signals_(io_, SIGINT, SIGTERM) {}

Coordinator::~Coordinator() {
  if (status_server_) status_server_->Stop();
  if (server_) server_->Stop();
}

uint16_t Coordinator::port() const { return server_ ? server_->port() : 0; }

StatusSnapshot Coordinator::Snapshot() const {
  // kStatusPhases lists the phases in the order of the Phase enum.
  static_assert(std::size(kStatusPhases) == static_cast<size_t>(Phase::kDone) + 1);
  const auto now = Clock::now();
  StatusSnapshot s;
  s.run_id = run_id_;
  s.phase = std::string(kStatusPhases[static_cast<int>(phase_)]);
  s.round = round_;
  s.rounds_total = config_.rounds();
  s.completed_rounds = completed_round_;
  s.min_regions = config_.min_regions;
  const bool in_round = phase_ == Phase::kRound || phase_ == Phase::kFinalEvaluation;
  s.updates_received = in_round ? replied_.size() : 0;
  if (phase_ == Phase::kRound) {
    s.round_elapsed_s = std::chrono::duration<double>(now - round_started_).count();
  }
  s.last_round_seconds = last_round_seconds_;
  for (const nlohmann::json& h : history_) {
    const auto it = h.find("seconds");
    if (it != h.end() && it->is_number()) s.round_seconds.push_back(it->get<double>());
  }
  s.bytes_received = bytes_received_;
  s.uptime_s = std::chrono::duration<double>(now - started_).count();
  s.start_time_unix_s = std::chrono::duration<double>(started_wall_.time_since_epoch()).count();
  // The newest evaluated model, and the training loss of the last completed round.
  for (size_t i = history_.size(); i-- > 0;) {
    if (!history_[i].contains("global")) continue;
    s.last_metrics = history_[i]["global"];
    s.last_metrics["model_round"] = i;
    break;
  }
  // Under DP-SGD regions keep their training loss local (it is not covered by the accountant), so
  // the recorded 0 would mislead.
  if (!config_.plan.dp && completed_round_ > 0 && history_.size() > completed_round_ &&
      history_[completed_round_].contains("train_loss")) {
    if (!s.last_metrics.is_object()) s.last_metrics = nlohmann::json::object();
    s.last_metrics["train_loss"] = history_[completed_round_]["train_loss"];
  }
  for (const auto& [name, r] : regions_) {
    RegionStatus rs;
    rs.name = name;
    rs.connected = r.session != nullptr;
    rs.selected = in_round && selected_.count(name) > 0;
    rs.replied = in_round && replied_.count(name) > 0;
    rs.retired = r.retired;
    rs.rounds_participated = r.rounds_participated;
    rs.rounds_missed = r.rounds_missed;
    rs.epsilon_spent = r.epsilon_spent;
    rs.epsilon_budget = r.epsilon_budget;
    rs.epsilon_delta = r.epsilon_delta;
    s.regions.push_back(std::move(rs));
  }
  if (server_) s.refused = server_->refused_counts();
  for (const auto& [kind, n] : refused_) s.refused[kind] += n;
  return s;
}

Status Coordinator::Init() {
  FEDSEG_RETURN_IF_ERROR(MakeDirs(config_.run_dir));
  // One coordinator per run directory: a second one would interleave checkpoints and reports.
  // The kernel drops the lock when the holder dies, even by SIGKILL, so --resume never waits.
  const std::string lock_path = config_.run_dir + "/coordinator.lock";
  FileLock::Options lock_options;
  lock_options.create = true;
  lock_options.mode = 0644;
  Result<FileLock> lock = FileLock::Acquire(lock_path, lock_options);
  if (!lock.ok()) {
    if (lock.status().IsFailedPrecondition()) {
      return Status::FailedPrecondition("another coordinator is running in " + config_.run_dir +
                                        " (" + lock_path + " is locked)");
    }
    return Status::IOError("cannot open " + lock_path + ": " + lock.status().message());
  }
  run_dir_lock_ = std::move(lock).value();
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> file;
  try {
    file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config_.run_dir + "/coordinator.log");
  } catch (const std::exception& e) {
    return Status::IOError("cannot open " + config_.run_dir + "/coordinator.log: " + e.what());
  }
  log_ = std::make_shared<spdlog::logger>("coordinator", spdlog::sinks_init_list{console, file});
  log_->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  log_->flush_on(spdlog::level::info);

  for (const std::string& r : config_.regions) regions_[r].name = r;
  FEDSEG_ASSIGN_OR_RETURN(strategy_, MakeStrategy(config_.strategy));

  RemoveStaleTemporaries();
  const std::string ckpt_path = config_.run_dir + "/checkpoint.fsc";
  if (options_.resume && std::filesystem::exists(ckpt_path)) {
    FEDSEG_ASSIGN_OR_RETURN(Checkpoint ck, LoadCheckpoint(ckpt_path));
    run_id_ = ck.run_id;
    schema_ = ck.schema;
    spec_ = ck.spec;
    global_ = Eigen::Map<const Eigen::VectorXf>(ck.weights.data(),
                                                static_cast<Eigen::Index>(ck.weights.size()));
    FEDSEG_RETURN_IF_ERROR(strategy_->LoadState(ck.strategy_state, ck.weights.size()));
    history_ = nlohmann::json::parse(ck.history_json, nullptr, false);
    if (!history_.is_array()) return Status::Corruption(ckpt_path + ": bad history");
    nlohmann::json regions = nlohmann::json::parse(ck.regions_json, nullptr, false);
    if (regions.is_object()) LoadRegionsJson(regions);
    completed_round_ = ck.completed_round;
    round_ = completed_round_ + 1;
    have_schema_ = true;
    log_->info("resuming run {} after round {} from {}", run_id_, completed_round_, ckpt_path);
  } else {
    if (options_.resume) log_->warn("--resume: no checkpoint at {}; starting a new run", ckpt_path);
    run_id_ = MakeRunId(config_.seed);
    round_ = 1;
  }

  FEDSEG_ASSIGN_OR_RETURN(auto tls, net::MakeServerTlsContext(config_.tls));
  net::TlsServerOptions so;
  so.host = config_.host;
  so.port = config_.port;
  so.max_frame_bytes = config_.max_frame_bytes;
  so.max_connections = static_cast<size_t>(config_.max_connections);
  so.logger = log_;
  // A region may train for up to a round's deadline between two frames.
  so.idle_timeout = std::chrono::milliseconds(
      static_cast<int64_t>(1000 * std::max(600.0, 2 * config_.round_deadline_s)));
  // A region behind a cut link is dropped (and stops being selected) after this, not idle_timeout.
  so.keepalive.dead_after = std::chrono::seconds(config_.dead_peer_timeout_s);
  net::TlsServerHandlers h;
  h.on_session = [this](std::shared_ptr<net::TlsSession> s) { OnSession(std::move(s)); };
  h.on_frame = [this](const std::shared_ptr<net::TlsSession>& s, net::Frame f) { OnFrame(s, std::move(f)); };
  h.on_close = [this](const std::shared_ptr<net::TlsSession>& s, const Status& st) { OnClose(s, st); };
  FEDSEG_ASSIGN_OR_RETURN(server_, net::TlsServer::Create(io_, tls, so, std::move(h)));
  log_->info("coordinator listening on {}:{} for {} regions; run directory {}", config_.host,
             server_->port(), config_.regions.size(), config_.run_dir);
  if (config_.status.enabled) {
    StatusServerOptions st;
    st.host = config_.status.listen;
    st.port = static_cast<uint16_t>(config_.status.port);
    st.require_client_cert = config_.status.require_client_cert;
    st.max_connections = static_cast<size_t>(config_.status.max_connections);
    st.logger = log_;
    FEDSEG_ASSIGN_OR_RETURN(status_server_, StatusServer::Create(io_, config_.tls, std::move(st),
                                                                 [this] { return Snapshot(); }));
  }
  return Status::OK();
}

int Coordinator::Run() {
  phase_ = Phase::kJoining;
  phase_started_ = Clock::now();
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log_->warn("signal {} received: shutting down after round {}{}", sig, completed_round_,
               completed_round_ ? "; continue with --resume" : "");
    Finish(0, "interrupted by signal " + std::to_string(sig));
  });
  Tick();
  io_.run();
  return exit_code_;
}

// ---------------------------------------------------------------------------------------------
// Network events

void Coordinator::OnSession(std::shared_ptr<net::TlsSession> s) {
  if (phase_ == Phase::kDone) {
    ++refused_["run is over"];
    s->Close("run is over");
    return;
  }
  // A certificate holder that opens connections and never says Hello could fill the connection
  // table and keep other regions out; past a few silent connections per identity, close at once.
  size_t silent = 0;
  for (const auto& [id, p] : pending_) silent += p.first->peer_common_name() == s->peer_common_name();
  if (silent >= kMaxSilentConnectionsPerIdentity) {
    ++refused_["too many connections without Hello"];
    log_->warn("refused {}: {} connections of '{}' already wait without a Hello", s->peer_label(),
               silent, s->peer_common_name());
    s->Close("too many connections without Hello");
    return;
  }
  pending_[s->id()] = {s, Clock::now()};
}

void Coordinator::OnFrame(const std::shared_ptr<net::TlsSession>& s, net::Frame f) {
  bytes_received_ += f.payload.size() + net::kFrameHeaderSize;
  if (pending_.count(s->id())) {
    if (f.type != static_cast<uint16_t>(protocol::MessageType::kHello)) {
      Refuse(s, "message before Hello", "expected Hello, got " + protocol::MessageTypeName(f.type));
      return;
    }
    OnHello(s, f);
    return;
  }
  auto it = session_region_.find(s->id());
  if (it == session_region_.end()) return;  // session being replaced or closed
  RegionState& r = regions_[it->second];
  switch (static_cast<protocol::MessageType>(f.type)) {
    case protocol::MessageType::kSummaryReply: OnSummaryReply(r, f); break;
    case protocol::MessageType::kUpdate: OnUpdate(r, f); break;
    case protocol::MessageType::kDecline: OnDecline(r, f); break;
    default: ProtocolViolation(r, "unexpected " + protocol::MessageTypeName(f.type) + " message");
  }
}

void Coordinator::Refuse(const std::shared_ptr<net::TlsSession>& s, const std::string& kind,
                         const std::string& reason) {
  log_->warn("refused {}: {}", s->peer_label(), reason);
  ++refused_[kind];
  pending_.erase(s->id());
  s->Send(protocol::MakeFrame(protocol::MessageType::kError, protocol::ErrorMsg{"refused: " + reason}));
  s->Close(reason);
}

void Coordinator::ProtocolViolation(RegionState& r, const std::string& what) {
  log_->warn("region {}: protocol violation in round {}: {}; closing its connection", r.name,
             round_, what);
  if (r.session) {
    r.session->Send(protocol::MakeFrame(protocol::MessageType::kError, protocol::ErrorMsg{"protocol violation: " + what}));
    r.session->Close(what);
  }
}

void Coordinator::OnHello(const std::shared_ptr<net::TlsSession>& s, const net::Frame& f) {
  pending_.erase(s->id());
  protocol::HelloMsg hello;
  Status st = protocol::ParseFrame(f, protocol::MessageType::kHello, &hello);
  if (!st.ok()) return Refuse(s, "malformed Hello", st.message());
  const std::string& cn = s->peer_common_name();
  if (hello.region != cn) {
    return Refuse(
        s, "identity mismatch",
        "region claims identity '" + hello.region + "' but its certificate is for '" + cn + "'");
  }
  auto it = regions_.find(cn);
  if (it == regions_.end()) {
    return Refuse(s, "unknown region", "unknown region '" + cn + "' (not in the config)");
  }
  RegionState& r = it->second;
  if (r.session) {
    log_->warn("region {} reconnected from {}; closing its previous connection", r.name,
               s->peer_label());
    session_region_.erase(r.session->id());
    r.session->Close("replaced by a new connection");
  }
  r.session = s;
  r.set_up = false;
  session_region_[s->id()] = r.name;
  log_->info("region {} joined from {} ({})", r.name, s->peer_label(), hello.software);

  protocol::WelcomeMsg w{run_id_, config_.data, round_};
  s->Send(protocol::MakeFrame(protocol::MessageType::kWelcome, w));
  if (have_schema_) {
    SendSetup(r);
  } else if (phase_ == Phase::kSummaries && !summary_received_.count(r.name)) {
    summary_asked_.insert(r.name);
    s->Send(MakeFrame(protocol::MessageType::kSummaryRequest,
                      protocol::SummaryRequestMsg{config_.stats_noise_multiplier}));
  }
}

void Coordinator::OnClose(const std::shared_ptr<net::TlsSession>& s, const Status& st) {
  pending_.erase(s->id());
  auto it = session_region_.find(s->id());
  if (it == session_region_.end()) return;
  RegionState& r = regions_[it->second];
  session_region_.erase(it);
  if (r.session == s) {
    r.session.reset();
    r.set_up = false;
    const bool in_round = phase_ == Phase::kRound || phase_ == Phase::kFinalEvaluation;
    const bool owed = in_round && selected_.count(r.name) && !replied_.count(r.name);
    if (phase_ != Phase::kDone) {
      log_->warn("region {} disconnected{}: {}", r.name,
                 owed ? " during round " + std::to_string(round_) : "",
                 st.ok() ? "closed" : st.message());
    }
    if (owed) {
      // Its update will not come: the round completes as soon as every other region has answered
      // (a late reconnect cannot answer this round: it was not sent the round again).
      lost_.insert(r.name);
      MaybeCompleteRound();
    }
  }
}

void Coordinator::MaybeCompleteRound() {
  if (replied_.size() + lost_.size() < selected_.size()) return;
  if (phase_ == Phase::kRound) {
    FinishRound();
  } else if (phase_ == Phase::kFinalEvaluation) {
    FinishFinalEvaluation();
  }
}

void Coordinator::OnSummaryReply(RegionState& r, const net::Frame& f) {
  if (phase_ != Phase::kSummaries || !summary_asked_.count(r.name) ||
      summary_received_.count(r.name)) {
    return ProtocolViolation(r, "SummaryReply outside the schema phase");
  }
  protocol::SummaryReplyMsg msg;
  Status st = protocol::ParseFrame(f, protocol::MessageType::kSummaryReply, &msg);
  if (st.ok()) st = msg.summary.Validate();
  if (!st.ok()) return ProtocolViolation(r, st.message());
  data::DataSummary merged = merged_summary_;
  st = merged.Merge(msg.summary);
  if (!st.ok()) {
    // A region whose table does not fit the contract cannot take part; tell it why.
    log_->error("region {}: its data summary does not match the others: {}", r.name, st.message());
    return ProtocolViolation(r, "data summary does not match the federation's: " + st.message());
  }
  merged_summary_ = std::move(merged);
  summaries_[r.name] = std::move(msg.summary);
  summary_received_.insert(r.name);
  r.summary_done = true;
  r.train_rows = msg.train_rows;
  r.test_rows = msg.test_rows;
  log_->info("region {}: summary of {} training rows ({} test rows) received ({}/{})", r.name,
             msg.train_rows, msg.test_rows, summary_received_.size(), summary_asked_.size());
  if (summary_received_.size() == config_.regions.size()) BuildSchema();
}

void Coordinator::OnUpdate(RegionState& r, const net::Frame& f) {
  const bool in_round = phase_ == Phase::kRound || phase_ == Phase::kFinalEvaluation;
  protocol::UpdateMsg msg;
  Status st = protocol::ParseFrame(f, protocol::MessageType::kUpdate, &msg);
  if (!st.ok()) return ProtocolViolation(r, st.message());
  if (!in_round || msg.round != round_ || !selected_.count(r.name) || lost_.count(r.name)) {
    // A late or unsolicited update is refused but is no reason to drop the region.
    log_->warn("region {}: refused update for round {} (current round {}{})", r.name, msg.round,
               round_, in_round && msg.round == round_ ? ", region not selected" : "");
    return;
  }
  if (replied_.count(r.name)) {
    return ProtocolViolation(r, "second update for round " + std::to_string(round_));
  }
  const bool train = phase_ == Phase::kRound;
  st = protocol::ValidateUpdate(msg, round_, static_cast<size_t>(spec_.num_params()), spec_.num_classes,
                      train);
  if (!st.ok()) return ProtocolViolation(r, st.message());
  replied_.insert(r.name);
  if (msg.evaluation.count() > 0) {
    // Merged now: only the running total and the region's report are kept (evaluation_tally.h).
    st = evals_.Add(r.name, msg.evaluation);
    if (!st.ok()) log_->warn("region {}: evaluation not counted: {}", r.name, st.message());
  }
  if (msg.epsilon_budget > 0 || msg.epsilon_spent > 0) {
    r.epsilon_spent = msg.epsilon_spent;
    r.epsilon_budget = msg.epsilon_budget;
    r.epsilon_delta = msg.epsilon_delta;
    r.ledger_head = msg.ledger_head;
    if (train) r.epsilon_by_round[std::to_string(round_)] = msg.epsilon_spent;
  }
  if (train) {
    train_losses_[r.name] = msg.train_loss;
    ClientUpdate u;
    u.region = r.name;
    u.num_examples = msg.num_examples;
    u.delta = Eigen::Map<const Eigen::VectorXf>(msg.delta.data(),
                                                static_cast<Eigen::Index>(msg.delta.size()));
    updates_.push_back(std::move(u));
  }
  Failpoint("coordinator/update-accepted");  // test-only crash point: mid-round
  MaybeCompleteRound();
}

void Coordinator::OnDecline(RegionState& r, const net::Frame& f) {
  protocol::DeclineMsg msg;
  Status st = protocol::ParseFrame(f, protocol::MessageType::kDecline, &msg);
  if (!st.ok()) return ProtocolViolation(r, st.message());
  const bool in_round = phase_ == Phase::kRound || phase_ == Phase::kFinalEvaluation;
  if (!in_round || msg.round != round_ || !selected_.count(r.name) || replied_.count(r.name)) {
    log_->warn("region {}: ignored decline for round {} (current round {})", r.name, msg.round,
               round_);
    return;
  }
  replied_.insert(r.name);
  r.declined_rounds.push_back(round_);
  r.last_decline_reason = msg.reason;
  r.retired = true;
  r.epsilon_spent = msg.epsilon_spent;
  r.epsilon_budget = msg.epsilon_budget;
  if (!msg.ledger_head.empty()) r.ledger_head = msg.ledger_head;
  log_->warn("region {} declined round {}: {}", r.name, round_, msg.reason);
  MaybeCompleteRound();
}

// ---------------------------------------------------------------------------------------------
// Phases

bool Coordinator::IsReady(const RegionState& r) const {
  return r.session != nullptr && r.set_up && !r.retired;
}

std::vector<std::string> Coordinator::ReadyRegions() const {
  std::vector<std::string> out;
  for (const auto& [name, r] : regions_) {
    if (IsReady(r)) out.push_back(name);
  }
  return out;
}

void Coordinator::SendSetup(RegionState& r) {
  // The Setup is the same for every region once the schema exists: encoded once, shared.
  if (!setup_frame_) {
    protocol::SetupMsg m{run_id_, schema_, spec_, config_.plan};
    setup_frame_ = std::make_shared<const net::Frame>(protocol::MakeFrame(protocol::MessageType::kSetup, m));
  }
  r.session->Send(setup_frame_);
  r.set_up = true;
}

void Coordinator::Tick() {
  if (phase_ == Phase::kDone) return;
  const auto now = Clock::now();
  // Connections that never said Hello.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second.second > Seconds(config_.hello_timeout_s)) {
      auto s = it->second.first;
      it = pending_.erase(it);
      log_->warn("closing {}: no Hello within {} s", s->peer_label(), config_.hello_timeout_s);
      ++refused_["no Hello in time"];
      s->Close("no Hello");
    } else {
      ++it;
    }
  }
  size_t connected = 0;
  for (const auto& [name, r] : regions_) connected += r.session != nullptr;

  switch (phase_) {
    case Phase::kJoining: {
      const bool all = connected == regions_.size();
      const bool quorum = static_cast<int>(connected) >= config_.min_regions;
      if (all || (quorum && now - phase_started_ > Seconds(config_.join_timeout_s))) {
        if (have_schema_) {
          phase_ = Phase::kWaitingForQuorum;
        } else {
          StartSummaries();
        }
      }
      break;
    }
    case Phase::kSummaries:
      if (now > deadline_) {
        if (static_cast<int>(summary_received_.size()) >= config_.min_regions) {
          log_->warn("summary deadline passed with {}/{} regions; building the schema from them",
                     summary_received_.size(), regions_.size());
          BuildSchema();
        } else {
          // Ask every connected region that has not answered, and keep waiting.
          for (auto& [name, r] : regions_) {
            if (r.session && !summary_received_.count(name) && !summary_asked_.count(name)) {
              summary_asked_.insert(name);
              r.session->Send(protocol::MakeFrame(protocol::MessageType::kSummaryRequest,
                                        protocol::SummaryRequestMsg{config_.stats_noise_multiplier}));
            }
          }
          deadline_ = now + Seconds(config_.summary_deadline_s);
          log_->warn("waiting for summaries: {}/{} received, quorum {}", summary_received_.size(),
                     regions_.size(), config_.min_regions);
        }
      }
      break;
    case Phase::kWaitingForQuorum: {
      size_t ready = ReadyRegions().size();
      int active = 0;  // regions that may still train (connected or not)
      for (const auto& [name, r] : regions_) active += !r.retired;
      if (active < config_.min_regions) {
        log_->warn("only {} regions can still train (the others declined: privacy budgets spent), "
                   "quorum {}: stopping after round {}",
                   active, config_.min_regions, completed_round_);
        StartFinalEvaluation();
      } else if (static_cast<int>(ready) >= config_.min_regions) {
        StartRound();
      } else if (now - phase_started_ > std::chrono::seconds(10)) {
        log_->info("waiting for regions: {} ready, quorum {}", ready, config_.min_regions);
        phase_started_ = now;
      }
      break;
    }
    case Phase::kRound:
      if (progress_.active()) {
        const double left = std::chrono::duration<double>(deadline_ - now).count();
        char line[160];
        std::snprintf(line, sizeof line, "round %u/%d: %zu/%zu updates received, %.0f s left before the deadline",
                      round_, config_.rounds(), replied_.size(), selected_.size(), std::max(0.0, left));
        progress_.Update(line);
      }
      if (now > deadline_) {
        log_->warn("round {} deadline passed: {}/{} regions replied", round_, replied_.size(),
                   selected_.size());
        FinishRound();
      }
      break;
    case Phase::kFinalEvaluation:
      if (now > deadline_) FinishFinalEvaluation();
      break;
    case Phase::kDone: return;
  }
  if (phase_ == Phase::kDone) return;
  tick_.expires_after(kTick);
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) Tick();
  });
}

void Coordinator::StartSummaries() {
  phase_ = Phase::kSummaries;
  deadline_ = Clock::now() + Seconds(config_.summary_deadline_s);
  for (auto& [name, r] : regions_) {
    if (!r.session) continue;
    summary_asked_.insert(name);
    r.session->Send(protocol::MakeFrame(protocol::MessageType::kSummaryRequest,
                              protocol::SummaryRequestMsg{config_.stats_noise_multiplier}));
  }
  log_->info("collecting data summaries from {} regions", summary_asked_.size());
}

void Coordinator::BuildSchema() {
  // Merge again in region order: sums of floating-point statistics depend on their order, and
  // the schema (hence the model) must not depend on which region answered first.
  data::DataSummary ordered;
  for (const auto& [name, summary] : summaries_) {
    Status merged = ordered.Merge(summary);
    if (!merged.ok()) return Finish(1, "schema: " + merged.message());  // checked on arrival
  }
  merged_summary_ = std::move(ordered);
  data::SchemaOptions so;
  so.min_category_count = config_.min_category_count;
  auto schema = data::Schema::FromSummary(merged_summary_, config_.data.label, so);
  if (!schema.ok()) {
    log_->error("cannot build the global schema: {}", schema.status().message());
    return Finish(1, "schema: " + schema.status().message());
  }
  schema_ = std::move(*schema);
  spec_ = ml::ModelSpec{schema_.input_dim(), config_.hidden, schema_.num_classes()};
  auto model = ml::Mlp::Create(spec_);
  if (!model.ok()) return Finish(1, model.status().message());
  model->InitRandom(config_.seed);
  global_ = model->params();
  have_schema_ = true;
  std::string classes;
  for (const auto& c : schema_.class_names()) classes += (classes.empty() ? "" : ", ") + c;
  log_->info("global schema from {} regions ({} rows): {} features, classes [{}]; model {} ({} "
             "parameters)",
             summary_received_.size(), merged_summary_.rows, schema_.input_dim(), classes,
             spec_.ToString(), spec_.num_params());
  for (auto& [name, r] : regions_) {
    if (r.session) SendSetup(r);
  }
  phase_ = Phase::kWaitingForQuorum;
  phase_started_ = Clock::now();
  Tick();
}

void Coordinator::StartRound() {
  std::vector<std::string> ready = ReadyRegions();
  size_t k = static_cast<size_t>(std::ceil(config_.fraction * static_cast<double>(ready.size())));
  k = std::clamp<size_t>(k, std::min<size_t>(config_.min_regions, ready.size()), ready.size());
  std::mt19937_64 rng(DeriveSeed(config_.seed, round_));
  std::shuffle(ready.begin(), ready.end(), rng);
  ready.resize(k);
  selected_ = std::set<std::string>(ready.begin(), ready.end());
  replied_.clear();
  lost_.clear();
  updates_.clear();
  evals_.Reset(spec_.num_classes);
  train_losses_.clear();
  phase_ = Phase::kRound;
  round_started_ = Clock::now();
  deadline_ = round_started_ + Seconds(config_.round_deadline_s);
  protocol::RoundStartMsg msg;
  msg.round = round_;
  msg.train = true;
  msg.weights.assign(global_.data(), global_.data() + global_.size());
  // One encoding for every region (a region derives its own shuffling seed from this one and its
  // name), so a 1M-parameter model is serialised once per round, not once per region.
  msg.seed = DeriveSeed(config_.seed, round_);
  // One shared frame: 1,000 regions queue the same payload, not 1,000 copies of the weights.
  const auto frame = std::make_shared<const net::Frame>(protocol::MakeFrame(protocol::MessageType::kRoundStart, msg));
  for (const std::string& name : selected_) regions_[name].session->Send(frame);
  log_->info("round {}/{} started with {} of {} ready regions", round_, config_.rounds(),
             selected_.size(), ReadyRegions().size());
}

void Coordinator::FinishRound() {
  progress_.Done();
  const double secs = std::chrono::duration<double>(Clock::now() - round_started_).count();
  for (const std::string& name : selected_) {
    if (!replied_.count(name)) ++regions_[name].rounds_missed;
  }
  lost_.clear();
  if (static_cast<int>(updates_.size()) < config_.min_regions) {
    log_->warn("round {} failed: {} updates, quorum {}; the model is unchanged and the round will "
               "be retried when enough regions are ready",
               round_, updates_.size(), config_.min_regions);
    selected_.clear();
    phase_ = Phase::kWaitingForQuorum;
    phase_started_ = Clock::now();
    return;
  }
  // Aggregate in a fixed order (by region), not in arrival order: float addition is not
  // associative, and a resumed run must reach the same bits as an uninterrupted one.
  std::sort(updates_.begin(), updates_.end(),
            [](const ClientUpdate& a, const ClientUpdate& b) { return a.region < b.region; });
  Status st = strategy_->Aggregate(updates_, &global_);
  if (!st.ok() || !ml::AllFinite(global_)) {
    log_->error("round {}: aggregation failed: {}", round_, st.ok() ? "non-finite model" : st.message());
    return Finish(1, "aggregation failed");
  }
  uint64_t examples = 0;
  double loss = 0;
  for (const ClientUpdate& u : updates_) {
    examples += u.num_examples;
    loss += static_cast<double>(u.num_examples) * train_losses_[u.region];
    ++regions_[u.region].rounds_participated;
  }
  loss /= static_cast<double>(std::max<uint64_t>(examples, 1));
  RecordEvaluation(round_ - 1, evals_);
  while (history_.size() <= round_) history_.push_back({{"round", history_.size()}});
  nlohmann::json& h = history_[round_];
  h["selected"] = selected_.size();
  h["updates"] = updates_.size();
  h["examples"] = examples;
  h["train_loss"] = Num(loss);
  h["seconds"] = secs;
  nlohmann::json parts = nlohmann::json::array();
  for (const ClientUpdate& u : updates_) parts.push_back(u.region);
  h["participants"] = parts;
  completed_round_ = round_;
  last_round_seconds_ = secs;

  // Console line: training of this round, evaluation of the model it started from.
  const nlohmann::json& prev = history_[round_ - 1];
  char line[256];
  if (prev.contains("global")) {
    const auto& g = prev["global"];
    std::snprintf(line, sizeof line,
                  "round %u/%d: %zu/%zu updates, %.2f s, train loss %.4f | model@%u: loss %.4f "
                  "AUC %.4f F1 %.4f acc %.4f",
                  round_, config_.rounds(), updates_.size(), selected_.size(), secs, loss,
                  round_ - 1, g["loss"].is_number() ? g["loss"].get<double>() : NAN,
                  g["roc_auc"].is_number() ? g["roc_auc"].get<double>() : NAN,
                  g["positive_f1"].is_number() ? g["positive_f1"].get<double>() : NAN,
                  g["accuracy"].is_number() ? g["accuracy"].get<double>() : NAN);
  } else {
    std::snprintf(line, sizeof line, "round %u/%d: %zu/%zu updates, %.2f s, train loss %.4f",
                  round_, config_.rounds(), updates_.size(), selected_.size(), secs, loss);
  }
  log_->info("{}", line);
  LogPrivacy("after round " + std::to_string(round_));

  st = WriteCheckpoint();
  if (!st.ok()) {
    log_->error("checkpoint failed: {}", st.message());
    return Finish(1, "checkpoint failed: " + st.message());
  }
  WriteReport();
  Failpoint("coordinator/between-rounds");  // test-only crash point: after the checkpoint
  selected_.clear();
  ++round_;
  if (round_ > static_cast<uint32_t>(config_.rounds())) {
    StartFinalEvaluation();
  } else if (static_cast<int>(ReadyRegions().size()) >= config_.min_regions) {
    StartRound();
  } else {
    phase_ = Phase::kWaitingForQuorum;
    phase_started_ = Clock::now();
  }
}

void Coordinator::StartFinalEvaluation() {
  std::vector<std::string> ready;
  for (const auto& [name, r] : regions_) {
    if (r.session && r.set_up) ready.push_back(name);  // retired regions may still evaluate
  }
  selected_ = std::set<std::string>(ready.begin(), ready.end());
  replied_.clear();
  lost_.clear();
  evals_.Reset(spec_.num_classes);
  updates_.clear();
  phase_ = Phase::kFinalEvaluation;
  deadline_ = Clock::now() + Seconds(config_.round_deadline_s);
  protocol::RoundStartMsg msg;
  msg.round = round_;
  msg.train = false;
  msg.weights.assign(global_.data(), global_.data() + global_.size());
  const auto frame = std::make_shared<const net::Frame>(protocol::MakeFrame(protocol::MessageType::kRoundStart, msg));
  for (const std::string& name : selected_) regions_[name].session->Send(frame);
  log_->info("final evaluation of the global model on {} regions", selected_.size());
  if (selected_.empty()) FinishFinalEvaluation();
}

void Coordinator::FinishFinalEvaluation() {
  final_evaluated_ = true;
  RecordEvaluation(completed_round_, evals_);
  ml::Mlp model = *ml::Mlp::Create(spec_);
  (void)model.SetParams(global_);
  nlohmann::json meta = {{"mode", "federated"},
                         {"run_id", run_id_},
                         {"rounds", config_.rounds()},
                         {"strategy", std::string(StrategyKindName(config_.strategy.kind))},
                         {"regions", config_.regions}};
  ml::ModelFile file{schema_, model, meta.dump()};
  Status st = ml::SaveModelFile(config_.run_dir + "/final.fsm", file);
  if (!st.ok()) {
    log_->error("cannot write the final model: {}", st.message());
    return Finish(1, st.message());
  }
  protocol::DoneMsg done{std::vector<float>(global_.data(), global_.data() + global_.size()), "completed"};
  const auto done_frame = std::make_shared<const net::Frame>(protocol::MakeFrame(protocol::MessageType::kDone, done));
  for (auto& [name, r] : regions_) {
    if (r.session) r.session->Send(done_frame);
  }
  const nlohmann::json& last = history_[completed_round_];
  if (last.contains("global")) {
    const auto& g = last["global"];
    log_->info("final model: {} | loss {} AUC {} F1 {} accuracy {} kappa {}",
               config_.run_dir + "/final.fsm", g["loss"].dump(), g["roc_auc"].dump(),
               g["positive_f1"].dump(), g["accuracy"].dump(), g["kappa"].dump());
  }
  LogPrivacy("final");
  Finish(0, "completed");
}

void Coordinator::LogPrivacy(const std::string& when) {
  std::string line;
  char buf[160];
  for (const auto& [name, r] : regions_) {
    if (r.epsilon_budget <= 0 && r.epsilon_spent <= 0) continue;
    std::snprintf(buf, sizeof buf, "%s%s eps %.4f/%.4f", line.empty() ? "" : ", ", name.c_str(),
                  r.epsilon_spent, r.epsilon_budget);
    line += buf;
    if (!r.declined_rounds.empty()) {
      line += " (declined round " + std::to_string(r.declined_rounds.front()) + ")";
    }
  }
  if (!line.empty()) log_->info("privacy {}: {}", when, line);
}

void Coordinator::Finish(int exit_code, const std::string& why) {
  if (phase_ == Phase::kDone) return;
  exit_code_ = exit_code;
  phase_ = Phase::kDone;
  WriteReport();
  nlohmann::json summary = {{"status", exit_code == 0 ? why : "failed: " + why},
                            {"run_id", run_id_},
                            {"completed_round", completed_round_},
                            {"run_dir", config_.run_dir}};
  if (history_.size() > completed_round_ && history_[completed_round_].contains("global") &&
      exit_code == 0 && why == "completed") {
    summary["final"] = history_[completed_round_]["global"];
  }
  if (options_.json) std::cout << summary.dump(2) << std::endl;
  log_->info("coordinator finished: {}", why);
  tick_.cancel();
  signals_.cancel();
  // Let queued frames (Done, Error) flush, then stop.
  auto stop_timer = std::make_shared<boost::asio::steady_timer>(io_);
  stop_timer->expires_after(std::chrono::milliseconds(300));
  stop_timer->async_wait([this, stop_timer](const boost::system::error_code&) {
    for (auto& [name, r] : regions_) {
      if (r.session) r.session->Close("run finished");
    }
    if (server_) server_->Stop();
    if (status_server_) status_server_->Stop();
    auto final_timer = std::make_shared<boost::asio::steady_timer>(io_);
    final_timer->expires_after(std::chrono::milliseconds(500));
    final_timer->async_wait([this, final_timer](const boost::system::error_code&) { io_.stop(); });
  });
}

// ---------------------------------------------------------------------------------------------
// Outputs

void Coordinator::RecordEvaluation(uint32_t model_round, const EvaluationTally& evals) {
  while (history_.size() <= model_round) history_.push_back({{"round", history_.size()}});
  nlohmann::json& h = history_[model_round];
  if (evals.empty()) return;
  nlohmann::json per_region = nlohmann::json::object();
  for (const auto& [name, report] : evals.regions()) per_region[name] = Brief(report);
  ml::ClassificationReport rep = ComputeReport(evals.total());
  h["global"] = Brief(rep);
  h["regions"] = per_region;
  h["evaluated_by"] = evals.size();
  // The full report (per-class metrics, confusion matrix) for the final model.
  if (phase_ == Phase::kFinalEvaluation) h["report"] = rep.ToJson(schema_.class_names());
}

void Coordinator::RemoveStaleTemporaries() {
  // WriteFileAtomic writes ".<name>.tmp.<random>" and renames it over <name>; a crash between the
  // two leaves the temporary behind. It is never read (only complete, renamed files are), so it
  // is only clutter: remove it and say so.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(config_.run_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp.") != std::string::npos &&
        e.is_regular_file(ec)) {
      log_->warn("removing {} left by an interrupted write (never taken for a checkpoint)",
                 e.path().string());
      std::filesystem::remove(e.path(), ec);
    }
  }
}

Status Coordinator::WriteCheckpoint() {
  Checkpoint c;
  c.run_id = run_id_;
  c.completed_round = completed_round_;
  c.schema = schema_;
  c.spec = spec_;
  c.weights.assign(global_.data(), global_.data() + global_.size());
  c.strategy_state = strategy_->SaveState();
  c.history_json = history_.dump();
  c.regions_json = RegionsJson().dump();
  return SaveCheckpoint(config_.run_dir + "/checkpoint.fsc", c);
}

nlohmann::json Coordinator::RegionsJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, r] : regions_) {
    out[name] = {{"train_rows", r.train_rows},
                 {"test_rows", r.test_rows},
                 {"rounds_participated", r.rounds_participated},
                 {"rounds_missed", r.rounds_missed},
                 {"declined_rounds", r.declined_rounds},
                 {"decline_reason", r.last_decline_reason},
                 {"retired", r.retired},
                 {"epsilon_spent", r.epsilon_spent},
                 {"epsilon_budget", r.epsilon_budget},
                 {"epsilon_by_round", r.epsilon_by_round},
                 {"epsilon_delta", r.epsilon_delta},
                 {"ledger_head", r.ledger_head},
                 {"connected", r.session != nullptr}};
  }
  return out;
}

void Coordinator::LoadRegionsJson(const nlohmann::json& j) {
  for (auto& [name, r] : regions_) {
    if (!j.contains(name)) continue;
    const auto& e = j[name];
    r.train_rows = e.value("train_rows", uint64_t{0});
    r.test_rows = e.value("test_rows", uint64_t{0});
    r.rounds_participated = e.value("rounds_participated", 0);
    r.rounds_missed = e.value("rounds_missed", 0);
    r.declined_rounds = e.value("declined_rounds", std::vector<uint32_t>{});
    r.last_decline_reason = e.value("decline_reason", std::string());
    r.retired = e.value("retired", false);
    r.epsilon_spent = e.value("epsilon_spent", 0.0);
    r.epsilon_budget = e.value("epsilon_budget", 0.0);
    r.epsilon_by_round = e.value("epsilon_by_round", nlohmann::json::object());
    r.epsilon_delta = e.value("epsilon_delta", 0.0);
    r.ledger_head = e.value("ledger_head", std::string());
  }
}

void Coordinator::WriteReport() {
  nlohmann::json report = {{"run_id", run_id_},
                           {"status", phase_ == Phase::kDone ? (exit_code_ == 0 ? "finished" : "failed")
                                                             : "running"},
                           {"completed_round", completed_round_},
                           {"config", config_.ToJson()},
                           {"rounds", history_},
                           {"regions", RegionsJson()},
                           {"bytes_received", bytes_received_}};
  if (have_schema_) {
    report["model"] = {{"architecture", spec_.ToString()},
                       {"parameters", spec_.num_params()},
                       {"classes", schema_.class_names()}};
  }
  if (final_evaluated_ && history_.size() > completed_round_) {
    report["final"] = history_[completed_round_];
  }
  if (server_) report["refused_connections"] = server_->refused_counts();
  Status st = WriteFileAtomic(config_.run_dir + "/report.json", report.dump(2));
  if (!st.ok()) log_->error("cannot write report.json: {}", st.message());
  // The same report as a self-contained page, kept in step with report.json.
  st = WriteReportHtml(config_.run_dir + "/report.html", report);
  if (!st.ok()) log_->error("cannot write report.html: {}", st.message());

  // metrics.csv: one row per (model round, scope).
  std::string csv = "round,scope,rows,loss,accuracy,macro_f1,positive_f1,roc_auc,kappa\n";
  auto cell = [](const nlohmann::json& v) {
    if (!v.is_number()) return std::string();
    char b[32];
    std::snprintf(b, sizeof b, "%.6f", v.get<double>());
    return std::string(b);
  };
  auto row = [&](size_t round, const std::string& scope, const nlohmann::json& m) {
    csv += std::to_string(round) + "," + scope + "," + std::to_string(m.value("rows", uint64_t{0})) +
           "," + cell(m["loss"]) + "," + cell(m["accuracy"]) + "," + cell(m["macro_f1"]) + "," +
           cell(m["positive_f1"]) + "," + cell(m["roc_auc"]) + "," + cell(m["kappa"]) + "\n";
  };
  for (size_t i = 0; i < history_.size(); ++i) {
    const nlohmann::json& h = history_[i];
    if (!h.contains("global")) continue;
    row(i, "global", h["global"]);
    for (auto it = h["regions"].begin(); it != h["regions"].end(); ++it) row(i, it.key(), it.value());
  }
  st = WriteFileAtomic(config_.run_dir + "/metrics.csv", csv);
  if (!st.ok()) log_->error("cannot write metrics.csv: {}", st.message());
}

}  // namespace fedseg::coordinator
