// The one TLS listener of fedseg: the federation server (TlsServer) and the coordinator's status
// endpoint (StatusServer) both accept connections through it, so both apply the same limits and
// report refusals with the same reasons.
//
// A Listener binds and listens (SO_REUSEADDR, the configured backlog), accepts on its own strand
// and retries with a bounded backoff after transient accept errors (EMFILE, ENFILE, ENOBUFS,
// ENOMEM; ECONNABORTED is retried at once), holds at most max_connections connections (one more is
// closed right after accept and counted), sets up TCP keep-alive, and runs the TLS handshake under
// a deadline. Only a connection whose handshake succeeded (and, when required, whose certificate
// names a subject CN that the owner admits) reaches the owner, as an established stream plus a
// ConnectionSlot that keeps its place under the cap until the owner's session ends. Every refusal
// is counted under a RefusalReason and logged with the peer and the reason, rate-limited (a burst
// of lines per interval, then one summary line with the counts).
//
// Admission is built to withstand a flood of unauthenticated connections (docs/security.md):
// a source address may hold at most max_handshakes_per_address connections that are still in
// their handshake (one more is closed right after accept), so one address can neither fill the
// connection table nor starve other peers; a connection costs only its socket and a few hundred
// bytes until the peer's first bytes arrive (the TLS state, ~87 KiB with its buffers, is built
// only then); and the whole handshake, first byte included, must finish within
// handshake_timeout (3 s by default).
#ifndef FEDSEG_COMMON_NET_LISTENER_H_
#define FEDSEG_COMMON_NET_LISTENER_H_

#include <spdlog/logger.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/net/refusal.h"
#include "common/net/tcp_keepalive.h"

namespace fedseg::net {

namespace internal {
class ListenerCore;
}

using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

// A connection the listener can end: a handshake in progress, or the owner's session. Close() is
// called (once or more) from the listener's strand when it stops; it must be safe from any thread.
class ListenedConnection {
 public:
  virtual ~ListenedConnection() = default;
  virtual void Close(std::string reason) = 0;
};

// One place under Listener's connection cap. Movable, not copyable; the place is given back when
// the slot is released or destroyed, and connection_count() drops at that moment.
class ConnectionSlot {
 public:
  ConnectionSlot() = default;
  ConnectionSlot(std::shared_ptr<internal::ListenerCore> core, uint64_t id);
  ~ConnectionSlot() { Release(); }
  ConnectionSlot(ConnectionSlot&& other) noexcept;
  ConnectionSlot& operator=(ConnectionSlot&& other) noexcept;
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;

  // Unique per listener, starting at 1; 0 for an empty slot.
  uint64_t id() const { return id_; }
  void Release();

 private:
  std::shared_ptr<internal::ListenerCore> core_;
  uint64_t id_ = 0;
};

// A connection that passed the handshake, handed to the owner on its own strand (the stream's
// executor).
struct AcceptedConnection {
  std::unique_ptr<TlsStream> stream;
  ConnectionSlot slot;
  boost::asio::ip::tcp::endpoint remote;
  // The verified peer's subject CN; "" when the peer presented no certificate (only possible when
  // the TLS context makes certificates optional and require_common_name is false).
  std::string peer_common_name;
  // Hex SHA-256 of the peer certificate's SubjectPublicKeyInfo (SpkiSha256Hex); "" without one.
  std::string peer_spki_sha256;
};

struct ListenerOptions {
  // Where to listen: an IP literal or a host name resolved once at Create(). Port 0 binds an
  // ephemeral port; read it back with Listener::port().
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // Pending connections the kernel queues before accept().
  int backlog = boost::asio::socket_base::max_listen_connections;
  // Connections held at once, handshaking or handed to the owner; one more is closed right after
  // accept and counted as "connection limit reached".
  size_t max_connections = 256;
  // Connections from one source address that are still in their handshake; one more from that
  // address is closed right after accept and counted as "per-address handshake limit reached".
  // Verified connections no longer count, so many regions behind one NAT address are fine as
  // long as they do not all handshake at the same instant (they retry with a backoff).
  size_t max_handshakes_per_address = 64;
  // From accept to a verified peer; a peer that is slower is refused as "handshake timed out".
  std::chrono::milliseconds handshake_timeout{3'000};
  // Refuse a verified peer whose certificate names no usable subject CN.
  bool require_common_name = true;
  // Asked about each verified peer's CN (possibly "" when certificates are optional): "" admits
  // it, anything else refuses it as "identity not allowed" with that text in the log line. Null
  // admits every verified peer. Runs on the connection's strand; must not throw.
  std::function<std::string(const std::string& common_name)> check_identity;
  // Refusal log lines: at most refusal_log_burst per refusal_log_interval, then one summary line
  // with the counts per reason when the interval is over.
  size_t refusal_log_burst = 10;
  std::chrono::milliseconds refusal_log_interval{10'000};
  // Dead-peer detection set on each accepted socket; nullopt leaves the kernel's settings.
  std::optional<TcpKeepalive> keepalive;
  // Backoff after a transient accept error: the first wait, doubled on each further error up to
  // the maximum, reset by a successful accept.
  std::chrono::milliseconds accept_retry_initial{100};
  std::chrono::milliseconds accept_retry_max{1'600};
  // Log lines: `name` starts the listening and stopping lines ("TLS server"), `log_prefix` the
  // others ("" or "status server: "), `refusal_log` the refusal lines ("refused TLS connection
  // from ", then the peer and the reason).
  std::string name = "TLS server";
  std::string log_prefix;
  std::string refusal_log = "refused TLS connection from ";
  // Null means spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger;
  // Where refusals are counted; null means a counter of the listener's own. An owner whose
  // sessions report the counts (the status server's /metrics) passes one they can share.
  std::shared_ptr<RefusalCounter> refusals;
};

class Listener {
 public:
  // Receives each verified connection. Returns the session it became (tracked weakly, so Stop()
  // can close it), or null if the owner dropped the connection.
  using AcceptFn = std::function<std::shared_ptr<ListenedConnection>(AcceptedConnection)>;

  // Validates `options`, resolves, binds and listens, and starts accepting on `io`. Errors say which
  // address failed and why ("listen on 127.0.0.1:7000: bind: Address already in use").
  static Result<std::unique_ptr<Listener>> Create(boost::asio::io_context& io,
                                                  std::shared_ptr<boost::asio::ssl::context> tls,
                                                  ListenerOptions options, AcceptFn on_accept);
  // Stops the listener (see Stop). Destroy it before its io_context.
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  uint16_t port() const { return port_; }
  // "127.0.0.1:7000", "[::1]:7000".
  const std::string& bound() const { return bound_; }

  // Closes the acceptor, aborts handshakes in progress and Close()s every connection handed to the
  // owner ("server stopping"). Safe from any thread and more than once.
  void Stop();
  bool stopped() const;

  // Refused connections per reason label (RefusalCounter::Snapshot). Safe from any thread.
  std::map<std::string, uint64_t> refused_counts() const;
  // Connections currently held (handshaking or in a session). Safe from any thread.
  size_t connection_count() const;
  // Connections still in their handshake. Safe from any thread.
  size_t handshake_count() const;

 private:
  Listener(std::shared_ptr<internal::ListenerCore> core, uint16_t port, std::string bound);

  std::shared_ptr<internal::ListenerCore> core_;
  uint16_t port_;
  std::string bound_;
};

// "127.0.0.1:53422", or "[::1]:53422" for IPv6, "?" when the address cannot be printed.
std::string EndpointString(const boost::asio::ip::tcp::endpoint& endpoint);

// "250 ms", for deadline messages.
std::string Ms(std::chrono::milliseconds duration);

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_LISTENER_H_
