// Secure aggregation on the federation's wire: conversions between the protocol's messages
// (common/protocol/messages.h, SecAgg*) and the secagg library's types, and the one definition of
// what a region puts in its masked vector and how the coordinator reads the sum back. Used by
// both the region (client/) and the coordinator, so the two cannot drift apart.
//
// The masked vector of a region with delta d (P values) and example count n is
//   [w · clip(d_1), ..., w · clip(d_P), w],  w = min(n / weight_scale, 1),
// clip(v) = max(-clip_range, min(clip_range, v)), encoded by a FixedPointCodec for the roster's
// |U1| parties and a per-party bound max(clip_range, 1). The coordinator decodes the sum S and
// takes S_1..P / S_{P+1}: the example-weighted mean of the clipped deltas (FedAvg's mean).
#ifndef FEDSEG_PRIVACY_SECAGG_WIRE_SECAGG_WIRE_H_
#define FEDSEG_PRIVACY_SECAGG_WIRE_SECAGG_WIRE_H_

#include <Eigen/Dense>
#include <span>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/protocol/messages.h"
#include "privacy/secagg/fixed_point.h"
#include "privacy/secagg/protocol.h"

namespace fedseg::privacy::secagg {

Result<AdvertiseKeys> KeysFromWire(const protocol::SecAggKeysMsg& msg);
protocol::SecAggKeysMsg KeysToWire(uint32_t round, const AdvertiseKeys& keys,
                                   std::string certificate_pem);

// The roster's parameters and keys; refuses keys of the wrong size. A record with no keys, no
// signature and no certificate only names a region (NameOnlyRecord): its keys are left zero, and a
// region refuses such a record for one of its neighbours (its signature does not verify).
Result<KeyRoster> RosterFromWire(const protocol::SecAggRosterMsg& msg);

// The roster the coordinator sends `region`: every record of U1 (`full`, sorted by name), but for
// the regions that are not its neighbours only their names. With SecAgg+ a region uses its k
// neighbours' keys and needs the other names only for the graph and the share points; the full
// roster to every region is O(n^2) bytes a round (about 0.9 GB for 1,000 regions). With the
// complete graph it is `full`.
protocol::SecAggRosterMsg RosterFor(const protocol::SecAggRosterMsg& full,
                                    const std::string& region);

std::vector<ShareEnvelope> EnvelopesFromWire(const std::vector<protocol::SecAggEnvelope>& in);
std::vector<protocol::SecAggEnvelope> EnvelopesToWire(const std::vector<ShareEnvelope>& in);

UnmaskResponse UnmaskFromWire(const std::string& region,
                              const protocol::SecAggUnmaskResponseMsg& m);
protocol::SecAggUnmaskResponseMsg UnmaskToWire(uint32_t round, const UnmaskResponse& r);

// The codec of a round with `parties` regions in its roster.
Result<FixedPointCodec> RoundCodec(double clip_range, size_t parties);

// The region's plaintext vector (above); `clipped` gets the number of clipped coordinates.
Result<std::vector<float>> WeightedClippedInput(std::span<const float> delta, uint64_t examples,
                                                double weight_scale, double clip_range,
                                                size_t* clipped);

// The example-weighted mean delta from the decoded sum; fails when the weight sum is not positive.
Result<Eigen::VectorXf> MeanFromSum(std::span<const double> sum);

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_WIRE_SECAGG_WIRE_H_
