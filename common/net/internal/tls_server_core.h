// What a TlsServer shares with its sessions: the options, the owner's handlers and the logger.
// Internal to fedseg_net (tls_server.cc and tls_session.cc).
#ifndef FEDSEG_COMMON_NET_INTERNAL_TLS_SERVER_CORE_H_
#define FEDSEG_COMMON_NET_INTERNAL_TLS_SERVER_CORE_H_

#include <spdlog/logger.h>

#include <memory>
#include <string>
#include <utility>

#include "common/net/tls_server.h"
#include "common/net/tls_session.h"

namespace fedseg::net::internal {

// Sessions hold it by shared_ptr, so destroying the TlsServer handle never leaves a handler
// pointing at freed memory.
class TlsServerCore {
 public:
  TlsServerCore(TlsServerOptions options, TlsServerHandlers handlers,
                std::shared_ptr<spdlog::logger> log)
      : options_(std::move(options)), handlers_(std::move(handlers)), log_(std::move(log)) {}

  const TlsServerOptions& options() const { return options_; }
  spdlog::logger& log() { return *log_; }

  // Owner callbacks. An exception thrown by the owner must not unwind through io_context::run()
  // and take the coordinator down; it is logged and costs that session.
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

  const TlsServerOptions options_;
  const TlsServerHandlers handlers_;
  const std::shared_ptr<spdlog::logger> log_;
};

}  // namespace fedseg::net::internal

#endif  // FEDSEG_COMMON_NET_INTERNAL_TLS_SERVER_CORE_H_
