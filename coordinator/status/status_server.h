// The coordinator's optional live status endpoint: a small read-only HTTPS/1.1 server (Boost.Beast)
// serving GET/HEAD /status (JSON) and /metrics (Prometheus text format 0.0.4) from a snapshot of
// the coordinator's state. Off by default (status.enabled), on 127.0.0.1 unless configured.
//
// It runs on the coordinator's io_context, which the coordinator runs on one thread, so the
// snapshot function is always called on that thread and reads coordinator state without locks.
// TLS 1.3 with the coordinator's certificate; by default it requires a client certificate from the
// federation CA (mutual TLS, as on the federation port) whose identity is listed as a monitor, so
// only monitoring identities can read it (a region's identity never can). Without required client
// certificates it is anonymous, and says so loudly in the log at start. It is built to never affect the federation: every handshake, request read, write and
// shutdown has a deadline, request headers are capped and requests carry no body, concurrent
// connections are capped (one more is closed at once and counted), no exception leaves a handler,
// and a failing status connection only ever closes itself. Connections are accepted, capped and
// handshaken by net::Listener, as on the federation port: refusals are logged with the peer and the
// reason, and counted per net::RefusalReason for /metrics.
#ifndef FEDSEG_COORDINATOR_STATUS_STATUS_SERVER_H_
#define FEDSEG_COORDINATOR_STATUS_STATUS_SERVER_H_

#include <spdlog/logger.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/net/listener.h"
#include "common/net/tls.h"
#include "coordinator/status/status_snapshot.h"

namespace fedseg::coordinator {

namespace internal {
class StatusServerCore;
}

struct StatusServerOptions {
  // An IP literal; port 0 binds a free port (read it back with port()).
  std::string host = "127.0.0.1";
  uint16_t port = 9443;
  // true: a client certificate from the federation CA is required. false: it is optional (anyone
  // who reaches the port can read), but one that is presented must still verify.
  bool require_client_cert = true;
  // Connections held at once (handshaking or serving); one more is closed right after accept.
  size_t max_connections = 16;
  // Connections from one source address still in their handshake (net::ListenerOptions).
  size_t max_handshakes_per_address = 64;
  // Accept to verified peer.
  std::chrono::milliseconds handshake_timeout{3'000};
  // With a client certificate: only these identities (subject CNs) are served; any other is
  // refused at the handshake as "identity not allowed".
  std::vector<std::string> monitors = {"prometheus"};
  // Identities refused even if listed in monitors or when certificates are optional: the
  // federation's regions (a region must not read every other region's state).
  std::vector<std::string> refused_identities;
  // Optional CRL checked at every handshake (net::EnableCrlCheck); "" for none.
  std::string crl_file;
  // One whole request header, and the idle time between requests on a kept-alive connection.
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds write_timeout{10'000};
  std::chrono::milliseconds shutdown_timeout{2'000};
  // Request line plus header fields; more is answered with 431 and the connection closed.
  uint32_t max_header_bytes = 8 * 1024;
  // Requests served on one kept-alive connection before it is closed.
  int max_requests_per_connection = 100;
  // Where refusals and errors are logged; null means spdlog's default logger.
  std::shared_ptr<spdlog::logger> logger;
};

class StatusServer {
 public:
  // Called on the io_context's thread for every GET or HEAD of /status or /metrics.
  using SnapshotFn = std::function<StatusSnapshot()>;

  // Builds the TLS context from `tls` (TLS 1.3 only, its certificate and key, its CA), binds and
  // listens, and starts accepting on `io`. Errors name the address or the file that failed.
  static Result<std::unique_ptr<StatusServer>> Create(boost::asio::io_context& io,
                                                      const net::TlsConfig& tls,
                                                      StatusServerOptions options,
                                                      SnapshotFn snapshot);
  // Stops the server. Destroy it before its io_context.
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  uint16_t port() const { return port_; }
  // Closes the acceptor and every status connection. Idempotent.
  void Stop();
  // Refused connections per reason: "connection limit reached", "handshake timed out", "no client
  // certificate", an OpenSSL verify reason ("certificate has expired", "unable to get local issuer
  // certificate", ...), "connection closed during handshake", "client refused the server:
  // <alert>", "TLS error: <OpenSSL reason>".
  std::map<std::string, uint64_t> refused_counts() const;
  // Connections currently held.
  size_t connection_count() const;

 private:
  StatusServer(std::shared_ptr<internal::StatusServerCore> core,
               std::unique_ptr<net::Listener> listener);

  std::shared_ptr<internal::StatusServerCore> core_;
  std::unique_ptr<net::Listener> listener_;
  uint16_t port_;
};

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_STATUS_STATUS_SERVER_H_
