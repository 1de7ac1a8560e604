// The coordinator's handling of what regions send: new connections and their Hello (admission
// through the RegionRegistry), data summaries, updates and declines, each validated against the
// current phase and round; a violation closes that region's connection only.
#include <algorithm>
#include <chrono>
#include <string>

#include "common/base/failpoint.h"
#include "common/base/log_escape.h"
#include "coordinator/coordinator.h"

namespace fedseg::coordinator {

void Coordinator::OnSession(std::shared_ptr<net::TlsSession> s) {
  if (phase_ == Phase::kDone) {
    registry_.CountRefusal("run is over");
    s->Close("run is over");
    return;
  }
  const uint64_t id = s->id();
  const std::string cn = s->peer_common_name();
  if (auto refusal = registry_.AddPending(id, cn, s, Clock::now())) {
    registry_.CountRefusal(refusal->kind);
    log_->warn("refused {}: {}", s->peer_label(), refusal->reason);
    s->Close(refusal->kind);
  }
}

void Coordinator::OnFrame(const std::shared_ptr<net::TlsSession>& s, net::Frame f) {
  bytes_received_ += f.payload.size() + net::kFrameHeaderSize;
  if (registry_.IsPending(s->id())) {
    if (f.type != static_cast<uint16_t>(protocol::MessageType::kHello)) {
      Refuse(s, "message before Hello", "expected Hello, got " + protocol::MessageTypeName(f.type));
      return;
    }
    OnHello(s, f);
    return;
  }
  RegionState* region = registry_.BySession(s->id());
  if (region == nullptr) return;  // session being replaced or closed
  RegionState& r = *region;
  switch (static_cast<protocol::MessageType>(f.type)) {
    case protocol::MessageType::kSummaryReply: OnSummaryReply(r, f); break;
    case protocol::MessageType::kUpdate: OnUpdate(r, f); break;
    case protocol::MessageType::kDecline: OnDecline(r, f); break;
    case protocol::MessageType::kSecAggKeys:
    case protocol::MessageType::kSecAggShares:
    case protocol::MessageType::kSecAggMaskedInput:
    case protocol::MessageType::kSecAggUnmaskResponse:
      OnSecAggMessage(r, f);
      break;
    default: ProtocolViolation(r, "unexpected " + protocol::MessageTypeName(f.type) + " message");
  }
}

void Coordinator::Refuse(const std::shared_ptr<net::TlsSession>& s, const std::string& kind,
                         const std::string& reason) {
  log_->warn("refused {}: {}", s->peer_label(), EscapeForLog(reason));
  registry_.CountRefusal(kind);
  registry_.RemovePending(s->id());
  s->Send(
      protocol::MakeFrame(protocol::MessageType::kError, protocol::ErrorMsg{"refused: " + reason}));
  s->Close(reason);
}

void Coordinator::ProtocolViolation(RegionState& r, const std::string& what) {
  log_->warn("region {}: protocol violation in round {}: {}; closing its connection", r.name,
             round_, what);
  if (r.connected) {
    r.session->Send(protocol::MakeFrame(protocol::MessageType::kError,
                                        protocol::ErrorMsg{"protocol violation: " + what}));
    r.session->Close(what);
  }
}

void Coordinator::OnHello(const std::shared_ptr<net::TlsSession>& s, const net::Frame& f) {
  registry_.RemovePending(s->id());
  protocol::HelloMsg hello;
  Status st = protocol::ParseFrame(f, protocol::MessageType::kHello, &hello);
  if (!st.ok()) return Refuse(s, "malformed Hello", st.message());
  if (auto refusal =
          registry_.CheckHello(hello.region, s->peer_common_name(), s->peer_spki_sha256())) {
    return Refuse(s, refusal->kind, refusal->reason);
  }
  const std::string& name = s->peer_common_name();
  const bool replaced = registry_.Find(name)->connected;
  if (replaced) {
    log_->warn("region {} reconnected from {}; closing its previous connection", name,
               s->peer_label());
  }
  if (auto previous = registry_.Attach(name, s->id(), s)) {
    previous->Close("replaced by a new connection");
  }
  RegionState& r = *registry_.Find(name);
  // The previous connection's close finds no region any more (it was detached here), so the round
  // lets the region go now, as it would on that close; else the round waited for an answer the
  // new connection will not give until its deadline. It is not set up yet, so a round this
  // starts does not select it.
  if (replaced) LeaveRound(r, "replaced by a new connection");
  log_->info("region {} joined from {} ({})", r.name, s->peer_label(),
             EscapeForLog(hello.software));

  protocol::WelcomeMsg w{record_.run_id, config_.data, round_};
  s->Send(protocol::MakeFrame(protocol::MessageType::kWelcome, w));
  if (have_schema_) {
    SendSetup(r);
  } else if (phase_ == Phase::kSummaries && !summary_received_.count(r.name)) {
    SendSummaryRequest(r);
  }
}

void Coordinator::OnClose(const std::shared_ptr<net::TlsSession>& s, const Status& st) {
  if (RegionState* region = registry_.Detach(s->id())) {
    LeaveRound(*region, st.ok() ? "closed" : st.message());
  }
}

void Coordinator::LeaveRound(RegionState& r, const std::string& why) {
  const bool in_round = phase_ == Phase::kRound || phase_ == Phase::kFinalEvaluation;
  const bool owed =
      in_round && (selected_.count(r.name) || evaluators_.count(r.name)) && !replied_.count(r.name);
  if (phase_ != Phase::kDone) {
    log_->warn("region {} disconnected{}: {}", r.name,
               owed ? " during round " + std::to_string(round_) : "", why);
  }
  if (phase_ == Phase::kRound && secagg_step_ != SecAggStep::kOff && selected_.count(r.name)) {
    // Had it joined again before a later step, it would be sent that step and waited for
    // until step_deadline_s, though its new connection (a restarted region, or the secagg
    // bench's) knows nothing of the round: it has left the round, like a region that stays away.
    secagg_left_.insert(r.name);
  }
  if (phase_ == Phase::kRound && secagg_waiting_.erase(r.name) > 0) {
    // A secure-aggregation step goes on without it (a dropout); it ends now if it was the last.
    if (secagg_waiting_.empty()) AdvanceSecAgg();
    return;
  }
  if (owed) {
    // Its update will not come: the round completes as soon as every other region has answered
    // (a late reconnect cannot answer this round: it was not sent the round again).
    lost_.insert(r.name);
    MaybeCompleteRound();
  }
}

size_t Coordinator::SelectedReplied() const {
  size_t n = 0;
  for (const std::string& name : replied_) n += selected_.count(name);
  return n;
}

void Coordinator::MaybeCompleteRound() {
  // Past the key step, secure aggregation's own steps decide when the round ends.
  if (secagg_step_ != SecAggStep::kOff && secagg_step_ != SecAggStep::kKeys) return;
  if (replied_.size() + lost_.size() < selected_.size() + evaluators_.size()) {
    // Every selected region has answered: evaluation-only regions, which answer in a moment
    // unless busy, get a short grace instead of the rest of the deadline.
    size_t selected_lost = 0;
    for (const std::string& name : lost_) selected_lost += selected_.count(name);
    if (phase_ == Phase::kRound && SelectedReplied() + selected_lost >= selected_.size()) {
      const auto grace =
          Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                             std::max(2.0, 0.25 * config_.round_deadline_s)));
      deadline_ = std::min(deadline_, grace);
    }
    return;
  }
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
  r.result.train_rows = msg.train_rows;
  r.result.test_rows = msg.test_rows;
  log_->info("region {}: summary of {} training rows ({} test rows) received ({}/{})", r.name,
             msg.train_rows, msg.test_rows, summary_received_.size(), summary_asked_.size());
  MaybeBuildSchema();
}

bool Coordinator::CheckLedgerHead(RegionState& r, const std::string& head, uint64_t entries) {
  const Status st = ledger_heads_->Observe(r.name, head, entries);
  if (st.ok()) return true;
  if (!st.IsFailedPrecondition() && !st.IsInvalidArgument()) {
    // The record could not be written: the head was checked, only its persistence failed.
    log_->error("region {}: {}", r.name, st.message());
    return true;
  }
  log_->error("refused region {}: {}", r.name, EscapeForLog(st.message()));
  r.result.retired = true;
  r.result.decline_reason = st.message();
  if (r.connected) {
    r.session->Send(protocol::MakeFrame(protocol::MessageType::kError,
                                        protocol::ErrorMsg{"refused: " + st.message()}));
    r.session->Close("ledger went backwards");
  }
  return false;
}

void Coordinator::MaybeBuildSchema() {
  // Every region has answered, with a summary or a decline: the schema need not wait for the
  // summary deadline.
  if (summary_received_.size() + summary_declined_.size() < config_.regions.size()) return;
  if (static_cast<int>(summary_received_.size()) >= config_.min_regions) return BuildSchema();
  Finish(RunStatus::kFailed,
         "schema: " + std::to_string(summary_declined_.size()) +
             " regions declined the data summary (outside their privacy policies), " +
             std::to_string(summary_received_.size()) + " sent one, quorum " +
             std::to_string(config_.min_regions));
}

void Coordinator::OnUpdate(RegionState& r, const net::Frame& f) {
  const bool in_round = phase_ == Phase::kRound || phase_ == Phase::kFinalEvaluation;
  protocol::UpdateMsg msg;
  Status st = protocol::ParseFrame(f, protocol::MessageType::kUpdate, &msg);
  if (!st.ok()) return ProtocolViolation(r, st.message());
  if (msg.round == r.owed_round) r.owed_round = 0;  // answered, in time or not
  const bool asked = selected_.count(r.name) || evaluators_.count(r.name);
  if (!in_round || msg.round != round_ || !asked || lost_.count(r.name)) {
    // A late or unsolicited update is refused but is no reason to drop the region. The reason
    // says which check failed: a round restarted under the same number is not "current" for an
    // answer to its earlier attempt from a region that was dropped from it.
    const std::string why = !in_round             ? "no round is open"
                            : msg.round != round_ ? "the current round is " + std::to_string(round_)
                            : lost_.count(r.name) ? "the region was dropped from this round"
                                                  : "the region was not asked in this round";
    log_->warn("region {}: refused update for round {} ({})", r.name, msg.round, why);
    return;
  }
  if (replied_.count(r.name)) {
    return ProtocolViolation(r, "second update for round " + std::to_string(round_));
  }
  const bool train = phase_ == Phase::kRound && selected_.count(r.name) > 0;
  // With secure aggregation a training region's delta travels masked (coordinator_secagg.cc):
  // its Update carries the metadata only, after its signed keys.
  const bool secure = train && secagg_step_ != SecAggStep::kOff;
  if (secure && secagg_step_ != SecAggStep::kKeys) {
    log_->warn("region {}: refused update for round {} (its key step is over)", r.name, msg.round);
    return;
  }
  st = protocol::ValidateUpdate(msg, round_, static_cast<size_t>(spec_.num_params()),
                                spec_.num_classes, train && !secure);
  if (st.ok() && secure && (msg.num_examples == 0 || msg.num_examples > (uint64_t{1} << 40))) {
    st = Status::InvalidArgument("update claims " + std::to_string(msg.num_examples) + " examples");
  }
  if (st.ok() && secure && !secagg_keys_.count(r.name)) {
    st = Status::InvalidArgument("Update of round " + std::to_string(round_) +
                                 " before its SecAggKeys (secure aggregation is on)");
  }
  if (!st.ok()) return ProtocolViolation(r, st.message());
  if (!CheckLedgerHead(r, msg.ledger_head, msg.ledger_entries)) return;
  replied_.insert(r.name);
  if (msg.evaluation.count() > 0) {
    // Merged now: only the running total and the region's report are kept (evaluation_tally.h).
    st = evals_.Add(r.name, msg.evaluation);
    if (!st.ok()) log_->warn("region {}: evaluation not counted: {}", r.name, st.message());
  }
  if (msg.epsilon_budget > 0 || msg.epsilon_spent > 0) {
    r.result.epsilon_spent = msg.epsilon_spent;
    r.result.epsilon_budget = msg.epsilon_budget;
    r.result.epsilon_delta = msg.epsilon_delta;
    r.result.ledger_head = msg.ledger_head;
    if (train) r.result.epsilon_by_round[round_] = msg.epsilon_spent;
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
  if (!CheckLedgerHead(r, msg.ledger_head, msg.ledger_entries)) return;
  if (msg.round == r.owed_round) r.owed_round = 0;
  if (phase_ == Phase::kSummaries && msg.round == 0 && summary_asked_.count(r.name) &&
      !summary_received_.count(r.name)) {
    // The region's privacy policy refuses the statistics asked for (their noise): it takes no
    // part in the schema, nor, retired, in training.
    if (!summary_declined_.insert(r.name).second) return;
    r.result.decline_reason = msg.reason;
    r.result.retired = true;
    r.result.epsilon_spent = msg.epsilon_spent;
    r.result.epsilon_budget = msg.epsilon_budget;
    if (!msg.ledger_head.empty()) r.result.ledger_head = msg.ledger_head;
    log_->warn("region {} declined the data summary: {}", r.name, EscapeForLog(msg.reason));
    return MaybeBuildSchema();
  }
  const bool in_round = phase_ == Phase::kRound || phase_ == Phase::kFinalEvaluation;
  // Evaluation-only regions may decline too (their privacy policy refuses the plan).
  const bool asked = selected_.count(r.name) || evaluators_.count(r.name);
  if (!in_round || msg.round != round_ || !asked || replied_.count(r.name)) {
    log_->warn("region {}: ignored decline for round {} (current round {})", r.name, msg.round,
               round_);
    return;
  }
  replied_.insert(r.name);
  r.result.declined_rounds.push_back(round_);
  r.result.decline_reason = msg.reason;
  r.result.retired = true;
  r.result.epsilon_spent = msg.epsilon_spent;
  r.result.epsilon_budget = msg.epsilon_budget;
  if (!msg.ledger_head.empty()) r.result.ledger_head = msg.ledger_head;
  log_->warn("region {} declined round {}: {}", r.name, round_, EscapeForLog(msg.reason));
  MaybeCompleteRound();
}

}  // namespace fedseg::coordinator
