#include "coordinator/status/status_server.h"

#include <openssl/err.h>
#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "common/net/x509_identity.h"

namespace fedseg::coordinator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

namespace {

std::string EndpointString(const tcp::endpoint& ep) {
  error_code ec;
  const std::string addr = ep.address().to_string(ec);
  if (ec) return "?";
  if (ep.address().is_v6()) return "[" + addr + "]:" + std::to_string(ep.port());
  return addr + ":" + std::to_string(ep.port());
}

bool IsCleanClose(const error_code& ec) {
  return ec == asio::error::eof || ec == ssl::error::stream_truncated ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

// The counter key for a failed handshake: a bounded set (fixed phrases and OpenSSL's reasons).
std::string RefusalReason(const error_code& ec, const net::PeerVerifyFailure& verify) {
  if (verify.failed()) return verify.reason();
  if (ec == beast::error::timeout) return "handshake timed out";
  if (ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
          SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
    return "no client certificate";
  }
  if (net::IsPeerTlsAlert(ec)) return "client refused the server: " + net::DescribeTlsError(ec);
  if (IsCleanClose(ec)) return "connection closed during handshake";
  return "TLS error: " + net::DescribeTlsError(ec);
}

constexpr const char* kJsonType = "application/json";
constexpr const char* kPrometheusType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextType = "text/plain; charset=utf-8";

}  // namespace

namespace internal {

class StatusSession;

// State shared by the StatusServer handle, its accept loop and its sessions (which hold it by
// shared_ptr, so a handler never outlives what it points to).
class StatusServerCore : public std::enable_shared_from_this<StatusServerCore> {
 public:
  StatusServerCore(asio::io_context& io, std::shared_ptr<ssl::context> tls,
                   StatusServerOptions options, StatusServer::SnapshotFn snapshot)
      : io_(io),
        strand_(asio::make_strand(io)),
        tls_(std::move(tls)),
        options_(std::move(options)),
        snapshot_(std::move(snapshot)),
        log_(options_.logger ? options_.logger : spdlog::default_logger()),
        acceptor_(strand_),
        accept_retry_(strand_) {}

  Status Listen(const tcp::endpoint& endpoint) {
    const std::string where = "status server: listen on " + EndpointString(endpoint);
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
    bound_ = EndpointString(bound);
    return Status::OK();
  }

  uint16_t port() const { return port_; }
  const std::string& bound() const { return bound_; }
  const StatusServerOptions& options() const { return options_; }
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

  // The coordinator's state, or nullopt if the snapshot function failed (logged).
  std::optional<StatusSnapshot> Snapshot() {
    try {
      return snapshot_();
    } catch (const std::exception& e) {
      log_->error("status server: snapshot failed: {}", e.what());
    } catch (...) {
      log_->error("status server: snapshot failed with a non-exception");
    }
    return std::nullopt;
  }

  ssl::context& tls() { return *tls_; }

 private:
  void do_accept() {
    acceptor_.async_accept(asio::make_strand(io_),
                           [self = shared_from_this()](error_code ec, tcp::socket socket) {
                             self->on_accept(ec, std::move(socket));
                           });
  }

  void on_accept(error_code ec, tcp::socket socket) {
    if (stopped()) return;
    if (ec) {
      // Typically EMFILE: keep what we have, try again shortly, never spin or give up.
      log_->warn("status server: accept on {}: {}; retrying in 100 ms", bound_, ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec) self->do_accept();
      });
      return;
    }
    Admit(std::move(socket));
    do_accept();
  }

  void Admit(tcp::socket socket);

  void do_stop();

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;
  const std::shared_ptr<ssl::context> tls_;
  const StatusServerOptions options_;
  const StatusServer::SnapshotFn snapshot_;
  const std::shared_ptr<spdlog::logger> log_;
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  uint16_t port_ = 0;
  std::string bound_;

  mutable std::mutex mu_;  // guards the members below
  std::map<uint64_t, std::weak_ptr<StatusSession>> sessions_;
  std::map<std::string, uint64_t> refused_;
  uint64_t next_id_ = 1;
  bool stopped_ = false;
};

// One HTTPS connection: handshake, then request / response until the client closes, asks to
// close, reaches max_requests_per_connection, or a deadline passes.
class StatusSession : public std::enable_shared_from_this<StatusSession> {
 public:
  StatusSession(uint64_t id, tcp::socket socket, std::shared_ptr<StatusServerCore> server,
                tcp::endpoint remote)
      : id_(id),
        server_(std::move(server)),
        peer_(EndpointString(remote)),
        stream_(std::move(socket), server_->tls()),
        verify_failure_(std::make_shared<net::PeerVerifyFailure>()),
        buffer_(server_->options().max_header_bytes + 1024) {}

  ~StatusSession() { server_->Unregister(id_); }

  void Start() {
    error_code ec;
    stream_.set_verify_callback(net::RecordingVerifyCallback(verify_failure_), ec);
    if (ec) {
      Refuse("TLS error: " + net::DescribeTlsError(ec));
      return;
    }
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&StatusSession::do_handshake, shared_from_this()));
  }

  // Ends the connection now (server stopping): pending operations complete with an error.
  void Close() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->closed_ = true;
      beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  const StatusServerOptions& options() const { return server_->options(); }
  spdlog::logger& log() { return server_->log(); }
  std::string who() const { return cn_.empty() ? peer_ : cn_ + "@" + peer_; }

  void do_handshake() {
    beast::get_lowest_layer(stream_).expires_after(options().handshake_timeout);
    stream_.async_handshake(
        ssl::stream_base::server,
        beast::bind_front_handler(&StatusSession::on_handshake, shared_from_this()));
  }

  // Runs a handler's body; an exception (allocation failure, a bug) costs this connection only and
  // never unwinds into the coordinator's io_context::run().
  template <typename F>
  void Guard(const char* what, F&& body) {
    try {
      body();
    } catch (const std::exception& e) {
      log().error("status server: {}: {} failed: {}", who(), what, e.what());
      Drop();
    } catch (...) {
      log().error("status server: {}: {} failed with a non-exception", who(), what);
      Drop();
    }
  }

  void on_handshake(error_code ec) {
    Guard("handshake", [&] {
      if (closed_) return;
      if (ec) return Refuse(RefusalReason(ec, *verify_failure_));
      cn_ = net::PeerCommonName(stream_.native_handle());
      do_read();
    });
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(options().max_header_bytes);
    parser_->body_limit(0);
    beast::get_lowest_layer(stream_).expires_after(options().request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&StatusSession::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    Guard("request", [&] { Read(ec); });
  }

  void Read(error_code ec) {
    if (closed_) return;
    if (ec == http::error::end_of_stream) return do_shutdown();
    if (ec) {
      if (ec == beast::error::timeout) {
        log().debug("status server: {}: no complete request within {} ms; closing", who(),
                    options().request_timeout.count());
        return Drop();
      }
      if (ec.category() != http::make_error_code(http::error::end_of_stream).category()) {
        return Drop();  // network or TLS error: nothing to answer
      }
      // A malformed or oversized request: answer once, then close.
      http::status st = http::status::bad_request;
      if (ec == http::error::header_limit) st = http::status::request_header_fields_too_large;
      if (ec == http::error::body_limit || ec == http::error::unexpected_body) {
        st = http::status::payload_too_large;
      }
      log().warn("status server: {}: bad request ({}); answering {} and closing", who(),
                 ec.message(), static_cast<unsigned>(st));
      return Respond(st, 11, false, false, kTextType, std::string(http::obsolete_reason(st)) + "\n",
                     false);
    }
    Handle(parser_->get());
  }

  void Handle(const http::request<http::empty_body>& req) {
    ++requests_;
    const bool keep_alive = req.keep_alive() && requests_ < options().max_requests_per_connection;
    const bool head = req.method() == http::verb::head;
    const unsigned version = req.version();
    std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));

    if (path != "/status" && path != "/metrics") {
      Log(req, http::status::not_found);
      return Respond(http::status::not_found, version, keep_alive, head, kTextType,
                     "not found: this server serves GET /status and GET /metrics\n", false);
    }
    if (req.method() != http::verb::get && !head) {
      Log(req, http::status::method_not_allowed);
      return Respond(http::status::method_not_allowed, version, keep_alive, false, kTextType,
                     "method not allowed: read-only (GET or HEAD)\n", true);
    }
    std::optional<StatusSnapshot> snap = server_->Snapshot();
    if (!snap || server_->stopped()) {
      Log(req, http::status::service_unavailable);
      return Respond(http::status::service_unavailable, version, false, head, kTextType,
                     "status unavailable\n", false);
    }
    Log(req, http::status::ok);
    if (path == "/status") {
      // Invalid UTF-8 (which no field should hold) is replaced rather than thrown.
      std::string body =
          StatusJson(*snap).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
      body += '\n';
      return Respond(http::status::ok, version, keep_alive, head, kJsonType, std::move(body),
                     false);
    }
    return Respond(http::status::ok, version, keep_alive, head, kPrometheusType,
                   PrometheusText(*snap, server_->refused_counts()), false);
  }

  void Log(const http::request<http::empty_body>& req, http::status st) {
    log().debug("status server: {} {} {} from {}", std::string(req.method_string()),
                std::string(req.target()), static_cast<unsigned>(st), who());
  }

  // HEAD gets the headers GET would get (Content-Length included) and no body.
  void Respond(http::status st, unsigned version, bool keep_alive, bool head,
               const char* content_type, std::string body, bool allow_header) {
    auto res = std::make_shared<http::response<http::string_body>>(st, version);
    res->set(http::field::content_type, content_type);
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    if (allow_header) res->set(http::field::allow, "GET, HEAD");
    res->keep_alive(keep_alive);
    res->content_length(body.size());
    if (!head) res->body() = std::move(body);
    response_ = res;
    beast::get_lowest_layer(stream_).expires_after(options().write_timeout);
    http::async_write(
        stream_, *res,
        beast::bind_front_handler(&StatusSession::on_write, shared_from_this(), keep_alive));
  }

  void on_write(bool keep_alive, error_code ec, std::size_t) {
    Guard("response", [&] {
      response_.reset();
      if (closed_) return;
      if (ec) {
        log().debug("status server: {}: write failed: {}", who(), net::DescribeTlsError(ec));
        return Drop();
      }
      if (!keep_alive) return do_shutdown();
      do_read();
    });
  }

  void do_shutdown() {
    beast::get_lowest_layer(stream_).expires_after(options().shutdown_timeout);
    stream_.async_shutdown(
        beast::bind_front_handler(&StatusSession::on_shutdown, shared_from_this()));
  }

  void on_shutdown(error_code) { Drop(); }

  void Drop() noexcept {
    closed_ = true;
    beast::get_lowest_layer(stream_).close();  // tcp_stream::close() does not throw
  }

  void Refuse(const std::string& reason) {
    server_->CountRefusal(reason);
    if (verify_failure_->failed() && !verify_failure_->subject.empty()) {
      log().warn("status server: refused {}: {} (certificate {})", peer_, reason,
                 verify_failure_->subject);
    } else {
      log().warn("status server: refused {}: {}", peer_, reason);
    }
    Drop();
  }

  const uint64_t id_;
  const std::shared_ptr<StatusServerCore> server_;
  const std::string peer_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  std::shared_ptr<net::PeerVerifyFailure> verify_failure_;
  std::string cn_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::shared_ptr<void> response_;  // kept alive while it is written
  int requests_ = 0;
  bool closed_ = false;
};

void StatusServerCore::Admit(tcp::socket socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sessions_.size() >= options_.max_connections) {
      ++refused_["connection limit reached"];
    } else {
      id = next_id_++;
      sessions_[id];  // reserved until the session exists
    }
  }
  if (id == 0) {
    log_->warn("status server: refused {}: connection limit ({}) reached", EndpointString(remote),
               options_.max_connections);
    socket.close(ec);
    return;
  }
  std::shared_ptr<StatusSession> session;
  try {
    session = std::make_shared<StatusSession>(id, std::move(socket), shared_from_this(), remote);
  } catch (const std::exception& e) {
    Unregister(id);
    log_->error("status server: refused {}: cannot set up TLS: {}", EndpointString(remote),
                e.what());
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_[id] = session;
  }
  session->Start();
}

void StatusServerCore::do_stop() {
  std::vector<std::shared_ptr<StatusSession>> sessions;
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
  for (auto& s : sessions) s->Close();
}

}  // namespace internal

Result<std::unique_ptr<StatusServer>> StatusServer::Create(asio::io_context& io,
                                                           const net::TlsConfig& tls,
                                                           StatusServerOptions options,
                                                           SnapshotFn snapshot) {
  if (!snapshot) return Status::InvalidArgument("status server: no snapshot function");
  if (options.max_connections < 1) {
    return Status::InvalidArgument("status server: max_connections must be at least 1");
  }
  if (options.max_header_bytes < 256) {
    return Status::InvalidArgument("status server: max_header_bytes must be at least 256");
  }
  if (options.max_requests_per_connection < 1) {
    return Status::InvalidArgument("status server: max_requests_per_connection must be >= 1");
  }
  using std::chrono::milliseconds;
  for (const auto& [name, value] : {std::pair{"handshake_timeout", options.handshake_timeout},
                                    std::pair{"request_timeout", options.request_timeout},
                                    std::pair{"write_timeout", options.write_timeout},
                                    std::pair{"shutdown_timeout", options.shutdown_timeout}}) {
    if (value <= milliseconds(0)) {
      return Status::InvalidArgument(std::string("status server: ") + name + " must be positive");
    }
  }
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) {
    return Status::InvalidArgument("status server: listen address '" + options.host +
                                   "' is not an IP address");
  }

  auto ctx = net::MakeServerTlsContext(tls);
  if (!ctx.ok()) return ctx.status().WithContext("status server");
  if (!options.require_client_cert) {
    // A client certificate becomes optional; one that is presented must still verify.
    ctx.value()->set_verify_mode(ssl::verify_peer, ec);
    if (ec) return Status::Internal("status server: set verify mode: " + net::DescribeTlsError(ec));
  }

  auto core = std::make_shared<internal::StatusServerCore>(io, std::move(ctx).value(),
                                                           std::move(options), std::move(snapshot));
  FEDSEG_RETURN_IF_ERROR(core->Listen(tcp::endpoint(address, core->options().port)));
  core->StartAccept();
  core->log().info(
      "status server listening on https://{} (/status, /metrics; client "
      "certificate {})",
      core->bound(), core->options().require_client_cert ? "required" : "not required");
  const uint16_t port = core->port();
  return std::unique_ptr<StatusServer>(new StatusServer(std::move(core), port));
}

StatusServer::StatusServer(std::shared_ptr<internal::StatusServerCore> core, uint16_t port)
    : core_(std::move(core)), port_(port) {}

StatusServer::~StatusServer() { Stop(); }

void StatusServer::Stop() { core_->Stop(); }

std::map<std::string, uint64_t> StatusServer::refused_counts() const {
  return core_->refused_counts();
}

size_t StatusServer::connection_count() const { return core_->connection_count(); }

}  // namespace fedseg::coordinator
