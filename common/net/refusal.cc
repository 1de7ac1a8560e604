#include "common/net/refusal.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/error.hpp>

namespace fedseg::net {

namespace {

constexpr std::array<std::string_view, kRefusalReasonCount> kNames = {
    "connection limit reached",
    "handshake timed out",
    "no client certificate",
    "certificate has no common name",
    "connection closed during handshake",
    "certificate rejected",
    "client refused the server",
    "TLS error",
    "per-address handshake limit reached",
    "identity not allowed",
};

bool HasDetail(RefusalReason reason) {
  return reason == RefusalReason::kCertificateRejected ||
         reason == RefusalReason::kClientRefusedServer || reason == RefusalReason::kTlsError;
}

std::string MsText(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

std::string_view RefusalReasonName(RefusalReason reason) {
  const auto index = static_cast<size_t>(reason);
  return index < kNames.size() ? kNames[index] : std::string_view("TLS error");
}

std::string Refusal::Label() const {
  if (!HasDetail(reason) || detail.empty()) return std::string(RefusalReasonName(reason));
  if (reason == RefusalReason::kCertificateRejected) return detail;
  return std::string(RefusalReasonName(reason)) + ": " + detail;
}

Refusal ClassifyHandshakeError(const boost::system::error_code& ec,
                               const PeerVerifyFailure& verify) {
  namespace asio = boost::asio;
  if (verify.failed()) return {RefusalReason::kCertificateRejected, verify.reason()};
  if (ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
          SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    return {RefusalReason::kNoClientCertificate, ""};
  }
  if (IsPeerTlsAlert(ec)) return {RefusalReason::kClientRefusedServer, DescribeTlsError(ec)};
  if (IsCleanClose(ec) || ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
    return {RefusalReason::kClosedDuringHandshake, ""};
  }
  return {RefusalReason::kTlsError, DescribeTlsError(ec)};
}

void RefusalCounter::Count(const Refusal& refusal) {
  std::lock_guard<std::mutex> lock(mu_);
  if (HasDetail(refusal.reason) && !refusal.detail.empty()) {
    const std::string label = refusal.Label();
    auto it = detailed_.find(label);
    if (it != detailed_.end()) {
      ++it->second;
      return;
    }
    if (detailed_.size() < kMaxLabels) {
      detailed_.emplace(label, 1);
      return;
    }
  }
  ++plain_[static_cast<size_t>(refusal.reason) % kRefusalReasonCount];
}

std::map<std::string, uint64_t> RefusalCounter::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, uint64_t> out = detailed_;
  for (size_t i = 0; i < kRefusalReasonCount; ++i) {
    if (plain_[i] > 0) out[std::string(kNames[i])] += plain_[i];
  }
  return out;
}

bool RefusalLogLimiter::Admit(const std::string& label, Clock::time_point now,
                              bool* first_suppressed) {
  std::lock_guard<std::mutex> lock(mu_);
  *first_suppressed = false;
  if (open_ && now - start_ >= interval_ && suppressed_ == 0) open_ = false;
  if (!open_) {
    open_ = true;
    start_ = now;
    logged_ = 0;
  }
  if (logged_ < burst_ && suppressed_ == 0) {
    ++logged_;
    return true;
  }
  *first_suppressed = suppressed_ == 0;
  ++suppressed_;
  // Labels form a bounded set (RefusalCounter's), so this map stays small.
  ++suppressed_by_label_[label];
  return false;
}

std::string RefusalLogLimiter::FlushSummary(Clock::time_point now, bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!open_ || (!force && now - start_ < interval_)) return "";
  open_ = false;
  if (suppressed_ == 0) return "";
  std::string out = std::to_string(suppressed_) + " more connection(s) in the last " +
                    MsText(now - start_) + " without a line each:";
  bool first = true;
  for (const auto& [label, n] : suppressed_by_label_) {
    out += (first ? " " : ", ") + label + " " + std::to_string(n);
    first = false;
  }
  suppressed_ = 0;
  suppressed_by_label_.clear();
  return out;
}

RefusalLogLimiter::Clock::time_point RefusalLogLimiter::interval_end() const {
  std::lock_guard<std::mutex> lock(mu_);
  return start_ + interval_;
}

}  // namespace fedseg::net
