#include "privacy/ledger/init.h"

#include <openssl/crypto.h>
#include <unistd.h>

#include <cmath>
#include <ctime>
#include <filesystem>

#include "common/base/file_util.h"
#include "common/base/sha256.h"
#include "privacy/accounting/number_format.h"
#include "privacy/accounting/parameter_checks.h"
#include "privacy/ledger/entry.h"
#include "privacy/ledger/signer.h"

namespace fedseg::privacy {
namespace {

Status CheckNewAbsolutePath(const std::string& path, const char* what) {
  if (path.empty() || !std::filesystem::path(path).is_absolute()) {
    return Status::InvalidArgument(std::string(what) + " must be an absolute path, got \"" +
                                   path.substr(0, 200) + "\"");
  }
  std::error_code ec;
  if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found) {
    return Status::FailedPrecondition(
        std::string(what) + " " + path +
        " already exists: `ledger init` runs once per region and never replaces a ledger or its "
        "key (a new ledger would reset the region's spent budget)");
  }
  return Status::OK();
}

Status CheckLedgerInitOptions(const LedgerInitOptions& o) {
  FEDSEG_RETURN_IF_ERROR(CheckLedgerName(o.region, "region"));
  if (!(o.epsilon_budget > 0) || !std::isfinite(o.epsilon_budget)) {
    return Status::InvalidArgument("epsilon_budget must be finite and positive, got " +
                                   FormatShortest(o.epsilon_budget));
  }
  FEDSEG_RETURN_IF_ERROR(CheckDelta(o.delta));
  FEDSEG_RETURN_IF_ERROR(CheckNewAbsolutePath(o.ledger_path, "the ledger"));
  if (o.key_path == o.ledger_path) {
    return Status::InvalidArgument("the ledger key and the ledger must be different files");
  }
  return Status::OK();
}

Result<LedgerInitResult> WriteGenesis(const LedgerInitOptions& o) {
  FEDSEG_ASSIGN_OR_RETURN(PkeyPtr key, LoadLedgerPrivateKey(o.key_path));
  FEDSEG_RETURN_IF_ERROR(CheckLedgerKeyType(key.get(), o.key_path));
  FEDSEG_ASSIGN_OR_RETURN(std::string public_key, LedgerPublicKeyBase64(key.get()));
  nlohmann::json genesis =
      MakeLedgerGenesisContent(LedgerTimeUtc(), o.region, public_key, o.epsilon_budget, o.delta);
  const std::string hash = Sha256Hex(genesis.dump());
  FEDSEG_ASSIGN_OR_RETURN(std::string signature,
                          SignLedgerHash(key.get(), hash, kLedgerSignatureContext));
  genesis["hash"] = hash;
  genesis["signature"] = signature;
  Status wrote = CreateFileExclusive(o.ledger_path, genesis.dump() + "\n", 0600);
  if (!wrote.ok()) return wrote.WithContext("writing the ledger");
  return LedgerInitResult{hash, public_key};
}

}  // namespace

Result<LedgerInitResult> CreateLedgerWithKey(const LedgerInitOptions& o) {
  FEDSEG_RETURN_IF_ERROR(CheckLedgerInitOptions(o));
  return WriteGenesis(o);
}

Result<LedgerInitResult> InitLedger(const LedgerInitOptions& o) {
  FEDSEG_RETURN_IF_ERROR(CheckLedgerInitOptions(o));
  FEDSEG_RETURN_IF_ERROR(CheckNewAbsolutePath(o.key_path, "the ledger key"));
  FEDSEG_ASSIGN_OR_RETURN(std::string pem, GenerateLedgerKeyPem());
  Status wrote_key = CreateFileExclusive(o.key_path, pem, 0600);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!wrote_key.ok()) return wrote_key.WithContext("writing the ledger key");
  Result<LedgerInitResult> r = WriteGenesis(o);
  if (!r.ok()) ::unlink(o.key_path.c_str());  // ours: made a moment ago, never used
  return r;
}

}  // namespace fedseg::privacy
