// The checked parameters of DP-SGD (Abadi et al. 2016, Algorithm 1): clip norm C, noise multiplier
// sigma and, once a region knows its data, the Poisson sampling rate q and the number of steps.
// Validated once, with the same messages wherever they come from (the coordinator's config, a
// Setup message's plan, a DpSgdConfig); a DpSgdParams that exists is valid.
#ifndef FEDSEG_PRIVACY_DPSGD_DP_SGD_PARAMS_H_
#define FEDSEG_PRIVACY_DPSGD_DP_SGD_PARAMS_H_

#include <cstdint>

#include "common/base/status.h"

namespace fedseg::privacy {

class DpSgdParams {
 public:
  // clip_norm C: every example's gradient is scaled to at most this L2 norm; finite and positive.
  // noise_multiplier sigma: the noise standard deviation in units of C; finite and >= 0 (0 = no
  // noise: no privacy, or "calibrate to the budget" in a training plan). Sampling rate 1, 0 steps.
  static Result<DpSgdParams> Create(double clip_norm, double noise_multiplier);
  // The same parameters with the Poisson sampling rate q (finite, in (0, 1]) and the number of
  // optimizer steps (>= 0) of one run.
  Result<DpSgdParams> WithSampling(double sampling_rate, int64_t steps) const;

  // The single checks behind Create and WithSampling, for callers that hold one loose value
  // (messages: "clip_norm must be finite and positive, got 0").
  static Status CheckClipNorm(double clip_norm);
  static Status CheckNoiseMultiplier(double noise_multiplier);
  static Status CheckSamplingRate(double sampling_rate);
  static Status CheckSteps(int64_t steps);

  double clip_norm() const { return clip_norm_; }
  double noise_multiplier() const { return noise_multiplier_; }
  double sampling_rate() const { return sampling_rate_; }
  int64_t steps() const { return steps_; }

 private:
  DpSgdParams(double clip_norm, double noise_multiplier)
      : clip_norm_(clip_norm), noise_multiplier_(noise_multiplier) {}

  double clip_norm_;
  double noise_multiplier_;
  double sampling_rate_ = 1.0;
  int64_t steps_ = 0;
};

}  // namespace fedseg::privacy

#endif  // FEDSEG_PRIVACY_DPSGD_DP_SGD_PARAMS_H_
