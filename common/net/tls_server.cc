#include "common/net/tls_server.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/net/internal/tls_server_core.h"

namespace fedseg::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

Result<std::unique_ptr<TlsServer>> TlsServer::Create(asio::io_context& io,
                                                     std::shared_ptr<ssl::context> tls,
                                                     TlsServerOptions options,
                                                     TlsServerHandlers handlers) {
  if (tls == nullptr) return Status::InvalidArgument("TLS server: tls context is null");
  if (options.max_connections < 1) {
    return Status::InvalidArgument("TLS server: max_connections must be at least 1");
  }
  if (options.max_frame_bytes < 1 || options.max_first_frame_bytes < 1) {
    return Status::InvalidArgument(
        "TLS server: max_frame_bytes and max_first_frame_bytes must be at least 1");
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

  ListenerOptions listen;
  listen.host = options.host;
  listen.port = options.port;
  listen.max_connections = options.max_connections;
  listen.max_handshakes_per_address = options.max_handshakes_per_address;
  listen.handshake_timeout = options.handshake_timeout;
  listen.require_common_name = true;
  listen.keepalive = options.keepalive;
  listen.name = "TLS server";
  listen.refusal_log = "refused TLS connection from ";
  listen.logger = options.logger ? options.logger : spdlog::default_logger();
  auto log = listen.logger;

  auto core = std::make_shared<internal::TlsServerCore>(std::move(options), std::move(handlers),
                                                        log);
  // The listener holds the core weakly: sessions keep it alive, the listener must not keep it
  // alive past the TlsServer handle.
  std::weak_ptr<internal::TlsServerCore> weak_core = core;
  FEDSEG_ASSIGN_OR_RETURN(
      std::unique_ptr<Listener> listener,
      Listener::Create(io, std::move(tls), std::move(listen),
                       [weak_core](AcceptedConnection accepted)
                           -> std::shared_ptr<ListenedConnection> {
                         auto server = weak_core.lock();
                         if (!server) return nullptr;
                         std::shared_ptr<TlsSession> session(
                             new TlsSession(std::move(accepted), std::move(server)));
                         session->Start();
                         return session;
                       }));
  log->info("TLS server listening on {}", listener->bound());
  return std::unique_ptr<TlsServer>(new TlsServer(std::move(core), std::move(listener)));
}

TlsServer::TlsServer(std::shared_ptr<internal::TlsServerCore> core,
                     std::unique_ptr<Listener> listener)
    : core_(std::move(core)), listener_(std::move(listener)), port_(listener_->port()) {}

TlsServer::~TlsServer() { Stop(); }

void TlsServer::Stop() { listener_->Stop(); }

std::map<std::string, uint64_t> TlsServer::refused_counts() const {
  return listener_->refused_counts();
}

size_t TlsServer::connection_count() const { return listener_->connection_count(); }

size_t TlsServer::handshake_count() const { return listener_->handshake_count(); }

}  // namespace fedseg::net
