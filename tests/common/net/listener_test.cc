// The shared Listener on 127.0.0.1 (ephemeral ports, real TLS, no mocks): accept and hand-over,
// the connection cap, the handshake deadline, Stop(), and the refusal reasons and their counters.
// Every wait is for the asserted event, bounded, never a fixed sleep.
#include "common/net/listener.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/net/refusal.h"
#include "common/net/tls.h"
#include "common/net/tls_client.h"
#include "tests/common/net/net_test_util.h"

namespace fedseg::net {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
using test_util::CaptureSink;
using test_util::Contains;
using test_util::TestPki;
using test_util::WaitUntil;

// What the owner holds for an accepted connection: the stream and its slot, until Close().
class HeldConnection : public ListenedConnection {
 public:
  explicit HeldConnection(AcceptedConnection accepted) : accepted_(std::move(accepted)) {}

  void Close(std::string reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    close_reason_ = std::move(reason);
    accepted_.slot.Release();
  }
  std::string close_reason() {
    std::lock_guard<std::mutex> lock(mu_);
    return close_reason_;
  }
  const std::string& peer_common_name() const { return accepted_.peer_common_name; }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    accepted_.slot.Release();
  }

 private:
  std::mutex mu_;
  AcceptedConnection accepted_;
  std::string close_reason_;
};

// A Listener on its own io_context thread; accepted connections are kept in held().
class TestListener {
 public:
  TestListener(const TlsConfig& tls, ListenerOptions options)
      : sink_(std::make_shared<CaptureSink>()),
        work_(asio::make_work_guard(io_)) {
    options.logger = std::make_shared<spdlog::logger>("listener-test", sink_);
    auto ctx = MakeServerTlsContext(tls);
    if (!ctx.ok()) {
      status_ = ctx.status();
      return;
    }
    auto listener = Listener::Create(
        io_, std::move(ctx).value(), std::move(options),
        [this](AcceptedConnection accepted) -> std::shared_ptr<ListenedConnection> {
          auto held = std::make_shared<HeldConnection>(std::move(accepted));
          std::lock_guard<std::mutex> lock(mu_);
          held_.push_back(held);
          return held;
        });
    if (!listener.ok()) {
      status_ = listener.status();
      return;
    }
    listener_ = std::move(listener).value();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~TestListener() {
    listener_.reset();  // Stop()
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  const Status& status() const { return status_; }
  Listener& listener() { return *listener_; }
  uint16_t port() const { return listener_->port(); }
  std::string log() { return sink_->Text(); }
  size_t held_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  std::shared_ptr<HeldConnection> held(size_t i) {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.at(i);
  }
  uint64_t refused(const std::string& label) {
    const auto counts = listener_->refused_counts();
    const auto it = counts.find(label);
    return it == counts.end() ? 0 : it->second;
  }

 private:
  std::shared_ptr<CaptureSink> sink_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  Status status_;
  std::mutex mu_;
  std::vector<std::shared_ptr<HeldConnection>> held_;
  std::unique_ptr<Listener> listener_;
  std::thread thread_;
};

// A plain TCP connection that sends nothing: the listener sees a peer that never starts TLS.
class SilentPeer {
 public:
  explicit SilentPeer(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec_);
    // Bounds ReadsEnd(): a listener that never closes fails the test instead of hanging it.
    const timeval timeout{10, 0};
    if (!ec_) setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  const boost::system::error_code& connect_error() const { return ec_; }
  // Blocks until the listener closes the connection; true when it did (EOF or reset).
  bool ReadsEnd() {
    char byte;
    boost::system::error_code ec;
    asio::read(socket_, asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

 private:
  asio::io_context io_;
  tcp::socket socket_;
  boost::system::error_code ec_;
};

class ListenerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new TestPki({"@GEN --out @DIR/pki eu-west us-east"});
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(pki_->error(), "") << pki_->error(); }

  static TlsConfig ServerConfig() {
    return {pki_->Path("pki", "ca.crt"), pki_->Path("pki", "coordinator.crt"),
            pki_->Path("pki", "coordinator.key")};
  }
  static TlsConfig ClientConfig(const std::string& name) {
    return {pki_->Path("pki", "ca.crt"), pki_->Path("pki", name + ".crt"),
            pki_->Path("pki", name + ".key")};
  }
  static ListenerOptions Options() {
    ListenerOptions o;
    o.handshake_timeout = 5s;
    o.max_connections = 4;
    return o;
  }
  static Result<std::unique_ptr<TlsClientConnection>> Connect(const std::string& name,
                                                              uint16_t port) {
    return TlsClientConnection::Connect("127.0.0.1", port, ClientConfig(name), 5s);
  }

  static TestPki* pki_;
};

TestPki* ListenerTest::pki_ = nullptr;

TEST_F(ListenerTest, AcceptsAVerifiedPeerAndHandsItOver) {
  TestListener server(ServerConfig(), Options());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.listener().bound(), "127.0.0.1:" + std::to_string(server.port()));

  auto client = Connect("eu-west", server.port());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.held_count() == 1; }));
  EXPECT_EQ(server.held(0)->peer_common_name(), "eu-west");
  EXPECT_EQ(server.listener().connection_count(), 1u);
  EXPECT_TRUE(server.listener().refused_counts().empty());

  // The owner's session ends: its place under the cap is given back at once.
  server.held(0)->Release();
  EXPECT_EQ(server.listener().connection_count(), 0u);
}

TEST_F(ListenerTest, RefusesAndCountsAConnectionAboveTheCap) {
  ListenerOptions options = Options();
  options.max_connections = 1;
  TestListener server(ServerConfig(), options);
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();

  auto first = Connect("eu-west", server.port());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.held_count() == 1; }));

  SilentPeer second(server.port());
  ASSERT_FALSE(second.connect_error()) << second.connect_error().message();
  EXPECT_TRUE(second.ReadsEnd());
  ASSERT_TRUE(WaitUntil([&] { return server.refused("connection limit reached") == 1; }));
  EXPECT_TRUE(Contains(server.log(), "refused TLS connection from 127.0.0.1:")) << server.log();
  EXPECT_TRUE(Contains(server.log(), "connection limit (1) reached")) << server.log();
  EXPECT_EQ(server.listener().connection_count(), 1u);
  EXPECT_EQ(server.held_count(), 1u);

  // With the place free again, the next peer gets in.
  server.held(0)->Release();
  auto third = Connect("us-east", server.port());
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.held_count() == 2; }));
  EXPECT_EQ(server.held(1)->peer_common_name(), "us-east");
  EXPECT_EQ(server.refused("connection limit reached"), 1u);
}

TEST_F(ListenerTest, RefusesASilentPeerAtTheHandshakeDeadline) {
  ListenerOptions options = Options();
  options.handshake_timeout = 200ms;
  options.name = "status server";
  options.log_prefix = "status server: ";
  options.refusal_log = "status server: refused ";
  TestListener server(ServerConfig(), options);
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();

  SilentPeer silent(server.port());
  ASSERT_FALSE(silent.connect_error()) << silent.connect_error().message();
  EXPECT_TRUE(silent.ReadsEnd());
  ASSERT_TRUE(WaitUntil([&] { return server.refused("handshake timed out") == 1; }));
  EXPECT_EQ(server.listener().connection_count(), 0u);
  EXPECT_EQ(server.held_count(), 0u);
  EXPECT_TRUE(Contains(server.log(), "status server: refused 127.0.0.1:")) << server.log();
  EXPECT_TRUE(Contains(server.log(), "handshake timed out (no verified handshake within 200 ms)"))
      << server.log();
}

TEST_F(ListenerTest, RefusesAPeerWithoutCertificate) {
  TestListener server(ServerConfig(), Options());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  TlsConfig anonymous{pki_->Path("pki", "ca.crt"), "", ""};
  auto client = TlsClientConnection::Connect("127.0.0.1", server.port(), anonymous, 5s);
  if (client.ok()) {
    EXPECT_FALSE((*client)->Receive(5s).ok());
  }
  ASSERT_TRUE(WaitUntil([&] { return server.refused("no client certificate") == 1; }))
      << server.log();
  EXPECT_EQ(server.held_count(), 0u);
  EXPECT_TRUE(WaitUntil([&] { return server.listener().connection_count() == 0; }));
}

TEST_F(ListenerTest, StopClosesHeldConnectionsAndStopsAccepting) {
  TestListener server(ServerConfig(), Options());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto client = Connect("eu-west", server.port());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.held_count() == 1; }));

  server.listener().Stop();
  ASSERT_TRUE(WaitUntil([&] { return server.held(0)->close_reason() == "server stopping"; }));
  EXPECT_TRUE(server.listener().stopped());
  EXPECT_EQ(server.listener().connection_count(), 0u);
  EXPECT_TRUE(WaitUntil([&] { return Contains(server.log(), "closing 1 connection(s)"); }))
      << server.log();
  server.listener().Stop();  // idempotent
}

TEST_F(ListenerTest, CreateValidatesOptionsAndNamesTheAddress) {
  asio::io_context io;
  auto ctx = MakeServerTlsContext(ServerConfig());
  ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
  auto accept = [](AcceptedConnection) -> std::shared_ptr<ListenedConnection> { return nullptr; };

  ListenerOptions bad = Options();
  bad.max_connections = 0;
  auto r = Listener::Create(io, *ctx, bad, accept);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "max_connections must be at least 1");

  bad = Options();
  bad.log_prefix = "status server: ";
  bad.handshake_timeout = 0ms;
  r = Listener::Create(io, *ctx, bad, accept);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "status server: handshake_timeout must be positive");

  r = Listener::Create(io, nullptr, Options(), accept);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());

  // A second listener on a port in use says where and why.
  auto first = Listener::Create(io, *ctx, Options(), accept);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ListenerOptions same = Options();
  same.port = (*first)->port();
  auto second = Listener::Create(io, *ctx, same, accept);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsUnavailable()) << second.status().ToString();
  EXPECT_TRUE(Contains(second.status().message(),
                       "listen on 127.0.0.1:" + std::to_string(same.port) + ": bind: "))
      << second.status().ToString();
}

// --- reasons and counters --------------------------------------------------------------------

TEST(RefusalTest, NamesAndLabels) {
  EXPECT_EQ(RefusalReasonName(RefusalReason::kConnectionLimit), "connection limit reached");
  EXPECT_EQ(RefusalReasonName(RefusalReason::kHandshakeTimeout), "handshake timed out");
  EXPECT_EQ(RefusalReasonName(RefusalReason::kNoClientCertificate), "no client certificate");
  EXPECT_EQ(RefusalReasonName(RefusalReason::kNoCommonName), "certificate has no common name");
  EXPECT_EQ(RefusalReasonName(RefusalReason::kClosedDuringHandshake),
            "connection closed during handshake");
  EXPECT_EQ((Refusal{RefusalReason::kCertificateRejected, "certificate has expired"}.Label()),
            "certificate has expired");
  EXPECT_EQ((Refusal{RefusalReason::kClientRefusedServer, "tlsv1 alert unknown ca"}.Label()),
            "client refused the server: tlsv1 alert unknown ca");
  EXPECT_EQ((Refusal{RefusalReason::kTlsError, "wrong version number"}.Label()),
            "TLS error: wrong version number");
  EXPECT_EQ((Refusal{RefusalReason::kTlsError, ""}.Label()), "TLS error");
  // A detail on a fixed reason does not change its label.
  EXPECT_EQ((Refusal{RefusalReason::kHandshakeTimeout, "x"}.Label()), "handshake timed out");
}

TEST(RefusalTest, ClassifiesHandshakeErrors) {
  PeerVerifyFailure none;
  EXPECT_EQ(ClassifyHandshakeError(asio::error::eof, none).reason,
            RefusalReason::kClosedDuringHandshake);
  EXPECT_EQ(ClassifyHandshakeError(asio::error::connection_reset, none).reason,
            RefusalReason::kClosedDuringHandshake);
  EXPECT_EQ(ClassifyHandshakeError(asio::ssl::error::stream_truncated, none).reason,
            RefusalReason::kClosedDuringHandshake);
  const Refusal other = ClassifyHandshakeError(asio::error::timed_out, none);
  EXPECT_EQ(other.reason, RefusalReason::kTlsError);
  EXPECT_FALSE(other.detail.empty());

  PeerVerifyFailure expired;
  expired.x509_error = X509_V_ERR_CERT_HAS_EXPIRED;
  expired.depth = 0;
  const Refusal rejected = ClassifyHandshakeError(asio::error::eof, expired);
  EXPECT_EQ(rejected.reason, RefusalReason::kCertificateRejected);
  EXPECT_EQ(rejected.Label(), "certificate has expired");
}

TEST(RefusalTest, CounterSumsPerLabelAndCapsDistinctDetails) {
  RefusalCounter counter;
  EXPECT_TRUE(counter.Snapshot().empty());
  counter.Count({RefusalReason::kConnectionLimit, ""});
  counter.Count({RefusalReason::kConnectionLimit, ""});
  counter.Count({RefusalReason::kCertificateRejected, "certificate has expired"});
  auto counts = counter.Snapshot();
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts["connection limit reached"], 2u);
  EXPECT_EQ(counts["certificate has expired"], 1u);

  // A peer cannot grow the set of labels: beyond the cap, new details count under the bare name.
  for (size_t i = 0; i < RefusalCounter::kMaxLabels + 10; ++i) {
    counter.Count({RefusalReason::kTlsError, "reason " + std::to_string(i)});
  }
  counts = counter.Snapshot();
  // The cap's labels (one of them "certificate has expired"), the limit's and the bare name.
  EXPECT_EQ(counts.size(), RefusalCounter::kMaxLabels + 2);
  // Reasons 0 .. kMaxLabels-2 got a label each; the last 11 did not.
  EXPECT_EQ(counts["TLS error"], 11u);
  EXPECT_EQ(counts["TLS error: reason 0"], 1u);
  const std::string first_over = std::to_string(RefusalCounter::kMaxLabels - 1);
  EXPECT_EQ(counts.count("TLS error: reason " + first_over), 0u);
  // Known labels keep counting past the cap.
  counter.Count({RefusalReason::kCertificateRejected, "certificate has expired"});
  EXPECT_EQ(counter.Snapshot()["certificate has expired"], 2u);
}

TEST(RefusalTest, NewReasonsHaveTheirNames) {
  EXPECT_EQ(RefusalReasonName(RefusalReason::kAddressHandshakeLimit),
            "per-address handshake limit reached");
  EXPECT_EQ(RefusalReasonName(RefusalReason::kIdentityNotAllowed), "identity not allowed");
}

TEST(RefusalTest, LogLimiterLogsABurstThenSummarisesPerInterval) {
  using Clock = RefusalLogLimiter::Clock;
  RefusalLogLimiter limiter(3, 10s);
  const Clock::time_point t0 = Clock::now();
  bool first = false;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.Admit("handshake timed out", t0 + std::chrono::milliseconds(i), &first));
    EXPECT_FALSE(first);
  }
  EXPECT_FALSE(limiter.Admit("handshake timed out", t0 + 1s, &first));
  EXPECT_TRUE(first);  // the caller schedules the summary for interval_end()
  EXPECT_EQ(limiter.interval_end(), t0 + 10s);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(limiter.Admit("per-address handshake limit reached", t0 + 2s, &first));
    EXPECT_FALSE(first);
  }
  EXPECT_EQ(limiter.FlushSummary(t0 + 5s), "");  // not yet over
  EXPECT_EQ(limiter.FlushSummary(t0 + 10s),
            "5 more connection(s) in the last 10000 ms without a line each: handshake timed out "
            "1, per-address handshake limit reached 4");
  // A new interval: lines again.
  EXPECT_TRUE(limiter.Admit("handshake timed out", t0 + 11s, &first));
  EXPECT_EQ(limiter.FlushSummary(t0 + 30s), "");  // nothing was suppressed
}

}  // namespace
}  // namespace fedseg::net
