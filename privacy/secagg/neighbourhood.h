// The default neighbourhood size of secure aggregation: the complete graph for small federations,
// for larger ones the smallest SecAgg+ degree k (a random k-regular Harary graph, Bell et al.,
// "Secure Single-Server Aggregation with (Poly)Logarithmic Overhead", CCS 2020, section 4 and
// appendix) whose Shamir threshold t = ShareThreshold(k) keeps the round both private and live
// under stated assumptions about the regions:
//
//   - at most a fraction `colluding` of the n regions collude with the coordinator, and at most a
//     fraction `dropout` of them drop out during the round, neither chosen with knowledge of the
//     graph (it is drawn from a public seed after the regions are selected);
//   - security (statistical parameter 40): the probability that some region has t or more
//     colluding neighbours (who could then rebuild its secrets) is at most 2^-41 (a union bound
//     over the n regions of the hypergeometric tail), and so is the probability that removing the
//     colluding and dropped regions disconnects the graph (which would reveal partial sums): a
//     Harary graph only breaks where k/2 consecutive ring positions are removed at two places;
//   - correctness (parameter 20): the probability that some region keeps fewer than t surviving
//     neighbours, so its secret cannot be rebuilt and the round fails, is at most 2^-20.
//
// These are the bounds of Bell et al.'s parameter choice (also those of Google's open-source
// SecAgg+ implementation), here with the threshold fixed by threshold_fraction instead of chosen.
// k grows as O(log n) for fixed fractions: 58 at 100 regions, 90 at 200, 166 at 1,000, 222 at
// 10,000 with the defaults (dropout 0.3, colluding 0.2, threshold fraction 0.5).
#ifndef FEDSEG_PRIVACY_SECAGG_NEIGHBOURHOOD_H_
#define FEDSEG_PRIVACY_SECAGG_NEIGHBOURHOOD_H_

#include <cstddef>
#include <cstdint>

namespace fedseg::privacy::secagg {

// Up to this many regions the default is the complete graph: there SecAgg+ would still need about
// 60% of the others as neighbours (k = 38 of 63 at 64 regions), the complete graph costs each
// region no more neighbours than SecAgg+ needs at 100 regions (58), and its guarantees are not
// statistical: any t - 1 colluders and any n - 1 - t dropped neighbours, whatever they are.
inline constexpr size_t kCompleteGraphUpTo = 64;

struct NeighbourhoodAssumptions {
  double dropout = 0.3;    // fraction of a round's regions that may drop out, in [0, 1)
  double colluding = 0.2;  // fraction that may collude with the coordinator, in [0, 1)
  double threshold_fraction = 0.5;
};

// The neighbours per region for a round of `regions` regions: 0 (complete graph) up to
// kCompleteGraphUpTo regions, else the smallest even k < regions - 1 meeting the bounds above, or
// 0 when there is none (then only the complete graph is safe and live).
uint32_t DefaultNeighbours(size_t regions, const NeighbourhoodAssumptions& assumptions);

// Whether k neighbours (even, 0 < k < regions - 1) meet the bounds above for `regions` regions.
bool NeighboursMeetBounds(size_t regions, uint32_t k, const NeighbourhoodAssumptions& assumptions);

}  // namespace fedseg::privacy::secagg

#endif  // FEDSEG_PRIVACY_SECAGG_NEIGHBOURHOOD_H_
