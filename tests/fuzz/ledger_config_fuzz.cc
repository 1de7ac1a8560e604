// Fuzz targets: the privacy ledger and JSON configs (see fuzz_targets.h).
#include <algorithm>
#include <string>
#include <string_view>

#include "common/base/json_config.h"
#include "coordinator/config.h"
#include "privacy/ledger/ledger.h"
#include "tests/fuzz/fuzz_targets.h"

namespace fedseg::fuzz {
namespace {

// tests/fuzz/keys/fuzz-region.crt (a throwaway test key, CN fuzz-region), which signed the
// legacy (v1) ledgers of the seed corpus; the v2 seeds carry their own keys. Kept inline so the
// fuzzer needs no file.
constexpr std::string_view kLedgerCert = R"(
-----BEGIN CERTIFICATE-----
MIIBgzCCASmgAwIBAgIUafX2k+VyoJIQ7VdMMyMOFbzNEUcwCgYIKoZIzj0EAwIw
FjEUMBIGA1UEAwwLZnV6ei1yZWdpb24wIBcNMjYxMTI4MDMzMzAzWhgPMjEyNjEx
MDQwMzMzMDNaMBYxFDASBgNVBAMMC2Z1enotcmVnaW9uMFkwEwYHKoZIzj0CAQYI
KoZIzj0DAQcDQgAEx4d3NbpxoL1p5DNIApPojX3LUZIQBXNiaLmP1zp4vxizeFu+
iiWkXgWhEMErCNVlyzH7lShhN8St+nJr4tDQ9aNTMFEwHQYDVR0OBBYEFNP91yC1
EqVhYH5eDUqfjlfW8g+rMB8GA1UdIwQYMBaAFNP91yC1EqVhYH5eDUqfjlfW8g+r
MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhAMIKfYOIrUqXag/w
USey7eLri83r3yMjQ24OLVnsIATaAiAjAAB1UhVetaApwWxl+gGiOuA5o5lSmZBd
1u12MuMaTw==
-----END CERTIFICATE-----
)";

}  // namespace

int FuzzLedger(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<privacy::LedgerVerification> v =
      privacy::VerifyLedgerText(text, kLedgerCert, "fuzz-region.crt");
  FEDSEG_FUZZ_CHECK(v.ok(), "ledger problems are reported in the result, not as an error");
  int64_t lines = 0;
  for (char c : text) lines += c == '\n';
  if (!text.empty() && text.back() != '\n') ++lines;
  // A v2 ledger's first line is its genesis entry, not a release; a legacy one has none.
  const int64_t releases = v->legacy ? lines : std::max<int64_t>(0, lines - 1);
  FEDSEG_FUZZ_CHECK(v->entries == releases, "one entry per line after the genesis entry");
  FEDSEG_FUZZ_CHECK(v->ok == v->problems.empty(), "ok means no problem");
  FEDSEG_FUZZ_CHECK(v->rows.size() <= static_cast<size_t>(releases), "at most one row per entry");
  if (v->ok) {
    FEDSEG_FUZZ_CHECK(static_cast<int64_t>(v->rows.size()) == releases,
                      "every entry of a good ledger is a row");
    FEDSEG_FUZZ_CHECK(v->epsilon >= 0.0, "epsilon of a good ledger is >= 0");
    FEDSEG_FUZZ_CHECK(!v->over_budget, "a good ledger is within its budget");
  }
  return 0;
}

int FuzzJsonConfig(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<nlohmann::json> j = ParseJsonConfig(text, "fuzz.json");
  if (!j.ok()) {
    FEDSEG_FUZZ_CHECK(j.status().message().find("fuzz.json") != std::string::npos,
                      "config errors name the file");
    return 0;
  }
  FEDSEG_FUZZ_CHECK(j->is_object(), "an accepted config is an object");
  Result<coordinator::CoordinatorConfig> c =
      coordinator::CoordinatorConfigFromJson(*j, "fuzz.json");
  if (!c.ok()) return 0;
  FEDSEG_FUZZ_CHECK(c->Validate().ok(), "an accepted config is valid");
  // The effective config, written out (report.json does this), reads back to the same.
  const nlohmann::json dumped = c->ToJson();
  (void)dumped.dump();
  return 0;
}

}  // namespace fedseg::fuzz
