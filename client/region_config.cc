#include "client/region_config.h"

#include <cmath>
#include <filesystem>

#include "common/base/json_config.h"
#include "common/data/category_policy.h"
#include "common/net/tcp_keepalive.h"

namespace fedseg::client {

Status RegionConfig::Validate() const {
  if (tls.ca_file.empty() || tls.cert_file.empty() || tls.key_file.empty()) {
    return Status::InvalidArgument("tls.ca, tls.cert and tls.key are required");
  }
  if (train_data.empty() == spec_file.empty()) {
    return Status::InvalidArgument(
        "give data.train (a feature table) or data.spec (a feature spec), not both");
  }
  if (coordinator_host.empty()) return Status::InvalidArgument("coordinator.host is required");
  if (delimiter != "" && delimiter != "," && delimiter != ";" && delimiter != "tab" &&
      delimiter != "|") {
    return Status::InvalidArgument("data.delimiter must be ',', ';', 'tab' or '|'");
  }
  if (threads < 0) return Status::InvalidArgument("threads must be >= 0");
  if (connect_timeout_ms < 1 || receive_timeout_s < 1 || backoff_initial_ms < 1 ||
      backoff_max_ms < backoff_initial_ms || give_up_after_s < 1) {
    return Status::InvalidArgument("reconnect timings must be positive (and max >= initial)");
  }
  if (Status st = net::TcpKeepalive{std::chrono::seconds(dead_peer_timeout_s)}.Validate();
      !st.ok()) {
    return st.WithContext("coordinator.dead_peer_timeout_s");
  }
  if (mode != "" && mode != "dp" && mode != "none") {
    return Status::InvalidArgument("privacy.mode must be \"dp\" or \"none\", got \"" +
                                   mode.substr(0, 64) + "\"");
  }
  if (!(epsilon_budget >= 0) || !std::isfinite(epsilon_budget)) {
    return Status::InvalidArgument("privacy.epsilon_budget must be a finite number >= 0");
  }
  if (mode.empty() && epsilon_budget == 0) {
    return Status::InvalidArgument(
        "privacy.mode is required when no privacy.epsilon_budget is set: \"dp\" (with a budget) "
        "or \"none\" to opt out of differential privacy explicitly (this region's statistics, "
        "updates and evaluations are then sent exactly)");
  }
  if (mode == "none" && epsilon_budget > 0) {
    return Status::InvalidArgument(
        "privacy.epsilon_budget is set but privacy.mode is \"none\": remove the budget, or use "
        "mode \"dp\"");
  }
  if (mode == "dp" && !(epsilon_budget > 0)) {
    return Status::InvalidArgument("privacy.mode \"dp\" needs privacy.epsilon_budget > 0");
  }
  if (!(delta > 0 && delta < 1)) {
    return Status::InvalidArgument("privacy.delta must be in (0, 1)");
  }
  // A relative ledger path moves with the working directory, and a ledger not found there is an
  // error: absolute paths only, so the spent budget cannot be left behind by a `cd`.
  if (!ledger.empty() && !std::filesystem::path(ledger).is_absolute()) {
    return Status::InvalidArgument("privacy.ledger must be an absolute path, got \"" +
                                   ledger.substr(0, 200) + "\"");
  }
  if (!ledger_key.empty() && !std::filesystem::path(ledger_key).is_absolute()) {
    return Status::InvalidArgument("privacy.ledger_key must be an absolute path, got \"" +
                                   ledger_key.substr(0, 200) + "\"");
  }
  if (dp_mode() && ledger.empty()) {
    return Status::InvalidArgument(
        "privacy.ledger is required in mode dp: the absolute path of the region's ledger, "
        "created once with `fedseg-client ledger init --config <this file>`");
  }
  if (!ledger.empty() && (LedgerKeyPath() == tls.key_file || LedgerKeyPath() == ledger)) {
    return Status::InvalidArgument(
        "privacy.ledger_key must be a file of its own, not tls.key or the ledger: the ledger is "
        "signed with a key the region keeps apart from its TLS key");
  }
  if (!(min_noise_multiplier > 0) || !std::isfinite(min_noise_multiplier)) {
    return Status::InvalidArgument("privacy.min_noise_multiplier must be a finite number > 0");
  }
  if (!(max_clip_norm > 0) || !std::isfinite(max_clip_norm)) {
    return Status::InvalidArgument("privacy.max_clip_norm must be a finite number > 0");
  }
  if (!(max_sampling_rate > 0 && max_sampling_rate <= 1)) {
    return Status::InvalidArgument("privacy.max_sampling_rate must be in (0, 1]");
  }
  if (max_steps_per_round < 1) {
    return Status::InvalidArgument("privacy.max_steps_per_round must be >= 1");
  }
  if (!(min_stats_noise_multiplier >= 0) || !std::isfinite(min_stats_noise_multiplier)) {
    return Status::InvalidArgument(
        "privacy.min_stats_noise_multiplier must be a finite number >= 0");
  }
  if (evaluation != "noisy" && evaluation != "off") {
    return Status::InvalidArgument("privacy.evaluation must be \"noisy\" or \"off\", got \"" +
                                   evaluation.substr(0, 64) + "\"");
  }
  if (!(evaluation_noise_multiplier > 0) || !std::isfinite(evaluation_noise_multiplier)) {
    return Status::InvalidArgument(
        "privacy.evaluation_noise_multiplier must be a finite number > 0");
  }
  if (evaluations_reserved < 0 || evaluations_reserved > 1000) {
    return Status::InvalidArgument("privacy.evaluations_reserved must be in [0, 1000]");
  }
  if (row_count_bucket < 1) {
    return Status::InvalidArgument("privacy.row_count_bucket must be >= 1");
  }
  if (!(test_fraction > 0 && test_fraction < 1)) {
    return Status::InvalidArgument("data.test_fraction must be in (0, 1)");
  }
  if (accountant != "pld" && accountant != "rdp") {
    return Status::InvalidArgument("privacy.accountant must be \"pld\" or \"rdp\", got \"" +
                                   accountant.substr(0, 64) + "\"");
  }
  if (Status st = data::CategoryPolicy{min_category_count}.Validate(); !st.ok()) {
    return st.WithContext("data.min_category_count");
  }
  if (!(max_noise_multiplier > 0) || !std::isfinite(max_noise_multiplier)) {
    return Status::InvalidArgument("privacy.max_noise_multiplier must be a finite number > 0");
  }
  if (min_noise_multiplier > max_noise_multiplier) {
    return Status::InvalidArgument(
        "privacy.min_noise_multiplier must not exceed privacy.max_noise_multiplier");
  }
  return Status::OK();
}

namespace {

using Fields = std::vector<ConfigField<RegionConfig>>;

Fields MakeFields() {
  using C = RegionConfig;
  return {
      Field<C>("region", [](auto& c) -> auto& { return c.region; },
               "this region's identity; must equal its certificate's subject CN",
               "the certificate's CN"),
      Field<C>("threads", [](auto& c) -> auto& { return c.threads; },
               "OpenMP threads for local training (`0` = all cores)"),
      Field<C>("coordinator.host", [](auto& c) -> auto& { return c.coordinator_host; },
               "the coordinator's address (must match its certificate's SAN)"),
      Field<C>("coordinator.port", [](auto& c) -> auto& { return c.coordinator_port; },
               "its port"),
      Field<C>("coordinator.connect_timeout_ms",
               [](auto& c) -> auto& { return c.connect_timeout_ms; },
               "TCP connect + TLS handshake deadline"),
      Field<C>("coordinator.receive_timeout_s", [](auto& c) -> auto& { return c.receive_timeout_s; },
               "longest silence tolerated from the coordinator"),
      Field<C>("coordinator.backoff_initial_ms",
               [](auto& c) -> auto& { return c.backoff_initial_ms; },
               "first reconnect delay (exponential backoff, full jitter)"),
      Field<C>("coordinator.backoff_max_ms", [](auto& c) -> auto& { return c.backoff_max_ms; },
               "largest reconnect delay"),
      Field<C>("coordinator.give_up_after_s", [](auto& c) -> auto& { return c.give_up_after_s; },
               "stop reconnecting after this long without a connection"),
      Field<C>("coordinator.dead_peer_timeout_s",
               [](auto& c) -> auto& { return c.dead_peer_timeout_s; },
               "drop the connection and reconnect when the coordinator has been unreachable this "
               "long (TCP keepalive); `0` = off, else 2–86400"),
      Field<C>("tls.ca", [](auto& c) -> auto& { return c.tls.ca_file; }, "the federation CA",
               "required"),
      Field<C>("tls.cert", [](auto& c) -> auto& { return c.tls.cert_file; },
               "this region's certificate (clientAuth, CN = region)", "required"),
      Field<C>("tls.key", [](auto& c) -> auto& { return c.tls.key_file; }, "its private key",
               "required"),
      Field<C>("data.train", [](auto& c) -> auto& { return c.train_data; },
               "the region's private user table (CSV)", "required unless `data.spec`"),
      Field<C>("data.spec", [](auto& c) -> auto& { return c.spec_file; },
               "a feature spec over the region's raw sources, in place of `data.train`; must "
               "define the same features as the coordinator's `data.feature_spec`",
               "none"),
      Field<C>("data.test", [](auto& c) -> auto& { return c.test_data; },
               "a separate held-out table; otherwise `data.test_fraction` of the rows, stratified",
               "none"),
      Field<C>("data.id_column", [](auto& c) -> auto& { return c.id_column; },
               "direct identifier column: never a feature", "none"),
      Field<C>("data.delimiter", [](auto& c) -> auto& { return c.delimiter; },
               "`,` `;` `tab` or `|`", "auto"),
      Field<C>("data.min_category_count", [](auto& c) -> auto& { return c.min_category_count; },
               "a category held by fewer training rows is not sent in the data summary (it encodes "
               "as 'other'); a categorical column whose values are nearly all distinct sends no "
               "category (an undeclared identifier, logged as a warning)"),
      Field<C>("data.test_fraction", [](auto& c) -> auto& { return c.test_fraction; },
               "without `data.test`: the share of the region's rows held out for evaluation "
               "(stratified); the region's choice, the coordinator's contract cannot change it"),
      Field<C>("data.split_seed", [](auto& c) -> auto& { return c.split_seed; },
               "seed of that split; the region's, not the coordinator's"),
      Field<C>("output.model", [](auto& c) -> auto& { return c.model_out; },
               "where to save the final global model (a `.fsm` model file)", "none"),
      Field<C>("privacy.mode", [](auto& c) -> auto& { return c.mode; },
               "`dp`: the region takes part only under DP-SGD and its own policy below, and "
               "declines any other plan; `none`: it opts out of differential privacy (exact "
               "statistics, updates and evaluations); a budget with `none` is an error",
               "`dp` with a budget, else required"),
      Field<C>("privacy.epsilon_budget", [](auto& c) -> auto& { return c.epsilon_budget; },
               "this region's ε budget over its lifetime (its ledger); required in mode `dp`",
               "required in mode `dp`"),
      Field<C>("privacy.delta", [](auto& c) -> auto& { return c.delta; },
               "δ of the region's guarantee, chosen by the operator (never derived from the row "
               "count)"),
      Field<C>("privacy.accountant", [](auto& c) -> auto& { return c.accountant; },
               "`pld` (privacy-loss distribution) or `rdp` (Rényi DP): the accountant that "
               "calibrates the noise and computes the ε recorded in the ledger (see "
               "[accountant.md](accountant.md))",
               "`pld`"),
      Field<C>("privacy.ledger", [](auto& c) -> auto& { return c.ledger; },
               "the region's signed privacy ledger (JSON lines, see [ledger.md](ledger.md)), an "
               "absolute path; created once by `fedseg-client ledger init --config F` (a missing "
               "ledger at join is an error, never a fresh budget); keep it for the region's "
               "lifetime: it carries the spent budget across runs",
               "required in mode `dp`"),
      Field<C>("privacy.ledger_key", [](auto& c) -> auto& { return c.ledger_key; },
               "the ledger's signing key (absolute path), generated by `ledger init` (mode 0600); "
               "the region's own, apart from its TLS key",
               "the ledger's path + `.key`"),
      Field<C>("privacy.min_noise_multiplier",
               [](auto& c) -> auto& { return c.min_noise_multiplier; },
               "mode `dp`: a plan whose fixed DP-SGD noise multiplier is below this is declined; a "
               "calibrated one is raised to it"),
      Field<C>("privacy.max_clip_norm", [](auto& c) -> auto& { return c.max_clip_norm; },
               "mode `dp`: a plan whose DP-SGD clip norm is above this is declined"),
      Field<C>("privacy.max_sampling_rate", [](auto& c) -> auto& { return c.max_sampling_rate; },
               "mode `dp`: a plan whose sampling rate q = batch size / training rows is above "
               "this is declined"),
      Field<C>("privacy.max_steps_per_round",
               [](auto& c) -> auto& { return c.max_steps_per_round; },
               "mode `dp`: a plan with more DP-SGD steps per round (local epochs / q) is declined"),
      Field<C>("privacy.min_stats_noise_multiplier",
               [](auto& c) -> auto& { return c.min_stats_noise_multiplier; },
               "mode `dp`: a data-summary request with a lower noise multiplier (`0`: exact "
               "statistics) is declined"),
      Field<C>("privacy.evaluation", [](auto& c) -> auto& { return c.evaluation; },
               "mode `dp`: `noisy` answers evaluate-only requests with a noisy evaluation summary "
               "charged to the ledger (training rounds carry none); `off` declines them"),
      Field<C>("privacy.evaluation_noise_multiplier",
               [](auto& c) -> auto& { return c.evaluation_noise_multiplier; },
               "mode `dp`: noise multiplier of the evaluation summary's three Gaussian mechanisms "
               "(confusion matrix, score histograms, clipped loss)"),
      Field<C>("privacy.evaluations_reserved",
               [](auto& c) -> auto& { return c.evaluations_reserved; },
               "mode `dp`: evaluations the DP-SGD calibration leaves budget for (the final one); "
               "a training round that would eat into them is declined"),
      Field<C>("privacy.row_count_bucket", [](auto& c) -> auto& { return c.row_count_bucket; },
               "mode `dp`: row counts are sent rounded up to a multiple of this (public by "
               "declaration); FedAvg weights and the sampling rate use the rounded count"),
      Field<C>("privacy.max_noise_multiplier",
               [](auto& c) -> auto& { return c.max_noise_multiplier; },
               "the region declines a DP-SGD round whose noise multiplier (fixed by the "
               "coordinator or calibrated to the remaining budget) would exceed this: past it "
               "updates are mostly noise (see [privacy.md](privacy.md#noise-ceiling))"),
      Field<C>("privacy.insecure_seeded_noise",
               [](auto& c) -> auto& { return c.insecure_seeded_noise; },
               "TEST ONLY: deterministic DP noise from `noise_seed`; only the test build "
               "`fedseg-client-seeded-noise` accepts it, the release `fedseg-client` refuses "
               "the config (see [security.md](security.md#seeded-noise))"),
      Field<C>("privacy.noise_seed", [](auto& c) -> auto& { return c.noise_seed; },
               "seed for the test-only switch"),
  };
}

}  // namespace

const std::vector<ConfigField<RegionConfig>>& RegionConfigFields() {
  static const Fields* fields = new Fields(MakeFields());
  return *fields;
}

nlohmann::json RegionConfig::ToJson() const {
  return WriteConfigFields(RegionConfigFields(), *this);
}

Result<RegionConfig> RegionConfigFromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) return Status::InvalidArgument(source + ": the config must be a JSON object");
  RegionConfig c;
  FEDSEG_RETURN_IF_ERROR(ReadConfigFields(j, source, RegionConfigFields(), &c));
  if (c.mode.empty() && c.epsilon_budget > 0) c.mode = "dp";  // a budget implies dp
  Status st = c.Validate();
  if (!st.ok()) return st.WithContext(source);
  return c;
}

Result<RegionConfig> LoadRegionConfig(const std::string& path, const nlohmann::json& overrides) {
  FEDSEG_ASSIGN_OR_RETURN(nlohmann::json j, LoadJsonConfig(path, overrides));
  return RegionConfigFromJson(j, path);
}

}  // namespace fedseg::client
