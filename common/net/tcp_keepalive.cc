#include "common/net/tcp_keepalive.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace fedseg::net {
namespace {

Status SetIntOption(int fd, int level, int name, int value, const char* what) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    return Status::Internal(std::string("setsockopt ") + what + " = " + std::to_string(value) +
                            ": " + std::strerror(errno));
  }
  return Status::OK();
}

}  // namespace

Status TcpKeepalive::Validate() const {
  if (dead_after.count() == 0 || (dead_after >= kMin && dead_after <= kMax)) return Status::OK();
  return Status::InvalidArgument("dead-peer timeout must be 0 (off) or in [" +
                                 std::to_string(kMin.count()) + ", " +
                                 std::to_string(kMax.count()) + "] s, got " +
                                 std::to_string(dead_after.count()));
}

std::chrono::seconds TcpKeepalive::idle() const {
  return std::max(std::chrono::seconds(1), dead_after / 2);
}

std::chrono::seconds TcpKeepalive::interval() const {
  return std::max(std::chrono::seconds(1), (dead_after - idle()) / kProbes);
}

Status SetTcpKeepalive(int fd, const TcpKeepalive& keepalive) {
  FEDSEG_RETURN_IF_ERROR(keepalive.Validate());
  if (fd < 0) return Status::FailedPrecondition("keepalive: socket is not open");
  if (!keepalive.enabled()) {
    FEDSEG_RETURN_IF_ERROR(SetIntOption(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, 0, "TCP_USER_TIMEOUT"));
    return SetIntOption(fd, SOL_SOCKET, SO_KEEPALIVE, 0, "SO_KEEPALIVE");
  }
  FEDSEG_RETURN_IF_ERROR(SetIntOption(fd, IPPROTO_TCP, TCP_KEEPIDLE,
                                      static_cast<int>(keepalive.idle().count()), "TCP_KEEPIDLE"));
  FEDSEG_RETURN_IF_ERROR(SetIntOption(fd, IPPROTO_TCP, TCP_KEEPINTVL,
                                      static_cast<int>(keepalive.interval().count()),
                                      "TCP_KEEPINTVL"));
  FEDSEG_RETURN_IF_ERROR(
      SetIntOption(fd, IPPROTO_TCP, TCP_KEEPCNT, TcpKeepalive::kProbes, "TCP_KEEPCNT"));
  // Milliseconds; with SO_KEEPALIVE it also replaces the probe count as the cut-off (tcp(7)).
  FEDSEG_RETURN_IF_ERROR(SetIntOption(
      fd, IPPROTO_TCP, TCP_USER_TIMEOUT,
      static_cast<int>(std::chrono::milliseconds(keepalive.dead_after).count()),
      "TCP_USER_TIMEOUT"));
  return SetIntOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
}

}  // namespace fedseg::net
