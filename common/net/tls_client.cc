#include "common/net/tls_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <functional>
#include <vector>

#include "common/net/internal/frame_reading.h"
#include "common/net/listener.h"
#include "common/net/x509_identity.h"

namespace fedseg::net {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::chrono::milliseconds kCloseTimeout{1000};

bool IsIpLiteral(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// Runs the io_context until `done` or `deadline`; on the deadline calls `cancel` and keeps running
// until `done`, so the operation's handler (which refers to the caller's locals) has always run by
// the time this returns. Returns false if the deadline passed first.
bool RunIoUntil(asio::io_context& io, const bool& done,
                std::chrono::steady_clock::time_point deadline,
                const std::function<void()>& cancel) {
  io.restart();
  while (!done) {
    if (io.run_one_until(deadline) == 0) break;  // deadline passed (or nothing left to run)
  }
  if (done) return true;
  cancel();
  io.restart();
  while (!done) {
    if (io.run_one() == 0) break;  // no work left: the handler cannot be pending any more
  }
  return false;
}

}  // namespace

TlsClientConnection::TlsClientConnection(std::shared_ptr<ssl::context> tls, std::string host,
                                         uint16_t port)
    : tls_(std::move(tls)),
      host_(std::move(host)),
      port_(port),
      address_((host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_) + ":" +
               std::to_string(port_)),
      stream_(io_, *tls_) {}

TlsClientConnection::~TlsClientConnection() { Close(); }

Result<std::unique_ptr<TlsClientConnection>> TlsClientConnection::Connect(
    const std::string& host, uint16_t port, const TlsConfig& config,
    std::chrono::milliseconds timeout, const TcpKeepalive& keepalive) {
  if (host.empty()) return Status::InvalidArgument("connect: host is empty");
  if (timeout <= std::chrono::milliseconds(0)) {
    return Status::InvalidArgument("connect: timeout must be positive");
  }
  FEDSEG_RETURN_IF_ERROR(keepalive.Validate());
  Result<std::shared_ptr<ssl::context>> tls = MakeClientTlsContext(config);
  if (!tls.ok()) return tls.status().WithContext("TLS client configuration");
  std::unique_ptr<TlsClientConnection> conn;
  try {
    // ssl::stream's constructor throws if OpenSSL cannot create the SSL object.
    conn.reset(new TlsClientConnection(std::move(tls).value(), host, port));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("connect: cannot set up TLS: ") + e.what());
  }
  FEDSEG_RETURN_IF_ERROR(conn->DoConnect(timeout, keepalive));
  return conn;
}

Status TlsClientConnection::DoConnect(std::chrono::milliseconds timeout,
                                      const TcpKeepalive& keepalive) {
  const Clock::time_point deadline = Clock::now() + timeout;
  auto cancel_socket = [this] {
    error_code ignored;
    stream_.lowest_layer().cancel(ignored);
  };

  // 1. Resolve (skipped for IP literals).
  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  const asio::ip::address literal = asio::ip::make_address(host_, ec);
  if (!ec) {
    endpoints.emplace_back(literal, port_);
  } else {
    tcp::resolver resolver(io_);
    bool done = false;
    error_code resolve_ec;
    resolver.async_resolve(host_, std::to_string(port_),
                           [&](error_code e, const tcp::resolver::results_type& results) {
                             resolve_ec = e;
                             for (const auto& entry : results)
                               endpoints.push_back(entry.endpoint());
                             done = true;
                           });
    if (!RunIoUntil(io_, done, deadline, [&] { resolver.cancel(); })) {
      return Status::DeadlineExceeded("resolve " + host_ + ": timed out after " + Ms(timeout));
    }
    if (resolve_ec) return Status::Unavailable("resolve " + host_ + ": " + resolve_ec.message());
    if (endpoints.empty()) return Status::Unavailable("resolve " + host_ + ": no addresses");
  }

  // 2. TCP connect, trying each address in turn.
  {
    bool done = false;
    error_code connect_ec;
    asio::async_connect(stream_.lowest_layer(), endpoints, [&](error_code e, const tcp::endpoint&) {
      connect_ec = e;
      done = true;
    });
    const bool in_time = RunIoUntil(io_, done, deadline, cancel_socket);
    if (!in_time && connect_ec == asio::error::operation_aborted) {
      Abort(Status::DeadlineExceeded("connect timed out"));
      return Status::DeadlineExceeded("connect to " + address_ + ": timed out after " +
                                      Ms(timeout));
    }
    if (connect_ec) {
      Abort(Status::Unavailable("connect failed"));
      return Status::Unavailable("connect to " + address_ + ": " + connect_ec.message());
    }
  }
  error_code ignored;
  stream_.lowest_layer().set_option(tcp::no_delay(true), ignored);
  if (Status st = SetTcpKeepalive(stream_.lowest_layer().native_handle(), keepalive); !st.ok()) {
    Abort(st);
    return st.WithContext("connect to " + address_);
  }

  // 3. TLS handshake. The host check is part of OpenSSL's own chain verification (X509_VERIFY_PARAM
  // host or IP): the same X509_check_host / X509_check_ip_asc test as Asio's
  // host_name_verification, but a mismatch then carries X509_V_ERR_HOSTNAME_MISMATCH ("hostname
  // mismatch") instead of an unspecified verification error. SNI only for names (RFC 6066 forbids
  // IP literals there).
  SSL* ssl = stream_.native_handle();
  const std::string where = "TLS handshake with coordinator " + address_;
  if (IsIpLiteral(host_)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str()) != 1) {
      Abort(Status::Internal("host check setup failed"));
      return Status::Internal(where + ": cannot set the expected IP address");
    }
  } else {
    if (SSL_set_tlsext_host_name(ssl, host_.c_str()) != 1 ||
        SSL_set1_host(ssl, host_.c_str()) != 1) {
      Abort(Status::Internal("host check setup failed"));
      return Status::Internal(where + ": cannot set the expected host name");
    }
  }
  auto verify_failure = std::make_shared<PeerVerifyFailure>();
  stream_.set_verify_callback(RecordingVerifyCallback(verify_failure), ec);
  if (ec) {
    Abort(Status::Internal("verify callback setup failed"));
    return Status::Internal(where + ": set verify callback: " + DescribeTlsError(ec));
  }
  {
    bool done = false;
    error_code handshake_ec;
    stream_.async_handshake(ssl::stream_base::client, [&](error_code e) {
      handshake_ec = e;
      done = true;
    });
    const bool in_time = RunIoUntil(io_, done, deadline, cancel_socket);
    if (!in_time && handshake_ec == asio::error::operation_aborted) {
      Abort(Status::DeadlineExceeded("handshake timed out"));
      return Status::DeadlineExceeded(where + ": timed out after " + Ms(timeout));
    }
    if (handshake_ec) {
      const std::string reason = DescribeHandshakeError(handshake_ec, *verify_failure);
      const Status status = verify_failure->failed() || IsPeerTlsAlert(handshake_ec)
                                ? Status::PermissionDenied(where + ": " + reason)
                                : Status::Unavailable(where + ": " + reason);
      Abort(status);
      return status;
    }
  }
  peer_common_name_ = PeerCommonName(ssl);
  closed_reason_ = Status::OK();
  return Status::OK();
}

Status TlsClientConnection::CheckOpen(std::string_view op) const {
  if (closed_reason_.ok()) return Status::OK();
  return Status::FailedPrecondition(std::string(op) + " coordinator " + address_ +
                                    ": connection is closed (" + closed_reason_.message() + ")");
}

void TlsClientConnection::Abort(const Status& why) {
  closed_reason_ = why.ok() ? Status::Aborted("closed") : why;
  error_code ignored;
  stream_.lowest_layer().close(ignored);
}

Status TlsClientConnection::Send(uint16_t type, std::string_view payload,
                                 std::chrono::milliseconds timeout) {
  FEDSEG_RETURN_IF_ERROR(CheckOpen("send to"));
  const std::string where = "send to coordinator " + address_;
  if (payload.size() > kDefaultMaxFrameBytes) {
    return Status::InvalidArgument(where + ": payload of " + std::to_string(payload.size()) +
                                   " bytes exceeds the " + std::to_string(kDefaultMaxFrameBytes) +
                                   "-byte frame limit");
  }
  const auto header = EncodeFrameHeader(type, static_cast<uint32_t>(payload.size()));
  return Write({asio::buffer(header), asio::buffer(payload.data(), payload.size())}, timeout);
}

Status TlsClientConnection::SendRaw(std::string_view bytes, std::chrono::milliseconds timeout) {
  FEDSEG_RETURN_IF_ERROR(CheckOpen("send to"));
  return Write({asio::buffer(bytes.data(), bytes.size()), asio::const_buffer()}, timeout);
}

Status TlsClientConnection::Write(const std::array<asio::const_buffer, 2>& buffers,
                                  std::chrono::milliseconds timeout) {
  const std::string where = "send to coordinator " + address_;
  bool done = false;
  error_code ec;
  asio::async_write(stream_, buffers, [&](error_code e, std::size_t) {
    ec = e;
    done = true;
  });
  const bool in_time = RunIoUntil(io_, done, Clock::now() + timeout, [this] {
    error_code ignored;
    stream_.lowest_layer().cancel(ignored);
  });
  if (!in_time && ec == asio::error::operation_aborted) {
    const Status status = Status::DeadlineExceeded(where + ": timed out after " + Ms(timeout));
    Abort(status);
    return status;
  }
  if (ec) {
    const Status status =
        IsPeerTlsAlert(ec)
            ? Status::PermissionDenied(where + ": refused by the server: " + DescribeTlsError(ec))
            : Status::Unavailable(where + ": " + DescribeTlsError(ec));
    Abort(status);
    return status;
  }
  return Status::OK();
}

error_code TlsClientConnection::ReadSome(uint8_t* data, size_t size, Clock::time_point deadline,
                                         size_t* bytes, bool* timed_out) {
  bool done = false;
  error_code ec;
  *bytes = 0;
  stream_.async_read_some(asio::buffer(data, size), [&](error_code e, std::size_t n) {
    ec = e;
    *bytes = n;
    done = true;
  });
  // Cancelling an SSL read is safe: the partial TLS record stays buffered inside OpenSSL, so the
  // stream is intact for the next Receive.
  const bool in_time = RunIoUntil(io_, done, deadline, [this] {
    error_code ignored;
    stream_.lowest_layer().cancel(ignored);
  });
  *timed_out = !in_time && ec == asio::error::operation_aborted;
  return ec;
}

Status TlsClientConnection::ReadError(const error_code& ec, bool timed_out,
                                      std::chrono::milliseconds timeout) {
  const std::string where = "receive from coordinator " + address_;
  if (timed_out) return Status::DeadlineExceeded(where + ": timed out after " + Ms(timeout));
  Status status;
  const bool between_frames = rx_header_have_ == 0;
  if (IsCleanClose(ec) && between_frames) {
    status = Status::Unavailable(where + ": connection closed by the server");
  } else if (IsCleanClose(ec)) {
    status = Status::Unavailable(where + ": connection closed in the middle of a frame");
  } else if (IsPeerTlsAlert(ec)) {
    status = Status::PermissionDenied(where + ": refused by the server: " + DescribeTlsError(ec));
  } else {
    status = Status::Unavailable(where + ": " + DescribeTlsError(ec));
  }
  Abort(status);
  return status;
}

Result<Frame> TlsClientConnection::Receive(std::chrono::milliseconds timeout,
                                           uint32_t max_payload) {
  FEDSEG_RETURN_IF_ERROR(CheckOpen("receive from"));
  const std::string where = "receive from coordinator " + address_;
  const Clock::time_point deadline = Clock::now() + timeout;
  size_t n = 0;
  bool timed_out = false;

  while (rx_header_have_ < kFrameHeaderSize) {
    const error_code ec = ReadSome(rx_header_bytes_.data() + rx_header_have_,
                                   kFrameHeaderSize - rx_header_have_, deadline, &n, &timed_out);
    if (ec) return ReadError(ec, timed_out, timeout);
    rx_header_have_ += n;
  }
  if (!rx_header_) {
    Result<FrameHeader> header = DecodeFrameHeader(rx_header_bytes_, max_payload);
    if (!header.ok()) {
      const Status status = header.status().WithContext(where);
      Abort(status);
      return status;
    }
    rx_header_ = *header;
    rx_payload_.clear();
    rx_payload_have_ = 0;
  } else if (rx_header_->payload_length > max_payload) {
    // Decoded by an earlier, timed-out call with a larger limit.
    const Status status = Status::ResourceExhausted(
        where + ": frame payload of " + std::to_string(rx_header_->payload_length) +
        " bytes exceeds the " + std::to_string(max_payload) + "-byte limit");
    Abort(status);
    return status;
  }

  const size_t length = rx_header_->payload_length;
  while (rx_payload_have_ < length) {
    if (rx_payload_.size() == rx_payload_have_) {
      rx_payload_.resize(std::min(length, rx_payload_have_ + internal::kPayloadChunkBytes));
    }
    const error_code ec =
        ReadSome(reinterpret_cast<uint8_t*>(rx_payload_.data()) + rx_payload_have_,
                 rx_payload_.size() - rx_payload_have_, deadline, &n, &timed_out);
    if (ec) return ReadError(ec, timed_out, timeout);
    rx_payload_have_ += n;
  }

  Frame frame{rx_header_->type, std::move(rx_payload_)};
  rx_payload_ = std::string();
  rx_payload_have_ = 0;
  rx_header_.reset();
  rx_header_have_ = 0;
  return frame;
}

void TlsClientConnection::Close() {
  if (!closed_reason_.ok()) return;
  closed_reason_ = Status::Aborted("closed by Close()");
  // Best effort: tell the server this is an orderly goodbye, not a crash.
  bool done = false;
  stream_.async_shutdown([&](error_code) { done = true; });
  RunIoUntil(io_, done, Clock::now() + kCloseTimeout, [this] {
    error_code ignored;
    stream_.lowest_layer().cancel(ignored);
  });
  error_code ignored;
  stream_.lowest_layer().close(ignored);
}

}  // namespace fedseg::net
