// The region's side of the transport: one blocking mutual-TLS connection to the coordinator, with a
// deadline on every call.
//
// A region node is a simple sequential program (connect, say hello, wait for a round, train, send
// the update), so its connection is blocking. Asio's blocking calls cannot time out, so each call
// starts the asynchronous operation on a private io_context and runs that io_context until the
// operation completes or the call's deadline passes; on the deadline the socket's pending
// operations are cancelled and the call returns DeadlineExceeded. The server certificate must chain
// to the federation CA and name the host that was dialled (DNS name or IP address in its
// subjectAltName). Errors say what failed and where: "connect to 127.0.0.1:7000: Connection
// refused", "TLS handshake with coordinator 127.0.0.1:7000: certificate verify failed (hostname
// mismatch)", "receive from coordinator 127.0.0.1:7000: timed out after 5000 ms".
//
// Not thread-safe: use a connection from one thread at a time.
#ifndef FEDSEG_COMMON_NET_TLS_CLIENT_H_
#define FEDSEG_COMMON_NET_TLS_CLIENT_H_

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/net/frame.h"
#include "common/net/tcp_keepalive.h"
#include "common/net/tls.h"

namespace fedseg::net {

class TlsClientConnection {
 public:
  // Resolves `host`, connects, and completes a TLS 1.3 handshake that verifies the server's
  // certificate and host name, all within `timeout`. The socket gets `keepalive`, so a coordinator
  // that becomes unreachable (a cut link) fails the pending Receive with Unavailable ("Connection
  // timed out") within keepalive.dead_after instead of waiting out the Receive timeout. Fails with Unavailable (resolve, connect,
  // network), PermissionDenied (the server's certificate was refused), DeadlineExceeded, or the
  // error of loading `config` (MakeClientTlsContext).
  //
  // In TLS 1.3 the server verifies the client's certificate only after the client has finished its
  // handshake, so a coordinator that refuses *our* certificate is noticed on the first Receive (or
  // Send), as PermissionDenied naming the server's alert ("tlsv13 alert certificate required",
  // "tlsv1 alert unknown ca", "sslv3 alert certificate expired").
  static Result<std::unique_ptr<TlsClientConnection>> Connect(const std::string& host,
                                                              uint16_t port,
                                                              const TlsConfig& config,
                                                              std::chrono::milliseconds timeout,
                                                              const TcpKeepalive& keepalive = {});

  // Close()s the connection.
  ~TlsClientConnection();
  TlsClientConnection(const TlsClientConnection&) = delete;
  TlsClientConnection& operator=(const TlsClientConnection&) = delete;

  // Writes one frame within `timeout`. A payload above kDefaultMaxFrameBytes is refused before
  // anything is written (InvalidArgument). A timeout or error leaves the TLS stream mid-record, so
  // it closes the connection; later calls fail with FailedPrecondition.
  Status Send(uint16_t type, std::string_view payload, std::chrono::milliseconds timeout);

  // Writes `bytes` exactly as given, with no frame header or size check: for tests and tools that
  // play a peer breaking the framing (a forged length prefix, a truncated header). Same errors as
  // Send.
  Status SendRaw(std::string_view bytes, std::chrono::milliseconds timeout);

  // Waits up to `timeout` for the next complete frame. DeadlineExceeded keeps the connection
  // usable: the bytes of a partly received frame are kept and the next Receive continues it. A
  // frame above `max_payload` is refused before its payload is read (ResourceExhausted) and, like a
  // malformed header (Corruption / InvalidArgument) or a closed connection (Unavailable), closes
  // the connection.
  Result<Frame> Receive(std::chrono::milliseconds timeout,
                        uint32_t max_payload = kDefaultMaxFrameBytes);

  // Sends the TLS close_notify (waiting at most one second for the server's) and closes the
  // socket. Idempotent.
  void Close();

  // False once closed by Close() or by an error.
  bool is_open() const { return closed_reason_.ok(); }
  // "127.0.0.1:7000", as dialled.
  const std::string& peer_address() const { return address_; }
  // Subject CN of the server's verified certificate.
  const std::string& peer_common_name() const { return peer_common_name_; }

 private:
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  using Clock = std::chrono::steady_clock;

  TlsClientConnection(std::shared_ptr<boost::asio::ssl::context> tls, std::string host,
                      uint16_t port);

  Status DoConnect(std::chrono::milliseconds timeout, const TcpKeepalive& keepalive);
  Status Write(const std::array<boost::asio::const_buffer, 2>& buffers,
               std::chrono::milliseconds timeout);

  // Runs the private io_context until `*done` or `deadline`. On the deadline, cancels the socket's
  // pending operations and keeps running until their handlers have run (so none outlives the call)
  // and returns false.
  bool RunUntil(const bool& done, Clock::time_point deadline);
  // One async_read_some into [data, data + size) within the deadline. Sets *timed_out when the
  // deadline (not the peer) ended it.
  boost::system::error_code ReadSome(uint8_t* data, size_t size, Clock::time_point deadline,
                                     size_t* bytes, bool* timed_out);
  // The Status for a failed read, closing the connection unless it was only a timeout.
  Status ReadError(const boost::system::error_code& ec, bool timed_out,
                   std::chrono::milliseconds timeout);
  // Marks the connection unusable with `why` and closes the socket without a TLS shutdown.
  void Abort(const Status& why);
  Status CheckOpen(std::string_view op) const;

  const std::shared_ptr<boost::asio::ssl::context> tls_;
  const std::string host_;
  const uint16_t port_;
  const std::string address_;  // host:port for messages
  boost::asio::io_context io_;
  Stream stream_;
  std::string peer_common_name_;
  Status closed_reason_ = Status::FailedPrecondition("not connected");

  // A frame in progress across Receive calls that timed out.
  std::array<uint8_t, kFrameHeaderSize> rx_header_bytes_{};
  size_t rx_header_have_ = 0;
  std::optional<FrameHeader> rx_header_;
  std::string rx_payload_;
  size_t rx_payload_have_ = 0;
};

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_TLS_CLIENT_H_
