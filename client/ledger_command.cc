#include "client/ledger_command.h"

#include <iostream>

#include "common/net/x509_identity.h"
#include "privacy/ledger/init.h"

namespace fedseg::client {

Result<LedgerInitReport> InitRegionLedger(const RegionConfig& config) {
  if (!config.dp_mode()) {
    return Status::InvalidArgument(
        "privacy.mode is \"none\": a region that opted out of differential privacy has no "
        "budget and keeps no ledger");
  }
  std::string region = config.region;
  if (region.empty()) {
    FEDSEG_ASSIGN_OR_RETURN(region, net::CertificateFileCommonName(config.tls.cert_file));
  }
  privacy::LedgerInitOptions o;
  o.ledger_path = config.ledger;
  o.key_path = config.LedgerKeyPath();
  o.region = region;
  o.epsilon_budget = config.epsilon_budget;
  o.delta = config.delta;
  FEDSEG_ASSIGN_OR_RETURN(privacy::LedgerInitResult r, privacy::InitLedger(o));
  return LedgerInitReport{o.ledger_path, o.key_path, region, r.genesis_hash};
}

void AddLedgerCommand(CLI::App& app, LedgerArgs& args, int* exit_code) {
  CLI::App* ledger = app.add_subcommand("ledger", "The region's privacy ledger");
  ledger->require_subcommand(1);
  CLI::App* init = ledger->add_subcommand(
      "init",
      "Create the region's privacy ledger (privacy.ledger) and its own signing key "
      "(privacy.ledger_key, mode 0600), recording the budget; once per region: an existing "
      "ledger or key is never replaced");
  init->add_option("--config", args.config_path, "Region config (JSON)")->required();
  init->callback([&args, exit_code] {
    Result<RegionConfig> config = LoadRegionConfig(args.config_path);
    if (!config.ok()) {
      std::cerr << "error: " << config.status().message() << "\n";
      *exit_code = 2;
      return;
    }
    Result<LedgerInitReport> r = InitRegionLedger(*config);
    if (!r.ok()) {
      std::cerr << "error: ledger init (" << args.config_path << "): " << r.status().message()
                << "\n";
      *exit_code = r.status().IsInvalidArgument() ? 2 : 1;
      return;
    }
    std::cout << "created ledger " << r->ledger << " for region " << r->region
              << " (budget epsilon " << config->epsilon_budget << " at delta " << config->delta
              << "), signing key " << r->key << " (mode 0600)\nhead " << r->genesis_hash << "\n";
    *exit_code = 0;
  });
}

}  // namespace fedseg::client
