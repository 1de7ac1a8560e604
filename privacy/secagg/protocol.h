// The messages, parameters and neighbourhoods of one secure-aggregation round (Bonawitz et al.,
// "Practical Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017, semi-honest
// variant; Bell et al., "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead", CCS
// 2020, for the sparse neighbourhoods). The flow, with U1 ⊇ U2 ⊇ U3 the regions still present
// after each step:
//
//   0. AdvertiseKeys   region -> coordinator: two fresh X25519 public keys (one keys the envelopes
//                      of its shares, one the pairwise masks), signed with its identity key for
//                      this run and round.
//      KeyRoster       coordinator -> regions: every advertised key set (U1), with the parameters.
//   1. ShareKeys       region -> coordinator: for each neighbour, an AES-GCM envelope (readable
//                      only by that neighbour) holding its Shamir shares of the region's mask
//                      private key and of its fresh self-mask seed.
//      (forwarded)     coordinator -> each region: the envelopes addressed to it (from U2).
//   2. MaskedInput     region -> coordinator: its input + self mask + pairwise masks with every
//                      neighbour in U2, in Z/2^32.
//   3. UnmaskRequest   coordinator -> regions: U3, the regions whose masked input arrived.
//      UnmaskResponse  region -> coordinator: for each neighbour in U2, the share of its self-mask
//                      seed if it is in U3, else the share of its mask private key; never both.
//   The coordinator then removes the self masks of U3 and the pairwise masks of U2 \ U3 and holds
//   the sum of U3's inputs, and nothing else (see docs/secure-aggregation.md).
#ifndef FEDSEG_PRIVACY_SECAGG_PROTOCOL_H_
#define FEDSEG_PRIVACY_SECAGG_PROTOCOL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/shamir.h"

namespace fedseg::privacy::secagg {

struct SecAggParams {
  uint64_t round = 0;
  // Each region's secrets are shared among its neighbours, ceil(threshold_fraction * neighbours)
  // of which recover them (at least 2, at most all): the coordinator together with fewer colluding
  // neighbours learns nothing of a region's masks.
  double threshold_fraction = 0.5;
  // 0: every region is every other's neighbour (complete graph, Bonawitz et al.). k > 0: each
  // region has the k (k even) regions nearest to it on a ring shuffled by `graph_seed` (SecAgg+, a
  // random Harary graph), when that is fewer than all of them.
  uint32_t neighbours = 0;
  uint64_t graph_seed = 0;
  // The round fails cleanly when fewer regions than this remain at any step (at least 3: with two,
  // each could subtract its own input from the published sum and read the other's).
  uint32_t min_survivors = 3;
  // Length of every masked vector (the encoded update plus its weight).
  uint64_t vector_length = 0;
};

// The parameters are usable: fractions in (0, 1], an even neighbour count, a positive length.
Status CheckSecAggParams(const SecAggParams& params);

struct AdvertiseKeys {
  std::string region;
  X25519Key envelope_public_key{};
  X25519Key mask_public_key{};
  std::string signature;  // by the region's identity key over AdvertisedKeysMessage()
};

// The exact bytes a region signs: a domain-separation tag, the run id, the round, the region and
// both keys, each length-prefixed. The run id (the coordinator's, from Welcome and Setup) keeps
// keys signed in one run from being replayed into a round of the same number in another. There is
// no attempt number: a retried round's keys are fresh, and the envelopes of an earlier attempt
// are sealed to the recipients' earlier keys, so they do not open in a later one.
std::string AdvertisedKeysMessage(std::string_view run_id, uint64_t round,
                                  const AdvertiseKeys& keys);

struct KeyRoster {
  SecAggParams params;
  std::vector<AdvertiseKeys> regions;  // U1, sorted by region name (a region's x is its index + 1)
};

struct ShareEnvelope {
  std::string from;
  std::string to;
  std::vector<uint8_t> sealed;  // SealEnvelope of SharePlaintext
};

struct MaskedInput {
  std::string region;
  std::vector<uint32_t> values;
};

struct UnmaskRequest {
  uint64_t round = 0;
  std::vector<std::string> survivors;  // U3, sorted
};

struct RevealedShare {
  std::string owner;       // whose secret this is a share of
  bool self_mask = false;  // true: of the owner's self-mask seed; false: of its mask private key
  ShamirShare share;
};

struct UnmaskResponse {
  std::string region;
  std::vector<RevealedShare> shares;
};

// Signs a message with the region's identity key, and checks another region's signature (the
// verifier finds that region's certificate, checks it against the federation's CA and that its
// identity is `region`).
using SignFn = std::function<Result<std::string>(std::string_view message)>;
using VerifyFn = std::function<Status(const std::string& region, std::string_view message,
                                      const std::string& signature)>;

// The neighbours of `self` among `regions` (sorted, distinct) under `params` (sorted by name, never
// `self`). Symmetric: b is a's neighbour iff a is b's.
std::vector<std::string> Neighbours(const std::vector<std::string>& regions,
                                    const std::string& self, const SecAggParams& params);

// How many of `neighbour_count` share holders recover a secret.
int ShareThreshold(size_t neighbour_count, const SecAggParams& params);

// Key-derivation labels and envelope associated data (round and both parties, so nothing can be
// replayed into another round or redirected to another pair).
std::string MaskLabel(uint64_t round, const std::string& a, const std::string& b);
std::string EnvelopeLabel(uint64_t round, const std::string& from, const std::string& to);

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_PROTOCOL_H_
