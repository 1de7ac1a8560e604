#include "privacy/ledger/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <utility>

#include "common/base/file_util.h"
#include "common/base/sha256.h"
#include "privacy/accounting/parameter_checks.h"
#include "privacy/ledger/internal/verify_text.h"
#include "privacy/ledger/signer.h"

namespace fedseg::privacy {
namespace {

using json = nlohmann::json;

}  // namespace

struct LedgerWriter::Key {
  PkeyPtr pkey;
};

LedgerWriter::~LedgerWriter() = default;

Result<std::unique_ptr<LedgerWriter>> LedgerWriter::Open(const std::string& path,
                                                         const std::string& key_file,
                                                         const std::string& region,
                                                         const std::string& run_id,
                                                         AccountantKind accountant) {
  FEDSEG_RETURN_IF_ERROR(CheckLedgerName(region, "region"));
  FEDSEG_RETURN_IF_ERROR(CheckLedgerName(run_id, "run_id"));
  struct stat path_stat {};
  if (::stat(path.c_str(), &path_stat) != 0 && errno == ENOENT) {
    // Never a fresh, empty ledger in its place: that would reset the region's spent budget.
    return Status::NotFound("ledger " + path +
                            " does not exist: create it once with `fedseg-client ledger init "
                            "--config <region config>` (a missing ledger is never replaced by a "
                            "fresh budget; if it was moved, point privacy.ledger at it)");
  }
  FEDSEG_ASSIGN_OR_RETURN(PkeyPtr key, LoadLedgerPrivateKey(key_file));
  FEDSEG_RETURN_IF_ERROR(CheckLedgerKeyType(key.get(), key_file));

  std::unique_ptr<LedgerWriter> w(new LedgerWriter());
  w->path_ = path;
  w->region_ = region;
  w->run_id_ = run_id;
  w->kind_ = accountant;
  w->key_ = std::make_unique<Key>(Key{std::move(key)});

  bool created = false;
  FileLock::Options lock_options;
  lock_options.create = false;
  Result<FileLock> lock = FileLock::Acquire(path, lock_options, &created);
  if (!lock.ok()) {
    if (lock.status().IsFailedPrecondition()) {
      // flock is per open file: a second LedgerWriter in the same process conflicts too, so a
      // caller replacing its writer must destroy the old one before opening the new one.
      return Status::FailedPrecondition(
          "ledger " + path +
          " is open in another writer (another process of this region, or a LedgerWriter of this "
          "process not yet destroyed); two writers would fork its hash chain");
    }
    return Status::IOError("cannot open ledger: " + lock.status().message());
  }
  w->lock_ = std::move(lock).value();
  FEDSEG_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxLedgerBytes));
  const internal::SignerIdentity signer{internal::SignerIdentity::Role::kWriter,
                                        w->key_->pkey.get(), region, "the writer's region",
                                        "the signing key " + key_file};
  internal::VerifiedLedger verified = internal::VerifyText(text, signer, {});
  const LedgerVerification& v = verified.report;
  if (v.legacy) {
    return Status::FailedPrecondition(
        "ledger " + path +
        " is a legacy (v1) ledger, signed with the region's TLS key and without a genesis entry; "
        "it is never extended. Keep it for audit (fedseg-audit verify LEDGER --cert REGION.crt) "
        "and create a new ledger with `fedseg-client ledger init` (docs/ledger.md, \"Legacy "
        "ledgers\")");
  }
  if (!v.ok) {
    std::string msg = "ledger " + path +
                      " does not verify; refusing to extend it (run "
                      "fedseg-audit verify for the full report): ";
    for (size_t i = 0; i < v.problems.size() && i < 3; ++i) msg += (i ? "; " : "") + v.problems[i];
    if (v.problems.size() > 3) msg += "; and " + std::to_string(v.problems.size() - 3) + " more";
    return Status::Corruption(msg);
  }
  w->accountant_ = std::move(verified.accountant);
  w->head_hash_ = v.head_hash;
  w->entries_ = v.entries;
  w->epsilon_budget_ = v.epsilon_budget;
  w->budget_delta_ = v.delta;
  w->expected_size_ = text.size();
  return w;
}

namespace {

struct PreparedRelease {
  LedgerMechanism mech;
  Accountant accountant;  // every entry plus this release
  EpsilonResult epsilon;
};

Result<PreparedRelease> Prepare(const Accountant& accountant, AccountantKind kind,
                                const LedgerRelease& release) {
  PreparedRelease p{LedgerMechanism{}, accountant, EpsilonResult{0.0, 0.0}};
  FEDSEG_ASSIGN_OR_RETURN(p.mech, ParseLedgerMechanism(release.mechanism, release.params));
  FEDSEG_RETURN_IF_ERROR(CheckDelta(release.delta));
  FEDSEG_RETURN_IF_ERROR(CheckLedgerModelHash(release.model_sha256, p.mech.sampled));
  FEDSEG_RETURN_IF_ERROR(p.mech.AddTo(p.accountant));
  FEDSEG_ASSIGN_OR_RETURN(p.epsilon, p.accountant.GetEpsilon(kind, release.delta));
  return p;
}

}  // namespace

Result<nlohmann::json> LedgerWriter::Append(const LedgerRelease& release) {
  if (failed_) {
    return Status::FailedPrecondition("an earlier append to " + path_ +
                                      " failed; reopen the ledger to verify it");
  }
  Result<PreparedRelease> prepared = Prepare(accountant_, kind_, release);
  if (!prepared.ok()) return prepared.status().WithContext("ledger release");
  PreparedRelease& p = *prepared;

  // Someone else wrote to the file (an editor, a copy over it, a torn earlier write): whatever
  // it is, the chain we hold in memory no longer describes the file.
  struct stat st {};
  if (::fstat(lock_.fd(), &st) != 0) {
    return Status::IOError("stat " + path_ + ": " + std::strerror(errno));
  }
  if (static_cast<uint64_t>(st.st_size) != expected_size_) {
    failed_ = true;
    return Status::Corruption("ledger " + path_ + " changed on disk since it was opened (" +
                              std::to_string(st.st_size) + " bytes, expected " +
                              std::to_string(expected_size_) + "); not appending");
  }

  json entry = json::object();
  entry["seq"] = entries_ + 1;
  entry["time"] = LedgerTimeUtc();
  entry["region"] = region_;
  entry["run_id"] = run_id_;
  entry["round"] = release.round;
  entry["mechanism"] = p.mech.name();
  entry["params"] = p.mech.Params();
  entry["delta"] = release.delta;
  entry["epsilon_after"] = p.epsilon.epsilon;
  entry["order"] = p.epsilon.order;
  entry["accountant"] = AccountantName(kind_);
  entry["model_sha256"] = release.model_sha256;
  entry["prev_hash"] = head_hash_;
  const std::string hash = Sha256Hex(entry.dump());
  FEDSEG_ASSIGN_OR_RETURN(std::string signature,
                          SignLedgerHash(key_->pkey.get(), hash, kLedgerSignatureContext));
  entry["hash"] = hash;
  entry["signature"] = signature;
  const std::string line = entry.dump();
  if (line.size() > kMaxLedgerLineBytes) {
    return Status::InvalidArgument("ledger entry is " + std::to_string(line.size()) +
                                   " bytes, over the " + std::to_string(kMaxLedgerLineBytes) +
                                   "-byte line limit");
  }
  Status written = AppendLineDurable(path_, line);
  if (!written.ok()) {
    failed_ = true;  // part of the line may be on disk
    return written;
  }
  accountant_ = std::move(p.accountant);
  head_hash_ = hash;
  ++entries_;
  expected_size_ += line.size() + 1;
  return entry;
}

Result<EpsilonResult> LedgerWriter::EpsilonIfAppended(const LedgerRelease& release) const {
  return EpsilonIfAppended(release, kind_);
}

Result<EpsilonResult> LedgerWriter::EpsilonIfAppended(const LedgerRelease& release,
                                                      AccountantKind kind) const {
  FEDSEG_ASSIGN_OR_RETURN(PreparedRelease p, Prepare(accountant_, kind, release));
  return p.epsilon;
}

Result<EpsilonResult> LedgerWriter::EpsilonIfAppended(const std::vector<LedgerRelease>& releases,
                                                      AccountantKind kind) const {
  if (releases.empty()) return CurrentEpsilon(0.5);
  Accountant with = accountant_;
  for (const LedgerRelease& r : releases) {
    FEDSEG_ASSIGN_OR_RETURN(LedgerMechanism mech, ParseLedgerMechanism(r.mechanism, r.params));
    FEDSEG_RETURN_IF_ERROR(CheckDelta(r.delta));
    FEDSEG_RETURN_IF_ERROR(CheckLedgerModelHash(r.model_sha256, mech.sampled));
    FEDSEG_RETURN_IF_ERROR(mech.AddTo(with));
  }
  return with.GetEpsilon(kind, releases.back().delta);
}

Result<EpsilonResult> LedgerWriter::CurrentEpsilon(double delta) const {
  FEDSEG_RETURN_IF_ERROR(CheckDelta(delta));
  // With nothing released the exact answer is 0; the RDP conversion of an empty accountant would
  // report a small positive number (the conversion's own slack at the largest order).
  if (entries_ == 0) return EpsilonResult{0.0, 0.0};
  return accountant_.GetEpsilon(kind_, delta);
}

}  // namespace fedseg::privacy
