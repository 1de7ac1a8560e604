#include "privacy/audit/audit_commands.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>
#include <vector>

#include "privacy/accounting/accountant.h"
#include "privacy/accounting/number_format.h"
#include "privacy/ledger/verifier.h"

namespace fedseg::privacy {
namespace {

int Fail(std::ostream& err, std::string_view subcommand, const Status& status) {
  err << "fedseg-audit " << subcommand << ": " << status.ToString() << "\n";
  return kAuditExitError;
}

void PrintLines(std::ostream& out,
                std::initializer_list<std::pair<const char*, std::string>> lines) {
  for (const auto& [key, value] : lines) out << key << ": " << value << "\n";
}

// One line of a result: its JSON value (exact) and its text (rounded up where that is safer).
struct ResultField {
  const char* key;
  nlohmann::json value;
  std::string text;
};
ResultField RoundedUp(const char* key, double v) { return {key, v, FormatRoundedUp(v)}; }
ResultField Exact(const char* key, double v) { return {key, v, FormatShortest(v)}; }
ResultField Count(const char* key, int64_t n) { return {key, n, std::to_string(n)}; }

ResultField Text(const char* key, const std::string& s) { return {key, s, s}; }

// One JSON object (keys sorted), or one "key: text" line per field in the given order.
void PrintResult(std::ostream& out, bool json, const std::vector<ResultField>& fields) {
  if (json) {
    nlohmann::json result = nlohmann::json::object();
    for (const ResultField& f : fields) result[f.key] = f.value;
    out << result.dump() << "\n";
  } else {
    for (const ResultField& f : fields) out << f.key << ": " << f.text << "\n";
  }
}

// printf into a string (the verify table's fixed-width columns).
__attribute__((format(printf, 1, 2))) std::string Printf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string text(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) std::vsnprintf(text.data(), text.size() + 1, format, args);
  va_end(args);
  return text;
}

nlohmann::json VerificationJson(const VerifyCommand& c, const LedgerVerification& v) {
  nlohmann::json rounds = nlohmann::json::array();
  for (const LedgerEntryReport& r : v.rows) {
    rounds.push_back({{"line", r.line},
                      {"seq", r.seq},
                      {"round", r.round},
                      {"run_id", r.run_id},
                      {"mechanism", r.mechanism},
                      {"sampling_rate", r.sampling_rate},
                      {"noise_multiplier", r.noise_multiplier},
                      {"steps", r.steps},
                      {"delta", r.delta},
                      {"epsilon_recorded", r.epsilon_recorded},
                      {"epsilon_after", r.epsilon_after},
                      {"order", r.order},
                      {"accountant", r.accountant},
                      {"epsilon_round", r.epsilon_round},
                      {"ok", r.ok}});
  }
  return {{"ok", v.ok},
          {"ledger", c.ledger},
          {"cert", c.cert},
          {"format", v.format},
          {"legacy", v.legacy},
          {"region", v.region},
          {"public_key", v.public_key},
          {"epsilon_budget", v.epsilon_budget},
          {"over_budget", v.over_budget},
          {"entries", v.entries},
          {"head_hash", v.head_hash},
          {"epsilon", v.epsilon},
          {"delta", v.delta},
          {"order", v.order},
          {"accountant", v.accountant},
          {"rounds", std::move(rounds)},
          {"problems", v.problems}};
}

// A ledger parameter in the table's short form: the shortest exact text when it has at most 6
// significant digits, else 6 significant digits (a computed q = 64/4321 or a calibrated sigma has
// 17); *rounded is set then. --json always carries the exact value.
std::string TableNumber(double v, bool* rounded) {
  const std::string six = Printf("%.6g", v);
  if (std::strtod(six.c_str(), nullptr) == v || !std::isfinite(v)) return FormatShortest(v);
  *rounded = true;
  return six;
}

// Columns as wide as their widest cell (a header or a value), so that no value breaks them.
// Column 2 (mechanism) is left-aligned, the others right-aligned.
void PrintAligned(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(width[i] - row[i].size(), ' ');
      if (i > 0) line += ' ';
      const bool last = i + 1 == row.size();
      line += i == 2 ? row[i] + (last ? "" : pad) : pad + row[i];
    }
    out << line << "\n";
  }
}

void PrintVerificationTable(std::ostream& out, const LedgerVerification& v) {
  std::vector<std::vector<std::string>> rows = {{"seq", "round", "mechanism", "q", "sigma", "steps",
                                                 "delta", "eps_recorded", "eps_recomputed", "ok"}};
  bool rounded = false;
  for (const LedgerEntryReport& r : v.rows) {
    rows.push_back({std::to_string(r.seq), std::to_string(r.round), r.mechanism,
                    TableNumber(r.sampling_rate, &rounded),
                    TableNumber(r.noise_multiplier, &rounded), std::to_string(r.steps),
                    FormatShortest(r.delta), FormatRoundedUp(r.epsilon_recorded),
                    FormatRoundedUp(r.epsilon_after), r.ok ? "ok" : "FAIL"});
  }
  PrintAligned(out, rows);
  if (rounded) out << "(q and sigma to 6 significant digits; --json has them exactly)\n";
  PrintLines(
      out,
      {{"format",
        v.legacy ? v.format + " (LEGACY: signed with the TLS key, no budget recorded)" : v.format},
       {"region", v.region},
       {"entries", std::to_string(v.entries)},
       {"head_hash", v.head_hash.empty() ? "(unreadable)" : v.head_hash},
       {"epsilon", FormatRoundedUp(v.epsilon)},
       {"delta", FormatShortest(v.delta)},
       {"budget",
        v.legacy ? std::string("(not recorded)")
                 : FormatShortest(v.epsilon_budget) + (v.over_budget ? " EXCEEDED" : " (within)")},
       {"order", FormatShortest(v.order)},
       {"accountant", v.accountant},
       {"result",
        v.ok ? std::string("OK") : std::to_string(v.problems.size()) + " problem(s), on stderr"}});
}

}  // namespace

std::string FormatRoundedUp(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*g", digits, v);
  for (int attempt = 0; attempt < 2 && std::strtod(buf, nullptr) < v; ++attempt) {
    const double shown = std::strtod(buf, nullptr);
    const double unit = std::pow(10.0, std::floor(std::log10(std::abs(shown))) - (digits - 1));
    std::snprintf(buf, sizeof(buf), "%.*g", digits, shown + unit);
  }
  return buf;
}

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

// The accountant's fields: its name, and the RDP order when it has one.
void AddAccountantFields(std::vector<ResultField>& fields, AccountantKind kind,
                         const EpsilonResult& r) {
  fields.push_back(Text("accountant", AccountantName(kind)));
  if (kind == AccountantKind::kRdp) fields.push_back(Exact("order", r.order));
}

int RunEpsilon(const EpsilonCommand& command, std::ostream& out, std::ostream& err) {
  const MechanismArgs& c = command.args;
  Result<AccountantKind> kind = ParseAccountantKind(c.accountant);
  if (!kind.ok()) return Fail(err, "epsilon", kind.status());
  Result<int64_t> steps = ParseSteps(c.steps);
  if (!steps.ok()) return Fail(err, "epsilon", steps.status());
  Result<EpsilonResult> r =
      ComputeEpsilon(*kind, c.sampling_rate, command.noise_multiplier, *steps, c.delta);
  if (!r.ok()) return Fail(err, "epsilon", r.status());
  std::vector<ResultField> fields = {RoundedUp("epsilon", r->epsilon)};
  AddAccountantFields(fields, *kind, *r);
  fields.insert(fields.end(), {Exact("sampling_rate", c.sampling_rate),
                               Exact("noise_multiplier", command.noise_multiplier),
                               Count("steps", *steps), Exact("delta", c.delta)});
  PrintResult(out, c.json, fields);
  return 0;
}

int RunCalibrate(const CalibrateCommand& command, std::ostream& out, std::ostream& err) {
  const MechanismArgs& c = command.args;
  Result<AccountantKind> kind = ParseAccountantKind(c.accountant);
  if (!kind.ok()) return Fail(err, "calibrate", kind.status());
  Result<int64_t> steps = ParseSteps(c.steps);
  if (!steps.ok()) return Fail(err, "calibrate", steps.status());
  Result<double> sigma =
      CalibrateNoiseMultiplier(*kind, command.target_epsilon, c.sampling_rate, *steps, c.delta);
  if (!sigma.ok()) return Fail(err, "calibrate", sigma.status());
  Result<EpsilonResult> r = ComputeEpsilon(*kind, c.sampling_rate, *sigma, *steps, c.delta);
  if (!r.ok()) return Fail(err, "calibrate", r.status());
  std::vector<ResultField> fields = {RoundedUp("noise_multiplier", *sigma),
                                     RoundedUp("epsilon", r->epsilon)};
  AddAccountantFields(fields, *kind, *r);
  fields.insert(fields.end(), {Exact("target_epsilon", command.target_epsilon),
                               Exact("sampling_rate", c.sampling_rate), Count("steps", *steps),
                               Exact("delta", c.delta)});
  PrintResult(out, c.json, fields);
  return 0;
}

int RunVerify(const VerifyCommand& c, std::ostream& out, std::ostream& err) {
  LedgerVerifyOptions options;
  if (!c.expect_head.empty()) options.expect_head = c.expect_head;
  if (c.expect_entries >= 0) options.expect_entries = c.expect_entries;
  Result<LedgerVerification> v = VerifyLedger(c.ledger, c.cert, options);
  if (!v.ok()) {
    err << "fedseg-audit verify: " << v.status().ToString() << "\n";
    return kAuditExitVerifyUsage;
  }
  if (c.json) {
    out << VerificationJson(c, *v).dump() << "\n";
  } else {
    PrintVerificationTable(out, *v);
  }
  out.flush();
  for (const std::string& p : v->problems) err << "fedseg-audit verify: " << p << "\n";
  return v->ok ? 0 : kAuditExitLedgerProblem;
}

}  // namespace fedseg::privacy
