#include "privacy/dpsgd/dp_sgd_params.h"

#include <cmath>
#include <string>

namespace fedseg::privacy {
namespace {

std::string Got(double v) { return ", got " + std::to_string(v); }

}  // namespace

Status DpSgdParams::CheckClipNorm(double clip_norm) {
  if (!(std::isfinite(clip_norm) && clip_norm > 0)) {
    return Status::InvalidArgument("clip_norm must be finite and positive" + Got(clip_norm));
  }
  return Status::OK();
}

Status DpSgdParams::CheckNoiseMultiplier(double noise_multiplier) {
  if (!(std::isfinite(noise_multiplier) && noise_multiplier >= 0)) {
    return Status::InvalidArgument("noise_multiplier must be finite and >= 0" +
                                   Got(noise_multiplier));
  }
  return Status::OK();
}

Status DpSgdParams::CheckSamplingRate(double sampling_rate) {
  if (!(std::isfinite(sampling_rate) && sampling_rate > 0 && sampling_rate <= 1)) {
    return Status::InvalidArgument("sampling_rate must be finite and in (0, 1]" +
                                   Got(sampling_rate));
  }
  return Status::OK();
}

Status DpSgdParams::CheckSteps(int64_t steps) {
  if (steps < 0) return Status::InvalidArgument("steps must be >= 0, got " + std::to_string(steps));
  return Status::OK();
}

Result<DpSgdParams> DpSgdParams::Create(double clip_norm, double noise_multiplier) {
  FEDSEG_RETURN_IF_ERROR(CheckClipNorm(clip_norm));
  FEDSEG_RETURN_IF_ERROR(CheckNoiseMultiplier(noise_multiplier));
  return DpSgdParams(clip_norm, noise_multiplier);
}

Result<DpSgdParams> DpSgdParams::WithSampling(double sampling_rate, int64_t steps) const {
  FEDSEG_RETURN_IF_ERROR(CheckSamplingRate(sampling_rate));
  FEDSEG_RETURN_IF_ERROR(CheckSteps(steps));
  DpSgdParams p = *this;
  p.sampling_rate_ = sampling_rate;
  p.steps_ = steps;
  return p;
}

}  // namespace fedseg::privacy
