// Integration tests of the coordinator's live status endpoint: the real fedseg-coordinator (and
// real regions) as processes, queried over HTTPS by a real client, curl, with certificates from
// scripts/gen-certs.sh. Checks the /status document and the /metrics exposition against what the
// run is doing, mutual TLS, refusals, limits, and that the endpoint is off by default.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "federation_fixture.h"

namespace fedseg {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::ReadAll;
using testing::WaitFor;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// A strict reader of the Prometheus text format 0.0.4: every line is a HELP, a TYPE or a sample;
// every sample belongs to a family with HELP and TYPE declared before it; names, labels (escaped
// values) and values follow the grammar. Samples are keyed by "name{labels}" as written.
struct Exposition {
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::vector<std::string> errors;

  double Get(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? NAN : it->second;
  }
  bool Has(const std::string& series) const { return samples.count(series) > 0; }
};

bool ParseSampleValue(const std::string& text, double* out) {
  if (text == "NaN") return *out = NAN, true;
  if (text == "+Inf") return *out = INFINITY, true;
  if (text == "-Inf") return *out = -INFINITY, true;
  if (text.empty()) return false;
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(*out);
}

Exposition ParseExposition(const std::string& text) {
  static const std::regex kHelp(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$)");
  static const std::regex kType(
      R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex kSample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")"
      R"((?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (\S+)$)");
  Exposition e;
  std::set<std::string> helped;
  if (text.empty() || text.back() != '\n') e.errors.push_back("does not end with a line feed");
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    const std::string where = "line " + std::to_string(n) + " '" + line + "'";
    if (std::regex_match(line, m, kHelp)) {
      helped.insert(m[1]);
    } else if (std::regex_match(line, m, kType)) {
      if (e.types.count(m[1])) e.errors.push_back(where + ": second TYPE");
      e.types[m[1]] = m[2];
    } else if (std::regex_match(line, m, kSample)) {
      std::string family = m[1];
      auto type = e.types.find(family);
      if (type == e.types.end()) {
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
          const std::string s = suffix;
          if (family.size() > s.size() && family.ends_with(s)) {
            auto t = e.types.find(family.substr(0, family.size() - s.size()));
            if (t != e.types.end() && (t->second == "histogram" || t->second == "summary")) {
              type = t;
              family = t->first;
            }
          }
        }
      }
      if (type == e.types.end()) e.errors.push_back(where + ": no TYPE before the sample");
      if (!helped.count(family)) e.errors.push_back(where + ": no HELP before the sample");
      double v = 0;
      if (!ParseSampleValue(m[3], &v)) e.errors.push_back(where + ": value is not a number");
      const std::string series = std::string(m[1]) + std::string(m[2]);
      if (e.samples.count(series)) e.errors.push_back(where + ": duplicate series");
      e.samples[series] = v;
    } else {
      e.errors.push_back(where + ": not a HELP, TYPE or sample line");
    }
  }
  return e;
}

// ---------------------------------------------------------------------------------------------

using Reply = testing::HttpsReply;

class StatusTest : public testing::FederationFixture {
 protected:
  static void SetUpTestSuite() {
    SetUpSuite({"fedseg-status-", {{"pki", "r1 r2 r3 prometheus --expired old"}}, {"curl"}});
  }

  void SetUp() override {
    FederationFixture::SetUp();
    do {
      status_port_ = testing::FreePort();
    } while (status_port_ == port_);
  }

  // The status tests' coordinator: three regions, a quorum of three, unscaled timeouts.
  std::string WriteCoordinatorConfig(const nlohmann::json& status, int rounds = 3,
                                     int local_epochs = 1, bool dp = false) {
    testing::CoordinatorOptions o;
    o.rounds = rounds;
    o.local_epochs = local_epochs;
    o.join_timeout_s = 300;
    o.scale_timeouts = false;
    o.dp = dp;
    o.status = status;
    return FederationFixture::WriteCoordinatorConfig(o);
  }

  std::unique_ptr<Process> StartRegion(int i, double epsilon_budget) {
    testing::RegionOptions o;
    o.epsilon_budget = epsilon_budget;
    o.save_model = false;
    o.scale_timeouts = false;
    return FederationFixture::StartRegion(i, o);
  }

  // One HTTPS request to the status endpoint (FederationFixture::Curl), by default as the
  // monitoring identity.
  Reply Curl(const std::string& path, const std::string& cert = "prometheus",
             const std::string& args = "", const std::string& scheme = "https") {
    return FederationFixture::Curl(status_port_, path, cert, args, scheme);
  }

  nlohmann::json StatusJson() {
    Reply r = Curl("/status");
    if (r.http != 200) return nullptr;
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  // Raw HTTP/1.1 bytes over TLS 1.3 with openssl s_client (client certificate "prometheus");
  // returns everything the server sent until it closed the connection (-quiet ignores our end of
  // input).
  std::string Raw(const std::string& request) {
    static int n = 0;
    const std::string base = run_ + "/raw" + std::to_string(++n);
    std::ofstream(base + ".in", std::ios::binary) << request;
    const std::string pki = Pki();
    testing::Run(std::string("timeout 10 openssl s_client -quiet -tls1_3 ") +
                 "-connect 127.0.0.1:" + std::to_string(status_port_) + " -CAfile " + pki +
                 "/ca.crt -cert " + pki + "/prometheus.crt -key " + pki + "/prometheus.key < " +
                 base + ".in > " + base + ".out 2>/dev/null");
    return ReadAll(base + ".out");
  }

  Exposition Metrics() {
    Reply r = Curl("/metrics");
    if (r.http != 200) {
      Exposition e;
      e.errors.push_back("GET /metrics: curl " + std::to_string(r.curl_rc) + ", HTTP " +
                         std::to_string(r.http) + ": " + r.error);
      return e;
    }
    return ParseExposition(r.body);
  }

  uint16_t status_port_ = 0;
};

std::string Join(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

TEST(PrometheusParserTest, AcceptsTheFormatAndRejectsViolations) {
  const Exposition good = ParseExposition(
      "# HELP a_total A counter.\n# TYPE a_total counter\na_total{x=\"q\\\"\\\\\\n\"} 3\n"
      "# HELP h A histogram.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.5\nh_count 1\n");
  EXPECT_TRUE(good.errors.empty()) << Join(good.errors);
  EXPECT_EQ(good.Get("h_sum"), 0.5);
  for (const char* bad : {"a 1\n",                                        // no TYPE/HELP
                          "# HELP a x\n# TYPE a gauge\na one\n",          // not a number
                          "# HELP a x\n# TYPE a gauge\na{l=\"\"\"} 1\n",  // bad escaping
                          "# HELP a x\n# TYPE a gauge\na 1"}) {           // no final line feed
    EXPECT_FALSE(ParseExposition(bad).errors.empty()) << bad;
  }
}

TEST_F(StatusTest, OffByDefaultAndTheFlagEnablesIt) {
  // A status section without "enabled": nothing listens on its port.
  auto coord = StartCoordinator(WriteCoordinatorConfig({{"port", status_port_}}));
  ASSERT_TRUE(WaitFor([&] { return LogHas("coordinator listening"); }, 30s)) << CoordinatorLog();
  Reply r = Curl("/status");
  EXPECT_EQ(r.curl_rc, 7) << "expected 'connection refused', got: " << r.error;  // couldn't connect
  EXPECT_EQ(r.http, 0);
  EXPECT_FALSE(LogHas("status server")) << CoordinatorLog();
  coord->Kill(SIGTERM);
  EXPECT_EQ(coord->Wait(20s).value_or(-1), 0) << CoordinatorLog();

  // --status-port turns it on (--fresh: the stopped run above left its report in the directory;
  // its log moves aside with it).
  coord = StartCoordinator(WriteCoordinatorConfig(nullptr),
                           {"--fresh", "--status-port", std::to_string(status_port_)});
  ASSERT_TRUE(WaitFor([&] { return LogHas("status server listening"); }, 30s)) << CoordinatorLog();
  r = Curl("/status");
  EXPECT_EQ(r.http, 200) << r.error;
  coord->Kill(SIGTERM);
  EXPECT_EQ(coord->Wait(20s).value_or(-1), 0) << CoordinatorLog();
}

TEST_F(StatusTest, ReportsARunAsItProgresses) {
  const auto t0 = std::chrono::steady_clock::now();
  auto coord = StartCoordinator(WriteCoordinatorConfig(
      {{"enabled", true}, {"port", status_port_}}, /*rounds=*/5, /*local_epochs=*/40, /*dp=*/true));
  ASSERT_TRUE(WaitFor([&] { return LogHas("status server listening"); }, 30s)) << CoordinatorLog();

  // Before any region: joining, round 1, nobody connected.
  nlohmann::json st = StatusJson();
  ASSERT_TRUE(st.is_object()) << CoordinatorLog();
  EXPECT_EQ(st["phase"], "joining");
  EXPECT_EQ(st["round"], 1);
  EXPECT_EQ(st["rounds_total"], 5);
  EXPECT_EQ(st["completed_rounds"], 0);
  EXPECT_EQ(st["connected_regions"], nlohmann::json::array());
  EXPECT_TRUE(st["last_metrics"].is_null());
  EXPECT_TRUE(st["run_id"].get<std::string>().starts_with("run-"));
  EXPECT_EQ(st["regions"].size(), 3u);
  Exposition m = Metrics();
  ASSERT_TRUE(m.errors.empty()) << Join(m.errors);
  EXPECT_EQ(m.types["fedseg_rounds_completed_total"], "counter");
  EXPECT_EQ(m.types["fedseg_round_duration_seconds"], "histogram");
  EXPECT_EQ(m.types["fedseg_bytes_received_total"], "counter");
  EXPECT_EQ(m.types["fedseg_refused_connections_total"], "counter");
  EXPECT_EQ(m.types["fedseg_region_epsilon"], "gauge");
  EXPECT_EQ(m.Get("fedseg_rounds_completed_total"), 0);
  EXPECT_EQ(m.Get("fedseg_connected_regions"), 0);
  EXPECT_EQ(m.Get("fedseg_phase{phase=\"joining\"}"), 1);
  EXPECT_EQ(m.Get("fedseg_phase{phase=\"round\"}"), 0);
  EXPECT_EQ(m.Get("fedseg_region_connected{region=\"r2\"}"), 0);

  // Read-only, two paths: 404, 405 with Allow, HEAD with the headers of GET and no body.
  Reply r = Curl("/nope");
  EXPECT_EQ(r.http, 404);
  r = Curl("/status", "prometheus", "-X POST");
  EXPECT_EQ(r.http, 405);
  EXPECT_NE(r.headers.find("Allow: GET, HEAD"), std::string::npos) << r.headers;
  r = Curl("/metrics", "prometheus", "-X DELETE");
  EXPECT_EQ(r.http, 405);
  r = Curl("/metrics?x=1", "prometheus", "-I");
  EXPECT_EQ(r.http, 200) << r.error;
  EXPECT_NE(r.headers.find("text/plain; version=0.0.4"), std::string::npos) << r.headers;
  EXPECT_NE(r.headers.find("Content-Length: "), std::string::npos) << r.headers;
  r = Curl("/status", "prometheus", "-I");
  EXPECT_NE(r.headers.find("application/json"), std::string::npos) << r.headers;

  // Pipelined on one kept-alive connection: HEAD answers with GET's headers and no body (the next
  // response follows at once), then a 404 that closes.
  std::string raw =
      Raw("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\nConnection: "
          "close\r\n\r\n");
  const std::regex head_then_404(
      "HTTP/1\\.1 200 OK\r\n(?:[^\r\n]+\r\n)*\r\nHTTP/1\\.1 404 Not Found\r\n(.|\n|\r)*");
  EXPECT_TRUE(std::regex_match(raw, head_then_404)) << raw;
  EXPECT_EQ(raw.find("# HELP"), std::string::npos) << raw;
  // Requests carry no body; headers are capped at 8 KiB.
  raw = Raw("GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(raw.rfind("HTTP/1.1 413 ", 0), 0u) << raw;
  raw = Raw("GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 431 ", 0), 0u) << raw;

  // Mutual TLS: no client certificate, or plain HTTP, gets no answer; both are counted.
  r = Curl("/status", "");
  EXPECT_NE(r.curl_rc, 0);
  EXPECT_EQ(r.http, 0) << r.body;
  r = Curl("/status", "prometheus", "", "http");
  EXPECT_NE(r.curl_rc, 0);
  EXPECT_EQ(r.http, 0) << r.body;
  m = Metrics();
  ASSERT_TRUE(m.errors.empty()) << Join(m.errors);
  EXPECT_EQ(m.Get("fedseg_refused_connections_total{listener=\"status\",reason=\"no client "
                  "certificate\"}"),
            1)
      << CoordinatorLog();
  EXPECT_TRUE(LogHas("status server: refused 127.0.0.1:")) << CoordinatorLog();

  // Two of three regions: still joining (quorum 3), and they show as connected.
  std::vector<std::unique_ptr<Process>> regions;
  regions.push_back(StartRegion(1, 2.0));
  regions.push_back(StartRegion(2, 2.0));
  ASSERT_TRUE(WaitFor(
      [&] {
        st = StatusJson();
        return st.is_object() && st["connected_regions"].size() == 2;
      },
      30s))
      << CoordinatorLog();
  EXPECT_EQ(st["connected_regions"], nlohmann::json({"r1", "r2"}));
  EXPECT_EQ(st["phase"], "joining");
  EXPECT_EQ(st["regions"]["r1"]["connected"], true);
  EXPECT_EQ(st["regions"]["r3"]["connected"], false);

  // The third region starts the run. Watch it until the coordinator exits.
  regions.push_back(StartRegion(3, 2.0));
  std::vector<double> completed;
  nlohmann::json in_round;  // a /status taken during a training round
  Exposition last;          // the last /metrics taken
  std::vector<std::string> format_errors;
  while (coord->running() && std::chrono::steady_clock::now() - t0 < 240s) {
    Exposition e = Metrics();
    if (e.errors.empty()) {
      completed.push_back(e.Get("fedseg_rounds_completed_total"));
      last = std::move(e);
    } else if (coord->running() && e.errors.front().rfind("GET /metrics", 0) != 0) {
      format_errors.insert(format_errors.end(), e.errors.begin(), e.errors.end());
    }
    if (in_round.is_null()) {
      nlohmann::json s = StatusJson();
      if (s.is_object() && s["phase"] == "round") in_round = s;
    }
    std::this_thread::sleep_for(100ms);
  }
  auto rc = coord->Wait(60s);
  ASSERT_TRUE(rc.has_value()) << CoordinatorLog();
  EXPECT_EQ(*rc, 0) << CoordinatorLog();
  for (auto& region : regions) EXPECT_EQ(region->Wait(30s).value_or(-1), 0);
  EXPECT_TRUE(format_errors.empty()) << Join(format_errors);

  // rounds_completed_total only grows, and grew through the rounds.
  ASSERT_FALSE(completed.empty());
  for (size_t i = 1; i < completed.size(); ++i) EXPECT_LE(completed[i - 1], completed[i]);
  std::set<double> distinct(completed.begin(), completed.end());
  EXPECT_GE(distinct.size(), 3u) << "saw too few distinct values of rounds completed";
  EXPECT_GE(completed.back(), 4);

  // A round in progress: all three selected, a round number, the connected regions.
  ASSERT_TRUE(in_round.is_object()) << "never saw phase 'round'";
  EXPECT_EQ(in_round["selected_regions"], nlohmann::json({"r1", "r2", "r3"}));
  EXPECT_EQ(in_round["status"], "running") << "the run-status word of report.json and --json";
  EXPECT_GE(in_round["round"].get<int>(), 1);
  EXPECT_LE(in_round["updates_received"].get<int>(), 3);
  EXPECT_EQ(in_round["connected_regions"].size(), 3u);

  // The last metrics: rounds timed, bytes received, every region's epsilon within its budget,
  // and the federated evaluation of a trained model.
  EXPECT_GE(last.Get("fedseg_round_duration_seconds_count"), 4);
  EXPECT_GT(last.Get("fedseg_round_duration_seconds_sum"), 0);
  EXPECT_EQ(last.Get("fedseg_round_duration_seconds_bucket{le=\"+Inf\"}"),
            last.Get("fedseg_round_duration_seconds_count"));
  EXPECT_GT(last.Get("fedseg_last_round_duration_seconds"), 0);
  EXPECT_GT(last.Get("fedseg_bytes_received_total"), 10000);
  for (const char* name : {"r1", "r2", "r3"}) {
    const std::string label = std::string("{region=\"") + name + "\"}";
    EXPECT_GT(last.Get("fedseg_region_epsilon" + label), 0) << name;
    EXPECT_LE(last.Get("fedseg_region_epsilon" + label), 2.0 + 1e-9) << name;
    EXPECT_EQ(last.Get("fedseg_region_epsilon_budget" + label), 2.0) << name;
    EXPECT_EQ(last.Get("fedseg_region_delta" + label), 1e-5) << name;
    EXPECT_GE(last.Get("fedseg_region_rounds_participated_total" + label), 4) << name;
  }
  EXPECT_GT(last.Get("fedseg_model_roc_auc"), 0.5);
  EXPECT_GT(last.Get("fedseg_model_loss"), 0);
  EXPECT_GE(last.Get("fedseg_model_evaluated_round"), 3);
  EXPECT_FALSE(last.Has("fedseg_train_loss"));  // DP-SGD regions keep their loss local
  std::string seen;
  for (double v : completed) seen += " " + std::to_string(static_cast<int>(v));
  std::printf("[ status ] rounds_completed_total over %zu scrapes during the run:%s\n",
              completed.size(), seen.c_str());
}

// Opens a TCP connection to 127.0.0.1:port and sends nothing.
int IdleConnection(uint16_t port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return -1;
  }
  return s;
}

TEST_F(StatusTest, OptionalClientCertificatesConnectionLimitAndHandshakeDeadline) {
  auto coord = StartCoordinator(WriteCoordinatorConfig({{"enabled", true},
                                                        {"listen", "127.0.0.1"},
                                                        {"port", status_port_},
                                                        {"require_client_cert", false},
                                                        {"max_connections", 2}}));
  ASSERT_TRUE(WaitFor([&] { return LogHas("status server listening"); }, 30s)) << CoordinatorLog();

  // Without a certificate: served. With one that does not verify: refused.
  Reply r = Curl("/status", "");
  EXPECT_EQ(r.http, 200) << r.error;
  EXPECT_TRUE(nlohmann::json::parse(r.body, nullptr, false).is_object()) << r.body;
  r = Curl("/metrics", "old");
  EXPECT_EQ(r.http, 0);
  EXPECT_NE(r.curl_rc, 0);

  // With max_connections 2, one address may hold one handshake (a quarter of the cap, at least
  // one): the first idle connection holds it, the second and a request are turned away at once
  // ("per-address handshake limit reached"); the idle one is dropped at the handshake deadline
  // (3 s) and the server serves again.
  int a = IdleConnection(status_port_), b = IdleConnection(status_port_);
  ASSERT_GE(a, 0);
  ASSERT_GE(b, 0);
  std::this_thread::sleep_for(300ms);
  r = Curl("/status", "");
  EXPECT_EQ(r.http, 0) << r.body;
  ASSERT_TRUE(WaitFor([&] { return LogHas("handshake timed out"); }, 15s)) << CoordinatorLog();
  std::this_thread::sleep_for(200ms);
  Reply m = Curl("/metrics", "");
  ASSERT_EQ(m.http, 200) << m.error;
  ::close(a);
  ::close(b);
  Exposition e = ParseExposition(m.body);
  ASSERT_TRUE(e.errors.empty()) << Join(e.errors);
  const std::string refused = "fedseg_refused_connections_total{listener=\"status\",reason=\"";
  EXPECT_EQ(e.Get(refused + "certificate has expired\"}"), 1) << m.body;
  EXPECT_EQ(e.Get(refused + "per-address handshake limit reached\"}"), 2) << m.body;
  EXPECT_EQ(e.Get(refused + "handshake timed out\"}"), 1) << m.body;
  EXPECT_TRUE(LogHas("(1 handshakes from that address in progress)")) << CoordinatorLog();

  // None of it touched the federation port.
  EXPECT_TRUE(coord->running());
  EXPECT_FALSE(
      e.Has("fedseg_refused_connections_total{listener=\"federation\",reason=\"no "
            "client certificate\"}"));
  coord->Kill(SIGTERM);
  EXPECT_EQ(coord->Wait(20s).value_or(-1), 0) << CoordinatorLog();
}

}  // namespace
}  // namespace fedseg
