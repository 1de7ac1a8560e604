#include "privacy/accounting/pld_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "privacy/accounting/internal/pld_composition.h"
#include "privacy/accounting/internal/pld_pmf.h"
#include "privacy/accounting/number_format.h"
#include "privacy/accounting/parameter_checks.h"

namespace fedseg::privacy {
namespace {

using internal::ComposedWindow;
using internal::ComposePlds;
using internal::DiscretizeSampledGaussian;
using internal::PldComponent;
using internal::PldDirection;
using internal::PldPmf;

constexpr double kMinInterval = 1e-6;
constexpr double kMaxInterval = 1.0;
// Epsilon is rounded up by this relative margin, for the rounding of the final logarithm and sums.
constexpr double kPldRelativeMargin = 1e-9;

Status CheckOptions(const PldOptions& o) {
  if (!(o.interval >= kMinInterval && o.interval <= kMaxInterval)) {
    return Status::InvalidArgument("PLD interval must be in [" + FormatShortest(kMinInterval) +
                                   ", " + FormatShortest(kMaxInterval) + "], got " +
                                   FormatShortest(o.interval));
  }
  return Status::OK();
}

// An upper bound on the width of one step's loss range.
double StepLossSpan(double sigma) {
  const double z = std::sqrt(-2.0 * kPldLogTailMass);
  // The loss +-log(1 - q + q exp((2x - 1) / (2 s^2))) has slope at most 1 / s^2 in x, over the
  // truncated noise [-z s, 1 + z s].
  return (1.0 + 2.0 * z * sigma) / (sigma * sigma);
}

}  // namespace

// The composed PLD of both directions, on a grid no finer than `interval` whose composition fits
// in kPldMaxGridPoints.
struct PldAccountant::Composed {
  PldPmf remove, add;
  double interval = 0.0;
};

namespace {

template <typename Event, typename Composed>
void Compose(const std::vector<Event>& events, double interval, Composed& c) {
  // A single step must itself fit on the grid.
  for (const Event& e : events) {
    interval = std::max(interval,
                        StepLossSpan(e.noise_multiplier) / static_cast<double>(kPldMaxGridPoints));
  }
  for (int attempt = 0;; ++attempt) {
    c.interval = interval;
    std::vector<PldPmf> removes, adds;
    removes.reserve(events.size());
    adds.reserve(events.size());
    for (const Event& e : events) {
      removes.push_back(DiscretizeSampledGaussian(e.q, e.noise_multiplier, PldDirection::kRemove,
                                                  interval, kPldLogTailMass));
      // Without sampling (q = 1) both directions have the same PLD, N(1/(2 s^2), 1/s^2).
      adds.push_back(e.q == 1.0
                         ? removes.back()
                         : DiscretizeSampledGaussian(e.q, e.noise_multiplier, PldDirection::kAdd,
                                                     interval, kPldLogTailMass));
    }
    std::vector<PldComponent> remove_parts, add_parts;
    for (size_t i = 0; i < events.size(); ++i) {
      remove_parts.push_back({&removes[i], events[i].count});
      add_parts.push_back({&adds[i], events[i].count});
    }
    const internal::PldWindow remove_window = ComposedWindow(remove_parts, kPldLogTailMass);
    const internal::PldWindow add_window = ComposedWindow(add_parts, kPldLogTailMass);
    const int64_t width = std::max(remove_window.size(), add_window.size());
    if (width > kPldMaxGridPoints && attempt < 4) {
      interval *= 1.05 * static_cast<double>(width) / static_cast<double>(kPldMaxGridPoints);
      continue;
    }
    c.remove = ComposePlds(remove_parts, remove_window, kPldLogTailMass);
    c.add = ComposePlds(add_parts, add_window, kPldLogTailMass);
    return;
  }
}

}  // namespace

PldAccountant::PldAccountant(PldOptions options)
    : options_status_(CheckOptions(options)), options_(options) {}

Result<PldAccountant> PldAccountant::Create(PldOptions options) {
  FEDSEG_RETURN_IF_ERROR(CheckOptions(options));
  return PldAccountant(options);
}

Status PldAccountant::AddSampledGaussian(double q, double noise_multiplier, int64_t steps) {
  FEDSEG_RETURN_IF_ERROR(options_status_);
  FEDSEG_RETURN_IF_ERROR(CheckSamplingRate(q));
  FEDSEG_RETURN_IF_ERROR(CheckNoiseMultiplier(noise_multiplier));
  FEDSEG_RETURN_IF_ERROR(CheckSteps(steps));
  for (Event& e : events_) {
    if (e.q == q && e.noise_multiplier == noise_multiplier) {
      if (e.count > std::numeric_limits<int64_t>::max() - steps) {
        return Status::InvalidArgument("too many steps composed: " + std::to_string(e.count) +
                                       " + " + std::to_string(steps));
      }
      e.count += steps;
      cache_.reset();
      return Status::OK();
    }
  }
  events_.push_back({q, noise_multiplier, steps});
  cache_.reset();
  return Status::OK();
}

Status PldAccountant::AddGaussian(double noise_multiplier, int64_t count) {
  return AddSampledGaussian(1.0, noise_multiplier, count);
}

Result<std::shared_ptr<const PldAccountant::Composed>> PldAccountant::Composition() const {
  if (!cache_) {
    auto c = std::make_shared<Composed>();
    Compose(events_, options_.interval, *c);
    last_interval_ = c->interval;
    cache_ = std::move(c);
  }
  return cache_;
}

Result<double> PldAccountant::GetEpsilon(double delta) const {
  FEDSEG_RETURN_IF_ERROR(options_status_);
  FEDSEG_RETURN_IF_ERROR(CheckDelta(delta));
  if (events_.empty()) return 0.0;
  FEDSEG_ASSIGN_OR_RETURN(std::shared_ptr<const Composed> composed, Composition());
  const Composed& c = *composed;
  const double eps =
      std::max(internal::EpsilonForDelta(c.remove, delta), internal::EpsilonForDelta(c.add, delta));
  if (!std::isfinite(eps)) {
    return Status::InvalidArgument(
        "delta " + FormatShortest(delta) +
        " is not above the mass the PLD accountant charges to "
        "an infinite loss (" +
        FormatShortest(std::max(c.remove.infinity_mass, c.add.infinity_mass)) +
        "); use a larger delta or the RDP accountant");
  }
  return eps * (1.0 + kPldRelativeMargin);
}

Result<double> PldAccountant::GetDelta(double epsilon) const {
  FEDSEG_RETURN_IF_ERROR(options_status_);
  if (!(epsilon >= 0.0 && std::isfinite(epsilon))) {
    return Status::InvalidArgument("epsilon must be finite and >= 0, got " +
                                   FormatShortest(epsilon));
  }
  if (events_.empty()) return 0.0;
  FEDSEG_ASSIGN_OR_RETURN(std::shared_ptr<const Composed> composed, Composition());
  const Composed& c = *composed;
  return std::min(1.0, std::max(internal::HockeyStickDelta(c.remove, epsilon),
                                internal::HockeyStickDelta(c.add, epsilon)));
}

Result<double> ComputePldEpsilon(double q, double noise_multiplier, int64_t steps, double delta) {
  PldAccountant accountant;
  FEDSEG_RETURN_IF_ERROR(accountant.AddSampledGaussian(q, noise_multiplier, steps));
  return accountant.GetEpsilon(delta);
}

}  // namespace fedseg::privacy
