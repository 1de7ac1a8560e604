// fedseg-audit: privacy accounting from the command line.
//
//   fedseg-audit epsilon   --sampling-rate Q --noise-multiplier S --steps T --delta D [--json]
//   fedseg-audit calibrate --target-epsilon E --sampling-rate Q --steps T --delta D [--json]
//
// Each subcommand is one Register<Name>() function that declares the subcommand and its options
// and installs a callback running it; to add a subcommand, write another and call it from main().
// Results go to stdout (text, or one JSON object with --json); errors go to stderr with a
// non-zero exit status. In text output epsilon and noise multipliers are rounded up to six
// significant digits, so the printed numbers stay on the safe side; --json prints exact values.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "privacy/rdp_accountant.h"

namespace {

using fedseg::Result;
using fedseg::Status;
namespace privacy = fedseg::privacy;

constexpr int kExitError = 1;

int Fail(std::string_view subcommand, const Status& status) {
  std::cerr << "fedseg-audit " << subcommand << ": " << status.ToString() << "\n";
  return kExitError;
}

// `v` with `digits` significant digits, rounded towards +infinity.
std::string FormatRoundedUp(double v, int digits = 6) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  for (int attempt = 0; attempt < 2 && std::strtod(buf, nullptr) < v; ++attempt) {
    const double shown = std::strtod(buf, nullptr);
    const double unit = std::pow(10.0, std::floor(std::log10(std::abs(shown))) - (digits - 1));
    std::snprintf(buf, sizeof(buf), "%.*g", digits, shown + unit);
  }
  return buf;
}

// Shortest text that reads back as `v`.
std::string FormatExact(double v) {
  char buf[64];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// Steps are counts, but "1e6" is a natural way to type a million.
Result<int64_t> ParseSteps(const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno != 0 || !(value >= 1.0) ||
      value >= 9.2e18 || value != std::floor(value)) {
    return Status::InvalidArgument("steps must be a positive integer, got '" + text + "'");
  }
  return static_cast<int64_t>(value);
}

void PrintLines(std::initializer_list<std::pair<const char*, std::string>> lines) {
  for (const auto& [key, value] : lines) std::cout << key << ": " << value << "\n";
}

// ---- epsilon ----------------------------------------------------------------------------------

struct EpsilonOptions {
  double sampling_rate = 0.0;
  double noise_multiplier = 0.0;
  std::string steps;
  double delta = 0.0;
  bool json = false;
};

int RunEpsilon(const EpsilonOptions& o) {
  Result<int64_t> steps = ParseSteps(o.steps);
  if (!steps.ok()) return Fail("epsilon", steps.status());
  Result<privacy::EpsilonResult> r =
      privacy::ComputeEpsilon(o.sampling_rate, o.noise_multiplier, *steps, o.delta);
  if (!r.ok()) return Fail("epsilon", r.status());
  if (o.json) {
    nlohmann::json out = {{"epsilon", r->epsilon},
                          {"order", r->order},
                          {"noise_multiplier", o.noise_multiplier},
                          {"sampling_rate", o.sampling_rate},
                          {"steps", *steps},
                          {"delta", o.delta}};
    std::cout << out.dump() << "\n";
  } else {
    PrintLines({{"epsilon", FormatRoundedUp(r->epsilon)},
                {"order", FormatExact(r->order)},
                {"sampling_rate", FormatExact(o.sampling_rate)},
                {"noise_multiplier", FormatExact(o.noise_multiplier)},
                {"steps", std::to_string(*steps)},
                {"delta", FormatExact(o.delta)}});
  }
  return 0;
}

void RegisterEpsilon(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<EpsilonOptions>();
  CLI::App* cmd = app.add_subcommand(
      "epsilon",
      "Epsilon spent by STEPS steps of the Poisson-subsampled Gaussian mechanism, and the RDP "
      "order that gives it");
  cmd->add_option("--sampling-rate", o->sampling_rate, "Poisson sampling rate q, in (0, 1]")
      ->required();
  cmd->add_option("--noise-multiplier", o->noise_multiplier,
                  "Noise standard deviation divided by the L2 sensitivity")
      ->required();
  cmd->add_option("--steps", o->steps, "Number of steps (a positive integer; 1e6 is accepted)")
      ->required();
  cmd->add_option("--delta", o->delta, "Target delta, in (0, 1)")->required();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of text");
  cmd->callback([o, &exit_code] { exit_code = RunEpsilon(*o); });
}

// ---- calibrate --------------------------------------------------------------------------------

struct CalibrateOptions {
  double target_epsilon = 0.0;
  double sampling_rate = 0.0;
  std::string steps;
  double delta = 0.0;
  bool json = false;
};

int RunCalibrate(const CalibrateOptions& o) {
  Result<int64_t> steps = ParseSteps(o.steps);
  if (!steps.ok()) return Fail("calibrate", steps.status());
  Result<double> sigma =
      privacy::CalibrateNoiseMultiplier(o.target_epsilon, o.sampling_rate, *steps, o.delta);
  if (!sigma.ok()) return Fail("calibrate", sigma.status());
  Result<privacy::EpsilonResult> r =
      privacy::ComputeEpsilon(o.sampling_rate, *sigma, *steps, o.delta);
  if (!r.ok()) return Fail("calibrate", r.status());
  if (o.json) {
    nlohmann::json out = {{"noise_multiplier", *sigma},
                          {"epsilon", r->epsilon},
                          {"order", r->order},
                          {"target_epsilon", o.target_epsilon},
                          {"sampling_rate", o.sampling_rate},
                          {"steps", *steps},
                          {"delta", o.delta}};
    std::cout << out.dump() << "\n";
  } else {
    PrintLines({{"noise_multiplier", FormatRoundedUp(*sigma)},
                {"epsilon", FormatRoundedUp(r->epsilon)},
                {"order", FormatExact(r->order)},
                {"target_epsilon", FormatExact(o.target_epsilon)},
                {"sampling_rate", FormatExact(o.sampling_rate)},
                {"steps", std::to_string(*steps)},
                {"delta", FormatExact(o.delta)}});
  }
  return 0;
}

void RegisterCalibrate(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CalibrateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "calibrate",
      "Smallest noise multiplier whose epsilon after STEPS steps is at most the target");
  cmd->add_option("--target-epsilon", o->target_epsilon, "Epsilon to meet, > 0")->required();
  cmd->add_option("--sampling-rate", o->sampling_rate, "Poisson sampling rate q, in (0, 1]")
      ->required();
  cmd->add_option("--steps", o->steps, "Number of steps (a positive integer; 1e6 is accepted)")
      ->required();
  cmd->add_option("--delta", o->delta, "Target delta, in (0, 1)")->required();
  cmd->add_flag("--json", o->json, "Print one JSON object instead of text");
  cmd->callback([o, &exit_code] { exit_code = RunCalibrate(*o); });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fedseg-audit: differential-privacy accounting for fedseg (RDP accountant)"};
  app.require_subcommand(1);
  int exit_code = 0;
  RegisterEpsilon(app, exit_code);
  RegisterCalibrate(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
