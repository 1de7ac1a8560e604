// One authenticated connection of a TlsServer: reads whole frames one after another (header,
// validation, payload) and writes queued frames one at a time, each wait under a deadline (idle,
// rest of a started frame, each write, TLS shutdown). The handshake is the Listener's; a session
// starts with a verified peer.
#ifndef FEDSEG_COMMON_NET_TLS_SESSION_H_
#define FEDSEG_COMMON_NET_TLS_SESSION_H_

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "common/base/status.h"
#include "common/net/deadline.h"
#include "common/net/frame.h"
#include "common/net/listener.h"

namespace fedseg::net {

class TlsServer;
namespace internal {
class TlsServerCore;
}

// One authenticated connection. Created by TlsServer and handed to the owner through on_session;
// keeps itself alive while it has I/O in flight, so the owner may hold or drop its shared_ptr.
class TlsSession : public ListenedConnection, public std::enable_shared_from_this<TlsSession> {
 public:
  ~TlsSession() override;
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Unique per server, for maps and logs.
  uint64_t id() const { return id_; }
  // Subject CN of the verified client certificate: the region's name. Fixed once on_session runs.
  const std::string& peer_common_name() const { return peer_common_name_; }
  // Hex SHA-256 of the client certificate's SubjectPublicKeyInfo: what region_pins compares.
  const std::string& peer_spki_sha256() const { return peer_spki_sha256_; }
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
  void Close(std::string reason) override;

 private:
  friend class TlsServer;
  // kStarting until Start() runs on the session's strand.
  enum class State { kStarting, kOpen, kClosing, kClosed };
  // What the read deadline currently guards; decides the message when it fires.
  enum class ReadPhase { kIdle, kFrame };

  TlsSession(AcceptedConnection accepted, std::shared_ptr<internal::TlsServerCore> server);

  void Start();

  void do_start();
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

  void ArmReadDeadline(ReadPhase phase, std::chrono::milliseconds timeout);
  void ArmIdleDeadline();  // or none when options.idle_timeout is 0
  void DisarmReadDeadline();
  void OnReadDeadline();
  void ArmWriteDeadline(std::chrono::milliseconds timeout);
  void DisarmWriteDeadline();
  void OnWriteDeadline();
  void CancelSocket();
  // "3 of 8 header bytes" or "1024 of 4096 payload bytes": how far the current frame has come.
  std::string FrameProgress() const;

  const uint64_t id_;
  const std::shared_ptr<internal::TlsServerCore> server_;
  const boost::asio::ip::tcp::endpoint remote_;
  const std::unique_ptr<TlsStream> stream_;  // handshake done by the Listener
  const std::string peer_common_name_;
  const std::string peer_spki_sha256_;
  ConnectionSlot slot_;  // our place under max_connections, given back by Finish()

  // All state below is touched only on the session's strand (the stream's executor).
  State state_ = State::kStarting;
  bool announced_ = false;  // on_session ran, so on_close is owed
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  bool shutdown_started_ = false;
  Status close_status_;

  Deadline read_deadline_;
  Deadline write_deadline_;
  ReadPhase read_phase_ = ReadPhase::kIdle;
  std::chrono::milliseconds read_deadline_timeout_{0};

  std::array<uint8_t, kFrameHeaderSize> header_bytes_{};
  size_t header_have_ = 0;
  bool first_frame_ = true;  // no frame received yet: options.max_first_frame_bytes applies
  FrameHeader header_;
  std::string payload_;      // grows 1 MiB at a time, as bytes arrive
  size_t payload_have_ = 0;  // bytes of payload_ actually received

  // front() is being written while write_in_flight_; shared with other sessions for a broadcast.
  std::deque<std::shared_ptr<const Frame>> send_queue_;
  size_t queued_bytes_ = 0;
  std::array<uint8_t, kFrameHeaderSize> write_header_{};
};

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_TLS_SESSION_H_
