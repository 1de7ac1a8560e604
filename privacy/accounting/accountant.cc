#include "privacy/accounting/accountant.h"

#include <utility>

#include "privacy/accounting/number_format.h"

namespace fedseg::privacy {

std::string AccountantName(AccountantKind kind) {
  return kind == AccountantKind::kPld ? "pld" : "rdp";
}

Result<AccountantKind> ParseAccountantKind(std::string_view text) {
  if (text == "pld") return AccountantKind::kPld;
  if (text == "rdp") return AccountantKind::kRdp;
  return Status::InvalidArgument("accountant must be \"pld\" or \"rdp\", got \"" +
                                 std::string(text.substr(0, 64)) + "\"");
}

Result<EpsilonResult> ComputeEpsilon(AccountantKind kind, double q, double noise_multiplier,
                                     int64_t steps, double delta) {
  if (kind == AccountantKind::kRdp) return ComputeEpsilon(q, noise_multiplier, steps, delta);
  FEDSEG_ASSIGN_OR_RETURN(double epsilon, ComputePldEpsilon(q, noise_multiplier, steps, delta));
  return EpsilonResult{epsilon, 0.0};
}

Status Accountant::AddSampledGaussian(double q, double noise_multiplier, int64_t steps) {
  // Both validate the same parameters with the same checks, so either both add or neither does.
  PldAccountant pld = pld_;
  FEDSEG_RETURN_IF_ERROR(pld.AddSampledGaussian(q, noise_multiplier, steps));
  FEDSEG_RETURN_IF_ERROR(rdp_.AddSampledGaussian(q, noise_multiplier, steps));
  pld_ = std::move(pld);
  return Status::OK();
}

Status Accountant::AddGaussian(double noise_multiplier, int64_t count) {
  return AddSampledGaussian(1.0, noise_multiplier, count);
}

Status Accountant::AddDelta(double delta) {
  if (!(delta > 0.0 && delta < 1.0)) {
    return Status::InvalidArgument("an added delta must be in (0, 1), got " +
                                   FormatShortest(delta));
  }
  added_delta_ += delta;
  return Status::OK();
}

Result<EpsilonResult> Accountant::GetEpsilon(AccountantKind kind, double delta) const {
  double rest = delta;
  if (added_delta_ > 0.0) {
    // Rather a clear error than a silently different guarantee: the caller states epsilon at
    // `delta`, and partition selection already took `added_delta_` of it.
    if (!(added_delta_ < delta)) {
      return Status::ResourceExhausted(
          "delta " + FormatShortest(delta) + " is used up: partition selection took " +
          FormatShortest(added_delta_) + " of it, leaving nothing for the Gaussian mechanisms");
    }
    rest = delta - added_delta_;
  }
  if (kind == AccountantKind::kRdp) return rdp_.GetEpsilon(rest);
  FEDSEG_ASSIGN_OR_RETURN(double epsilon, pld_.GetEpsilon(rest));
  return EpsilonResult{epsilon, 0.0};
}

}  // namespace fedseg::privacy
