// The federation's messages (common/protocol/messages.h): every type survives MakeFrame, the wire
// frame and ParseFrame unchanged; a frame of another type, a truncated payload and a payload with
// bytes after the message are refused with Corruption/InvalidArgument and leave the output alone.
#include "common/protocol/messages.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "common/data/dataset_loader.h"

namespace fedseg::protocol {
namespace {

data::RawDataset SmallDataset() {
  data::RawDataset d;
  d.source = "mem";
  d.features = {data::RawColumn{"x", data::ColumnType::kNumeric, {1, 2, 3, 4}, {}, 0},
                data::RawColumn{"c", data::ColumnType::kCategorical, {}, {"a", "b", "a", "c"}, 0}};
  d.label_name = "y";
  d.labels = {"no", "yes", "no", "yes"};
  d.line_numbers = {2, 3, 4, 5};
  return d;
}

ml::ClassificationSummary Evaluation() {
  ml::ClassificationSummary eval(2);
  const float p1[2] = {0.8f, 0.2f}, p2[2] = {0.3f, 0.7f};
  eval.Add(0, p1);
  eval.Add(1, p2);
  eval.Add(1, p1);
  return eval;
}

const std::vector<float> kWeights = {0.5f, -1.25f, 3e-8f, 1e30f, -0.0f};

// The frame as a receiver sees it: MakeFrame, the 16-byte header and payload on the wire, the
// header decoded again.
net::Frame OverTheWire(const net::Frame& sent) {
  const std::string wire = net::EncodeFrame(sent.type, sent.payload);
  auto header = net::DecodeFrameHeader(
      std::span(reinterpret_cast<const uint8_t*>(wire.data()), wire.size()), 1u << 26);
  EXPECT_TRUE(header.ok()) << header.status().ToString();
  if (!header.ok()) return {};
  EXPECT_EQ(header->payload_length, sent.payload.size());
  return net::Frame{header->type, wire.substr(net::kFrameHeaderSize)};
}

// Round-trips `msg` as a `type` frame and returns what the receiver parsed; the re-encoding must
// be byte-identical, so no field is lost or altered.
template <typename T>
T RoundTrip(MessageType type, const T& msg) {
  const net::Frame frame = MakeFrame(type, msg);
  EXPECT_EQ(frame.type, static_cast<uint16_t>(type));
  EXPECT_EQ(frame.payload, Serialize(msg));
  const net::Frame received = OverTheWire(frame);
  T back;
  const Status st = ParseFrame(received, type, &back);
  EXPECT_TRUE(st.ok()) << MessageTypeName(frame.type) << ": " << st.ToString();
  EXPECT_EQ(Serialize(back), frame.payload) << MessageTypeName(frame.type);
  return back;
}

// A truncated payload (every proper prefix) and a payload with trailing bytes are refused as
// Corruption, naming the message type; the output keeps its previous value.
template <typename T>
void ExpectTruncatedAndTrailingRefused(MessageType type, const T& msg) {
  const net::Frame frame = MakeFrame(type, msg);
  const std::string name = MessageTypeName(frame.type);
  const T untouched{};
  for (size_t n = 0; n < frame.payload.size(); ++n) {
    T out{};
    const Status st = ParseFrame(net::Frame{frame.type, frame.payload.substr(0, n)}, type, &out);
    ASSERT_FALSE(st.ok()) << name << " cut to " << n << " of " << frame.payload.size() << " bytes";
    EXPECT_TRUE(st.IsCorruption()) << st.ToString();
    EXPECT_EQ(st.message().rfind(name + " message is malformed", 0), 0u) << st.message();
    EXPECT_EQ(Serialize(out), Serialize(untouched)) << name << ": a refused parse wrote its output";
  }
  for (const std::string& tail : {std::string(1, '\0'), std::string("xyz")}) {
    T out{};
    const Status st = ParseFrame(net::Frame{frame.type, frame.payload + tail}, type, &out);
    ASSERT_FALSE(st.ok()) << name << " with " << tail.size() << " trailing bytes";
    EXPECT_TRUE(st.IsCorruption()) << st.ToString();
    EXPECT_EQ(st.message(), name + " message: " + std::to_string(tail.size()) +
                                " unexpected trailing bytes");
    EXPECT_EQ(Serialize(out), Serialize(untouched));
  }
}

TEST(MessagesTest, TypeNames) {
  EXPECT_EQ(MessageTypeName(1), "Hello");
  EXPECT_EQ(MessageTypeName(4), "SummaryReply");
  EXPECT_EQ(MessageTypeName(10), "Error");
  EXPECT_EQ(MessageTypeName(0), "unknown(0)");
  EXPECT_EQ(MessageTypeName(77), "unknown(77)");
}

TEST(MessagesTest, SecAggMessagesRoundTripAndHostileLengthsAreRefused) {
  SecAggKeysMsg keys{3,     "r1", std::vector<uint8_t>(32, 1), std::vector<uint8_t>(32, 2),
                     "sig", "pem"};
  SecAggRosterMsg roster;
  roster.round = 3;
  roster.vector_length = 11;
  roster.regions = {keys};
  const SecAggRosterMsg back = RoundTrip(MessageType::kSecAggRoster, roster);
  ASSERT_EQ(back.regions.size(), 1u);
  EXPECT_EQ(back.regions[0].mask_public_key, keys.mask_public_key);
  EXPECT_EQ(back.vector_length, 11u);
  ExpectTruncatedAndTrailingRefused(MessageType::kSecAggKeys, keys);
  const SecAggMaskedInputMsg input{3, {1, 2, 0xFFFFFFFFu}};
  EXPECT_EQ(RoundTrip(MessageType::kSecAggMaskedInput, input).values, input.values);
  ExpectTruncatedAndTrailingRefused(MessageType::kSecAggMaskedInput, input);
  SecAggUnmaskResponseMsg unmask{3, {SecAggRevealedShare{"r2", true, 5, {1, 2, 3}}}};
  EXPECT_EQ(RoundTrip(MessageType::kSecAggUnmaskResponse, unmask).shares[0].y,
            (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(MessageTypeName(15), "SecAggMaskedInput");

  // A masked input whose length prefix claims 2^31 values in a few bytes is refused before
  // anything that size is allocated.
  std::string bytes = Serialize(input);
  const uint64_t huge = uint64_t{1} << 31;
  std::memcpy(bytes.data() + bytes.size() - 3 * sizeof(uint32_t) - sizeof(uint64_t), &huge,
              sizeof huge);
  SecAggMaskedInputMsg out;
  net::Frame f{static_cast<uint16_t>(MessageType::kSecAggMaskedInput), bytes};
  EXPECT_FALSE(ParseFrame(f, MessageType::kSecAggMaskedInput, &out).ok());
  EXPECT_TRUE(out.values.empty());
  // The coordinator's per-type bound: 4 bytes a value plus a fixed allowance.
  EXPECT_EQ(MaxSecAggPayloadBytes(15, 9, 1000), 4096u + 4000u);
  EXPECT_EQ(MaxSecAggPayloadBytes(1, 9, 1000), 0u);
}

TEST(MessagesTest, HelloRoundTrips) {
  const HelloMsg msg{"Region-1", "fedseg 0.1.0"};
  const HelloMsg back = RoundTrip(MessageType::kHello, msg);
  EXPECT_EQ(back.region, "Region-1");
  EXPECT_EQ(back.software, "fedseg 0.1.0");
  ExpectTruncatedAndTrailingRefused(MessageType::kHello, msg);
}

TEST(MessagesTest, WelcomeRoundTrips) {
  WelcomeMsg msg;
  msg.run_id = "run-1";
  msg.next_round = 3;
  msg.contract.label = "y";
  msg.contract.categorical = {"c", "d"};
  msg.contract.numeric = {"x"};
  msg.contract.drop = {"id"};
  msg.contract.test_fraction = 0.25;
  msg.contract.split_seed = 1234567890123ULL;
  msg.contract.bounds = {{"x", {0.0, 10.0}}};
  const WelcomeMsg back = RoundTrip(MessageType::kWelcome, msg);
  EXPECT_EQ(back.run_id, "run-1");
  EXPECT_EQ(back.next_round, 3u);
  EXPECT_EQ(back.contract.label, "y");
  EXPECT_EQ(back.contract.categorical, (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(back.contract.numeric, std::vector<std::string>{"x"});
  EXPECT_EQ(back.contract.drop, std::vector<std::string>{"id"});
  EXPECT_EQ(back.contract.test_fraction, 0.25);
  EXPECT_EQ(back.contract.split_seed, 1234567890123ULL);
  EXPECT_EQ(back.contract.bounds.at("x"), (std::vector<double>{0.0, 10.0}));
  ExpectTruncatedAndTrailingRefused(MessageType::kWelcome, msg);
}

TEST(MessagesTest, SummaryRequestRoundTrips) {
  const SummaryRequestMsg msg{0.5};
  EXPECT_EQ(RoundTrip(MessageType::kSummaryRequest, msg).noise_multiplier, 0.5);
  ExpectTruncatedAndTrailingRefused(MessageType::kSummaryRequest, msg);
}

TEST(MessagesTest, SummaryReplyRoundTrips) {
  const SummaryReplyMsg msg{Summarize(SmallDataset()), 4, 1};
  const SummaryReplyMsg back = RoundTrip(MessageType::kSummaryReply, msg);
  EXPECT_EQ(back.train_rows, 4u);
  EXPECT_EQ(back.test_rows, 1u);
  EXPECT_EQ(Serialize(back.summary), Serialize(msg.summary));
  ExpectTruncatedAndTrailingRefused(MessageType::kSummaryReply, msg);
}

TEST(MessagesTest, SetupRoundTrips) {
  auto schema = data::Schema::FromSummary(Summarize(SmallDataset()), "y");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  SetupMsg msg;
  msg.run_id = "run-2";
  msg.schema = *schema;
  msg.spec = ml::ModelSpec{schema->input_dim(), {3, 2}, 2};
  msg.plan.local_epochs = 2;
  msg.plan.batch_size = 8;
  msg.plan.optimizer.name = "sgd";
  msg.plan.optimizer.learning_rate = 0.05;
  msg.plan.class_weight = "balanced";
  msg.plan.dp = true;
  msg.plan.dp_clip_norm = 0.75;
  msg.plan.dp_noise_multiplier = 1.1;
  msg.plan.total_rounds = 5;
  msg.plan.proximal_mu = 0.01;
  const SetupMsg back = RoundTrip(MessageType::kSetup, msg);
  EXPECT_EQ(back.run_id, "run-2");
  EXPECT_EQ(back.spec, msg.spec);
  EXPECT_EQ(back.schema.input_dim(), schema->input_dim());
  EXPECT_EQ(back.schema.class_names(), (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(back.plan.local_epochs, 2);
  EXPECT_EQ(back.plan.batch_size, 8);
  EXPECT_EQ(back.plan.optimizer.name, "sgd");
  EXPECT_EQ(back.plan.optimizer.learning_rate, 0.05);
  EXPECT_EQ(back.plan.class_weight, "balanced");
  EXPECT_TRUE(back.plan.dp);
  EXPECT_EQ(back.plan.dp_clip_norm, 0.75);
  EXPECT_EQ(back.plan.dp_noise_multiplier, 1.1);
  EXPECT_EQ(back.plan.total_rounds, 5);
  EXPECT_EQ(back.plan.proximal_mu, 0.01);
  EXPECT_TRUE(back.plan.Validate().ok());
  ExpectTruncatedAndTrailingRefused(MessageType::kSetup, msg);
}

// A region checks the plan a possibly hostile coordinator sends (FederatedClient::HandleSetup runs
// TrainingPlan::Validate before any of it reaches training): a FedProx mu that is negative, NaN or
// infinite arrives intact over the wire and is refused there, naming the field.
TEST(MessagesTest, AHostileProximalMuSurvivesTheWireAndIsRefusedByValidate) {
  for (double mu : {-0.01, -std::numeric_limits<double>::infinity(),
                    std::numeric_limits<double>::quiet_NaN(),
                    std::numeric_limits<double>::infinity()}) {
    SetupMsg msg;
    msg.run_id = "hostile";
    msg.plan.proximal_mu = mu;
    const SetupMsg back = RoundTrip(MessageType::kSetup, msg);
    const Status st = back.plan.Validate();
    ASSERT_FALSE(st.ok()) << "mu " << mu;
    EXPECT_TRUE(st.IsInvalidArgument());
    EXPECT_NE(st.message().find("proximal_mu must be finite and >= 0, got "), std::string::npos)
        << st.message();
  }
  TrainingPlan plan;
  EXPECT_EQ(plan.proximal_mu, 0.0);  // a plan that says nothing is plain FedAvg
  for (double mu : {0.0, 1e-3, 1.0, 100.0}) {
    plan.proximal_mu = mu;
    EXPECT_TRUE(plan.Validate().ok()) << "mu " << mu;
  }
}

TEST(MessagesTest, RoundStartRoundTrips) {
  for (bool train : {true, false}) {
    const RoundStartMsg msg{7, train, 0xFEDCBA9876543210ULL, kWeights};
    const RoundStartMsg back = RoundTrip(MessageType::kRoundStart, msg);
    EXPECT_EQ(back.round, 7u);
    EXPECT_EQ(back.train, train);
    EXPECT_EQ(back.seed, 0xFEDCBA9876543210ULL);
    EXPECT_EQ(back.weights, kWeights);
    EXPECT_TRUE(std::signbit(back.weights[4]));  // -0.0 stays negative: bits, not values
    ExpectTruncatedAndTrailingRefused(MessageType::kRoundStart, msg);
  }
}

TEST(MessagesTest, UpdateRoundTrips) {
  const UpdateMsg msg{2, 10, kWeights, 0.5, Evaluation(), 0.7, 8.0, 1e-5, std::string(64, 'a')};
  const UpdateMsg back = RoundTrip(MessageType::kUpdate, msg);
  EXPECT_EQ(back.round, 2u);
  EXPECT_EQ(back.num_examples, 10u);
  EXPECT_EQ(back.delta, kWeights);
  EXPECT_EQ(back.train_loss, 0.5);
  EXPECT_EQ(back.evaluation.num_classes(), 2);
  EXPECT_EQ(back.evaluation.count(), 3u);
  EXPECT_EQ(back.epsilon_spent, 0.7);
  EXPECT_EQ(back.epsilon_budget, 8.0);
  EXPECT_EQ(back.epsilon_delta, 1e-5);
  EXPECT_EQ(back.ledger_head, std::string(64, 'a'));
  ExpectTruncatedAndTrailingRefused(MessageType::kUpdate, msg);

  // Evaluation-only and without an evaluation.
  const UpdateMsg eval_only{3, 10, {}, 0.0, Evaluation(), 0.0, 0.0, 0.0, ""};
  EXPECT_TRUE(RoundTrip(MessageType::kUpdate, eval_only).delta.empty());
  const UpdateMsg no_eval{1, 3, kWeights, 0.25, ml::ClassificationSummary(), 0, 0, 0, ""};
  EXPECT_EQ(RoundTrip(MessageType::kUpdate, no_eval).evaluation.num_classes(), 0);
}

TEST(MessagesTest, DeclineRoundTrips) {
  const DeclineMsg msg{4, "privacy budget spent", 8.0, 8.0, std::string(64, 'c')};
  const DeclineMsg back = RoundTrip(MessageType::kDecline, msg);
  EXPECT_EQ(back.round, 4u);
  EXPECT_EQ(back.reason, "privacy budget spent");
  EXPECT_EQ(back.epsilon_spent, 8.0);
  EXPECT_EQ(back.epsilon_budget, 8.0);
  EXPECT_EQ(back.ledger_head, std::string(64, 'c'));
  ExpectTruncatedAndTrailingRefused(MessageType::kDecline, msg);
}

TEST(MessagesTest, DoneRoundTrips) {
  const DoneMsg msg{kWeights, "all rounds done"};
  const DoneMsg back = RoundTrip(MessageType::kDone, msg);
  EXPECT_EQ(back.weights, kWeights);
  EXPECT_EQ(back.reason, "all rounds done");
  ExpectTruncatedAndTrailingRefused(MessageType::kDone, msg);
}

TEST(MessagesTest, ErrorRoundTrips) {
  const ErrorMsg msg{std::string("unexpected message \0 with a NUL", 31)};
  EXPECT_EQ(RoundTrip(MessageType::kError, msg).message, msg.message);
  ExpectTruncatedAndTrailingRefused(MessageType::kError, msg);
}

TEST(MessagesTest, AFrameOfAnotherTypeIsRefused) {
  const net::Frame hello = MakeFrame(MessageType::kHello, HelloMsg{"r1", "x"});
  WelcomeMsg out;
  out.run_id = "kept";
  Status st = ParseFrame(hello, MessageType::kWelcome, &out);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  EXPECT_EQ(st.message(), "expected a Welcome message, got Hello");
  EXPECT_EQ(out.run_id, "kept");
  st = ParseFrame(net::Frame{77, hello.payload}, MessageType::kHello, &out.contract.label);
  EXPECT_EQ(st.message(), "expected a Hello message, got unknown(77)");
}

TEST(MessagesTest, ValidateUpdateChecksRoundShapeAndValues) {
  const size_t n = kWeights.size();
  const UpdateMsg good{2, 10, kWeights, 0.5, Evaluation(), 0.7, 8.0, 1e-5, ""};
  EXPECT_TRUE(ValidateUpdate(good, 2, n, 2, true).ok());
  EXPECT_EQ(ValidateUpdate(good, 3, n, 2, true).message(),
            "update is for round 2, the current round is 3");
  EXPECT_EQ(ValidateUpdate(good, 2, n + 1, 2, true).message(),
            "update has 5 weights, the model has 6");
  EXPECT_EQ(ValidateUpdate(good, 2, n, 2, false).message(),
            "evaluation-only round got a weight update");
  EXPECT_EQ(ValidateUpdate(good, 2, n, 3, true).message(),
            "evaluation has 2 classes, the model has 3");
  UpdateMsg nan = good;
  nan.delta[1] = std::nanf("");
  EXPECT_EQ(ValidateUpdate(nan, 2, n, 2, true).message(), "update weight value 1 is not finite");
  UpdateMsg zero = good;
  zero.num_examples = 0;
  EXPECT_EQ(ValidateUpdate(zero, 2, n, 2, true).message(), "update is based on 0 examples");
  UpdateMsg eps = good;
  eps.epsilon_spent = -1;
  EXPECT_EQ(ValidateUpdate(eps, 2, n, 2, true).message(), "epsilon spent must be finite and >= 0");
}

}  // namespace
}  // namespace fedseg::protocol
