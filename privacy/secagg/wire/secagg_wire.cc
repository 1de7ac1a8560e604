#include "privacy/secagg/wire/secagg_wire.h"

#include <algorithm>
#include <cmath>

namespace fedseg::privacy::secagg {
namespace {

Result<X25519Key> WireKey(const std::vector<uint8_t>& bytes, const std::string& region,
                          const char* which) {
  X25519Key key{};
  if (bytes.size() != key.size()) {
    return Status::InvalidArgument("the " + std::string(which) + " key of region '" + region +
                                   "' has " + std::to_string(bytes.size()) + " bytes, not " +
                                   std::to_string(key.size()));
  }
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

}  // namespace

Result<AdvertiseKeys> KeysFromWire(const protocol::SecAggKeysMsg& msg) {
  AdvertiseKeys k;
  k.region = msg.region;
  FEDSEG_ASSIGN_OR_RETURN(k.envelope_public_key,
                          WireKey(msg.envelope_public_key, msg.region, "envelope"));
  FEDSEG_ASSIGN_OR_RETURN(k.mask_public_key, WireKey(msg.mask_public_key, msg.region, "mask"));
  k.signature = msg.signature;
  return k;
}

protocol::SecAggKeysMsg KeysToWire(uint32_t round, const AdvertiseKeys& keys,
                                   std::string certificate_pem) {
  protocol::SecAggKeysMsg m;
  m.round = round;
  m.region = keys.region;
  m.envelope_public_key.assign(keys.envelope_public_key.begin(), keys.envelope_public_key.end());
  m.mask_public_key.assign(keys.mask_public_key.begin(), keys.mask_public_key.end());
  m.signature = keys.signature;
  m.certificate_pem = std::move(certificate_pem);
  return m;
}

Result<KeyRoster> RosterFromWire(const protocol::SecAggRosterMsg& msg) {
  KeyRoster roster;
  roster.params.round = msg.round;
  roster.params.threshold_fraction = msg.threshold_fraction;
  roster.params.neighbours = msg.neighbours;
  roster.params.graph_seed = msg.graph_seed;
  roster.params.min_survivors = msg.min_survivors;
  roster.params.vector_length = msg.vector_length;
  FEDSEG_RETURN_IF_ERROR(CheckSecAggParams(roster.params).WithContext("roster"));
  for (const protocol::SecAggKeysMsg& k : msg.regions) {
    if (k.round != msg.round) {
      return Status::InvalidArgument("roster for round " + std::to_string(msg.round) +
                                     " holds keys of region '" + k.region + "' for round " +
                                     std::to_string(k.round));
    }
    if (k.envelope_public_key.empty() && k.mask_public_key.empty() && k.signature.empty() &&
        k.certificate_pem.empty()) {
      roster.regions.push_back(AdvertiseKeys{k.region, {}, {}, ""});  // a name only (RosterFor)
      continue;
    }
    FEDSEG_ASSIGN_OR_RETURN(AdvertiseKeys keys, KeysFromWire(k));
    roster.regions.push_back(std::move(keys));
  }
  return roster;
}

protocol::SecAggRosterMsg RosterFor(const protocol::SecAggRosterMsg& full,
                                    const std::string& region) {
  SecAggParams params;
  params.neighbours = full.neighbours;
  params.graph_seed = full.graph_seed;
  std::vector<std::string> names;
  names.reserve(full.regions.size());
  for (const protocol::SecAggKeysMsg& k : full.regions) names.push_back(k.region);
  const std::vector<std::string> neighbours = Neighbours(names, region, params);
  if (neighbours.size() + 1 >= names.size()) return full;
  protocol::SecAggRosterMsg out = full;
  out.regions.clear();
  out.regions.reserve(full.regions.size());
  for (const protocol::SecAggKeysMsg& k : full.regions) {
    if (k.region == region || std::binary_search(neighbours.begin(), neighbours.end(), k.region)) {
      out.regions.push_back(k);
    } else {
      protocol::SecAggKeysMsg name_only;
      name_only.round = k.round;
      name_only.region = k.region;
      out.regions.push_back(std::move(name_only));
    }
  }
  return out;
}

std::vector<ShareEnvelope> EnvelopesFromWire(const std::vector<protocol::SecAggEnvelope>& in) {
  std::vector<ShareEnvelope> out;
  out.reserve(in.size());
  for (const auto& e : in) out.push_back(ShareEnvelope{e.from, e.to, e.sealed});
  return out;
}

std::vector<protocol::SecAggEnvelope> EnvelopesToWire(const std::vector<ShareEnvelope>& in) {
  std::vector<protocol::SecAggEnvelope> out;
  out.reserve(in.size());
  for (const auto& e : in) out.push_back(protocol::SecAggEnvelope{e.from, e.to, e.sealed});
  return out;
}

UnmaskResponse UnmaskFromWire(const std::string& region,
                              const protocol::SecAggUnmaskResponseMsg& m) {
  UnmaskResponse r;
  r.region = region;
  for (const auto& s : m.shares) {
    r.shares.push_back(RevealedShare{s.owner, s.self_mask, ShamirShare{s.x, s.y}});
  }
  return r;
}

protocol::SecAggUnmaskResponseMsg UnmaskToWire(uint32_t round, const UnmaskResponse& r) {
  protocol::SecAggUnmaskResponseMsg m;
  m.round = round;
  for (const auto& s : r.shares) {
    m.shares.push_back(protocol::SecAggRevealedShare{s.owner, s.self_mask, s.share.x, s.share.y});
  }
  return m;
}

Result<FixedPointCodec> RoundCodec(double clip_range, size_t parties) {
  if (parties == 0 || parties > (1u << 20)) {
    return Status::InvalidArgument("a secure-aggregation round needs 1 to 2^20 parties, got " +
                                   std::to_string(parties));
  }
  // Every coordinate a party encodes is at most max(clip_range, 1) in magnitude (the weight is at
  // most 1), so the sum of `parties` of them is at most parties times that.
  const double per_party = std::max(clip_range, 1.0);
  return FixedPointCodec::Create(per_party * static_cast<double>(parties),
                                 static_cast<uint32_t>(parties));
}

Result<std::vector<float>> WeightedClippedInput(std::span<const float> delta, uint64_t examples,
                                                double weight_scale, double clip_range,
                                                size_t* clipped) {
  if (!(weight_scale > 0) || !std::isfinite(weight_scale)) {
    return Status::InvalidArgument("the roster's weight scale must be positive and finite");
  }
  if (!(clip_range > 0) || !std::isfinite(clip_range)) {
    return Status::InvalidArgument("the roster's clip range must be positive and finite");
  }
  const double w = std::min(static_cast<double>(examples) / weight_scale, 1.0);
  const float r = static_cast<float>(clip_range);
  std::vector<float> out(delta.size() + 1);
  size_t n = 0;
  for (size_t i = 0; i < delta.size(); ++i) {
    const float v = delta[i];
    if (!std::isfinite(v)) {
      return Status::InvalidArgument("update value " + std::to_string(i) + " is not finite");
    }
    const float c = std::clamp(v, -r, r);
    n += c != v;
    out[i] = static_cast<float>(w * static_cast<double>(c));
  }
  out.back() = static_cast<float>(w);
  if (clipped != nullptr) *clipped = n;
  return out;
}

Result<Eigen::VectorXf> MeanFromSum(std::span<const double> sum) {
  if (sum.size() < 2) return Status::InvalidArgument("the unmasked sum has no values");
  const double weight = sum.back();
  if (!(weight > 0) || !std::isfinite(weight)) {
    return Status::FailedPrecondition("the unmasked sum's total weight is " +
                                      std::to_string(weight) + ", not positive");
  }
  Eigen::VectorXf mean(static_cast<Eigen::Index>(sum.size() - 1));
  for (size_t i = 0; i + 1 < sum.size(); ++i) {
    mean[static_cast<Eigen::Index>(i)] = static_cast<float>(sum[i] / weight);
  }
  return mean;
}

}  // namespace fedseg::privacy::secagg
