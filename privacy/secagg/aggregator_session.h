// The coordinator's side of one secure-aggregation round (protocol.h): it relays keys and sealed
// shares it cannot read, collects the masked inputs, asks the survivors for the shares it needs,
// and removes the masks of the sum. It never holds a region's unmasked input: what it reconstructs
// is the self-mask seed of each survivor (whose pairwise masks stay) and the mask private key of
// each dropped region (whose masked input is not in the sum), never both for one region.
//
// Each Add* call takes the identity of the authenticated peer that sent the message (from its TLS
// certificate) and refuses a message about anyone else, for an unknown region or another round,
// sent twice, or malformed. Close* ends a step; it fails (and the round with it) when fewer than
// min_survivors regions are left.
#ifndef FEDSEG_PRIVACY_SECAGG_AGGREGATOR_SESSION_H_
#define FEDSEG_PRIVACY_SECAGG_AGGREGATOR_SESSION_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "privacy/secagg/protocol.h"

namespace fedseg::privacy::secagg {

struct AggregateOutcome {
  std::vector<uint32_t> sum;            // the ring sum of the aggregated regions' inputs
  std::vector<std::string> aggregated;  // U3
  std::vector<std::string> dropped;     // U1 \ U3, for the round's report
};

class AggregatorSession {
 public:
  // `run_id`: the run the keys must be signed for (the coordinator's own).
  static Result<AggregatorSession> Create(std::string run_id, SecAggParams params);

  const SecAggParams& params() const { return params_; }

  // Step 0. `verify` checks the signature (the coordinator relays only signed keys).
  Status AddKeys(const std::string& peer, AdvertiseKeys keys, const VerifyFn& verify);
  Result<KeyRoster> CloseKeys();

  // Step 1: one envelope for each of the peer's neighbours in the roster, none twice.
  Status AddShares(const std::string& peer, std::vector<ShareEnvelope> envelopes);
  // What to forward: for each region of U2, the envelopes addressed to it by other members of U2.
  Result<std::map<std::string, std::vector<ShareEnvelope>>> CloseShares();

  // Step 2.
  Status AddMaskedInput(const std::string& peer, MaskedInput input);
  Result<UnmaskRequest> CloseInputs();

  // Step 3: a share of each neighbour in U2, of the right kind (self mask for survivors).
  Status AddUnmask(const std::string& peer, UnmaskResponse response);
  // Reconstructs what it needs and returns the unmasked sum. Fails when some secret has fewer
  // shares than its threshold, or a reconstructed mask key does not match the advertised one.
  Result<AggregateOutcome> Finish();

 private:
  enum class Step { kKeys, kShares, kInputs, kUnmask, kDone };

  AggregatorSession(std::string run_id, SecAggParams params)
      : run_id_(std::move(run_id)), params_(params) {}
  Status Expect(Step step, const std::string& peer, const char* what) const;
  std::string Where() const;
  std::vector<std::string> NeighboursOf(const std::string& region) const;

  std::string run_id_;
  SecAggParams params_;
  Step step_ = Step::kKeys;
  std::map<std::string, AdvertiseKeys> keys_;                  // U1 once closed
  std::vector<std::string> roster_names_;                      // sorted U1
  std::map<std::string, std::vector<ShareEnvelope>> shares_;   // U2: by sender
  std::map<std::string, std::vector<uint32_t>> inputs_;        // U3: by sender
  std::map<std::string, std::vector<RevealedShare>> reveals_;  // by responder
};

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_AGGREGATOR_SESSION_H_
