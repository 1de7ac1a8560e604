#include "coordinator/config.h"

#include <boost/asio/ip/address.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "common/base/json_config.h"
#include "common/data/timestamp.h"
#include "common/features/feature_spec.h"
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
          // The kind's own defaults; the strategy.* fields after this one override them.
          c->strategy = StrategyConfig::ForKind(*kind);
        } else {
          r.Merge(kind.status().WithContext("strategy").WithContext(r.source()));
        }
      },
      [](const C& c) { return json(std::string(StrategyKindName(c.strategy.kind))); },
      FormatConfigDefault(std::string(StrategyKindName(StrategyConfig{}.kind))),
      "`fedavg`, `fedavgm` (server momentum), `fedadam` (server Adam), or the robust "
      "`median`, `trimmed-mean`, `krum` (breakdown points in [security.md](security.md)); with "
      "`privacy.dp` the default is `fedadam`"};
  ConfigField<C> decision_objective{
      "decision.objective",
      [](Reader& r, const char* key, C* c) {
        std::string name(ml::DecisionObjectiveName(c->decision.objective));
        r.Get(key, &name);
        Result<ml::DecisionObjective> o = ml::ParseDecisionObjective(name);
        if (o.ok() && *o != ml::DecisionObjective::kOperator) {
          c->decision.objective = *o;
        } else {
          r.Merge(Status::InvalidArgument("decision.objective must be max_f1, min_precision, "
                                          "min_recall or argmax, got '" + name + "'")
                      .WithContext(r.source()));
        }
      },
      [](const C& c) { return json(std::string(ml::DecisionObjectiveName(c.decision.objective))); },
      FormatConfigDefault(std::string(ml::DecisionObjectiveName(ml::DecisionGoal{}.objective))),
      "how the decision rule written into `final.fsm` is chosen on the final model's merged "
      "evaluation summaries (two classes; more classes always use arg-max): `max_f1` (the "
      "threshold on p(positive class) that maximises its F1), `min_precision` (the most recall "
      "with precision >= `decision.target`), `min_recall` (the most precision with recall >= "
      "`decision.target`) or `argmax` (no threshold). See "
      "[quickstart.md](quickstart.md#decision-threshold)"};
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
      Field<C>("tls.crl", [](auto& c) -> auto& { return c.crl_file; },
               "optional PEM file of CRLs from the CA: revoked region (and monitor) certificates "
               "are refused at the handshake; an expired CRL refuses everyone",
               "none"),
      Field<C>("regions", [](auto& c) -> auto& { return c.regions; },
               "allowed region identities: the subject CN of each region's certificate",
               "required"),
      Field<C>("region_pins", [](auto& c) -> auto& { return c.region_pins; },
               "optional `{\"region\": \"<hex SHA-256 of its certificate's public key "
               "(SPKI)>\"}`: a pinned region joins only with that key (see "
               "[operations.md](operations.md#certificates))",
               "`{}`"),
      Field<C>("run_dir", [](auto& c) -> auto& { return c.run_dir; },
               "where `checkpoint.fsc`, `metrics.csv`, `report.json`, `report.html`, "
               "`final.fsm`, `coordinator.log` go"),
      Field<C>("data.label", [](auto& c) -> auto& { return c.data.label; },
               "the label column every region must have", "required"),
      Field<C>("data.feature_spec", [](auto& c) -> auto& { return c.feature_spec_path; },
               "a feature spec (docs/features.md) every region computes its table with from its "
               "own raw sources; sent in the data contract. `data.label` defaults to its label",
               "none"),
      Field<C>("data.categorical", [](auto& c) -> auto& { return c.data.categorical; },
               "columns every region treats as categorical (one-hot)"),
      Field<C>("data.numeric", [](auto& c) -> auto& { return c.data.numeric; },
               "columns every region treats as numeric (standardised)"),
      Field<C>("data.drop", [](auto& c) -> auto& { return c.data.drop; },
               "columns every region ignores"),
      Field<C>("data.dates", [](auto& c) -> auto& { return c.data.dates; },
               "date columns `{\"column\": \"%d-%m-%Y\"}` (strftime-like; \"\" detects the "
               "format) every region reads as dates, each encoded as days, month and weekday; "
               "undeclared columns are detected by each region on its own",
               "`{}`"),
      Field<C>("data.log", [](auto& c) -> auto& { return c.data.log; },
               "numeric columns every region reads as sign(x) ln(1 + abs(x)), named `COLUMN[log1p]` "
               "(heavy-tailed counts, amounts, durations); `data.bounds` stay in the column's own "
               "units. Regions in a federation detect no others (`fedseg-client train` does)",
               "`[]`"),
      Field<C>("data.test_fraction", [](auto& c) -> auto& { return c.data.test_fraction; },
               "a suggested held-out share, sent in the data contract; regions ignore it and split "
               "with their own `data.test_fraction` (the split is theirs, docs/privacy.md)"),
      Field<C>("data.split_seed", [](auto& c) -> auto& { return c.data.split_seed; },
               "a suggested split seed, sent in the data contract and ignored by regions (each "
               "uses its own `data.split_seed`)"),
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
      Field<C>("training.proximal_mu", [](auto& c) -> auto& { return c.plan.proximal_mu; },
               "FedProx mu: regions minimise loss + mu/2 times the squared distance to the round's "
               "global model, against client drift on skewed data; `0` is plain FedAvg local "
               "training; 0.1 measured best with `local_epochs` 5 (docs/quality.md)"),
      Field<C>("federation.fraction", [](auto& c) -> auto& { return c.fraction; },
               "share of ready regions selected each round (at least `min_regions`)"),
      Field<C>("federation.min_regions", [](auto& c) -> auto& { return c.min_regions; },
               "quorum: a round needs this many updates back (updates the defences refuse count: "
               "the round is aggregated from the accepted ones if there is at least one, see "
               "[security.md](security.md#a-refused-region-does-not-stall-the-run)); with fewer, "
               "the model is unchanged and the round is retried when enough regions are ready"),
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
      Field<C>("federation.handshake_timeout_s",
               [](auto& c) -> auto& { return c.handshake_timeout_s; },
               "from accept to a verified TLS peer (first byte included); slower connections are "
               "closed"),
      Field<C>("federation.max_handshakes_per_address",
               [](auto& c) -> auto& { return c.max_handshakes_per_address; },
               "connections one source address may hold before their TLS handshake completes; "
               "more are closed at once (regions retry)"),
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
               "server step size (`fedadam`: default `0.01`)"),
      Field<C>("strategy.server_momentum",
               [](auto& c) -> auto& { return c.strategy.server_momentum; },
               "FedAvgM momentum"),
      Field<C>("strategy.beta1", [](auto& c) -> auto& { return c.strategy.beta1; },
               "FedAdam first-moment decay (`fedadam`: default `0.5`)"),
      Field<C>("strategy.beta2", [](auto& c) -> auto& { return c.strategy.beta2; },
               "FedAdam second-moment decay"),
      Field<C>("strategy.tau", [](auto& c) -> auto& { return c.strategy.tau; },
               "FedAdam adaptivity (the epsilon of the server Adam step)"),
      Field<C>("strategy.trim_fraction",
               [](auto& c) -> auto& { return c.strategy.trim_fraction; },
               "trimmed-mean: share of updates dropped at each end of every coordinate, in "
               "[0, 0.5)"),
      Field<C>("strategy.krum_byzantine",
               [](auto& c) -> auto& { return c.strategy.krum_byzantine; },
               "krum: malicious updates tolerated (f); a round needs 2f + 3 updates"),
      Field<C>("strategy.krum_select", [](auto& c) -> auto& { return c.strategy.krum_select; },
               "krum: best-scored updates averaged (`1` = Krum, `0` = n - f, Multi-Krum)"),
      Field<C>("defences.enabled", [](auto& c) -> auto& { return c.defences.enabled; },
               "server-side defences on every strategy: weight caps, outlier refusal, norm "
               "bounding, the aggregate's sanity bound (see [security.md](security.md))"),
      Field<C>("defences.clip_norm", [](auto& c) -> auto& { return c.defences.clip_norm; },
               "fixed L2 bound each update is scaled down to; `0` = adaptive"),
      Field<C>("defences.clip_multiplier",
               [](auto& c) -> auto& { return c.defences.clip_multiplier; },
               "adaptive bound: this times the round's median update norm"),
      Field<C>("defences.outlier_factor",
               [](auto& c) -> auto& { return c.defences.outlier_factor; },
               "an update whose norm or largest value exceeds this times the round's median is "
               "refused (logged with the region's name)"),
      Field<C>("defences.max_weight_abs",
               [](auto& c) -> auto& { return c.defences.max_weight_abs; },
               "an aggregate with a weight beyond this is not applied: the round fails, the model "
               "is unchanged"),
      Field<C>("secure_aggregation.enabled",
               [](auto& c) -> auto& { return c.secure_aggregation.enabled; },
               "the coordinator learns only the weighted sum of the training regions' updates "
               "(pairwise masks, Shamir-shared seeds; see "
               "[secure-aggregation.md](secure-aggregation.md)); needs `strategy.name` `fedavg`, "
               "`fedavgm` or `fedadam` and `defences.enabled` false"),
      Field<C>("secure_aggregation.threshold_fraction",
               [](auto& c) -> auto& { return c.secure_aggregation.threshold_fraction; },
               "share of a region's neighbours that recover its secrets (Shamir threshold "
               "max(2, ceil(f · neighbours))), in (0, 1]"),
      Field<C>("secure_aggregation.neighbours",
               [](auto& c) -> auto& { return c.secure_aggregation.neighbours; },
               "`-1` = chosen each round from the regions selected: the complete graph up to 64, "
               "else the smallest SecAgg+ degree private and live under `expected_dropout` and "
               "`colluding_fraction` (58 at 100 regions, 166 at 1,000 with the defaults; "
               "[secure-aggregation.md](secure-aggregation.md#neighbourhoods)); `0` = complete "
               "graph; an even k = a random k-regular neighbourhood (SecAgg+)"),
      Field<C>("secure_aggregation.expected_dropout",
               [](auto& c) -> auto& { return c.secure_aggregation.expected_dropout; },
               "with `neighbours` -1: the fraction of a round's regions that may drop out, in "
               "[0, 1 - threshold_fraction]"),
      Field<C>("secure_aggregation.colluding_fraction",
               [](auto& c) -> auto& { return c.secure_aggregation.colluding_fraction; },
               "with `neighbours` -1: the fraction of regions that may collude with the "
               "coordinator, in [0, threshold_fraction); with expected_dropout below 0.9"),
      Field<C>("secure_aggregation.min_survivors",
               [](auto& c) -> auto& { return c.secure_aggregation.min_survivors; },
               "a round fails cleanly (model unchanged, retried) when fewer regions remain at any "
               "step; at least 3"),
      Field<C>("secure_aggregation.clip_range",
               [](auto& c) -> auto& { return c.secure_aggregation.clip_range; },
               "each coordinate of a region's delta is clipped to [-r, r] before its fixed-point "
               "encoding"),
      Field<C>("secure_aggregation.step_deadline_s",
               [](auto& c) -> auto& { return c.secure_aggregation.step_deadline_s; },
               "deadline of each step after the updates (shares, masked inputs, unmasking); "
               "regions that miss it are dropped from the round"),
      Field<C>("checkpoint.keep", [](auto& c) -> auto& { return c.checkpoints_kept; },
               "per-round checkpoints kept for `--resume --from-round R` (1 to 1000)"),
      Field<C>("checkpoint.key_file", [](auto& c) -> auto& { return c.checkpoint_key_file; },
               "HMAC-SHA-256 key file authenticating checkpoints (64 hex digits, mode 0600), "
               "outside the run directory; a new run generates it if missing, `--resume` "
               "requires it",
               "`<run_dir>.ckpt-key`"),
      Field<C>("privacy.dp", [](auto& c) -> auto& { return c.plan.dp; },
               "regions train with DP-SGD"),
      Field<C>("privacy.clip_norm", [](auto& c) -> auto& { return c.plan.dp_clip_norm; },
               "DP-SGD per-example clipping norm C"),
      Field<C>("privacy.noise_multiplier",
               [](auto& c) -> auto& { return c.plan.dp_noise_multiplier; },
               "DP-SGD sigma; `0` with `dp`: each region calibrates sigma to its own budget"),
      Field<C>("privacy.stats_noise_multiplier",
               [](auto& c) -> auto& { return c.stats_noise_multiplier; },
               "Gaussian noise on the released preprocessing statistics; a region in privacy mode "
               "`dp` declines a request below its `privacy.min_stats_noise_multiplier` (default "
               "30). With `privacy.dp` the default is `80`: 39 mechanisms (the bundled table) then "
               "cost epsilon 0.30 at delta 1e-6, against 0.87 at 30",
               "`0`; `80` with `privacy.dp`"),
      std::move(decision_objective),
      Field<C>("decision.target", [](auto& c) -> auto& { return c.decision.target; },
               "the precision (`min_precision`) or recall (`min_recall`) target, in (0, 1]"),
      Field<C>("decision.positive_class",
               [](auto& c) -> auto& { return c.decision.positive_class; },
               "the class the threshold is on (a label value, e.g. `TRUE`); empty: the minority "
               "class of the final evaluation's rows",
               "the minority class"),
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
      Field<C>("status.monitors", [](auto& c) -> auto& { return c.status.monitors; },
               "certificate identities (CNs) that may read it; region identities are always "
               "refused"),
  };
}

}  // namespace

const std::vector<std::pair<std::string, json>>& DpDefaults() {
  // Measured on the bundled table, 9 regions, held-out rows (docs/quality.md, "Federation with
  // differential privacy"):
  // - strategy.name fedadam: the server's Adam step averages the regions' noise over rounds (ROC
  //   AUC 0.888 against FedAvg's 0.831 at epsilon 1, 0.904 against 0.892 at 3).
  // - privacy.stats_noise_multiplier kDpStatsNoiseMultiplier: see its comment in config.h.
  // FedAdam's server step stays 0.01 under DP: 0.02 gave a higher mean ROC AUC at epsilon 1 but
  // not a higher floor, and 0.839 in a run at epsilon 8 (0.912 at 0.01; docs/quality.md).
  static const auto* defaults = new std::vector<std::pair<std::string, json>>{
      {"/strategy/name", std::string(StrategyKindName(StrategyKind::kFedAdam))},
      {"/privacy/stats_noise_multiplier", kDpStatsNoiseMultiplier},
  };
  return *defaults;
}

const std::vector<ConfigField<CoordinatorConfig>>& CoordinatorConfigFields() {
  static const Fields* fields = new Fields(MakeFields());
  return *fields;
}

Result<CoordinatorConfig> CoordinatorConfigFromJson(const json& j, const std::string& source) {
  if (!j.is_object()) return Status::InvalidArgument(source + ": the config must be a JSON object");
  CoordinatorConfig c;
  FEDSEG_RETURN_IF_ERROR(ReadConfigFields(j, source, CoordinatorConfigFields(), &c));
  // Under DP a config gets the DP defaults (DpDefaults) of the fields it leaves out, as if it had
  // named them.
  if (c.plan.dp) {
    json with_defaults = j;
    bool added = false;
    for (const auto& [path, value] : DpDefaults()) {
      const json::json_pointer pointer(path);
      // A parent that is not an object ("strategy": "fedavg") is left for the reader to refuse.
      if (j.contains(pointer) ||
          (j.contains(pointer.parent_pointer()) && !j[pointer.parent_pointer()].is_object())) {
        continue;
      }
      with_defaults[pointer] = value;
      added = true;
    }
    if (added) {
      c = CoordinatorConfig{};
      FEDSEG_RETURN_IF_ERROR(
          ReadConfigFields(with_defaults, source, CoordinatorConfigFields(), &c));
    }
  }
  if (!c.feature_spec_path.empty()) {
    std::filesystem::path p(c.feature_spec_path);
    if (p.is_relative()) p = std::filesystem::path(source).parent_path() / p;
    auto spec = features::LoadFeatureSpec(p.string());
    if (!spec.ok()) return spec.status().WithContext(source + ": data.feature_spec");
    if (c.data.label.empty()) c.data.label = spec->label.name;
    if (c.data.label != spec->label.name) {
      return Status::InvalidArgument(source + ": data.label '" + c.data.label +
                                     "' is not the feature spec's label '" + spec->label.name + "'");
    }
    c.data.feature_spec = spec->json.dump();
  }
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
  for (double t : {round_deadline_s, join_timeout_s, summary_deadline_s, hello_timeout_s,
                   handshake_timeout_s}) {
    if (!(t > 0) || !std::isfinite(t)) {
      return Status::InvalidArgument("federation deadlines must be finite and positive");
    }
  }
  if (Status st = net::TcpKeepalive{std::chrono::seconds(dead_peer_timeout_s)}.Validate(); !st.ok()) {
    return st.WithContext("federation.dead_peer_timeout_s");
  }
  if (max_frame_bytes < 4096) return Status::InvalidArgument("max_frame_bytes must be >= 4096");
  if (max_connections < 1) return Status::InvalidArgument("max_connections must be >= 1");
  if (max_handshakes_per_address < 1) {
    return Status::InvalidArgument("federation.max_handshakes_per_address must be >= 1");
  }
  for (const auto& [region, pin] : region_pins) {
    if (std::find(regions.begin(), regions.end(), region) == regions.end()) {
      return Status::InvalidArgument("region_pins: '" + region + "' is not in regions");
    }
    if (pin.size() != 64 || pin.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return Status::InvalidArgument("region_pins." + region +
                                     " must be 64 lower-case hex digits (SHA-256 of the SPKI), "
                                     "got '" + pin + "'");
    }
  }
  for (const std::string& m : status.monitors) {
    if (std::find(regions.begin(), regions.end(), m) != regions.end()) {
      return Status::InvalidArgument("status.monitors: '" + m +
                                     "' is a region; a region's identity may not read /status");
    }
  }
  if (!(stats_noise_multiplier >= 0)) {
    return Status::InvalidArgument("privacy.stats_noise_multiplier must be >= 0");
  }
  for (const auto& [col, b] : data.bounds) {
    if (b.size() != 2 || !(b[0] <= b[1])) {
      return Status::InvalidArgument("data.bounds." + col + " must be [lo, hi] with lo <= hi");
    }
  }
  for (const auto& [col, format] : data.dates) {
    for (const auto* list : {&data.categorical, &data.numeric, &data.drop}) {
      if (std::find(list->begin(), list->end(), col) != list->end()) {
        return Status::InvalidArgument("data.dates." + col + ": the column is also in data." +
                                       (list == &data.categorical ? "categorical"
                                        : list == &data.numeric   ? "numeric"
                                                                  : "drop"));
      }
    }
    if (!format.empty()) {
      FEDSEG_RETURN_IF_ERROR(
          data::ValidateTimestampFormat(format).WithContext("data.dates." + col));
    }
  }
  for (const std::string& col : data.log) {
    for (const auto* list : {&data.categorical, &data.drop}) {
      if (std::find(list->begin(), list->end(), col) != list->end()) {
        return Status::InvalidArgument("data.log: column '" + col + "' is also in data." +
                                       (list == &data.categorical ? "categorical" : "drop"));
      }
    }
    if (data.dates.count(col) > 0) {
      return Status::InvalidArgument("data.log: column '" + col + "' is also in data.dates");
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
  if (checkpoints_kept < 1 || checkpoints_kept > 1000) {
    return Status::InvalidArgument("checkpoint.keep must be in [1, 1000], got " +
                                   std::to_string(checkpoints_kept));
  }
  FEDSEG_RETURN_IF_ERROR(defences.Validate());
  FEDSEG_RETURN_IF_ERROR(secure_aggregation.Validate());
  if (secure_aggregation.enabled) {
    if (strategy.kind != StrategyKind::kFedAvg && strategy.kind != StrategyKind::kFedAvgM &&
        strategy.kind != StrategyKind::kFedAdam) {
      return Status::InvalidArgument(
          "strategy.name '" + std::string(StrategyKindName(strategy.kind)) +
          "' needs every region's individual update, which secure_aggregation.enabled hides from "
          "the coordinator; use fedavg, fedavgm or fedadam, or turn secure aggregation off");
    }
    if (defences.enabled) {
      return Status::InvalidArgument(
          "defences.enabled screens every region's individual update (weight caps, outliers, norm "
          "bounds), which secure_aggregation.enabled hides from the coordinator; set "
          "defences.enabled to false (regions' updates are clipped to "
          "secure_aggregation.clip_range instead)");
    }
    if (secure_aggregation.min_survivors > static_cast<int>(regions.size())) {
      return Status::InvalidArgument("secure_aggregation.min_survivors (" +
                                     std::to_string(secure_aggregation.min_survivors) +
                                     ") exceeds the " + std::to_string(regions.size()) +
                                     " configured regions");
    }
  }
  FEDSEG_RETURN_IF_ERROR(decision.Validate().WithContext("decision"));
  return strategy.Validate().WithContext("strategy");
}

Status SecureAggregationConfig::Validate() const {
  // Checked even while disabled, like status.*: switching it on later cannot reveal an old typo.
  if (!(threshold_fraction > 0 && threshold_fraction <= 1)) {
    return Status::InvalidArgument("secure_aggregation.threshold_fraction must be in (0, 1], got " +
                                   std::to_string(threshold_fraction));
  }
  if (neighbours < -1 || (neighbours > 0 && neighbours % 2 != 0) || neighbours > 100000) {
    return Status::InvalidArgument(
        "secure_aggregation.neighbours must be -1 (chosen by the number of regions), 0 (complete "
        "graph) or an even number up to 100000, got " +
        std::to_string(neighbours));
  }
  // Checked whatever `neighbours` is, as the fields above: they only matter with -1.
  if (!(expected_dropout >= 0 && expected_dropout <= 1 - threshold_fraction)) {
    return Status::InvalidArgument(
        "secure_aggregation.expected_dropout must be in [0, 1 - threshold_fraction] (more "
        "dropouts leave a region's secrets fewer shares than the threshold), got " +
        std::to_string(expected_dropout));
  }
  if (!(colluding_fraction >= 0 && colluding_fraction < threshold_fraction)) {
    return Status::InvalidArgument(
        "secure_aggregation.colluding_fraction must be in [0, threshold_fraction) (that many "
        "colluders could rebuild a region's secrets), got " +
        std::to_string(colluding_fraction));
  }
  if (!(expected_dropout + colluding_fraction < 0.9)) {
    return Status::InvalidArgument(
        "secure_aggregation.expected_dropout + colluding_fraction must be below 0.9 (Bell et al.'s "
        "bound for a sparse neighbourhood), got " +
        std::to_string(expected_dropout + colluding_fraction));
  }
  if (min_survivors < 3) {
    return Status::InvalidArgument(
        "secure_aggregation.min_survivors must be at least 3 (with two, each could subtract its "
        "own update from the sum and read the other's), got " +
        std::to_string(min_survivors));
  }
  if (!(clip_range > 0) || !std::isfinite(clip_range) || clip_range > 1e6) {
    return Status::InvalidArgument("secure_aggregation.clip_range must be in (0, 1e6], got " +
                                   std::to_string(clip_range));
  }
  if (!(step_deadline_s > 0) || !std::isfinite(step_deadline_s)) {
    return Status::InvalidArgument(
        "secure_aggregation.step_deadline_s must be finite and positive, got " +
        std::to_string(step_deadline_s));
  }
  return Status::OK();
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
