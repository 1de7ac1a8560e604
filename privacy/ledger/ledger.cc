#include "privacy/ledger/ledger.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <set>
#include <string_view>
#include <utility>

#include "common/base/base64.h"
#include "common/base/file_lock.h"
#include "common/base/file_util.h"
#include "common/base/openssl_error.h"
#include "common/net/x509_identity.h"
#include "common/base/sha256.h"

namespace fedseg::privacy {
namespace {

using json = nlohmann::json;

constexpr std::string_view kSampledGaussian = "sampled_gaussian";
constexpr std::string_view kGaussian = "gaussian";
// Names are copied into every entry; bounded so an entry always fits in kMaxLedgerLineBytes.
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxSensitivityBytes = 1024;
// Recorded ε may fall short of the recomputed one by this relative amount before it counts as
// under-reported: the writer and the verifier run the same code, so any real difference is a bug
// or a forgery, while this leaves room for a writer on another platform whose libm rounds
// differently in the last bits.
constexpr double kEpsilonRelativeTolerance = 1e-9;

// ---- OpenSSL helpers ----------------------------------------------------------------------------

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};

// Never prompt on the terminal for a passphrase: an encrypted key simply fails to load.
int NoPassword(char*, int, int, void*) { return 0; }

Result<PkeyPtr> LoadPrivateKey(const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(std::string pem, ReadFile(path, 1 << 20));
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf: " + TakeOpenSslError());
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassword, nullptr));
  if (!key) {
    return Status::InvalidArgument(path + " is not an unencrypted PEM private key (" +
                                   TakeOpenSslError() + ")");
  }
  return key;
}

struct Certificate {
  PkeyPtr public_key;
  std::string common_name;
};

// `path` names the certificate in messages.
Result<Certificate> ParseCertificate(std::string_view pem, const std::string& path) {
  if (pem.size() > (1 << 20)) {
    return Status::InvalidArgument(path + " is larger than 1 MiB: not a PEM certificate");
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf: " + TakeOpenSslError());
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, NoPassword, nullptr));
  if (!cert) {
    return Status::InvalidArgument(path + " is not a PEM certificate (" + TakeOpenSslError() + ")");
  }
  Certificate out;
  out.public_key.reset(X509_get_pubkey(cert.get()));
  if (!out.public_key) {
    return Status::InvalidArgument(path + ": unreadable public key (" + TakeOpenSslError() + ")");
  }
  FEDSEG_ASSIGN_OR_RETURN(out.common_name, net::CommonName(cert.get(), path));
  return out;
}

Result<Certificate> LoadCertificate(const std::string& path) {
  FEDSEG_ASSIGN_OR_RETURN(std::string pem, ReadFile(path, 1 << 20));
  return ParseCertificate(pem, path);
}

// The padding rule of the format: ECDSA needs none; RSA keys sign with PSS, salt = digest length
// (32 bytes), because PKCS#1 v1.5 has no security proof and PSS with a fixed salt length is what
// `openssl dgst -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest` verifies.
Status ConfigureSignature(EVP_PKEY* key, EVP_PKEY_CTX* pctx) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC) return Status::OK();
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0) {
      return Status::Internal("setting RSA-PSS parameters: " + TakeOpenSslError());
    }
    return Status::OK();
  }
  return Status::InvalidArgument(std::string("unsupported key type ") + OBJ_nid2sn(id) +
                                 " (the ledger signs with EC or RSA keys)");
}

Status CheckKeyType(EVP_PKEY* key, const std::string& path) {
  const int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_EC || id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) return Status::OK();
  return Status::InvalidArgument(path + ": unsupported key type " + OBJ_nid2sn(id) +
                                 " (the ledger signs with EC or RSA keys)");
}

// base64 of the signature over the ASCII text of `hash_hex`.
Result<std::string> SignHash(EVP_PKEY* key, const std::string& hash_hex) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) != 1) {
    return Status::Internal("EVP_DigestSignInit: " + TakeOpenSslError());
  }
  FEDSEG_RETURN_IF_ERROR(ConfigureSignature(key, pctx));
  const auto* msg = reinterpret_cast<const unsigned char*>(hash_hex.data());
  size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, msg, hash_hex.size()) != 1) {
    return Status::Internal("EVP_DigestSign: " + TakeOpenSslError());
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, msg,
                     hash_hex.size()) != 1) {
    return Status::Internal("EVP_DigestSign: " + TakeOpenSslError());
  }
  sig.resize(len);
  return Base64Encode(sig);
}

// True iff `signature` (raw bytes) is key's signature over the ASCII text of `hash_hex`.
bool VerifyHashSignature(EVP_PKEY* key, const std::string& hash_hex, const std::string& signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) == 1 &&
      ConfigureSignature(key, pctx).ok() &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(hash_hex.data()),
                       hash_hex.size()) == 1;
  ERR_clear_error();  // a bad signature leaves reasons in the queue; the caller reports its own
  return ok;
}

// ---- entry fields -------------------------------------------------------------------------------

bool IsLowerHex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// "YYYY-MM-DDTHH:MM:SSZ" with plausible field ranges.
bool IsIsoUtcTime(std::string_view s) {
  static constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:ddZ";
  if (s.size() != kPattern.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (kPattern[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != kPattern[i]) return false;
  }
  auto num = [&](size_t pos) { return (s[pos] - '0') * 10 + (s[pos + 1] - '0'); };
  return num(5) >= 1 && num(5) <= 12 && num(8) >= 1 && num(8) <= 31 && num(11) <= 23 &&
         num(14) <= 59 && num(17) <= 60;
}

std::string NowUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string Num(double v) {
  char buf[64];
  for (int digits = 1; digits <= 17; ++digits) {  // shortest text that reads back as v
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// A JSON value in a message: short, and never throwing on odd content.
std::string Show(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

Result<double> GetNumber(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::InvalidArgument(where + key + " is missing");
  if (!it->is_number()) {
    return Status::InvalidArgument(where + key + " must be a number, got " + Show(*it));
  }
  const double v = it->get<double>();
  if (!std::isfinite(v)) {
    return Status::InvalidArgument(where + key + " must be finite, got " + Show(*it));
  }
  return v;
}

// Integers may arrive as JSON floats with an integral value (1e3); anything else is refused.
Result<int64_t> GetInteger(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::InvalidArgument(where + key + " is missing");
  const Status bad = Status::InvalidArgument(where + key + " must be an integer, got " + Show(*it));
  if (it->is_number_unsigned()) {
    const uint64_t u = it->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return bad;
    return static_cast<int64_t>(u);
  }
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::abs(d) < 9.2e18) {
      return static_cast<int64_t>(d);
    }
  }
  return bad;
}

Result<std::string> GetString(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return Status::InvalidArgument(where + key + " is missing");
  if (!it->is_string()) {
    return Status::InvalidArgument(where + key + " must be a string, got " + Show(*it));
  }
  return it->get<std::string>();
}

Status CheckKeys(const json& obj, const std::set<std::string>& required,
                 const std::set<std::string>& optional, const std::string& where) {
  for (const std::string& k : required) {
    if (!obj.contains(k)) return Status::InvalidArgument(where + k + " is missing");
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!required.count(it.key()) && !optional.count(it.key())) {
      return Status::InvalidArgument("unknown field '" + where + it.key() + "'");
    }
  }
  return Status::OK();
}

// A release's mechanism and parameters, validated.
struct Mechanism {
  bool sampled = false;  // "sampled_gaussian"; else "gaussian" (q = 1)
  double sampling_rate = 1.0;
  double noise_multiplier = 0.0;
  double clip_norm = 0.0;
  int64_t steps = 0;        // steps, or count for "gaussian"
  std::string sensitivity;  // "gaussian" only; optional
  bool has_sensitivity = false;

  std::string name() const { return std::string(sampled ? kSampledGaussian : kGaussian); }

  // The params object exactly as the writer stores it: typed (doubles stay doubles even when the
  // caller passed 1, counts are integers), so the canonical form does not depend on the caller.
  json Params() const {
    json p = json::object();
    p["noise_multiplier"] = noise_multiplier;
    p["clip_norm"] = clip_norm;
    if (sampled) {
      p["sampling_rate"] = sampling_rate;
      p["steps"] = steps;
    } else {
      p["count"] = steps;
      if (has_sensitivity) p["sensitivity"] = sensitivity;
    }
    return p;
  }

  Status AddTo(RdpAccountant& accountant) const {
    return sampled ? accountant.AddSampledGaussian(sampling_rate, noise_multiplier, steps)
                   : accountant.AddGaussian(noise_multiplier, steps);
  }
};

Result<Mechanism> ParseMechanism(const std::string& name, const json& params) {
  Mechanism m;
  if (name == kSampledGaussian) {
    m.sampled = true;
  } else if (name != kGaussian) {
    return Status::InvalidArgument(
        "mechanism must be \"sampled_gaussian\" or \"gaussian\", got \"" + name + "\"");
  }
  const std::string where = "params.";
  if (!params.is_object()) {
    return Status::InvalidArgument("params must be an object, got " + Show(params));
  }
  if (m.sampled) {
    FEDSEG_RETURN_IF_ERROR(
        CheckKeys(params, {"sampling_rate", "noise_multiplier", "clip_norm", "steps"}, {}, where));
    FEDSEG_ASSIGN_OR_RETURN(m.sampling_rate, GetNumber(params, "sampling_rate", where));
    FEDSEG_ASSIGN_OR_RETURN(m.steps, GetInteger(params, "steps", where));
    if (!(m.sampling_rate > 0.0 && m.sampling_rate <= 1.0)) {
      return Status::InvalidArgument("params.sampling_rate must be in (0, 1], got " +
                                     Num(m.sampling_rate));
    }
  } else {
    FEDSEG_RETURN_IF_ERROR(
        CheckKeys(params, {"noise_multiplier", "count", "clip_norm"}, {"sensitivity"}, where));
    FEDSEG_ASSIGN_OR_RETURN(m.steps, GetInteger(params, "count", where));
    if (params.contains("sensitivity")) {
      FEDSEG_ASSIGN_OR_RETURN(m.sensitivity, GetString(params, "sensitivity", where));
      m.has_sensitivity = true;
      // ASCII keeps every entry valid UTF-8 whatever the caller passes (dump() would throw).
      if (m.sensitivity.size() > kMaxSensitivityBytes || !IsPrintableAscii(m.sensitivity)) {
        return Status::InvalidArgument("params.sensitivity must be at most " +
                                       std::to_string(kMaxSensitivityBytes) +
                                       " printable ASCII characters");
      }
    }
  }
  FEDSEG_ASSIGN_OR_RETURN(m.noise_multiplier, GetNumber(params, "noise_multiplier", where));
  FEDSEG_ASSIGN_OR_RETURN(m.clip_norm, GetNumber(params, "clip_norm", where));
  if (!(m.noise_multiplier > 0.0)) {
    return Status::InvalidArgument("params.noise_multiplier must be positive, got " +
                                   Num(m.noise_multiplier));
  }
  if (!(m.clip_norm > 0.0)) {
    return Status::InvalidArgument("params.clip_norm must be positive, got " + Num(m.clip_norm));
  }
  if (m.steps < 1) {
    return Status::InvalidArgument(std::string("params.") + (m.sampled ? "steps" : "count") +
                                   " must be a positive integer, got " + std::to_string(m.steps));
  }
  return m;
}

Status CheckDelta(double delta) {
  if (!(delta > 0.0 && delta < 1.0)) {
    return Status::InvalidArgument("delta must be in (0, 1), got " + Num(delta));
  }
  return Status::OK();
}

Status CheckModelHash(const std::string& hash, bool required) {
  if (hash.empty()) {
    if (required) return Status::InvalidArgument("model_sha256 is required for sampled_gaussian");
    return Status::OK();
  }
  if (!IsLowerHex64(hash)) {
    return Status::InvalidArgument("model_sha256 must be 64 lowercase hex digits, got \"" +
                                   hash.substr(0, 80) + "\"");
  }
  return Status::OK();
}

Status CheckName(const std::string& value, const char* what) {
  if (value.empty() || value.size() > kMaxNameBytes || !IsPrintableAscii(value)) {
    return Status::InvalidArgument(
        std::string(what) + " must be 1-" + std::to_string(kMaxNameBytes) +
        " printable ASCII characters, got \"" + value.substr(0, 80) + "\"");
  }
  return Status::OK();
}

// An entry's fields, read and checked for type and range (not for integrity).
struct Entry {
  int64_t seq = 0;
  std::string time, region, run_id, mechanism;
  uint32_t round = 0;
  Mechanism mech;
  double delta = 0.0, epsilon_after = 0.0, order = 0.0;
  std::string model_sha256, prev_hash, hash, signature;
};

const std::set<std::string>& EntryKeys() {
  static const std::set<std::string> keys = {
      "seq",   "time",          "region", "run_id",       "round",     "mechanism", "params",
      "delta", "epsilon_after", "order",  "model_sha256", "prev_hash", "hash",      "signature"};
  return keys;
}

Result<Entry> ParseEntry(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("not a JSON object");
  FEDSEG_RETURN_IF_ERROR(CheckKeys(j, EntryKeys(), {}, ""));
  Entry e;
  FEDSEG_ASSIGN_OR_RETURN(e.seq, GetInteger(j, "seq", ""));
  if (e.seq < 1) return Status::InvalidArgument("seq must be >= 1, got " + std::to_string(e.seq));
  FEDSEG_ASSIGN_OR_RETURN(e.time, GetString(j, "time", ""));
  if (!IsIsoUtcTime(e.time)) {
    return Status::InvalidArgument("time must be UTC ISO-8601 (YYYY-MM-DDTHH:MM:SSZ), got \"" +
                                   e.time.substr(0, 80) + "\"");
  }
  FEDSEG_ASSIGN_OR_RETURN(e.region, GetString(j, "region", ""));
  FEDSEG_RETURN_IF_ERROR(CheckName(e.region, "region"));
  FEDSEG_ASSIGN_OR_RETURN(e.run_id, GetString(j, "run_id", ""));
  FEDSEG_RETURN_IF_ERROR(CheckName(e.run_id, "run_id"));
  FEDSEG_ASSIGN_OR_RETURN(int64_t round, GetInteger(j, "round", ""));
  if (round < 0 || round > int64_t{std::numeric_limits<uint32_t>::max()}) {
    return Status::InvalidArgument("round must be in [0, 2^32), got " + std::to_string(round));
  }
  e.round = static_cast<uint32_t>(round);
  FEDSEG_ASSIGN_OR_RETURN(e.mechanism, GetString(j, "mechanism", ""));
  FEDSEG_ASSIGN_OR_RETURN(e.mech, ParseMechanism(e.mechanism, *j.find("params")));
  FEDSEG_ASSIGN_OR_RETURN(e.delta, GetNumber(j, "delta", ""));
  FEDSEG_RETURN_IF_ERROR(CheckDelta(e.delta));
  FEDSEG_ASSIGN_OR_RETURN(e.epsilon_after, GetNumber(j, "epsilon_after", ""));
  if (e.epsilon_after < 0) {
    return Status::InvalidArgument("epsilon_after must be >= 0, got " + Num(e.epsilon_after));
  }
  FEDSEG_ASSIGN_OR_RETURN(e.order, GetNumber(j, "order", ""));
  FEDSEG_ASSIGN_OR_RETURN(e.model_sha256, GetString(j, "model_sha256", ""));
  FEDSEG_RETURN_IF_ERROR(CheckModelHash(e.model_sha256, e.mech.sampled));
  FEDSEG_ASSIGN_OR_RETURN(e.prev_hash, GetString(j, "prev_hash", ""));
  if (!IsLowerHex64(e.prev_hash)) {
    return Status::InvalidArgument("prev_hash must be 64 lowercase hex digits");
  }
  FEDSEG_ASSIGN_OR_RETURN(e.hash, GetString(j, "hash", ""));
  if (!IsLowerHex64(e.hash)) return Status::InvalidArgument("hash must be 64 lowercase hex digits");
  FEDSEG_ASSIGN_OR_RETURN(e.signature, GetString(j, "signature", ""));
  return e;
}

// The `hash` of an entry: SHA-256 of the dump() of everything but `hash` and `signature`.
std::string EntryHash(const json& entry) {
  json content = entry;
  content.erase("hash");
  content.erase("signature");
  return Sha256Hex(content.dump());
}

// ---- verification -------------------------------------------------------------------------------

// Who signs the entries and what their `region` must be.
struct Signer {
  EVP_PKEY* key = nullptr;
  std::string region;       // expected `region` of every entry
  std::string region_from;  // "the certificate's subject CN" / "the writer's region"
  std::string key_from;     // "the certificate's public key" / "the signing key"
};

struct VerifiedLedger {
  LedgerVerification report;
  RdpAccountant accountant;  // every entry whose parameters could be read
};

VerifiedLedger VerifyText(std::string_view text, const Signer& signer,
                          const LedgerVerifyOptions& options) {
  VerifiedLedger out;
  LedgerVerification& v = out.report;
  std::optional<int64_t> prev_seq = 0;  // the genesis "entry 0"
  std::optional<std::string> prev_hash = std::string(kLedgerGenesisHash);
  const EpsilonResult none{0.0, 0.0};
  EpsilonResult last = none;
  int64_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    const size_t nl = text.find('\n', pos);
    const bool complete = nl != std::string_view::npos;
    const std::string_view line = text.substr(pos, complete ? nl - pos : std::string_view::npos);
    pos = complete ? nl + 1 : text.size();

    std::string where = "line " + std::to_string(line_no) + ": ";
    bool line_ok = true;
    auto problem = [&](const std::string& msg) {
      v.problems.push_back(where + msg);
      line_ok = false;
    };
    // What the next line is checked against; unknown unless this line says.
    std::optional<int64_t> this_seq;
    std::optional<std::string> this_hash;
    auto advance = [&] {
      prev_seq = this_seq;
      prev_hash = this_hash;
    };

    if (!complete) {
      problem(
          "the last line has no newline: an append was interrupted (crash or full disk) or the "
          "file was cut");
    }
    if (line.empty()) {
      problem("empty line");
      advance();
      continue;
    }
    if (line.size() > kMaxLedgerLineBytes) {
      problem("longer than " + std::to_string(kMaxLedgerLineBytes) + " bytes; not parsed");
      advance();
      continue;
    }
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      problem("not valid JSON");
      advance();
      continue;
    }
    // Best-effort chain fields even from an entry that fails validation below, so one bad field
    // does not make every later line look out of place.
    if (j.is_object()) {
      if (auto it = j.find("seq"); it != j.end() && it->is_number_integer()) {
        this_seq = it->get<int64_t>();
        where = "line " + std::to_string(line_no) + " (seq " + std::to_string(*this_seq) + "): ";
      }
      if (auto it = j.find("hash"); it != j.end() && it->is_string()) {
        this_hash = it->get<std::string>();
      }
    }
    Result<Entry> parsed = ParseEntry(j);
    if (!parsed.ok()) {
      problem(parsed.status().message());
      advance();
      continue;
    }
    const Entry& e = *parsed;

    if (line_no == 1 && e.seq != 1) {
      problem("seq is " + std::to_string(e.seq) +
              ", expected 1: the ledger does not start at its first entry");
    } else if (line_no > 1 && prev_seq &&
               (*prev_seq == std::numeric_limits<int64_t>::max() || e.seq != *prev_seq + 1)) {
      // (A forged previous seq of 2^63 - 1 has no successor; +1 would overflow.)
      problem("seq " + std::to_string(e.seq) + " follows seq " + std::to_string(*prev_seq) +
              " (expected " +
              (*prev_seq == std::numeric_limits<int64_t>::max() ? std::string("none")
                                                                : std::to_string(*prev_seq + 1)) +
              "): an entry was removed, inserted or moved");
    }
    if (line_no == 1 && e.prev_hash != kLedgerGenesisHash) {
      problem("prev_hash is not the genesis hash (64 zeros): entries before this one are missing");
    } else if (line_no > 1 && prev_hash && e.prev_hash != *prev_hash) {
      problem("prev_hash does not match the hash of line " + std::to_string(line_no - 1) +
              ": the entry before this one was removed, replaced or moved");
    }
    const std::string recomputed_hash = EntryHash(j);
    if (recomputed_hash != e.hash) {
      problem("hash mismatch: the content hashes to " + recomputed_hash + ", not to the recorded " +
              e.hash + ": the entry was edited after it was written");
    }
    const std::optional<std::string> signature = Base64Decode(e.signature);
    if (!signature) {
      problem("signature is not canonical base64");
    } else if (!VerifyHashSignature(signer.key, e.hash, *signature)) {
      problem("signature does not verify with " + signer.key_from +
              ": the entry was signed by another key (another region?), or edited and re-hashed "
              "without the region's key");
    }
    if (e.region != signer.region) {
      problem("region \"" + e.region + "\" is not " + signer.region_from + " \"" + signer.region +
              "\"");
    }
    if (line != j.dump()) {
      problem(
          "the line is not in canonical form (nlohmann::json dump() of the entry): it was "
          "re-serialized or edited");
    }

    LedgerEntryReport row;
    row.line = line_no;
    row.seq = e.seq;
    row.round = e.round;
    row.run_id = e.run_id;
    row.mechanism = e.mechanism;
    row.sampling_rate = e.mech.sampling_rate;
    row.noise_multiplier = e.mech.noise_multiplier;
    row.steps = e.mech.steps;
    row.delta = e.delta;
    row.epsilon_recorded = e.epsilon_after;
    // The entry's own cost, and the total with every earlier entry, from the recorded
    // parameters alone: the recorded epsilon_after is only compared, never trusted.
    RdpAccountant alone;
    Status added = e.mech.AddTo(out.accountant);
    if (added.ok()) added = e.mech.AddTo(alone);
    Result<EpsilonResult> after = Status::Internal("not computed");
    Result<EpsilonResult> own = Status::Internal("not computed");
    if (added.ok()) {
      after = out.accountant.GetEpsilon(e.delta);
      own = alone.GetEpsilon(e.delta);
      if (!after.ok()) added = after.status();
      if (!own.ok()) added = own.status();
    }
    if (!added.ok()) {
      problem("cannot recompute epsilon: " + added.message());
    } else {
      row.epsilon_after = after->epsilon;
      row.order = after->order;
      row.epsilon_round = own->epsilon;
      last = *after;
      v.delta = e.delta;
      if (e.epsilon_after < after->epsilon * (1.0 - kEpsilonRelativeTolerance)) {
        problem("epsilon_after " + Num(e.epsilon_after) + " is below the recomputed " +
                Num(after->epsilon) + " (delta " + Num(e.delta) +
                "): the writer under-reported the privacy spent");
      }
    }
    row.ok = line_ok;
    v.rows.push_back(std::move(row));
    advance();
  }

  v.entries = line_no;
  v.head_hash = line_no == 0 ? std::string(kLedgerGenesisHash) : prev_hash.value_or("");
  v.epsilon = last.epsilon;
  v.order = last.order;
  if (options.expect_entries && *options.expect_entries != v.entries) {
    v.problems.push_back("the ledger has " + std::to_string(v.entries) + " entries, but " +
                         std::to_string(*options.expect_entries) +
                         " were expected: entries were removed from the end, or added");
  }
  if (options.expect_head && *options.expect_head != v.head_hash) {
    v.problems.push_back("the head hash " + (v.head_hash.empty() ? "(unreadable)" : v.head_hash) +
                         " is not the expected " + *options.expect_head +
                         ": the ledger was truncated, extended or replaced since that head was "
                         "reported");
  }
  v.ok = v.problems.empty();
  return out;
}

}  // namespace

// ---- LedgerWriter -------------------------------------------------------------------------------

struct LedgerWriter::Key {
  PkeyPtr pkey;
};

LedgerWriter::~LedgerWriter() = default;

Result<std::unique_ptr<LedgerWriter>> LedgerWriter::Open(const std::string& path,
                                                         const std::string& key_file,
                                                         const std::string& region,
                                                         const std::string& run_id) {
  FEDSEG_RETURN_IF_ERROR(CheckName(region, "region"));
  FEDSEG_RETURN_IF_ERROR(CheckName(run_id, "run_id"));
  FEDSEG_ASSIGN_OR_RETURN(PkeyPtr key, LoadPrivateKey(key_file));
  FEDSEG_RETURN_IF_ERROR(CheckKeyType(key.get(), key_file));

  std::unique_ptr<LedgerWriter> w(new LedgerWriter());
  w->path_ = path;
  w->region_ = region;
  w->run_id_ = run_id;
  w->key_ = std::make_unique<Key>(Key{std::move(key)});

  bool created = false;
  FileLock::Options lock_options;
  lock_options.create = true;
  Result<FileLock> lock = FileLock::Acquire(path, lock_options, &created);
  if (!lock.ok()) {
    if (lock.status().IsFailedPrecondition()) {
      // flock is per open file: a second LedgerWriter in the same process conflicts too, so a
      // caller replacing its writer must destroy the old one before opening the new one.
      return Status::FailedPrecondition(
          "ledger " + path +
          " is open in another writer (another process of this region, or a LedgerWriter of this "
          "process not yet destroyed); two writers would fork its hash chain");
    }
    return Status::IOError("cannot open ledger: " + lock.status().message());
  }
  w->lock_ = std::move(lock).value();
  if (created) {
    // The new file's directory entry must survive a crash as surely as the lines written to it.
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);  // best effort: some file systems refuse fsync on directories
      ::close(dfd);
    }
  }
  FEDSEG_ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxLedgerBytes));
  Signer signer{w->key_->pkey.get(), region, "the writer's region", "the signing key " + key_file};
  VerifiedLedger verified = VerifyText(text, signer, {});
  const LedgerVerification& v = verified.report;
  if (!v.ok) {
    std::string msg = "ledger " + path +
                      " does not verify; refusing to extend it (run "
                      "fedseg-audit verify for the full report): ";
    for (size_t i = 0; i < v.problems.size() && i < 3; ++i) msg += (i ? "; " : "") + v.problems[i];
    if (v.problems.size() > 3) msg += "; and " + std::to_string(v.problems.size() - 3) + " more";
    return Status::Corruption(msg);
  }
  w->accountant_ = std::move(verified.accountant);
  w->head_hash_ = v.head_hash;
  w->entries_ = v.entries;
  w->expected_size_ = text.size();
  return w;
}

namespace {

struct PreparedRelease {
  Mechanism mech;
  RdpAccountant accountant;  // every entry plus this release
  EpsilonResult epsilon;
};

Result<PreparedRelease> Prepare(const RdpAccountant& accountant, const LedgerRelease& release) {
  PreparedRelease p{Mechanism{}, accountant, EpsilonResult{0.0, 0.0}};
  FEDSEG_ASSIGN_OR_RETURN(p.mech, ParseMechanism(release.mechanism, release.params));
  FEDSEG_RETURN_IF_ERROR(CheckDelta(release.delta));
  FEDSEG_RETURN_IF_ERROR(CheckModelHash(release.model_sha256, p.mech.sampled));
  FEDSEG_RETURN_IF_ERROR(p.mech.AddTo(p.accountant));
  FEDSEG_ASSIGN_OR_RETURN(p.epsilon, p.accountant.GetEpsilon(release.delta));
  return p;
}

}  // namespace

Result<nlohmann::json> LedgerWriter::Append(const LedgerRelease& release) {
  if (failed_) {
    return Status::FailedPrecondition("an earlier append to " + path_ +
                                      " failed; reopen the ledger to verify it");
  }
  Result<PreparedRelease> prepared = Prepare(accountant_, release);
  if (!prepared.ok()) return prepared.status().WithContext("ledger release");
  PreparedRelease& p = *prepared;

  // Someone else wrote to the file (an editor, a copy over it, a torn earlier write): whatever
  // it is, the chain we hold in memory no longer describes the file.
  struct stat st {};
  if (::fstat(lock_.fd(), &st) != 0) {
    return Status::IOError("stat " + path_ + ": " + std::strerror(errno));
  }
  if (static_cast<uint64_t>(st.st_size) != expected_size_) {
    failed_ = true;
    return Status::Corruption("ledger " + path_ + " changed on disk since it was opened (" +
                              std::to_string(st.st_size) + " bytes, expected " +
                              std::to_string(expected_size_) + "); not appending");
  }

  json entry = json::object();
  entry["seq"] = entries_ + 1;
  entry["time"] = NowUtc();
  entry["region"] = region_;
  entry["run_id"] = run_id_;
  entry["round"] = release.round;
  entry["mechanism"] = p.mech.name();
  entry["params"] = p.mech.Params();
  entry["delta"] = release.delta;
  entry["epsilon_after"] = p.epsilon.epsilon;
  entry["order"] = p.epsilon.order;
  entry["model_sha256"] = release.model_sha256;
  entry["prev_hash"] = head_hash_;
  const std::string hash = Sha256Hex(entry.dump());
  FEDSEG_ASSIGN_OR_RETURN(std::string signature, SignHash(key_->pkey.get(), hash));
  entry["hash"] = hash;
  entry["signature"] = signature;
  const std::string line = entry.dump();
  if (line.size() > kMaxLedgerLineBytes) {
    return Status::InvalidArgument("ledger entry is " + std::to_string(line.size()) +
                                   " bytes, over the " + std::to_string(kMaxLedgerLineBytes) +
                                   "-byte line limit");
  }
  Status written = AppendLineDurable(path_, line);
  if (!written.ok()) {
    failed_ = true;  // part of the line may be on disk
    return written;
  }
  accountant_ = std::move(p.accountant);
  head_hash_ = hash;
  ++entries_;
  expected_size_ += line.size() + 1;
  return entry;
}

Result<EpsilonResult> LedgerWriter::EpsilonIfAppended(const LedgerRelease& release) const {
  FEDSEG_ASSIGN_OR_RETURN(PreparedRelease p, Prepare(accountant_, release));
  return p.epsilon;
}

Result<EpsilonResult> LedgerWriter::CurrentEpsilon(double delta) const {
  FEDSEG_RETURN_IF_ERROR(CheckDelta(delta));
  // With nothing released the exact answer is 0; the RDP conversion of an empty accountant would
  // report a small positive number (the conversion's own slack at the largest order).
  if (entries_ == 0) return EpsilonResult{0.0, 0.0};
  return accountant_.GetEpsilon(delta);
}

// ---- VerifyLedger -------------------------------------------------------------------------------

namespace {

// The checks VerifyLedger and VerifyLedgerText make on the caller's options, normalised.
Result<LedgerVerifyOptions> CheckVerifyOptions(const LedgerVerifyOptions& options) {
  LedgerVerifyOptions opts = options;
  if (opts.expect_head) {
    std::string h = *opts.expect_head;
    for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!IsLowerHex64(h)) {
      return Status::InvalidArgument("expected head hash must be 64 hex digits, got \"" +
                                     opts.expect_head->substr(0, 80) + "\"");
    }
    opts.expect_head = h;
  }
  if (opts.expect_entries && *opts.expect_entries < 0) {
    return Status::InvalidArgument("expected entry count must be >= 0, got " +
                                   std::to_string(*opts.expect_entries));
  }
  return opts;
}

}  // namespace

Result<LedgerVerification> VerifyLedger(const std::string& ledger_path,
                                        const std::string& cert_file,
                                        const LedgerVerifyOptions& options) {
  FEDSEG_ASSIGN_OR_RETURN(LedgerVerifyOptions opts, CheckVerifyOptions(options));
  Result<Certificate> cert = LoadCertificate(cert_file);
  if (!cert.ok()) return cert.status();
  FEDSEG_RETURN_IF_ERROR(CheckKeyType(cert->public_key.get(), cert_file));
  Result<std::string> text = ReadFile(ledger_path, kMaxLedgerBytes);
  if (!text.ok()) return text.status().WithContext("reading the ledger");
  Signer signer{cert->public_key.get(), cert->common_name, "the certificate's subject CN",
                "the public key of " + cert_file};
  return VerifyText(*text, signer, opts).report;
}

Result<LedgerVerification> VerifyLedgerText(std::string_view ledger_text, std::string_view cert_pem,
                                            const std::string& cert_source,
                                            const LedgerVerifyOptions& options) {
  FEDSEG_ASSIGN_OR_RETURN(LedgerVerifyOptions opts, CheckVerifyOptions(options));
  if (ledger_text.size() > kMaxLedgerBytes) {
    return Status::InvalidArgument("the ledger is " + std::to_string(ledger_text.size()) +
                                   " bytes, more than the " + std::to_string(kMaxLedgerBytes) +
                                   "-byte limit");
  }
  FEDSEG_ASSIGN_OR_RETURN(Certificate cert, ParseCertificate(cert_pem, cert_source));
  FEDSEG_RETURN_IF_ERROR(CheckKeyType(cert.public_key.get(), cert_source));
  Signer signer{cert.public_key.get(), cert.common_name, "the certificate's subject CN",
                "the public key of " + cert_source};
  return VerifyText(ledger_text, signer, opts).report;
}

}  // namespace fedseg::privacy
