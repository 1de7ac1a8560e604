// The coordinator's side of the transport: an asynchronous mutual-TLS server that turns each
// authenticated connection into a TlsSession delivering and sending whole frames.
//
// Everything runs on the caller's boost::asio::io_context (the coordinator runs it on one thread);
// every callback is invoked from that io_context, never concurrently for the same session. A
// connection only becomes a session after a TLS 1.3 handshake in which the client presented a
// certificate from the federation CA; refused handshakes are logged with the reason and the peer
// address and counted per reason, and never reach the owner. Each session then reads frames one
// after another (header, validation, payload) and sends queued frames one at a time. Every wait
// has a deadline (handshake, idle, rest of a started frame, each write, TLS shutdown), inbound
// frames are capped in size and the send queue is bounded, so a slow, stalled or hostile peer costs
// one connection and never the server. No exception leaves a handler: Asio calls use their
// error_code overloads and owner callbacks are called inside try/catch.
#ifndef FEDSEG_COMMON_NET_TLS_SERVER_H_
#define FEDSEG_COMMON_NET_TLS_SERVER_H_

#include <spdlog/logger.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/net/frame.h"
#include "common/base/status.h"
#include "common/net/tcp_keepalive.h"
#include "common/net/tls.h"

namespace fedseg::net {

class TlsSession;
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
  // Inbound frames with a larger payload close the session (the header is refused before anything
  // is allocated). Also the largest frame Send() accepts.
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  // Frames waiting to be written to one session, including the one being written. Reaching either
  // limit closes the session: a peer that does not read must not grow the coordinator's memory.
  size_t max_queued_frames = 64;
  size_t max_queued_bytes = size_t{1} << 30;

  // From accept to a verified peer. Bounds what an unauthenticated peer can hold.
  std::chrono::milliseconds handshake_timeout{10'000};
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
  // "connection closed during handshake", "client refused the server: <alert>", or "TLS error:
  // <reason>". Safe from any thread.
  std::map<std::string, uint64_t> refused_counts() const;
  // Connections currently held (handshaking or in session). Safe from any thread.
  size_t connection_count() const;

 private:
  TlsServer(std::shared_ptr<internal::TlsServerCore> core, uint16_t port);

  std::shared_ptr<internal::TlsServerCore> core_;
  uint16_t port_;
};

// One authenticated connection. Created by TlsServer and handed to the owner through on_session;
// keeps itself alive while it has I/O in flight, so the owner may hold or drop its shared_ptr.
class TlsSession : public std::enable_shared_from_this<TlsSession> {
 public:
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Unique per server, for maps and logs.
  uint64_t id() const { return id_; }
  // Subject CN of the verified client certificate: the region's name. Fixed once on_session runs.
  const std::string& peer_common_name() const { return peer_common_name_; }
  const boost::asio::ip::tcp::endpoint& remote_endpoint() const { return remote_; }
  // "eu-west@127.0.0.1:53422" (or just the address before the handshake), for log lines.
  std::string peer_label() const;

  // Queues a frame; frames go out one at a time in call order. Safe from any thread. Failures are
  // not returned but end the session, reported through on_close: a full queue (ResourceExhausted),
  // a payload above options.max_frame_bytes (InvalidArgument), a write error or timeout. Frames
  // sent after the session began closing are dropped.
  void Send(Frame frame);
  // The same for a frame shared by several sessions: a broadcast (the global weights to every
  // region of a round) keeps one payload in memory however many sessions queue it, instead of one
  // copy per session. The frame must not be modified afterwards. Each session still counts the
  // payload's size against its own max_queued_bytes.
  void Send(std::shared_ptr<const Frame> frame);

  // Ends the session: frames already queued are still written, then the TLS close_notify is
  // exchanged (bounded by shutdown_timeout) and the socket closed; on_close then receives
  // Aborted(reason). No on_frame after this call takes effect. Safe from any thread, idempotent.
  void Close(std::string reason);

 private:
  friend class internal::TlsServerCore;
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  enum class State { kHandshaking, kOpen, kClosing, kClosed };
  // What the read deadline currently guards; decides the message when it fires.
  enum class ReadPhase { kHandshake, kIdle, kFrame };

  TlsSession(uint64_t id, boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls,
             std::shared_ptr<internal::TlsServerCore> server,
             boost::asio::ip::tcp::endpoint remote);

  void Start();

  void do_handshake();
  void on_handshake(boost::system::error_code ec);
  void do_read_header();
  void on_read_header(boost::system::error_code ec, std::size_t bytes);
  void do_read_payload();
  void on_read_payload(boost::system::error_code ec, std::size_t bytes);
  void do_send(std::shared_ptr<const Frame> frame);
  void do_write();
  void on_write(boost::system::error_code ec, std::size_t bytes);
  void do_close(Status status);
  void do_shutdown();
  void on_shutdown(boost::system::error_code ec);

  // Routes an I/O error: ignored once closed, resumes a graceful close that cancelled the read,
  // closes cleanly on EOF between frames, and ends the session with Unavailable otherwise.
  void fail(boost::system::error_code ec, const char* what);
  // Continues a graceful close once no read or write is in flight.
  void MaybeShutdown();
  // Closes the socket now and reports `status` through on_close (once, if announced).
  void Finish(Status status);
  // Refuses the connection during the handshake: counted and logged by the server.
  void Refuse(const std::string& reason, const std::string& detail);

  void ArmReadDeadline(ReadPhase phase, std::chrono::milliseconds timeout);
  void ArmIdleDeadline();  // or none when options.idle_timeout is 0
  void DisarmReadDeadline();
  void OnReadDeadline();
  void ArmWriteDeadline(std::chrono::milliseconds timeout);
  void DisarmWriteDeadline();
  void OnWriteDeadline();
  void CancelSocket();

  const uint64_t id_;
  const std::shared_ptr<internal::TlsServerCore> server_;
  const boost::asio::ip::tcp::endpoint remote_;
  Stream stream_;
  std::shared_ptr<PeerVerifyFailure> verify_failure_;
  std::string peer_common_name_;

  // All state below is touched only on the session's strand (the stream's executor).
  State state_ = State::kHandshaking;
  bool announced_ = false;  // on_session ran, so on_close is owed
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  bool shutdown_started_ = false;
  Status close_status_;

  boost::asio::steady_timer read_timer_;
  boost::asio::steady_timer write_timer_;
  // Bumped whenever a deadline is armed or disarmed, so a timer callback that was already queued
  // when its deadline was replaced recognises itself as stale.
  uint64_t read_deadline_gen_ = 0;
  uint64_t write_deadline_gen_ = 0;
  ReadPhase read_phase_ = ReadPhase::kHandshake;
  std::chrono::milliseconds read_deadline_timeout_{0};

  std::array<uint8_t, kFrameHeaderSize> header_bytes_{};
  size_t header_have_ = 0;
  FrameHeader header_;
  std::string payload_;      // grows 1 MiB at a time, as bytes arrive
  size_t payload_have_ = 0;  // bytes of payload_ actually received

  // front() is being written while write_in_flight_; shared with other sessions for a broadcast.
  std::deque<std::shared_ptr<const Frame>> send_queue_;
  size_t queued_bytes_ = 0;
  std::array<uint8_t, kFrameHeaderSize> write_header_{};
};

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_TLS_SERVER_H_
