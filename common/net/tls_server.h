// The coordinator's side of the transport: an asynchronous mutual-TLS server that turns each
// authenticated connection into a TlsSession delivering and sending whole frames.
//
// Everything runs on the caller's boost::asio::io_context (the coordinator runs it on one thread);
// every callback is invoked from that io_context, never concurrently for the same session. A
// connection only becomes a session after a TLS 1.3 handshake in which the client presented a
// certificate from the federation CA (accepting, the connection cap and the handshake are the
// shared Listener's); refused handshakes are logged with the reason and the peer address and
// counted per RefusalReason, and never reach the owner. Each session then reads frames one
// after another (header, validation, payload) and sends queued frames one at a time. Every wait
// has a deadline (handshake, idle, rest of a started frame, each write, TLS shutdown), inbound
// frames are capped in size and the send queue is bounded, so a slow, stalled or hostile peer costs
// one connection and never the server. No exception leaves a handler: Asio calls use their
// error_code overloads and owner callbacks are called inside try/catch.
#ifndef FEDSEG_COMMON_NET_TLS_SERVER_H_
#define FEDSEG_COMMON_NET_TLS_SERVER_H_

#include <spdlog/logger.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/base/status.h"
#include "common/net/frame.h"
#include "common/net/listener.h"
#include "common/net/tcp_keepalive.h"
#include "common/net/tls.h"
#include "common/net/tls_session.h"

namespace fedseg::net {

namespace internal {
class TlsServerCore;
}

// Listening address, limits and deadlines. Create() validates them once.
struct TlsServerOptions {
  // Address to listen on: an IP literal or a host name resolved once at Create(). Port 0 binds an
  // ephemeral port; read it back with TlsServer::port().
  std::string host = "127.0.0.1";
  uint16_t port = 0;

  // Sessions plus connections still in their handshake; one more is closed right after accept and
  // counted as "connection limit reached".
  size_t max_connections = 256;
  // Connections from one source address still in their handshake (ListenerOptions).
  size_t max_handshakes_per_address = 64;
  // Inbound frames with a larger payload close the session (the header is refused before anything
  // is allocated). Also the largest frame Send() accepts.
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  // The limit for a session's first inbound frame (the region's Hello, a few hundred bytes): a
  // peer that has not said who it is cannot make the server buffer a large frame.
  uint32_t max_first_frame_bytes = 64 * 1024;
  // Frames waiting to be written to one session, including the one being written. Reaching either
  // limit closes the session: a peer that does not read must not grow the coordinator's memory.
  size_t max_queued_frames = 64;
  size_t max_queued_bytes = size_t{1} << 30;

  // From accept to a verified peer. Bounds what an unauthenticated peer can hold.
  std::chrono::milliseconds handshake_timeout{3'000};
  // Longest silence between frames before the session is closed; 0 disables it. Regions are quiet
  // while they train, so this must exceed the longest round (or the protocol must send keepalives).
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(30)};
  // Once the first byte of a frame has arrived, the rest of it (header and payload) must follow
  // within this time. Size it for the largest model over the slowest link.
  std::chrono::milliseconds frame_read_timeout{120'000};
  // Each frame must be written within this time.
  std::chrono::milliseconds write_timeout{120'000};
  // Close(): time to flush nothing more than the TLS close_notify exchange before the socket is
  // closed anyway.
  std::chrono::milliseconds shutdown_timeout{2'000};
  // Dead-peer detection on every accepted socket: a peer that became unreachable (a cut link)
  // closes its session with Unavailable ("Connection timed out") within keepalive.dead_after,
  // long before idle_timeout, while a peer that is merely quiet keeps its session.
  TcpKeepalive keepalive;

  // Where refusals, closes and errors are logged; null means spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger;
};

// What the owner hears from the server. All are optional and run on the io_context.
struct TlsServerHandlers {
  // A peer passed the handshake: its certificate chains to the CA and has a subject CN.
  std::function<void(std::shared_ptr<TlsSession>)> on_session;
  // One complete inbound frame.
  std::function<void(const std::shared_ptr<TlsSession>&, Frame)> on_frame;
  // The session ended; called exactly once per session that reached on_session, after its socket
  // is closed. OK when the peer closed cleanly between frames; otherwise why (Aborted for Close()
  // and Stop(), DeadlineExceeded, ResourceExhausted for backpressure or an oversized frame,
  // Corruption/InvalidArgument for a malformed frame, Unavailable for network errors).
  std::function<void(const std::shared_ptr<TlsSession>&, const Status&)> on_close;
};

class TlsServer {
 public:
  // Validates `options`, binds and listens, and starts accepting on `io` (nothing happens until the
  // io_context runs). `tls` must come from MakeServerTlsContext. Errors say which address failed
  // and why ("listen on 127.0.0.1:7000: bind: Address already in use").
  static Result<std::unique_ptr<TlsServer>> Create(boost::asio::io_context& io,
                                                   std::shared_ptr<boost::asio::ssl::context> tls,
                                                   TlsServerOptions options,
                                                   TlsServerHandlers handlers);
  // Stops the server (see Stop). Destroy the server before its io_context.
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  // The bound port (the ephemeral one when options.port was 0).
  uint16_t port() const { return port_; }

  // Closes the acceptor and Close()s every session ("server stopping"). Safe from any thread and
  // more than once; the work happens on the io_context, which finishes once the last session's
  // shutdown completes or times out.
  void Stop();

  // Refused connections per reason since Create(). Reasons: the OpenSSL verify error for a refused
  // certificate ("certificate has expired", "unable to get local issuer certificate", "certificate
  // is not yet valid", "unsupported certificate purpose", ...), "no client certificate",
  // "certificate has no common name", "handshake timed out", "connection limit reached",
  // "per-address handshake limit reached",
  // "connection closed during handshake", "client refused the server: <alert>", or "TLS error:
  // <reason>". Safe from any thread.
  std::map<std::string, uint64_t> refused_counts() const;
  // Connections currently held (handshaking or in session). Safe from any thread.
  size_t connection_count() const;
  // Connections still in their handshake. Safe from any thread.
  size_t handshake_count() const;

 private:
  TlsServer(std::shared_ptr<internal::TlsServerCore> core, std::unique_ptr<Listener> listener);

  std::shared_ptr<internal::TlsServerCore> core_;
  std::unique_ptr<Listener> listener_;
  uint16_t port_;
};

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_TLS_SERVER_H_
