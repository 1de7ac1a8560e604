#include "privacy/secagg/region_session.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "privacy/secagg/envelope.h"
#include "privacy/secagg/internal/share_plaintext.h"
#include "privacy/secagg/mask.h"

namespace fedseg::privacy::secagg {
namespace {

const char* StepName(int step) {
  static const char* kNames[] = {"Advertise", "ShareKeys", "MaskInput", "Unmask", "(finished)"};
  return kNames[step];
}

}  // namespace

Result<RegionSession> RegionSession::Create(std::string run_id, std::string region, uint64_t round,
                                            RandomBytes random) {
  if (region.empty()) return Status::InvalidArgument("secure aggregation: empty region name");
  if (run_id.empty()) {
    return Status::InvalidArgument("secure aggregation, round " + std::to_string(round) +
                                   ": empty run id for region " + region);
  }
  RegionSession session(std::move(run_id), std::move(region), round, std::move(random));
  FEDSEG_ASSIGN_OR_RETURN(session.envelope_keys_, GenerateX25519KeyPair(session.random_));
  FEDSEG_ASSIGN_OR_RETURN(session.mask_keys_, GenerateX25519KeyPair(session.random_));
  FEDSEG_RETURN_IF_ERROR(session.random_(session.self_mask_seed_));
  FEDSEG_ASSIGN_OR_RETURN(session.envelope_agreement_,
                          X25519Agreement::Create(session.envelope_keys_.private_key));
  FEDSEG_ASSIGN_OR_RETURN(session.mask_agreement_,
                          X25519Agreement::Create(session.mask_keys_.private_key));
  return session;
}

Status RegionSession::Expect(Step step, const char* what) const {
  if (step_ == step) return Status::OK();
  return Status::FailedPrecondition("secure aggregation, round " + std::to_string(round_) + ": " +
                                    what + " arrived while region " + region_ + " expected " +
                                    StepName(static_cast<int>(step_)));
}

Status RegionSession::Fail(Status status) {
  step_ = Step::kDone;  // a broken round is never resumed
  ForgetOpeningKeys();
  envelope_agreement_.reset();
  mask_agreement_.reset();
  OPENSSL_cleanse(mask_keys_.private_key.data(), mask_keys_.private_key.size());
  OPENSSL_cleanse(envelope_keys_.private_key.data(), envelope_keys_.private_key.size());
  OPENSSL_cleanse(self_mask_seed_.data(), self_mask_seed_.size());
  return status;
}

void RegionSession::ForgetOpeningKeys() {
  for (auto& [unused, key] : opening_keys_) OPENSSL_cleanse(key.data(), key.size());
  opening_keys_.clear();
}

Result<AdvertiseKeys> RegionSession::Advertise(const SignFn& sign) {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kAdvertise, "a request for keys"));
  AdvertiseKeys keys;
  keys.region = region_;
  keys.envelope_public_key = envelope_keys_.public_key;
  keys.mask_public_key = mask_keys_.public_key;
  Result<std::string> signature = sign(AdvertisedKeysMessage(run_id_, round_, keys));
  if (!signature.ok()) return Fail(signature.status());
  keys.signature = std::move(signature).value();
  step_ = Step::kShareKeys;
  return keys;
}

Result<std::vector<ShareEnvelope>> RegionSession::ShareKeys(const KeyRoster& roster,
                                                            const VerifyFn& verify) {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kShareKeys, "a key roster"));
  const std::string where = "secure aggregation, round " + std::to_string(round_) + ": ";
  if (roster.params.round != round_) {
    return Fail(Status::InvalidArgument(where + "the key roster is for round " +
                                        std::to_string(roster.params.round)));
  }
  if (Status s = CheckSecAggParams(roster.params); !s.ok()) return Fail(s);
  if (roster.regions.size() < roster.params.min_survivors) {
    return Fail(Status::FailedPrecondition(where + "only " + std::to_string(roster.regions.size()) +
                                           " regions advertised keys, fewer than " +
                                           std::to_string(roster.params.min_survivors)));
  }
  roster_ = roster;
  by_name_.clear();
  std::vector<std::string> names;
  for (const AdvertiseKeys& keys : roster_.regions) {
    if (!names.empty() && keys.region <= names.back()) {
      return Fail(Status::InvalidArgument(where + "the key roster is not sorted or names region " +
                                          keys.region + " twice"));
    }
    names.push_back(keys.region);
    by_name_[keys.region] = names.size() - 1;
    if (keys.region == region_ && (keys.envelope_public_key != envelope_keys_.public_key ||
                                   keys.mask_public_key != mask_keys_.public_key)) {
      return Fail(
          Status::InvalidArgument(where + "the key roster carries other keys for " + region_));
    }
  }
  if (!by_name_.count(region_)) {
    return Fail(Status::InvalidArgument(where + "the key roster leaves out " + region_));
  }
  neighbours_ = Neighbours(names, region_, roster_.params);
  // The keys of its neighbours are the only ones this region uses (its shares are sealed to them,
  // its pairwise masks agreed with them), so only theirs must be signed: as in SecAgg+, where a
  // client is sent no other keys. With the complete graph that is every other region; on a
  // k-regular graph it is k signature checks instead of n (n^2 a round over the federation).
  for (const std::string& n : neighbours_) {
    const AdvertiseKeys& keys = Keys(n);
    if (Status s =
            verify(keys.region, AdvertisedKeysMessage(run_id_, round_, keys), keys.signature);
        !s.ok()) {
      return Fail(
          Status::PermissionDenied(where + "the keys of region " + keys.region +
                                   " are not signed by it for this run and round: " + s.message()));
    }
  }
  std::vector<uint64_t> xs;
  for (const std::string& n : neighbours_) {
    xs.push_back(static_cast<uint64_t>(std::find(names.begin(), names.end(), n) - names.begin()) +
                 1);
  }
  const int threshold = ShareThreshold(neighbours_.size(), roster_.params);
  Result<std::vector<ShamirShare>> key_shares =
      ShamirSplit(mask_keys_.private_key, threshold, xs, random_);
  Result<std::vector<ShamirShare>> seed_shares =
      ShamirSplit(self_mask_seed_, threshold, xs, random_);
  if (!key_shares.ok()) return Fail(key_shares.status());
  if (!seed_shares.ok()) return Fail(seed_shares.status());
  std::vector<ShareEnvelope> out;
  for (size_t i = 0; i < neighbours_.size(); ++i) {
    const std::string& to = neighbours_[i];
    // The key this region seals with and the one its neighbour's envelope opens with come from
    // one agreement of the same two envelope keys; the second is kept for MaskInput.
    Result<std::array<SymmetricKey, 2>> keys =
        envelope_agreement_->Derive(Keys(to).envelope_public_key,
                                    EnvelopeLabel(round_, region_, to),
                                    EnvelopeLabel(round_, to, region_));
    if (!keys.ok()) return Fail(keys.status());
    opening_keys_[to] = (*keys)[1];
    std::vector<uint8_t> plaintext =
        internal::EncodeSharePlaintext((*key_shares)[i], (*seed_shares)[i]);
    Result<std::vector<uint8_t>> sealed =
        SealEnvelope((*keys)[0], EnvelopeLabel(round_, region_, to), plaintext, random_);
    OPENSSL_cleanse((*keys)[0].data(), (*keys)[0].size());
    OPENSSL_cleanse((*keys)[1].data(), (*keys)[1].size());
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    if (!sealed.ok()) return Fail(sealed.status());
    out.push_back({region_, to, std::move(sealed).value()});
  }
  step_ = Step::kMaskInput;
  return out;
}

Result<MaskedInput> RegionSession::MaskInput(const std::vector<ShareEnvelope>& incoming,
                                             std::vector<uint32_t> input) {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kMaskInput, "shares to mask with"));
  const std::string where = "secure aggregation, round " + std::to_string(round_) + ": ";
  if (input.size() != roster_.params.vector_length) {
    return Fail(Status::InvalidArgument(where + "input of length " + std::to_string(input.size()) +
                                        ", the round aggregates vectors of length " +
                                        std::to_string(roster_.params.vector_length)));
  }
  const uint64_t my_x = by_name_.at(region_) + 1;
  held_.clear();
  for (const ShareEnvelope& envelope : incoming) {
    if (envelope.to != region_ ||
        !std::binary_search(neighbours_.begin(), neighbours_.end(), envelope.from)) {
      return Fail(Status::InvalidArgument(where + "a share envelope from " + envelope.from +
                                          " to " + envelope.to + " is not for " + region_ +
                                          " from one of its neighbours"));
    }
    if (held_.count(envelope.from)) {
      return Fail(Status::InvalidArgument(where + "two share envelopes from " + envelope.from));
    }
    // Derived in ShareKeys with the key this region sealed its own shares to envelope.from with.
    const SymmetricKey& key = opening_keys_.at(envelope.from);
    Result<std::vector<uint8_t>> plaintext =
        OpenEnvelope(key, EnvelopeLabel(round_, envelope.from, region_), envelope.sealed);
    if (!plaintext.ok()) {
      return Fail(Status::Corruption(where + "the share envelope from " + envelope.from + ": " +
                                     plaintext.status().message()));
    }
    HeldShares shares;
    Status decoded = internal::DecodeSharePlaintext(*plaintext, shares.mask_key, shares.self_mask);
    OPENSSL_cleanse(plaintext->data(), plaintext->size());
    if (!decoded.ok()) return Fail(decoded);
    if (shares.mask_key.x != my_x) {
      return Fail(Status::Corruption(where + "the shares from " + envelope.from +
                                     " are for another point"));
    }
    held_[envelope.from] = std::move(shares);
  }
  if (held_.size() + 1 < roster_.params.min_survivors) {
    return Fail(Status::FailedPrecondition(where + "shares arrived from only " +
                                           std::to_string(held_.size()) + " neighbours"));
  }
  if (Status s = ApplyMask(self_mask_seed_, MaskSign::kAdd, input); !s.ok()) return Fail(s);
  for (const auto& [other, unused] : held_) {
    Result<SymmetricKey> seed =
        mask_agreement_->Derive(Keys(other).mask_public_key, MaskLabel(round_, region_, other));
    if (!seed.ok()) return Fail(seed.status());
    // The region whose name sorts first adds the pair's mask, the other subtracts it.
    if (Status s = ApplyMask(*seed, region_ < other ? MaskSign::kAdd : MaskSign::kSubtract, input);
        !s.ok()) {
      return Fail(s);
    }
  }
  ForgetOpeningKeys();  // every envelope of the round is open
  step_ = Step::kUnmask;
  return MaskedInput{region_, std::move(input)};
}

Result<UnmaskResponse> RegionSession::Unmask(const UnmaskRequest& request) {
  FEDSEG_RETURN_IF_ERROR(Expect(Step::kUnmask, "an unmasking request"));
  const std::string where = "secure aggregation, round " + std::to_string(round_) + ": ";
  if (request.round != round_) {
    return Fail(Status::InvalidArgument(where + "the unmasking request is for round " +
                                        std::to_string(request.round)));
  }
  if (request.survivors.size() < roster_.params.min_survivors) {
    return Fail(Status::FailedPrecondition(
        where + "only " + std::to_string(request.survivors.size()) +
        " regions sent masked inputs, fewer than " + std::to_string(roster_.params.min_survivors)));
  }
  std::set<std::string> survivors;
  for (const std::string& s : request.survivors) {
    if (!by_name_.count(s)) {
      return Fail(Status::InvalidArgument(where + "the survivors name " + s +
                                          ", which never advertised keys"));
    }
    if (s != region_ && std::binary_search(neighbours_.begin(), neighbours_.end(), s) &&
        !held_.count(s)) {
      return Fail(Status::InvalidArgument(where + "the survivors name " + s +
                                          ", which never sent its shares"));
    }
    if (!survivors.insert(s).second) {
      return Fail(Status::InvalidArgument(where + "the survivors name " + s + " twice"));
    }
  }
  if (!survivors.count(region_)) {
    return Fail(Status::InvalidArgument(where + "the survivors leave out " + region_ +
                                        ", whose masked input was sent"));
  }
  UnmaskResponse response;
  response.region = region_;
  for (const auto& [owner, shares] : held_) {
    const bool alive = survivors.count(owner) > 0;
    // Never both shares of one region: a survivor's mask key would expose its pairwise masks, a
    // dropped region's self mask is not in the sum.
    response.shares.push_back({owner, alive, alive ? shares.self_mask : shares.mask_key});
  }
  step_ = Step::kDone;
  ForgetOpeningKeys();
  envelope_agreement_.reset();
  mask_agreement_.reset();
  OPENSSL_cleanse(mask_keys_.private_key.data(), mask_keys_.private_key.size());
  OPENSSL_cleanse(envelope_keys_.private_key.data(), envelope_keys_.private_key.size());
  OPENSSL_cleanse(self_mask_seed_.data(), self_mask_seed_.size());
  return response;
}

}  // namespace fedseg::privacy::secagg
