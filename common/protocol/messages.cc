#include "common/protocol/messages.h"

#include <cmath>

namespace fedseg::protocol {

std::string MessageTypeName(uint16_t type) {
  switch (static_cast<MessageType>(type)) {
    case MessageType::kHello: return "Hello";
    case MessageType::kWelcome: return "Welcome";
    case MessageType::kSummaryRequest: return "SummaryRequest";
    case MessageType::kSummaryReply: return "SummaryReply";
    case MessageType::kSetup: return "Setup";
    case MessageType::kRoundStart: return "RoundStart";
    case MessageType::kUpdate: return "Update";
    case MessageType::kDecline: return "Decline";
    case MessageType::kDone: return "Done";
    case MessageType::kError: return "Error";
    case MessageType::kSecAggKeys: return "SecAggKeys";
    case MessageType::kSecAggRoster: return "SecAggRoster";
    case MessageType::kSecAggShares: return "SecAggShares";
    case MessageType::kSecAggForward: return "SecAggForward";
    case MessageType::kSecAggMaskedInput: return "SecAggMaskedInput";
    case MessageType::kSecAggUnmaskRequest: return "SecAggUnmaskRequest";
    case MessageType::kSecAggUnmaskResponse: return "SecAggUnmaskResponse";
  }
  return "unknown(" + std::to_string(type) + ")";
}

Status TrainingPlan::Validate() const {
  if (local_epochs < 1 || local_epochs > 1000) {
    return Status::InvalidArgument("local_epochs must be in [1, 1000], got " +
                                   std::to_string(local_epochs));
  }
  if (batch_size < 1 || batch_size > (1 << 16)) {
    return Status::InvalidArgument("batch_size must be in [1, 65536], got " +
                                   std::to_string(batch_size));
  }
  if (class_weight != "none" && class_weight != "balanced") {
    return Status::InvalidArgument("class_weight must be 'none' or 'balanced'");
  }
  // A region runs this check on the plan a possibly hostile coordinator sent: a NaN mu would
  // poison every weight, a negative one would push the local model away from the global one.
  if (!std::isfinite(proximal_mu) || proximal_mu < 0) {
    return Status::InvalidArgument("proximal_mu must be finite and >= 0, got " +
                                   std::to_string(proximal_mu));
  }
  return optimizer.Validate();
}

namespace {

Status CheckFinite(const std::vector<float>& v, const char* what) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      return Status::InvalidArgument(std::string(what) + " value " + std::to_string(i) +
                                     " is not finite");
    }
  }
  return Status::OK();
}

}  // namespace

Status ValidateUpdate(const UpdateMsg& msg, uint32_t expected_round, size_t num_params,
                      int num_classes, bool expect_delta) {
  if (msg.round != expected_round) {
    return Status::InvalidArgument("update is for round " + std::to_string(msg.round) +
                                   ", the current round is " + std::to_string(expected_round));
  }
  if (expect_delta) {
    if (msg.delta.size() != num_params) {
      return Status::InvalidArgument("update has " + std::to_string(msg.delta.size()) +
                                     " weights, the model has " + std::to_string(num_params));
    }
    if (msg.num_examples == 0) return Status::InvalidArgument("update is based on 0 examples");
    if (msg.num_examples > (uint64_t{1} << 40)) {
      return Status::InvalidArgument("update claims an implausible " +
                                     std::to_string(msg.num_examples) + " examples");
    }
    FEDSEG_RETURN_IF_ERROR(CheckFinite(msg.delta, "update weight"));
  } else if (!msg.delta.empty()) {
    return Status::InvalidArgument("evaluation-only round got a weight update");
  }
  if (!std::isfinite(msg.train_loss)) return Status::InvalidArgument("train loss is not finite");
  if (msg.evaluation.num_classes() != 0 || msg.evaluation.count() != 0) {
    if (msg.evaluation.num_classes() != num_classes) {
      return Status::InvalidArgument("evaluation has " +
                                     std::to_string(msg.evaluation.num_classes()) +
                                     " classes, the model has " + std::to_string(num_classes));
    }
    Status st = msg.evaluation.Validate();
    if (!st.ok()) return st.WithContext("evaluation summary");
  }
  if (!std::isfinite(msg.epsilon_spent) || msg.epsilon_spent < 0) {
    return Status::InvalidArgument("epsilon spent must be finite and >= 0");
  }
  return Status::OK();
}

uint64_t MaxSecAggPayloadBytes(uint16_t type, size_t regions, uint64_t vector_length) {
  // Per region: a keys record (two keys, an ECDSA or RSA-4096 signature, a certificate) under
  // 16 KiB; an envelope (names, two Shamir shares of 32-byte secrets, nonce, tag) under 1 KiB; a
  // revealed share under 512 bytes. Names are at most a few hundred bytes.
  constexpr uint64_t kFixed = 4096;
  const uint64_t n = regions;
  switch (static_cast<MessageType>(type)) {
    case MessageType::kSecAggKeys: return kFixed + 16384;
    case MessageType::kSecAggRoster: return kFixed + n * 16384;
    case MessageType::kSecAggShares:
    case MessageType::kSecAggForward: return kFixed + n * 1024;
    case MessageType::kSecAggMaskedInput: return kFixed + 4 * vector_length;
    case MessageType::kSecAggUnmaskRequest: return kFixed + n * 512;
    case MessageType::kSecAggUnmaskResponse: return kFixed + n * 512;
    default: return 0;
  }
}

Status ValidateWeights(const std::vector<float>& weights, const ml::ModelSpec& spec) {
  if (static_cast<int64_t>(weights.size()) != spec.num_params()) {
    return Status::InvalidArgument("received " + std::to_string(weights.size()) +
                                   " weights, the " + spec.ToString() + " model has " +
                                   std::to_string(spec.num_params()));
  }
  return CheckFinite(weights, "weight");
}

}  // namespace fedseg::protocol
