// The coordinator: accepts regions over mutual TLS, builds the global schema from their mergeable
// summaries, runs synchronous rounds (select regions, send the global weights, collect updates
// until the deadline, aggregate with the Strategy when the quorum is met), collects federated
// evaluation, checkpoints after every round and writes the run directory (metrics.csv,
// report.json, report.html, final.fsm). It never sees a raw row: only summaries, weight deltas and
// evaluation summaries cross the network.
//
// Everything runs on one Asio thread: network callbacks and a 100 ms tick that drives deadlines,
// so no state needs locking. Every received message is parsed with bounded loaders and validated
// against the current phase, round and model before use; a violation closes that connection only.
//
// The class is the round state machine (phases, ticks, deadlines, messages); it leans on a
// RegionRegistry (admission, allow-list, per-region state, selection, quorum), a RunDirectory
// (lock, log, output paths) and a RunRecord (the typed history every output is written from).
// Its definitions are split by job: coordinator.cc (lifecycle and phases),
// coordinator_messages.cc (what regions send), coordinator_outputs.cc (record, checkpoint,
// report, metrics.csv, status snapshot).
#ifndef FEDSEG_COORDINATOR_COORDINATOR_H_
#define FEDSEG_COORDINATOR_COORDINATOR_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/base/progress.h"
#include "common/ml/metrics.h"
#include "common/net/identity_signature.h"
#include "common/net/tls_server.h"
#include "common/protocol/messages.h"
#include "coordinator/checkpoint_key.h"
#include "coordinator/config.h"
#include "coordinator/evaluation_tally.h"
#include "coordinator/ledger_heads.h"
#include "coordinator/record/run_record.h"
#include "coordinator/record/run_status.h"
#include "coordinator/region_registry.h"
#include "coordinator/run_directory.h"
#include "coordinator/status/status_server.h"
#include "coordinator/status/status_snapshot.h"
#include "coordinator/strategy.h"
#include "privacy/secagg/aggregator_session.h"

namespace fedseg::coordinator {

struct Checkpoint;

class Coordinator {
 public:
  struct Options {
    bool resume = false;      // continue from run_dir/checkpoint.fsc if present
    bool fresh = false;       // move an earlier run's files aside and start a new run
    uint32_t from_round = 0;  // with resume: roll back to checkpoint-round-<R>.fsc (0 = latest)
    bool json = false;        // print the final summary as JSON on stdout
  };

  static Result<std::unique_ptr<Coordinator>> Create(CoordinatorConfig config, Options options);
  ~Coordinator();

  // Runs until the run ends; returns RunStatusExitCode of its status (run_status.h): completed 0,
  // stopped by a signal 0 (after a clean shutdown), failed 1, degraded (the final model is worse
  // than the initial one) 3.
  int Run();
  uint16_t port() const;
  // A copy of the state the live status endpoint shows (round, phase, regions, metrics, epsilon).
  // Call it on the coordinator's thread (the status server does).
  StatusSnapshot Snapshot() const;

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { kJoining, kSummaries, kRound, kWaitingForQuorum, kFinalEvaluation, kDone };

  explicit Coordinator(CoordinatorConfig config, Options options);
  Status Init();

  // Network events (coordinator_messages.cc).
  void OnSession(std::shared_ptr<net::TlsSession> s);
  void OnFrame(const std::shared_ptr<net::TlsSession>& s, net::Frame f);
  void OnClose(const std::shared_ptr<net::TlsSession>& s, const Status& st);
  // The round's bookkeeping for a region whose connection ended (`why`: closed, or replaced by a
  // new one): a secure round's later steps leave it out, a round that waited for it goes on.
  void LeaveRound(RegionState& r, const std::string& why);
  void OnHello(const std::shared_ptr<net::TlsSession>& s, const net::Frame& f);
  void OnSummaryReply(RegionState& r, const net::Frame& f);
  // Builds the schema once every region has sent a summary or declined (or ends the run when the
  // summaries fall short of the quorum).
  void MaybeBuildSchema();
  void OnUpdate(RegionState& r, const net::Frame& f);
  void OnDecline(RegionState& r, const net::Frame& f);

  // Secure aggregation of a round (coordinator_secagg.cc; docs/secure-aggregation.md). The round
  // collects updates (metadata only) and signed keys as usual; then CloseSecAggKeys sends the
  // roster and each later step ends when its members have answered or left, or at
  // secure_aggregation.step_deadline_s; the unmasked weighted mean goes to the Strategy.
  enum class SecAggStep { kOff, kKeys, kShares, kInputs, kUnmask, kAggregate };
  void StartSecAgg();
  // The regions a round needs to start: federation.min_regions, and with secure aggregation at
  // least secure_aggregation.min_survivors (a round with fewer could only fail).
  int TrainingQuorum() const;
  void OnSecAggMessage(RegionState& r, const net::Frame& f);
  void CloseSecAggKeys();
  // Ends the current step (its members answered, left, or its deadline passed).
  void AdvanceSecAgg();
  // A secure-aggregation step that cannot go on: the model is unchanged and the round is retried.
  void FailSecAggRound(const std::string& why);
  // The mean delta of the aggregated regions, from the unmasked sum (the weight is its last value).
  Status AggregateSecAggRound(std::vector<ClientUpdate>* used);
  // `kind` is the bounded refusal counter key ("unknown region"); `reason` the full message.
  // Checks a region's reported ledger head against the heads recorded across runs
  // (ledger_heads.h) and records it; false after refusing the region (its ledger went backwards).
  bool CheckLedgerHead(RegionState& r, const std::string& head, uint64_t entries);
  void Refuse(const std::shared_ptr<net::TlsSession>& s, const std::string& kind,
              const std::string& reason);
  void ProtocolViolation(RegionState& r, const std::string& what);
  void MaybeCompleteRound();
  // How many selected regions answered the current round (updates and declines).
  size_t SelectedReplied() const;

  // Phases.
  void Tick();
  void StartSummaries();
  void BuildSchema();
  // Sends a RoundStart of the current round to `region` and notes that the region owes an answer.
  void SendRoundStart(const std::string& region, const std::shared_ptr<const net::Frame>& frame);
  void StartRound();
  void FinishRound();
  // Screens updates_ (update_screen.h), aggregates what is accepted with the Strategy into a
  // candidate model and applies it only if it passes the sanity bound; on failure global_ and the
  // strategy's state are unchanged. Leaves the aggregated updates in *used
  // (coordinator_aggregation.cc). Refused updates count towards the quorum (FinishRound checks it
  // on answers): fewer accepted updates than the quorum are aggregated, with a warning; none fails.
  // Each refusal is counted in the region's RegionResult and in round_refused_.
  Status AggregateRound(std::vector<ClientUpdate>* used);
  // The Strategy's aggregate of `updates` as a candidate model, applied to global_ only if it
  // passes the sanity bound (CheckAggregate); on failure global_ and the strategy's state are
  // unchanged. Shared by the plain and the secure round.
  Status ApplyAggregate(const std::vector<ClientUpdate>& updates);
  void StartFinalEvaluation();
  void FinishFinalEvaluation();
  // Ends the run with `status` (never kRunning); `detail` says why (report.json's status_detail).
  void Finish(RunStatus status, const std::string& detail);
  void SendSetup(RegionState& r);
  void SendSummaryRequest(RegionState& r);

  // Outputs (coordinator_outputs.cc).
  void RecordEvaluation(uint32_t model_round, const EvaluationTally& evals);
  // The decision rule of final.fsm, chosen for config_.decision on evals_' merged total (the final
  // evaluation); recorded in record_.decision.
  ml::DecisionRule ChooseDecision();
  // The training figures of round_, just aggregated from updates_ of selected_.
  void RecordRound(uint64_t examples, double loss, double secs);
  // checkpoint.fsc and checkpoint-round-<R>.fsc, keeping config_.checkpoints_kept of the latter.
  Status WriteCheckpoint();
  // Run directory 0700, its files 0600, the checkpoint key loaded (or made, for a new run).
  Status ProtectRunFiles();
  void WriteReport();
  // One console line: every DP region's epsilon spent / budget, and declines.
  void LogPrivacy(const std::string& when);
  // The record's fields that mirror live state (status, completed round, regions, model, ...),
  // brought up to date before it is written.
  void RefreshRecord();
  // The history and per-region results of a checkpoint, refused by field if one is missing.
  Status RestoreRecord(const Checkpoint& ck, const std::string& where);

  CoordinatorConfig config_;
  Options options_;
  std::unique_ptr<RunDirectory> run_dir_;        // locked for the coordinator's lifetime
  std::optional<LedgerHeads> ledger_heads_;      // run_dir_->ledger_heads_path()
  std::optional<CheckpointKey> checkpoint_key_;  // authenticates every checkpoint written or read
  std::shared_ptr<spdlog::logger> log_;          // run_dir_->log()
  boost::asio::io_context io_;
  std::unique_ptr<net::TlsServer> server_;
  std::unique_ptr<StatusServer> status_server_;  // null unless status.enabled
  boost::asio::steady_timer tick_;
  boost::asio::signal_set signals_;

  Phase phase_ = Phase::kJoining;
  const Clock::time_point started_ = Clock::now();
  const std::chrono::system_clock::time_point started_wall_ = std::chrono::system_clock::now();
  Clock::time_point phase_started_;
  Clock::time_point deadline_;
  RunStatus status_ = RunStatus::kRunning;
  std::string status_detail_;
  // The run so far (run id, rounds, per-region results once refreshed): the source of
  // report.json, report.html, metrics.csv, the checkpoint's history and the status snapshot.
  RunRecord record_;
  bool final_evaluated_ = false;  // record_.final_round then mirrors rounds[completed_round_]
  // Regions, their connections and state. After io_: the sessions it holds must go first.
  RegionRegistry registry_;

  // Schema phase.
  std::set<std::string> summary_asked_;
  data::DataSummary merged_summary_;
  std::map<std::string, data::DataSummary> summaries_;  // by region, merged in this order
  std::set<std::string> summary_received_;
  // Regions that declined the summary request (outside their privacy policy: docs/privacy.md).
  std::set<std::string> summary_declined_;
  bool have_schema_ = false;
  data::Schema schema_;
  ml::ModelSpec spec_;
  Eigen::VectorXf global_;
  std::unique_ptr<Strategy> strategy_;
  std::shared_ptr<const net::Frame> setup_frame_;  // encoded once the schema exists

  // Rounds.
  uint32_t round_ = 0;  // current (or next) round number
  uint32_t completed_round_ = 0;
  std::set<std::string> selected_;  // regions asked to train this round
  // Connected regions not selected: asked only to evaluate the round's starting model, so that
  // every round's global metrics cover every connected region, not the selected sample only.
  std::set<std::string> evaluators_;
  std::vector<ClientUpdate> updates_;
  int failed_aggregations_ = 0;  // consecutive rounds whose aggregate was refused
  // Regions whose update the defences refused in this round, over all its attempts (a round whose
  // aggregate fails is asked again); recorded with the round, then cleared.
  std::set<std::string> round_refused_;
  EvaluationTally evals_;  // of the model after round_-1
  std::map<std::string, double> train_losses_;
  std::set<std::string> replied_;
  std::set<std::string> lost_;  // selected regions that disconnected before answering
  Clock::time_point round_started_;
  double last_round_seconds_ = 0;
  ProgressLine progress_;  // on a terminal: updates received and time left, redrawn each tick
  uint64_t bytes_received_ = 0;

  // Secure aggregation of the current round.
  SecAggStep secagg_step_ = SecAggStep::kOff;
  std::optional<privacy::secagg::AggregatorSession> secagg_;
  std::map<std::string, protocol::SecAggKeysMsg> secagg_keys_;  // as received, for the roster
  std::set<std::string> secagg_waiting_;  // members of the current step that have not answered
  // Selected regions whose connection closed during this secure round: out of it even if they
  // join again before it ends (their new connection holds none of the round's state).
  std::set<std::string> secagg_left_;
  // Checks the regions' key signatures (the CA loaded once, each certificate checked once).
  std::optional<net::IdentityVerifier> secagg_verifier_;
  std::vector<std::string> secagg_u1_;    // the roster's regions
  protocol::SecAggRosterMsg secagg_roster_;
  std::optional<privacy::secagg::AggregateOutcome> secagg_outcome_;
};

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_COORDINATOR_H_
