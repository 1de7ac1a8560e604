#include "common/net/tls_session.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <utility>

#include "common/base/log_escape.h"
#include "common/net/internal/frame_reading.h"
#include "common/net/internal/tls_server_core.h"

namespace fedseg::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

TlsSession::TlsSession(AcceptedConnection accepted,
                       std::shared_ptr<internal::TlsServerCore> server)
    : id_(accepted.slot.id()),
      server_(std::move(server)),
      remote_(std::move(accepted.remote)),
      stream_(std::move(accepted.stream)),
      peer_common_name_(std::move(accepted.peer_common_name)),
      peer_spki_sha256_(std::move(accepted.peer_spki_sha256)),
      slot_(std::move(accepted.slot)),
      read_deadline_(stream_->get_executor()),
      write_deadline_(stream_->get_executor()) {}

TlsSession::~TlsSession() = default;

std::string TlsSession::peer_label() const {
  if (peer_common_name_.empty()) return EndpointString(remote_);
  return EscapeForLog(peer_common_name_) + "@" + EndpointString(remote_);
}

void TlsSession::Send(Frame frame) { Send(std::make_shared<const Frame>(std::move(frame))); }

void TlsSession::Send(std::shared_ptr<const Frame> frame) {
  asio::post(stream_->get_executor(), [self = shared_from_this(), f = std::move(frame)]() mutable {
    self->do_send(std::move(f));
  });
}

void TlsSession::Close(std::string reason) {
  asio::post(stream_->get_executor(), [self = shared_from_this(), r = std::move(reason)]() mutable {
    self->do_close(Status::Aborted(std::move(r)));
  });
}

void TlsSession::Start() {
  asio::post(stream_->get_executor(), [self = shared_from_this()] { self->do_start(); });
}

void TlsSession::do_start() {
  if (state_ != State::kStarting) return;  // closed before it started
  state_ = State::kOpen;
  announced_ = true;
  server_->log().info("session {} open: {}", id_, peer_label());
  server_->NotifySession(shared_from_this());
  if (state_ != State::kOpen) return;
  header_have_ = 0;
  ArmIdleDeadline();
  do_read_header();
}

// --- reading -----------------------------------------------------------------------------------

void TlsSession::do_read_header() {
  read_in_flight_ = true;
  stream_->async_read_some(
      asio::buffer(header_bytes_.data() + header_have_, kFrameHeaderSize - header_have_),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read_header(ec, n); });
}

void TlsSession::on_read_header(error_code ec, std::size_t bytes) {
  read_in_flight_ = false;
  if (ec) return fail(ec, "read frame header");
  if (state_ != State::kOpen) return MaybeShutdown();

  const bool frame_started = header_have_ == 0 && bytes > 0;
  header_have_ += bytes;
  // The idle deadline covers the wait for a frame to begin; from its first byte on, the whole
  // frame is due within frame_read_timeout, so a peer cannot trickle a frame forever.
  if (frame_started) ArmReadDeadline(ReadPhase::kFrame, server_->options().frame_read_timeout);
  if (header_have_ < kFrameHeaderSize) return do_read_header();

  const auto& options = server_->options();
  const uint32_t limit = first_frame_ ? std::min(options.max_first_frame_bytes,
                                                 options.max_frame_bytes)
                                      : options.max_frame_bytes;
  Result<FrameHeader> header = DecodeFrameHeader(header_bytes_, limit);
  if (!header.ok()) {
    const std::string what = first_frame_ ? "malformed first frame" : "malformed frame";
    server_->log().warn("closing {}: {}: {}", peer_label(), what, header.status().message());
    return Finish(header.status().WithContext(what + " from " + peer_label()));
  }
  header_ = *header;
  payload_.clear();
  payload_have_ = 0;
  do_read_payload();
}

void TlsSession::do_read_payload() {
  const size_t length = header_.payload_length;
  if (payload_have_ == length) return on_read_payload(error_code(), 0);  // empty payload
  if (payload_have_ == payload_.size()) {
    payload_.resize(std::min(length, payload_have_ + internal::kPayloadChunkBytes));
  }
  read_in_flight_ = true;
  stream_->async_read_some(
      asio::buffer(payload_.data() + payload_have_, payload_.size() - payload_have_),
      [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read_payload(ec, n); });
}

void TlsSession::on_read_payload(error_code ec, std::size_t bytes) {
  read_in_flight_ = false;
  if (ec) return fail(ec, "read frame payload");
  if (state_ != State::kOpen) return MaybeShutdown();
  payload_have_ += bytes;
  if (payload_have_ < header_.payload_length) return do_read_payload();

  Frame frame{header_.type, std::move(payload_)};
  first_frame_ = false;
  payload_ = std::string();
  payload_have_ = 0;
  header_have_ = 0;
  server_->NotifyFrame(shared_from_this(), std::move(frame));
  if (state_ != State::kOpen) return MaybeShutdown();
  ArmIdleDeadline();
  do_read_header();
}

// --- writing -----------------------------------------------------------------------------------

void TlsSession::do_send(std::shared_ptr<const Frame> frame) {
  if (!frame) {
    server_->log().error("dropped a null frame for {}", peer_label());
    return;
  }
  if (state_ != State::kOpen) {
    server_->log().debug("dropped a frame of type {} for {}: session is closing", frame->type,
                         peer_label());
    return;
  }
  const auto& options = server_->options();
  if (frame->payload.size() > options.max_frame_bytes) {
    server_->log().error(
        "closing {}: asked to send a {}-byte frame of type {}, above the {}-byte "
        "frame limit",
        peer_label(), frame->payload.size(), frame->type, options.max_frame_bytes);
    return do_close(Status::InvalidArgument(
        "send of a " + std::to_string(frame->payload.size()) + "-byte frame exceeds the " +
        std::to_string(options.max_frame_bytes) + "-byte limit"));
  }
  if (send_queue_.size() >= options.max_queued_frames ||
      queued_bytes_ + frame->payload.size() > options.max_queued_bytes) {
    // Backpressure: the peer reads slower than we produce. Waiting would grow memory without bound
    // and a graceful close would first have to flush the very queue that is stuck.
    server_->log().warn(
        "closing {}: send queue full ({} frames, {} bytes queued); peer is not "
        "reading",
        peer_label(), send_queue_.size(), queued_bytes_);
    return Finish(Status::ResourceExhausted(
        "send queue to " + peer_label() + " full (" + std::to_string(send_queue_.size()) +
        " frames, " + std::to_string(queued_bytes_) + " bytes): peer is not reading"));
  }
  queued_bytes_ += frame->payload.size();
  send_queue_.push_back(std::move(frame));
  if (!write_in_flight_) do_write();
}

void TlsSession::do_write() {
  const Frame& frame = *send_queue_.front();
  write_header_ = EncodeFrameHeader(frame.type, static_cast<uint32_t>(frame.payload.size()));
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(write_header_),
                                                  asio::buffer(frame.payload)};
  write_in_flight_ = true;
  ArmWriteDeadline(server_->options().write_timeout);
  asio::async_write(*stream_, buffers, [self = shared_from_this()](error_code ec, std::size_t n) {
    self->on_write(ec, n);
  });
}

void TlsSession::on_write(error_code ec, std::size_t /*bytes*/) {
  write_in_flight_ = false;
  DisarmWriteDeadline();
  if (ec) {
    send_queue_.clear();  // the stream is broken mid-record; nothing more can be written
    queued_bytes_ = 0;
    return fail(ec, "write frame");
  }
  if (state_ == State::kClosed) return;
  queued_bytes_ -= send_queue_.front()->payload.size();
  send_queue_.pop_front();
  if (!send_queue_.empty()) return do_write();
  if (state_ == State::kClosing) MaybeShutdown();
}

// --- closing -----------------------------------------------------------------------------------

void TlsSession::do_close(Status status) {
  if (state_ == State::kClosed || state_ == State::kClosing) return;
  if (state_ == State::kStarting) return Finish(std::move(status));  // never announced
  state_ = State::kClosing;
  close_status_ = std::move(status);
  server_->log().info("closing {}: {}", peer_label(), close_status_.message());
  DisarmReadDeadline();
  MaybeShutdown();
}

void TlsSession::MaybeShutdown() {
  if (state_ != State::kClosing || shutdown_started_) return;
  if (write_in_flight_) return;  // on_write comes back here when the queue is flushed
  if (!send_queue_.empty()) return do_write();
  // A TLS shutdown must not run alongside a read on the same stream: cancel the read first and
  // continue from its handler (fail() sees operation_aborted while closing).
  if (read_in_flight_) return CancelSocket();
  do_shutdown();
}

void TlsSession::do_shutdown() {
  shutdown_started_ = true;
  ArmWriteDeadline(server_->options().shutdown_timeout);
  stream_->async_shutdown([self = shared_from_this()](error_code ec) { self->on_shutdown(ec); });
}

void TlsSession::on_shutdown(error_code ec) {
  DisarmWriteDeadline();
  // The peer may close its socket instead of answering our close_notify; either way we are done.
  if (ec && !IsCleanClose(ec) && ec != asio::error::operation_aborted) {
    server_->log().debug("TLS shutdown with {}: {}", peer_label(), DescribeTlsError(ec));
  }
  Finish(close_status_);
}

void TlsSession::fail(error_code ec, const char* what) {
  if (state_ == State::kClosed) return;
  if (state_ == State::kClosing) {
    // Our own cancellation of the read (MaybeShutdown): carry on with the TLS shutdown. Anything
    // else means the connection broke while closing; close it without more ceremony.
    if (ec == asio::error::operation_aborted) return MaybeShutdown();
    return Finish(close_status_);
  }
  const bool between_frames = header_have_ == 0;
  if (ec == asio::error::eof && between_frames && !write_in_flight_) {
    // The peer sent close_notify between frames: answer with ours, then report a clean close.
    server_->log().info("{} closed the connection", peer_label());
    state_ = State::kClosing;
    close_status_ = Status::OK();
    DisarmReadDeadline();
    return MaybeShutdown();
  }
  if (IsCleanClose(ec) && between_frames) {
    server_->log().info("{} closed the connection", peer_label());
    return Finish(Status::OK());
  }
  if (IsCleanClose(ec)) {
    const std::string where = FrameProgress();
    server_->log().warn("{} closed the connection in the middle of a frame ({})", peer_label(),
                        where);
    return Finish(Status::Unavailable(peer_label() + " closed the connection in the middle of a " +
                                      "frame (" + where + ")"));
  }
  server_->log().warn("closing {}: {}: {}", peer_label(), what, DescribeTlsError(ec));
  Finish(Status::Unavailable(std::string(what) + " from " + peer_label() + ": " +
                             DescribeTlsError(ec)));
}

void TlsSession::Finish(Status status) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  read_deadline_.Disarm();
  write_deadline_.Disarm();
  // Closing the socket completes any pending operation with an error; those handlers see kClosed.
  error_code ignored;
  stream_->lowest_layer().close(ignored);
  send_queue_.clear();
  queued_bytes_ = 0;
  payload_ = std::string();
  slot_.Release();
  if (announced_) {
    if (status.ok()) {
      server_->log().info("session {} closed: {}", id_, peer_label());
    } else {
      server_->log().info("session {} closed: {}: {}", id_, peer_label(), status.ToString());
    }
    server_->NotifyClose(shared_from_this(), status);
  }
}

std::string TlsSession::FrameProgress() const {
  if (header_have_ < kFrameHeaderSize) {
    return std::to_string(header_have_) + " of " + std::to_string(kFrameHeaderSize) +
           " header bytes";
  }
  return std::to_string(payload_have_) + " of " + std::to_string(header_.payload_length) +
         " payload bytes";
}

void TlsSession::CancelSocket() {
  error_code ignored;
  stream_->lowest_layer().cancel(ignored);
}

// --- deadlines ---------------------------------------------------------------------------------

void TlsSession::ArmReadDeadline(ReadPhase phase, std::chrono::milliseconds timeout) {
  read_phase_ = phase;
  read_deadline_timeout_ = timeout;
  read_deadline_.Arm(timeout, [self = shared_from_this()] { self->OnReadDeadline(); });
}

void TlsSession::ArmIdleDeadline() {
  if (server_->options().idle_timeout.count() > 0) {
    ArmReadDeadline(ReadPhase::kIdle, server_->options().idle_timeout);
  } else {
    DisarmReadDeadline();
  }
}

void TlsSession::DisarmReadDeadline() { read_deadline_.Disarm(); }

void TlsSession::OnReadDeadline() {
  switch (read_phase_) {
    case ReadPhase::kIdle:
      return do_close(Status::DeadlineExceeded("no frame from " + peer_label() + " for " +
                                               Ms(read_deadline_timeout_) + " (idle timeout)"));
    case ReadPhase::kFrame: {
      const std::string got = FrameProgress();
      server_->log().warn("closing {}: frame not completed within {} (got {})", peer_label(),
                          Ms(read_deadline_timeout_), got);
      // Mid-frame there is nothing to say to the peer; close at once.
      return Finish(Status::DeadlineExceeded("frame from " + peer_label() +
                                             " not completed within " + Ms(read_deadline_timeout_) +
                                             " (got " + got + ")"));
    }
  }
}

void TlsSession::ArmWriteDeadline(std::chrono::milliseconds timeout) {
  write_deadline_.Arm(timeout, [self = shared_from_this()] { self->OnWriteDeadline(); });
}

void TlsSession::DisarmWriteDeadline() { write_deadline_.Disarm(); }

void TlsSession::OnWriteDeadline() {
  if (shutdown_started_) {
    server_->log().debug("TLS shutdown with {} timed out; closing the socket", peer_label());
    return Finish(close_status_);
  }
  if (state_ == State::kClosing) {
    // Flushing before a Close(): the peer stopped reading. The close reason stays the one given.
    server_->log().warn("closing {}: queued frames not flushed within {}", peer_label(),
                        Ms(server_->options().write_timeout));
    return Finish(close_status_);
  }
  const size_t bytes = send_queue_.empty() ? 0 : send_queue_.front()->payload.size();
  server_->log().warn("closing {}: write of a {}-byte frame not completed within {}", peer_label(),
                      bytes, Ms(server_->options().write_timeout));
  Finish(Status::DeadlineExceeded("write of a " + std::to_string(bytes) + "-byte frame to " +
                                  peer_label() + " not completed within " +
                                  Ms(server_->options().write_timeout)));
}

}  // namespace fedseg::net
