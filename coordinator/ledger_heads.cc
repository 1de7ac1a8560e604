#include "coordinator/ledger_heads.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/base/file_util.h"
#include "common/base/sha256.h"

namespace fedseg::coordinator {

Result<LedgerHeads> LedgerHeads::Load(const std::string& path) {
  LedgerHeads h;
  h.path_ = path;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return h;
  FEDSEG_ASSIGN_OR_RETURN(std::string text, ReadFile(path, uint64_t{64} << 20));
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("version", 0) != 1 || !j.contains("regions") ||
      !j["regions"].is_object()) {
    return Status::Corruption(path +
                              ": not a ledger-heads file (a JSON object with version 1 and "
                              "\"regions\"); it records the regions' ledger heads across runs, "
                              "restore it from a backup rather than deleting it");
  }
  for (auto it = j["regions"].begin(); it != j["regions"].end(); ++it) {
    const nlohmann::json& r = it.value();
    if (!r.is_object() || !r.contains("head") || !r["head"].is_string() ||
        !IsSha256Hex(r["head"].get<std::string>()) || !r.contains("entries") ||
        !r["entries"].is_number_unsigned()) {
      return Status::Corruption(path + ": regions." + it.key() +
                                " must have a 64-hex-digit \"head\" and an integer \"entries\"");
    }
    h.heads_[it.key()] = Head{r["head"].get<std::string>(), r["entries"].get<uint64_t>()};
  }
  return h;
}

Status LedgerHeads::Observe(const std::string& region, const std::string& head, uint64_t entries) {
  if (head.empty()) return Status::OK();
  if (!IsSha256Hex(head)) {
    return Status::InvalidArgument("region " + region +
                                   " reported a ledger head that is not 64 lowercase hex digits");
  }
  auto it = heads_.find(region);
  if (it != heads_.end()) {
    const Head& was = it->second;
    if (entries < was.entries || (entries == was.entries && head != was.head)) {
      return Status::FailedPrecondition(
          "region " + region + "'s privacy ledger went backwards: it reports head " + head + " (" +
          std::to_string(entries) + " entries), but reported " + was.head + " (" +
          std::to_string(was.entries) + " entries) before (" + path_ +
          "); its ledger was truncated, replaced or forked, which would reset its spent budget");
    }
    if (entries == was.entries) return Status::OK();  // the same head
  }
  heads_[region] = Head{head, entries};
  nlohmann::json j = {{"version", 1}, {"regions", nlohmann::json::object()}};
  for (const auto& [name, h] : heads_) {
    j["regions"][name] = {{"head", h.head}, {"entries", h.entries}};
  }
  return WriteFileAtomic(path_, j.dump(2) + "\n").WithContext("recording ledger heads");
}

}  // namespace fedseg::coordinator
