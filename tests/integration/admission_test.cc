// Integration tests of the coordinator's admission (docs/security.md): the real
// fedseg-coordinator and fedseg-client processes over mutual TLS on 127.0.0.1, certificates from
// scripts/gen-certs.sh. A flood of silent connections from a second loopback address
// (scripts/flood.py) does not keep regions out or grow the coordinator's memory; the status
// endpoint serves monitors only; revoked (CRL) and unpinned region keys are refused; a Hello
// with control characters cannot forge a log line.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "common/net/tls_client.h"
#include "common/protocol/messages.h"
#include "federation_fixture.h"

namespace fedseg {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::ReadAll;
using testing::WaitFor;

using testing::kSanitizedBuild;

// Peak resident set of a running process (VmHWM in /proc/<pid>/status), in KiB; 0 if unknown.
long PeakRssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

size_t CountOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class AdmissionTest : public testing::FederationFixture {
 protected:
  static void SetUpTestSuite() {
    SetUpSuite({"fedseg-admission-", {{"pki", "r1 r2 r3 prometheus grafana"}}, {"curl"}});
  }

  void SetUp() override {
    FederationFixture::SetUp();
    do {
      status_port_ = testing::FreePort();
    } while (status_port_ == port_);
  }

  // The fixture's coordinator config (three regions), with `extra` merged in.
  std::string Config(const nlohmann::json& extra, int rounds = 2, int min_regions = 3) {
    testing::CoordinatorOptions o;
    o.rounds = rounds;
    o.min_regions = min_regions;
    const std::string path = WriteCoordinatorConfig(o);
    nlohmann::json c = nlohmann::json::parse(ReadAll(path));
    if (extra.is_object()) c.merge_patch(extra);
    std::ofstream(path) << c.dump(2);
    return path;
  }

  nlohmann::json StatusSection() const {
    return {{"enabled", true}, {"listen", "127.0.0.1"}, {"port", status_port_}};
  }

  // HTTPS GET of /status presenting pki/<cert>.crt ("" for none): the HTTP code, 0 if refused.
  int CurlStatus(const std::string& cert) { return Curl(status_port_, "/status", cert).http; }

  // `openssl` output for a shell pipeline run in the PKI folder.
  std::string Shell(const std::string& cmd) {
    const std::string out = run_ + "/shell.out";
    EXPECT_EQ(testing::Run("cd " + Pki() + " && (" + cmd + ") > " + out), 0) << cmd;
    std::string s = ReadAll(out);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  std::string SpkiPin(const std::string& name) {
    const std::string line = Shell("openssl x509 -in " + name +
                                   ".crt -pubkey -noout | openssl pkey -pubin -outform DER | "
                                   "sha256sum");
    return line.substr(0, 64);
  }

  uint16_t status_port_ = 0;
};

TEST_F(AdmissionTest, SilentFloodFromOneAddressKeepsNoRegionOutAndMemoryFlat) {
  nlohmann::json extra = {{"status", StatusSection()}};
  auto coord = StartCoordinator(Config(extra));
  ASSERT_TRUE(WaitFor([&] { return LogHas("status server listening"); }, 30s)) << CoordinatorLog();

  // 1,500 silent connections to the federation port and 300 to the status port, from 127.0.0.2,
  // re-opened as the coordinator closes them.
  const std::string ready = run_ + "/flood.ready", ready_status = run_ + "/flood-status.ready";
  Process flood({"/usr/bin/env", "python3", testing::kSrc + "/scripts/flood.py", "--target",
                 "127.0.0.1:" + std::to_string(port_), "--source", "127.0.0.2", "--connections",
                 "1500", "--duration", "300", "--ready-file", ready},
                run_ + "/flood.out");
  Process flood_status({"/usr/bin/env", "python3", testing::kSrc + "/scripts/flood.py", "--target",
                        "127.0.0.1:" + std::to_string(status_port_), "--source", "127.0.0.2",
                        "--connections", "300", "--duration", "300", "--ready-file", ready_status},
                       run_ + "/flood-status.out");
  ASSERT_TRUE(
      WaitFor([&] { return !ReadAll(ready).empty() && !ReadAll(ready_status).empty(); }, 60s))
      << ReadAll(run_ + "/flood.out");

  // Under the flood, a monitor reads /status and every region joins and finishes the run.
  EXPECT_EQ(CurlStatus("prometheus"), 200) << CoordinatorLog();
  std::vector<std::unique_ptr<Process>> regions;
  for (int i = 1; i <= 3; ++i) regions.push_back(StartRegion(i));
  long peak_kib = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        peak_kib = std::max(peak_kib, PeakRssKib(coord->pid()));
        return !coord->running();
      },
      180s))
      << CoordinatorLog();
  flood.Kill(SIGTERM);
  flood_status.Kill(SIGTERM);
  EXPECT_EQ(coord->Wait(5s).value_or(-1), 0) << CoordinatorLog();
  for (auto& r : regions) EXPECT_EQ(r->Wait(30s).value_or(-1), 0);

  const std::string log = CoordinatorLog();
  EXPECT_NE(log.find("per-address handshake limit reached"), std::string::npos);
  // Refusals are logged a burst at a time, with counts, not a line each.
  EXPECT_LT(CountOf(log, "refused TLS connection from 127.0.0.2"), 200u);
  EXPECT_LT(CountOf(log, "status server: refused 127.0.0.2"), 200u);
  EXPECT_NE(log.find("more connection(s) in the last"), std::string::npos);
  std::printf("[ flood ] coordinator peak RSS %.1f MiB\n", peak_kib / 1024.0);
  if (!kSanitizedBuild) {
    EXPECT_LT(peak_kib, 150 * 1024) << "coordinator peak RSS in KiB";
  }
}

TEST_F(AdmissionTest, StatusServesMonitorsOnlyAndRefusesRegions) {
  auto coord = StartCoordinator(Config({{"status", StatusSection()}}));
  ASSERT_TRUE(WaitFor([&] { return LogHas("status server listening"); }, 30s)) << CoordinatorLog();
  EXPECT_TRUE(LogHas("monitors: prometheus")) << CoordinatorLog();
  EXPECT_EQ(CurlStatus("prometheus"), 200);
  EXPECT_EQ(CurlStatus("r1"), 0);       // a region's certificate
  EXPECT_EQ(CurlStatus("grafana"), 0);  // a CA identity not listed
  EXPECT_EQ(CurlStatus(""), 0);         // none
  ASSERT_TRUE(WaitFor([&] { return LogHas("not listed in status.monitors"); }, 10s))
      << CoordinatorLog();
  EXPECT_TRUE(LogHas("identity not allowed (r1: a region's identity may not read the status)"))
      << CoordinatorLog();
  coord->Kill(SIGTERM);
  coord->Wait(30s);

  // Listing grafana admits it; a region listed as a monitor is a config error.
  nlohmann::json status = StatusSection();
  status["monitors"] = {"grafana"};
  // The stopped first run left its report: a new run in the same directory needs --fresh.
  coord = StartCoordinator(Config({{"status", status}}), {"--fresh"});
  ASSERT_TRUE(WaitFor([&] { return LogHas("monitors: grafana"); }, 30s)) << CoordinatorLog();
  EXPECT_EQ(CurlStatus("grafana"), 200);
  EXPECT_EQ(CurlStatus("prometheus"), 0);
  coord->Kill(SIGTERM);
  coord->Wait(30s);
  status["monitors"] = {"r2"};
  auto bad = StartCoordinator(Config({{"status", status}}));
  EXPECT_NE(bad->Wait(30s).value_or(0), 0);
  const std::string out = ReadAll(run_ + "/coordinator.out");
  EXPECT_NE(out.find("'r2' is a region"), std::string::npos) << out;
}

TEST_F(AdmissionTest, AnonymousStatusWarnsLoudlyAndStillRefusesRegions) {
  nlohmann::json status = StatusSection();
  status["require_client_cert"] = false;
  auto coord = StartCoordinator(Config({{"status", status}}));
  ASSERT_TRUE(WaitFor([&] { return LogHas("status server listening"); }, 30s)) << CoordinatorLog();
  EXPECT_TRUE(LogHas("WITHOUT client certificates")) << CoordinatorLog();
  EXPECT_TRUE(LogHas("ANYONE who can reach this address")) << CoordinatorLog();
  EXPECT_EQ(CurlStatus(""), 200);
  EXPECT_EQ(CurlStatus("r1"), 0);
  coord->Kill(SIGTERM);
  coord->Wait(30s);
}

TEST_F(AdmissionTest, PinnedRegionWithAnotherKeyIsRefused) {
  const nlohmann::json pins = {{"r1", SpkiPin("r1")}, {"r2", SpkiPin("r3")}};
  auto coord = StartCoordinator(Config({{"region_pins", pins}}, 2, /*min_regions=*/1));
  auto r1 = StartRegion(1);
  auto r2 = StartRegion(2);
  ASSERT_TRUE(WaitFor([&] { return LogHas("is not the one pinned in region_pins"); }, 60s))
      << CoordinatorLog();
  ASSERT_TRUE(WaitFor([&] { return LogHas("region r1 joined"); }, 60s)) << CoordinatorLog();
  EXPECT_TRUE(LogHas("region 'r2' presented a certificate whose key (SPKI SHA-256 " +
                     SpkiPin("r2") + ") is not the one pinned in region_pins (" + SpkiPin("r3") +
                     ")"))
      << CoordinatorLog();
  EXPECT_FALSE(LogHas("region r2 joined")) << CoordinatorLog();
  r2->Kill(SIGTERM);
  r1->Kill(SIGTERM);
  coord->Kill(SIGTERM);
  coord->Wait(30s);
}

TEST_F(AdmissionTest, RevokedRegionIsRefusedWithACrl) {
  // A CRL from the federation's CA that revokes r3.
  Shell(
      "serial=$(openssl x509 -in r3.crt -noout -serial | cut -d= -f2) && "
      "printf 'R\\t491231000000Z\\t250101000000Z\\t%s\\tunknown\\t/O=fedseg/CN=r3\\n' $serial "
      "> crl-index.txt && printf '[ca]\\ndefault_ca=c\\n[c]\\ndatabase=crl-index.txt\\n"
      "certificate=ca.crt\\nprivate_key=ca/ca.key\\ndefault_md=sha256\\ndefault_crl_days=30\\n' "
      "> crl.cnf && openssl ca -gencrl -config crl.cnf -out crl.pem 2>/dev/null && echo ok");
  auto coord =
      StartCoordinator(Config({{"tls", {{"crl", Pki() + "/crl.pem"}}}}, 2, /*min_regions=*/1));
  auto r1 = StartRegion(1);
  auto r3 = StartRegion(3);
  ASSERT_TRUE(WaitFor([&] { return LogHas("certificate revoked"); }, 60s)) << CoordinatorLog();
  ASSERT_TRUE(WaitFor([&] { return LogHas("region r1 joined"); }, 60s)) << CoordinatorLog();
  EXPECT_FALSE(LogHas("region r3 joined")) << CoordinatorLog();
  r3->Kill(SIGTERM);
  r1->Kill(SIGTERM);
  coord->Kill(SIGTERM);
  coord->Wait(30s);
}

TEST_F(AdmissionTest, HelloWithControlCharactersCannotForgeALogLine) {
  auto coord = StartCoordinator(Config(nlohmann::json::object(), 2, /*min_regions=*/3));
  net::TlsConfig tls{Pki() + "/ca.crt", Pki() + "/r1.crt", Pki() + "/r1.key"};
  Result<std::unique_ptr<net::TlsClientConnection>> conn = Status::Unavailable("not yet");
  ASSERT_TRUE(WaitFor(
      [&] {
        conn = net::TlsClientConnection::Connect("127.0.0.1", port_, tls, 5s);
        return conn.ok();
      },
      30s))
      << conn.status().ToString();
  protocol::HelloMsg hello{"r1", "evil 1.0\n[info] region r2 joined from 6.6.6.6 (\x1b[2J)"};
  const net::Frame f = protocol::MakeFrame(protocol::MessageType::kHello, hello);
  ASSERT_TRUE((*conn)->Send(f.type, f.payload, 5s).ok());
  ASSERT_TRUE(WaitFor([&] { return LogHas("region r1 joined"); }, 30s)) << CoordinatorLog();
  EXPECT_TRUE(LogHas("(evil 1.0\\n[info] region r2 joined from 6.6.6.6 (\\x1b[2J))"))
      << CoordinatorLog();
  EXPECT_FALSE(LogHas("\n[info] region r2 joined")) << CoordinatorLog();
  coord->Kill(SIGTERM);
  coord->Wait(30s);
}

}  // namespace
}  // namespace fedseg
