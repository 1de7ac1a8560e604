// Real mutual TLS on 127.0.0.1 (ephemeral ports, no mocks): TlsServer on an io_context thread,
// TlsClientConnection or a raw TLS client in the test thread, certificates made once per suite by
// scripts/gen-certs.sh.
#include "common/net/tls.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/net/frame.h"
#include "common/net/tls_client.h"
#include "common/net/tls_server.h"
#include "tests/common/net/net_test_util.h"

namespace fedseg::net {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

using test_util::CaptureSink;
using test_util::Contains;
using test_util::TestPki;
using test_util::WaitUntil;

// What the server reported to its owner.
struct Events {
  std::mutex mu;
  std::vector<std::shared_ptr<TlsSession>> sessions;
  std::vector<std::pair<uint64_t, Frame>> frames;
  std::vector<std::pair<uint64_t, Status>> closes;

  size_t session_count() {
    std::lock_guard<std::mutex> lock(mu);
    return sessions.size();
  }
  size_t close_count() {
    std::lock_guard<std::mutex> lock(mu);
    return closes.size();
  }
  size_t frame_count() {
    std::lock_guard<std::mutex> lock(mu);
    return frames.size();
  }
  std::shared_ptr<TlsSession> session(size_t i) {
    std::lock_guard<std::mutex> lock(mu);
    return sessions.at(i);
  }
  // The close status of session `id`, if it closed.
  std::optional<Status> closed(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [sid, status] : closes) {
      if (sid == id) return status;
    }
    return std::nullopt;
  }
};

// A TlsServer on its own io_context thread. By default it echoes every frame back with type + 100.
class TestServer {
 public:
  using FrameHandler = std::function<void(const std::shared_ptr<TlsSession>&, Frame)>;

  TestServer(const TlsConfig& config, TlsServerOptions options,
             std::function<void(std::shared_ptr<TlsSession>)> on_session = nullptr,
             FrameHandler on_frame = nullptr)
      : sink_(std::make_shared<CaptureSink>()),
        logger_(std::make_shared<spdlog::logger>("tls-test", sink_)),
        work_(asio::make_work_guard(io_)) {
    logger_->set_level(spdlog::level::debug);
    options.logger = logger_;
    auto tls = MakeServerTlsContext(config);
    if (!tls.ok()) {
      status_ = tls.status();
      return;
    }
    TlsServerHandlers handlers;
    handlers.on_session = [this, on_session](std::shared_ptr<TlsSession> s) {
      {
        std::lock_guard<std::mutex> lock(events_.mu);
        events_.sessions.push_back(s);
      }
      if (on_session) on_session(s);
    };
    handlers.on_frame = [this, on_frame](const std::shared_ptr<TlsSession>& s, Frame f) {
      {
        std::lock_guard<std::mutex> lock(events_.mu);
        events_.frames.emplace_back(s->id(), f);
      }
      if (on_frame) return on_frame(s, std::move(f));
      s->Send(Frame{static_cast<uint16_t>(f.type + 100), std::move(f.payload)});
    };
    handlers.on_close = [this](const std::shared_ptr<TlsSession>& s, const Status& status) {
      std::lock_guard<std::mutex> lock(events_.mu);
      events_.closes.emplace_back(s->id(), status);
    };
    auto server = TlsServer::Create(io_, std::move(tls).value(), std::move(options), handlers);
    if (!server.ok()) {
      status_ = server.status();
      return;
    }
    server_ = std::move(server).value();
    thread_ = std::thread([this] { io_.run(); });
  }

  ~TestServer() {
    if (server_) server_->Stop();
    work_.reset();
    if (thread_.joinable()) {
      // Stop() lets sessions finish their TLS shutdown; do not wait forever for a broken one.
      auto done = std::async(std::launch::async, [this] { thread_.join(); });
      if (done.wait_for(5s) != std::future_status::ready) {
        ADD_FAILURE() << "server io_context did not finish after Stop()";
        io_.stop();
      }
      done.wait();
    }
    server_.reset();
  }

  const Status& status() const { return status_; }
  TlsServer& server() { return *server_; }
  uint16_t port() const { return server_->port(); }
  Events& events() { return events_; }
  std::string log() { return sink_->Text(); }
  uint64_t refused(const std::string& reason) {
    const auto counts = server_->refused_counts();
    const auto it = counts.find(reason);
    return it == counts.end() ? 0 : it->second;
  }
  std::string refused_summary() {
    std::string s;
    for (const auto& [reason, n] : server_->refused_counts()) {
      s += "'" + reason + "'=" + std::to_string(n) + " ";
    }
    return s;
  }

 private:
  std::shared_ptr<CaptureSink> sink_;
  std::shared_ptr<spdlog::logger> logger_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  Events events_;
  Status status_;
  std::unique_ptr<TlsServer> server_;
  std::thread thread_;
};

// A TLS client that can send arbitrary bytes (partial or malformed frames), with every wait
// bounded so a broken server fails the test instead of hanging it.
class RawTlsClient {
 public:
  explicit RawTlsClient(std::shared_ptr<asio::ssl::context> tls)
      : tls_(std::move(tls)), stream_(io_, *tls_) {}

  bool Connect(uint16_t port) {
    boost::system::error_code ec;
    stream_.lowest_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    if (ec) return false;
    bool done = false;
    stream_.async_handshake(asio::ssl::stream_base::client, [&](boost::system::error_code e) {
      ec = e;
      done = true;
    });
    return Run(done, 5s) && !ec;
  }

  bool Write(const void* data, size_t size) {
    bool done = false;
    boost::system::error_code ec;
    asio::async_write(stream_, asio::buffer(data, size), [&](boost::system::error_code e, size_t) {
      ec = e;
      done = true;
    });
    return Run(done, 5s) && !ec;
  }

  // True once the server has ended the connection (EOF, reset or alert) within `timeout`.
  bool WaitForClose(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    char buf[4096];
    while (Clock::now() < deadline) {
      bool done = false;
      boost::system::error_code ec;
      stream_.async_read_some(asio::buffer(buf), [&](boost::system::error_code e, size_t) {
        ec = e;
        done = true;
      });
      if (!Run(done,
               std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()))) {
        return false;
      }
      if (ec) return true;
    }
    return false;
  }

 private:
  // Runs until `done`; on timeout cancels and drains, returning false.
  bool Run(bool& done, std::chrono::milliseconds timeout) {
    io_.restart();
    const auto deadline = Clock::now() + timeout;
    while (!done && io_.run_one_until(deadline) > 0) {
    }
    if (done) return true;
    boost::system::error_code ignored;
    stream_.lowest_layer().cancel(ignored);
    io_.restart();
    while (!done && io_.run_one() > 0) {
    }
    return false;
  }

  std::shared_ptr<asio::ssl::context> tls_;
  asio::io_context io_;
  asio::ssl::stream<tcp::socket> stream_;
};

class TlsTest : public ::testing::Test {
 protected:
  // pki: the federation. other: an unrelated CA. wronghost: the federation's CA, but a
  // coordinator certificate issued for another host name.
  static void SetUpTestSuite() {
    pki_ = new TestPki({
        "@GEN --out @DIR/pki --expired old-region eu-west us-east",
        "@GEN --out @DIR/other rogue",
        "mkdir -p @DIR/wronghost/ca && cp @DIR/pki/ca.crt @DIR/wronghost/ && "
        "cp @DIR/pki/ca/ca.key @DIR/wronghost/ca/",
        "@GEN --out @DIR/wronghost --coordinator-host coordinator.invalid",
        // noeku: issued by the federation's CA, but without extendedKeyUsage (and the
        // coordinator's with CN=localhost and no subjectAltName), as a careless CA operator might.
        "mkdir -p @DIR/noeku && cd @DIR/noeku && for n in localhost eu-west; do "
        "openssl req -new -newkey EC -pkeyopt ec_paramgen_curve:P-256 -noenc -keyout $n.key "
        "-subj /CN=$n -out $n.csr 2>/dev/null && openssl x509 -req -in $n.csr -CA ../pki/ca.crt "
        "-CAkey ../pki/ca/ca.key -CAcreateserial -days 30 -out $n.crt 2>/dev/null || exit 1; "
        "done && mv localhost.crt coordinator.crt && mv localhost.key coordinator.key",
    });
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override { ASSERT_EQ(pki_->error(), "") << pki_->error(); }

  static std::string Path(const std::string& pki, const std::string& file) {
    return pki_->Path(pki, file);
  }
  static TlsConfig ServerConfig(const std::string& pki = "pki") {
    return {Path("pki", "ca.crt"), Path(pki, "coordinator.crt"), Path(pki, "coordinator.key")};
  }
  static TlsConfig ClientConfig(const std::string& name, const std::string& pki = "pki") {
    return {Path("pki", "ca.crt"), Path(pki, name + ".crt"), Path(pki, name + ".key")};
  }

  // Options that keep the suite fast; individual tests shorten what they exercise.
  static TlsServerOptions FastOptions() {
    TlsServerOptions o;
    o.port = 0;
    o.handshake_timeout = 3s;
    o.idle_timeout = 10s;
    o.frame_read_timeout = 5s;
    o.write_timeout = 5s;
    o.shutdown_timeout = 300ms;
    o.max_frame_bytes = 8u << 20;
    return o;
  }

  static Result<std::unique_ptr<TlsClientConnection>> ConnectAs(
      const std::string& name, uint16_t port, const std::string& pki = "pki",
      const std::string& host = "127.0.0.1") {
    return TlsClientConnection::Connect(host, port, ClientConfig(name, pki), 5s);
  }

  // Asserts that the server refuses `config` and that the client learns it, on Connect or (TLS 1.3
  // verifies client certificates after the client's side of the handshake) on the first Receive.
  static void ExpectClientRefused(TestServer& server, const TlsConfig& config,
                                  const std::string& server_reason,
                                  const std::string& client_alert) {
    auto conn = TlsClientConnection::Connect("127.0.0.1", server.port(), config, 5s);
    Status client_status;
    if (conn.ok()) {
      auto frame = (*conn)->Receive(5s);
      ASSERT_FALSE(frame.ok()) << "the server accepted a client it should refuse";
      client_status = frame.status();
    } else {
      client_status = conn.status();
    }
    EXPECT_TRUE(client_status.IsPermissionDenied()) << client_status.ToString();
    EXPECT_TRUE(Contains(client_status.message(), client_alert)) << client_status.ToString();

    EXPECT_TRUE(WaitUntil([&] { return server.refused(server_reason) == 1; }))
        << "refusals: " << server.refused_summary();
    EXPECT_TRUE(Contains(server.log(), "refused TLS connection from 127.0.0.1:")) << server.log();
    EXPECT_TRUE(Contains(server.log(), server_reason)) << server.log();
    EXPECT_EQ(server.events().session_count(), 0u);
  }

  static TestPki* pki_;
};

TestPki* TlsTest::pki_ = nullptr;

std::string Pattern(size_t size) {
  std::string s(size, '\0');
  uint32_t x = 12345;
  for (auto& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

TEST_F(TlsTest, ExchangesFramesBothWaysIncludingFourMegabytes) {
  TestServer server(ServerConfig(), FastOptions(), [](std::shared_ptr<TlsSession> s) {
    s->Send(Frame{1, "welcome " + s->peer_common_name()});
  });
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();

  auto conn = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  TlsClientConnection& client = **conn;
  EXPECT_EQ(client.peer_common_name(), "coordinator");
  EXPECT_EQ(client.peer_address(), "127.0.0.1:" + std::to_string(server.port()));

  // Server to client, sent from on_session.
  auto welcome = client.Receive(5s);
  ASSERT_TRUE(welcome.ok()) << welcome.status().ToString();
  EXPECT_EQ(welcome->type, 1);
  EXPECT_EQ(welcome->payload, "welcome eu-west");

  // The server knows who and where the client is.
  ASSERT_EQ(server.events().session_count(), 1u);
  auto session = server.events().session(0);
  EXPECT_EQ(session->peer_common_name(), "eu-west");
  EXPECT_EQ(session->remote_endpoint().address().to_string(), "127.0.0.1");
  EXPECT_TRUE(Contains(session->peer_label(), "eu-west@127.0.0.1:"));

  // Client to server and back, small and empty.
  ASSERT_TRUE(client.Send(2, "hello", 5s).ok());
  ASSERT_TRUE(client.Send(4, "", 5s).ok());
  auto echo = client.Receive(5s);
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(echo->type, 102);
  EXPECT_EQ(echo->payload, "hello");
  auto empty = client.Receive(5s);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->type, 104);
  EXPECT_EQ(empty->payload, "");

  // A model-sized payload both ways.
  const std::string big = Pattern(4u << 20);
  ASSERT_TRUE(client.Send(3, big, 10s).ok());
  auto big_echo = client.Receive(10s);
  ASSERT_TRUE(big_echo.ok()) << big_echo.status().ToString();
  EXPECT_EQ(big_echo->type, 103);
  EXPECT_TRUE(big_echo->payload == big) << "4 MB payload differs after the round trip";

  // A clean goodbye reaches on_close as OK.
  client.Close();
  EXPECT_FALSE(client.is_open());
  ASSERT_TRUE(WaitUntil([&] { return server.events().close_count() == 1; }));
  auto closed = server.events().closed(session->id());
  ASSERT_TRUE(closed.has_value());
  EXPECT_TRUE(closed->ok()) << closed->ToString();
  EXPECT_EQ(server.server().connection_count(), 0u);
}

// The coordinator sends the round's global weights to every region as one shared frame: each
// session queues the same payload object, and every peer still receives all of it.
TEST_F(TlsTest, OneSharedFrameReachesEverySession) {
  TestServer server(ServerConfig(), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto a = ConnectAs("eu-west", server.port());
  auto b = ConnectAs("us-east", server.port());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 2; }));

  const std::string weights = Pattern(1u << 20);
  auto frame = std::make_shared<const Frame>(Frame{6, weights});
  const char* const bytes = frame->payload.data();
  server.events().session(0)->Send(frame);
  server.events().session(1)->Send(frame);
  for (TlsClientConnection* client : {a->get(), b->get()}) {
    auto got = client->Receive(10s);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->type, 6);
    EXPECT_TRUE(got->payload == weights) << "broadcast payload differs";
  }
  // Sending neither copied nor changed the frame, and both sessions let go of it once written.
  EXPECT_EQ(frame->payload.data(), bytes);
  EXPECT_TRUE(frame->payload == weights);
  EXPECT_TRUE(WaitUntil([&] { return frame.use_count() == 1; })) << frame.use_count();

  // A null frame is dropped with an error in the log; the session stays usable.
  auto first = server.events().session(0);
  TlsClientConnection* its_client = first->peer_common_name() == "eu-west" ? a->get() : b->get();
  first->Send(std::shared_ptr<const Frame>());
  first->Send(Frame{7, "after"});
  auto after = its_client->Receive(5s);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->payload, "after");
  EXPECT_TRUE(Contains(server.log(), "dropped a null frame")) << server.log();
}

TEST_F(TlsTest, RefusesClientWithoutCertificate) {
  TestServer server(ServerConfig(), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  TlsConfig anonymous{Path("pki", "ca.crt"), "", ""};
  ExpectClientRefused(server, anonymous, "no client certificate", "certificate required");
}

TEST_F(TlsTest, RefusesClientCertificateFromAnotherCa) {
  TestServer server(ServerConfig(), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  ExpectClientRefused(server, ClientConfig("rogue", "other"),
                      "unable to get local issuer certificate", "unknown ca");
  EXPECT_TRUE(Contains(server.log(), "CN=rogue")) << server.log();
}

TEST_F(TlsTest, RefusesExpiredClientCertificate) {
  TestServer server(ServerConfig(), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  ExpectClientRefused(server, ClientConfig("old-region"), "certificate has expired",
                      "certificate expired");
}

TEST_F(TlsTest, ClientRefusesServerCertificateForAnotherHost) {
  // Same CA, but the coordinator's certificate names coordinator.invalid only.
  TestServer server(ServerConfig("wronghost"), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();

  auto by_ip = ConnectAs("eu-west", server.port());
  ASSERT_FALSE(by_ip.ok());
  EXPECT_TRUE(by_ip.status().IsPermissionDenied()) << by_ip.status().ToString();
  EXPECT_EQ(by_ip.status().message(),
            "TLS handshake with coordinator 127.0.0.1:" + std::to_string(server.port()) +
                ": certificate verify failed (IP address mismatch)");

  auto by_name = ConnectAs("eu-west", server.port(), "pki", "localhost");
  ASSERT_FALSE(by_name.ok());
  EXPECT_TRUE(by_name.status().IsPermissionDenied()) << by_name.status().ToString();
  EXPECT_TRUE(Contains(by_name.status().message(), "certificate verify failed (hostname mismatch)"))
      << by_name.status().ToString();

  // The server saw the client's alert, not a session.
  EXPECT_TRUE(WaitUntil([&] {
    uint64_t n = 0;
    for (const auto& [reason, count] : server.server().refused_counts()) {
      if (Contains(reason, "client refused the server")) n += count;
    }
    return n == 2;
  })) << server.refused_summary();
  EXPECT_EQ(server.events().session_count(), 0u);
}

TEST_F(TlsTest, ClientRefusesServerFromAnotherCa) {
  TlsConfig rogue_server{Path("pki", "ca.crt"), Path("other", "coordinator.crt"),
                         Path("other", "coordinator.key")};
  TestServer server(rogue_server, FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto conn = ConnectAs("eu-west", server.port());
  ASSERT_FALSE(conn.ok());
  EXPECT_TRUE(conn.status().IsPermissionDenied()) << conn.status().ToString();
  EXPECT_TRUE(Contains(conn.status().message(),
                       "certificate verify failed (unable to get local issuer certificate)"))
      << conn.status().ToString();
}

TEST_F(TlsTest, MalformedFrameClosesOnlyThatConnection) {
  TestServer server(ServerConfig(), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();

  auto good = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  ASSERT_TRUE((*good)->Send(1, "before", 5s).ok());
  ASSERT_TRUE((*good)->Receive(5s).ok());

  auto tls = MakeClientTlsContext(ClientConfig("us-east"));
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();

  // Bad magic: "GET / HTTP/1.1\r\n".
  {
    RawTlsClient bad(*tls);
    ASSERT_TRUE(bad.Connect(server.port()));
    ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 2; }));
    const std::string http = "GET / HTTP/1.1\r\n";
    ASSERT_TRUE(bad.Write(http.data(), http.size()));
    EXPECT_TRUE(bad.WaitForClose(5s));
    const uint64_t id = server.events().session(1)->id();
    ASSERT_TRUE(WaitUntil([&] { return server.events().closed(id).has_value(); }));
    const Status status = *server.events().closed(id);
    EXPECT_TRUE(status.IsCorruption()) << status.ToString();
    EXPECT_TRUE(Contains(status.message(), "malformed first frame from us-east@127.0.0.1:"))
        << status.ToString();
    EXPECT_TRUE(Contains(server.log(), "bad frame magic")) << server.log();
  }
  // A well-formed header announcing 2^32-1 bytes: refused before any payload is read (as the
  // first frame, against the Hello-sized limit).
  {
    RawTlsClient bad(*tls);
    ASSERT_TRUE(bad.Connect(server.port()));
    ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 3; }));
    const auto header = EncodeFrameHeader(1, 0xFFFFFFFFu);
    ASSERT_TRUE(bad.Write(header.data(), header.size()));
    EXPECT_TRUE(bad.WaitForClose(5s));
    const uint64_t id = server.events().session(2)->id();
    ASSERT_TRUE(WaitUntil([&] { return server.events().closed(id).has_value(); }));
    const Status status = *server.events().closed(id);
    EXPECT_TRUE(status.IsResourceExhausted()) << status.ToString();
    EXPECT_TRUE(Contains(status.message(),
                         "frame payload of 4294967295 bytes exceeds the 65536-byte limit"))
        << status.ToString();
  }

  // The well-behaved client never noticed.
  ASSERT_TRUE((*good)->Send(2, "after", 5s).ok());
  auto echo = (*good)->Receive(5s);
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(echo->payload, "after");
  EXPECT_FALSE(server.events().closed(server.events().session(0)->id()).has_value());
}

TEST_F(TlsTest, StalledPartialFrameIsCutOffByTheReadDeadline) {
  TlsServerOptions options = FastOptions();
  options.frame_read_timeout = 300ms;
  TestServer server(ServerConfig(), options);
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto tls = MakeClientTlsContext(ClientConfig("eu-west"));
  ASSERT_TRUE(tls.ok()) << tls.status().ToString();

  // 10 of the 16 header bytes, then silence.
  {
    RawTlsClient staller(*tls);
    ASSERT_TRUE(staller.Connect(server.port()));
    ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 1; }));
    const auto header = EncodeFrameHeader(1, 100);
    const auto start = Clock::now();
    ASSERT_TRUE(staller.Write(header.data(), 10));
    EXPECT_TRUE(staller.WaitForClose(5s));
    EXPECT_LT(Clock::now() - start, 3s);
    const uint64_t id = server.events().session(0)->id();
    ASSERT_TRUE(WaitUntil([&] { return server.events().closed(id).has_value(); }));
    const Status status = *server.events().closed(id);
    EXPECT_TRUE(status.IsDeadlineExceeded()) << status.ToString();
    EXPECT_TRUE(
        Contains(status.message(), "not completed within 300 ms (got 10 of 16 header bytes)"))
        << status.ToString();
  }
  // A whole header and 5 of the 100 payload bytes, then silence.
  {
    RawTlsClient staller(*tls);
    ASSERT_TRUE(staller.Connect(server.port()));
    ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 2; }));
    std::string partial = EncodeFrame(1, std::string(100, 'x')).substr(0, kFrameHeaderSize + 5);
    ASSERT_TRUE(staller.Write(partial.data(), partial.size()));
    EXPECT_TRUE(staller.WaitForClose(5s));
    const uint64_t id = server.events().session(1)->id();
    ASSERT_TRUE(WaitUntil([&] { return server.events().closed(id).has_value(); }));
    const Status status = *server.events().closed(id);
    EXPECT_TRUE(status.IsDeadlineExceeded()) << status.ToString();
    EXPECT_TRUE(Contains(status.message(), "(got 5 of 100 payload bytes)")) << status.ToString();
  }
}

TEST_F(TlsTest, IdleSessionIsClosedAfterTheIdleTimeout) {
  TlsServerOptions options = FastOptions();
  options.idle_timeout = 300ms;
  TestServer server(ServerConfig(), options);
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto conn = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();

  // The server closes politely (close_notify), which the client reads as a closed connection.
  auto frame = (*conn)->Receive(5s);
  ASSERT_FALSE(frame.ok());
  EXPECT_TRUE(frame.status().IsUnavailable()) << frame.status().ToString();
  EXPECT_TRUE(Contains(frame.status().message(), "connection closed by the server"))
      << frame.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.events().close_count() == 1; }));
  const Status status = *server.events().closed(server.events().session(0)->id());
  EXPECT_TRUE(status.IsDeadlineExceeded()) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "for 300 ms (idle timeout)")) << status.ToString();
}

TEST_F(TlsTest, ReceiveTimeoutReturnsDeadlineExceededAndKeepsTheConnection) {
  TestServer server(ServerConfig(), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto conn = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();

  const auto start = Clock::now();
  auto frame = (*conn)->Receive(200ms);
  const auto elapsed = Clock::now() - start;
  ASSERT_FALSE(frame.ok());
  EXPECT_TRUE(frame.status().IsDeadlineExceeded()) << frame.status().ToString();
  EXPECT_EQ(frame.status().message(),
            "receive from coordinator 127.0.0.1:" + std::to_string(server.port()) +
                ": timed out after 200 ms");
  EXPECT_GE(elapsed, 190ms);
  EXPECT_LT(elapsed, 2s);

  // Still usable.
  EXPECT_TRUE((*conn)->is_open());
  ASSERT_TRUE((*conn)->Send(5, "still here", 5s).ok());
  auto echo = (*conn)->Receive(5s);
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(echo->payload, "still here");
}

TEST_F(TlsTest, ReceiveResumesAFrameInterruptedByItsDeadline) {
  // 32 MB: far more than loopback socket buffers hold, so even a slow (sanitized) client that
  // connects late finds the frame still arriving and some 1 ms receive ends mid-frame.
  const std::string big = Pattern(32u << 20);
  TlsServerOptions options = FastOptions();
  options.write_timeout = 60s;
  options.max_frame_bytes = 64u << 20;
  TestServer server(ServerConfig(), options, [&big](std::shared_ptr<TlsSession> s) {
    s->Send(Frame{9, big});
  });
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto conn = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();

  // 1 ms per call: the frame arrives over many calls, most of which end mid-frame.
  int timeouts = 0;
  Result<Frame> frame = Status::Internal("not received");
  const auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    frame = (*conn)->Receive(1ms);
    if (frame.ok()) break;
    ASSERT_TRUE(frame.status().IsDeadlineExceeded()) << frame.status().ToString();
    ++timeouts;
  }
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_GT(timeouts, 0);
  EXPECT_EQ(frame->type, 9);
  EXPECT_TRUE(frame->payload == big) << "payload corrupted across interrupted receives";
}

TEST_F(TlsTest, ClientRefusesFrameAboveItsLimit) {
  TestServer server(ServerConfig(), FastOptions(), [](std::shared_ptr<TlsSession> s) {
    s->Send(Frame{1, std::string(4096, 'x')});
  });
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto conn = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto frame = (*conn)->Receive(5s, 1024);
  ASSERT_FALSE(frame.ok());
  EXPECT_TRUE(frame.status().IsResourceExhausted()) << frame.status().ToString();
  EXPECT_TRUE(
      Contains(frame.status().message(), "frame payload of 4096 bytes exceeds the 1024-byte"))
      << frame.status().ToString();
  EXPECT_FALSE((*conn)->is_open());
  EXPECT_EQ((*conn)->Send(1, "x", 1s).code(), StatusCode::kFailedPrecondition);
}

TEST_F(TlsTest, FullSendQueueClosesTheSession) {
  TlsServerOptions options = FastOptions();
  options.max_queued_frames = 4;
  // Ten frames at once to a client that is not reading: the queue overflows at the fifth.
  TestServer server(ServerConfig(), options, [](std::shared_ptr<TlsSession> s) {
    for (int i = 0; i < 10; ++i) s->Send(Frame{1, std::string(1000, 'x')});
  });
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto conn = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.events().close_count() == 1; }));
  const Status status = *server.events().closed(server.events().session(0)->id());
  EXPECT_TRUE(status.IsResourceExhausted()) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "peer is not reading")) << status.ToString();
  EXPECT_TRUE(Contains(server.log(), "send queue full (4 frames")) << server.log();
}

TEST_F(TlsTest, ConnectionCapClosesExtraConnections) {
  TlsServerOptions options = FastOptions();
  options.max_connections = 1;
  TestServer server(ServerConfig(), options);
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto first = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 1; }));

  auto second = ConnectAs("us-east", server.port());
  EXPECT_FALSE(second.ok());
  EXPECT_TRUE(WaitUntil([&] { return server.refused("connection limit reached") == 1; }))
      << server.refused_summary();
  EXPECT_TRUE(Contains(server.log(), "connection limit (1) reached")) << server.log();

  ASSERT_TRUE((*first)->Send(1, "unaffected", 5s).ok());
  EXPECT_TRUE((*first)->Receive(5s).ok());
}

TEST_F(TlsTest, HandshakeDeadlineRefusesSilentConnections) {
  TlsServerOptions options = FastOptions();
  options.handshake_timeout = 300ms;
  TestServer server(ServerConfig(), options);
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  asio::io_context io;
  tcp::socket silent(io);
  boost::system::error_code ec;
  silent.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port()), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_TRUE(WaitUntil([&] { return server.refused("handshake timed out") == 1; }, 3s))
      << server.refused_summary();
  // The refused connection gives its place back; wait for that rather than assume it happened
  // before the refusal was counted.
  EXPECT_TRUE(WaitUntil([&] { return server.server().connection_count() == 0; }, 3s))
      << server.server().connection_count() << " connection(s) still held";
}

TEST_F(TlsTest, CloseAndStopEndSessions) {
  TestServer server(ServerConfig(), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto a = ConnectAs("eu-west", server.port());
  auto b = ConnectAs("us-east", server.port());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 2; }));

  // Close one session: queued frames still go out first, then the connection ends.
  auto session_a = server.events().session(0);
  session_a->Send(Frame{7, "last words"});
  session_a->Close("round finished");
  TlsClientConnection& client_a = session_a->peer_common_name() == "eu-west" ? **a : **b;
  auto last = client_a.Receive(5s);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->payload, "last words");
  auto after = client_a.Receive(5s);
  EXPECT_TRUE(after.status().IsUnavailable()) << after.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.events().closed(session_a->id()).has_value(); }));
  const Status closed_a = *server.events().closed(session_a->id());
  EXPECT_EQ(closed_a.code(), StatusCode::kAborted) << closed_a.ToString();
  EXPECT_EQ(closed_a.message(), "round finished");

  // Stop: the other session closes and no new connection is accepted.
  server.server().Stop();
  ASSERT_TRUE(WaitUntil([&] { return server.events().close_count() == 2; }));
  const Status closed_b = *server.events().closed(server.events().session(1)->id());
  EXPECT_EQ(closed_b.message(), "server stopping");
  auto late = ConnectAs("eu-west", server.port());
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().message(),
            "connect to 127.0.0.1:" + std::to_string(server.port()) + ": Connection refused");
}

TEST_F(TlsTest, TlsContextErrorsNameTheFile) {
  TlsConfig missing = ServerConfig();
  missing.ca_file = pki_->dir() + "/nope/ca.crt";
  auto a = MakeServerTlsContext(missing);
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(a.status().IsNotFound()) << a.status().ToString();
  EXPECT_TRUE(Contains(a.status().message(), missing.ca_file)) << a.status().ToString();

  const std::string garbage = pki_->dir() + "/garbage.pem";
  std::FILE* f = std::fopen(garbage.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("not a certificate\n", f);
  std::fclose(f);
  TlsConfig bad_cert = ServerConfig();
  bad_cert.cert_file = garbage;
  auto b = MakeServerTlsContext(bad_cert);
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(Contains(b.status().message(), "load certificate file '" + garbage + "': "))
      << b.status().ToString();

  TlsConfig mismatched = ClientConfig("eu-west");
  mismatched.key_file = Path("pki", "us-east.key");
  auto c = MakeClientTlsContext(mismatched);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(c.status().message(), "us-east.key")) << c.status().ToString();
  EXPECT_TRUE(Contains(c.status().message(), "mismatch")) << c.status().ToString();
}

TEST_F(TlsTest, ConnectRefusedNamesTheAddress) {
  // A port that was just free: bind an ephemeral one and release it.
  asio::io_context io;
  tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t port = probe.local_endpoint().port();
  probe.close();
  auto conn = ConnectAs("eu-west", port);
  ASSERT_FALSE(conn.ok());
  EXPECT_TRUE(conn.status().IsUnavailable()) << conn.status().ToString();
  EXPECT_EQ(conn.status().message(),
            "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

// The kernel's timer of every loopback TCP connection to or from `port`, from /proc/net/tcp: 2 is
// the keepalive timer, 0 none (1 retransmission, 3 TIME_WAIT, 4 zero-window probe). Keyed by
// "server" (local port == port) and "client" (remote port == port).
std::map<std::string, int> TcpTimers(uint16_t port) {
  std::map<std::string, int> out;
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string sl, local, remote, state, queues, timer;
    fields >> sl >> local >> remote >> state >> queues >> timer;
    if (state != "01") continue;  // ESTABLISHED only
    const auto port_of = [](const std::string& addr) {
      return static_cast<uint16_t>(std::stoul(addr.substr(addr.find(':') + 1), nullptr, 16));
    };
    const int tr = std::stoi(timer.substr(0, timer.find(':')), nullptr, 16);
    if (port_of(local) == port) out["server"] = tr;
    if (port_of(remote) == port) out["client"] = tr;
  }
  return out;
}

// Both ends arm TCP keepalive (with TCP_USER_TIMEOUT), so a peer behind a cut link is dropped
// within the dead-peer timeout instead of after the idle or receive timeout; the netns test
// (scripts/netns_federation.sh) cuts a real link. Regression: neither end had it, and a region
// behind a cut link kept being selected (every round ran to its deadline) for 10+ minutes.
TEST_F(TlsTest, BothEndsArmKeepaliveOnEstablishedConnections) {
  {
    TestServer server(ServerConfig(), FastOptions());
    ASSERT_TRUE(server.status().ok()) << server.status().ToString();
    auto conn = ConnectAs("eu-west", server.port());
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    const std::map<std::string, int> armed = {{"client", 2}, {"server", 2}};
    EXPECT_TRUE(WaitUntil([&] { return TcpTimers(server.port()) == armed; }))
        << "timers: client " << TcpTimers(server.port())["client"] << ", server "
        << TcpTimers(server.port())["server"];
  }
  {
    TlsServerOptions options = FastOptions();
    options.keepalive.dead_after = 0s;
    TestServer server(ServerConfig(), options);
    ASSERT_TRUE(server.status().ok()) << server.status().ToString();
    auto conn = TlsClientConnection::Connect("127.0.0.1", server.port(), ClientConfig("eu-west"),
                                             5s, TcpKeepalive{0s});
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 1; }));
    const std::map<std::string, int> off = {{"client", 0}, {"server", 0}};
    EXPECT_TRUE(WaitUntil([&] { return TcpTimers(server.port()) == off; }));
  }
}

TEST_F(TlsTest, BadKeepaliveSettingsAreRefused) {
  TlsServerOptions options = FastOptions();
  options.keepalive.dead_after = 1s;
  TestServer server(ServerConfig(), options);
  EXPECT_TRUE(server.status().IsInvalidArgument()) << server.status().ToString();
  auto conn = TlsClientConnection::Connect("127.0.0.1", 1, ClientConfig("eu-west"), 5s,
                                           TcpKeepalive{1s});
  ASSERT_FALSE(conn.ok());
  EXPECT_TRUE(conn.status().IsInvalidArgument()) << conn.status().ToString();
}

// --- Identity: the extended key usage on both sides, no CN fallback ------------------------------

TEST_F(TlsTest, ServerRefusesClientCertificateWithoutClientAuthEku) {
  TestServer server(ServerConfig(), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  ExpectClientRefused(server, ClientConfig("eu-west", "noeku"),
                      "certificate lacks the clientAuth extended key usage", "");
}

TEST_F(TlsTest, ClientRefusesServerWithoutServerAuthEkuAndNeverMatchesTheCn) {
  // A CA-issued certificate with CN=localhost, no subjectAltName and no extendedKeyUsage.
  TestServer server(ServerConfig("noeku"), FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto by_name = ConnectAs("eu-west", server.port(), "pki", "localhost");
  ASSERT_FALSE(by_name.ok()) << "a certificate without serverAuth passed for the coordinator";
  EXPECT_TRUE(by_name.status().IsPermissionDenied()) << by_name.status().ToString();
  EXPECT_TRUE(Contains(by_name.status().message(), "certificate verify failed (hostname mismatch)"))
      << by_name.status().ToString();
  EXPECT_EQ(server.events().session_count(), 0u);
}

TEST_F(TlsTest, ClientRefusesServerCertificateWithoutServerAuthEku) {
  // The host name is the right one (a region's own certificate, CN eu-west, used as a server):
  // only the missing serverAuth usage is left to refuse it.
  TlsConfig config{Path("pki", "ca.crt"), Path("pki", "eu-west.crt"), Path("pki", "eu-west.key")};
  TestServer server(config, FastOptions());
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  auto conn = ConnectAs("us-east", server.port(), "pki", "localhost");
  ASSERT_FALSE(conn.ok());
  EXPECT_TRUE(Contains(conn.status().message(), "certificate verify failed")) << conn.status().ToString();
  EXPECT_EQ(server.events().session_count(), 0u);
}

// --- Admission under a flood -------------------------------------------------------------------

// A TCP connection from `source` that never sends a byte.
std::unique_ptr<tcp::socket> SilentFrom(asio::io_context& io, const std::string& source,
                                        uint16_t port) {
  auto s = std::make_unique<tcp::socket>(io);
  boost::system::error_code ec;
  s->open(tcp::v4(), ec);
  if (!ec) s->bind(tcp::endpoint(asio::ip::make_address(source), 0), ec);
  if (!ec) s->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return ec ? nullptr : std::move(s);
}

TEST_F(TlsTest, PerAddressHandshakeCapKeepsOtherAddressesIn) {
  TlsServerOptions options = FastOptions();
  options.max_handshakes_per_address = 3;
  options.handshake_timeout = 20s;  // the silent ones stay for the whole test
  TestServer server(ServerConfig(), options);
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> silent;
  for (int i = 0; i < 8; ++i) {
    silent.push_back(SilentFrom(io, "127.0.0.2", server.port()));
    ASSERT_NE(silent.back(), nullptr);
  }
  ASSERT_TRUE(WaitUntil(
      [&] { return server.refused("per-address handshake limit reached") == 5; }, 5s))
      << server.refused_summary();
  EXPECT_EQ(server.server().handshake_count(), 3u);
  EXPECT_TRUE(Contains(server.log(), "127.0.0.2:")) << server.log();
  EXPECT_TRUE(Contains(server.log(), "(3 handshakes from that address in progress)"))
      << server.log();

  // 127.0.0.1 is another address: its region gets in at once.
  auto conn = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 1; }));
  EXPECT_EQ(server.refused("per-address handshake limit reached"), 5u);
  // A verified connection no longer counts against its address.
  EXPECT_EQ(server.server().handshake_count(), 3u);
}

TEST_F(TlsTest, SilentFloodIsRefusedOnTimeAndLoggedWithCounts) {
  TlsServerOptions options = FastOptions();
  options.handshake_timeout = 300ms;
  TestServer server(ServerConfig(), options);
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> silent;
  for (int i = 0; i < 40; ++i) {
    silent.push_back(SilentFrom(io, "127.0.0.2", server.port()));
    ASSERT_NE(silent.back(), nullptr);
  }
  ASSERT_TRUE(WaitUntil([&] { return server.refused("handshake timed out") == 40; }, 10s))
      << server.refused_summary();
  ASSERT_TRUE(WaitUntil([&] { return server.server().connection_count() == 0; }, 5s));
  EXPECT_EQ(server.server().handshake_count(), 0u);
  // Ten lines in full, the other 30 in one summary line (written at the latest when the server
  // stops).
  server.server().Stop();
  ASSERT_TRUE(WaitUntil([&] { return Contains(server.log(), "more connection(s)"); }, 5s))
      << server.log();
  size_t lines = 0;
  for (size_t at = server.log().find("refused TLS connection from"); at != std::string::npos;
       at = server.log().find("refused TLS connection from", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 10u) << server.log();
  EXPECT_TRUE(Contains(server.log(), "TLS server refused 30 more connection(s) in the last"))
      << server.log();
  EXPECT_TRUE(Contains(server.log(), "without a line each: handshake timed out 30")) << server.log();
}

TEST_F(TlsTest, FirstFrameIsCappedToHelloSize) {
  TlsServerOptions options = FastOptions();
  options.max_first_frame_bytes = 1024;
  TestServer server(ServerConfig(), options);
  ASSERT_TRUE(server.status().ok()) << server.status().ToString();

  // A Hello-sized first frame, then a large one: both delivered.
  auto ok = ConnectAs("eu-west", server.port());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  ASSERT_TRUE((*ok)->Send(1, std::string(1000, 'h'), 5s).ok());
  ASSERT_TRUE((*ok)->Send(2, std::string(100'000, 'u'), 5s).ok());
  ASSERT_TRUE(WaitUntil([&] { return server.events().frame_count() == 2; }))
      << server.log();

  // A large first frame: the session is closed before anything is allocated for it.
  auto big = ConnectAs("us-east", server.port());
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  ASSERT_TRUE(WaitUntil([&] { return server.events().session_count() == 2; }));
  const uint64_t id = server.events().session(1)->id();
  (void)(*big)->Send(1, std::string(2000, 'x'), 5s);
  ASSERT_TRUE(WaitUntil([&] { return server.events().closed(id).has_value(); })) << server.log();
  const Status closed = *server.events().closed(id);
  EXPECT_TRUE(closed.IsResourceExhausted()) << closed.ToString();
  EXPECT_TRUE(Contains(closed.message(), "malformed first frame")) << closed.ToString();
  EXPECT_TRUE(Contains(closed.message(), "exceeds the 1024-byte limit")) << closed.ToString();
  EXPECT_EQ(server.events().frame_count(), 2u);
}

}  // namespace
}  // namespace fedseg::net
