#include "common/net/tls_server.h"

#include <openssl/err.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <utility>
#include <vector>

#include "common/net/x509_identity.h"

namespace fedseg::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

namespace {

// Payloads are read in pieces of at most this size and the buffer grows only as bytes arrive, so a
// peer announcing a large (but allowed) frame and then stalling holds at most one piece of memory
// beyond what it actually sent.
constexpr size_t kPayloadChunkBytes = size_t{1} << 20;

std::string EndpointString(const tcp::endpoint& ep) {
  error_code ec;
  const std::string addr = ep.address().to_string(ec);
  if (ec) return "?";
  if (ep.address().is_v6()) return "[" + addr + "]:" + std::to_string(ep.port());
  return addr + ":" + std::to_string(ep.port());
}

std::string Ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

bool IsCleanClose(const error_code& ec) {
  return ec == asio::error::eof || ec == ssl::error::stream_truncated;
}

// The counter key for a failed server-side handshake (see TlsServer::refused_counts).
std::string RefusalReason(const error_code& ec, const PeerVerifyFailure& verify) {
  if (verify.failed()) return verify.reason();
  if (ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
          SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    return "no client certificate";
  }
  if (IsPeerTlsAlert(ec)) return "client refused the server: " + DescribeTlsError(ec);
  if (IsCleanClose(ec) || ec == asio::error::connection_reset || ec == asio::error::broken_pipe) {
    return "connection closed during handshake";
  }
  return "TLS error: " + DescribeTlsError(ec);
}

}  // namespace

namespace internal {

// State shared by the TlsServer handle, its accept loop and its sessions. Pending handlers hold it
// by shared_ptr, so destroying the TlsServer handle never leaves a handler pointing at freed
// memory.
class TlsServerCore : public std::enable_shared_from_this<TlsServerCore> {
 public:
  TlsServerCore(asio::io_context& io, std::shared_ptr<ssl::context> tls, TlsServerOptions options,
                TlsServerHandlers handlers)
      : io_(io),
        strand_(asio::make_strand(io)),
        tls_(std::move(tls)),
        options_(std::move(options)),
        handlers_(std::move(handlers)),
        log_(options_.logger ? options_.logger : spdlog::default_logger()),
        acceptor_(strand_),
        accept_retry_(strand_) {}

  Status Listen(const tcp::endpoint& endpoint) {
    const std::string where = "listen on " + EndpointString(endpoint);
    error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return Status::Unavailable(where + ": open: " + ec.message());
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) return Status::Unavailable(where + ": set SO_REUSEADDR: " + ec.message());
    acceptor_.bind(endpoint, ec);
    if (ec) return Status::Unavailable(where + ": bind: " + ec.message());
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable(where + ": listen: " + ec.message());
    const tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) return Status::Unavailable(where + ": local endpoint: " + ec.message());
    port_ = bound.port();
    log_->info("TLS server listening on {}", EndpointString(bound));
    return Status::OK();
  }

  uint16_t port() const { return port_; }

  void StartAccept() {
    asio::post(strand_, [self = shared_from_this()] { self->do_accept(); });
  }

  void Stop() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->do_stop(); });
  }

  void CountRefusal(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    ++refused_[reason];
  }

  std::map<std::string, uint64_t> refused_counts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return refused_;
  }

  size_t connection_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sessions_.size();
  }

  void Unregister(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(id);
  }

  // Owner callbacks. An exception thrown by the owner must not unwind through io_context::run() and
  // take the coordinator down; it is logged and costs that session.
  void NotifySession(const std::shared_ptr<TlsSession>& session) {
    Guard(session, "on_session", [&] {
      if (handlers_.on_session) handlers_.on_session(session);
    });
  }
  void NotifyFrame(const std::shared_ptr<TlsSession>& session, Frame frame) {
    Guard(session, "on_frame", [&] {
      if (handlers_.on_frame) handlers_.on_frame(session, std::move(frame));
    });
  }
  void NotifyClose(const std::shared_ptr<TlsSession>& session, const Status& status) {
    Guard(session, "on_close", [&] {
      if (handlers_.on_close) handlers_.on_close(session, status);
    });
  }

  const TlsServerOptions& options() const { return options_; }
  spdlog::logger& log() { return *log_; }

 private:
  template <typename F>
  void Guard(const std::shared_ptr<TlsSession>& session, const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      log_->error("{} handler threw for {}: {}", what, session->peer_label(), e.what());
      session->Close(std::string(what) + " handler failed");
    } catch (...) {
      log_->error("{} handler threw a non-exception for {}", what, session->peer_label());
      session->Close(std::string(what) + " handler failed");
    }
  }

  void do_accept() {
    // Each connection gets its own strand, so its handlers never run concurrently even if the
    // owner runs the io_context on several threads.
    acceptor_.async_accept(asio::make_strand(io_),
                           [self = shared_from_this()](error_code ec, tcp::socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
    }
    if (ec) {
      // Typically EMFILE/ENFILE: keep serving the connections we have and try again shortly
      // instead of spinning on the error or giving up on accepting for good.
      log_->warn("accept on port {}: {}; retrying in 100 ms", port_, ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec) self->do_accept();
      });
      return;
    }
    Admit(std::move(socket));
    do_accept();
  }

  void Admit(tcp::socket socket) {
    error_code ec;
    const tcp::endpoint remote = socket.remote_endpoint(ec);
    if (ec) return;  // the peer is already gone; the socket closes when it goes out of scope
    if (Status st = SetTcpKeepalive(socket.native_handle(), options_.keepalive); !st.ok()) {
      log_->warn("connection from {}: {}; continuing without dead-peer detection",
                 EndpointString(remote), st.message());
    }
    uint64_t id = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (sessions_.size() >= options_.max_connections) {
        ++refused_["connection limit reached"];
      } else {
        id = next_id_++;
      }
    }
    if (id == 0) {
      log_->warn("refused connection from {}: connection limit ({}) reached",
                 EndpointString(remote), options_.max_connections);
      socket.close(ec);
      return;
    }
    std::shared_ptr<TlsSession> session;
    try {
      // ssl::stream's constructor throws if OpenSSL cannot create the SSL object.
      session.reset(new TlsSession(id, std::move(socket), *tls_, shared_from_this(), remote));
    } catch (const std::exception& e) {
      log_->error("refused connection from {}: cannot set up TLS: {}", EndpointString(remote),
                  e.what());
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      sessions_[id] = session;
    }
    session->Start();
  }

  void do_stop() {
    std::vector<std::shared_ptr<TlsSession>> sessions;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      for (auto& [id, weak] : sessions_) {
        if (auto s = weak.lock()) sessions.push_back(std::move(s));
      }
    }
    error_code ec;
    acceptor_.close(ec);
    accept_retry_.cancel();
    log_->info("TLS server on port {} stopping; closing {} connection(s)", port_, sessions.size());
    for (auto& s : sessions) s->Close("server stopping");
  }

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  const std::shared_ptr<ssl::context> tls_;
  const TlsServerOptions options_;
  const TlsServerHandlers handlers_;
  const std::shared_ptr<spdlog::logger> log_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  uint16_t port_ = 0;

  mutable std::mutex mu_;  // guards the members below; read from the owner's threads
  // Weak: sessions keep themselves alive through their pending handlers; this map only finds them
  // for Stop() and counts them for the connection cap.
  std::map<uint64_t, std::weak_ptr<TlsSession>> sessions_;
  std::map<std::string, uint64_t> refused_;
  uint64_t next_id_ = 1;
  bool stopped_ = false;
};

}  // namespace internal

// ---------------------------------------------------------------------------------------------
// TlsServer

Result<std::unique_ptr<TlsServer>> TlsServer::Create(asio::io_context& io,
                                                     std::shared_ptr<ssl::context> tls,
                                                     TlsServerOptions options,
                                                     TlsServerHandlers handlers) {
  if (tls == nullptr) return Status::InvalidArgument("TLS server: tls context is null");
  if (options.max_connections < 1) {
    return Status::InvalidArgument("TLS server: max_connections must be at least 1");
  }
  if (options.max_frame_bytes < 1) {
    return Status::InvalidArgument("TLS server: max_frame_bytes must be at least 1");
  }
  if (options.max_queued_frames < 1 || options.max_queued_bytes < 1) {
    return Status::InvalidArgument(
        "TLS server: max_queued_frames and max_queued_bytes must be at least 1");
  }
  using std::chrono::milliseconds;
  for (const auto& [name, value] : {std::pair{"handshake_timeout", options.handshake_timeout},
                                    std::pair{"frame_read_timeout", options.frame_read_timeout},
                                    std::pair{"write_timeout", options.write_timeout},
                                    std::pair{"shutdown_timeout", options.shutdown_timeout}}) {
    if (value <= milliseconds(0)) {
      return Status::InvalidArgument(std::string("TLS server: ") + name + " must be positive");
    }
  }
  if (options.idle_timeout < milliseconds(0)) {
    return Status::InvalidArgument("TLS server: idle_timeout must be positive, or 0 to disable");
  }
  if (Status st = options.keepalive.Validate(); !st.ok()) return st.WithContext("TLS server");

  const std::string where = "listen on " + options.host + ":" + std::to_string(options.port);
  error_code ec;
  tcp::endpoint endpoint;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {
    tcp::resolver resolver(io);
    const auto results =
        resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, ec);
    if (ec) return Status::Unavailable(where + ": resolve: " + ec.message());
    if (results.empty()) return Status::Unavailable(where + ": resolve: no addresses");
    endpoint = results.begin()->endpoint();
  }

  auto core = std::make_shared<internal::TlsServerCore>(io, std::move(tls), std::move(options),
                                                        std::move(handlers));
  FEDSEG_RETURN_IF_ERROR(core->Listen(endpoint));
  core->StartAccept();
  const uint16_t port = core->port();
  return std::unique_ptr<TlsServer>(new TlsServer(std::move(core), port));
}

TlsServer::TlsServer(std::shared_ptr<internal::TlsServerCore> core, uint16_t port)
    : core_(std::move(core)), port_(port) {}

TlsServer::~TlsServer() { Stop(); }

void TlsServer::Stop() { core_->Stop(); }

std::map<std::string, uint64_t> TlsServer::refused_counts() const {
  return core_->refused_counts();
}

size_t TlsServer::connection_count() const { return core_->connection_count(); }

// ---------------------------------------------------------------------------------------------
// TlsSession

TlsSession::TlsSession(uint64_t id, tcp::socket socket, ssl::context& tls,
                       std::shared_ptr<internal::TlsServerCore> server, tcp::endpoint remote)
    : id_(id),
      server_(std::move(server)),
      remote_(std::move(remote)),
      stream_(std::move(socket), tls),
      verify_failure_(std::make_shared<PeerVerifyFailure>()),
      read_timer_(stream_.get_executor()),
      write_timer_(stream_.get_executor()) {}

TlsSession::~TlsSession() = default;

std::string TlsSession::peer_label() const {
  if (peer_common_name_.empty()) return EndpointString(remote_);
  return peer_common_name_ + "@" + EndpointString(remote_);
}

void TlsSession::Send(Frame frame) { Send(std::make_shared<const Frame>(std::move(frame))); }

void TlsSession::Send(std::shared_ptr<const Frame> frame) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), f = std::move(frame)]() mutable {
    self->do_send(std::move(f));
  });
}

void TlsSession::Close(std::string reason) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(reason)]() mutable {
    self->do_close(Status::Aborted(std::move(r)));
  });
}

void TlsSession::Start() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->do_handshake(); });
}

// --- handshake ---------------------------------------------------------------------------------

void TlsSession::do_handshake() {
  if (state_ != State::kHandshaking) return;
  error_code ec;
  stream_.set_verify_callback(RecordingVerifyCallback(verify_failure_), ec);
  if (ec) return Refuse("TLS error: " + DescribeTlsError(ec), "");
  ArmReadDeadline(ReadPhase::kHandshake, server_->options().handshake_timeout);
  stream_.async_handshake(ssl::stream_base::server,
                          [self = shared_from_this()](error_code e) { self->on_handshake(e); });
}

void TlsSession::on_handshake(error_code ec) {
  DisarmReadDeadline();
  if (state_ != State::kHandshaking) return;  // refused on timeout, or stopped meanwhile
  if (ec) {
    std::string detail;
    if (verify_failure_->failed()) {
      detail = " (depth " + std::to_string(verify_failure_->depth) + ", subject " +
               verify_failure_->subject + ")";
    }
    return Refuse(RefusalReason(ec, *verify_failure_), detail);
  }
  peer_common_name_ = PeerCommonName(stream_.native_handle());
  if (peer_common_name_.empty()) return Refuse("certificate has no common name", "");

  state_ = State::kOpen;
  announced_ = true;
  server_->log().info("session {} open: {}", id_, peer_label());
  server_->NotifySession(shared_from_this());
  if (state_ != State::kOpen) return;
  header_have_ = 0;
  ArmIdleDeadline();
  do_read_header();
}

void TlsSession::Refuse(const std::string& reason, const std::string& detail) {
  server_->CountRefusal(reason);
  server_->log().warn("refused TLS connection from {}: {}{}", EndpointString(remote_), reason,
                      detail);
  Finish(Status::PermissionDenied(reason));
}

// --- reading -----------------------------------------------------------------------------------

void TlsSession::do_read_header() {
  read_in_flight_ = true;
  stream_.async_read_some(
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

  Result<FrameHeader> header = DecodeFrameHeader(header_bytes_, server_->options().max_frame_bytes);
  if (!header.ok()) {
    server_->log().warn("closing {}: malformed frame: {}", peer_label(), header.status().message());
    return Finish(header.status().WithContext("malformed frame from " + peer_label()));
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
    payload_.resize(std::min(length, payload_have_ + kPayloadChunkBytes));
  }
  read_in_flight_ = true;
  stream_.async_read_some(
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
  asio::async_write(stream_, buffers, [self = shared_from_this()](error_code ec, std::size_t n) {
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
  if (state_ == State::kHandshaking) return Finish(std::move(status));  // never announced
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
  stream_.async_shutdown([self = shared_from_this()](error_code ec) { self->on_shutdown(ec); });
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
    const std::string where = header_have_ < kFrameHeaderSize
                                  ? std::to_string(header_have_) + " of " +
                                        std::to_string(kFrameHeaderSize) + " header bytes"
                                  : std::to_string(payload_have_) + " of " +
                                        std::to_string(header_.payload_length) + " payload bytes";
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
  ++read_deadline_gen_;
  ++write_deadline_gen_;
  read_timer_.cancel();
  write_timer_.cancel();
  // Closing the socket completes any pending operation with an error; those handlers see kClosed.
  error_code ignored;
  stream_.lowest_layer().close(ignored);
  send_queue_.clear();
  queued_bytes_ = 0;
  payload_ = std::string();
  server_->Unregister(id_);
  if (announced_) {
    if (status.ok()) {
      server_->log().info("session {} closed: {}", id_, peer_label());
    } else {
      server_->log().info("session {} closed: {}: {}", id_, peer_label(), status.ToString());
    }
    server_->NotifyClose(shared_from_this(), status);
  }
}

void TlsSession::CancelSocket() {
  error_code ignored;
  stream_.lowest_layer().cancel(ignored);
}

// --- deadlines ---------------------------------------------------------------------------------

void TlsSession::ArmReadDeadline(ReadPhase phase, std::chrono::milliseconds timeout) {
  read_phase_ = phase;
  read_deadline_timeout_ = timeout;
  const uint64_t gen = ++read_deadline_gen_;
  read_timer_.expires_after(timeout);
  read_timer_.async_wait([self = shared_from_this(), gen](error_code ec) {
    if (ec || gen != self->read_deadline_gen_) return;
    self->OnReadDeadline();
  });
}

void TlsSession::ArmIdleDeadline() {
  if (server_->options().idle_timeout.count() > 0) {
    ArmReadDeadline(ReadPhase::kIdle, server_->options().idle_timeout);
  } else {
    DisarmReadDeadline();
  }
}

void TlsSession::DisarmReadDeadline() {
  ++read_deadline_gen_;
  read_timer_.cancel();
}

void TlsSession::OnReadDeadline() {
  switch (read_phase_) {
    case ReadPhase::kHandshake:
      return Refuse("handshake timed out",
                    " (no verified handshake within " + Ms(read_deadline_timeout_) + ")");
    case ReadPhase::kIdle:
      return do_close(Status::DeadlineExceeded("no frame from " + peer_label() + " for " +
                                               Ms(read_deadline_timeout_) + " (idle timeout)"));
    case ReadPhase::kFrame: {
      const std::string got = header_have_ < kFrameHeaderSize
                                  ? std::to_string(header_have_) + " of " +
                                        std::to_string(kFrameHeaderSize) + " header bytes"
                                  : std::to_string(payload_have_) + " of " +
                                        std::to_string(header_.payload_length) + " payload bytes";
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
  const uint64_t gen = ++write_deadline_gen_;
  write_timer_.expires_after(timeout);
  write_timer_.async_wait([self = shared_from_this(), gen](error_code ec) {
    if (ec || gen != self->write_deadline_gen_) return;
    self->OnWriteDeadline();
  });
}

void TlsSession::DisarmWriteDeadline() {
  ++write_deadline_gen_;
  write_timer_.cancel();
}

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
