#include "privacy/secagg/aggregator_session.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "privacy/secagg/internal/share_plaintext.h"
#include "privacy/secagg/mask.h"

namespace fedseg::privacy::secagg {
namespace {

const char* StepName(int step) {
  static const char* kNames[] = {"keys", "shares", "masked inputs", "unmasking shares",
                                 "(finished)"};
  return kNames[step];
}

}  // namespace

Result<AggregatorSession> AggregatorSession::Create(std::string run_id, SecAggParams params) {
  FEDSEG_RETURN_IF_ERROR(CheckSecAggParams(params));
  if (run_id.empty()) {
    return Status::InvalidArgument("secure aggregation, round " + std::to_string(params.round) +
                                   ": empty run id");
  }
  return AggregatorSession(std::move(run_id), params);
}

std::string AggregatorSession::Where() const {
  return "secure aggregation, round " + std::to_string(params_.round) + ": ";
}

Status AggregatorSession::Expect(Step step, const std::string& peer, const char* what) const {
  if (step_ == step) return Status::OK();
  return Status::FailedPrecondition(Where() + what + " from " + peer +
                                    " arrived while collecting " +
                                    StepName(static_cast<int>(step_)));
}

std::vector<std::string> AggregatorSession::NeighboursOf(const std::string& region) const {
  return Neighbours(roster_names_, region, params_);
}

Status AggregatorSession::AddKeys(const std::string& peer, AdvertiseKeys keys,
                                  const VerifyFn& verify) {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kKeys, peer, "keys"));
  if (keys.region != peer) {
    return Status::PermissionDenied(Where() + peer + " sent keys in the name of " + keys.region);
  }
  if (keys_.count(peer)) return Status::InvalidArgument(Where() + peer + " sent its keys twice");
  if (Status s = verify(peer, AdvertisedKeysMessage(run_id_, params_.round, keys), keys.signature);
      !s.ok()) {
    return Status::PermissionDenied(Where() + "the keys of " + peer +
                                    " are not signed by it for this run and round: " + s.message());
  }
  keys_[peer] = std::move(keys);
  return Status::OK();
}

Result<KeyRoster> AggregatorSession::CloseKeys() {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kKeys, "(coordinator)", "the end of the key step"));
  if (keys_.size() < params_.min_survivors) {
    step_ = Step::kDone;
    return Status::FailedPrecondition(Where() + "only " + std::to_string(keys_.size()) +
                                      " regions advertised keys, fewer than " +
                                      std::to_string(params_.min_survivors));
  }
  KeyRoster roster;
  roster.params = params_;
  for (const auto& [name, keys] : keys_) {
    roster_names_.push_back(name);
    roster.regions.push_back(keys);
  }
  step_ = Step::kShares;
  return roster;
}

Status AggregatorSession::AddShares(const std::string& peer, std::vector<ShareEnvelope> envelopes) {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kShares, peer, "shares"));
  if (!keys_.count(peer)) {
    return Status::PermissionDenied(Where() + peer + " sent shares without having advertised keys");
  }
  if (shares_.count(peer)) return Status::InvalidArgument(Where() + peer + " sent shares twice");
  const std::vector<std::string> neighbours = NeighboursOf(peer);
  if (envelopes.size() != neighbours.size()) {
    return Status::InvalidArgument(Where() + peer + " sent " + std::to_string(envelopes.size()) +
                                   " share envelopes for its " + std::to_string(neighbours.size()) +
                                   " neighbours");
  }
  std::set<std::string> seen;
  for (const ShareEnvelope& e : envelopes) {
    if (e.from != peer) {
      return Status::PermissionDenied(Where() + peer + " sent a share envelope in the name of " +
                                      e.from);
    }
    if (!std::binary_search(neighbours.begin(), neighbours.end(), e.to)) {
      return Status::InvalidArgument(Where() + peer + " sent a share envelope for " + e.to +
                                     ", which is not its neighbour in this round");
    }
    if (!seen.insert(e.to).second) {
      return Status::InvalidArgument(Where() + peer + " sent two share envelopes for " + e.to);
    }
    const size_t expected = 8 * (1 + 2 * ShamirLimbCount(internal::kSecretSize)) + 28;
    if (e.sealed.size() != expected) {
      return Status::InvalidArgument(Where() + peer + " sent a share envelope of " +
                                     std::to_string(e.sealed.size()) + " bytes, expected " +
                                     std::to_string(expected));
    }
  }
  shares_[peer] = std::move(envelopes);
  return Status::OK();
}

Result<std::map<std::string, std::vector<ShareEnvelope>>> AggregatorSession::CloseShares() {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kShares, "(coordinator)", "the end of the share step"));
  if (shares_.size() < params_.min_survivors) {
    step_ = Step::kDone;
    return Status::FailedPrecondition(Where() + "only " + std::to_string(shares_.size()) +
                                      " regions sent their shares, fewer than " +
                                      std::to_string(params_.min_survivors));
  }
  std::map<std::string, std::vector<ShareEnvelope>> forward;
  for (const auto& [sender, envelopes] : shares_) forward[sender];  // every member of U2
  for (const auto& [sender, envelopes] : shares_) {
    for (const ShareEnvelope& e : envelopes) {
      if (shares_.count(e.to)) forward[e.to].push_back(e);
    }
  }
  step_ = Step::kInputs;
  return forward;
}

Status AggregatorSession::AddMaskedInput(const std::string& peer, MaskedInput input) {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kInputs, peer, "a masked input"));
  if (input.region != peer) {
    return Status::PermissionDenied(Where() + peer + " sent a masked input in the name of " +
                                    input.region);
  }
  if (!shares_.count(peer)) {
    return Status::PermissionDenied(Where() + peer +
                                    " sent a masked input without having shared its keys");
  }
  if (inputs_.count(peer)) {
    return Status::InvalidArgument(Where() + peer + " sent its masked input twice");
  }
  if (input.values.size() != params_.vector_length) {
    return Status::InvalidArgument(Where() + peer + " sent a masked input of length " +
                                   std::to_string(input.values.size()) + ", expected " +
                                   std::to_string(params_.vector_length));
  }
  inputs_[peer] = std::move(input.values);
  return Status::OK();
}

Result<UnmaskRequest> AggregatorSession::CloseInputs() {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kInputs, "(coordinator)", "the end of the input step"));
  if (inputs_.size() < params_.min_survivors) {
    step_ = Step::kDone;
    return Status::FailedPrecondition(Where() + "only " + std::to_string(inputs_.size()) +
                                      " regions sent masked inputs, fewer than " +
                                      std::to_string(params_.min_survivors));
  }
  UnmaskRequest request;
  request.round = params_.round;
  for (const auto& [name, values] : inputs_) request.survivors.push_back(name);
  step_ = Step::kUnmask;
  return request;
}

Status AggregatorSession::AddUnmask(const std::string& peer, UnmaskResponse response) {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kUnmask, peer, "unmasking shares"));
  if (response.region != peer) {
    return Status::PermissionDenied(Where() + peer + " sent unmasking shares in the name of " +
                                    response.region);
  }
  if (!inputs_.count(peer)) {
    return Status::PermissionDenied(Where() + peer +
                                    " sent unmasking shares without a masked input in the sum");
  }
  if (reveals_.count(peer)) {
    return Status::InvalidArgument(Where() + peer + " sent unmasking shares twice");
  }
  const std::vector<std::string> neighbours = NeighboursOf(peer);
  const uint64_t x =
      static_cast<uint64_t>(std::find(roster_names_.begin(), roster_names_.end(), peer) -
                            roster_names_.begin()) +
      1;
  const size_t limbs = ShamirLimbCount(internal::kSecretSize);
  std::set<std::string> seen;
  for (const RevealedShare& r : response.shares) {
    if (!shares_.count(r.owner) ||
        !std::binary_search(neighbours.begin(), neighbours.end(), r.owner)) {
      return Status::InvalidArgument(Where() + peer + " revealed a share of " + r.owner +
                                     ", which is not its neighbour among the regions that shared");
    }
    if (!seen.insert(r.owner).second) {
      return Status::InvalidArgument(Where() + peer + " revealed two shares of " + r.owner);
    }
    if (r.self_mask != (inputs_.count(r.owner) > 0)) {
      return Status::InvalidArgument(Where() + peer + " revealed the wrong kind of share of " +
                                     r.owner);
    }
    if (r.share.x != x || r.share.y.size() != limbs) {
      return Status::InvalidArgument(Where() + peer + " revealed a malformed share of " + r.owner);
    }
  }
  reveals_[peer] = std::move(response.shares);
  return Status::OK();
}

Result<AggregateOutcome> AggregatorSession::Finish() {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kUnmask, "(coordinator)", "the end of the round"));
  step_ = Step::kDone;
  // Shares revealed of each owner, by kind.
  std::map<std::string, std::vector<ShamirShare>> self_mask_shares, mask_key_shares;
  for (const auto& [responder, revealed] : reveals_) {
    for (const RevealedShare& r : revealed) {
      (r.self_mask ? self_mask_shares : mask_key_shares)[r.owner].push_back(r.share);
    }
  }
  auto combine = [&](const std::string& owner, const std::vector<ShamirShare>& shares,
                     const char* what) -> Result<SymmetricKey> {
    const int threshold = ShareThreshold(NeighboursOf(owner).size(), params_);
    if (shares.size() < static_cast<size_t>(threshold)) {
      return Status::FailedPrecondition(Where() + "only " + std::to_string(shares.size()) +
                                        " shares of " + owner + "'s " + what + " arrived, " +
                                        std::to_string(threshold) + " are needed");
    }
    Result<std::vector<uint8_t>> secret = ShamirCombine(shares, threshold, internal::kSecretSize);
    if (!secret.ok()) {
      return Status::Corruption(Where() + "the shares of " + owner + "'s " + what +
                                " do not agree: " + secret.status().message());
    }
    SymmetricKey key{};
    std::copy(secret->begin(), secret->end(), key.begin());
    OPENSSL_cleanse(secret->data(), secret->size());
    return key;
  };

  AggregateOutcome outcome;
  outcome.sum.assign(params_.vector_length, 0);
  for (const auto& [name, values] : inputs_) {
    for (size_t i = 0; i < values.size(); ++i) outcome.sum[i] += values[i];
    outcome.aggregated.push_back(name);
  }
  for (const std::string& name : roster_names_) {
    if (!inputs_.count(name)) outcome.dropped.push_back(name);
  }

  // Regions that shared their keys but whose input is missing: remove the pairwise masks the
  // survivors added with them.
  for (const auto& [dropped, envelopes] : shares_) {
    if (inputs_.count(dropped)) continue;
    std::vector<std::string> partners;
    for (const std::string& n : NeighboursOf(dropped)) {
      if (inputs_.count(n)) partners.push_back(n);
    }
    if (partners.empty()) continue;
    FEDSEG_ASSIGN_OR_RETURN(SymmetricKey private_key,
                            combine(dropped, mask_key_shares[dropped], "mask key"));
    Result<X25519Key> public_key = X25519PublicKey(private_key);
    if (!public_key.ok() || *public_key != keys_[dropped].mask_public_key) {
      return Status::Corruption(Where() + "the reconstructed mask key of " + dropped +
                                " does not match the key it advertised");
    }
    FEDSEG_ASSIGN_OR_RETURN(X25519Agreement agreement, X25519Agreement::Create(private_key));
    for (const std::string& partner : partners) {
      FEDSEG_ASSIGN_OR_RETURN(SymmetricKey seed,
                              agreement.Derive(keys_[partner].mask_public_key,
                                               MaskLabel(params_.round, dropped, partner)));
      // The partner added the pair's mask if its name sorts first: undo what it did.
      FEDSEG_RETURN_IF_ERROR(
          ApplyMask(seed, partner < dropped ? MaskSign::kSubtract : MaskSign::kAdd, outcome.sum));
    }
    OPENSSL_cleanse(private_key.data(), private_key.size());
  }
  // Survivors: remove their self masks.
  for (const auto& [survivor, values] : inputs_) {
    FEDSEG_ASSIGN_OR_RETURN(SymmetricKey seed,
                            combine(survivor, self_mask_shares[survivor], "self-mask seed"));
    FEDSEG_RETURN_IF_ERROR(ApplyMask(seed, MaskSign::kSubtract, outcome.sum));
    OPENSSL_cleanse(seed.data(), seed.size());
  }
  return outcome;
}

}  // namespace fedseg::privacy::secagg
