#include "coordinator/config.h"

#include <boost/asio/ip/address.hpp>
#include <cmath>
#include <set>

#include "common/base/json_config.h"
#include "common/net/tcp_keepalive.h"

namespace fedseg::coordinator {
using nlohmann::json;
using Reader = JsonConfigReader;

Result<CoordinatorConfig> CoordinatorConfigFromJson(const json& j, const std::string& source) {
  if (!j.is_object()) return Status::InvalidArgument(source + ": the config must be a JSON object");
  CoordinatorConfig c;
  Reader r(j, "", source);
  {
    Reader l = r.Sub("listen");
    l.Get("host", &c.host);
    l.Get("port", &c.port);
    r.Merge(l.Finish());
  }
  {
    Reader t = r.Sub("tls");
    t.Get("ca", &c.tls.ca_file);
    t.Get("cert", &c.tls.cert_file);
    t.Get("key", &c.tls.key_file);
    r.Merge(t.Finish());
  }
  r.Get("regions", &c.regions);
  r.Get("run_dir", &c.run_dir);
  {
    Reader d = r.Sub("data");
    d.Get("label", &c.data.label);
    d.Get("categorical", &c.data.categorical);
    d.Get("numeric", &c.data.numeric);
    d.Get("drop", &c.data.drop);
    d.Get("test_fraction", &c.data.test_fraction);
    d.Get("split_seed", &c.data.split_seed);
    d.Get("min_category_count", &c.min_category_count);
    d.Get("bounds", &c.data.bounds);
    r.Merge(d.Finish());
  }
  {
    Reader m = r.Sub("model");
    m.Get("hidden", &c.hidden);
    m.Get("seed", &c.seed);
    r.Merge(m.Finish());
  }
  {
    Reader t = r.Sub("training");
    t.Get("rounds", &c.rounds);
    t.Get("local_epochs", &c.plan.local_epochs);
    t.Get("batch_size", &c.plan.batch_size);
    t.Get("optimizer", &c.plan.optimizer.name);
    t.Get("learning_rate", &c.plan.optimizer.learning_rate);
    t.Get("momentum", &c.plan.optimizer.momentum);
    t.Get("l2", &c.plan.optimizer.weight_decay);
    t.Get("class_weight", &c.plan.class_weight);
    r.Merge(t.Finish());
  }
  {
    Reader f = r.Sub("federation");
    f.Get("fraction", &c.fraction);
    f.Get("min_regions", &c.min_regions);
    f.Get("round_deadline_s", &c.round_deadline_s);
    f.Get("join_timeout_s", &c.join_timeout_s);
    f.Get("summary_deadline_s", &c.summary_deadline_s);
    f.Get("hello_timeout_s", &c.hello_timeout_s);
    f.Get("dead_peer_timeout_s", &c.dead_peer_timeout_s);
    f.Get("max_frame_bytes", &c.max_frame_bytes);
    f.Get("max_connections", &c.max_connections);
    r.Merge(f.Finish());
  }
  {
    Reader s = r.Sub("strategy");
    s.Get("name", &c.strategy.name);
    s.Get("server_learning_rate", &c.strategy.server_learning_rate);
    s.Get("server_momentum", &c.strategy.server_momentum);
    s.Get("beta1", &c.strategy.beta1);
    s.Get("beta2", &c.strategy.beta2);
    s.Get("tau", &c.strategy.tau);
    r.Merge(s.Finish());
  }
  {
    Reader p = r.Sub("privacy");
    p.Get("dp", &c.plan.dp);
    p.Get("clip_norm", &c.plan.dp_clip_norm);
    p.Get("noise_multiplier", &c.plan.dp_noise_multiplier);
    p.Get("stats_noise_multiplier", &c.stats_noise_multiplier);
    r.Merge(p.Finish());
  }
  {
    Reader s = r.Sub("status");
    s.Get("enabled", &c.status.enabled);
    s.Get("listen", &c.status.listen);
    s.Get("port", &c.status.port);
    s.Get("require_client_cert", &c.status.require_client_cert);
    s.Get("max_connections", &c.status.max_connections);
    r.Merge(s.Finish());
  }
  FEDSEG_RETURN_IF_ERROR(r.Finish());
  c.plan.total_rounds = c.rounds;
  Status st = c.Validate();
  if (!st.ok()) return st.WithContext(source);
  return c;
}

Status CoordinatorConfig::Validate() const {
  if (tls.ca_file.empty() || tls.cert_file.empty() || tls.key_file.empty()) {
    return Status::InvalidArgument("tls.ca, tls.cert and tls.key are required");
  }
  if (regions.empty()) return Status::InvalidArgument("regions: list at least one allowed region");
  std::set<std::string> uniq(regions.begin(), regions.end());
  if (uniq.size() != regions.size()) return Status::InvalidArgument("regions: duplicate names");
  if (data.label.empty()) return Status::InvalidArgument("data.label is required");
  if (!(data.test_fraction >= 0 && data.test_fraction < 1)) {
    return Status::InvalidArgument("data.test_fraction must be in [0, 1)");
  }
  if (rounds < 1 || rounds > 100000) {
    return Status::InvalidArgument("training.rounds must be in [1, 100000], got " +
                                   std::to_string(rounds));
  }
  if (!(fraction > 0 && fraction <= 1)) {
    return Status::InvalidArgument("federation.fraction must be in (0, 1]");
  }
  if (min_regions < 1 || min_regions > static_cast<int>(regions.size())) {
    return Status::InvalidArgument("federation.min_regions must be in [1, " +
                                   std::to_string(regions.size()) + "] (the number of regions), got " +
                                   std::to_string(min_regions));
  }
  for (double t : {round_deadline_s, join_timeout_s, summary_deadline_s, hello_timeout_s}) {
    if (!(t > 0) || !std::isfinite(t)) {
      return Status::InvalidArgument("federation deadlines must be finite and positive");
    }
  }
  if (Status st = net::TcpKeepalive{std::chrono::seconds(dead_peer_timeout_s)}.Validate(); !st.ok()) {
    return st.WithContext("federation.dead_peer_timeout_s");
  }
  if (max_frame_bytes < 4096) return Status::InvalidArgument("max_frame_bytes must be >= 4096");
  if (max_connections < 1) return Status::InvalidArgument("max_connections must be >= 1");
  if (!(stats_noise_multiplier >= 0)) {
    return Status::InvalidArgument("privacy.stats_noise_multiplier must be >= 0");
  }
  for (const auto& [col, b] : data.bounds) {
    if (b.size() != 2 || !(b[0] <= b[1])) {
      return Status::InvalidArgument("data.bounds." + col + " must be [lo, hi] with lo <= hi");
    }
  }
  FEDSEG_RETURN_IF_ERROR(status.Validate(port));
  ml::ModelSpec probe{1, hidden, 2};
  FEDSEG_RETURN_IF_ERROR(probe.Validate().WithContext("model.hidden"));
  FEDSEG_RETURN_IF_ERROR(plan.Validate().WithContext("training"));
  return strategy.Validate().WithContext("strategy");
}

Status StatusConfig::Validate(uint16_t federation_port) const {
  // Checked even while disabled, so switching it on later cannot reveal an old typo.
  boost::system::error_code ec;
  boost::asio::ip::make_address(listen, ec);
  if (ec) {
    return Status::InvalidArgument(
        "status.listen must be an IP address such as 127.0.0.1 or ::1, "
        "got '" +
        listen + "'");
  }
  if (port < 0 || port > 65535) {
    return Status::InvalidArgument("status.port must be in [0, 65535] (0 = any free port), got " +
                                   std::to_string(port));
  }
  if (enabled && port != 0 && port == federation_port) {
    return Status::InvalidArgument("status.port (" + std::to_string(port) +
                                   ") must differ from listen.port, the federation's port");
  }
  if (max_connections < 1 || max_connections > 1024) {
    return Status::InvalidArgument("status.max_connections must be in [1, 1024], got " +
                                   std::to_string(max_connections));
  }
  return Status::OK();
}

nlohmann::json CoordinatorConfig::ToJson() const {
  return {
      {"listen", {{"host", host}, {"port", port}}},
      {"tls", {{"ca", tls.ca_file}, {"cert", tls.cert_file}, {"key", tls.key_file}}},
      {"regions", regions},
      {"run_dir", run_dir},
      {"data",
       {{"label", data.label},
        {"categorical", data.categorical},
        {"numeric", data.numeric},
        {"drop", data.drop},
        {"test_fraction", data.test_fraction},
        {"split_seed", data.split_seed},
        {"bounds", data.bounds},
        {"min_category_count", min_category_count}}},
      {"model", {{"hidden", hidden}, {"seed", seed}}},
      {"training",
       {{"rounds", rounds},
        {"local_epochs", plan.local_epochs},
        {"batch_size", plan.batch_size},
        {"optimizer", plan.optimizer.name},
        {"learning_rate", plan.optimizer.learning_rate},
        {"momentum", plan.optimizer.momentum},
        {"l2", plan.optimizer.weight_decay},
        {"class_weight", plan.class_weight}}},
      {"federation",
       {{"fraction", fraction},
        {"min_regions", min_regions},
        {"round_deadline_s", round_deadline_s},
        {"join_timeout_s", join_timeout_s},
        {"summary_deadline_s", summary_deadline_s},
        {"hello_timeout_s", hello_timeout_s},
        {"dead_peer_timeout_s", dead_peer_timeout_s},
        {"max_frame_bytes", max_frame_bytes},
        {"max_connections", max_connections}}},
      {"strategy",
       {{"name", strategy.name},
        {"server_learning_rate", strategy.server_learning_rate},
        {"server_momentum", strategy.server_momentum},
        {"beta1", strategy.beta1},
        {"beta2", strategy.beta2},
        {"tau", strategy.tau}}},
      {"privacy",
       {{"dp", plan.dp},
        {"clip_norm", plan.dp_clip_norm},
        {"noise_multiplier", plan.dp_noise_multiplier},
        {"stats_noise_multiplier", stats_noise_multiplier}}},
      {"status",
       {{"enabled", status.enabled},
        {"listen", status.listen},
        {"port", status.port},
        {"require_client_cert", status.require_client_cert},
        {"max_connections", status.max_connections}}},
  };
}

Result<CoordinatorConfig> LoadCoordinatorConfig(const std::string& path,
                                                const nlohmann::json& overrides) {
  FEDSEG_ASSIGN_OR_RETURN(json j, LoadJsonConfig(path, overrides));
  return CoordinatorConfigFromJson(j, path);
}

}  // namespace fedseg::coordinator
