#include "client/region_config.h"

#include "common/base/json_config.h"
#include "common/net/tcp_keepalive.h"

namespace fedseg::client {

Status RegionConfig::Validate() const {
  if (tls.ca_file.empty() || tls.cert_file.empty() || tls.key_file.empty()) {
    return Status::InvalidArgument("tls.ca, tls.cert and tls.key are required");
  }
  if (train_data.empty()) return Status::InvalidArgument("data.train is required");
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
  return Status::OK();
}

Result<RegionConfig> LoadRegionConfig(const std::string& path, const nlohmann::json& overrides) {
  FEDSEG_ASSIGN_OR_RETURN(nlohmann::json j, LoadJsonConfig(path, overrides));
  RegionConfig c;
  JsonConfigReader r(j, "", path);
  r.Get("region", &c.region);
  r.Get("threads", &c.threads);
  {
    JsonConfigReader o = r.Sub("coordinator");
    o.Get("host", &c.coordinator_host);
    o.Get("port", &c.coordinator_port);
    o.Get("connect_timeout_ms", &c.connect_timeout_ms);
    o.Get("receive_timeout_s", &c.receive_timeout_s);
    o.Get("backoff_initial_ms", &c.backoff_initial_ms);
    o.Get("backoff_max_ms", &c.backoff_max_ms);
    o.Get("give_up_after_s", &c.give_up_after_s);
    o.Get("dead_peer_timeout_s", &c.dead_peer_timeout_s);
    r.Merge(o.Finish());
  }
  {
    JsonConfigReader o = r.Sub("tls");
    o.Get("ca", &c.tls.ca_file);
    o.Get("cert", &c.tls.cert_file);
    o.Get("key", &c.tls.key_file);
    r.Merge(o.Finish());
  }
  {
    JsonConfigReader o = r.Sub("data");
    o.Get("train", &c.train_data);
    o.Get("test", &c.test_data);
    o.Get("id_column", &c.id_column);
    o.Get("delimiter", &c.delimiter);
    r.Merge(o.Finish());
  }
  {
    JsonConfigReader o = r.Sub("output");
    o.Get("model", &c.model_out);
    r.Merge(o.Finish());
  }
  {
    JsonConfigReader o = r.Sub("privacy");
    o.Get("epsilon_budget", &c.epsilon_budget);
    o.Get("delta", &c.delta);
    o.Get("ledger", &c.ledger);
    o.Get("insecure_seeded_noise", &c.insecure_seeded_noise);
    o.Get("noise_seed", &c.noise_seed);
    r.Merge(o.Finish());
  }
  FEDSEG_RETURN_IF_ERROR(r.Finish());
  Status st = c.Validate();
  if (!st.ok()) return st.WithContext(path);
  return c;
}

}  // namespace fedseg::client
