// Composition of discrete privacy-loss distributions (pld_pmf.h) by one FFT: the PLD of a
// composition is the convolution of the PLDs (Koskela, Jälkö and Honkela 2020, "Computing Tight
// Differential Privacy Guarantees Using FFT", AISTATS), so `count` copies of each PLD compose as
// the product of their transforms raised to `count`. The result is kept on a window of losses
// chosen by Chernoff bounds; the mass the window leaves out is charged to the infinite loss, so
// the truncation only ever increases delta(eps) (docs/accountant.md).
#ifndef FEDSEG_PRIVACY_ACCOUNTING_INTERNAL_PLD_COMPOSITION_H_
#define FEDSEG_PRIVACY_ACCOUNTING_INTERNAL_PLD_COMPOSITION_H_

#include <cstdint>
#include <vector>

#include "privacy/accounting/internal/pld_pmf.h"

namespace fedseg::privacy::internal {

struct PldComponent {
  const PldPmf* pmf = nullptr;  // all components share one interval
  int64_t count = 1;            // how many times it is composed
};

// The grid indices [lo, hi] outside which the composed finite loss has probability at most
// exp(log_tail) on each side (Chernoff: P[S >= b] <= E[e^{lambda S}] e^{-lambda b}, minimized over
// a few lambda), clipped to the composition's support.
struct PldWindow {
  int64_t lo = 0;
  int64_t hi = 0;
  int64_t size() const { return hi - lo + 1; }
};
PldWindow ComposedWindow(const std::vector<PldComponent>& components, double log_tail);

// The PLD of the composition of every component `count` times, on `window` (ComposedWindow(
// components, log_tail)): an FFT of a power-of-two size >= the window (circular convolution; what
// wraps around is the mass outside the window), every spectrum raised to its count, one inverse
// FFT. The infinity mass is that of the composition plus 2 exp(log_tail), the bound on what the
// window drops or misplaces. Floating-point values below zero are set to zero.
PldPmf ComposePlds(const std::vector<PldComponent>& components, const PldWindow& window,
                   double log_tail);

}  // namespace fedseg::privacy::internal

#endif  // FEDSEG_PRIVACY_ACCOUNTING_INTERNAL_PLD_COMPOSITION_H_
