// Why a listener refused a connection, and the counters that /metrics and report.json show.
//
// One enum for both of the coordinator's listeners (the federation port and the status endpoint),
// so the two report the same reason with the same label. A label is the reason's fixed name, or
// for the three reasons that carry OpenSSL's own text, that text ("certificate has expired",
// "client refused the server: tlsv1 alert unknown ca", "TLS error: <reason>"). OpenSSL's texts
// form a finite table, and RefusalCounter additionally caps the number of distinct labels, so a
// peer can never grow the set of counters (or of Prometheus time series) without bound.
#ifndef FEDSEG_COMMON_NET_REFUSAL_H_
#define FEDSEG_COMMON_NET_REFUSAL_H_

#include <array>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/net/tls.h"

namespace fedseg::net {

enum class RefusalReason : uint8_t {
  kConnectionLimit,        // "connection limit reached": the cap was full at accept
  kHandshakeTimeout,       // "handshake timed out": no verified handshake within the deadline
  kNoClientCertificate,    // "no client certificate"
  kNoCommonName,           // "certificate has no common name"
  kClosedDuringHandshake,  // "connection closed during handshake": EOF, reset or broken pipe
  kCertificateRejected,    // OpenSSL's verify error text: "certificate has expired", ...
  kClientRefusedServer,    // "client refused the server: <alert>"
  kTlsError,               // "TLS error: <OpenSSL reason>"
  kAddressHandshakeLimit,  // "per-address handshake limit reached": too many handshakes from
                           // that source address at once
  kIdentityNotAllowed,     // "identity not allowed": a verified certificate whose CN this
                           // listener does not admit (a region's on the status endpoint)
};
inline constexpr size_t kRefusalReasonCount = 10;

// The fixed name of `reason` (for the three with a detail, the prefix of their label:
// "certificate rejected", "client refused the server", "TLS error").
std::string_view RefusalReasonName(RefusalReason reason);

struct Refusal {
  RefusalReason reason = RefusalReason::kTlsError;
  // OpenSSL's text for kCertificateRejected, kClientRefusedServer and kTlsError; empty otherwise.
  std::string detail;

  // The counter key: the name, "<name>: <detail>", or the bare detail for kCertificateRejected.
  std::string Label() const;
};

// Classifies a failed server-side handshake: the recorded verify failure first, then OpenSSL's
// "peer did not return a certificate", a TLS alert from the peer, a closed connection, anything
// else as a TLS error.
Refusal ClassifyHandshakeError(const boost::system::error_code& ec,
                               const PeerVerifyFailure& verify);

// Refusals per label. Thread-safe. At most kMaxLabels distinct labels carry a detail; once that
// many exist, a refusal with a new detail is counted under its reason's bare name.
class RefusalCounter {
 public:
  static constexpr size_t kMaxLabels = 64;

  void Count(const Refusal& refusal);
  // Every label counted at least once, with its count.
  std::map<std::string, uint64_t> Snapshot() const;

 private:
  mutable std::mutex mu_;
  std::array<uint64_t, kRefusalReasonCount> plain_{};  // refusals counted under the bare name
  std::map<std::string, uint64_t> detailed_;            // label -> count
};

// Decides which refusals are logged one line each. A flood of thousands of connections must not
// write thousands of lines (disk, and a log nobody can read): within each `interval`, the first
// `burst` refusals are logged in full and the rest only counted per label, for one summary line
// when the interval is over ("TLS server refused 4431 more connection(s) in the last 10000 ms
// without a line each: handshake timed out 4000, per-address handshake limit reached 431").
// Thread-safe.
class RefusalLogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RefusalLogLimiter(size_t burst, Clock::duration interval) : burst_(burst), interval_(interval) {}

  // True: log this refusal now. False: it was counted for the summary; `*first_suppressed` is set
  // when it is the first one of its interval, so the caller can schedule FlushSummary() for
  // interval_end().
  bool Admit(const std::string& label, Clock::time_point now, bool* first_suppressed);
  // When the interval that began at the first logged refusal is over (or `force`): the summary of
  // what was suppressed in it ("" if nothing was), and a new interval starts with the next
  // refusal.
  std::string FlushSummary(Clock::time_point now, bool force = false);
  Clock::time_point interval_end() const;

 private:
  const size_t burst_;
  const Clock::duration interval_;
  mutable std::mutex mu_;
  bool open_ = false;  // an interval is running
  Clock::time_point start_;
  size_t logged_ = 0;
  uint64_t suppressed_ = 0;
  std::map<std::string, uint64_t> suppressed_by_label_;
};

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_REFUSAL_H_
