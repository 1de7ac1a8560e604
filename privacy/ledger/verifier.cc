#include "privacy/ledger/verifier.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "common/base/base64.h"
#include "common/base/file_util.h"
#include "privacy/accounting/number_format.h"
#include "privacy/ledger/internal/json_fields.h"
#include "privacy/ledger/internal/verify_text.h"
#include "privacy/ledger/signer.h"

namespace fedseg::privacy {
namespace internal {
namespace {

using json = nlohmann::json;

// Recorded ε may fall short of the recomputed one by this relative amount before it counts as
// under-reported: the writer and the verifier run the same code, so any real difference is a bug
// or a forgery, while this leaves room for a writer on another platform whose libm rounds
// differently in the last bits.
constexpr double kEpsilonRelativeTolerance = 1e-9;

constexpr int64_t kMaxSeq = std::numeric_limits<int64_t>::max();

// Walks a ledger line by line. What a line is checked against (the previous line's seq and hash)
// is known only when that line said it; a line whose fields cannot be read leaves them unknown,
// so one bad line is reported once instead of making every later line look out of place.
class ChainVerifier {
 public:
  ChainVerifier(const SignerIdentity& signer, VerifiedLedger& out)
      : signer_(signer), out_(out), v_(out.report) {}

  // One line, without its '\n'; `complete` is false for a last line with no newline.
  void CheckLine(std::string_view line, bool complete) {
    ++line_no_;
    where_ = "line " + std::to_string(line_no_) + ": ";
    line_ok_ = true;
    this_seq_.reset();
    this_hash_.reset();
    if (!complete) {
      Problem(
          "the last line has no newline: an append was interrupted (crash or full disk) or the "
          "file was cut");
    }
    if (line_no_ == 1) {
      const json first = line.size() <= kMaxLedgerLineBytes
                             ? json::parse(line, nullptr, /*allow_exceptions=*/false)
                             : json();
      if (IsLedgerGenesis(first)) {
        CheckGenesis(line, first);
        Advance();
        return;
      }
      StartLegacy();
    }
    json j;
    std::optional<LedgerEntry> entry = ReadEntry(line, j);
    if (entry) {
      CheckChain(*entry);
      CheckIntegrity(line, j, *entry);
      Account(*entry);
    }
    Advance();
  }

  // The summary after the last line, and the comparison with what the caller expected.
  void Finish(const LedgerVerifyOptions& options) {
    if (line_no_ == 0) {
      where_.clear();
      Problem(
          "the ledger is empty: it has no genesis entry (a ledger is created once, with "
          "`fedseg-client ledger init`)");
    }
    v_.entries = legacy_ ? line_no_ : std::max<int64_t>(0, line_no_ - 1);
    v_.head_hash = line_no_ == 0 ? std::string(kLedgerGenesisHash) : prev_hash_.value_or("");
    v_.epsilon = last_.epsilon;
    v_.order = last_.order;
    if (!legacy_ && line_no_ > 0) {
      // A v2 ledger states its ε at the budget's delta, whatever delta each entry used.
      v_.delta = budget_delta_;
      if (released_ && v_.delta > 0) {
        Result<EpsilonResult> total = out_.accountant.GetEpsilon(last_kind_, v_.delta);
        if (total.ok()) {
          v_.epsilon = total->epsilon;
          v_.order = total->order;
        } else {
          where_.clear();
          Problem("cannot compute epsilon at the budget's delta: " + total.status().message());
        }
      } else {
        v_.epsilon = 0.0;
        v_.order = 0.0;
      }
      if (signer_.role != SignerIdentity::Role::kWriter && v_.epsilon_budget > 0 &&
          v_.epsilon > v_.epsilon_budget) {
        v_.over_budget = true;
        v_.problems.push_back("epsilon " + FormatShortest(v_.epsilon) + " at delta " +
                              FormatShortest(v_.delta) + " exceeds the budget " +
                              FormatShortest(v_.epsilon_budget) +
                              " recorded in the genesis entry: the region spent more than its "
                              "budget");
      }
    }
    if (options.expect_entries && *options.expect_entries != v_.entries) {
      v_.problems.push_back("the ledger has " + std::to_string(v_.entries) + " entries, but " +
                            std::to_string(*options.expect_entries) +
                            " were expected: entries were removed from the end, or added");
    }
    if (options.expect_head && *options.expect_head != v_.head_hash) {
      v_.problems.push_back(
          "the head hash " + (v_.head_hash.empty() ? "(unreadable)" : v_.head_hash) +
          " is not the expected " + *options.expect_head +
          ": the ledger was truncated, extended or replaced since that head was reported");
    }
    v_.ok = v_.problems.empty();
  }

 private:
  void Problem(const std::string& msg) {
    v_.problems.push_back(where_ + msg);
    line_ok_ = false;
  }

  // What the next line is checked against: this line's seq and hash, if it could say.
  void Advance() {
    prev_seq_ = this_seq_;
    prev_hash_ = this_hash_;
  }

  // Line 1 of a v2 ledger: the ledger's own key, its region and budget, self-signed.
  void CheckGenesis(std::string_view line, const json& j) {
    v_.format = kLedgerFormatV2;
    if (auto it = j.find("seq"); it != j.end() && it->is_number_integer()) {
      this_seq_ = it->get<int64_t>();
    }
    if (auto it = j.find("hash"); it != j.end() && it->is_string()) {
      this_hash_ = it->get<std::string>();
    }
    where_ = "line 1 (genesis): ";
    Result<LedgerGenesis> parsed = ParseLedgerGenesis(j);
    if (!parsed.ok()) {
      Problem(parsed.status().message() + " (no signature of this ledger can be checked)");
      return;
    }
    const LedgerGenesis& g = *parsed;
    v_.region = g.region;
    v_.public_key = g.public_key;
    v_.epsilon_budget = g.epsilon_budget;
    budget_delta_ = g.delta;
    Result<PkeyPtr> key = ParseLedgerPublicKey(g.public_key);
    if (!key.ok()) {
      Problem(key.status().message() + " (no signature of this ledger can be checked)");
      return;
    }
    ledger_key_ = std::move(key).value();
    if (LedgerEntryHash(j) != g.hash) {
      Problem("hash mismatch: the genesis entry was edited after it was written");
    }
    const std::optional<std::string> signature = Base64Decode(g.signature);
    if (!signature || !VerifyLedgerHashSignature(ledger_key_.get(), g.hash, *signature,
                                                 kLedgerSignatureContext)) {
      Problem("the genesis signature does not verify with the genesis entry's public_key");
    }
    if (line != j.dump()) {
      Problem("the line is not in canonical form (nlohmann::json dump() of the entry)");
    }
    expected_region_ = g.region;
    region_from_ = "the genesis entry's region";
    switch (signer_.role) {
      case SignerIdentity::Role::kWriter:
        if (!SameLedgerKey(signer_.key, ledger_key_.get())) {
          Problem(signer_.key_from +
                  " is not this ledger's key (the public_key of its genesis entry)");
        }
        [[fallthrough]];
      case SignerIdentity::Role::kCertificate:
        if (g.region != signer_.region) {
          Problem("region \"" + g.region + "\" is not " + signer_.region_from + " \"" +
                  signer_.region + "\"");
        }
        if (signer_.role == SignerIdentity::Role::kCertificate &&
            SameLedgerKey(signer_.key, ledger_key_.get())) {
          Problem("the ledger's key is " + signer_.key_from +
                  ", the region's TLS key: a ledger must be signed with the region's own ledger "
                  "key (made by "
                  "`fedseg-client ledger init`), kept apart from its TLS key");
        }
        break;
      case SignerIdentity::Role::kLedgerOnly:
        break;
    }
  }

  // Line 1 is not a genesis entry: a legacy (v1) ledger, signed with the TLS key over the bare
  // hash.
  void StartLegacy() {
    legacy_ = true;
    v_.legacy = true;
    v_.format = "legacy-v1";
    v_.region = signer_.region;
    expected_region_ = signer_.region;
    region_from_ = signer_.region_from;
    switch (signer_.role) {
      case SignerIdentity::Role::kCertificate:
        break;
      case SignerIdentity::Role::kWriter:
        v_.problems.push_back(
            "a legacy (v1) ledger: it has no genesis entry and is signed with the region's TLS "
            "key; it is never extended (verify it with fedseg-audit verify --cert, keep it, and "
            "create a new ledger with `fedseg-client ledger init`, see docs/ledger.md)");
        break;
      case SignerIdentity::Role::kLedgerOnly:
        v_.problems.push_back(
            "a legacy (v1) ledger: it has no genesis entry and its entries are signed with the "
            "region's TLS key; verify it against the region's certificate (--cert REGION.crt)");
        break;
    }
  }

  // Parses the line into `j` and its fields; nullopt (after reporting why) when it cannot.
  std::optional<LedgerEntry> ReadEntry(std::string_view line, json& j) {
    if (line.empty()) {
      Problem("empty line");
      return std::nullopt;
    }
    if (line.size() > kMaxLedgerLineBytes) {
      Problem("longer than " + std::to_string(kMaxLedgerLineBytes) + " bytes; not parsed");
      return std::nullopt;
    }
    j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      Problem("not valid JSON");
      return std::nullopt;
    }
    // Best-effort chain fields even from an entry that fails validation below, so one bad field
    // does not make every later line look out of place.
    if (j.is_object()) {
      if (auto it = j.find("seq"); it != j.end() && it->is_number_integer()) {
        this_seq_ = it->get<int64_t>();
        where_ = "line " + std::to_string(line_no_) + " (seq " + std::to_string(*this_seq_) + "): ";
      }
      if (auto it = j.find("hash"); it != j.end() && it->is_string()) {
        this_hash_ = it->get<std::string>();
      }
    }
    Result<LedgerEntry> parsed = ParseLedgerEntry(j);
    if (!parsed.ok()) {
      Problem(parsed.status().message());
      return std::nullopt;
    }
    return std::move(parsed).value();
  }

  // seq and prev_hash continue the previous line.
  void CheckChain(const LedgerEntry& e) {
    if (legacy_ && line_no_ == 1 && e.seq != 1) {
      Problem("seq is " + std::to_string(e.seq) +
              ", expected 1: the ledger does not start at its first entry");
    } else if (line_no_ > 1 && prev_seq_ && (*prev_seq_ == kMaxSeq || e.seq != *prev_seq_ + 1)) {
      // (A forged previous seq of 2^63 - 1 has no successor; +1 would overflow.)
      Problem("seq " + std::to_string(e.seq) + " follows seq " + std::to_string(*prev_seq_) +
              " (expected " +
              (*prev_seq_ == kMaxSeq ? std::string("none") : std::to_string(*prev_seq_ + 1)) +
              "): an entry was removed, inserted or moved");
    }
    if (legacy_ && line_no_ == 1 && e.prev_hash != kLedgerGenesisHash) {
      Problem("prev_hash is not the genesis hash (64 zeros): entries before this one are missing");
    } else if (line_no_ > 1 && prev_hash_ && e.prev_hash != *prev_hash_) {
      Problem("prev_hash does not match the hash of line " + std::to_string(line_no_ - 1) +
              ": the entry before this one was removed, replaced or moved");
    }
  }

  // The entry is what was hashed and signed, by the expected region, and written canonically.
  void CheckIntegrity(std::string_view line, const json& j, const LedgerEntry& e) {
    const std::string recomputed_hash = LedgerEntryHash(j);
    if (recomputed_hash != e.hash) {
      Problem("hash mismatch: the content hashes to " + recomputed_hash + ", not to the recorded " +
              e.hash + ": the entry was edited after it was written");
    }
    const std::optional<std::string> signature = Base64Decode(e.signature);
    EVP_PKEY* key = legacy_ ? signer_.key : ledger_key_.get();
    if (!signature) {
      Problem("signature is not canonical base64");
    } else if (key != nullptr && !VerifyLedgerHashSignature(
                                     key, e.hash, *signature,
                                     legacy_ ? kLedgerLegacyContext : kLedgerSignatureContext)) {
      Problem("signature does not verify with " +
              (legacy_ ? signer_.key_from
                       : std::string("the ledger's key (the public_key of its genesis entry)")) +
              ": the entry was signed by another key (another region's, or a TLS key), or "
              "edited and re-hashed without the ledger's key");
    }
    if (!expected_region_.empty() && e.region != expected_region_) {
      Problem("region \"" + e.region + "\" is not " + region_from_ + " \"" + expected_region_ +
              "\"");
    }
    if (line != j.dump()) {
      Problem(
          "the line is not in canonical form (nlohmann::json dump() of the entry): it was "
          "re-serialized or edited");
    }
  }

  // The entry's own cost, and the total with every earlier entry, from the recorded parameters
  // alone: the recorded epsilon_after is only compared, never trusted. Adds the entry's row.
  void Account(const LedgerEntry& e) {
    LedgerEntryReport row;
    row.line = line_no_;
    row.seq = e.seq;
    row.round = e.round;
    row.run_id = e.run_id;
    row.mechanism = e.mechanism;
    row.sampling_rate = e.mech.sampling_rate;
    row.noise_multiplier = e.mech.noise_multiplier;
    row.steps = e.mech.steps;
    row.delta = e.delta;
    row.epsilon_recorded = e.epsilon_after;
    row.accountant = AccountantName(e.accountant);
    Accountant alone;
    Status added = e.mech.AddTo(out_.accountant);
    if (added.ok()) added = e.mech.AddTo(alone);
    Result<EpsilonResult> after = Status::Internal("not computed");
    Result<EpsilonResult> own = Status::Internal("not computed");
    if (added.ok()) {
      after = out_.accountant.GetEpsilon(e.accountant, e.delta);
      own = alone.GetEpsilon(e.accountant, e.delta);
      if (!after.ok()) added = after.status();
      if (!own.ok()) added = own.status();
    }
    if (!added.ok()) {
      Problem("cannot recompute epsilon: " + added.message());
    } else {
      row.epsilon_after = after->epsilon;
      row.order = after->order;
      row.epsilon_round = own->epsilon;
      last_ = *after;
      last_kind_ = e.accountant;
      released_ = true;
      v_.delta = e.delta;
      v_.accountant = row.accountant;
      if (e.epsilon_after < after->epsilon * (1.0 - kEpsilonRelativeTolerance)) {
        Problem("epsilon_after " + FormatShortest(e.epsilon_after) + " is below the recomputed " +
                FormatShortest(after->epsilon) + " (delta " + FormatShortest(e.delta) +
                ", accountant " + row.accountant +
                "): the writer under-reported the privacy spent");
      }
    }
    row.ok = line_ok_;
    v_.rows.push_back(std::move(row));
  }

  const SignerIdentity& signer_;
  VerifiedLedger& out_;
  LedgerVerification& v_;
  int64_t line_no_ = 0;
  std::optional<int64_t> prev_seq_ = 0;  // the genesis "entry 0"
  std::optional<std::string> prev_hash_ = std::string(kLedgerGenesisHash);
  EpsilonResult last_{0.0, 0.0};
  AccountantKind last_kind_ = AccountantKind::kRdp;
  bool released_ = false;      // a release's ε was recomputed
  bool legacy_ = false;        // line 1 is not a genesis entry
  double budget_delta_ = 0.0;  // v2: the genesis entry's delta
  PkeyPtr ledger_key_;         // v2: the genesis entry's public key
  std::string expected_region_, region_from_;
  // The line being checked.
  std::string where_;  // "line N (seq S): ", prefixed to its problems
  bool line_ok_ = true;
  std::optional<int64_t> this_seq_;
  std::optional<std::string> this_hash_;
};

}  // namespace

VerifiedLedger VerifyText(std::string_view text, const SignerIdentity& signer,
                          const LedgerVerifyOptions& options) {
  VerifiedLedger out;
  ChainVerifier verifier(signer, out);
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const bool complete = nl != std::string_view::npos;
    verifier.CheckLine(text.substr(pos, complete ? nl - pos : std::string_view::npos), complete);
    pos = complete ? nl + 1 : text.size();
  }
  verifier.Finish(options);
  return out;
}

}  // namespace internal

namespace {

// The checks VerifyLedger and VerifyLedgerText make on the caller's options, normalised.
Result<LedgerVerifyOptions> CheckVerifyOptions(const LedgerVerifyOptions& options) {
  LedgerVerifyOptions opts = options;
  if (opts.expect_head) {
    std::string h = *opts.expect_head;
    for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!internal::IsLowerHex64(h)) {
      return Status::InvalidArgument("expected head hash must be 64 hex digits, got \"" +
                                     opts.expect_head->substr(0, 80) + "\"");
    }
    opts.expect_head = h;
  }
  if (opts.expect_entries && *opts.expect_entries < 0) {
    return Status::InvalidArgument("expected entry count must be >= 0, got " +
                                   std::to_string(*opts.expect_entries));
  }
  return opts;
}

// A certificate's key and CN as the verifier's signer.
internal::SignerIdentity CertificateSigner(const LedgerCertificate& cert,
                                           const std::string& source) {
  return {internal::SignerIdentity::Role::kCertificate, cert.public_key.get(), cert.common_name,
          "the certificate's subject CN", "the public key of " + source};
}

}  // namespace

Result<LedgerVerification> VerifyLedger(const std::string& ledger_path,
                                        const std::string& cert_file,
                                        const LedgerVerifyOptions& options) {
  FEDSEG_ASSIGN_OR_RETURN(LedgerVerifyOptions opts, CheckVerifyOptions(options));
  std::optional<LedgerCertificate> cert;
  if (!cert_file.empty()) {
    Result<LedgerCertificate> loaded = LoadLedgerCertificate(cert_file);
    if (!loaded.ok()) return loaded.status();
    FEDSEG_RETURN_IF_ERROR(CheckLedgerKeyType(loaded->public_key.get(), cert_file));
    cert = std::move(loaded).value();
  }
  Result<std::string> text = ReadFile(ledger_path, kMaxLedgerBytes);
  if (!text.ok()) return text.status().WithContext("reading the ledger");
  const internal::SignerIdentity signer =
      cert ? CertificateSigner(*cert, cert_file) : internal::SignerIdentity{};
  return internal::VerifyText(*text, signer, opts).report;
}

Result<LedgerVerification> VerifyLedgerText(std::string_view ledger_text, std::string_view cert_pem,
                                            const std::string& cert_source,
                                            const LedgerVerifyOptions& options) {
  FEDSEG_ASSIGN_OR_RETURN(LedgerVerifyOptions opts, CheckVerifyOptions(options));
  if (ledger_text.size() > kMaxLedgerBytes) {
    return Status::InvalidArgument("the ledger is " + std::to_string(ledger_text.size()) +
                                   " bytes, more than the " + std::to_string(kMaxLedgerBytes) +
                                   "-byte limit");
  }
  if (cert_pem.empty()) return internal::VerifyText(ledger_text, {}, opts).report;
  FEDSEG_ASSIGN_OR_RETURN(LedgerCertificate cert, ParseLedgerCertificate(cert_pem, cert_source));
  FEDSEG_RETURN_IF_ERROR(CheckLedgerKeyType(cert.public_key.get(), cert_source));
  return internal::VerifyText(ledger_text, CertificateSigner(cert, cert_source), opts).report;
}

}  // namespace fedseg::privacy
