// A region's node in a federation (`fedseg-client join`): connects to the coordinator over mutual
// TLS, loads and encodes its private table under the federation's data contract and global schema,
// and for every round evaluates the global model on its held-out rows and trains locally from it,
// sending back only the weight delta and mergeable evaluation summaries. It reconnects with
// exponential backoff and full jitter when the connection drops (coordinator restart, network
// fault), keeping its data and state; it never sends a raw row.
#ifndef FEDSEG_CLIENT_FEDERATED_CLIENT_H_
#define FEDSEG_CLIENT_FEDERATED_CLIENT_H_

#include <spdlog/logger.h>

#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "client/region_config.h"
#include "client/region_privacy.h"
#include "common/data/dataset_loader.h"
#include "common/net/identity_signature.h"
#include "common/net/tls_client.h"
#include "common/protocol/messages.h"
#include "privacy/secagg/region_session.h"

namespace fedseg::client {

// How a node reports, beyond its config: `join` keeps the defaults; `fedseg-client load`, which runs
// a thousand nodes in one process, logs warnings only and draws no progress bars.
struct FederatedClientOptions {
  spdlog::level::level_enum log_level = spdlog::level::info;
  bool progress = true;  // a progress bar per local epoch when stderr is a terminal
  // Set only by the test build of the region binary (FEDSEG_INSECURE_TEST_NOISE): without it a
  // config with privacy.insecure_seeded_noise is refused.
  SeededNoiseFactory seeded_noise;
};

class FederatedClient {
 public:
  explicit FederatedClient(RegionConfig config, FederatedClientOptions options = {});
  // Runs until the coordinator says Done (0), or an unrecoverable error (1).
  int Run();

 private:
  enum class Outcome { kDone, kReconnect, kFatal };
  Outcome Session(net::TlsClientConnection& conn);
  Status HandleWelcome(const protocol::WelcomeMsg& msg);
  // Loads train_raw_ and test_raw_ by the contract, categories normalised or as written.
  Status LoadTables(const protocol::DataContract& contract, bool normalize_categories);
  Result<data::RawDataset> LoadContractSpec(const protocol::DataContract& contract,
                                            const data::LoadOptions& opts);
  Status HandleSetup(const protocol::SetupMsg& msg);
  // The answer to a SummaryRequest: a SummaryReply, or a Decline when the request is outside the
  // region's privacy policy (checked before the table is summarised).
  Result<net::Frame> HandleSummaryRequest(const protocol::SummaryRequestMsg& req);
  // Opens the privacy guard (ledger, noise) for `run` unless it is open for it already.
  Status OpenPrivacy(const std::string& run, size_t n_train);
  protocol::DeclineMsg MakeDecline(uint32_t round, const std::string& reason) const;
  // The round's answer: an Update frame, or a Decline frame when the privacy budget is spent.
  Result<net::Frame> HandleRound(const protocol::RoundStartMsg& msg);
  // `fresh`: train with a training seed nobody can predict instead of the round's (a secure
  // round asked again after this region's masked update left, see masked_answers_).
  Result<net::Frame> ComputeRoundAnswer(const protocol::RoundStartMsg& msg, bool fresh);
  Status SaveFinalModel(const std::vector<float>& weights);
  // The next frame: one read ahead by DrainReady, or else from the connection.
  Result<net::Frame> NextFrame(net::TlsClientConnection& conn);
  // Reads every frame that has already arrived (without waiting for more) into pending_, so a
  // region that was busy training sees what the coordinator sent meanwhile.
  void DrainReady(net::TlsClientConnection& conn);
  // True when a later RoundStart or Done has arrived: the round in hand is already over.
  bool RoundSuperseded() const;

  // Secure aggregation (Setup.secure_aggregation): a training round's Update goes out without its
  // delta, after the region's signed keys; the delta follows masked, step by step, as the
  // coordinator's SecAgg* messages arrive. Each returns the frames to send (none when the message
  // is for a round this region is not in).
  Result<std::vector<net::Frame>> StartSecAgg(const net::Frame& update);
  Result<std::vector<net::Frame>> OnSecAggMessage(const net::Frame& frame);

  RegionConfig config_;
  FederatedClientOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  std::optional<protocol::DataContract> contract_;
  data::RawDataset train_raw_, test_raw_;
  bool tables_normalized_ = true;  // how train_raw_ and test_raw_ were loaded (LoadTables)
  std::optional<protocol::SetupMsg> setup_;
  data::EncodedData train_, test_;
  std::unique_ptr<RegionPrivacy> privacy_;  // with a DP plan; kept across reconnects of one run
  std::string privacy_run_;
  // Set at Setup when the coordinator's plan is outside the region's policy: every round request,
  // training or evaluation-only, is then declined with this reason before any data is touched.
  std::optional<std::string> plan_decline_;
  // The run whose data summary this region declined, and why: it then takes no part in that run
  // (its plan is declined too, so it neither trains nor evaluates).
  std::string summary_declined_run_;
  std::string summary_decline_reason_;
  std::string welcome_run_;
  // The last answer released and what it answered (run, round, seed, hash of the global weights).
  // A coordinator that restarts from its checkpoint asks for the same round again: the region
  // sends the same bytes instead of training again, so the retry costs no privacy budget (the
  // release is the same random output, not a second one) and the run stays bit-identical.
  std::string last_round_key_;
  std::optional<net::Frame> last_answer_;
  // SHA-256 of every Update frame (answer) whose delta has left this region masked in a secure
  // round: once its SecAggMaskedInput is out, the other regions' unmasking shares alone let the
  // coordinator put it in an unmasked sum, so it is never masked again (a second sum without it
  // would expose it). A secure round asked again after that trains afresh (HandleRound,
  // docs/secure-aggregation.md, "Retries"). One entry per secure round.
  std::set<std::string> masked_answers_;
  // Frames read ahead on the current connection, and the error that ended the read-ahead (the
  // coordinator closed the connection after Done, say): returned once pending_ is empty.
  std::deque<net::Frame> pending_;
  Status pending_error_;
  // Set when the coordinator asked for the final evaluation: the run is ending, so a coordinator
  // that is gone afterwards is not waited for until give_up_after_s.
  bool final_evaluation_seen_ = false;

  // The secure-aggregation round in hand: its session (fresh keys per attempt) and the update it
  // masks; the roster's parameters once it arrived.
  struct SecAggRound {
    uint32_t round = 0;
    std::string answer_sha256;  // of the Update frame whose delta this round masks
    std::optional<privacy::secagg::RegionSession> session;
    std::vector<float> delta;
    uint64_t examples = 0;
    protocol::SecAggRosterMsg roster;
  };
  std::optional<SecAggRound> secagg_;
  std::string certificate_pem_;  // this region's certificate, sent with its keys
  // Checks the roster's key signatures (the CA loaded once, each certificate checked once).
  std::optional<net::IdentityVerifier> identity_verifier_;
};

}  // namespace fedseg::client

#endif  // FEDSEG_CLIENT_FEDERATED_CLIENT_H_
