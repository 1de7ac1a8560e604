// The coordinator's configuration: a JSON file (every field documented with its default in
// docs/configuration.md), validated once into a CoordinatorConfig that the components take. The
// fields are declared once, in CoordinatorConfigFields(): the reader, ToJson and the
// documentation test walk that table.
#ifndef FEDSEG_COORDINATOR_CONFIG_H_
#define FEDSEG_COORDINATOR_CONFIG_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/base/json_config.h"
#include "common/base/status.h"
#include "common/ml/decision_rule.h"
#include "common/net/tls.h"
#include "common/protocol/messages.h"
#include "coordinator/strategy.h"
#include "coordinator/update_screen.h"

namespace fedseg::coordinator {

// The optional read-only HTTPS status endpoint (/status, /metrics); see
// coordinator/status/status_server.h.
struct StatusConfig {
  bool enabled = false;              // off unless configured
  std::string listen = "127.0.0.1";  // an IP address; localhost only unless configured
  int port = 9443;                   // 0 = any free port (logged)
  bool require_client_cert = true;   // mutual TLS: only holders of a federation-CA certificate
  int max_connections = 16;          // concurrent status connections; more are refused at once
  // The certificate identities (subject CNs) that may read it; a region's identity never may.
  std::vector<std::string> monitors = {"prometheus"};

  // `federation_port` is listen.port, which the status port must not collide with.
  Status Validate(uint16_t federation_port) const;
};

// Secure aggregation (docs/secure-aggregation.md): the coordinator learns only the weighted sum
// of the training regions' updates. Off unless configured.
struct SecureAggregationConfig {
  bool enabled = false;
  // Each region's secrets are Shamir-shared among its neighbours; this share of them recovers one.
  double threshold_fraction = 0.5;
  // -1 (default): chosen each round from the number of regions selected
  // (privacy/secagg/neighbourhood.h: the complete graph up to 64 regions, else the smallest
  // SecAgg+ degree that is private and live under expected_dropout and colluding_fraction);
  // 0: complete graph (every region is every other's neighbour); k (even): a random k-regular
  // graph (SecAgg+).
  int neighbours = -1;
  // The assumptions the default neighbourhood is chosen for: at most this fraction of a round's
  // regions drop out, and at most this fraction collude with the coordinator.
  double expected_dropout = 0.3;
  double colluding_fraction = 0.2;
  // A round fails (model unchanged, the next attempt starts) when fewer regions remain at any step.
  int min_survivors = 3;
  // Each coordinate of a region's delta is clipped to [-clip_range, clip_range] before encoding.
  double clip_range = 1.0;
  // Each of the protocol's steps after the update (shares, masked inputs, unmasking) ends at this
  // deadline, with the regions that answered.
  double step_deadline_s = 60;

  Status Validate() const;
};

// A training plan whose total_rounds (training.rounds) defaults to 30.
inline protocol::TrainingPlan DefaultTrainingPlan() {
  protocol::TrainingPlan plan;
  plan.total_rounds = 30;
  return plan;
}

struct CoordinatorConfig {
  // Where the coordinator listens.
  std::string host = "127.0.0.1";
  uint16_t port = 7443;
  net::TlsConfig tls;                     // ca, cert, key
  std::string crl_file;                   // tls.crl: optional CRL checked at every handshake
  std::vector<std::string> regions;  // allowed region identities (certificate subject CNs)
  // Optional pins: region name -> hex SHA-256 of its certificate's SubjectPublicKeyInfo. A pinned
  // region's Hello is refused unless its certificate carries exactly that key.
  std::map<std::string, std::string> region_pins;
  std::string run_dir = "run";       // checkpoints, metrics.csv, report.json, final.fsm, logs

  protocol::DataContract data;                 // label, column types, test split
  std::string feature_spec_path;               // data.feature_spec: loaded into data.feature_spec
  std::vector<int> hidden = {64, 32};
  uint64_t seed = 42;                // model initialisation, region sampling, local shuffling
  // Local epochs, batch size, optimizer, class weights, DP, and the number of rounds
  // (plan.total_rounds, the one place it is stored).
  protocol::TrainingPlan plan = DefaultTrainingPlan();
  double fraction = 1.0;             // share of ready regions selected per round
  int min_regions = 2;               // quorum: a round needs this many updates (refused ones count)
  double round_deadline_s = 300;     // updates arriving later are refused
  double join_timeout_s = 60;        // wait this long for every region before starting with a quorum
  double summary_deadline_s = 120;   // wait for summaries before building the schema with a quorum
  double hello_timeout_s = 10;       // a connection must say Hello within this
  double handshake_timeout_s = 3;    // accept to verified TLS peer, first byte included
  int max_handshakes_per_address = 64;  // unverified connections one source address may hold
  int dead_peer_timeout_s = 60;      // drop a region unreachable this long (TCP keepalive); 0 = off
  StrategyConfig strategy;
  SecureAggregationConfig secure_aggregation;
  DefenceConfig defences;            // weight caps, outlier refusal, norm bounding (update_screen.h)
  int checkpoints_kept = 5;          // checkpoint-round-R.fsc files kept for --from-round
  // HMAC-SHA-256 key authenticating checkpoints; kept outside the run directory. Empty: the file
  // "<run_dir>.ckpt-key" beside the run directory, generated (0600) by a new run.
  std::string checkpoint_key_file;
  double min_category_count = 10.0;  // vocabulary threshold (k) for merged (noisy) category counts
  double stats_noise_multiplier = 0; // Gaussian noise on released statistics (privacy)
  uint32_t max_frame_bytes = 256u << 20;
  int max_connections = 4096;
  StatusConfig status;
  // The decision rule written into final.fsm, chosen on the final model's merged evaluation
  // summaries (common/ml/decision_rule.h): max F1 of the minority class unless set.
  ml::DecisionGoal decision;

  int rounds() const { return plan.total_rounds; }

  Status Validate() const;
  nlohmann::json ToJson() const;
};

// The data-summary noise multiplier a config with privacy.dp gets when it sets none (without DP the
// default is 0, exact statistics, which a region in privacy mode dp declines). 80 fits every
// budget: the summary is released once, by every region, and 39 Gaussian mechanisms (the bundled
// table) at 80 cost epsilon 0.30 at delta 1e-6 (0.87 at the regions' floor of 30), which leaves
// DP-SGD most of a budget of 1; the merged counts of 9 regions still give usable means, standard
// deviations and vocabularies (docs/quality.md, "Federation with differential privacy").
inline constexpr double kDpStatsNoiseMultiplier = 80.0;

// The fields whose default differs under privacy.dp, as JSON pointer -> value: a config with
// privacy.dp that leaves one out is read as if it named this value.
const std::vector<std::pair<std::string, nlohmann::json>>& DpDefaults();

// Every field of the config file, in reading order: JSON path, member, documented default and
// meaning (the rows of docs/configuration.md's coordinator table).
const std::vector<ConfigField<CoordinatorConfig>>& CoordinatorConfigFields();

// Parses and validates a config file; `overrides` (from the command line) are applied on top, as
// JSON pointer -> value (e.g. "/rounds" -> 5).
Result<CoordinatorConfig> LoadCoordinatorConfig(const std::string& path,
                                                const nlohmann::json& overrides = {});
Result<CoordinatorConfig> CoordinatorConfigFromJson(const nlohmann::json& j,
                                                    const std::string& source);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_CONFIG_H_
