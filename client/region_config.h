// A region node's configuration for `fedseg-client join`: a JSON file (docs/configuration.md),
// validated once into a RegionConfig. The fields are declared once, in RegionConfigFields(): the
// reader, ToJson and the documentation test walk that table.
#ifndef FEDSEG_CLIENT_REGION_CONFIG_H_
#define FEDSEG_CLIENT_REGION_CONFIG_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/base/json_config.h"
#include "common/base/status.h"
#include "common/net/tls.h"

namespace fedseg::client {

struct RegionConfig {
  std::string region;               // identity; defaults to the certificate's subject CN
  std::string coordinator_host = "127.0.0.1";
  uint16_t coordinator_port = 7443;
  net::TlsConfig tls;
  std::string train_data;           // the region's private table (CSV)
  std::string spec_file;            // or: a feature spec over its raw sources (docs/features.md)
  std::string test_data;            // optional held-out table; else a stratified split
  std::string id_column;
  std::string delimiter;            // "", ",", ";", "tab", "|"
  double min_category_count = 10;   // categories held by fewer rows are not sent (k)
  std::string model_out;            // where to save the final global model (optional)
  int threads = 0;                  // OpenMP threads for local training (0 = all cores)
  int connect_timeout_ms = 10000;
  int receive_timeout_s = 1800;     // the longest silence tolerated between two messages
  int backoff_initial_ms = 250;     // reconnect: exponential backoff with full jitter
  int backoff_max_ms = 15000;
  int give_up_after_s = 900;        // stop reconnecting after this long without a connection
  int dead_peer_timeout_s = 60;     // drop the connection when the coordinator is unreachable
                                    // this long (TCP keepalive); 0 = off
  // Privacy (DP-SGD budget of this region).
  double epsilon_budget = 0.0;      // 0 = no budget (DP only if the coordinator's plan asks)
  double delta = 0.0;               // 0 = 1 / (10 n)
  std::string accountant = "pld";   // "pld" or "rdp": how ε is computed, calibrated and recorded
  std::string ledger;               // privacy ledger (JSON lines); default
                                    // privacy-ledger-<region>.jsonl in the working directory
  // Past this noise multiplier the region's updates are mostly noise: it declines the round
  // instead of training (docs/privacy.md, "Noise ceiling").
  double max_noise_multiplier = 10.0;
  bool insecure_seeded_noise = false;  // TEST ONLY: deterministic DP noise
  uint64_t noise_seed = 0;

  Status Validate() const;
  nlohmann::json ToJson() const;
};

// Every field of the config file, in reading order (the rows of docs/configuration.md's region
// table).
const std::vector<ConfigField<RegionConfig>>& RegionConfigFields();

Result<RegionConfig> LoadRegionConfig(const std::string& path, const nlohmann::json& overrides = {});
// The same from parsed JSON; `source` names it in messages.
Result<RegionConfig> RegionConfigFromJson(const nlohmann::json& j, const std::string& source);

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_REGION_CONFIG_H_
