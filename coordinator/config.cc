#include "coordinator/config.h"

#include <boost/asio/ip/address.hpp>
#include <cmath>
#include <set>

#include "common/base/json_config.h"
#include "common/net/tcp_keepalive.h"
#include "privacy/dpsgd/dp_sgd_params.h"

namespace fedseg::coordinator {
using nlohmann::json;
using Reader = JsonConfigReader;

namespace {

using Fields = std::vector<ConfigField<CoordinatorConfig>>;

Fields MakeFields() {
  using C = CoordinatorConfig;
  // strategy.name is a StrategyKind, read and written through its name table.
  ConfigField<C> strategy_name{
      "strategy.name",
      [](Reader& r, const char* key, C* c) {
        std::string name(StrategyKindName(c->strategy.kind));
        r.Get(key, &name);
        Result<StrategyKind> kind = ParseStrategyKind(name);
        if (kind.ok()) {
          c->strategy.kind = *kind;
        } else {
          r.Merge(kind.status().WithContext("strategy").WithContext(r.source()));
        }
      },
      [](const C& c) { return json(std::string(StrategyKindName(c.strategy.kind))); },
      FormatConfigDefault(std::string(StrategyKindName(StrategyConfig{}.kind))),
      "`fedavg`, `fedavgm` (server momentum) or `fedadam` (server Adam)"};
  return {
      Field<C>("listen.host", [](auto& c) -> auto& { return c.host; },
               "address to listen on (`0.0.0.0` for every interface)"),
      Field<C>("listen.port", [](auto& c) -> auto& { return c.port; },
               "TCP port (`0` = any free port)"),
      Field<C>("tls.ca", [](auto& c) -> auto& { return c.tls.ca_file; },
               "PEM of the federation's private CA; regions must present a certificate it issued",
               "required"),
      Field<C>("tls.cert", [](auto& c) -> auto& { return c.tls.cert_file; },
               "the coordinator's certificate (serverAuth, SAN = the names regions connect to)",
               "required"),
      Field<C>("tls.key", [](auto& c) -> auto& { return c.tls.key_file; },
               "its private key (keep mode 0600)", "required"),
      Field<C>("regions", [](auto& c) -> auto& { return c.regions; },
               "allowed region identities: the subject CN of each region's certificate",
               "required"),
      Field<C>("run_dir", [](auto& c) -> auto& { return c.run_dir; },
               "where `checkpoint.fsc`, `metrics.csv`, `report.json`, `report.html`, "
               "`final.fsm`, `coordinator.log` go"),
      Field<C>("data.label", [](auto& c) -> auto& { return c.data.label; },
               "the label column every region must have", "required"),
      Field<C>("data.categorical", [](auto& c) -> auto& { return c.data.categorical; },
               "columns every region treats as categorical (one-hot)"),
      Field<C>("data.numeric", [](auto& c) -> auto& { return c.data.numeric; },
               "columns every region treats as numeric (standardised)"),
      Field<C>("data.drop", [](auto& c) -> auto& { return c.data.drop; },
               "columns every region ignores"),
      Field<C>("data.test_fraction", [](auto& c) -> auto& { return c.data.test_fraction; },
               "stratified held-out share, for regions without a separate test table"),
      Field<C>("data.split_seed", [](auto& c) -> auto& { return c.data.split_seed; },
               "seed of that split"),
      Field<C>("data.min_category_count", [](auto& c) -> auto& { return c.min_category_count; },
               "a category enters the global vocabulary only with at least this merged (noisy) "
               "count; rarer values encode as 'other' (regions also hold back categories below "
               "their own `data.min_category_count`)"),
      Field<C>("data.bounds", [](auto& c) -> auto& { return c.data.bounds; },
               "public clipping bounds `{\"column\": [lo, hi]}` of numeric columns, for the "
               "private statistics"),
      Field<C>("model.hidden", [](auto& c) -> auto& { return c.hidden; },
               "hidden layer widths of the MLP"),
      Field<C>("model.seed", [](auto& c) -> auto& { return c.seed; },
               "initialisation, region sampling and local shuffling seeds derive from it"),
      Field<C>("training.rounds", [](auto& c) -> auto& { return c.plan.total_rounds; },
               "federated rounds"),
      Field<C>("training.local_epochs", [](auto& c) -> auto& { return c.plan.local_epochs; },
               "passes over its training rows a region makes per round"),
      Field<C>("training.batch_size", [](auto& c) -> auto& { return c.plan.batch_size; },
               "local mini-batch size"),
      Field<C>("training.optimizer", [](auto& c) -> auto& { return c.plan.optimizer.name; },
               "local optimizer: `adam` or `sgd` (fresh each round)"),
      Field<C>("training.learning_rate",
               [](auto& c) -> auto& { return c.plan.optimizer.learning_rate; },
               "local learning rate"),
      Field<C>("training.momentum", [](auto& c) -> auto& { return c.plan.optimizer.momentum; },
               "SGD momentum"),
      Field<C>("training.l2", [](auto& c) -> auto& { return c.plan.optimizer.weight_decay; },
               "L2 weight decay"),
      Field<C>("training.class_weight", [](auto& c) -> auto& { return c.plan.class_weight; },
               "`none` or `balanced`"),
      Field<C>("federation.fraction", [](auto& c) -> auto& { return c.fraction; },
               "share of ready regions selected each round (at least `min_regions`)"),
      Field<C>("federation.min_regions", [](auto& c) -> auto& { return c.min_regions; },
               "quorum: a round needs this many updates; with fewer, the model is unchanged and "
               "the round is retried when enough regions are ready"),
      Field<C>("federation.round_deadline_s", [](auto& c) -> auto& { return c.round_deadline_s; },
               "updates later than this are refused; the round completes with the quorum"),
      Field<C>("federation.join_timeout_s", [](auto& c) -> auto& { return c.join_timeout_s; },
               "how long to wait for every region before starting with a quorum"),
      Field<C>("federation.summary_deadline_s",
               [](auto& c) -> auto& { return c.summary_deadline_s; },
               "how long to wait for every region's data summary before building the schema "
               "with a quorum"),
      Field<C>("federation.hello_timeout_s", [](auto& c) -> auto& { return c.hello_timeout_s; },
               "a connection must identify itself within this"),
      Field<C>("federation.dead_peer_timeout_s",
               [](auto& c) -> auto& { return c.dead_peer_timeout_s; },
               "a region unreachable this long (cut link, dead host) is dropped by TCP keepalive "
               "and no longer selected; `0` = off, else 2–86400"),
      Field<C>("federation.max_frame_bytes", [](auto& c) -> auto& { return c.max_frame_bytes; },
               "frames announcing more are refused before anything is allocated"),
      Field<C>("federation.max_connections", [](auto& c) -> auto& { return c.max_connections; },
               "further connections are closed at once"),
      strategy_name,
      Field<C>("strategy.server_learning_rate",
               [](auto& c) -> auto& { return c.strategy.server_learning_rate; },
               "server step size (FedAdam: try `0.01`)"),
      Field<C>("strategy.server_momentum",
               [](auto& c) -> auto& { return c.strategy.server_momentum; },
               "FedAvgM momentum"),
      Field<C>("strategy.beta1", [](auto& c) -> auto& { return c.strategy.beta1; },
               "FedAdam first-moment decay"),
      Field<C>("strategy.beta2", [](auto& c) -> auto& { return c.strategy.beta2; },
               "FedAdam second-moment decay"),
      Field<C>("strategy.tau", [](auto& c) -> auto& { return c.strategy.tau; },
               "FedAdam adaptivity (the epsilon of the server Adam step)"),
      Field<C>("privacy.dp", [](auto& c) -> auto& { return c.plan.dp; },
               "regions train with DP-SGD"),
      Field<C>("privacy.clip_norm", [](auto& c) -> auto& { return c.plan.dp_clip_norm; },
               "DP-SGD per-example clipping norm C"),
      Field<C>("privacy.noise_multiplier",
               [](auto& c) -> auto& { return c.plan.dp_noise_multiplier; },
               "DP-SGD sigma; `0` with `dp`: each region calibrates sigma to its own budget"),
      Field<C>("privacy.stats_noise_multiplier",
               [](auto& c) -> auto& { return c.stats_noise_multiplier; },
               "Gaussian noise on the released preprocessing statistics"),
      Field<C>("status.enabled", [](auto& c) -> auto& { return c.status.enabled; },
               "serve the read-only live status endpoint (`GET /status` JSON, `GET /metrics` "
               "Prometheus text) over HTTPS; see "
               "[operations.md](operations.md#live-status-and-prometheus)"),
      Field<C>("status.listen", [](auto& c) -> auto& { return c.status.listen; },
               "IP address it listens on (an IP literal, e.g. `::1`, `10.1.2.3`, `0.0.0.0`); "
               "localhost only unless set"),
      Field<C>("status.port", [](auto& c) -> auto& { return c.status.port; },
               "its TCP port (`0` = any free port, logged); must differ from `listen.port`"),
      Field<C>("status.require_client_cert",
               [](auto& c) -> auto& { return c.status.require_client_cert; },
               "mutual TLS as on the federation port: only clients with a certificate from "
               "`tls.ca` can read. `false`: anyone who reaches the port can read (a certificate "
               "that is presented must still verify)"),
      Field<C>("status.max_connections", [](auto& c) -> auto& { return c.status.max_connections; },
               "concurrent status connections (1 to 1024); more are closed at once and counted"),
  };
}

}  // namespace

const std::vector<ConfigField<CoordinatorConfig>>& CoordinatorConfigFields() {
  static const Fields* fields = new Fields(MakeFields());
  return *fields;
}

Result<CoordinatorConfig> CoordinatorConfigFromJson(const json& j, const std::string& source) {
  if (!j.is_object()) return Status::InvalidArgument(source + ": the config must be a JSON object");
  CoordinatorConfig c;
  FEDSEG_RETURN_IF_ERROR(ReadConfigFields(j, source, CoordinatorConfigFields(), &c));
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
  if (rounds() < 1 || rounds() > 100000) {
    return Status::InvalidArgument("training.rounds must be in [1, 100000], got " +
                                   std::to_string(rounds()));
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
  // The DP-SGD parameters are checked once, by privacy::DpSgdParams (the clip norm only matters,
  // and is only checked, with dp on); regions check the plan they receive the same way.
  FEDSEG_RETURN_IF_ERROR(
      (plan.dp ? privacy::DpSgdParams::Create(plan.dp_clip_norm, plan.dp_noise_multiplier).status()
               : privacy::DpSgdParams::CheckNoiseMultiplier(plan.dp_noise_multiplier))
          .WithContext("privacy"));
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
  return WriteConfigFields(CoordinatorConfigFields(), *this);
}

Result<CoordinatorConfig> LoadCoordinatorConfig(const std::string& path,
                                                const nlohmann::json& overrides) {
  FEDSEG_ASSIGN_OR_RETURN(json j, LoadJsonConfig(path, overrides));
  return CoordinatorConfigFromJson(j, path);
}

}  // namespace fedseg::coordinator
