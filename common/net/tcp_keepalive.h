// Dead-peer detection for fedseg's long-lived TCP connections: TCP keepalive plus TCP_USER_TIMEOUT.
//
// A cut link, a powered-off host or a NAT that forgot the flow resets nothing: the peer's socket
// stays ESTABLISHED. Without help, a region blocked in Receive waits for its receive timeout (30
// min by default), the coordinator keeps selecting the region and waits out every round's deadline
// until its idle timeout (10 min or more), and unacknowledged data is retransmitted for ~15 min.
// With keepalive the kernel probes a connection that has been silent for `idle()` and, once the
// peer has been unheard of for `dead_after`, drops the connection: the pending read fails with
// "Connection timed out" and the ordinary paths take over (the region reconnects with backoff; the
// coordinator counts the region as lost for the round and stops selecting it). TCP_USER_TIMEOUT
// bounds the same wait when we have sent data the peer never acknowledged (keepalive only covers
// idle connections) and makes the keepalive cut-off a time instead of a probe count.
//
// A healthy peer that is busy (a region training for minutes) still answers probes from its
// kernel, so dead_after does not limit how long a round may take.
#ifndef FEDSEG_COMMON_NET_TCP_KEEPALIVE_H_
#define FEDSEG_COMMON_NET_TCP_KEEPALIVE_H_

#include <chrono>

#include "common/base/status.h"

namespace fedseg::net {

struct TcpKeepalive {
  // How long an unreachable peer may stay unheard of before the connection is dropped; 0 turns
  // keepalive off (the kernel's defaults: 2 h before the first probe).
  std::chrono::seconds dead_after{60};

  static constexpr int kProbes = 3;
  static constexpr std::chrono::seconds kMin{2};
  static constexpr std::chrono::seconds kMax{86400};

  // InvalidArgument unless dead_after is 0 or in [kMin, kMax].
  Status Validate() const;
  bool enabled() const { return dead_after.count() > 0; }
  // Silence before the first probe: half of dead_after.
  std::chrono::seconds idle() const;
  // Between probes: the other half spread over kProbes probes (at least 1 s).
  std::chrono::seconds interval() const;
};

// Applies `keepalive` to the connected TCP socket `fd` (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL,
// TCP_KEEPCNT, TCP_USER_TIMEOUT), or turns keepalive and the user timeout off when it is disabled.
// InvalidArgument for a bad `keepalive`, Internal naming the option the kernel refused.
Status SetTcpKeepalive(int fd, const TcpKeepalive& keepalive);

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_TCP_KEEPALIVE_H_
