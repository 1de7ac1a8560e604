// The coordinator's lifecycle and round state machine: start-up (run directory, resume from the
// checkpoint, listeners), the tick that drives deadlines, and the phases of a run. The messages
// regions send are handled in coordinator_messages.cc, the outputs written in
// coordinator_outputs.cc.
#include "coordinator/coordinator.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>

#include "common/base/failpoint.h"
#include "common/base/seed.h"
#include "common/ml/model_file.h"
#include "coordinator/checkpoint.h"

namespace fedseg::coordinator {
namespace {

constexpr auto kTick = std::chrono::milliseconds(100);

std::chrono::steady_clock::duration Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

// A metric for a console line: printf shows "nan" for what report.json holds as null.
double FiniteOrNaN(double v) { return std::isfinite(v) ? v : NAN; }

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
    : config_(std::move(config)),
      options_(options),
      tick_(io_),
      signals_(io_, SIGINT, SIGTERM),
      registry_(config_.regions, TrainingQuorum(), config_.fraction, config_.seed) {
  registry_.SetPins(config_.region_pins);
}

Coordinator::~Coordinator() {
  if (status_server_) status_server_->Stop();
  if (server_) server_->Stop();
}

int Coordinator::TrainingQuorum() const {
  return config_.secure_aggregation.enabled
             ? std::max(config_.min_regions, config_.secure_aggregation.min_survivors)
             : config_.min_regions;
}

uint16_t Coordinator::port() const { return server_ ? server_->port() : 0; }

Status Coordinator::Init() {
  // Checked before the run directory is touched: a bad strategy leaves no trace there.
  FEDSEG_ASSIGN_OR_RETURN(strategy_, MakeStrategy(config_.strategy));
  // Everything the coordinator creates (run directory, checkpoints, reports, log, key) is its
  // own: directories 0700, files 0600 (docs/security.md, "Files").
  ::umask(077);
  const EarlierRun earlier = options_.resume  ? EarlierRun::kResume
                             : options_.fresh ? EarlierRun::kFresh
                                              : EarlierRun::kRefuse;
  FEDSEG_ASSIGN_OR_RETURN(run_dir_, RunDirectory::Open(config_.run_dir, earlier));
  log_ = run_dir_->log();
  if (!run_dir_->moved_earlier_run_to().empty()) {
    log_->warn("{}: moved the earlier run's files to {}",
               options_.resume ? "--resume found no checkpoint to continue" : "--fresh",
               run_dir_->moved_earlier_run_to());
  }

  run_dir_->RemoveStaleTemporaries();
  FEDSEG_RETURN_IF_ERROR(ProtectRunFiles());
  FEDSEG_ASSIGN_OR_RETURN(ledger_heads_, LedgerHeads::Load(run_dir_->ledger_heads_path()));
  const std::string ckpt_path = options_.from_round > 0
                                    ? RoundCheckpointPath(run_dir_->path(), options_.from_round)
                                    : run_dir_->checkpoint_path();
  if (options_.resume && options_.from_round > 0 && !std::filesystem::exists(ckpt_path)) {
    return Status::NotFound("--from-round " + std::to_string(options_.from_round) + ": no " +
                            ckpt_path + " (checkpoint.keep rounds are kept)");
  }
  if (options_.resume && std::filesystem::exists(ckpt_path)) {
    FEDSEG_ASSIGN_OR_RETURN(Checkpoint ck, LoadCheckpoint(ckpt_path, *checkpoint_key_));
    if (options_.from_round > 0 && ck.completed_round != options_.from_round) {
      return Status::Corruption(ckpt_path + ": holds round " + std::to_string(ck.completed_round) +
                                ", not " + std::to_string(options_.from_round));
    }
    record_.run_id = ck.run_id;
    schema_ = ck.schema;
    spec_ = ck.spec;
    global_ = Eigen::Map<const Eigen::VectorXf>(ck.weights.data(),
                                                static_cast<Eigen::Index>(ck.weights.size()));
    FEDSEG_RETURN_IF_ERROR(strategy_->LoadState(ck.strategy_state, ck.weights.size()));
    FEDSEG_RETURN_IF_ERROR(RestoreRecord(ck, ckpt_path));
    completed_round_ = ck.completed_round;
    round_ = completed_round_ + 1;
    have_schema_ = true;
    log_->info("resuming run {} after round {} from {}", record_.run_id, completed_round_,
               ckpt_path);
  } else {
    if (options_.resume) log_->warn("--resume: no checkpoint at {}; starting a new run", ckpt_path);
    record_.run_id = MakeRunId(config_.seed);
    round_ = 1;
  }

  FEDSEG_ASSIGN_OR_RETURN(auto tls, net::MakeServerTlsContext(config_.tls));
  if (!config_.crl_file.empty()) {
    FEDSEG_RETURN_IF_ERROR(net::EnableCrlCheck(*tls, config_.crl_file).WithContext("tls.crl"));
  }
  net::TlsServerOptions so;
  so.host = config_.host;
  so.port = config_.port;
  so.max_frame_bytes = config_.max_frame_bytes;
  so.max_connections = static_cast<size_t>(config_.max_connections);
  so.max_handshakes_per_address = static_cast<size_t>(config_.max_handshakes_per_address);
  so.handshake_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(1000 * config_.handshake_timeout_s));
  so.logger = log_;
  // A region may train for up to a round's deadline between two frames.
  so.idle_timeout = std::chrono::milliseconds(
      static_cast<int64_t>(1000 * std::max(600.0, 2 * config_.round_deadline_s)));
  // A region behind a cut link is dropped (and stops being selected) after this, not idle_timeout.
  so.keepalive.dead_after = std::chrono::seconds(config_.dead_peer_timeout_s);
  net::TlsServerHandlers h;
  h.on_session = [this](std::shared_ptr<net::TlsSession> s) { OnSession(std::move(s)); };
  h.on_frame = [this](const std::shared_ptr<net::TlsSession>& s, net::Frame f) {
    OnFrame(s, std::move(f));
  };
  h.on_close = [this](const std::shared_ptr<net::TlsSession>& s, const Status& st) {
    OnClose(s, st);
  };
  FEDSEG_ASSIGN_OR_RETURN(server_, net::TlsServer::Create(io_, tls, so, std::move(h)));
  log_->info("coordinator listening on {}:{} for {} regions; run directory {}", config_.host,
             server_->port(), config_.regions.size(), config_.run_dir);
  if (config_.status.enabled) {
    StatusServerOptions st;
    st.host = config_.status.listen;
    st.port = static_cast<uint16_t>(config_.status.port);
    st.require_client_cert = config_.status.require_client_cert;
    st.max_connections = static_cast<size_t>(config_.status.max_connections);
    // A quarter of the status server's few connections at most, so that one address can never
    // fill it and keep a monitor from another address out.
    st.max_handshakes_per_address = static_cast<size_t>(std::max(
        1, std::min(config_.max_handshakes_per_address, config_.status.max_connections / 4)));
    st.handshake_timeout =
        std::chrono::milliseconds(static_cast<int64_t>(1000 * config_.handshake_timeout_s));
    st.monitors = config_.status.monitors;
    st.crl_file = config_.crl_file;
    st.refused_identities = config_.regions;
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
    Finish(RunStatus::kStopped, "signal " + std::to_string(sig));
  });
  Tick();
  io_.run();
  return RunStatusExitCode(status_);
}

// ---------------------------------------------------------------------------------------------
// Phases

void Coordinator::SendSetup(RegionState& r) {
  // The Setup is the same for every region once the schema exists: encoded once, shared.
  if (!setup_frame_) {
    protocol::SetupMsg m{record_.run_id, schema_, spec_, config_.plan,
                         config_.secure_aggregation.enabled};
    setup_frame_ =
        std::make_shared<const net::Frame>(protocol::MakeFrame(protocol::MessageType::kSetup, m));
  }
  r.session->Send(setup_frame_);
  r.set_up = true;
}

void Coordinator::SendSummaryRequest(RegionState& r) {
  summary_asked_.insert(r.name);
  r.session->Send(protocol::MakeFrame(protocol::MessageType::kSummaryRequest,
                                      protocol::SummaryRequestMsg{config_.stats_noise_multiplier}));
}

void Coordinator::Tick() {
  if (phase_ == Phase::kDone) return;
  const auto now = Clock::now();
  // Connections that never said Hello.
  for (const auto& s : registry_.TakeExpiredPending(now, Seconds(config_.hello_timeout_s))) {
    log_->warn("closing {}: no Hello within {} s", s->peer_label(), config_.hello_timeout_s);
    registry_.CountRefusal("no Hello in time");
    s->Close("no Hello");
  }
  const size_t connected = registry_.ConnectedCount();

  switch (phase_) {
    case Phase::kJoining: {
      const bool all = connected == registry_.size();
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
                     summary_received_.size(), registry_.size());
          BuildSchema();
        } else {
          // Ask every connected region that has not answered, and keep waiting.
          for (auto& [name, r] : registry_.regions()) {
            if (r.connected && !summary_received_.count(name) && !summary_asked_.count(name)) {
              SendSummaryRequest(r);
            }
          }
          deadline_ = now + Seconds(config_.summary_deadline_s);
          log_->warn("waiting for summaries: {}/{} received, quorum {}", summary_received_.size(),
                     registry_.size(), config_.min_regions);
        }
      }
      break;
    case Phase::kWaitingForQuorum: {
      const size_t ready = registry_.ReadyRegions().size();
      const int active = registry_.ActiveCount();  // regions that may still train
      if (round_ > static_cast<uint32_t>(config_.rounds())) {
        // Resumed after its last round (a restarted service or pod: Kubernetes restarts a
        // Deployment's container whatever its exit code): only the final evaluation is left.
        log_->info("all {} rounds were completed before the restart", config_.rounds());
        StartFinalEvaluation();
      } else if (active < TrainingQuorum()) {
        log_->warn(
            "only {} regions can still train (the others declined: privacy budgets spent), "
            "quorum {}: stopping after round {}",
            active, TrainingQuorum(), completed_round_);
        StartFinalEvaluation();
      } else if (static_cast<int>(ready) >= TrainingQuorum()) {
        StartRound();
      } else if (now - phase_started_ > std::chrono::seconds(10)) {
        size_t busy = 0;
        for (const auto& [name, r] : registry_.regions()) busy += r.connected && r.owed_round != 0;
        log_->info("waiting for regions: {} ready, {} still busy with an earlier round, quorum {}",
                   ready, busy, TrainingQuorum());
        phase_started_ = now;
      }
      break;
    }
    case Phase::kRound:
      if (secagg_step_ == SecAggStep::kShares || secagg_step_ == SecAggStep::kInputs ||
          secagg_step_ == SecAggStep::kUnmask) {
        if (now > deadline_) AdvanceSecAgg();
        break;
      }
      if (progress_.active()) {
        const double left = std::chrono::duration<double>(deadline_ - now).count();
        char line[160];
        std::snprintf(line, sizeof line,
                      "round %u/%d: %zu/%zu updates received, %.0f s left before the deadline",
                      round_, config_.rounds(), SelectedReplied(), selected_.size(),
                      std::max(0.0, left));
        progress_.Update(line);
      }
      if (now > deadline_) {
        log_->warn("round {} deadline passed: {}/{} regions replied", round_, SelectedReplied(),
                   selected_.size());
        if (replied_.size() - SelectedReplied() < evaluators_.size()) {
          log_->warn(
              "round {}: {} of {} evaluation-only regions answered; the round's metrics "
              "cover the {} regions that did",
              round_, replied_.size() - SelectedReplied(), evaluators_.size(), replied_.size());
        }
        FinishRound();
      }
      break;
    case Phase::kFinalEvaluation:
      if (now > deadline_) FinishFinalEvaluation();
      break;
    case Phase::kDone:
      return;
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
  for (auto& [name, r] : registry_.regions()) {
    if (r.connected) SendSummaryRequest(r);
  }
  log_->info("collecting data summaries from {} regions", summary_asked_.size());
}

void Coordinator::BuildSchema() {
  // Merge again in region order: sums of floating-point statistics depend on their order, and
  // the schema (hence the model) must not depend on which region answered first.
  data::DataSummary ordered;
  for (const auto& [name, summary] : summaries_) {
    Status merged = ordered.Merge(summary);
    // Checked on arrival already.
    if (!merged.ok()) return Finish(RunStatus::kFailed, "schema: " + merged.message());
  }
  merged_summary_ = std::move(ordered);
  data::SchemaOptions so;
  so.min_category_count = config_.min_category_count;
  auto schema = data::Schema::FromSummary(merged_summary_, config_.data.label, so);
  if (!schema.ok()) {
    log_->error("cannot build the global schema: {}", schema.status().message());
    return Finish(RunStatus::kFailed, "schema: " + schema.status().message());
  }
  schema_ = std::move(*schema);
  spec_ = ml::ModelSpec{schema_.input_dim(), config_.hidden, schema_.num_classes()};
  auto model = ml::Mlp::Create(spec_);
  if (!model.ok()) return Finish(RunStatus::kFailed, "model: " + model.status().message());
  model->InitRandom(config_.seed);
  global_ = model->params();
  have_schema_ = true;
  std::string classes;
  for (const auto& c : schema_.class_names()) classes += (classes.empty() ? "" : ", ") + c;
  log_->info(
      "global schema from {} regions ({} rows): {} features, classes [{}]; model {} ({} "
      "parameters)",
      summary_received_.size(), merged_summary_.rows, schema_.input_dim(), classes,
      spec_.ToString(), spec_.num_params());
  for (const std::string& note : schema_.notes()) log_->info("schema: {}", note);
  for (auto& [name, r] : registry_.regions()) {
    if (r.connected) SendSetup(r);
  }
  phase_ = Phase::kWaitingForQuorum;
  phase_started_ = Clock::now();
  Tick();
}

void Coordinator::SendRoundStart(const std::string& region,
                                 const std::shared_ptr<const net::Frame>& frame) {
  RegionState* r = registry_.Find(region);
  r->owed_round = round_;
  r->session->Send(frame);
}

void Coordinator::StartRound() {
  const size_t ready = registry_.ReadyRegions().size();  // before they are asked (and owe)
  selected_ = registry_.SelectForRound(round_);
  evaluators_.clear();
  for (const auto& [name, r] : registry_.regions()) {
    if (r.connected && r.set_up && r.owed_round == 0 && !selected_.count(name)) {
      evaluators_.insert(name);
    }
  }
  replied_.clear();
  lost_.clear();
  updates_.clear();
  evals_.Reset(spec_.num_classes);
  train_losses_.clear();
  phase_ = Phase::kRound;
  round_started_ = Clock::now();
  secagg_step_ = SecAggStep::kOff;
  if (config_.secure_aggregation.enabled) StartSecAgg();
  if (phase_ == Phase::kDone) return;
  deadline_ = round_started_ + Seconds(config_.round_deadline_s);
  protocol::RoundStartMsg msg;
  msg.round = round_;
  msg.train = true;
  msg.weights.assign(global_.data(), global_.data() + global_.size());
  // One encoding for every region (a region derives its own shuffling seed from this one and its
  // name), so a 1M-parameter model is serialised once per round, not once per region.
  msg.seed = DeriveSeed(config_.seed, round_);
  // One shared frame: 1,000 regions queue the same payload, not 1,000 copies of the weights.
  const auto frame = std::make_shared<const net::Frame>(
      protocol::MakeFrame(protocol::MessageType::kRoundStart, msg));
  for (const std::string& name : selected_) SendRoundStart(name, frame);
  if (!evaluators_.empty()) {
    // The others evaluate the same model without training (no privacy spend: evaluation-only
    // rounds never touch the training rows), as in the final evaluation.
    msg.train = false;
    const auto eval_frame = std::make_shared<const net::Frame>(
        protocol::MakeFrame(protocol::MessageType::kRoundStart, msg));
    for (const std::string& name : evaluators_) SendRoundStart(name, eval_frame);
  }
  log_->info("round {}/{} started with {} of {} ready regions{}", round_, config_.rounds(),
             selected_.size(), ready,
             evaluators_.empty() ? ""
                                 : "; " + std::to_string(evaluators_.size()) +
                                       " more evaluate the model without training");
}

void Coordinator::FinishRound() {
  // With secure aggregation the updates (metadata) and keys are in: the protocol's steps follow,
  // and come back here (kAggregate) with the unmasked sum.
  if (secagg_step_ == SecAggStep::kKeys) return CloseSecAggKeys();
  if (secagg_step_ != SecAggStep::kOff && secagg_step_ != SecAggStep::kAggregate) return;
  progress_.Done();
  const double secs = std::chrono::duration<double>(Clock::now() - round_started_).count();
  for (const std::string& name : selected_) {
    if (!replied_.count(name)) ++registry_.Find(name)->result.rounds_missed;
  }
  lost_.clear();
  if (static_cast<int>(updates_.size()) < config_.min_regions) {
    log_->warn(
        "round {} failed: {} updates, quorum {}; the model is unchanged and the round will "
        "be retried when enough regions are ready",
        round_, updates_.size(), config_.min_regions);
    selected_.clear();
    evaluators_.clear();
    phase_ = Phase::kWaitingForQuorum;
    phase_started_ = Clock::now();
    return;
  }
  // Aggregate in a fixed order (by region), not in arrival order: float addition is not
  // associative, and a resumed run must reach the same bits as an uninterrupted one.
  std::sort(updates_.begin(), updates_.end(),
            [](const ClientUpdate& a, const ClientUpdate& b) { return a.region < b.region; });
  std::vector<ClientUpdate> used;
  Status st = AggregateRound(&used);
  if (!st.ok()) {
    // The model is unchanged; the same round is asked again (honest regions answer with the same
    // bytes, at no new privacy cost), unless it keeps failing.
    constexpr int kMaxFailedAggregations = 3;
    ++failed_aggregations_;
    log_->error("round {} failed: {}; the model is unchanged ({} of {} attempts)", round_,
                st.message(), failed_aggregations_, kMaxFailedAggregations);
    if (failed_aggregations_ >= kMaxFailedAggregations) {
      return Finish(RunStatus::kFailed,
                    "round " + std::to_string(round_) + " could not be aggregated " +
                        std::to_string(kMaxFailedAggregations) + " times: " + st.message());
    }
    selected_.clear();
    phase_ = Phase::kWaitingForQuorum;
    phase_started_ = Clock::now();
    return;
  }
  failed_aggregations_ = 0;
  updates_ = used;  // the record lists the updates aggregated, not the refused ones
  uint64_t examples = 0;
  double loss = 0;
  for (const ClientUpdate& u : used) {
    examples += u.num_examples;
    loss += static_cast<double>(u.num_examples) * train_losses_[u.region];
    ++registry_.Find(u.region)->result.rounds_participated;
  }
  loss /= static_cast<double>(std::max<uint64_t>(examples, 1));
  RecordEvaluation(round_ - 1, evals_);
  RecordRound(examples, loss, secs);
  completed_round_ = round_;
  last_round_seconds_ = secs;

  // Console line: training of this round, evaluation of the model it started from.
  const RoundResult& prev = record_.Round(round_ - 1);
  char line[256];
  if (prev.evaluation) {
    const MetricsBrief& g = prev.evaluation->global;
    std::snprintf(line, sizeof line,
                  "round %u/%d: %zu/%zu updates, %.2f s, train loss %.4f | model@%u: loss %.4f "
                  "AUC %.4f F1 %.4f acc %.4f",
                  round_, config_.rounds(), used.size(), selected_.size(), secs, loss, round_ - 1,
                  FiniteOrNaN(g.loss), FiniteOrNaN(g.roc_auc), FiniteOrNaN(g.positive_f1),
                  FiniteOrNaN(g.accuracy));
  } else {
    std::snprintf(line, sizeof line, "round %u/%d: %zu/%zu updates, %.2f s, train loss %.4f",
                  round_, config_.rounds(), used.size(), selected_.size(), secs, loss);
  }
  log_->info("{}", line);
  LogPrivacy("after round " + std::to_string(round_));

  st = WriteCheckpoint();
  if (!st.ok()) {
    log_->error("checkpoint failed: {}", st.message());
    return Finish(RunStatus::kFailed, "checkpoint failed: " + st.message());
  }
  WriteReport();
  Failpoint("coordinator/between-rounds");  // test-only crash point: after the checkpoint
  selected_.clear();
  evaluators_.clear();
  ++round_;
  if (round_ > static_cast<uint32_t>(config_.rounds())) {
    StartFinalEvaluation();
  } else if (registry_.HasQuorum()) {
    StartRound();
  } else {
    phase_ = Phase::kWaitingForQuorum;
    phase_started_ = Clock::now();
  }
}

void Coordinator::StartFinalEvaluation() {
  std::vector<std::string> ready;
  for (const auto& [name, r] : registry_.regions()) {
    // Retired regions may still evaluate; one still busy with a round does not (Done would wait
    // behind the evaluation request).
    if (r.connected && r.set_up && r.owed_round == 0) ready.push_back(name);
  }
  selected_ = std::set<std::string>(ready.begin(), ready.end());
  evaluators_.clear();
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
  const auto frame = std::make_shared<const net::Frame>(
      protocol::MakeFrame(protocol::MessageType::kRoundStart, msg));
  for (const std::string& name : selected_) SendRoundStart(name, frame);
  log_->info("final evaluation of the global model on {} regions", selected_.size());
  if (selected_.empty()) FinishFinalEvaluation();
}

void Coordinator::FinishFinalEvaluation() {
  final_evaluated_ = true;
  RecordEvaluation(completed_round_, evals_);
  ml::Mlp model = *ml::Mlp::Create(spec_);
  (void)model.SetParams(global_);
  nlohmann::json meta = {{"mode", "federated"},
                         {"run_id", record_.run_id},
                         {"rounds", config_.rounds()},
                         {"strategy", std::string(StrategyKindName(config_.strategy.kind))},
                         {"regions", config_.regions}};
  if (!config_.data.feature_spec.empty()) {  // segment recomputes the features from raw sources
    meta["feature_spec"] = nlohmann::json::parse(config_.data.feature_spec, nullptr, false);
  }
  ml::ModelFile file{schema_, model, meta.dump(), ChooseDecision()};
  Status st = ml::SaveModelFile(run_dir_->final_model_path(), file);
  if (!st.ok()) {
    log_->error("cannot write the final model: {}", st.message());
    return Finish(RunStatus::kFailed, "final model: " + st.message());
  }
  // A final model worse than the initial one is published (regions and final.fsm) but flagged,
  // never silently: the status says "degraded" and the detail gives both models' figures.
  RunStatus verdict = RunStatus::kCompleted;
  std::string detail;
  const RoundResult& last = record_.Round(completed_round_);  // exists: evaluated above
  const RoundResult& initial = record_.Round(0);
  if (completed_round_ > 0 && initial.evaluation && last.evaluation &&
      last.evaluation->global.rows > 0) {
    if (auto worse = WorseThanInitial(initial.evaluation->global, last.evaluation->global)) {
      verdict = RunStatus::kDegraded;
      detail = *worse;
    }
  }
  // A final model that is itself a diverged one (DivergenceOf) is flagged too, even when it still
  // beats the random start.
  if (verdict == RunStatus::kCompleted && last.evaluation && !last.evaluation->diverging.empty()) {
    verdict = RunStatus::kDegraded;
    detail = "the run diverged: " + last.evaluation->diverging;
  }
  if (verdict == RunStatus::kDegraded) {
    log_->warn("{}; do not deploy {} (exit code {})", detail, run_dir_->final_model_path(),
               RunStatusExitCode(verdict));
  }
  protocol::DoneMsg done{std::vector<float>(global_.data(), global_.data() + global_.size()),
                         verdict == RunStatus::kCompleted ? "completed" : "degraded: " + detail};
  const auto done_frame =
      std::make_shared<const net::Frame>(protocol::MakeFrame(protocol::MessageType::kDone, done));
  for (auto& [name, r] : registry_.regions()) {
    if (r.connected) r.session->Send(done_frame);
  }
  if (last.evaluation) {
    const nlohmann::json g = last.evaluation->global.ToJson();
    log_->info("final model: {} | loss {} AUC {} F1 {} accuracy {} kappa {}",
               run_dir_->final_model_path(), g["loss"].dump(), g["roc_auc"].dump(),
               g["positive_f1"].dump(), g["accuracy"].dump(), g["kappa"].dump());
  }
  LogPrivacy("final");
  Finish(verdict, detail);
}

ml::DecisionRule Coordinator::ChooseDecision() {
  // The final model's merged evaluation summaries: only what regions already released.
  const std::vector<std::string>& classes = schema_.class_names();
  Result<ml::DecisionChoice> choice =
      ml::ChooseDecisionRule(evals_.total(), config_.decision, classes);
  DecisionRecord rec;
  rec.goal = std::string(ml::DecisionObjectiveName(config_.decision.objective));
  rec.target = config_.decision.target;
  if (!choice.ok()) {  // a configured positive class that is not a class of the schema
    rec.note = choice.status().message() + "; the rule is arg-max";
    log_->error("decision rule: {}", rec.note);
    record_.decision = std::move(rec);
    return ml::DecisionRule{};
  }
  rec.kind = choice->rule.is_threshold() ? "threshold" : "argmax";
  if (choice->rule.is_threshold()) rec.threshold = choice->rule.threshold;
  rec.note = choice->note;
  rec.rows = choice->rows;
  if (choice->positive_class >= 0) {
    rec.positive_class = classes[static_cast<size_t>(choice->positive_class)];
    const auto metrics = [](const ml::BinaryCounts& c) {
      return DecisionMetrics{c.precision(), c.recall(), c.f1()};
    };
    rec.at_rule = metrics(choice->at_rule);
    rec.at_argmax = metrics(choice->at_argmax);
  }
  if (!rec.note.empty()) log_->warn("decision rule: {}", rec.note);
  if (rec.at_rule) {
    log_->info(
        "decision rule: {} on {} evaluation rows: {} precision {:.4f} recall {:.4f} F1 "
        "{:.4f} (arg-max: precision {:.4f} recall {:.4f} F1 {:.4f})",
        choice->rule.Describe(classes), rec.rows, rec.positive_class, rec.at_rule->precision,
        rec.at_rule->recall, rec.at_rule->f1, rec.at_argmax->precision, rec.at_argmax->recall,
        rec.at_argmax->f1);
  } else {
    log_->info("decision rule: {}", choice->rule.Describe(classes));
  }
  record_.decision = std::move(rec);
  return choice->rule;
}

void Coordinator::Finish(RunStatus status, const std::string& detail) {
  if (phase_ == Phase::kDone) return;
  status_ = status;
  status_detail_ = detail;
  phase_ = Phase::kDone;
  WriteReport();
  const std::string word(RunStatusName(status));
  nlohmann::json summary = {{"status", word},
                            {"run_id", record_.run_id},
                            {"completed_round", completed_round_},
                            {"run_dir", config_.run_dir},
                            {"exit_code", RunStatusExitCode(status)}};
  if (!detail.empty()) summary["status_detail"] = detail;
  const bool ended = status == RunStatus::kCompleted || status == RunStatus::kDegraded;
  if (ended && completed_round_ < record_.rounds.size() &&
      record_.rounds[completed_round_].evaluation) {
    summary["final"] = record_.rounds[completed_round_].evaluation->global.ToJson();
    if (record_.rounds[0].evaluation) {
      summary["initial"] = record_.rounds[0].evaluation->global.ToJson();
    }
  }
  if (options_.json) std::cout << summary.dump(2) << std::endl;
  if (status == RunStatus::kFailed) {
    log_->error("coordinator finished: {}: {}", word, detail);
  } else {
    log_->info("coordinator finished: {}{}{}", word, detail.empty() ? "" : ": ", detail);
  }
  tick_.cancel();
  signals_.cancel();
  // Let queued frames (Done, Error) flush, then stop.
  auto stop_timer = std::make_shared<boost::asio::steady_timer>(io_);
  stop_timer->expires_after(std::chrono::milliseconds(300));
  stop_timer->async_wait([this, stop_timer](const boost::system::error_code&) {
    for (auto& [name, r] : registry_.regions()) {
      if (r.connected) r.session->Close("run finished");
    }
    if (server_) server_->Stop();
    if (status_server_) status_server_->Stop();
    // A region busy training when the run ended reads Done (queued behind the rounds it missed)
    // only when its training returns: stop once every session has written its queue and closed,
    // or after the sessions' own write deadline would have ended them anyway.
    const auto give_up = Clock::now() + std::chrono::seconds(125);
    auto final_timer = std::make_shared<boost::asio::steady_timer>(io_);
    auto poll = std::make_shared<std::function<void()>>();
    *poll = [this, final_timer, give_up, poll] {
      final_timer->expires_after(std::chrono::milliseconds(100));
      final_timer->async_wait([this, give_up, poll](const boost::system::error_code&) {
        bool open = false;
        for (const auto& [name, r] : registry_.regions()) open = open || r.connected;
        if (open && Clock::now() < give_up) return (*poll)();
        *poll = nullptr;  // breaks the cycle through the lambda's own capture
        io_.stop();
      });
    };
    (*poll)();
  });
}

}  // namespace fedseg::coordinator
