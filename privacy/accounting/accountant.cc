#include "privacy/accounting/accountant.h"

#include <utility>

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

Result<EpsilonResult> Accountant::GetEpsilon(AccountantKind kind, double delta) const {
  if (kind == AccountantKind::kRdp) return rdp_.GetEpsilon(delta);
  FEDSEG_ASSIGN_OR_RETURN(double epsilon, pld_.GetEpsilon(delta));
  return EpsilonResult{epsilon, 0.0};
}

}  // namespace fedseg::privacy
