#include "coordinator/status/status_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
#include <set>
#include <utility>

#include "common/net/deadline.h"
#include "common/net/listener.h"

namespace fedseg::coordinator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr const char* kJsonType = "application/json";
constexpr const char* kPrometheusType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kTextType = "text/plain; charset=utf-8";

}  // namespace

namespace internal {

// State shared by the StatusServer handle and its sessions (which hold it by shared_ptr, so a
// handler never outlives what it points to). Accepting, the connection cap, the handshake and the
// refusal counters are the net::Listener's.
class StatusServerCore {
 public:
  StatusServerCore(StatusServerOptions options, StatusServer::SnapshotFn snapshot,
                   std::shared_ptr<spdlog::logger> log)
      : options_(std::move(options)), snapshot_(std::move(snapshot)), log_(std::move(log)) {}

  const StatusServerOptions& options() const { return options_; }
  spdlog::logger& log() { return *log_; }

  const std::shared_ptr<net::RefusalCounter>& refusals() const { return refusals_; }
  std::map<std::string, uint64_t> refused_counts() const { return refusals_->Snapshot(); }
  void MarkStopped() { stopped_ = true; }
  bool stopped() const { return stopped_; }

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

 private:
  const StatusServerOptions options_;
  const StatusServer::SnapshotFn snapshot_;
  const std::shared_ptr<spdlog::logger> log_;
  // The listener's refusals, shared so that a session can report them after Stop().
  const std::shared_ptr<net::RefusalCounter> refusals_ = std::make_shared<net::RefusalCounter>();
  std::atomic<bool> stopped_{false};
};

// One HTTPS connection, verified by the net::Listener: request / response until the client
// closes, asks to close, reaches max_requests_per_connection, or a deadline passes.
class StatusSession : public net::ListenedConnection,
                      public std::enable_shared_from_this<StatusSession> {
 public:
  StatusSession(net::AcceptedConnection accepted, std::shared_ptr<StatusServerCore> server)
      : server_(std::move(server)),
        peer_(net::EndpointString(accepted.remote)),
        stream_(std::move(accepted.stream)),
        slot_(std::move(accepted.slot)),
        cn_(std::move(accepted.peer_common_name)),
        deadline_(stream_->get_executor()),
        buffer_(server_->options().max_header_bytes + 1024) {}

  void Start() {
    asio::dispatch(stream_->get_executor(),
                   beast::bind_front_handler(&StatusSession::do_first_read, shared_from_this()));
  }

  // Ends the connection now (server stopping): pending operations complete with an error.
  void Close(std::string /*reason*/) override {
    asio::dispatch(stream_->get_executor(), [self = shared_from_this()] { self->Drop(); });
  }

 private:
  const StatusServerOptions& options() const { return server_->options(); }
  spdlog::logger& log() { return server_->log(); }
  std::string who() const { return cn_.empty() ? peer_ : cn_ + "@" + peer_; }

  // Every wait has a deadline: when it passes, the socket is closed, which completes the pending
  // operation with an error, and timed_out_ tells the handler why.
  void ArmDeadline(std::chrono::milliseconds timeout) {
    deadline_.Arm(timeout, [self = shared_from_this()] {
      if (self->closed_) return;
      self->timed_out_ = true;
      error_code ignored;
      self->stream_->lowest_layer().close(ignored);
    });
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

  void do_first_read() {
    Guard("request", [&] {
      if (!closed_) do_read();
    });
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(options().max_header_bytes);
    parser_->body_limit(0);
    ArmDeadline(options().request_timeout);
    http::async_read(*stream_, buffer_, *parser_,
                     beast::bind_front_handler(&StatusSession::on_read, shared_from_this()));
  }

  void on_read(error_code ec, std::size_t) {
    Guard("request", [&] { Read(ec); });
  }

  void Read(error_code ec) {
    if (closed_) return;
    if (ec == http::error::end_of_stream) return do_shutdown();
    if (ec) {
      if (timed_out_) {
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
    ArmDeadline(options().write_timeout);
    http::async_write(
        *stream_, *res,
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
    ArmDeadline(options().shutdown_timeout);
    stream_->async_shutdown(
        beast::bind_front_handler(&StatusSession::on_shutdown, shared_from_this()));
  }

  void on_shutdown(error_code) { Drop(); }

  void Drop() noexcept {
    closed_ = true;
    deadline_.Disarm();
    error_code ignored;
    stream_->lowest_layer().close(ignored);
  }

  const std::shared_ptr<StatusServerCore> server_;
  const std::string peer_;
  const std::unique_ptr<net::TlsStream> stream_;
  net::ConnectionSlot slot_;  // our place under max_connections, given back on destruction
  const std::string cn_;      // "" when no client certificate was required and none came
  net::Deadline deadline_;
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::shared_ptr<void> response_;  // kept alive while it is written
  int requests_ = 0;
  bool closed_ = false;
};

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
  asio::ip::make_address(options.host, ec);
  if (ec) {
    return Status::InvalidArgument("status server: listen address '" + options.host +
                                   "' is not an IP address");
  }

  auto ctx = net::MakeServerTlsContext(tls);
  if (!ctx.ok()) return ctx.status().WithContext("status server");
  if (!options.crl_file.empty()) {
    if (Status st = net::EnableCrlCheck(*ctx.value(), options.crl_file); !st.ok()) {
      return st.WithContext("status server");
    }
  }
  if (!options.require_client_cert) {
    // A client certificate becomes optional; one that is presented must still verify.
    ctx.value()->set_verify_mode(ssl::verify_peer, ec);
    if (ec) return Status::Internal("status server: set verify mode: " + net::DescribeTlsError(ec));
  }

  net::ListenerOptions listen;
  listen.host = options.host;
  listen.port = options.port;
  listen.max_connections = options.max_connections;
  listen.max_handshakes_per_address = options.max_handshakes_per_address;
  listen.handshake_timeout = options.handshake_timeout;
  listen.check_identity = [monitors = std::set<std::string>(options.monitors.begin(),
                                                            options.monitors.end()),
                           regions = std::set<std::string>(options.refused_identities.begin(),
                                                           options.refused_identities.end()),
                           require = options.require_client_cert](const std::string& cn) {
    if (regions.count(cn)) return std::string("a region's identity may not read the status");
    if (cn.empty()) return require ? std::string("no certificate identity") : std::string();
    if (!monitors.count(cn)) return std::string("not listed in status.monitors");
    return std::string();
  };
  listen.require_common_name = false;  // a certificate may be optional (require_client_cert)
  listen.name = "status server";
  listen.log_prefix = "status server: ";
  listen.refusal_log = "status server: refused ";
  listen.logger = options.logger ? options.logger : spdlog::default_logger();
  auto log = listen.logger;
  const bool require_client_cert = options.require_client_cert;
  std::string monitor_list;
  for (const std::string& m : options.monitors) monitor_list += (monitor_list.empty() ? "" : ", ") + m;
  if (monitor_list.empty()) monitor_list = "none";

  auto core =
      std::make_shared<internal::StatusServerCore>(std::move(options), std::move(snapshot), log);
  listen.refusals = core->refusals();
  std::weak_ptr<internal::StatusServerCore> weak_core = core;
  FEDSEG_ASSIGN_OR_RETURN(
      std::unique_ptr<net::Listener> listener,
      net::Listener::Create(io, std::move(ctx).value(), std::move(listen),
                            [weak_core](net::AcceptedConnection accepted)
                                -> std::shared_ptr<net::ListenedConnection> {
                              auto server = weak_core.lock();
                              if (!server) return nullptr;
                              auto session = std::make_shared<internal::StatusSession>(
                                  std::move(accepted), std::move(server));
                              session->Start();
                              return session;
                            }));
  if (require_client_cert) {
    log->info("status server listening on https://{} (/status, /metrics; client certificate "
              "required; monitors: {})",
              listener->bound(), monitor_list);
  } else {
    log->warn("status server listening on https://{} WITHOUT client certificates "
              "(status.require_client_cert is false): ANYONE who can reach this address can read "
              "the state of every region. Require client certificates and list the monitors in "
              "status.monitors",
              listener->bound());
  }
  return std::unique_ptr<StatusServer>(new StatusServer(std::move(core), std::move(listener)));
}

StatusServer::StatusServer(std::shared_ptr<internal::StatusServerCore> core,
                           std::unique_ptr<net::Listener> listener)
    : core_(std::move(core)), listener_(std::move(listener)), port_(listener_->port()) {}

StatusServer::~StatusServer() { Stop(); }

void StatusServer::Stop() {
  core_->MarkStopped();
  listener_->Stop();
}

std::map<std::string, uint64_t> StatusServer::refused_counts() const {
  return listener_->refused_counts();
}

size_t StatusServer::connection_count() const { return listener_->connection_count(); }

}  // namespace fedseg::coordinator
