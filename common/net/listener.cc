#include "common/net/listener.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cerrno>
#include <mutex>
#include <utility>
#include <vector>

#include "common/base/log_escape.h"
#include "common/net/deadline.h"
#include "common/net/x509_identity.h"

namespace fedseg::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

std::string EndpointString(const tcp::endpoint& ep) {
  error_code ec;
  const std::string addr = ep.address().to_string(ec);
  if (ec) return "?";
  if (ep.address().is_v6()) return "[" + addr + "]:" + std::to_string(ep.port());
  return addr + ":" + std::to_string(ep.port());
}

std::string Ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

namespace internal {

class Handshake;

// State shared by the Listener handle, its accept loop, its handshakes and the slots it hands out.
// Pending handlers hold it by shared_ptr, so no handler outlives what it points to.
class ListenerCore : public std::enable_shared_from_this<ListenerCore> {
 public:
  ListenerCore(asio::io_context& io, std::shared_ptr<ssl::context> tls, ListenerOptions options,
               Listener::AcceptFn on_accept)
      : io_(io),
        strand_(asio::make_strand(io)),
        tls_(std::move(tls)),
        options_(std::move(options)),
        on_accept_(std::move(on_accept)),
        log_(options_.logger ? options_.logger : spdlog::default_logger()),
        acceptor_(strand_),
        accept_retry_(strand_),
        retry_delay_(options_.accept_retry_initial),
        refused_(options_.refusals ? options_.refusals : std::make_shared<RefusalCounter>()),
        log_limit_(options_.refusal_log_burst, options_.refusal_log_interval),
        summary_timer_(strand_) {}

  Status Listen(const tcp::endpoint& endpoint) {
    const std::string where = options_.log_prefix + "listen on " + EndpointString(endpoint);
    error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return Status::Unavailable(where + ": open: " + ec.message());
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) return Status::Unavailable(where + ": set SO_REUSEADDR: " + ec.message());
    acceptor_.bind(endpoint, ec);
    if (ec) return Status::Unavailable(where + ": bind: " + ec.message());
    acceptor_.listen(options_.backlog, ec);
    if (ec) return Status::Unavailable(where + ": listen: " + ec.message());
    const tcp::endpoint bound = acceptor_.local_endpoint(ec);
    if (ec) return Status::Unavailable(where + ": local endpoint: " + ec.message());
    port_ = bound.port();
    bound_ = EndpointString(bound);
    return Status::OK();
  }

  uint16_t port() const { return port_; }
  const std::string& bound() const { return bound_; }
  const ListenerOptions& options() const { return options_; }
  spdlog::logger& log() { return *log_; }

  void StartAccept() {
    asio::post(strand_, [self = shared_from_this()] { self->do_accept(); });
  }
  void Stop() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->do_stop(); });
  }
  bool stopped() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }

  // Logs the refusal, or counts it for the interval's summary line (RefusalLogLimiter).
  // `line` replaces "<label><detail>" in the log line when given.
  void LogRefusal(const tcp::endpoint& remote, const Refusal& refusal, const std::string& detail,
                  const std::string& line = "") {
    bool first_suppressed = false;
    const std::string label = refusal.Label();
    if (log_limit_.Admit(label, RefusalLogLimiter::Clock::now(), &first_suppressed)) {
      log_->warn("{}{}: {}", options_.refusal_log, EndpointString(remote),
                 line.empty() ? label + detail : line);
      return;
    }
    if (first_suppressed) {
      asio::post(strand_, [self = shared_from_this()] { self->ArmSummary(); });
    }
  }
  void CountRefusal(const Refusal& refusal) { refused_->Count(refusal); }
  // The per-address handshake count of `address` drops by one (the handshake ended).
  void EndHandshake(const asio::ip::address& address) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = handshaking_.find(address);
    if (it == handshaking_.end()) return;
    if (--it->second == 0) handshaking_.erase(it);
    --handshakes_;
  }
  size_t handshake_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return handshakes_;
  }
  std::map<std::string, uint64_t> refused_counts() const { return refused_->Snapshot(); }
  size_t connection_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_.size();
  }
  void Release(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    connections_.erase(id);
  }

  // A handshake succeeded: the owner takes the connection over.
  void HandOver(AcceptedConnection accepted);

 private:
  void do_accept() {
    // Each connection gets its own strand, so its handlers never run concurrently even if the
    // owner runs the io_context on several threads.
    acceptor_.async_accept(asio::make_strand(io_),
                           [self = shared_from_this()](error_code ec, tcp::socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  void on_accept(error_code ec, tcp::socket socket);
  void Admit(tcp::socket socket);
  void do_stop();
  void ArmSummary() {
    summary_timer_.expires_at(log_limit_.interval_end());
    summary_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->LogSummary(false);
    });
  }
  void LogSummary(bool force) {
    const std::string summary = log_limit_.FlushSummary(RefusalLogLimiter::Clock::now(), force);
    if (!summary.empty()) log_->warn("{} refused {}", options_.name, summary);
  }

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  const std::shared_ptr<ssl::context> tls_;
  const ListenerOptions options_;
  const Listener::AcceptFn on_accept_;
  const std::shared_ptr<spdlog::logger> log_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  std::chrono::milliseconds retry_delay_;  // on the strand
  uint16_t port_ = 0;
  std::string bound_;
  const std::shared_ptr<RefusalCounter> refused_;
  RefusalLogLimiter log_limit_;
  asio::steady_timer summary_timer_;  // on the strand

  mutable std::mutex mu_;  // guards the members below; read from the owner's threads
  // Weak: handshakes and sessions keep themselves alive through their pending handlers; this map
  // only finds them for Stop() and counts them for the cap.
  std::map<uint64_t, std::weak_ptr<ListenedConnection>> connections_;
  uint64_t next_id_ = 1;
  bool stopped_ = false;
  // Connections still in their handshake, per source address and in all.
  std::map<asio::ip::address, size_t> handshaking_;
  size_t handshakes_ = 0;
};

// One accepted connection until its TLS handshake completes, fails or runs out of time. Until the
// peer's first bytes arrive it holds only the socket: the TLS state and its buffers are built when
// there is a ClientHello to read, so a connection that stays silent costs a socket and this object.
class Handshake : public ListenedConnection, public std::enable_shared_from_this<Handshake> {
 public:
  Handshake(std::shared_ptr<ListenerCore> core, ConnectionSlot slot, tcp::socket socket,
            ssl::context& tls, tcp::endpoint remote)
      : core_(std::move(core)),
        slot_(std::move(slot)),
        remote_(std::move(remote)),
        tls_(tls),
        socket_(std::move(socket)),
        verify_failure_(std::make_shared<PeerVerifyFailure>()),
        executor_(socket_.get_executor()),
        deadline_(executor_) {}
  ~Handshake() override { EndHandshake(); }

  void Start() {
    asio::post(executor_, [self = shared_from_this()] { self->do_wait(); });
  }

  void Close(std::string /*reason*/) override {
    asio::post(executor_, [self = shared_from_this()] { self->Finish(); });
  }

 private:
  void do_wait() {
    if (done_) return;
    const auto timeout = core_->options().handshake_timeout;
    deadline_.Arm(timeout, [self = shared_from_this(), timeout] {
      if (self->done_) return;
      self->Refuse({RefusalReason::kHandshakeTimeout, ""},
                   " (no verified handshake within " + Ms(timeout) + ")");
    });
    socket_.async_wait(tcp::socket::wait_read,
                       [self = shared_from_this()](error_code ec) { self->on_readable(ec); });
  }

  void on_readable(error_code ec) {
    if (done_) return;
    if (ec) return Refuse(ClassifyHandshakeError(ec, *verify_failure_), "");
    try {
      // ssl::stream's constructor throws if OpenSSL cannot create the SSL object.
      stream_ = std::make_unique<TlsStream>(std::move(socket_), tls_);
    } catch (const std::exception& e) {
      return Refuse({RefusalReason::kTlsError, "cannot set up TLS"}, std::string(" (") + e.what() +
                                                                           ")");
    }
    stream_->set_verify_callback(RecordingVerifyCallback(verify_failure_), ec);
    if (ec) return Refuse({RefusalReason::kTlsError, DescribeTlsError(ec)}, "");
    stream_->async_handshake(ssl::stream_base::server,
                             [self = shared_from_this()](error_code e) { self->on_handshake(e); });
  }

  void on_handshake(error_code ec) {
    if (done_) return;  // refused on timeout, or stopped meanwhile
    deadline_.Disarm();
    if (ec) {
      std::string detail;
      if (verify_failure_->failed()) {
        detail = " (depth " + std::to_string(verify_failure_->depth) + ", subject " +
                 EscapeForLog(verify_failure_->subject) + ")";
      }
      return Refuse(ClassifyHandshakeError(ec, *verify_failure_), detail);
    }
    std::string cn = PeerCommonName(stream_->native_handle());
    if (cn.empty() && core_->options().require_common_name) {
      return Refuse({RefusalReason::kNoCommonName, ""}, "");
    }
    if (const auto& check = core_->options().check_identity) {
      const std::string why = check(cn);
      if (!why.empty()) {
        return Refuse({RefusalReason::kIdentityNotAllowed, ""},
                      " (" + EscapeForLog(cn.empty() ? "no certificate" : cn) + ": " + why + ")");
      }
    }
    done_ = true;
    EndHandshake();
    std::string spki = SpkiSha256Hex(SSL_get0_peer_certificate(stream_->native_handle()));
    core_->HandOver(AcceptedConnection{std::move(stream_), std::move(slot_), remote_,
                                       std::move(cn), std::move(spki)});
  }

  // Logs, closes the socket and gives the slot back, then counts: whoever sees the count sees
  // the log line too and no longer sees the connection held.
  void Refuse(const Refusal& refusal, const std::string& detail) {
    core_->LogRefusal(remote_, refusal, detail);
    Finish();
    core_->CountRefusal(refusal);
  }

  void Finish() {
    if (done_) return;
    done_ = true;
    deadline_.Disarm();
    error_code ignored;
    if (stream_) {
      stream_->lowest_layer().close(ignored);
    } else {
      socket_.close(ignored);
    }
    EndHandshake();
    slot_.Release();
  }

  void EndHandshake() {
    if (handshake_ended_) return;
    handshake_ended_ = true;
    core_->EndHandshake(remote_.address());
  }

  const std::shared_ptr<ListenerCore> core_;
  ConnectionSlot slot_;
  const tcp::endpoint remote_;
  ssl::context& tls_;  // kept alive by core_
  tcp::socket socket_;  // until the first bytes arrive; then moved into stream_
  std::unique_ptr<TlsStream> stream_;
  std::shared_ptr<PeerVerifyFailure> verify_failure_;
  const tcp::socket::executor_type executor_;  // the connection's strand
  Deadline deadline_;
  bool done_ = false;             // on the connection's strand
  bool handshake_ended_ = false;  // the per-address count was given back
};

void ListenerCore::on_accept(error_code ec, tcp::socket socket) {
  if (stopped()) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;  // the acceptor was closed
    if (ec == asio::error::connection_aborted) return do_accept();  // that peer is gone already
    // EMFILE, ENFILE, ENOBUFS, ENOMEM...: keep serving the connections we have and try again
    // after a growing pause instead of spinning on the error or giving up on accepting for good.
    log_->warn("{}accept on {}: {}; retrying in {}", options_.log_prefix, bound_, ec.message(),
               Ms(retry_delay_));
    accept_retry_.expires_after(retry_delay_);
    retry_delay_ = std::min(retry_delay_ * 2, std::max(options_.accept_retry_max,
                                                       options_.accept_retry_initial));
    accept_retry_.async_wait([self = shared_from_this()](error_code wait_ec) {
      if (!wait_ec) self->do_accept();
    });
    return;
  }
  retry_delay_ = options_.accept_retry_initial;
  Admit(std::move(socket));
  do_accept();
}

void ListenerCore::Admit(tcp::socket socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // the peer is already gone; the socket closes when it goes out of scope
  if (options_.keepalive) {
    if (Status st = SetTcpKeepalive(socket.native_handle(), *options_.keepalive); !st.ok()) {
      log_->warn("{}connection from {}: {}; continuing without dead-peer detection",
                 options_.log_prefix, EndpointString(remote), st.message());
    }
  }
  uint64_t id = 0;
  bool address_full = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    size_t& from_address = handshaking_[remote.address()];
    if (from_address >= options_.max_handshakes_per_address) {
      address_full = true;
    } else if (connections_.size() < options_.max_connections) {
      id = next_id_++;
      connections_[id];  // reserved until the handshake object exists
      ++from_address;
      ++handshakes_;
    }
    if (from_address == 0) handshaking_.erase(remote.address());
  }
  if (id == 0) {
    const Refusal refusal{address_full ? RefusalReason::kAddressHandshakeLimit
                                       : RefusalReason::kConnectionLimit,
                          ""};
    if (address_full) {
      LogRefusal(remote, refusal,
                 " (" + std::to_string(options_.max_handshakes_per_address) +
                     " handshakes from that address in progress)");
    } else {
      LogRefusal(remote, refusal, "",
                 "connection limit (" + std::to_string(options_.max_connections) + ") reached");
    }
    socket.close(ec);
    refused_->Count(refusal);
    return;
  }
  ConnectionSlot slot(shared_from_this(), id);
  // From here on the handshake object owns the per-address count: it gives it back when it ends
  // or is destroyed.
  auto handshake = std::make_shared<Handshake>(shared_from_this(), std::move(slot),
                                               std::move(socket), *tls_, remote);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = connections_.find(id); it != connections_.end()) it->second = handshake;
  }
  handshake->Start();
}

void ListenerCore::HandOver(AcceptedConnection accepted) {
  const uint64_t id = accepted.slot.id();
  if (stopped()) return;  // the stream and the slot close as `accepted` goes out of scope
  std::shared_ptr<ListenedConnection> session;
  try {
    if (on_accept_) session = on_accept_(std::move(accepted));
  } catch (const std::exception& e) {
    log_->error("{}accept handler threw: {}", options_.log_prefix, e.what());
  } catch (...) {
    log_->error("{}accept handler threw a non-exception", options_.log_prefix);
  }
  if (!session) return;
  bool stopped_meanwhile = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_meanwhile = stopped_;
    if (auto it = connections_.find(id); it != connections_.end()) it->second = session;
  }
  if (stopped_meanwhile) session->Close("server stopping");
}

void ListenerCore::do_stop() {
  std::vector<std::shared_ptr<ListenedConnection>> connections;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, weak] : connections_) {
      if (auto c = weak.lock()) connections.push_back(std::move(c));
    }
  }
  error_code ec;
  acceptor_.close(ec);
  accept_retry_.cancel();
  summary_timer_.cancel();
  LogSummary(true);
  log_->info("{} on port {} stopping; closing {} connection(s)", options_.name, port_,
             connections.size());
  for (auto& c : connections) c->Close("server stopping");
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------
// ConnectionSlot

ConnectionSlot::ConnectionSlot(std::shared_ptr<internal::ListenerCore> core, uint64_t id)
    : core_(std::move(core)), id_(id) {}

ConnectionSlot::ConnectionSlot(ConnectionSlot&& other) noexcept
    : core_(std::move(other.core_)), id_(std::exchange(other.id_, 0)) {}

ConnectionSlot& ConnectionSlot::operator=(ConnectionSlot&& other) noexcept {
  if (this != &other) {
    Release();
    core_ = std::move(other.core_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

void ConnectionSlot::Release() {
  if (core_ && id_ != 0) core_->Release(id_);
  core_.reset();
  id_ = 0;
}

// ---------------------------------------------------------------------------------------------
// Listener

Result<std::unique_ptr<Listener>> Listener::Create(asio::io_context& io,
                                                   std::shared_ptr<ssl::context> tls,
                                                   ListenerOptions options, AcceptFn on_accept) {
  const std::string& prefix = options.log_prefix;
  if (tls == nullptr) return Status::InvalidArgument(prefix + "listener: tls context is null");
  if (options.max_connections < 1) {
    return Status::InvalidArgument(prefix + "max_connections must be at least 1");
  }
  if (options.backlog < 1) return Status::InvalidArgument(prefix + "backlog must be at least 1");
  if (options.max_handshakes_per_address < 1) {
    return Status::InvalidArgument(prefix + "max_handshakes_per_address must be at least 1");
  }
  if (options.refusal_log_interval <= std::chrono::milliseconds(0)) {
    return Status::InvalidArgument(prefix + "refusal_log_interval must be positive");
  }
  if (options.handshake_timeout <= std::chrono::milliseconds(0)) {
    return Status::InvalidArgument(prefix + "handshake_timeout must be positive");
  }
  if (options.accept_retry_initial <= std::chrono::milliseconds(0)) {
    return Status::InvalidArgument(prefix + "accept_retry_initial must be positive");
  }
  if (options.keepalive) {
    if (Status st = options.keepalive->Validate(); !st.ok()) return st;
  }

  const std::string where =
      prefix + "listen on " + options.host + ":" + std::to_string(options.port);
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

  auto core = std::make_shared<internal::ListenerCore>(io, std::move(tls), std::move(options),
                                                       std::move(on_accept));
  FEDSEG_RETURN_IF_ERROR(core->Listen(endpoint));
  core->StartAccept();
  const uint16_t port = core->port();
  std::string bound = core->bound();
  return std::unique_ptr<Listener>(new Listener(std::move(core), port, std::move(bound)));
}

Listener::Listener(std::shared_ptr<internal::ListenerCore> core, uint16_t port, std::string bound)
    : core_(std::move(core)), port_(port), bound_(std::move(bound)) {}

Listener::~Listener() { Stop(); }

void Listener::Stop() { core_->Stop(); }

bool Listener::stopped() const { return core_->stopped(); }

std::map<std::string, uint64_t> Listener::refused_counts() const {
  return core_->refused_counts();
}

size_t Listener::connection_count() const { return core_->connection_count(); }

size_t Listener::handshake_count() const { return core_->handshake_count(); }

}  // namespace fedseg::net
