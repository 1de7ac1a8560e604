#include "privacy/secagg/protocol.h"

#include <algorithm>
#include <cmath>

#include "common/base/seed.h"

namespace fedseg::privacy::secagg {
namespace {

// Length-prefixed fields, so no choice of names can make two different tuples encode alike.
void AppendField(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
}

std::string Hex(const X25519Key& key) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : key) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

}  // namespace

Status CheckSecAggParams(const SecAggParams& params) {
  if (!(params.threshold_fraction > 0.0 && params.threshold_fraction <= 1.0)) {
    return Status::InvalidArgument("secure_aggregation.threshold_fraction must be in (0, 1], got " +
                                   std::to_string(params.threshold_fraction));
  }
  if (params.neighbours % 2 != 0) {
    return Status::InvalidArgument("secure_aggregation.neighbours must be even (0 for all), got " +
                                   std::to_string(params.neighbours));
  }
  if (params.min_survivors < 3) {
    return Status::InvalidArgument("secure_aggregation.min_survivors must be at least 3, got " +
                                   std::to_string(params.min_survivors));
  }
  if (params.vector_length == 0 || params.vector_length > (uint64_t{1} << 31)) {
    return Status::InvalidArgument("secure aggregation: vector length " +
                                   std::to_string(params.vector_length) + " is out of range");
  }
  return Status::OK();
}

std::string AdvertisedKeysMessage(std::string_view run_id, uint64_t round,
                                  const AdvertiseKeys& keys) {
  // v2: v1 signed no run id. A new tag, so no v1 signature verifies as a v2 one.
  std::string out = "fedseg-secagg-v2 advertise-keys\n";
  AppendField(out, run_id);
  AppendField(out, std::to_string(round));
  AppendField(out, keys.region);
  AppendField(out, Hex(keys.envelope_public_key));
  AppendField(out, Hex(keys.mask_public_key));
  return out;
}

std::vector<std::string> Neighbours(const std::vector<std::string>& regions,
                                    const std::string& self, const SecAggParams& params) {
  const size_t n = regions.size();
  std::vector<std::string> out;
  if (params.neighbours == 0 || params.neighbours + 1 >= n) {
    for (const std::string& r : regions) {
      if (r != self) out.push_back(r);
    }
    return out;
  }
  // A ring in an order shuffled by the public graph seed (Fisher-Yates on a splitmix64 stream).
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  uint64_t state = params.graph_seed;
  for (size_t i = n - 1; i > 0; --i) {
    state = Mix64(state + 0x9E3779B97F4A7C15ull);
    std::swap(order[i], order[state % (i + 1)]);
  }
  const auto it = std::find(regions.begin(), regions.end(), self);
  if (it == regions.end()) return out;
  const size_t index = static_cast<size_t>(it - regions.begin());
  const size_t position =
      static_cast<size_t>(std::find(order.begin(), order.end(), index) - order.begin());
  const size_t half = params.neighbours / 2;
  for (size_t step = 1; step <= half; ++step) {
    out.push_back(regions[order[(position + step) % n]]);
    out.push_back(regions[order[(position + n - step) % n]]);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int ShareThreshold(size_t neighbour_count, const SecAggParams& params) {
  if (neighbour_count <= 1) return static_cast<int>(neighbour_count);
  const int wanted =
      static_cast<int>(std::ceil(params.threshold_fraction * double(neighbour_count)));
  return std::clamp(wanted, 2, static_cast<int>(neighbour_count));
}

std::string MaskLabel(uint64_t round, const std::string& a, const std::string& b) {
  std::string out = "fedseg-secagg-v1 pairwise-mask\n";
  AppendField(out, std::to_string(round));
  AppendField(out, std::min(a, b));
  AppendField(out, std::max(a, b));
  return out;
}

std::string EnvelopeLabel(uint64_t round, const std::string& from, const std::string& to) {
  std::string out = "fedseg-secagg-v1 share-envelope\n";
  AppendField(out, std::to_string(round));
  AppendField(out, from);
  AppendField(out, to);
  return out;
}

}  // namespace fedseg::privacy::secagg
