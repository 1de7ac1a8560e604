// The federation's messages: what a region and the coordinator say to each other inside frames
// (common/net/frame.h), their cereal encodings, and the checks every received message passes before
// use.
//
// Conversation (docs/protocol.md has the full state machine):
//
//   region -> Hello{region}            coordinator checks the claimed region against the
//                                      certificate's subject and the allowed list
//   coord  -> Welcome{run, contract}   the data contract: label, column types, test split
//   coord  -> SummaryRequest           (schema phase) region loads its table and replies with
//   region -> SummaryReply{summary}    mergeable statistics of its training split
//   coord  -> Setup{schema, model, plan}   the global schema, architecture and training plan
//   coord  -> RoundStart{r, weights}   evaluate the global weights on the test split, train locally
//   region -> Update{r, delta, eval} | Decline{r, reason}
//   With secure aggregation on (Setup.secure_aggregation), a training region sends instead
//   region -> SecAggKeys, then Update{r, no delta, eval}; then, per step of the round:
//   coord  -> SecAggRoster     region -> SecAggShares      (sealed Shamir shares, per neighbour)
//   coord  -> SecAggForward    region -> SecAggMaskedInput (its encoded, masked update)
//   coord  -> SecAggUnmaskRequest   region -> SecAggUnmaskResponse
//   coord  -> Done{final weights}      the run is over
//   either -> Error{message}           before closing on a protocol violation
//
// Every message is versioned by the frame header; payloads are parsed with bounded loaders
// (common/base/serialization.h) and then validated (Validate*) against the receiver's state.
#ifndef FEDSEG_COMMON_PROTOCOL_MESSAGES_H_
#define FEDSEG_COMMON_PROTOCOL_MESSAGES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/base/serialization.h"
#include "common/base/status.h"
#include "common/data/schema.h"
#include "common/ml/metrics.h"
#include "common/ml/mlp.h"
#include "common/ml/optimizer.h"
#include "common/net/frame.h"

namespace fedseg::protocol {

enum class MessageType : uint16_t {
  kHello = 1,
  kWelcome = 2,
  kSummaryRequest = 3,
  kSummaryReply = 4,
  kSetup = 5,
  kRoundStart = 6,
  kUpdate = 7,
  kDecline = 8,
  kDone = 9,
  kError = 10,
  // Secure aggregation (docs/secure-aggregation.md), only when the Setup says it is on.
  kSecAggKeys = 11,
  kSecAggRoster = 12,
  kSecAggShares = 13,
  kSecAggForward = 14,
  kSecAggMaskedInput = 15,
  kSecAggUnmaskRequest = 16,
  kSecAggUnmaskResponse = 17,
};
std::string MessageTypeName(uint16_t type);

// What every region must do with its table so that all encode features identically.
struct DataContract {
  std::string label;
  std::vector<std::string> categorical, numeric, drop;
  // Date columns and their formats ("" = detect), data::LoadOptions::dates.
  std::map<std::string, std::string> dates;
  // Columns every region reads as sign(x) ln(1 + |x|) (data::LoadOptions::log_columns); regions
  // in a federation detect none themselves.
  std::vector<std::string> log;
  double test_fraction = 0.2;  // used when a region has no separate test table
  uint64_t split_seed = 42;
  // Public clipping bounds {lo, hi} per numeric column, for private statistics.
  std::map<std::string, std::vector<double>> bounds;
  // The feature spec (JSON text, docs/features.md) every region computes its table with from its
  // own raw sources; empty when regions bring a ready feature table.
  std::string feature_spec;

  template <class A>
  void serialize(A& ar) {
    ar(label, categorical, numeric, drop, dates, log, test_fraction, split_seed, bounds,
       feature_spec);
  }
};

// How regions train in every round.
struct TrainingPlan {
  int local_epochs = 1;
  int batch_size = 32;
  ml::OptimizerConfig optimizer;
  std::string class_weight = "none";
  // Differential privacy (DP-SGD); enabled when noise or a target is set by the coordinator.
  bool dp = false;
  double dp_clip_norm = 1.0;
  double dp_noise_multiplier = 0.0;  // 0 with dp: each region calibrates to its budget
  int total_rounds = 0;              // for budget planning
  // FedProx (Li et al., MLSys 2020): local training minimises loss + (mu/2) ||w - w0||^2, w0 the
  // round's global model, which keeps regions with skewed data from drifting apart. Finite and
  // >= 0; 0 is plain FedAvg local training, bit for bit.
  double proximal_mu = 0.0;

  Status Validate() const;

  template <class A>
  void serialize(A& ar) {
    ar(local_epochs, batch_size, optimizer, class_weight, dp, dp_clip_norm, dp_noise_multiplier,
       total_rounds, proximal_mu);
  }
};

struct HelloMsg {
  std::string region;    // must equal the certificate's subject CN
  std::string software;  // "fedseg 0.1.0"
  template <class A>
  void serialize(A& ar) {
    ar(region, software);
  }
};

struct WelcomeMsg {
  std::string run_id;
  DataContract contract;
  uint32_t next_round = 1;
  template <class A>
  void serialize(A& ar) {
    ar(run_id, contract, next_round);
  }
};

struct SummaryRequestMsg {
  // Gaussian noise on the released statistics (privacy issue); 0 = exact statistics.
  double noise_multiplier = 0.0;
  template <class A>
  void serialize(A& ar) {
    ar(noise_multiplier);
  }
};

struct SummaryReplyMsg {
  data::DataSummary summary;
  uint64_t train_rows = 0;
  uint64_t test_rows = 0;
  template <class A>
  void serialize(A& ar) {
    ar(summary, train_rows, test_rows);
  }
};

struct SetupMsg {
  std::string run_id;
  data::Schema schema;
  ml::ModelSpec spec;
  TrainingPlan plan;
  // Training regions send their update through secure aggregation (the SecAgg* messages) instead
  // of in the Update.
  bool secure_aggregation = false;
  template <class A>
  void serialize(A& ar) {
    ar(run_id, schema, spec, plan, secure_aggregation);
  }
};

struct RoundStartMsg {
  uint32_t round = 0;
  bool train = true;           // false: evaluate only (the final evaluation)
  uint64_t seed = 0;           // round seed; a region mixes in its name for local shuffling
  std::vector<float> weights;  // the global model
  template <class A>
  void serialize(A& ar) {
    ar(round, train, seed, weights);
  }
};

struct UpdateMsg {
  uint32_t round = 0;
  uint64_t num_examples = 0;             // training rows behind the update (FedAvg weight)
  std::vector<float> delta;              // local - global; empty when the round was evaluate-only
  double train_loss = 0.0;               // mean local training loss
  ml::ClassificationSummary evaluation;  // the received global model on the region's test split
  double epsilon_spent = 0.0;            // region's total epsilon after this round (0 without DP)
  double epsilon_budget = 0.0;
  double epsilon_delta = 0.0;   // the delta of epsilon_spent
  std::string ledger_head;      // hash of the region's last ledger entry (for audits)
  uint64_t ledger_entries = 0;  // its release entries: the head's seq (the coordinator
                                // refuses a ledger that went backwards across runs)
  template <class A>
  void serialize(A& ar) {
    ar(round, num_examples, delta, train_loss, evaluation, epsilon_spent, epsilon_budget,
       epsilon_delta, ledger_head, ledger_entries);
  }
};

struct DeclineMsg {
  uint32_t round = 0;
  std::string reason;
  double epsilon_spent = 0.0;
  double epsilon_budget = 0.0;
  std::string ledger_head;
  uint64_t ledger_entries = 0;  // as in UpdateMsg
  template <class A>
  void serialize(A& ar) {
    ar(round, reason, epsilon_spent, epsilon_budget, ledger_head, ledger_entries);
  }
};

struct DoneMsg {
  std::vector<float> weights;
  std::string reason;
  template <class A>
  void serialize(A& ar) {
    ar(weights, reason);
  }
};

struct ErrorMsg {
  std::string message;
  template <class A>
  void serialize(A& ar) {
    ar(message);
  }
};

// ---- Secure aggregation (privacy/secagg/protocol.h has the protocol; these are its wire forms).

// Step 0, region -> coordinator, before its Update: two fresh X25519 public keys signed with the
// region's TLS identity key, and the certificate that verifies the signature. The roster relays
// the same record to every region.
struct SecAggKeysMsg {
  uint32_t round = 0;
  std::string region;
  std::vector<uint8_t> envelope_public_key;  // 32 bytes
  std::vector<uint8_t> mask_public_key;      // 32 bytes
  std::string signature;                     // over secagg::AdvertisedKeysMessage
  std::string certificate_pem;               // the region's certificate (CN = region)
  template <class A>
  void serialize(A& ar) {
    ar(round, region, envelope_public_key, mask_public_key, signature, certificate_pem);
  }
};

// Coordinator -> each region of U1: the parameters of the round and every region's keys.
struct SecAggRosterMsg {
  uint32_t round = 0;
  double threshold_fraction = 0.5;
  uint32_t neighbours = 0;  // 0: complete graph
  uint64_t graph_seed = 0;
  uint32_t min_survivors = 3;
  uint64_t vector_length = 0;  // the model's parameters + 1 (the weight)
  double clip_range = 1.0;  // each coordinate of the delta is clipped to [-clip_range, clip_range]
  double weight_scale = 1.0;           // a region's weight is min(examples / weight_scale, 1)
  std::vector<SecAggKeysMsg> regions;  // sorted by name
  template <class A>
  void serialize(A& ar) {
    ar(round, threshold_fraction, neighbours, graph_seed, min_survivors, vector_length, clip_range,
       weight_scale, regions);
  }
};

struct SecAggEnvelope {
  std::string from, to;
  std::vector<uint8_t> sealed;  // AES-GCM, readable only by `to`
  template <class A>
  void serialize(A& ar) {
    ar(from, to, sealed);
  }
};

// SecAggShares (region -> coordinator: one envelope per neighbour) and SecAggForward
// (coordinator -> region: the envelopes addressed to it).
struct SecAggSharesMsg {
  uint32_t round = 0;
  std::vector<SecAggEnvelope> envelopes;
  template <class A>
  void serialize(A& ar) {
    ar(round, envelopes);
  }
};

struct SecAggMaskedInputMsg {
  uint32_t round = 0;
  std::vector<uint32_t> values;  // vector_length values in Z/2^32
  template <class A>
  void serialize(A& ar) {
    ar(round, values);
  }
};

struct SecAggUnmaskRequestMsg {
  uint32_t round = 0;
  std::vector<std::string> survivors;  // U3, sorted
  template <class A>
  void serialize(A& ar) {
    ar(round, survivors);
  }
};

struct SecAggRevealedShare {
  std::string owner;
  bool self_mask = false;
  uint64_t x = 0;
  std::vector<uint64_t> y;
  template <class A>
  void serialize(A& ar) {
    ar(owner, self_mask, x, y);
  }
};

struct SecAggUnmaskResponseMsg {
  uint32_t round = 0;
  std::vector<SecAggRevealedShare> shares;
  template <class A>
  void serialize(A& ar) {
    ar(round, shares);
  }
};

// The largest payload a secure-aggregation message may have in a round of `regions` regions and
// `vector_length` values, checked on the frame header before the payload is parsed (a masked input
// is 4 bytes a value; keys, envelopes and shares are small and bounded per region).
uint64_t MaxSecAggPayloadBytes(uint16_t type, size_t regions, uint64_t vector_length);

// Encodes a message into a frame of its type.
template <typename T>
net::Frame MakeFrame(MessageType type, const T& msg) {
  return net::Frame{static_cast<uint16_t>(type), Serialize(msg)};
}

// Parses a frame's payload into `out`, checking the frame carries `type`.
template <typename T>
Status ParseFrame(const net::Frame& frame, MessageType type, T* out) {
  if (frame.type != static_cast<uint16_t>(type)) {
    return Status::InvalidArgument("expected a " + MessageTypeName(static_cast<uint16_t>(type)) +
                                   " message, got " + MessageTypeName(frame.type));
  }
  return Parse(frame.payload, out, MessageTypeName(frame.type) + " message");
}

// Checks an update against the round the coordinator is in and the model it sent.
Status ValidateUpdate(const UpdateMsg& msg, uint32_t expected_round, size_t num_params,
                      int num_classes, bool expect_delta);
// Checks global weights received by a region.
Status ValidateWeights(const std::vector<float>& weights, const ml::ModelSpec& spec);

}  // namespace fedseg::protocol

#endif  // FEDSEG_COMMON_PROTOCOL_MESSAGES_H_
