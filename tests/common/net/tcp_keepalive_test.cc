// TcpKeepalive: the derived probe timings, validation, and the options it really sets on a
// connected loopback socket (read back with getsockopt).
#include "common/net/tcp_keepalive.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace fedseg::net {
namespace {

using std::chrono::seconds;

// A connected pair of loopback TCP sockets; closes both on destruction.
class LoopbackPair {
 public:
  LoopbackPair() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_, 1) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    client_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (client_ < 0 || ::connect(client_, reinterpret_cast<sockaddr*>(&addr), len) != 0) return;
    server_ = ::accept(listener_, nullptr, nullptr);
  }
  ~LoopbackPair() {
    for (int fd : {client_, server_, listener_}) {
      if (fd >= 0) ::close(fd);
    }
  }
  bool ok() const { return client_ >= 0 && server_ >= 0; }
  int client() const { return client_; }

 private:
  int listener_ = -1, client_ = -1, server_ = -1;
};

int GetOption(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  EXPECT_EQ(::getsockopt(fd, level, name, &value, &len), 0);
  return value;
}

TEST(TcpKeepaliveTest, SplitsTheDeadlineIntoIdleTimeAndThreeProbes) {
  const TcpKeepalive def;
  EXPECT_EQ(def.dead_after, seconds(60));
  EXPECT_TRUE(def.enabled());
  EXPECT_EQ(def.idle(), seconds(30));
  EXPECT_EQ(def.interval(), seconds(10));
  EXPECT_EQ(def.idle() + TcpKeepalive::kProbes * def.interval(), def.dead_after);

  const TcpKeepalive fast{seconds(4)};
  EXPECT_EQ(fast.idle(), seconds(2));
  EXPECT_EQ(fast.interval(), seconds(1));  // never below one second

  EXPECT_FALSE(TcpKeepalive{seconds(0)}.enabled());
}

TEST(TcpKeepaliveTest, ValidatesTheDeadline) {
  EXPECT_TRUE(TcpKeepalive{seconds(0)}.Validate().ok());
  EXPECT_TRUE(TcpKeepalive{seconds(2)}.Validate().ok());
  EXPECT_TRUE(TcpKeepalive{seconds(86400)}.Validate().ok());
  for (int bad : {-1, 1, 86401}) {
    const Status st = TcpKeepalive{seconds(bad)}.Validate();
    EXPECT_TRUE(st.IsInvalidArgument()) << bad << ": " << st.ToString();
    EXPECT_EQ(st.message(), "dead-peer timeout must be 0 (off) or in [2, 86400] s, got " +
                                std::to_string(bad));
  }
}

TEST(TcpKeepaliveTest, SetsKeepaliveProbesAndUserTimeoutOnASocket) {
  LoopbackPair pair;
  ASSERT_TRUE(pair.ok());
  const int fd = pair.client();
  ASSERT_EQ(GetOption(fd, SOL_SOCKET, SO_KEEPALIVE), 0);  // the kernel's default: off

  ASSERT_TRUE(SetTcpKeepalive(fd, TcpKeepalive{seconds(9)}).ok());
  EXPECT_EQ(GetOption(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(GetOption(fd, IPPROTO_TCP, TCP_KEEPIDLE), 4);
  EXPECT_EQ(GetOption(fd, IPPROTO_TCP, TCP_KEEPINTVL), 1);
  EXPECT_EQ(GetOption(fd, IPPROTO_TCP, TCP_KEEPCNT), 3);
  EXPECT_EQ(GetOption(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 9000);

  // Turning it off clears both the probes and the user timeout.
  ASSERT_TRUE(SetTcpKeepalive(fd, TcpKeepalive{seconds(0)}).ok());
  EXPECT_EQ(GetOption(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
  EXPECT_EQ(GetOption(fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
}

TEST(TcpKeepaliveTest, RefusesBadSettingsAndClosedSocketsWithoutTouchingTheSocket) {
  LoopbackPair pair;
  ASSERT_TRUE(pair.ok());
  const Status bad = SetTcpKeepalive(pair.client(), TcpKeepalive{seconds(1)});
  EXPECT_TRUE(bad.IsInvalidArgument()) << bad.ToString();
  EXPECT_EQ(GetOption(pair.client(), SOL_SOCKET, SO_KEEPALIVE), 0);

  const Status closed = SetTcpKeepalive(-1, TcpKeepalive{});
  EXPECT_EQ(closed.code(), StatusCode::kFailedPrecondition) << closed.ToString();

  // A descriptor that is not a TCP socket: the kernel's refusal names the option.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const Status not_tcp = SetTcpKeepalive(fds[0], TcpKeepalive{});
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(not_tcp.code(), StatusCode::kInternal) << not_tcp.ToString();
  EXPECT_NE(not_tcp.message().find("setsockopt TCP_KEEPIDLE = 30"), std::string::npos)
      << not_tcp.ToString();
}

}  // namespace
}  // namespace fedseg::net
