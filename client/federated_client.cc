#include "client/federated_client.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <thread>

#include "client/features_command.h"
#include "client/local_commands.h"
#include "client/privacy_policy.h"
#include "common/base/failpoint.h"
#include "common/base/json_config.h"
#include "common/base/log_escape.h"
#include "common/base/progress.h"
#include "common/base/seed.h"
#include "common/base/sha256.h"
#include "common/data/category_policy.h"
#include "common/ml/evaluation.h"
#include "common/ml/model_file.h"
#include "common/ml/runtime.h"
#include "common/ml/trainer.h"
#include "common/net/identity_signature.h"
#include "common/net/x509_identity.h"
#include "privacy/secagg/wire/secagg_wire.h"

namespace fedseg::client {
namespace {

// Text that came from the coordinator (its Error and Done messages, the run id, errors that quote
// its contract, schema or certificate) for a log line: control characters escaped, so a
// coordinator (or whoever holds its certificate) cannot plant a fake line in the region's log.
// Longer than EscapeForLog's default: a schema mismatch names columns.
std::string FromCoordinator(std::string_view text) { return EscapeForLog(text, 1024); }

// The contract's test_fraction and split_seed are not compared: the region ignores them (its own
// data.test_fraction and data.split_seed split its rows).
bool SameContract(const protocol::DataContract& a, const protocol::DataContract& b) {
  return a.label == b.label && a.categorical == b.categorical && a.numeric == b.numeric &&
         a.drop == b.drop && a.dates == b.dates && a.log == b.log && a.bounds == b.bounds &&
         a.feature_spec == b.feature_spec;
}

// TESTS ONLY: a region killed right after a secure-aggregation step (docs/secure-aggregation.md,
// the dropout tests). The pause lets the coordinator read what was just sent before the kill
// resets the connection.
void SecAggFailpoint(std::string_view name) {
  if (!FailpointArmed(name)) return;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  Failpoint(name);
}

}  // namespace

FederatedClient::FederatedClient(RegionConfig config, FederatedClientOptions options)
    : config_(std::move(config)), options_(options) {}

int FederatedClient::Run() {
  ml::ConfigureThreads(config_.threads);
  if (config_.region.empty()) {
    auto cn = net::CertificateFileCommonName(config_.tls.cert_file);
    if (!cn.ok()) {
      std::fprintf(stderr, "error: %s\n", cn.status().message().c_str());
      return 1;
    }
    config_.region = *cn;
  }
  log_ = std::make_shared<spdlog::logger>(config_.region,
                                          std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  log_->set_pattern("%Y-%m-%dT%H:%M:%S.%e [%n] %^%l%$ %v");
  log_->set_level(options_.log_level);
  if (Status st = CheckSeededNoiseAvailable(config_, options_.seeded_noise); !st.ok()) {
    log_->error("{}", st.message());
    return 1;
  }
  if (config_.dp_mode()) {
    // Before connecting: a missing, foreign or broken ledger stops the region here, never after
    // it has said anything (the writer is closed again at once; each run opens its own).
    Result<std::unique_ptr<privacy::LedgerWriter>> ledger = OpenRegionLedger(config_, "preflight");
    if (!ledger.ok()) {
      log_->error("privacy ledger: {}", ledger.status().message());
      return 1;
    }
  }
  if (config_.dp_mode()) {
    log_->info("privacy policy: mode dp, budget epsilon {} at delta {:.3g}; accepts DP-SGD with "
               "noise multiplier >= {}, clip norm <= {}, sampling rate <= {}, <= {} steps per "
               "round, statistics noise multiplier >= {}",
               config_.epsilon_budget, config_.delta, config_.min_noise_multiplier,
               config_.max_clip_norm, config_.max_sampling_rate, config_.max_steps_per_round,
               config_.min_stats_noise_multiplier);
  } else {
    log_->info(
        "privacy policy: mode none (no differential privacy: statistics, updates and "
        "evaluations are sent exactly)");
  }

  std::mt19937_64 jitter(std::random_device{}());
  int backoff = config_.backoff_initial_ms;
  auto last_connected = std::chrono::steady_clock::now();
  for (;;) {
    auto conn = net::TlsClientConnection::Connect(
        config_.coordinator_host, config_.coordinator_port, config_.tls,
        std::chrono::milliseconds(config_.connect_timeout_ms),
        net::TcpKeepalive{std::chrono::seconds(config_.dead_peer_timeout_s)});
    if (conn.ok()) {
      last_connected = std::chrono::steady_clock::now();
      backoff = config_.backoff_initial_ms;
      Outcome o = Session(**conn);
      (*conn)->Close();
      if (o == Outcome::kDone) return 0;
      if (o == Outcome::kFatal) return 1;
    } else {
      log_->warn("{}", FromCoordinator(conn.status().message()));
      // A refused certificate will not be accepted on retry; say so, but keep trying in case the
      // coordinator's CA is being rotated (the operator sees the reason either way).
    }
    const auto waited = std::chrono::steady_clock::now() - last_connected;
    // After the final evaluation only Done was missing: a coordinator that stays unreachable has
    // finished the run (its final.fsm holds the model), so stop soon instead of retrying for long.
    constexpr int kAfterRunGraceS = 5;
    if (final_evaluation_seen_ &&
        waited > std::chrono::seconds(std::min(kAfterRunGraceS, config_.give_up_after_s))) {
      log_->error(
          "the coordinator is gone after the final evaluation: the run has ended without "
          "sending this region the final model (it is final.fsm in the run directory)");
      return 1;
    }
    if (waited > std::chrono::seconds(config_.give_up_after_s)) {
      log_->error("no connection to the coordinator for {} s; giving up", config_.give_up_after_s);
      return 1;
    }
    // Exponential backoff with full jitter (AWS architecture blog's recommendation).
    std::uniform_int_distribution<int> d(backoff / 2, backoff);
    const int sleep_ms = d(jitter);
    log_->info("reconnecting in {} ms", sleep_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    backoff = std::min(config_.backoff_max_ms, backoff * 2);
  }
}

Result<net::Frame> FederatedClient::NextFrame(net::TlsClientConnection& conn) {
  if (!pending_.empty()) {
    net::Frame f = std::move(pending_.front());
    pending_.pop_front();
    return f;
  }
  if (!pending_error_.ok()) return pending_error_;
  return conn.Receive(std::chrono::seconds(config_.receive_timeout_s));
}

void FederatedClient::DrainReady(net::TlsClientConnection& conn) {
  // A frame that has arrived is read in well under this; a frame still arriving stays partly
  // read inside the connection and completes on a later Receive.
  constexpr auto kReadyWait = std::chrono::milliseconds(25);
  while (pending_error_.ok() && conn.is_open()) {
    auto f = conn.Receive(kReadyWait);
    if (f.ok()) {
      pending_.push_back(std::move(*f));
    } else {
      if (!f.status().IsDeadlineExceeded()) pending_error_ = f.status();
      return;
    }
  }
}

bool FederatedClient::RoundSuperseded() const {
  for (const net::Frame& f : pending_) {
    const auto type = static_cast<protocol::MessageType>(f.type);
    if (type == protocol::MessageType::kRoundStart || type == protocol::MessageType::kDone) {
      return true;
    }
  }
  return false;
}

FederatedClient::Outcome FederatedClient::Session(net::TlsClientConnection& conn) {
  const auto io_timeout = std::chrono::seconds(60);
  pending_.clear();
  pending_error_ = Status::OK();
  Status st = conn.Send(static_cast<uint16_t>(protocol::MessageType::kHello),
                        Serialize(protocol::HelloMsg{config_.region, "fedseg 0.1.0"}), io_timeout);
  if (!st.ok()) {
    log_->warn("{}", st.message());
    return Outcome::kReconnect;
  }
  log_->info("connected to coordinator {}", conn.peer_address());
  for (;;) {
    auto frame = NextFrame(conn);
    if (!frame.ok()) {
      log_->warn("connection lost: {}", frame.status().message());
      return Outcome::kReconnect;
    }
    const auto type = static_cast<protocol::MessageType>(frame->type);
    switch (type) {
      case protocol::MessageType::kWelcome: {
        protocol::WelcomeMsg w;
        st = protocol::ParseFrame(*frame, type, &w);
        if (st.ok()) st = HandleWelcome(w);
        if (!st.ok()) {
          log_->error("{}", FromCoordinator(st.message()));
          return Outcome::kFatal;
        }
        break;
      }
      case protocol::MessageType::kSummaryRequest: {
        protocol::SummaryRequestMsg req;
        st = protocol::ParseFrame(*frame, type, &req);
        if (!st.ok() || !contract_) {
          log_->error("bad SummaryRequest: {}",
                      st.ok() ? "no data contract yet" : FromCoordinator(st.message()));
          return Outcome::kReconnect;
        }
        auto answer = HandleSummaryRequest(req);
        if (!answer.ok()) {
          log_->error("cannot release the data summary: {}", answer.status().message());
          return Outcome::kFatal;
        }
        st = conn.Send(answer->type, answer->payload, io_timeout);
        if (!st.ok()) return Outcome::kReconnect;
        break;
      }
      case protocol::MessageType::kSetup: {
        protocol::SetupMsg s;
        st = protocol::ParseFrame(*frame, type, &s);
        if (st.ok()) st = HandleSetup(s);
        if (!st.ok()) {
          log_->error("cannot use the coordinator's setup: {}", FromCoordinator(st.message()));
          return Outcome::kFatal;
        }
        break;
      }
      case protocol::MessageType::kRoundStart: {
        // Rounds that ended while this region was busy are skipped, not trained in order: only
        // the newest round (or Done) that has arrived is answered.
        DrainReady(conn);
        if (RoundSuperseded()) {
          log_->info("skipping a round that is already over (the coordinator has moved on)");
          break;
        }
        protocol::RoundStartMsg r;
        st = protocol::ParseFrame(*frame, type, &r);
        if (!st.ok() || !setup_) {
          log_->error("bad RoundStart: {}",
                      st.ok() ? "no setup yet" : FromCoordinator(st.message()));
          return Outcome::kReconnect;
        }
        if (!r.train) final_evaluation_seen_ = true;
        // TESTS AND SIMULATIONS ONLY (simulate.sh --kill REGION@ROUND): dies as round R starts.
        if (FailpointArmed("region/round-" + std::to_string(r.round) + "-start")) {
          Failpoint("region/round-" + std::to_string(r.round) + "-start");
        }
        auto answer = HandleRound(r);
        if (!answer.ok()) {
          log_->error("round {}: {}", r.round, FromCoordinator(answer.status().message()));
          return answer.status().IsResourceExhausted() || answer.status().IsPermissionDenied()
                     ? Outcome::kFatal
                     : Outcome::kReconnect;
        }
        DrainReady(conn);
        if (RoundSuperseded()) {
          log_->info(
              "round {}: the round ended while this region was training; the late answer "
              "is not sent",
              r.round);
          break;
        }
        std::vector<net::Frame> out;
        if (setup_->secure_aggregation && r.train &&
            answer->type == static_cast<uint16_t>(protocol::MessageType::kUpdate)) {
          auto frames = StartSecAgg(*answer);
          if (!frames.ok()) {
            log_->error("round {}: secure aggregation: {}", r.round, frames.status().message());
            return Outcome::kReconnect;
          }
          out = std::move(*frames);
        } else {
          out.push_back(std::move(*answer));
        }
        for (const net::Frame& f : out) {
          st = conn.Send(f.type, f.payload, io_timeout);
          if (!st.ok()) {
            log_->warn("round {}: could not send the update: {}", r.round, st.message());
            return Outcome::kReconnect;
          }
        }
        if (secagg_ && secagg_->round == r.round) {
          SecAggFailpoint("region/secagg-after-keys");
        }
        break;
      }
      case protocol::MessageType::kSecAggRoster:
      case protocol::MessageType::kSecAggForward:
      case protocol::MessageType::kSecAggUnmaskRequest: {
        auto frames = OnSecAggMessage(*frame);
        if (!frames.ok()) {
          // This round's aggregation goes on without the region (or fails); the next one starts
          // afresh. The reason names the check (a roster key not signed by its region, say).
          log_->error("secure aggregation: {}", FromCoordinator(frames.status().message()));
          secagg_.reset();
          break;
        }
        for (const net::Frame& f : *frames) {
          st = conn.Send(f.type, f.payload, io_timeout);
          if (!st.ok()) {
            log_->warn("secure aggregation: could not send: {}", st.message());
            return Outcome::kReconnect;
          }
        }
        if (!frames->empty() && type == protocol::MessageType::kSecAggRoster) {
          SecAggFailpoint("region/secagg-after-shares");
        } else if (!frames->empty() && type == protocol::MessageType::kSecAggForward) {
          SecAggFailpoint("region/secagg-after-masked-input");
        }
        break;
      }
      case protocol::MessageType::kDone: {
        protocol::DoneMsg d;
        st = protocol::ParseFrame(*frame, type, &d);
        if (st.ok() && setup_) st = SaveFinalModel(d.weights);
        if (!st.ok()) {
          log_->error("final model: {}", FromCoordinator(st.message()));
          return Outcome::kFatal;
        }
        log_->info("federation finished: {}", FromCoordinator(d.reason));
        return Outcome::kDone;
      }
      case protocol::MessageType::kError: {
        protocol::ErrorMsg e;
        (void)protocol::ParseFrame(*frame, type, &e);
        log_->error("coordinator says: {}", FromCoordinator(e.message));
        // A refusal (identity, allow-list) will not change on retry.
        return e.message.rfind("refused", 0) == 0 ? Outcome::kFatal : Outcome::kReconnect;
      }
      default:
        log_->error("unexpected {} message from the coordinator",
                    protocol::MessageTypeName(frame->type));
        return Outcome::kReconnect;
    }
  }
}

Status FederatedClient::OpenPrivacy(const std::string& run, size_t n_train) {
  if (privacy_ && privacy_run_ == run) return Status::OK();
  privacy_.reset();  // the ledger admits one writer at a time
  FEDSEG_ASSIGN_OR_RETURN(privacy_,
                          RegionPrivacy::Create(config_, n_train, run, options_.seeded_noise));
  privacy_run_ = run;
  return Status::OK();
}

protocol::DeclineMsg FederatedClient::MakeDecline(uint32_t round, const std::string& reason) const {
  protocol::DeclineMsg d{round, reason, 0.0, config_.epsilon_budget, "", 0};
  if (privacy_) {
    d.epsilon_spent = privacy_->epsilon_spent();
    d.epsilon_budget = privacy_->budget();
    d.ledger_head = privacy_->ledger_head();
    d.ledger_entries = static_cast<uint64_t>(privacy_->ledger_entries());
  }
  return d;
}

Result<net::Frame> FederatedClient::HandleSummaryRequest(const protocol::SummaryRequestMsg& req) {
  // The policy first: nothing about the table is computed for a request the region declines.
  const PolicyDecision decision = CheckSummaryRequest(config_, req.noise_multiplier);
  if (!decision.accept) {
    log_->warn("data summary declined: {}", decision.reason);
    summary_declined_run_ = welcome_run_;
    summary_decline_reason_ = decision.reason;
    if (config_.dp_mode()) {
      // The ledger is opened (and created) so the Decline carries its head.
      FEDSEG_RETURN_IF_ERROR(OpenPrivacy(welcome_run_, train_raw_.num_rows()));
    }
    return protocol::MakeFrame(protocol::MessageType::kDecline, MakeDecline(0, decision.reason));
  }
  // Mode dp: the row counts only as the region declares them (rounded up to its bucket).
  const bool dp = config_.dp_mode();
  protocol::SummaryReplyMsg reply{
      {},
      dp ? PublicRowCount(train_raw_.num_rows(), config_.row_count_bucket) : train_raw_.num_rows(),
      dp ? PublicRowCount(test_raw_.num_rows(), config_.row_count_bucket) : test_raw_.num_rows()};
  if (req.noise_multiplier > 0) {
    // Private statistics: Gaussian noise on clipped values, recorded in the ledger.
    FEDSEG_RETURN_IF_ERROR(
        OpenPrivacy(welcome_run_, train_raw_.num_rows()).WithContext("privacy set-up"));
    Result<data::DataSummary> released =
        privacy_->ReleaseSummary(train_raw_, req.noise_multiplier, contract_->bounds, 0);
    if (!released.ok() && (released.status().IsInvalidArgument() ||
                           released.status().IsResourceExhausted())) {
      // A request the region cannot answer within its policy (a numeric column without public
      // bounds, a release over the budget) is declined like one outside it, so the coordinator
      // learns at once instead of waiting for a region that has stopped. The reason names the
      // contract's column or the budget, nothing of the rows.
      const std::string reason = "data summary: " + released.status().message();
      log_->warn("data summary declined: {}", reason);
      summary_declined_run_ = welcome_run_;
      summary_decline_reason_ = reason;
      return protocol::MakeFrame(protocol::MessageType::kDecline, MakeDecline(0, reason));
    }
    FEDSEG_ASSIGN_OR_RETURN(reply.summary, std::move(released));
  } else {
    reply.summary = Summarize(train_raw_);
  }
  // Identifier-like columns and categories of fewer than k rows never leave the region. A
  // released DP summary carries no identifier flag (one more bit that depends on the rows): the
  // region only warns, and the column stays a numeric input clipped to its public bounds.
  const data::CategoryPolicy policy{config_.min_category_count};
  const data::CategoryPolicyReport kept = data::ApplyCategoryPolicy(
      policy, &reply.summary, req.noise_multiplier > 0 ? nullptr : &train_raw_);
  for (const std::string& w : kept.Warnings()) log_->warn("{}", w);
  if (req.noise_multiplier > 0) {
    for (const auto& id : data::FindNumericIdentifiers(policy, train_raw_)) {
      log_->warn(
          "column '{}' looks like an identifier ({} distinct whole numbers in {} rows) but a "
          "private summary cannot say so: it is an input clipped to its public bounds; "
          "declare it as data.id_column or drop it in the data contract",
          id.column, id.distinct, id.present);
    }
  }
  if (kept.rare_categories_dropped > 0) {
    log_->info("data summary: {} categories held by fewer than {} rows are not sent",
               kept.rare_categories_dropped, config_.min_category_count);
  }
  log_->info("sending data summary ({} training rows)", train_raw_.num_rows());
  return protocol::MakeFrame(protocol::MessageType::kSummaryReply, reply);
}

// The region's table from its feature spec, which must define the features of the contract's.
Result<data::RawDataset> FederatedClient::LoadContractSpec(const protocol::DataContract& contract,
                                                           const data::LoadOptions& opts) {
  if (config_.spec_file.empty()) {
    return Status::FailedPrecondition(
        "the coordinator's data contract carries a feature spec; set data.spec to this region's "
        "spec (its sources) to compute the features");
  }
  if (!contract.feature_spec.empty()) {
    FEDSEG_ASSIGN_OR_RETURN(nlohmann::json mine, LoadJsonConfig(config_.spec_file));
    const nlohmann::json theirs = nlohmann::json::parse(contract.feature_spec, nullptr, false);
    FEDSEG_RETURN_IF_ERROR(CheckSameDefinition(mine, theirs, "the coordinator's data contract")
                               .WithContext(config_.spec_file));
  }
  return LoadSpecDataset(config_.spec_file, opts, /*quiet=*/true);
}

Status FederatedClient::LoadTables(const protocol::DataContract& contract,
                                   bool normalize_categories) {
  TableArgs t;
  t.data = config_.train_data;
  t.label = contract.label;
  t.id_column = config_.id_column;
  t.categorical = contract.categorical;
  t.numeric = contract.numeric;
  t.drop = contract.drop;
  t.dates = contract.dates;
  // The contract's list, and no detection: regions that picked different columns could not share
  // one schema.
  t.log = contract.log;
  t.detect_log = false;
  t.delimiter = config_.delimiter;
  FEDSEG_ASSIGN_OR_RETURN(data::LoadOptions opts, MakeLoadOptions(t));
  opts.normalize_categories = normalize_categories;
  if (config_.dp_mode()) {
    // Which columns are dates, and their format, would be one more release that depends on the
    // rows: in mode dp only the contract's declared dates with a declared format are read so.
    opts.detect_dates = false;
    for (const auto& [column, format] : opts.dates) {
      if (format.empty()) {
        return Status::InvalidArgument(
            "the data contract declares date column '" + column +
            "' without its format; in privacy mode dp a region reads only dates whose format is "
            "declared (a detected format depends on its rows): set data.dates." + column +
            " in the coordinator's config");
      }
    }
  }
  data::RawDataset all;
  if (!config_.spec_file.empty() || !contract.feature_spec.empty()) {
    FEDSEG_ASSIGN_OR_RETURN(all, LoadContractSpec(contract, opts));
  } else {
    FEDSEG_ASSIGN_OR_RETURN(all, data::LoadDatasetFile(config_.train_data, opts));
  }
  if (!config_.test_data.empty() && config_.spec_file.empty()) {
    FEDSEG_ASSIGN_OR_RETURN(
        test_raw_, data::LoadDatasetFile(config_.test_data, data::SameColumnsAs(all, opts)));
    train_raw_ = std::move(all);
  } else {
    // The region's own split: the contract's test_fraction and split_seed are a suggestion it
    // ignores (whoever picks the split picks which private rows are evaluated on).
    if (contract.test_fraction != config_.test_fraction ||
        contract.split_seed != config_.split_seed) {
      log_->info(
          "the coordinator's contract suggests test fraction {} and split seed {}; this "
          "region splits with its own data.test_fraction {} and data.split_seed {}",
          contract.test_fraction, contract.split_seed, config_.test_fraction, config_.split_seed);
    }
    auto [tr, te] = data::StratifiedSplit(all.labels, config_.test_fraction, config_.split_seed);
    train_raw_ = data::SelectRows(all, tr);
    test_raw_ = SelectRows(all, te);
  }
  tables_normalized_ = normalize_categories;
  return Status::OK();
}

Status FederatedClient::HandleWelcome(const protocol::WelcomeMsg& msg) {
  if (msg.run_id != welcome_run_) final_evaluation_seen_ = false;
  welcome_run_ = msg.run_id;
  if (contract_ && SameContract(*contract_, msg.contract)) return Status::OK();
  FEDSEG_RETURN_IF_ERROR(LoadTables(msg.contract, /*normalize_categories=*/true));
  contract_ = msg.contract;
  setup_.reset();
  welcome_run_ = msg.run_id;
  log_->info("loaded {}: {} training rows, {} test rows (run {})",
             config_.spec_file.empty() ? config_.train_data : config_.spec_file,
             train_raw_.num_rows(), test_raw_.num_rows(), FromCoordinator(msg.run_id));
  for (const std::string& note : train_raw_.notes) log_->info("data: {}", note);
  return Status::OK();
}

Status FederatedClient::HandleSetup(const protocol::SetupMsg& msg) {
  FEDSEG_RETURN_IF_ERROR(msg.spec.Validate());
  FEDSEG_RETURN_IF_ERROR(msg.schema.Validate());
  // A run resumed from a checkpoint older than category normalisation reads values as written.
  if (contract_ && msg.schema.normalized_categories() != tables_normalized_) {
    log_->info("the run's schema {} categories: reloading the tables to match",
               msg.schema.normalized_categories() ? "normalises" : "does not normalise");
    FEDSEG_RETURN_IF_ERROR(LoadTables(*contract_, msg.schema.normalized_categories()));
  }
  // The coordinator may be hostile: its plan is checked (proximal_mu, epochs, batch, optimizer)
  // before any of it reaches training.
  FEDSEG_RETURN_IF_ERROR(msg.plan.Validate().WithContext("the coordinator's training plan"));
  if (msg.schema.input_dim() != msg.spec.input_dim ||
      msg.schema.num_classes() != msg.spec.num_classes) {
    return Status::InvalidArgument("schema and architecture disagree");
  }
  if (!contract_) return Status::FailedPrecondition("Setup before Welcome");
  // Labels of this region that the global schema does not know are an error (naming the line).
  FEDSEG_ASSIGN_OR_RETURN(train_, msg.schema.Encode(train_raw_));
  FEDSEG_ASSIGN_OR_RETURN(test_, msg.schema.Encode(test_raw_));
  setup_ = msg;
  plan_decline_.reset();
  // The region's policy decides before anything is trained or evaluated: a plan outside it is
  // declined in every round of this run (docs/privacy.md, "The region's privacy policy").
  const PolicyDecision decision = CheckTrainingPlan(config_, msg.plan, train_.rows());
  if (config_.dp_mode()) FEDSEG_RETURN_IF_ERROR(OpenPrivacy(msg.run_id, train_.rows()));
  if (summary_declined_run_ == msg.run_id && !summary_declined_run_.empty()) {
    plan_decline_ = summary_decline_reason_;
    log_->warn(
        "this region declined the run's data summary, so it declines every round of it "
        "too: {}",
        summary_decline_reason_);
    return Status::OK();
  }
  if (!decision.accept) {
    plan_decline_ = decision.reason;
    log_->warn(
        "the coordinator's training plan is outside this region's privacy policy; every "
        "round will be declined: {}{}",
        decision.reason, decision.detail.empty() ? "" : " (" + decision.detail + ")");
    return Status::OK();
  }
  if (msg.plan.dp) {
    FEDSEG_RETURN_IF_ERROR(OpenPrivacy(msg.run_id, train_.rows()));
    FEDSEG_RETURN_IF_ERROR(privacy_->SetPlan(msg.plan));
    log_->info("DP-SGD: clip norm {}, budget epsilon {} at delta {:.3g}, {} spent so far",
               msg.plan.dp_clip_norm, privacy_->budget(), privacy_->delta(),
               privacy_->epsilon_spent());
  }
  log_->info("setup: model {} ({} parameters), {} local epoch(s) per round{}", msg.spec.ToString(),
             msg.spec.num_params(), msg.plan.local_epochs, msg.plan.dp ? " with DP-SGD" : "");
  return Status::OK();
}

Result<net::Frame> FederatedClient::HandleRound(const protocol::RoundStartMsg& msg) {
  const protocol::SetupMsg& s = *setup_;
  FEDSEG_RETURN_IF_ERROR(protocol::ValidateWeights(msg.weights, s.spec));
  const std::string key =
      s.run_id + "/" + std::to_string(msg.round) + "/" + (msg.train ? "train" : "eval") + "/" +
      std::to_string(msg.seed) + "/" +
      Sha256Hex(std::string_view(reinterpret_cast<const char*>(msg.weights.data()),
                                 msg.weights.size() * sizeof(float)));
  bool fresh = false;
  if (last_answer_ && key == last_round_key_) {
    if (!masked_answers_.count(Sha256Hex(last_answer_->payload))) {
      log_->info(
          "round {}: the coordinator asks again for the same round and model (it restarted, or "
          "the secure round failed before this region's masked update left): sending the same "
          "answer again, no new training and no new privacy spend",
          msg.round);
      return *last_answer_;
    }
    // The retry leak: the first attempt's sum may have been unmasked (the others' shares suffice)
    // and a second sum of the same updates without one region would be that region's update.
    // Training afresh rather than declining keeps the federation live (a Decline retires the
    // region, and an honest coordinator retries a round that failed at its last step): the new
    // update is a new release, DP-SGD noise and sampling fresh and charged to the ledger (or
    // declined over budget), and without DP it is what a coordinator could get by asking the same
    // model in a later round anyway. The training seed is fresh too: the round's would give the
    // same update bit for bit.
    log_->warn(
        "round {}: the coordinator asks again for a secure round whose masked update already "
        "left this region: training a fresh update (fresh sampling and noise, a new release) "
        "instead of masking the same one again",
        msg.round);
    fresh = true;
  }
  FEDSEG_ASSIGN_OR_RETURN(net::Frame answer, ComputeRoundAnswer(msg, fresh));
  last_round_key_ = key;
  last_answer_ = answer;
  return answer;
}

Result<net::Frame> FederatedClient::ComputeRoundAnswer(const protocol::RoundStartMsg& msg,
                                                       bool fresh) {
  const protocol::SetupMsg& s = *setup_;
  if (plan_decline_) {
    // Declined before the model is even evaluated: no data-dependent byte for this plan.
    log_->warn("round {}: declined: {}", msg.round, *plan_decline_);
    return protocol::MakeFrame(protocol::MessageType::kDecline,
                               MakeDecline(msg.round, *plan_decline_));
  }
  // The round's DP-SGD plan, or its decline (budget, noise ceiling), also before evaluating.
  std::optional<RegionPrivacy::RoundPlan> dp_plan;
  if (msg.train && privacy_ && s.plan.dp) {
    FEDSEG_ASSIGN_OR_RETURN(dp_plan, privacy_->PlanRound(msg.round));
    if (dp_plan->decline) {
      log_->warn("round {}: declined: {}{}", msg.round, dp_plan->reason,
                 dp_plan->detail.empty() ? "" : " (" + dp_plan->detail + ")");
      return protocol::MakeFrame(protocol::MessageType::kDecline,
                                 MakeDecline(msg.round, dp_plan->reason));
    }
  }
  // Mode dp: an evaluation leaves only as a noisy release charged to the ledger, and only when
  // asked for one alone (privacy.evaluation); a training round carries none.
  const bool dp = config_.dp_mode() && privacy_;
  if (dp && !msg.train && config_.evaluation == "off") {
    const std::string reason =
        "privacy.evaluation: this region does not release evaluations (\"off\")";
    log_->warn("round {}: declined: {}", msg.round, reason);
    return protocol::MakeFrame(protocol::MessageType::kDecline, MakeDecline(msg.round, reason));
  }
  FEDSEG_ASSIGN_OR_RETURN(ml::Mlp model, ml::Mlp::Create(s.spec));
  const Eigen::VectorXf global = Eigen::Map<const Eigen::VectorXf>(
      msg.weights.data(), static_cast<Eigen::Index>(msg.weights.size()));
  FEDSEG_RETURN_IF_ERROR(model.SetParams(global));
  protocol::UpdateMsg up;
  up.round = msg.round;
  if (!dp) {
    up.evaluation = ml::Evaluate(model, test_);
  } else if (!msg.train) {
    FEDSEG_ASSIGN_OR_RETURN(RegionPrivacy::EvaluationRelease ev,
                            privacy_->ReleaseEvaluation(model, test_, msg.round));
    if (ev.decline) {
      log_->warn("round {}: evaluation declined: {}", msg.round, ev.reason);
      return protocol::MakeFrame(protocol::MessageType::kDecline,
                                 MakeDecline(msg.round, ev.reason));
    }
    up.evaluation = std::move(ev.summary);
  }
  if (privacy_) {
    up.epsilon_spent = privacy_->epsilon_spent();
    up.epsilon_budget = privacy_->budget();
    up.epsilon_delta = privacy_->delta();
    up.ledger_head = privacy_->ledger_head();
    up.ledger_entries = static_cast<uint64_t>(privacy_->ledger_entries());
  }
  if (!msg.train) {
    log_->info(
        "round {}: evaluated the model on {} test rows (no training){}", msg.round, test_.rows(),
        dp ? "; sent with noise, epsilon now " + std::to_string(privacy_->epsilon_spent()) : "");
    return protocol::MakeFrame(protocol::MessageType::kUpdate, up);
  }
  const auto t0 = std::chrono::steady_clock::now();
  double train_loss = 0.0;
  if (dp_plan) {
    const RegionPrivacy::RoundPlan& plan = *dp_plan;
    FEDSEG_ASSIGN_OR_RETURN(privacy::DpSgdReport rep,
                            privacy::DpSgdTrain(model, train_, plan.dp, privacy_->noise()));
    // The loss of the sampled rows is a statistic of raw data no accountant covers: it stays in
    // the region's own log and is not sent.
    train_loss = 0.0;
    log_->info("round {}: mean DP-SGD loss {:.4f} (kept local)", msg.round, rep.mean_loss);
    Eigen::VectorXf delta = model.params() - global;
    up.delta.assign(delta.data(), delta.data() + delta.size());
    FEDSEG_RETURN_IF_ERROR(privacy_->Record(
        plan, Sha256Hex(std::string_view(reinterpret_cast<const char*>(up.delta.data()),
                                         up.delta.size() * sizeof(float)))));
    up.epsilon_spent = privacy_->epsilon_spent();
    up.ledger_head = privacy_->ledger_head();
    up.ledger_entries = static_cast<uint64_t>(privacy_->ledger_entries());
    log_->info("round {}: DP-SGD {} steps (q {:.4f}, sigma {:.3f}, clipped {:.0f}%), epsilon now "
               "{:.4f} of {:.4f}",
               msg.round, rep.steps, plan.dp.sampling_rate, plan.dp.noise_multiplier,
               100 * rep.clipped_fraction, privacy_->epsilon_spent(), privacy_->budget());
  } else {
    ml::TrainConfig tc;
    tc.epochs = s.plan.local_epochs;
    tc.batch_size = s.plan.batch_size;
    tc.optimizer = s.plan.optimizer;
    tc.class_weight = s.plan.class_weight;
    tc.proximal_mu = s.plan.proximal_mu;
    // The round's seed mixed with this region's name: regions shuffle differently, reproducibly,
    // and the same on every platform (DeriveSeed is the coordinator's derivation; std::hash is
    // implementation-defined).
    tc.seed = DeriveSeed(msg.seed, config_.region);
    if (fresh) {
      FEDSEG_ASSIGN_OR_RETURN(const uint64_t secret,
                              privacy::secagg::RandomUint64(privacy::secagg::SecureRandomBytes()));
      tc.seed = DeriveSeed(tc.seed, secret);
    }
    tc.threads = config_.threads;
    ProgressLine bar;  // a terminal gets a bar per local epoch; logs get the summary line below
    FEDSEG_ASSIGN_OR_RETURN(ml::TrainReport rep,
                            ml::Train(model, train_, nullptr, tc, [&](const ml::EpochReport& e) {
                              if (!options_.progress) return;
                              bar.Update("round " + std::to_string(msg.round) + " local training " +
                                         ProgressBar(static_cast<double>(e.epoch) / tc.epochs));
                            }));
    bar.Done();
    train_loss = rep.history.empty() ? 0.0 : rep.history.back().train_loss;
    Eigen::VectorXf delta = model.params() - global;
    up.delta.assign(delta.data(), delta.data() + delta.size());
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  up.num_examples = dp ? privacy_->public_rows() : train_.rows();
  up.train_loss = train_loss;
  log_->info("round {}: trained on {} rows in {:.2f} s, loss {:.4f}", msg.round, train_.rows(),
             secs, up.train_loss);
  return protocol::MakeFrame(protocol::MessageType::kUpdate, up);
}

Result<std::vector<net::Frame>> FederatedClient::StartSecAgg(const net::Frame& update) {
  namespace secagg = privacy::secagg;
  protocol::UpdateMsg up;
  FEDSEG_RETURN_IF_ERROR(protocol::ParseFrame(update, protocol::MessageType::kUpdate, &up));
  if (certificate_pem_.empty()) {
    FEDSEG_ASSIGN_OR_RETURN(certificate_pem_, net::ReadCertificatePem(config_.tls.cert_file));
  }
  FEDSEG_ASSIGN_OR_RETURN(secagg::RegionSession session,
                          secagg::RegionSession::Create(setup_->run_id, config_.region, up.round,
                                                        secagg::SecureRandomBytes()));
  const std::string key_file = config_.tls.key_file;
  FEDSEG_ASSIGN_OR_RETURN(secagg::AdvertiseKeys keys,
                          session.Advertise([&key_file](std::string_view message) {
                            return net::SignWithKeyFile(key_file, message);
                          }));
  SecAggRound round;
  round.round = up.round;
  round.answer_sha256 = Sha256Hex(update.payload);
  round.session.emplace(std::move(session));
  round.delta = std::move(up.delta);
  round.examples = up.num_examples;
  secagg_ = std::move(round);
  up.delta.clear();  // the delta travels masked
  log_->info("round {}: secure aggregation: keys advertised, the update follows masked", up.round);
  return std::vector<net::Frame>{
      protocol::MakeFrame(protocol::MessageType::kSecAggKeys,
                          secagg::KeysToWire(up.round, keys, certificate_pem_)),
      protocol::MakeFrame(protocol::MessageType::kUpdate, up)};
}

Result<std::vector<net::Frame>> FederatedClient::OnSecAggMessage(const net::Frame& frame) {
  namespace secagg = privacy::secagg;
  const auto type = static_cast<protocol::MessageType>(frame.type);
  // The round comes first in every SecAgg message; one for a round this region is not in (a
  // replay, or a step of an attempt it left) is ignored.
  auto stale = [&](uint32_t round) -> bool {
    if (secagg_ && secagg_->round == round && secagg_->session) return false;
    log_->warn("secure aggregation: ignored {} for round {} (this region is {})",
               protocol::MessageTypeName(frame.type), round,
               secagg_ ? "in round " + std::to_string(secagg_->round) : "in no secure round");
    return true;
  };
  std::vector<net::Frame> out;
  if (type == protocol::MessageType::kSecAggRoster) {
    protocol::SecAggRosterMsg msg;
    FEDSEG_RETURN_IF_ERROR(protocol::ParseFrame(frame, type, &msg));
    if (stale(msg.round)) return out;
    FEDSEG_ASSIGN_OR_RETURN(secagg::KeyRoster roster, secagg::RosterFromWire(msg));
    if (roster.params.vector_length != secagg_->delta.size() + 1) {
      return Status::InvalidArgument(
          "the roster of round " + std::to_string(msg.round) + " asks for vectors of " +
          std::to_string(roster.params.vector_length) + " values, this region's update has " +
          std::to_string(secagg_->delta.size() + 1));
    }
    std::map<std::string, std::string> certificates;
    for (const auto& k : msg.regions) certificates[k.region] = k.certificate_pem;
    if (!identity_verifier_) {
      FEDSEG_ASSIGN_OR_RETURN(identity_verifier_,
                              net::IdentityVerifier::Create(config_.tls.ca_file));
    }
    FEDSEG_ASSIGN_OR_RETURN(
        std::vector<secagg::ShareEnvelope> envelopes,
        secagg_->session->ShareKeys(
            roster,
            [&](const std::string& region, std::string_view message,
                const std::string& signature) -> Status {
              auto it = certificates.find(region);
              if (it == certificates.end()) {
                return Status::PermissionDenied("no certificate for region '" + region + "'");
              }
              return identity_verifier_->Verify(it->second, region, message, signature);
            }));
    secagg_->roster = std::move(msg);
    log_->info(
        "round {}: secure aggregation: roster of {} regions, its {} neighbours' keys verified, "
        "shares sent",
        secagg_->round, secagg_->roster.regions.size(), envelopes.size());
    out.push_back(protocol::MakeFrame(
        protocol::MessageType::kSecAggShares,
        protocol::SecAggSharesMsg{secagg_->round, secagg::EnvelopesToWire(envelopes)}));
    return out;
  }
  if (type == protocol::MessageType::kSecAggForward) {
    protocol::SecAggSharesMsg msg;
    FEDSEG_RETURN_IF_ERROR(protocol::ParseFrame(frame, type, &msg));
    if (stale(msg.round)) return out;
    const protocol::SecAggRosterMsg& roster = secagg_->roster;
    // HandleRound never hands a masked answer to a new attempt; this holds it where masking is.
    if (masked_answers_.count(secagg_->answer_sha256)) {
      return Status::Internal("round " + std::to_string(msg.round) +
                              ": refusing to mask again an update that already left masked");
    }
    size_t clipped = 0;
    FEDSEG_ASSIGN_OR_RETURN(
        std::vector<float> input,
        secagg::WeightedClippedInput(secagg_->delta, secagg_->examples, roster.weight_scale,
                                     roster.clip_range, &clipped));
    FEDSEG_ASSIGN_OR_RETURN(secagg::FixedPointCodec codec,
                            secagg::RoundCodec(roster.clip_range, roster.regions.size()));
    FEDSEG_ASSIGN_OR_RETURN(std::vector<uint32_t> encoded,
                            codec.Encode(input, secagg::SecureRandomBytes()));
    FEDSEG_ASSIGN_OR_RETURN(
        secagg::MaskedInput masked,
        secagg_->session->MaskInput(secagg::EnvelopesFromWire(msg.envelopes), std::move(encoded)));
    // Recorded before it is sent: a send that fails half-way may still have delivered it.
    masked_answers_.insert(secagg_->answer_sha256);
    log_->info(
        "round {}: secure aggregation: masked update sent ({} of {} values clipped to "
        "+-{}, {} scale bits)",
        secagg_->round, clipped, secagg_->delta.size(), roster.clip_range, codec.scale_bits());
    out.push_back(protocol::MakeFrame(
        protocol::MessageType::kSecAggMaskedInput,
        protocol::SecAggMaskedInputMsg{secagg_->round, std::move(masked.values)}));
    return out;
  }
  protocol::SecAggUnmaskRequestMsg msg;
  FEDSEG_RETURN_IF_ERROR(
      protocol::ParseFrame(frame, protocol::MessageType::kSecAggUnmaskRequest, &msg));
  if (stale(msg.round)) return out;
  FEDSEG_ASSIGN_OR_RETURN(
      secagg::UnmaskResponse response,
      secagg_->session->Unmask(secagg::UnmaskRequest{msg.round, msg.survivors}));
  log_->info("round {}: secure aggregation: {} shares revealed for {} survivors", msg.round,
             response.shares.size(), msg.survivors.size());
  out.push_back(protocol::MakeFrame(protocol::MessageType::kSecAggUnmaskResponse,
                                    secagg::UnmaskToWire(msg.round, response)));
  secagg_.reset();
  return out;
}

Status FederatedClient::SaveFinalModel(const std::vector<float>& weights) {
  if (config_.model_out.empty()) return Status::OK();
  FEDSEG_RETURN_IF_ERROR(protocol::ValidateWeights(weights, setup_->spec));
  FEDSEG_ASSIGN_OR_RETURN(ml::Mlp model, ml::Mlp::Create(setup_->spec));
  FEDSEG_RETURN_IF_ERROR(model.SetParams(Eigen::Map<const Eigen::VectorXf>(
      weights.data(), static_cast<Eigen::Index>(weights.size()))));
  nlohmann::json meta = {
      {"mode", "federated"}, {"run_id", setup_->run_id}, {"region", config_.region}};
  if (contract_ && !contract_->feature_spec.empty()) {
    meta["feature_spec"] = nlohmann::json::parse(contract_->feature_spec, nullptr, false);
  }
  // The arg-max rule: the decision rule is chosen by the coordinator after the final evaluation
  // and is not sent to regions; the coordinator's final.fsm carries it.
  FEDSEG_RETURN_IF_ERROR(ml::SaveModelFile(
      config_.model_out, ml::ModelFile{setup_->schema, model, meta.dump(), ml::DecisionRule{}}));
  log_->info("saved the final global model to {}", config_.model_out);
  return Status::OK();
}

}  // namespace fedseg::client
