// `fedseg-client ledger init --config F`: creates the region's privacy ledger once, with a
// ledger-signing key the region generates itself (privacy/ledger/init.h). A region in mode dp
// cannot join before this has run, and it refuses to run twice.
#ifndef FEDSEG_CLIENT_LEDGER_COMMAND_H_
#define FEDSEG_CLIENT_LEDGER_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "client/region_config.h"
#include "common/base/status.h"

namespace fedseg::client {

struct LedgerArgs {
  std::string config_path;  // the region's config (JSON)
};

// What `ledger init` made: the ledger, its key and the genesis hash (the ledger's first head).
struct LedgerInitReport {
  std::string ledger, key, region, genesis_hash;
};

// Creates the ledger of `config` (mode dp: privacy.ledger, privacy.ledger_key, the budget and
// delta, the region or its certificate's CN). Errors name the config field or the file.
Result<LedgerInitReport> InitRegionLedger(const RegionConfig& config);

// Registers `ledger init` on `app`; its callback stores the exit code in *exit_code (0 created,
// 1 refused or failed, 2 a bad config).
void AddLedgerCommand(CLI::App& app, LedgerArgs& args, int* exit_code);

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_LEDGER_COMMAND_H_
