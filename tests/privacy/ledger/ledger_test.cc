// Tests of the privacy ledger (privacy/ledger/ledger.h): real files, real EC and RSA keys from
// scripts/gen-certs.sh and the openssl command line, every kind of tampering the verifier must
// catch, the writer's refusals, and the fedseg-audit verify command as a user runs it.
#include "privacy/ledger/ledger.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/base/sha256.h"
#include "privacy/accounting/rdp_accountant.h"
#include "privacy/ledger/signer.h"

namespace fedseg::privacy {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr double kDelta = 1e-5;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// Runs a shell command; returns its exit status (-1 if it did not exit).
int Shell(const std::string& cmd) {
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

LedgerRelease Sampled(uint32_t round, double q, double sigma, int64_t steps,
                      double delta = kDelta) {
  LedgerRelease r;
  r.round = round;
  r.mechanism = "sampled_gaussian";
  r.params = {
      {"sampling_rate", q}, {"noise_multiplier", sigma}, {"clip_norm", 1.0}, {"steps", steps}};
  r.delta = delta;
  r.model_sha256 = Sha256Hex("model of round " + std::to_string(round));
  return r;
}

LedgerRelease Stats(double sigma, int64_t count) {
  LedgerRelease r;
  r.round = 0;
  r.mechanism = "gaussian";
  r.params = {{"noise_multiplier", sigma},
              {"count", count},
              {"clip_norm", 1.0},
              {"sensitivity", "one row changes each clipped count or sum by at most 1"}};
  r.delta = kDelta;
  return r;
}

// The standard ledger of these tests: the statistics release, then three DP-SGD rounds.
std::vector<LedgerRelease> StandardReleases() {
  return {Stats(8.0, 12), Sampled(1, 0.02, 1.1, 50), Sampled(2, 0.02, 1.1, 50),
          Sampled(3, 0.05, 1.3, 20)};
}

// The same composition as the ledger should make, done independently.
RdpAccountant ComposeIndependently(const std::vector<LedgerRelease>& releases) {
  RdpAccountant acc;
  for (const LedgerRelease& r : releases) {
    if (r.mechanism == "gaussian") {
      EXPECT_TRUE(acc.AddGaussian(r.params["noise_multiplier"].get<double>(),
                                  r.params["count"].get<int64_t>())
                      .ok());
    } else {
      EXPECT_TRUE(acc.AddSampledGaussian(r.params["sampling_rate"].get<double>(),
                                         r.params["noise_multiplier"].get<double>(),
                                         r.params["steps"].get<int64_t>())
                      .ok());
    }
  }
  return acc;
}

bool HasProblem(const LedgerVerification& v, const std::string& a, const std::string& b = "") {
  for (const std::string& p : v.problems) {
    if (p.find(a) != std::string::npos && p.find(b) != std::string::npos) return true;
  }
  return false;
}

std::string Problems(const LedgerVerification& v) {
  std::string out;
  for (const std::string& p : v.problems) out += "  " + p + "\n";
  return out;
}

// Recomputes `hash` after an edit the way an attacker without the key would (the signature stays).
void Rehash(json& entry) {
  json content = entry;
  content.erase("hash");
  content.erase("signature");
  entry["hash"] = Sha256Hex(content.dump());
}

class LedgerTestBase : public ::testing::Test {
 protected:
  // One PKI per suite: a CA with two regions (EC P-256, from the project's script), and a
  // self-signed RSA certificate for the RSA-PSS path.
  static void SetUpTestSuite() {
    pki_ = fs::path(::testing::TempDir()) / ("ledger_test_pki_" + std::to_string(::getpid()));
    fs::create_directories(pki_);
    const std::string log = (pki_ / "setup.log").string();
    pki_ok_ =
        Shell("bash '" FEDSEG_SOURCE_DIR "/scripts/gen-certs.sh' --out '" + pki_.string() +
              "' region-a region-b >'" + log + "' 2>&1") == 0 &&
        Shell("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=region-rsa -keyout '" +
              (pki_ / "region-rsa.key").string() + "' -out '" + (pki_ / "region-rsa.crt").string() +
              "' >>'" + log + "' 2>&1") == 0 &&
        // Each region's own ledger key, apart from its TLS key: EC as `ledger init` makes them,
        // RSA for the RSA-PSS path.
        Shell("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '" +
              Key("region-a") +
              "' && openssl genpkey -algorithm EC -pkeyopt "
              "ec_paramgen_curve:P-256 -out '" +
              Key("region-b") +
              "' && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out '" +
              Key("region-rsa") + "' >>'" + log + "' 2>&1") == 0;
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(pki_, ec);
  }

  void SetUp() override {
    ASSERT_TRUE(pki_ok_) << "making keys failed: " << Slurp(pki_ / "setup.log");
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = pki_ / (std::string(info->test_suite_name()) + "." + info->name());
    fs::create_directories(dir_);
    ledger_ = (dir_ / "ledger.jsonl").string();
  }

  // The region's ledger-signing key, and its TLS key (which must never sign its ledger).
  static std::string Key(const std::string& region) {
    return (pki_ / (region + ".ledger.key")).string();
  }
  static std::string TlsKey(const std::string& region) {
    return (pki_ / (region + ".key")).string();
  }
  static std::string Cert(const std::string& region) { return (pki_ / (region + ".crt")).string(); }

  // Creates ledger_ for `region` with its ledger key (as `ledger init` does, with the key made
  // beforehand); the genesis hash.
  std::string CreateLedger(const std::string& region = "region-a", double budget = 1000.0) {
    LedgerInitOptions o;
    o.ledger_path = ledger_;
    o.key_path = Key(region);
    o.region = region;
    o.epsilon_budget = budget;
    o.delta = kDelta;
    Result<LedgerInitResult> r = CreateLedgerWithKey(o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    const std::vector<std::string> lines = Lines(Slurp(ledger_));
    genesis_line_ = lines.empty() ? "" : lines[0];
    return r.ok() ? r->genesis_hash : "";
  }

  // A ledger file's text: the genesis line, then `releases`.
  std::string Ledger(const std::vector<std::string>& releases) const {
    return genesis_line_ + "\n" + JoinLines(releases);
  }

  // The base64 DER public key of `region`'s ledger key, as a genesis entry records it.
  static std::string PublicKeyOf(const std::string& region) {
    Result<PkeyPtr> key = LoadLedgerPrivateKey(Key(region));
    EXPECT_TRUE(key.ok());
    if (!key.ok()) return "";
    Result<std::string> pub = LedgerPublicKeyBase64(key->get());
    return pub.ok() ? *pub : "";
  }

  // Opens ledger_ as `region`, creating it first when it does not exist.
  std::unique_ptr<LedgerWriter> OpenWriter(const std::string& region = "region-a",
                                           const std::string& run_id = "run-1") {
    if (!fs::exists(ledger_)) CreateLedger(region);
    Result<std::unique_ptr<LedgerWriter>> w =
        LedgerWriter::Open(ledger_, Key(region), region, run_id);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return w.ok() ? std::move(w).value() : nullptr;
  }

  // Writes StandardReleases() to ledger_ as region-a and returns the release lines (the genesis
  // line is genesis_line_; Ledger() puts it back in front).
  std::vector<std::string> WriteStandardLedger() {
    std::unique_ptr<LedgerWriter> w = OpenWriter();
    if (!w) return {};
    for (const LedgerRelease& r : StandardReleases()) {
      Result<json> e = w->Append(r);
      EXPECT_TRUE(e.ok()) << e.status().ToString();
    }
    const std::vector<std::string> all = Lines(Slurp(ledger_));
    return all.empty() ? all : std::vector<std::string>(all.begin() + 1, all.end());
  }

  LedgerVerification Verify(const std::string& cert = "region-a",
                            const LedgerVerifyOptions& options = {}) {
    Result<LedgerVerification> v = VerifyLedger(ledger_, Cert(cert), options);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : LedgerVerification{};
  }

  // base64 signature of the context string and `hash` by `key` with the openssl command line (not
  // the code under test): what a v2 ledger's signature is.
  std::string SignWithOpensslCli(const std::string& key, const std::string& hash,
                                 std::string_view context = kLedgerSignatureContext) {
    const fs::path msg = dir_ / "msg.txt", sig = dir_ / "sig.bin", b64 = dir_ / "sig.b64";
    WriteText(msg, std::string(context) + hash);
    EXPECT_EQ(Shell("openssl dgst -sha256 -sign '" + key + "' -out '" + sig.string() + "' '" +
                    msg.string() + "' && openssl base64 -A -in '" + sig.string() + "' -out '" +
                    b64.string() + "'"),
              0);
    return Slurp(b64);
  }

  // Whether the openssl command line accepts `entry`'s signature with the public key of the
  // genesis entry `genesis` (its base64 DER public_key), following the recipe in docs/ledger.md.
  bool OpensslCliVerifies(const json& entry, const json& genesis, bool rsa_pss = false) {
    const fs::path msg = dir_ / "vmsg.txt", b64 = dir_ / "vsig.b64", sig = dir_ / "vsig.bin",
                   pub = dir_ / "pub.pem", der = dir_ / "pub.b64";
    WriteText(msg, std::string(kLedgerSignatureContext) + entry["hash"].get<std::string>());
    WriteText(b64, entry["signature"].get<std::string>() + "\n");
    WriteText(der, genesis["public_key"].get<std::string>() + "\n");
    const std::string pss =
        rsa_pss ? " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest" : "";
    return Shell("openssl base64 -d -A -in '" + der.string() +
                 "' | openssl pkey -pubin -inform DER -out '" + pub.string() +
                 "' && openssl base64 -d -A -in '" + b64.string() + "' -out '" + sig.string() +
                 "' && openssl dgst -sha256" + pss + " -verify '" + pub.string() +
                 "' -signature '" + sig.string() + "' '" + msg.string() + "' >/dev/null 2>&1") == 0;
  }

  static fs::path pki_;
  static bool pki_ok_;
  fs::path dir_;
  std::string ledger_;
  std::string genesis_line_;  // set by CreateLedger
};

fs::path LedgerTestBase::pki_;
bool LedgerTestBase::pki_ok_ = false;

// ---- writer ----------------------------------------------------------------------------------

class LedgerWriterTest : public LedgerTestBase {};

TEST_F(LedgerWriterTest, AppendsAndVerifies) {
  const std::vector<LedgerRelease> releases = StandardReleases();
  std::unique_ptr<LedgerWriter> w = OpenWriter();
  ASSERT_TRUE(w);
  std::vector<LedgerRelease> so_far;
  for (const LedgerRelease& r : releases) {
    Result<json> e = w->Append(r);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    so_far.push_back(r);
    const EpsilonResult want = *ComposeIndependently(so_far).GetEpsilon(r.delta);
    EXPECT_EQ((*e)["epsilon_after"].get<double>(), want.epsilon);
    EXPECT_EQ((*e)["order"].get<double>(), want.order);
    EXPECT_EQ((*e)["seq"].get<int64_t>(), static_cast<int64_t>(so_far.size()));
    EXPECT_EQ((*e)["hash"].get<std::string>(), w->head_hash());
  }
  EXPECT_EQ(w->entries(), 4);

  const LedgerVerification v = Verify();
  EXPECT_TRUE(v.ok) << Problems(v);
  EXPECT_EQ(v.entries, 4);
  EXPECT_EQ(v.head_hash, w->head_hash());
  const EpsilonResult total = *ComposeIndependently(releases).GetEpsilon(kDelta);
  EXPECT_EQ(v.epsilon, total.epsilon);
  EXPECT_EQ(v.order, total.order);
  EXPECT_EQ(v.delta, kDelta);
  EXPECT_GT(v.epsilon, 0.5);  // a real spend, not a degenerate one
  ASSERT_EQ(v.rows.size(), 4u);

  // Per entry: its own cost alone (ComputeEpsilon for DP-SGD rounds) and the running total.
  EXPECT_EQ(v.rows[0].mechanism, "gaussian");
  EXPECT_EQ(v.rows[0].sampling_rate, 1.0);
  EXPECT_EQ(v.rows[0].steps, 12);
  RdpAccountant stats;
  ASSERT_TRUE(stats.AddGaussian(8.0, 12).ok());
  EXPECT_EQ(v.rows[0].epsilon_round, stats.GetEpsilon(kDelta)->epsilon);
  EXPECT_EQ(v.rows[0].epsilon_after, v.rows[0].epsilon_round);
  for (size_t i = 1; i < 4; ++i) {
    const LedgerRelease& r = releases[i];
    SCOPED_TRACE(i);
    EXPECT_TRUE(v.rows[i].ok);
    EXPECT_EQ(v.rows[i].seq, static_cast<int64_t>(i + 1));
    EXPECT_EQ(v.rows[i].line, static_cast<int64_t>(i + 2));  // after the genesis line
    EXPECT_EQ(v.rows[i].round, r.round);
    EXPECT_EQ(v.rows[i].run_id, "run-1");
    EXPECT_EQ(v.rows[i].epsilon_round, ComputeEpsilon(r.params["sampling_rate"].get<double>(),
                                                      r.params["noise_multiplier"].get<double>(),
                                                      r.params["steps"].get<int64_t>(), r.delta)
                                           ->epsilon);
    EXPECT_EQ(v.rows[i].epsilon_after, v.rows[i].epsilon_recorded);
    EXPECT_GT(v.rows[i].epsilon_after, v.rows[i - 1].epsilon_after);
    // RDP composition is tighter than adding the entries' epsilons.
    EXPECT_LT(v.rows[i].epsilon_after, v.rows[i - 1].epsilon_after + v.rows[i].epsilon_round);
  }
  EXPECT_EQ(v.rows[3].epsilon_after, v.epsilon);
  ASSERT_TRUE(w->CurrentEpsilon(kDelta).ok());
  EXPECT_EQ(w->CurrentEpsilon(kDelta)->epsilon, v.epsilon);
}

TEST_F(LedgerWriterTest, EntryFormat) {
  std::unique_ptr<LedgerWriter> w = OpenWriter();
  ASSERT_TRUE(w);
  LedgerRelease stats = Stats(8.0, 12);
  stats.params["clip_norm"] = 1;  // an integer from the caller is stored as a double
  ASSERT_TRUE(w->Append(stats).ok());
  ASSERT_TRUE(w->Append(Sampled(1, 0.02, 1.1, 50)).ok());
  const std::vector<std::string> lines = Lines(Slurp(ledger_));
  ASSERT_EQ(lines.size(), 3u);
  const json genesis = json::parse(lines[0]);
  json other_genesis = genesis;  // the same ledger as if it were region-b's key
  other_genesis["public_key"] = PublicKeyOf("region-b");

  const std::set<std::string> keys = {"seq",           "time",      "region",       "run_id",
                                      "round",         "mechanism", "params",       "delta",
                                      "epsilon_after", "order",     "model_sha256", "prev_hash",
                                      "hash",          "signature", "accountant"};
  std::string prev = genesis["hash"].get<std::string>();
  for (size_t i = 1; i < lines.size(); ++i) {
    SCOPED_TRACE(lines[i]);
    const json e = json::parse(lines[i]);
    std::set<std::string> have;
    for (auto it = e.begin(); it != e.end(); ++it) have.insert(it.key());
    EXPECT_EQ(have, keys);
    EXPECT_EQ(e["seq"], i);
    EXPECT_EQ(e["region"], "region-a");
    EXPECT_EQ(e["run_id"], "run-1");
    EXPECT_TRUE(std::regex_match(e["time"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
    EXPECT_EQ(e["prev_hash"], prev);
    // The documented rule: SHA-256 of dump() without hash and signature; the line is dump().
    json content = e;
    content.erase("hash");
    content.erase("signature");
    EXPECT_EQ(e["hash"], Sha256Hex(content.dump()));
    EXPECT_EQ(lines[i], e.dump());
    // The language-independent form of the rule in docs/ledger.md: cut the two members out of
    // the line's text.
    const std::string cut = std::regex_replace(
        std::regex_replace(lines[i], std::regex(R"("hash":"[0-9a-f]{64}",)"), ""),
        std::regex(R"("signature":"[^"]*",)"), "");
    EXPECT_EQ(e["hash"], Sha256Hex(cut));
    EXPECT_TRUE(OpensslCliVerifies(e, genesis));
    EXPECT_FALSE(OpensslCliVerifies(e, other_genesis));
    prev = e["hash"].get<std::string>();
  }
  const json s = json::parse(lines[1]);
  EXPECT_EQ(s["round"], 0);
  EXPECT_EQ(s["mechanism"], "gaussian");
  EXPECT_EQ(s["model_sha256"], "");
  EXPECT_EQ(s["params"], json({{"noise_multiplier", 8.0},
                               {"count", 12},
                               {"clip_norm", 1.0},
                               {"sensitivity", stats.params["sensitivity"]}}));
  EXPECT_TRUE(s["params"]["clip_norm"].is_number_float());
  const json d = json::parse(lines[2]);
  EXPECT_EQ(d["round"], 1);
  EXPECT_EQ(d["mechanism"], "sampled_gaussian");
  EXPECT_EQ(
      d["params"],
      json(
          {{"sampling_rate", 0.02}, {"noise_multiplier", 1.1}, {"clip_norm", 1.0}, {"steps", 50}}));
  EXPECT_EQ(d["delta"], kDelta);
  EXPECT_EQ(d["model_sha256"], Sha256Hex("model of round 1"));
}

// A region on the PLD accountant: every entry says so, its epsilon is the PLD composition of the
// releases so far, and the verifier recomputes it with PLD.
TEST_F(LedgerWriterTest, PldWriterRecordsItsAccountantAndVerifies) {
  CreateLedger();
  {
    Result<std::unique_ptr<LedgerWriter>> w =
        LedgerWriter::Open(ledger_, Key("region-a"), "region-a", "run-1", AccountantKind::kPld);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    PldAccountant pld;
    for (const LedgerRelease& r : StandardReleases()) {
      Result<json> e = (*w)->Append(r);
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      EXPECT_EQ((*e)["accountant"], "pld");
      EXPECT_EQ((*e)["order"].get<double>(), 0.0);
      Result<LedgerMechanism> m = ParseLedgerMechanism(r.mechanism, r.params);
      ASSERT_TRUE(m.ok());
      ASSERT_TRUE((m->sampled
                       ? pld.AddSampledGaussian(m->sampling_rate, m->noise_multiplier, m->steps)
                       : pld.AddGaussian(m->noise_multiplier, m->steps))
                      .ok());
      EXPECT_EQ((*e)["epsilon_after"].get<double>(), *pld.GetEpsilon(r.delta));
    }
  }
  const LedgerVerification v = Verify();
  EXPECT_TRUE(v.ok) << Problems(v);
  EXPECT_EQ(v.accountant, "pld");
  const double rdp = ComposeIndependently(StandardReleases()).GetEpsilon(kDelta)->epsilon;
  EXPECT_LT(v.epsilon, rdp);
  for (const LedgerEntryReport& row : v.rows) EXPECT_EQ(row.accountant, "pld");
}

// Ledgers written before the PLD accountant have no `accountant` key: they are RDP and still
// verify. Relabelling a PLD entry as RDP (re-signed by the key holder) under-reports epsilon, and
// the verifier, recomputing with the recorded accountant, catches it.
TEST_F(LedgerWriterTest, EntriesWithoutAccountantAreRdp) {
  std::vector<std::string> lines = WriteStandardLedger();
  ASSERT_FALSE(lines.empty());
  std::string prev = json::parse(genesis_line_)["hash"].get<std::string>();
  for (std::string& line : lines) {
    json e = json::parse(line);
    EXPECT_EQ(e["accountant"], "rdp");
    e.erase("accountant");
    e["prev_hash"] = prev;
    Rehash(e);
    e["signature"] = SignWithOpensslCli(Key("region-a"), e["hash"].get<std::string>());
    prev = e["hash"].get<std::string>();
    line = e.dump();
  }
  WriteText(ledger_, Ledger(lines));
  LedgerVerification v = Verify();
  EXPECT_TRUE(v.ok) << Problems(v);
  EXPECT_EQ(v.accountant, "rdp");

  std::remove(ledger_.c_str());
  CreateLedger();
  {
    Result<std::unique_ptr<LedgerWriter>> w =
        LedgerWriter::Open(ledger_, Key("region-a"), "region-a", "run-1", AccountantKind::kPld);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append(StandardReleases()[1]).ok());
  }
  lines = Lines(Slurp(ledger_));
  json e = json::parse(lines[1]);
  e["accountant"] = "rdp";
  Rehash(e);
  e["signature"] = SignWithOpensslCli(Key("region-a"), e["hash"].get<std::string>());
  WriteText(ledger_, Ledger({e.dump()}));
  v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "accountant rdp", "under-reported")) << Problems(v);
}

TEST_F(LedgerWriterTest, ReopensAndComposesAcrossRuns) {
  const std::vector<LedgerRelease> releases = StandardReleases();
  double before = 0;
  {
    std::unique_ptr<LedgerWriter> w = OpenWriter("region-a", "run-1");
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->Append(releases[0]).ok());
    ASSERT_TRUE(w->Append(releases[1]).ok());
    before = w->CurrentEpsilon(kDelta)->epsilon;
  }
  std::unique_ptr<LedgerWriter> w = OpenWriter("region-a", "run-2");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->entries(), 2);
  EXPECT_EQ(w->CurrentEpsilon(kDelta)->epsilon, before);
  Result<json> e = w->Append(releases[2]);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ((*e)["seq"], 3);
  EXPECT_EQ((*e)["run_id"], "run-2");
  // The budget spans runs: the third entry composes with both entries of run-1.
  const std::vector<LedgerRelease> three(releases.begin(), releases.begin() + 3);
  EXPECT_EQ((*e)["epsilon_after"].get<double>(),
            ComposeIndependently(three).GetEpsilon(kDelta)->epsilon);

  const LedgerVerification v = Verify();
  EXPECT_TRUE(v.ok) << Problems(v);
  ASSERT_EQ(v.rows.size(), 3u);
  EXPECT_EQ(v.rows[1].run_id, "run-1");
  EXPECT_EQ(v.rows[2].run_id, "run-2");
}

TEST_F(LedgerWriterTest, EpsilonIfAppendedDoesNotWrite) {
  std::unique_ptr<LedgerWriter> w = OpenWriter();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Append(Stats(8.0, 12)).ok());
  const std::string text = Slurp(ledger_);
  const std::string head = w->head_hash();
  const LedgerRelease next = Sampled(1, 0.02, 1.1, 50);
  Result<EpsilonResult> if_appended = w->EpsilonIfAppended(next);
  ASSERT_TRUE(if_appended.ok()) << if_appended.status().ToString();
  ASSERT_TRUE(w->EpsilonIfAppended(Sampled(1, 0.02, 1.1, 5000)).ok());  // asking twice is free
  EXPECT_EQ(Slurp(ledger_), text);
  EXPECT_EQ(w->entries(), 1);
  EXPECT_EQ(w->head_hash(), head);
  EXPECT_LT(w->CurrentEpsilon(kDelta)->epsilon, if_appended->epsilon);

  Result<json> e = w->Append(next);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)["epsilon_after"].get<double>(), if_appended->epsilon);
  EXPECT_EQ((*e)["order"].get<double>(), if_appended->order);
}

TEST_F(LedgerWriterTest, FreshLedgerHoldsOnlyItsGenesis) {
  const std::string genesis_hash = CreateLedger("region-a", 2.5);
  std::unique_ptr<LedgerWriter> w = OpenWriter();
  ASSERT_TRUE(w);
  EXPECT_EQ(Lines(Slurp(ledger_)).size(), 1u);
  EXPECT_EQ((fs::status(ledger_).permissions() & fs::perms::all),
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(w->entries(), 0);
  EXPECT_EQ(w->head_hash(), genesis_hash);
  EXPECT_EQ(w->epsilon_budget(), 2.5);
  EXPECT_EQ(w->budget_delta(), kDelta);
  Result<EpsilonResult> e = w->CurrentEpsilon(kDelta);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->epsilon, 0.0);
  EXPECT_FALSE(w->CurrentEpsilon(0.0).ok());

  const LedgerVerification v = Verify();
  EXPECT_TRUE(v.ok) << Problems(v);
  EXPECT_EQ(v.entries, 0);
  EXPECT_EQ(v.head_hash, genesis_hash);
  EXPECT_EQ(v.epsilon, 0.0);
  EXPECT_EQ(v.epsilon_budget, 2.5);
  EXPECT_EQ(v.format, kLedgerFormatV2);
  EXPECT_FALSE(v.legacy);
  EXPECT_EQ(v.region, "region-a");
  EXPECT_EQ(v.public_key, PublicKeyOf("region-a"));
}

TEST_F(LedgerWriterTest, RejectsInvalidReleases) {
  std::unique_ptr<LedgerWriter> w = OpenWriter();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Append(Stats(8.0, 12)).ok());
  const std::string text = Slurp(ledger_);

  auto expect_rejected = [&](LedgerRelease r, const std::string& message) {
    SCOPED_TRACE(message);
    Result<json> e = w->Append(r);
    ASSERT_FALSE(e.ok());
    EXPECT_TRUE(e.status().IsInvalidArgument()) << e.status().ToString();
    EXPECT_NE(e.status().message().find(message), std::string::npos) << e.status().ToString();
    EXPECT_FALSE(w->EpsilonIfAppended(r).ok());
  };
  LedgerRelease r = Sampled(1, 0.02, 1.1, 50);
  r.mechanism = "laplace";
  expect_rejected(r, "mechanism must be \"sampled_gaussian\" or \"gaussian\", got \"laplace\"");
  r = Sampled(1, 1.5, 1.1, 50);
  expect_rejected(r, "params.sampling_rate must be in (0, 1], got 1.5");
  r = Sampled(1, 0.02, 0.0, 50);
  expect_rejected(r, "params.noise_multiplier must be positive, got 0");
  r = Sampled(1, 0.02, 1.1, 0);
  expect_rejected(r, "params.steps must be a positive integer, got 0");
  r = Sampled(1, 0.02, 1.1, 50);
  r.params["steps"] = 2.5;
  expect_rejected(r, "params.steps must be an integer, got 2.5");
  r = Sampled(1, 0.02, 1.1, 50);
  r.params.erase("clip_norm");
  expect_rejected(r, "params.clip_norm is missing");
  r = Sampled(1, 0.02, 1.1, 50);
  r.params["count"] = 3;
  expect_rejected(r, "unknown field 'params.count'");
  r = Sampled(1, 0.02, 1.1, 50, 1.0);
  expect_rejected(r, "delta must be in (0, 1), got 1");
  r = Sampled(1, 0.02, 1.1, 50);
  r.model_sha256 = "";
  expect_rejected(r, "model_sha256 is required for sampled_gaussian");
  r.model_sha256 = "ABC";
  expect_rejected(r, "model_sha256 must be 64 lowercase hex digits");
  r = Stats(8.0, 12);
  r.params["sensitivity"] = "caf\xc3\xa9";  // valid UTF-8, but the ledger keeps free text ASCII
  expect_rejected(r, "params.sensitivity must be at most 1024 printable ASCII characters");

  EXPECT_EQ(Slurp(ledger_), text);
  EXPECT_EQ(w->entries(), 1);
  EXPECT_TRUE(w->Append(Sampled(1, 0.02, 1.1, 50)).ok());  // still usable

  EXPECT_FALSE(LedgerWriter::Open(ledger_, Key("region-a"), "", "run-1").ok());
  EXPECT_FALSE(LedgerWriter::Open(ledger_, Key("region-a"), "region-a", "run\n1").ok());
  EXPECT_FALSE(LedgerWriter::Open(ledger_, Cert("region-a"), "region-a", "run-1").ok());
}

TEST_F(LedgerWriterTest, SecondWriterIsRefused) {
  std::unique_ptr<LedgerWriter> w = OpenWriter();
  ASSERT_TRUE(w);
  Result<std::unique_ptr<LedgerWriter>> second =
      LedgerWriter::Open(ledger_, Key("region-a"), "region-a", "run-1");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("another writer"), std::string::npos);
  w.reset();  // the lock goes with the writer
  EXPECT_TRUE(LedgerWriter::Open(ledger_, Key("region-a"), "region-a", "run-1").ok());
}

TEST_F(LedgerWriterTest, RefusesToExtendABrokenLedger) {
  std::vector<std::string> lines = WriteStandardLedger();
  ASSERT_EQ(lines.size(), 4u);
  const std::string good = Ledger(lines);

  // An edited entry.
  json e = json::parse(lines[1]);
  e["params"]["noise_multiplier"] = 5.0;
  lines[1] = e.dump();
  WriteText(ledger_, Ledger(lines));
  Result<std::unique_ptr<LedgerWriter>> w =
      LedgerWriter::Open(ledger_, Key("region-a"), "region-a", "run-1");
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().IsCorruption()) << w.status().ToString();
  EXPECT_NE(w.status().message().find("refusing to extend it"), std::string::npos);
  EXPECT_NE(w.status().message().find("line 3 (seq 2): hash mismatch"), std::string::npos)
      << w.status().ToString();
  EXPECT_EQ(Slurp(ledger_), Ledger(lines));  // untouched

  // A last line cut short by a crash during an append.
  WriteText(ledger_, good.substr(0, good.size() - 40));
  w = LedgerWriter::Open(ledger_, Key("region-a"), "region-a", "run-1");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("line 5: the last line has no newline"), std::string::npos)
      << w.status().ToString();

  // The intact ledger opens again.
  WriteText(ledger_, good);
  EXPECT_TRUE(LedgerWriter::Open(ledger_, Key("region-a"), "region-a", "run-1").ok());
}

TEST_F(LedgerWriterTest, RefusesAnotherRegionsLedger) {
  ASSERT_EQ(WriteStandardLedger().size(), 4u);
  // region-b's key cannot extend region-a's ledger, even under region-a's name...
  Result<std::unique_ptr<LedgerWriter>> w =
      LedgerWriter::Open(ledger_, Key("region-b"), "region-a", "run-1");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("is not this ledger's key (the public_key of its genesis"),
            std::string::npos)
      << w.status().ToString();
  // ...and region-a's key cannot continue it under another name.
  w = LedgerWriter::Open(ledger_, Key("region-a"), "region-b", "run-1");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("region \"region-a\" is not the writer's region"),
            std::string::npos)
      << w.status().ToString();
}

TEST_F(LedgerWriterTest, AppendRefusesAfterTheFileChanged) {
  std::unique_ptr<LedgerWriter> w = OpenWriter();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Append(Stats(8.0, 12)).ok());
  {
    std::ofstream out(ledger_, std::ios::app);
    out << "{}\n";
  }
  Result<json> e = w->Append(Sampled(1, 0.02, 1.1, 50));
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(e.status().IsCorruption()) << e.status().ToString();
  EXPECT_NE(e.status().message().find("changed on disk"), std::string::npos);
  e = w->Append(Sampled(1, 0.02, 1.1, 50));  // and never again
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(Lines(Slurp(ledger_)).size(), 3u);  // genesis, the release, the foreign line
}

TEST_F(LedgerWriterTest, RsaKeysSignWithPss) {
  std::unique_ptr<LedgerWriter> w = OpenWriter("region-rsa");
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Append(Stats(8.0, 12)).ok());
  ASSERT_TRUE(w->Append(Sampled(1, 0.02, 1.1, 50)).ok());
  LedgerVerification v = Verify("region-rsa");
  EXPECT_TRUE(v.ok) << Problems(v);
  std::vector<std::string> lines = Lines(Slurp(ledger_));
  ASSERT_EQ(lines.size(), 3u);
  const json genesis = json::parse(lines[0]);
  json e = json::parse(lines[2]);
  EXPECT_TRUE(OpensslCliVerifies(e, genesis, /*rsa_pss=*/true));
  EXPECT_FALSE(OpensslCliVerifies(e, genesis, /*rsa_pss=*/false));  // not PKCS#1 v1.5

  e["params"]["steps"] = 5;
  Rehash(e);
  lines[2] = e.dump();
  WriteText(ledger_, JoinLines(lines));
  v = Verify("region-rsa");
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 3 (seq 2)", "signature does not verify")) << Problems(v);
}

// ---- verifier: tampering ------------------------------------------------------------------------

class LedgerVerifyTest : public LedgerTestBase {
 protected:
  void SetUp() override {
    LedgerTestBase::SetUp();
    if (HasFatalFailure()) return;
    lines_ = WriteStandardLedger();
    ASSERT_EQ(lines_.size(), 4u);
    head_ = json::parse(lines_[3])["hash"].get<std::string>();
    original_ = Slurp(ledger_);
    const LedgerVerification v = Verify();
    ASSERT_TRUE(v.ok) << Problems(v);
  }
  void Save(const std::vector<std::string>& lines) { WriteText(ledger_, Ledger(lines)); }

  std::vector<std::string> lines_;
  std::string head_;
  std::string original_;
};

TEST_F(LedgerVerifyTest, EditedField) {
  json e = json::parse(lines_[1]);
  e["params"]["noise_multiplier"] = 5.0;  // claim more noise than was added
  lines_[1] = e.dump();
  Save(lines_);
  const LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 3 (seq 2): hash mismatch", "edited after it was written"))
      << Problems(v);
  EXPECT_EQ(v.problems.size(), 1u) << Problems(v);
  EXPECT_FALSE(v.rows[1].ok);
  EXPECT_TRUE(v.rows[2].ok);
}

TEST_F(LedgerVerifyTest, RemovedMiddleEntry) {
  lines_.erase(lines_.begin() + 1);
  Save(lines_);
  const LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.entries, 3);
  EXPECT_TRUE(HasProblem(v, "line 3 (seq 3): seq 3 follows seq 1 (expected 2)")) << Problems(v);
  EXPECT_TRUE(HasProblem(v, "line 3 (seq 3): prev_hash does not match the hash of line 2"))
      << Problems(v);
  EXPECT_EQ(v.problems.size(), 2u) << Problems(v);
}

TEST_F(LedgerVerifyTest, ReorderedEntries) {
  std::swap(lines_[1], lines_[2]);
  Save(lines_);
  const LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 3 (seq 3): seq 3 follows seq 1")) << Problems(v);
  EXPECT_TRUE(HasProblem(v, "line 4 (seq 2): seq 2 follows seq 3")) << Problems(v);
  EXPECT_TRUE(HasProblem(v, "line 5 (seq 4): seq 4 follows seq 2")) << Problems(v);
  EXPECT_TRUE(HasProblem(v, "line 4 (seq 2): prev_hash does not match")) << Problems(v);
  EXPECT_FALSE(HasProblem(v, "signature")) << Problems(v);
}

TEST_F(LedgerVerifyTest, EntryAppendedWithAnotherRegionsKey) {
  // region-b (same CA) forges a correctly chained, correctly hashed entry in region-a's name.
  json forged = json::parse(lines_[3]);
  forged["seq"] = 5;
  forged["round"] = 4;
  forged["prev_hash"] = head_;
  std::vector<LedgerRelease> releases = StandardReleases();
  releases.push_back(releases.back());  // the forged entry repeats the last release
  const EpsilonResult honest = *ComposeIndependently(releases).GetEpsilon(kDelta);
  forged["epsilon_after"] = honest.epsilon;
  forged["order"] = honest.order;
  Rehash(forged);
  forged["signature"] = SignWithOpensslCli(Key("region-b"), forged["hash"].get<std::string>());
  lines_.push_back(forged.dump());
  Save(lines_);
  const LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 6 (seq 5): signature does not verify with the ledger's key",
                         "signed by another key"))
      << Problems(v);
  EXPECT_EQ(v.problems.size(), 1u) << Problems(v);

  // The same entry signed with region-a's own key is accepted: the check is the key, not luck.
  forged["signature"] = SignWithOpensslCli(Key("region-a"), forged["hash"].get<std::string>());
  lines_.back() = forged.dump();
  Save(lines_);
  const LedgerVerification ok = Verify();
  EXPECT_TRUE(ok.ok) << Problems(ok);
}

TEST_F(LedgerVerifyTest, RehashedEditWithoutTheKey) {
  json e = json::parse(lines_[1]);
  e["params"]["steps"] = 5;  // claim fewer steps, and fix up the hash
  Rehash(e);
  lines_[1] = e.dump();
  Save(lines_);
  const LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 3 (seq 2): signature does not verify")) << Problems(v);
  EXPECT_TRUE(HasProblem(v, "line 4 (seq 3): prev_hash does not match the hash of line 3"))
      << Problems(v);
  EXPECT_FALSE(HasProblem(v, "hash mismatch")) << Problems(v);
}

TEST_F(LedgerVerifyTest, UnderReportedEpsilon) {
  // A writer holding the key (buggy, or cheating on its budget) records a smaller epsilon: hash,
  // chain and signature are all valid, and only recomputing epsilon catches it.
  json e = json::parse(lines_[3]);
  const double recorded = e["epsilon_after"].get<double>();
  e["epsilon_after"] = recorded * 0.9;
  Rehash(e);
  e["signature"] = SignWithOpensslCli(Key("region-a"), e["hash"].get<std::string>());
  lines_[3] = e.dump();
  Save(lines_);
  LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 5 (seq 4): epsilon_after", "under-reported")) << Problems(v);
  EXPECT_EQ(v.problems.size(), 1u) << Problems(v);
  EXPECT_EQ(v.rows[3].epsilon_recorded, recorded * 0.9);
  EXPECT_EQ(v.epsilon, recorded);  // the total is the verifier's own

  // Over-reporting is safe and accepted; a difference within the tolerance too.
  for (double factor : {1.5, 1.0 - 1e-12}) {
    e["epsilon_after"] = recorded * factor;
    Rehash(e);
    e["signature"] = SignWithOpensslCli(Key("region-a"), e["hash"].get<std::string>());
    lines_[3] = e.dump();
    Save(lines_);
    v = Verify();
    EXPECT_TRUE(v.ok) << factor << "\n" << Problems(v);
  }
}

TEST_F(LedgerVerifyTest, WrongCertificate) {
  // The entries are signed by the ledger's own key; the certificate only names the region.
  const LedgerVerification v = Verify("region-b");
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 1 (genesis): ",
                         "region \"region-a\" is not the certificate's subject CN \"region-b\""))
      << Problems(v);
  EXPECT_EQ(v.problems.size(), 1u) << Problems(v);
  EXPECT_EQ(v.entries, 4);
  EXPECT_EQ(v.head_hash, head_);
}

TEST_F(LedgerVerifyTest, TruncatedTailNeedsTheReportedHead) {
  lines_.pop_back();
  Save(lines_);
  // From the file alone a shorter ledger is a valid ledger: documented, and why the options exist.
  EXPECT_TRUE(Verify().ok);

  LedgerVerifyOptions by_head;
  by_head.expect_head = head_;
  LedgerVerification v = Verify("region-a", by_head);
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "is not the expected " + head_, "truncated")) << Problems(v);

  LedgerVerifyOptions by_count;
  by_count.expect_entries = 4;
  v = Verify("region-a", by_count);
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "the ledger has 3 entries, but 4 were expected")) << Problems(v);

  // The head as reported, in upper case, matches the intact ledger.
  WriteText(ledger_, original_);
  std::string upper = head_;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  by_head.expect_head = upper;
  by_head.expect_entries = 4;
  v = Verify("region-a", by_head);
  EXPECT_TRUE(v.ok) << Problems(v);
}

TEST_F(LedgerVerifyTest, TornLineAndGarbage) {
  // A crash during an append leaves part of a line without its newline.
  WriteText(ledger_, original_.substr(0, original_.size() - 30));
  LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 5: the last line has no newline")) << Problems(v);
  EXPECT_TRUE(HasProblem(v, "line 5", "not valid JSON")) << Problems(v);
  EXPECT_EQ(v.entries, 4);
  EXPECT_EQ(v.rows.size(), 3u);

  // A line that is not JSON, an empty line, and an entry with a wrong field type: each reported
  // with its line number, and the chain checks of the other lines still run.
  std::vector<std::string> lines = lines_;
  lines[1] = "not json at all";
  Save(lines);
  v = Verify();
  EXPECT_TRUE(HasProblem(v, "line 3: not valid JSON")) << Problems(v);
  EXPECT_FALSE(HasProblem(v, "line 4")) << Problems(v);  // seq/prev_hash of line 4 are unknown
  EXPECT_EQ(v.rows.size(), 3u);

  lines = lines_;
  lines.insert(lines.begin() + 2, "");
  Save(lines);
  v = Verify();
  EXPECT_TRUE(HasProblem(v, "line 4: empty line")) << Problems(v);

  json e = json::parse(lines_[2]);
  e["delta"] = "1e-5";
  lines = lines_;
  lines[2] = e.dump();
  Save(lines);
  v = Verify();
  EXPECT_TRUE(HasProblem(v, "line 4 (seq 3): delta must be a number, got \"1e-5\"")) << Problems(v);
  EXPECT_EQ(v.problems.size(), 1u) << Problems(v);  // line 4 still chains to line 3's hash

  e = json::parse(lines_[2]);
  e["note"] = "added";
  lines[2] = e.dump();
  Save(lines);
  v = Verify();
  EXPECT_TRUE(HasProblem(v, "line 4 (seq 3): unknown field 'note'")) << Problems(v);
}

TEST_F(LedgerVerifyTest, NonCanonicalLine) {
  // Same content, different spelling: the hash still matches, but the line is not what the
  // writer wrote (a duplicate key would be read differently by different JSON parsers).
  lines_[2] = json::parse(lines_[2]).dump(1);
  std::string reformatted;
  for (char c : lines_[2]) {
    if (c != '\n') reformatted.push_back(c);
  }
  lines_[2] = reformatted;
  Save(lines_);
  LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 4 (seq 3): the line is not in canonical form")) << Problems(v);
  EXPECT_EQ(v.problems.size(), 1u) << Problems(v);

  std::vector<std::string> lines = Lines(original_);
  lines.erase(lines.begin());           // Save() puts the genesis line back
  lines[2].insert(1, "\"round\":99,");  // a duplicate key before the real one
  Save(lines);
  v = Verify();
  EXPECT_TRUE(HasProblem(v, "line 4 (seq 3): the line is not in canonical form")) << Problems(v);
}

TEST_F(LedgerVerifyTest, UnusableInputsAreErrors) {
  LedgerVerifyOptions bad;
  bad.expect_head = "abc";
  Result<LedgerVerification> v = VerifyLedger(ledger_, Cert("region-a"), bad);
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.status().IsInvalidArgument()) << v.status().ToString();
  bad = {};
  bad.expect_entries = -1;
  EXPECT_FALSE(VerifyLedger(ledger_, Cert("region-a"), bad).ok());

  v = VerifyLedger((dir_ / "missing.jsonl").string(), Cert("region-a"));
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.status().IsNotFound()) << v.status().ToString();
  v = VerifyLedger(ledger_, (dir_ / "missing.crt").string());
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.status().IsNotFound()) << v.status().ToString();
  v = VerifyLedger(ledger_, Key("region-a"));  // a key is not a certificate
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.status().IsInvalidArgument()) << v.status().ToString();
}

// ---- fedseg-audit verify -----------------------------------------------------------------------

class LedgerAuditCliTest : public LedgerVerifyTest {
 protected:
  void SetUp() override {
    binary_ = fs::path(FEDSEG_BIN_DIR) / "fedseg-audit";
    if (!fs::exists(binary_)) {
      GTEST_SKIP() << binary_ << " is not built (cmake --build ... --target fedseg-audit)";
    }
    LedgerVerifyTest::SetUp();
  }

  struct Run {
    int exit_code;
    std::string out;
    std::string err;
  };
  Run Audit(const std::string& args) {
    const fs::path out = dir_ / "out.txt", err = dir_ / "err.txt";
    const int code = Shell("'" + binary_.string() + "' " + args + " >'" + out.string() + "' 2>'" +
                           err.string() + "' </dev/null");
    return {code, Slurp(out), Slurp(err)};
  }
  std::string Args(const std::string& cert = "region-a") {
    return "verify '" + ledger_ + "' --cert '" + Cert(cert) + "'";
  }

  fs::path binary_;
};

TEST_F(LedgerAuditCliTest, VerifiesAGoodLedger) {
  Run r = Audit(Args() + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const json j = json::parse(r.out);
  for (const char* key :
       {"ok", "entries", "head_hash", "epsilon", "delta", "order", "rounds", "problems"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["entries"], 4);
  EXPECT_EQ(j["head_hash"], head_);
  EXPECT_EQ(j["delta"], kDelta);
  EXPECT_EQ(j["epsilon"].get<double>(),
            ComposeIndependently(StandardReleases()).GetEpsilon(kDelta)->epsilon);
  EXPECT_EQ(j["problems"], json::array());
  ASSERT_EQ(j["rounds"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const json& round = j["rounds"][i];
    EXPECT_EQ(round["round"], i);
    EXPECT_EQ(round["seq"], i + 1);
    EXPECT_TRUE(round.contains("epsilon_after"));
    EXPECT_TRUE(round.contains("epsilon_round"));
    EXPECT_EQ(round["epsilon_after"], round["epsilon_recorded"]);
    EXPECT_EQ(round["ok"], true);
  }
  EXPECT_EQ(j["rounds"][3]["epsilon_after"], j["epsilon"]);

  r = Audit(Args() + " --expect-head " + head_ + " --expect-entries 4");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("eps_recomputed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sampled_gaussian"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("head_hash: " + head_ + "\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("result: OK\n"), std::string::npos) << r.out;
}

TEST_F(LedgerAuditCliTest, ReportsProblemsAndUsageErrors) {
  json e = json::parse(lines_[2]);
  e["params"]["steps"] = 1;
  lines_[2] = e.dump();
  Save(lines_);
  Run r = Audit(Args() + " --json");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["problems"].size(), 1u) << r.out;
  EXPECT_NE(j["problems"][0].get<std::string>().find("line 4 (seq 3): hash mismatch"),
            std::string::npos);
  EXPECT_EQ(j["rounds"][2]["ok"], false);
  EXPECT_NE(r.err.find("line 4 (seq 3): hash mismatch"), std::string::npos) << r.err;

  r = Audit(Args());  // text: the table marks the line, the problem goes to stderr
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("result: 1 problem(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("hash mismatch"), std::string::npos) << r.err;

  WriteText(ledger_, Ledger(std::vector<std::string>(lines_.begin(), lines_.begin() + 2)));
  r = Audit(Args() + " --json --expect-head " + head_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;

  r = Audit(Args("region-b"));
  EXPECT_EQ(r.exit_code, 1);

  r = Audit("verify '" + ledger_ + "'");  // no --cert: a v2 ledger carries its own key
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("format: fedseg-ledger-v2"), std::string::npos) << r.out;
  r = Audit(Args() + " --expect-entries many");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Audit(Args() + " --expect-head 1234");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("64 hex digits"), std::string::npos) << r.err;
  r = Audit("verify '" + (dir_ / "missing").string() + "' --cert '" + Cert("region-a") + "'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  r = Audit("verify --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("--expect-head"), std::string::npos) << r.out;
}

// ---- v2: the ledger's own key, its genesis entry and its budget --------------------------------

class LedgerV2Test : public LedgerTestBase {
 protected:
  // Appends `e` (a release entry continuing the ledger's last line) after re-hashing it and
  // signing it with `key` over `context` by the openssl command line.
  void AppendForged(json e, const std::string& key, std::string_view context) {
    const std::vector<std::string> lines = Lines(Slurp(ledger_));
    const json last = json::parse(lines.back());
    e["seq"] = last["seq"].get<int64_t>() + 1;
    e["prev_hash"] = last["hash"];
    Rehash(e);
    e["signature"] = SignWithOpensslCli(key, e["hash"].get<std::string>(), context);
    std::ofstream(ledger_, std::ios::app) << e.dump() << "\n";
  }
};

TEST_F(LedgerV2Test, InitMakesAPrivateKeyAndAGenesisEntryOnce) {
  LedgerInitOptions o;
  o.ledger_path = ledger_;
  o.key_path = (dir_ / "own.key").string();
  o.region = "region-a";
  o.epsilon_budget = 3.0;
  o.delta = 1e-6;
  Result<LedgerInitResult> r = InitLedger(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const std::string& f : {ledger_, o.key_path}) {
    EXPECT_EQ((fs::status(f).permissions() & fs::perms::all),
              fs::perms::owner_read | fs::perms::owner_write)
        << f;
  }
  const std::vector<std::string> lines = Lines(Slurp(ledger_));
  ASSERT_EQ(lines.size(), 1u);
  const json g = json::parse(lines[0]);
  std::set<std::string> keys;
  for (auto it = g.begin(); it != g.end(); ++it) keys.insert(it.key());
  EXPECT_EQ(keys,
            (std::set<std::string>{"seq", "format", "time", "region", "public_key",
                                   "epsilon_budget", "delta", "prev_hash", "hash", "signature"}));
  EXPECT_EQ(g["seq"], 0);
  EXPECT_EQ(g["format"], "fedseg-ledger-v2");
  EXPECT_EQ(g["epsilon_budget"], 3.0);
  EXPECT_EQ(g["delta"], 1e-6);
  EXPECT_EQ(g["prev_hash"], kLedgerGenesisHash);
  EXPECT_EQ(g["hash"], r->genesis_hash);
  EXPECT_EQ(g["public_key"], r->public_key);
  EXPECT_TRUE(OpensslCliVerifies(g, g));  // self-signed, domain-separated
  // The key is the region's own: not its TLS key.
  Result<PkeyPtr> own = LoadLedgerPrivateKey(o.key_path);
  Result<PkeyPtr> tls = LoadLedgerPrivateKey(TlsKey("region-a"));
  ASSERT_TRUE(own.ok() && tls.ok());
  EXPECT_FALSE(SameLedgerKey(own->get(), tls->get()));

  // Once: neither the ledger nor the key is ever replaced.
  const std::string text = Slurp(ledger_), pem = Slurp(o.key_path);
  Result<LedgerInitResult> again = InitLedger(o);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsFailedPrecondition()) << again.status().ToString();
  EXPECT_NE(again.status().message().find(ledger_ + " already exists"), std::string::npos)
      << again.status().ToString();
  EXPECT_EQ(Slurp(ledger_), text);
  EXPECT_EQ(Slurp(o.key_path), pem);
  LedgerInitOptions key_exists = o;
  key_exists.ledger_path = (dir_ / "second.jsonl").string();
  again = InitLedger(key_exists);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("the ledger key " + o.key_path + " already exists"),
            std::string::npos)
      << again.status().ToString();
  EXPECT_FALSE(fs::exists(key_exists.ledger_path));
  EXPECT_EQ(Slurp(o.key_path), pem);

  // Relative paths and bad budgets are refused, naming what is wrong.
  LedgerInitOptions relative = o;
  relative.ledger_path = "ledger.jsonl";
  again = InitLedger(relative);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().message(), "the ledger must be an absolute path, got \"ledger.jsonl\"");
  relative = o;
  relative.ledger_path = (dir_ / "third.jsonl").string();
  relative.key_path = "own2.key";
  EXPECT_EQ(InitLedger(relative).status().message(),
            "the ledger key must be an absolute path, got \"own2.key\"");
  relative.key_path = (dir_ / "own3.key").string();
  relative.epsilon_budget = 0;
  EXPECT_EQ(InitLedger(relative).status().message(),
            "epsilon_budget must be finite and positive, got 0");
  EXPECT_FALSE(fs::exists(relative.key_path));
}

TEST_F(LedgerV2Test, AMissingLedgerIsNeverCreatedByTheWriter) {
  Result<std::unique_ptr<LedgerWriter>> w =
      LedgerWriter::Open(ledger_, Key("region-a"), "region-a", "run-1");
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().IsNotFound()) << w.status().ToString();
  EXPECT_NE(w.status().message().find("ledger " + ledger_ + " does not exist"), std::string::npos)
      << w.status().ToString();
  EXPECT_NE(w.status().message().find("fedseg-client ledger init"), std::string::npos);
  EXPECT_FALSE(fs::exists(ledger_));
}

TEST_F(LedgerV2Test, TheWriterNeverExtendsALegacyLedger) {
  WriteText(ledger_, Slurp(FEDSEG_SOURCE_DIR "/tests/fuzz/corpus/ledger/valid_3_entries"));
  const std::string before = Slurp(ledger_);
  Result<std::unique_ptr<LedgerWriter>> w = LedgerWriter::Open(
      ledger_, FEDSEG_SOURCE_DIR "/tests/fuzz/keys/fuzz-region.key", "fuzz-region", "run-1");
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().IsFailedPrecondition()) << w.status().ToString();
  EXPECT_NE(w.status().message().find("is a legacy (v1) ledger"), std::string::npos)
      << w.status().ToString();
  EXPECT_EQ(Slurp(ledger_), before);
}

// Whoever holds the region's TLS key (or made it: a central gen-certs.sh) cannot write to its
// ledger: entries are checked against the ledger's own key in the genesis entry.
TEST_F(LedgerV2Test, AnEntryForgedWithTheTlsKeyIsRefused) {
  std::unique_ptr<LedgerWriter> w = OpenWriter();
  ASSERT_TRUE(w);
  Result<json> e = w->Append(Sampled(1, 0.02, 1.1, 50));
  ASSERT_TRUE(e.ok());
  w.reset();
  ASSERT_TRUE(Verify().ok);
  json forged = *e;
  forged["round"] = 2;
  forged["epsilon_after"] = 100.0;  // over-reported: accepted, so only the signature is wrong
  AppendForged(forged, TlsKey("region-a"), kLedgerSignatureContext);
  for (const std::string& cert : {std::string("region-a"), std::string()}) {
    Result<LedgerVerification> v = VerifyLedger(ledger_, cert.empty() ? "" : Cert(cert));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_FALSE(v->ok);
    EXPECT_TRUE(HasProblem(*v, "line 3 (seq 2): signature does not verify with the ledger's key"))
        << Problems(*v);
    EXPECT_EQ(v->problems.size(), 1u) << Problems(*v);
  }
  // The same entry signed with the ledger's key verifies: the check is the key.
  WriteText(ledger_, JoinLines({Lines(Slurp(ledger_))[0], Lines(Slurp(ledger_))[1]}));
  AppendForged(forged, Key("region-a"), kLedgerSignatureContext);
  EXPECT_TRUE(Verify().ok) << Problems(Verify());
}

TEST_F(LedgerV2Test, ALedgerSignedWithTheTlsKeyIsRefusedAgainstItsCertificate) {
  LedgerInitOptions o;
  o.ledger_path = ledger_;
  o.key_path = TlsKey("region-a");
  o.region = "region-a";
  o.epsilon_budget = 3.0;
  o.delta = kDelta;
  ASSERT_TRUE(CreateLedgerWithKey(o).ok());
  const LedgerVerification v = Verify("region-a");
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 1 (genesis): the ledger's key is the public key of",
                         "the region's TLS key"))
      << Problems(v);
}

TEST_F(LedgerV2Test, SignaturesWithoutTheContextStringAreRefused) {
  std::unique_ptr<LedgerWriter> w = OpenWriter();
  ASSERT_TRUE(w);
  Result<json> e = w->Append(Sampled(1, 0.02, 1.1, 50));
  ASSERT_TRUE(e.ok());
  w.reset();
  json next = *e;
  next["round"] = 2;
  next["epsilon_after"] = 100.0;
  // The ledger's own key over the same hash, without "fedseg-ledger-v2:": not a ledger signature.
  AppendForged(next, Key("region-a"), kLedgerLegacyContext);
  LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(HasProblem(v, "line 3 (seq 2): signature does not verify")) << Problems(v);
  // A genesis entry signed without the context is refused too.
  std::vector<std::string> lines = Lines(Slurp(ledger_));
  json g = json::parse(lines[0]);
  g["signature"] =
      SignWithOpensslCli(Key("region-a"), g["hash"].get<std::string>(), kLedgerLegacyContext);
  lines[0] = g.dump();
  lines.pop_back();
  WriteText(ledger_, JoinLines(lines));
  v = Verify();
  EXPECT_TRUE(HasProblem(v, "line 1 (genesis): the genesis signature does not verify"))
      << Problems(v);
}

TEST_F(LedgerV2Test, AnEditedGenesisIsCaught) {
  WriteStandardLedger();
  std::vector<std::string> lines = Lines(Slurp(ledger_));
  json g = json::parse(lines[0]);
  g["epsilon_budget"] = 1e6;  // a larger budget
  lines[0] = g.dump();
  WriteText(ledger_, JoinLines(lines));
  LedgerVerification v = Verify();
  EXPECT_TRUE(HasProblem(v, "line 1 (genesis): hash mismatch")) << Problems(v);
  Rehash(g);  // re-hashed without the key: the signature and the next entry's prev_hash break
  lines[0] = g.dump();
  WriteText(ledger_, JoinLines(lines));
  v = Verify();
  EXPECT_TRUE(HasProblem(v, "line 1 (genesis): the genesis signature does not verify"))
      << Problems(v);
  EXPECT_TRUE(HasProblem(v, "line 2 (seq 1): prev_hash does not match the hash of line 1"))
      << Problems(v);
}

TEST_F(LedgerV2Test, EpsilonIsStatedAtTheBudgetsDeltaAndComparedWithTheBudget) {
  // The budget at delta 1e-6, the releases at 1e-5: the total is stated at 1e-6.
  LedgerInitOptions o;
  o.ledger_path = ledger_;
  o.key_path = Key("region-a");
  o.region = "region-a";
  o.epsilon_budget = 100.0;
  o.delta = 1e-6;
  ASSERT_TRUE(CreateLedgerWithKey(o).ok());
  {
    std::unique_ptr<LedgerWriter> w = OpenWriter();
    ASSERT_TRUE(w);
    for (const LedgerRelease& r : StandardReleases()) ASSERT_TRUE(w->Append(r).ok());
  }
  LedgerVerification v = Verify();
  EXPECT_TRUE(v.ok) << Problems(v);
  EXPECT_EQ(v.delta, 1e-6);
  const double at_budget_delta = ComposeIndependently(StandardReleases()).GetEpsilon(1e-6)->epsilon;
  EXPECT_EQ(v.epsilon, at_budget_delta);
  EXPECT_GT(v.epsilon, v.rows.back().epsilon_after);  // the last entry's delta (1e-5) says less
  EXPECT_FALSE(v.over_budget);
  EXPECT_EQ(v.epsilon_budget, 100.0);
}

TEST_F(LedgerV2Test, OverBudgetFails) {
  // A writer that does not check the budget (the region's guard does) spends past it.
  const double total = ComposeIndependently(StandardReleases()).GetEpsilon(kDelta)->epsilon;
  CreateLedger("region-a", total * 0.9);
  {
    std::unique_ptr<LedgerWriter> w = OpenWriter();
    ASSERT_TRUE(w);
    for (const LedgerRelease& r : StandardReleases()) ASSERT_TRUE(w->Append(r).ok());
  }
  LedgerVerification v = Verify();
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(v.over_budget);
  EXPECT_TRUE(HasProblem(v, "exceeds the budget", "recorded in the genesis entry")) << Problems(v);
  EXPECT_EQ(v.problems.size(), 1u) << Problems(v);
  // Exactly at the budget is within it.
  std::remove(ledger_.c_str());
  CreateLedger("region-a", total);
  {
    std::unique_ptr<LedgerWriter> w = OpenWriter();
    ASSERT_TRUE(w);
    for (const LedgerRelease& r : StandardReleases()) ASSERT_TRUE(w->Append(r).ok());
  }
  v = Verify();
  EXPECT_TRUE(v.ok) << Problems(v);
  EXPECT_FALSE(v.over_budget);

  const fs::path audit = fs::path(FEDSEG_BIN_DIR) / "fedseg-audit";
  if (!fs::exists(audit)) GTEST_SKIP() << audit << " is not built";
  std::remove(ledger_.c_str());
  CreateLedger("region-a", total * 0.9);
  {
    std::unique_ptr<LedgerWriter> w = OpenWriter();
    ASSERT_TRUE(w);
    for (const LedgerRelease& r : StandardReleases()) ASSERT_TRUE(w->Append(r).ok());
  }
  const fs::path out = dir_ / "audit.json", err = dir_ / "audit.err";
  EXPECT_EQ(Shell("'" + audit.string() + "' verify '" + ledger_ + "' --json >'" + out.string() +
                  "' 2>'" + err.string() + "'"),
            1);
  const json j = json::parse(Slurp(out));
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["over_budget"], true);
  EXPECT_EQ(j["epsilon_budget"], total * 0.9);
  EXPECT_NE(Slurp(err).find("exceeds the budget"), std::string::npos) << Slurp(err);
  EXPECT_EQ(Shell("'" + audit.string() + "' verify '" + ledger_ + "' >'" + out.string() +
                  "' 2>/dev/null"),
            1);
  EXPECT_NE(Slurp(out).find("EXCEEDED"), std::string::npos) << Slurp(out);
}

// Partition selection's delta (a summary's category names): the entry records it, every epsilon
// after it is stated at the rest of delta, the verifier recomputes the same, and a release whose
// selection would use up delta is refused.
TEST_F(LedgerV2Test, SelectionDeltaIsChargedAndVerified) {
  constexpr double kSelection = 2e-6;  // of kDelta = 1e-5
  CreateLedger("region-a");
  LedgerRelease stats = Stats(30.0, 20);
  stats.params["selection_delta"] = kSelection;
  const std::vector<LedgerRelease> releases = {stats, Sampled(1, 0.02, 1.1, 50)};
  {
    std::unique_ptr<LedgerWriter> w = OpenWriter();
    ASSERT_TRUE(w);
    Result<json> first = w->Append(releases[0]);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ((*first)["params"]["selection_delta"], kSelection);
    Result<json> second = w->Append(releases[1]);
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    // Independently: the Gaussian mechanisms alone, at delta minus the selection's delta. The
    // figure is larger than at the whole delta, which would under-state the loss.
    const RdpAccountant gaussians = ComposeIndependently(releases);
    EXPECT_EQ((*second)["epsilon_after"].get<double>(),
              gaussians.GetEpsilon(kDelta - kSelection)->epsilon);
    EXPECT_GT((*second)["epsilon_after"].get<double>(), gaussians.GetEpsilon(kDelta)->epsilon);
    // A second selection that would take the rest of delta: nothing is left to state epsilon at.
    LedgerRelease greedy = Stats(30.0, 1);
    greedy.params["selection_delta"] = kDelta - kSelection;
    Result<json> refused = w->Append(greedy);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("delta 1e-05 is used up: partition selection took "
                                              "1e-05"),
              std::string::npos)
        << refused.status().ToString();
    EXPECT_EQ(w->entries(), 2);
  }
  LedgerVerification v = Verify();
  EXPECT_TRUE(v.ok) << Problems(v);
  ASSERT_EQ(v.rows.size(), 2u);
  EXPECT_EQ(v.rows[1].epsilon_after,
            ComposeIndependently(releases).GetEpsilon(kDelta - kSelection)->epsilon);
  // An edit that drops the selection delta is caught by the hash, and one that claims a
  // selection delta out of range is refused by the parser.
  LedgerRelease bad = Stats(30.0, 1);
  bad.params["selection_delta"] = 0.0;
  EXPECT_EQ(ParseLedgerMechanism(bad.mechanism, bad.params).status().message(),
            "params.selection_delta must be in (0, 1), got 0");
  bad.params["selection_delta"] = "1e-6";
  EXPECT_FALSE(ParseLedgerMechanism(bad.mechanism, bad.params).ok());
  // A sampled_gaussian entry has no selection.
  LedgerRelease sampled = Sampled(1, 0.02, 1.1, 50);
  sampled.params["selection_delta"] = 1e-7;
  EXPECT_EQ(ParseLedgerMechanism(sampled.mechanism, sampled.params).status().message(),
            "unknown field 'params.selection_delta'");
}

}  // namespace
}  // namespace fedseg::privacy
