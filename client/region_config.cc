#include "client/region_config.h"

#include <cmath>

#include "common/base/json_config.h"
#include "common/data/category_policy.h"
#include "common/net/tcp_keepalive.h"

namespace fedseg::client {

Status RegionConfig::Validate() const {
  if (tls.ca_file.empty() || tls.cert_file.empty() || tls.key_file.empty()) {
    return Status::InvalidArgument("tls.ca, tls.cert and tls.key are required");
  }
  if (train_data.empty() == spec_file.empty()) {
    return Status::InvalidArgument("give data.train (a feature table) or data.spec (a feature spec), not both");
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
  if (Status st = net::TcpKeepalive{std::chrono::seconds(dead_peer_timeout_s)}.Validate(); !st.ok()) {
    return st.WithContext("coordinator.dead_peer_timeout_s");
  }
  if (!(epsilon_budget >= 0) || !(delta >= 0 && delta < 1)) {
    return Status::InvalidArgument("privacy.epsilon_budget must be >= 0 and privacy.delta in [0, 1)");
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
      Field<C>("output.model", [](auto& c) -> auto& { return c.model_out; },
               "where to save the final global model (a `.fsm` model file)", "none"),
      Field<C>("privacy.epsilon_budget", [](auto& c) -> auto& { return c.epsilon_budget; },
               "this region's ε budget (`0` = none)"),
      Field<C>("privacy.delta", [](auto& c) -> auto& { return c.delta; },
               "δ of the region's guarantee", "`1/(10 n)`"),
      Field<C>("privacy.accountant", [](auto& c) -> auto& { return c.accountant; },
               "`pld` (privacy-loss distribution) or `rdp` (Rényi DP): the accountant that "
               "calibrates the noise and computes the ε recorded in the ledger (see "
               "[accountant.md](accountant.md))",
               "`pld`"),
      Field<C>("privacy.ledger", [](auto& c) -> auto& { return c.ledger; },
               "the region's signed privacy ledger (JSON lines, see [ledger.md](ledger.md)); keep "
               "it for the region's lifetime: it carries the spent budget across runs",
               "`privacy-ledger-<region>.jsonl`"),
      Field<C>("privacy.max_noise_multiplier",
               [](auto& c) -> auto& { return c.max_noise_multiplier; },
               "the region declines a DP-SGD round whose noise multiplier (fixed by the "
               "coordinator or calibrated to the remaining budget) would exceed this: past it "
               "updates are mostly noise (see [privacy.md](privacy.md#noise-ceiling))"),
      Field<C>("privacy.insecure_seeded_noise",
               [](auto& c) -> auto& { return c.insecure_seeded_noise; },
               "TEST ONLY: deterministic DP noise from `noise_seed`"),
      Field<C>("privacy.noise_seed", [](auto& c) -> auto& { return c.noise_seed; },
               "seed for the test-only switch"),
  };
}

}  // namespace

const std::vector<ConfigField<RegionConfig>>& RegionConfigFields() {
  static const Fields* fields = new Fields(MakeFields());
  return *fields;
}

nlohmann::json RegionConfig::ToJson() const { return WriteConfigFields(RegionConfigFields(), *this); }

Result<RegionConfig> RegionConfigFromJson(const nlohmann::json& j, const std::string& source) {
  if (!j.is_object()) return Status::InvalidArgument(source + ": the config must be a JSON object");
  RegionConfig c;
  FEDSEG_RETURN_IF_ERROR(ReadConfigFields(j, source, RegionConfigFields(), &c));
  Status st = c.Validate();
  if (!st.ok()) return st.WithContext(source);
  return c;
}

Result<RegionConfig> LoadRegionConfig(const std::string& path, const nlohmann::json& overrides) {
  FEDSEG_ASSIGN_OR_RETURN(nlohmann::json j, LoadJsonConfig(path, overrides));
  return RegionConfigFromJson(j, path);
}

}  // namespace fedseg::client
