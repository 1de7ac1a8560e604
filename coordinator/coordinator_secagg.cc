// The coordinator's side of secure aggregation (docs/secure-aggregation.md): it relays each
// training region's signed keys, its sealed shares and the unmasking request, collects the masked
// inputs and hands the Strategy only the unmasked weighted mean of the regions that finished. Each
// step ends when every member has answered or left, or at secure_aggregation.step_deadline_s; a
// region that leaves after any step does not stop the round while at least min_survivors remain
// and every secret has its threshold of shares, else the round fails with the model unchanged and
// is retried. The coordinator never holds one region's update: the Update message carries no delta
// and the AggregatorSession never reconstructs both masks of one region.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/base/log_escape.h"
#include "common/base/seed.h"
#include "common/net/identity_signature.h"
#include "coordinator/coordinator.h"
#include "coordinator/update_screen.h"
#include "privacy/secagg/neighbourhood.h"
#include "privacy/secagg/wire/secagg_wire.h"

namespace fedseg::coordinator {

namespace secagg = privacy::secagg;

void Coordinator::StartSecAgg() {
  secagg_keys_.clear();
  secagg_waiting_.clear();
  secagg_u1_.clear();
  secagg_left_.clear();
  secagg_outcome_.reset();
  secagg_.reset();
  const SecureAggregationConfig& c = config_.secure_aggregation;
  secagg::SecAggParams p;
  p.round = round_;
  p.threshold_fraction = c.threshold_fraction;
  if (c.neighbours >= 0) {
    p.neighbours = static_cast<uint32_t>(c.neighbours);
  } else {
    // For the regions selected: the graph is drawn over U1, those of them that sent keys, and
    // the ones that did not count among the expected dropouts.
    p.neighbours = secagg::DefaultNeighbours(
        selected_.size(), {c.expected_dropout, c.colluding_fraction, c.threshold_fraction});
  }
  p.graph_seed = DeriveSeed(DeriveSeed(config_.seed, round_), "secure-aggregation graph");
  p.min_survivors = static_cast<uint32_t>(c.min_survivors);
  p.vector_length = static_cast<uint64_t>(spec_.num_params()) + 1;
  auto session = secagg::AggregatorSession::Create(record_.run_id, p);
  if (!session.ok()) {
    // The config was validated: this is a bug, and the run cannot aggregate.
    return Finish(RunStatus::kFailed, "secure aggregation: " + session.status().message());
  }
  secagg_.emplace(std::move(*session));
  secagg_step_ = SecAggStep::kKeys;
}

void Coordinator::OnSecAggMessage(RegionState& r, const net::Frame& f) {
  const std::string type = protocol::MessageTypeName(f.type);
  if (!config_.secure_aggregation.enabled) {
    return ProtocolViolation(r, "unexpected " + type + " message: secure aggregation is off");
  }
  // A bounded size per type, checked before the payload is parsed into anything.
  const uint64_t cap = protocol::MaxSecAggPayloadBytes(
      f.type, registry_.size(), static_cast<uint64_t>(spec_.num_params()) + 1);
  if (f.payload.size() > cap) {
    return ProtocolViolation(r, type + " of " + std::to_string(f.payload.size()) +
                                    " bytes exceeds its " + std::to_string(cap) + "-byte limit");
  }
  // A message of another round (a replay, or a late answer to an attempt that is over) is
  // refused and logged, the connection kept.
  auto stale = [&](uint32_t msg_round) {
    if (phase_ == Phase::kRound && secagg_ && msg_round == round_) return false;
    log_->warn("region {}: refused {} for round {} ({})", r.name, type, msg_round,
               phase_ != Phase::kRound ? "no round is open"
                                       : "the current round is " + std::to_string(round_));
    return true;
  };
  Status st;
  switch (static_cast<protocol::MessageType>(f.type)) {
    case protocol::MessageType::kSecAggKeys: {
      protocol::SecAggKeysMsg msg;
      st = protocol::ParseFrame(f, protocol::MessageType::kSecAggKeys, &msg);
      if (!st.ok()) return ProtocolViolation(r, st.message());
      if (stale(msg.round)) return;
      if (secagg_step_ != SecAggStep::kKeys || !selected_.count(r.name) || replied_.count(r.name)) {
        log_->warn("region {}: refused SecAggKeys of round {} (the key step is over for it)",
                   r.name, round_);
        return;
      }
      if (msg.region != r.name) {
        return ProtocolViolation(r, "SecAggKeys in the name of '" + EscapeForLog(msg.region) +
                                        "' from region " + r.name);
      }
      // The certificate that signs the keys must be the one this connection authenticated with.
      auto spki = net::CertificatePemSpkiSha256(msg.certificate_pem);
      if (!spki.ok() || *spki != r.session->peer_spki_sha256()) {
        return ProtocolViolation(r, "SecAggKeys of round " + std::to_string(round_) +
                                        " carry a certificate that is not the connection's");
      }
      auto keys = secagg::KeysFromWire(msg);
      if (!keys.ok()) return ProtocolViolation(r, keys.status().message());
      if (!secagg_verifier_) {
        auto verifier = net::IdentityVerifier::Create(config_.tls.ca_file);
        if (!verifier.ok()) {
          log_->error("region {}: cannot check its SecAggKeys: {}", r.name,
                      verifier.status().message());
          return;
        }
        secagg_verifier_.emplace(std::move(*verifier));
      }
      const std::string pem = msg.certificate_pem;
      st = secagg_->AddKeys(r.name, std::move(*keys),
                            [this, &pem](const std::string& region, std::string_view message,
                                         const std::string& signature) {
                              return secagg_verifier_->Verify(pem, region, message, signature);
                            });
      if (!st.ok()) return ProtocolViolation(r, st.message());
      secagg_keys_[r.name] = std::move(msg);
      return;
    }
    case protocol::MessageType::kSecAggShares: {
      protocol::SecAggSharesMsg msg;
      st = protocol::ParseFrame(f, protocol::MessageType::kSecAggShares, &msg);
      if (!st.ok()) return ProtocolViolation(r, st.message());
      if (stale(msg.round)) return;
      if (secagg_step_ != SecAggStep::kShares || !secagg_waiting_.count(r.name)) {
        log_->warn("region {}: refused SecAggShares of round {} (not in the share step)", r.name,
                   round_);
        return;
      }
      st = secagg_->AddShares(r.name, secagg::EnvelopesFromWire(msg.envelopes));
      break;
    }
    case protocol::MessageType::kSecAggMaskedInput: {
      protocol::SecAggMaskedInputMsg msg;
      st = protocol::ParseFrame(f, protocol::MessageType::kSecAggMaskedInput, &msg);
      if (!st.ok()) return ProtocolViolation(r, st.message());
      if (stale(msg.round)) return;
      if (secagg_step_ != SecAggStep::kInputs || !secagg_waiting_.count(r.name)) {
        log_->warn("region {}: refused SecAggMaskedInput of round {} (not in the input step)",
                   r.name, round_);
        return;
      }
      st = secagg_->AddMaskedInput(r.name, secagg::MaskedInput{r.name, std::move(msg.values)});
      break;
    }
    case protocol::MessageType::kSecAggUnmaskResponse: {
      protocol::SecAggUnmaskResponseMsg msg;
      st = protocol::ParseFrame(f, protocol::MessageType::kSecAggUnmaskResponse, &msg);
      if (!st.ok()) return ProtocolViolation(r, st.message());
      if (stale(msg.round)) return;
      if (secagg_step_ != SecAggStep::kUnmask || !secagg_waiting_.count(r.name)) {
        log_->warn("region {}: refused SecAggUnmaskResponse of round {} (not in the unmask step)",
                   r.name, round_);
        return;
      }
      st = secagg_->AddUnmask(r.name, secagg::UnmaskFromWire(r.name, msg));
      break;
    }
    default:
      return ProtocolViolation(r, "unexpected " + type + " message");
  }
  if (!st.ok()) {
    // Closing the connection drops the region from the step (OnClose), like any dropout.
    return ProtocolViolation(r, st.message());
  }
  secagg_waiting_.erase(r.name);
  if (secagg_waiting_.empty()) AdvanceSecAgg();
}

void Coordinator::CloseSecAggKeys() {
  // Only regions whose Update (metadata) and keys both arrived are in U1.
  double weight_scale = 0;
  for (const ClientUpdate& u : updates_) {
    weight_scale = std::max(weight_scale, static_cast<double>(u.num_examples));
  }
  if (static_cast<int>(updates_.size()) < config_.min_regions) {
    return FailSecAggRound(std::to_string(updates_.size()) + " updates, quorum " +
                           std::to_string(config_.min_regions));
  }
  auto roster = secagg_->CloseKeys();
  if (!roster.ok()) return FailSecAggRound(roster.status().message());
  protocol::SecAggRosterMsg msg;
  msg.round = round_;
  msg.threshold_fraction = roster->params.threshold_fraction;
  msg.neighbours = roster->params.neighbours;
  msg.graph_seed = roster->params.graph_seed;
  msg.min_survivors = roster->params.min_survivors;
  msg.vector_length = roster->params.vector_length;
  msg.clip_range = config_.secure_aggregation.clip_range;
  msg.weight_scale = std::max(weight_scale, 1.0);
  for (const secagg::AdvertiseKeys& k : roster->regions) {
    msg.regions.push_back(secagg_keys_.at(k.region));
    secagg_u1_.push_back(k.region);
  }
  secagg_roster_ = msg;
  // One shared frame for the complete graph; with SecAgg+ each region gets its neighbours' key
  // records and the other regions' names only (secagg::RosterFor).
  const bool complete = msg.neighbours == 0 || msg.neighbours + 1 >= msg.regions.size();
  const auto shared = complete ? std::make_shared<const net::Frame>(
                                     protocol::MakeFrame(protocol::MessageType::kSecAggRoster, msg))
                               : nullptr;
  secagg_waiting_.clear();
  for (const std::string& name : secagg_u1_) {
    RegionState* r = registry_.Find(name);
    if (r != nullptr && r->connected && !secagg_left_.count(name)) {
      r->session->Send(
          shared ? shared
                 : std::make_shared<const net::Frame>(protocol::MakeFrame(
                       protocol::MessageType::kSecAggRoster, secagg::RosterFor(msg, name))));
      secagg_waiting_.insert(name);
    }
  }
  secagg_step_ = SecAggStep::kShares;
  deadline_ =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(config_.secure_aggregation.step_deadline_s));
  log_->info(
      "round {}: secure aggregation: roster of {} regions sent (neighbours {}, threshold "
      "fraction {}), waiting for their shares",
      round_, secagg_u1_.size(),
      msg.neighbours == 0 ? std::string("all") : std::to_string(msg.neighbours),
      msg.threshold_fraction);
  if (secagg_waiting_.empty()) AdvanceSecAgg();
}

void Coordinator::AdvanceSecAgg() {
  const auto step_deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(config_.secure_aggregation.step_deadline_s));
  if (!secagg_waiting_.empty()) {
    std::string missing;
    for (const std::string& n : secagg_waiting_) missing += (missing.empty() ? "" : ", ") + n;
    log_->warn("round {}: secure aggregation step deadline passed without {}", round_, missing);
  }
  secagg_waiting_.clear();
  switch (secagg_step_) {
    case SecAggStep::kShares: {
      auto forward = secagg_->CloseShares();
      if (!forward.ok()) return FailSecAggRound(forward.status().message());
      for (auto& [to, envelopes] : *forward) {
        RegionState* r = registry_.Find(to);
        if (r == nullptr || !r->connected || secagg_left_.count(to)) continue;
        protocol::SecAggSharesMsg m{round_, secagg::EnvelopesToWire(envelopes)};
        r->session->Send(protocol::MakeFrame(protocol::MessageType::kSecAggForward, m));
        secagg_waiting_.insert(to);
      }
      secagg_step_ = SecAggStep::kInputs;
      log_->info(
          "round {}: secure aggregation: shares of {} regions forwarded, waiting for "
          "masked inputs",
          round_, forward->size());
      break;
    }
    case SecAggStep::kInputs: {
      auto request = secagg_->CloseInputs();
      if (!request.ok()) return FailSecAggRound(request.status().message());
      protocol::SecAggUnmaskRequestMsg m{round_, request->survivors};
      const auto frame = std::make_shared<const net::Frame>(
          protocol::MakeFrame(protocol::MessageType::kSecAggUnmaskRequest, m));
      // The survivors (U3) reveal, for each neighbour that shared with them, its self-mask share
      // if it survived and its mask-key share if it dropped after sharing.
      for (const std::string& name : request->survivors) {
        RegionState* r = registry_.Find(name);
        if (r == nullptr || !r->connected || secagg_left_.count(name)) continue;
        r->session->Send(frame);
        secagg_waiting_.insert(name);
      }
      secagg_step_ = SecAggStep::kUnmask;
      log_->info(
          "round {}: secure aggregation: {} masked inputs, asking for the shares to unmask "
          "their sum",
          round_, request->survivors.size());
      break;
    }
    case SecAggStep::kUnmask: {
      auto outcome = secagg_->Finish();
      if (!outcome.ok()) return FailSecAggRound(outcome.status().message());
      std::string dropped;
      for (const std::string& n : outcome->dropped) dropped += (dropped.empty() ? "" : ", ") + n;
      log_->info("round {}: secure aggregation: the sum of {} regions unmasked{}", round_,
                 outcome->aggregated.size(), dropped.empty() ? "" : "; dropped: " + dropped);
      secagg_outcome_ = std::move(*outcome);
      secagg_step_ = SecAggStep::kAggregate;
      return FinishRound();
    }
    default:
      return;
  }
  deadline_ = step_deadline;
  if (secagg_waiting_.empty()) AdvanceSecAgg();
}

void Coordinator::FailSecAggRound(const std::string& why) {
  progress_.Done();
  for (const std::string& name : selected_) {
    if (!replied_.count(name)) ++registry_.Find(name)->result.rounds_missed;
  }
  log_->warn(
      "round {} failed: secure aggregation: {}; the model is unchanged and the round will "
      "be retried when enough regions are ready",
      round_, why);
  secagg_step_ = SecAggStep::kOff;
  secagg_.reset();
  secagg_waiting_.clear();
  lost_.clear();
  selected_.clear();
  evaluators_.clear();
  phase_ = Phase::kWaitingForQuorum;
  phase_started_ = Clock::now();
}

Status Coordinator::AggregateSecAggRound(std::vector<ClientUpdate>* used) {
  used->clear();
  if (!secagg_outcome_)
    return Status::Internal("no unmasked sum for round " + std::to_string(round_));
  const std::set<std::string> aggregated(secagg_outcome_->aggregated.begin(),
                                         secagg_outcome_->aggregated.end());
  for (const ClientUpdate& u : updates_) {
    if (aggregated.count(u.region)) used->push_back(u);
  }
  FEDSEG_ASSIGN_OR_RETURN(
      secagg::FixedPointCodec codec,
      secagg::RoundCodec(config_.secure_aggregation.clip_range, secagg_u1_.size()));
  const std::vector<double> sum = codec.DecodeSum(secagg_outcome_->sum);
  FEDSEG_ASSIGN_OR_RETURN(Eigen::VectorXf mean, secagg::MeanFromSum(sum));
  if (mean.size() != global_.size()) {
    return Status::Internal("the unmasked sum has " + std::to_string(mean.size()) +
                            " values, the model " + std::to_string(global_.size()));
  }
  // The Strategy sees one update: the weighted mean (FedAvg adds it; FedAvgM and FedAdam run
  // their server optimizer on it, as on any round's mean).
  ClientUpdate mean_update;
  mean_update.region = "secure-aggregate";
  mean_update.num_examples = 1;
  mean_update.delta = std::move(mean);
  return ApplyAggregate({mean_update});
}

}  // namespace fedseg::coordinator
