// Fuzz targets: the federation's messages and their frames (see fuzz_targets.h).
#include <algorithm>
#include <string>
#include <string_view>

#include "common/net/frame.h"
#include "common/protocol/messages.h"
#include "tests/fuzz/fuzz_targets.h"

namespace fedseg::fuzz {
namespace {

// A small architecture to validate received weights against (23 parameters).
const ml::ModelSpec& SmallSpec() {
  static const ml::ModelSpec spec{4, {3}, 2};
  return spec;
}

// Parses; if accepted, re-serialises and re-parses: the second encoding must equal the first and
// have the input's size (portable binary has one encoding per value, up to the byte order flag and
// bools, which the first pass normalises).
template <typename T>
bool ParseRoundTrip(std::string_view payload, T* msg) {
  Status st = Parse(payload, msg, "fuzz message");
  if (!st.ok()) {
    FEDSEG_FUZZ_CHECK(st.message().find("fuzz message") != std::string::npos,
                      "parse errors name the message");
    return false;
  }
  const std::string once = Serialize(*msg);
  FEDSEG_FUZZ_CHECK(once.size() == payload.size(), "re-encoding keeps the size");
  T again;
  FEDSEG_FUZZ_CHECK(Parse(once, &again, "re-encoded message").ok(), "a re-encoded message parses");
  FEDSEG_FUZZ_CHECK(Serialize(again) == once, "encoding is stable");
  return true;
}

void CheckSummary(const ml::ClassificationSummary& s) {
  if (!s.Validate().ok()) return;
  (void)ml::ComputeReport(s);
  ml::ClassificationSummary total(s.num_classes());
  if (s.num_classes() >= 2) {
    FEDSEG_FUZZ_CHECK(total.Merge(s).ok(), "a valid summary merges into an empty one");
  }
}

}  // namespace

void CheckMessage(uint16_t type, std::string_view payload) {
  switch (static_cast<protocol::MessageType>(type)) {
    case protocol::MessageType::kHello: {
      protocol::HelloMsg m;
      ParseRoundTrip(payload, &m);
      break;
    }
    case protocol::MessageType::kWelcome: {
      protocol::WelcomeMsg m;
      ParseRoundTrip(payload, &m);
      break;
    }
    case protocol::MessageType::kSummaryRequest: {
      protocol::SummaryRequestMsg m;
      ParseRoundTrip(payload, &m);
      break;
    }
    case protocol::MessageType::kSummaryReply: {
      protocol::SummaryReplyMsg m;
      if (ParseRoundTrip(payload, &m) && m.summary.Validate().ok()) {
        data::DataSummary merged = m.summary;
        (void)merged.Merge(m.summary);
      }
      break;
    }
    case protocol::MessageType::kSetup: {
      protocol::SetupMsg m;
      if (ParseRoundTrip(payload, &m)) {
        (void)m.plan.Validate();
        if (m.spec.Validate().ok()) {
          FEDSEG_FUZZ_CHECK(m.spec.num_params() > 0, "a valid spec has parameters");
          (void)m.spec.ToString();
        }
        if (m.schema.Validate().ok()) {
          for (int j = 0; j < m.schema.input_dim() && j < 64; ++j) (void)m.schema.FeatureName(j);
        }
      }
      break;
    }
    case protocol::MessageType::kRoundStart: {
      protocol::RoundStartMsg m;
      if (ParseRoundTrip(payload, &m)) (void)protocol::ValidateWeights(m.weights, SmallSpec());
      break;
    }
    case protocol::MessageType::kUpdate: {
      protocol::UpdateMsg m;
      if (ParseRoundTrip(payload, &m)) {
        (void)protocol::ValidateUpdate(m, m.round, m.delta.size(), m.evaluation.num_classes(),
                             !m.delta.empty());
        (void)ValidateUpdate(m, 1, static_cast<size_t>(SmallSpec().num_params()), 2, true);
        CheckSummary(m.evaluation);
      }
      break;
    }
    case protocol::MessageType::kDecline: {
      protocol::DeclineMsg m;
      ParseRoundTrip(payload, &m);
      break;
    }
    case protocol::MessageType::kDone: {
      protocol::DoneMsg m;
      if (ParseRoundTrip(payload, &m)) (void)protocol::ValidateWeights(m.weights, SmallSpec());
      break;
    }
    case protocol::MessageType::kError: {
      protocol::ErrorMsg m;
      ParseRoundTrip(payload, &m);
      break;
    }
    default:
      (void)protocol::MessageTypeName(type);
      break;
  }
}

int FuzzMessages(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto type = static_cast<uint16_t>(1 + data[0] % 10);
  CheckMessage(type, std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  return 0;
}

int FuzzFrame(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  // A receiver's limit: the default, or a small one when the input asks (byte 0 odd).
  const uint32_t limit = (size > 0 && (data[0] & 1) != 0) ? 64 : net::kDefaultMaxFrameBytes;
  Result<net::FrameHeader> h = net::DecodeFrameHeader(bytes, limit);
  if (!h.ok()) return 0;
  FEDSEG_FUZZ_CHECK(size >= net::kFrameHeaderSize, "a header needs 16 bytes");
  FEDSEG_FUZZ_CHECK(h->payload_length <= limit, "an accepted length is within the limit");
  const auto encoded = net::EncodeFrameHeader(h->type, h->payload_length);
  FEDSEG_FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), data),
                    "an accepted header re-encodes to the same bytes");
  // The connection reads payload_length bytes next; here they are whatever the input holds.
  const size_t available = size - net::kFrameHeaderSize;
  if (h->payload_length > available) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data + net::kFrameHeaderSize),
                                 h->payload_length);
  const std::string framed = net::EncodeFrame(h->type, payload);
  Result<net::FrameHeader> again = net::DecodeFrameHeader(
      std::span(reinterpret_cast<const uint8_t*>(framed.data()), framed.size()), limit);
  FEDSEG_FUZZ_CHECK(
      again.ok() && again->payload_length == h->payload_length && again->type == h->type,
      "an encoded frame decodes");
  CheckMessage(h->type, payload);
  return 0;
}

}  // namespace fedseg::fuzz
