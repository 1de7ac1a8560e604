// A region's side of one secure-aggregation round (protocol.h). One object per round; its methods
// must be called in order (Advertise, ShareKeys, MaskInput, Unmask), each at most once, and any
// message that breaks the protocol is refused with a reason. Its secrets (the two private keys and
// the self-mask seed) never leave it except as Shamir shares sealed for its neighbours.
#ifndef FEDSEG_PRIVACY_SECAGG_REGION_SESSION_H_
#define FEDSEG_PRIVACY_SECAGG_REGION_SESSION_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "privacy/secagg/protocol.h"
#include "privacy/secagg/random_bytes.h"

namespace fedseg::privacy::secagg {

class RegionSession {
 public:
  // Fresh key pairs and self-mask seed for `round` of run `run_id` (the run id the region got in
  // Setup: it signs its own keys for it and accepts only other regions' keys signed for it).
  static Result<RegionSession> Create(std::string run_id, std::string region, uint64_t round,
                                      RandomBytes random);

  const std::string& region() const { return region_; }

  // Step 0: the two public keys, signed.
  Result<AdvertiseKeys> Advertise(const SignFn& sign);

  // Step 1: checks the roster (this round, this region's own keys in it, its neighbours' key sets
  // signed by their regions for this run and round, names unique and sorted, enough regions) and
  // seals Shamir shares of the mask private key and self-mask seed for each neighbour.
  Result<std::vector<ShareEnvelope>> ShareKeys(const KeyRoster& roster, const VerifyFn& verify);

  // Step 2: opens the envelopes addressed to this region (its neighbours in U2) and returns
  // `input` + self mask + pairwise masks with each of them. `input` must have the roster's length.
  Result<MaskedInput> MaskInput(const std::vector<ShareEnvelope>& incoming,
                                std::vector<uint32_t> input);

  // Step 3: for each neighbour whose envelope arrived: the self-mask share if it is in U3, the
  // mask-key share if not. Refuses a U3 that is too small, lacks this region, or names a region
  // that never shared its keys.
  Result<UnmaskResponse> Unmask(const UnmaskRequest& request);

 private:
  enum class Step { kAdvertise, kShareKeys, kMaskInput, kUnmask, kDone };
  struct HeldShares {
    ShamirShare mask_key;
    ShamirShare self_mask;
  };

  RegionSession(std::string run_id, std::string region, uint64_t round, RandomBytes random)
      : run_id_(std::move(run_id)),
        region_(std::move(region)),
        round_(round),
        random_(std::move(random)) {}
  Status Expect(Step step, const char* what) const;
  Status Fail(Status status);
  void ForgetOpeningKeys();

  std::string run_id_;
  std::string region_;
  uint64_t round_;
  RandomBytes random_;
  Step step_ = Step::kAdvertise;
  X25519KeyPair envelope_keys_;
  X25519KeyPair mask_keys_;
  // The two private keys loaded once for the round's agreements with every neighbour.
  std::optional<X25519Agreement> envelope_agreement_;
  std::optional<X25519Agreement> mask_agreement_;
  SymmetricKey self_mask_seed_{};
  KeyRoster roster_;
  std::map<std::string, size_t> by_name_;  // index in roster_.regions
  const AdvertiseKeys& Keys(const std::string& name) const {
    return roster_.regions[by_name_.at(name)];
  }
  std::vector<std::string> neighbours_;
  std::map<std::string, HeldShares> held_;  // by owner: the shares its envelope gave this region
  // By neighbour: the key its envelope to this region opens with (wiped when the round ends).
  std::map<std::string, SymmetricKey> opening_keys_;
};

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_REGION_SESSION_H_
