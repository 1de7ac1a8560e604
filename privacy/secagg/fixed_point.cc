#include "privacy/secagg/fixed_point.h"

#include <cmath>
#include <cstring>
#include <string>

namespace fedseg::privacy::secagg {

Result<FixedPointCodec> FixedPointCodec::Create(double sum_bound, uint32_t parties) {
  if (!(sum_bound > 0) || !std::isfinite(sum_bound)) {
    return Status::InvalidArgument("secure aggregation: the sum bound must be positive and finite");
  }
  if (parties == 0) {
    return Status::InvalidArgument("secure aggregation: at least one party is needed");
  }
  constexpr double kLimit = 2147483648.0;  // 2^31
  int k = 62;
  while (k > 0 && std::ldexp(sum_bound, k) + parties >= kLimit) --k;
  if (k < 1) {
    return Status::InvalidArgument("secure aggregation: a sum bound of " +
                                   std::to_string(sum_bound) + " over " + std::to_string(parties) +
                                   " parties leaves no fixed-point resolution in 32 bits");
  }
  return FixedPointCodec(k, sum_bound, parties);
}

double FixedPointCodec::ErrorBound() const { return std::ldexp(double(parties_), -scale_bits_); }

Result<std::vector<uint32_t>> FixedPointCodec::Encode(std::span<const float> values,
                                                      const RandomBytes& random) const {
  std::vector<uint64_t> uniforms(values.size());
  FEDSEG_RETURN_IF_ERROR(random(std::span<uint8_t>(reinterpret_cast<uint8_t*>(uniforms.data()),
                                                   uniforms.size() * sizeof(uint64_t))));
  std::vector<uint32_t> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!std::isfinite(v) || std::fabs(v) > sum_bound_) {
      return Status::InvalidArgument(
          "secure aggregation: value " + std::to_string(v) + " at index " + std::to_string(i) +
          " is outside the encodable range +-" + std::to_string(sum_bound_));
    }
    const double scaled = std::ldexp(v, scale_bits_);  // exact: a power-of-two scale
    const double floor = std::floor(scaled);
    const double u = double(uniforms[i] >> 11) * 0x1.0p-53;  // uniform in [0, 1)
    const int64_t rounded = static_cast<int64_t>(floor) + (u < scaled - floor ? 1 : 0);
    out[i] = static_cast<uint32_t>(rounded);  // two's complement modulo 2^32
  }
  std::memset(uniforms.data(), 0, uniforms.size() * sizeof(uint64_t));
  return out;
}

std::vector<double> FixedPointCodec::DecodeSum(std::span<const uint32_t> sum) const {
  std::vector<double> out(sum.size());
  for (size_t i = 0; i < sum.size(); ++i) {
    out[i] = std::ldexp(double(static_cast<int32_t>(sum[i])), -scale_bits_);
  }
  return out;
}

}  // namespace fedseg::privacy::secagg
