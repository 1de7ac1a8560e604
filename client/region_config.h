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
  std::string region;  // identity; defaults to the certificate's subject CN
  std::string coordinator_host = "127.0.0.1";
  uint16_t coordinator_port = 7443;
  net::TlsConfig tls;
  std::string train_data;  // the region's private table (CSV)
  std::string spec_file;   // or: a feature spec over its raw sources (docs/features.md)
  std::string test_data;   // optional held-out table; else a stratified split
  std::string id_column;
  std::string delimiter;           // "", ",", ";", "tab", "|"
  double min_category_count = 10;  // categories held by fewer rows are not sent (k)
  std::string model_out;           // where to save the final global model (optional)
  int threads = 0;                 // OpenMP threads for local training (0 = all cores)
  int connect_timeout_ms = 10000;
  int receive_timeout_s = 1800;  // the longest silence tolerated between two messages
  int backoff_initial_ms = 250;  // reconnect: exponential backoff with full jitter
  int backoff_max_ms = 15000;
  int give_up_after_s = 900;     // stop reconnecting after this long without a connection
  int dead_peer_timeout_s = 60;  // drop the connection when the coordinator is unreachable
                                 // this long (TCP keepalive); 0 = off
  // The region's own split of its table when it has no data.test: the coordinator's contract
  // carries a test_fraction and split_seed too, which the region ignores (it would let the
  // coordinator choose which private rows the model is evaluated on).
  double test_fraction = 0.2;
  uint64_t split_seed = 42;
  // Privacy policy (docs/privacy.md, "The region's privacy policy"): enforced by the region
  // whatever the coordinator asks; a plan outside it is declined, naming the rule.
  std::string mode;                 // "dp" or "none"; "" = "dp" when a budget is set, else an error
  double epsilon_budget = 0.0;      // required (> 0) in mode dp; must be 0 in mode none
  double delta = 1e-6;              // chosen by the operator, never derived from the row count
  std::string accountant = "pld";   // "pld" or "rdp": how ε is computed, calibrated and recorded
  std::string ledger;               // privacy ledger (JSON lines): absolute, required in mode dp;
                                    // created once by `fedseg-client ledger init`
  std::string ledger_key;           // its signing key (absolute); "" = ledger + ".key"
  // What a plan must respect in mode dp (floors and ceilings on the coordinator's choices).
  double min_noise_multiplier = 0.5;         // DP-SGD sigma, fixed or calibrated
  double max_clip_norm = 10.0;               // DP-SGD clip norm C
  double max_sampling_rate = 0.25;           // q = batch / training rows
  int64_t max_steps_per_round = 10000;       // DP-SGD steps = local epochs / q
  double min_stats_noise_multiplier = 30.0;  // sigma of the data summary's Gaussian mechanisms
  // Evaluation in mode dp (docs/privacy.md, "Evaluation"): "noisy" answers evaluate-only requests
  // with a noisy summary charged to the ledger (training rounds carry none); "off" declines them.
  std::string evaluation = "noisy";
  // Sigma of the evaluation's three Gaussian mechanisms. 20, not 10: the final evaluation is
  // released once per run, and at 10 it took a third of a budget of 1 (epsilon 0.66 to 1.0 at
  // delta 1e-6), so the smallest regions of the bundled table calibrated DP-SGD noise above the
  // ceiling and declined every round; at 20 all nine train and the histograms still choose a
  // decision rule with F1 above arg-max's (docs/quality.md, "Federation with differential privacy").
  double evaluation_noise_multiplier = 20.0;
  int evaluations_reserved = 1;  // evaluations the DP-SGD calibration leaves budget for
  // Mode dp: row counts leave the region only rounded up to a multiple of this (public by
  // declaration); FedAvg weights and the sampling rate q = batch / rows use the rounded count.
  int64_t row_count_bucket = 100;
  // Past this noise multiplier the region's updates are mostly noise: it declines the round
  // instead of training (docs/privacy.md, "Noise ceiling").
  double max_noise_multiplier = 10.0;
  // TEST ONLY: deterministic DP noise. Accepted only by the test build of the region binary
  // (fedseg-client-seeded-noise, compiled with FEDSEG_INSECURE_TEST_NOISE); the release
  // fedseg-client refuses a config that sets it (docs/security.md, "Seeded noise").
  bool insecure_seeded_noise = false;
  uint64_t noise_seed = 0;

  // True when the region's privacy mode is dp (stated, or implied by a budget).
  bool dp_mode() const { return mode == "dp" || (mode.empty() && epsilon_budget > 0); }
  // privacy.ledger_key, or the ledger's path + ".key" when it is not set.
  std::string LedgerKeyPath() const { return ledger_key.empty() ? ledger + ".key" : ledger_key; }
  Status Validate() const;
  nlohmann::json ToJson() const;
};

// Every field of the config file, in reading order (the rows of docs/configuration.md's region
// table).
const std::vector<ConfigField<RegionConfig>>& RegionConfigFields();

Result<RegionConfig> LoadRegionConfig(const std::string& path,
                                      const nlohmann::json& overrides = {});
// The same from parsed JSON; `source` names it in messages.
Result<RegionConfig> RegionConfigFromJson(const nlohmann::json& j, const std::string& source);

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_REGION_CONFIG_H_
