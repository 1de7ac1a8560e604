// The ledger heads the regions reported, kept across runs in the run directory
// (<run_dir>/ledger_heads.json, never moved aside by --fresh): a region whose privacy ledger went
// backwards since an earlier report (fewer entries, or as many entries and another head: it was
// truncated, replaced or forked) is refused, naming the region. With more entries than recorded
// the new head is accepted: the coordinator sees heads, not the entries between them, so that a
// longer ledger descends from the recorded head is for the audit to check
// (`fedseg-audit verify --expect-head`).
//
// File format: {"version": 1, "regions": {"<region>": {"head": "<64 hex>", "entries": N}}},
// written atomically (common/base/file_util.h) after every change.
#ifndef FEDSEG_COORDINATOR_LEDGER_HEADS_H_
#define FEDSEG_COORDINATOR_LEDGER_HEADS_H_

#include <cstdint>
#include <map>
#include <string>

#include "common/base/status.h"

namespace fedseg::coordinator {

class LedgerHeads {
 public:
  struct Head {
    std::string head;      // lowercase hex SHA-256 of the ledger's last entry
    uint64_t entries = 0;  // its release entries (the head's seq)
  };

  // Reads `path` (a missing file is an empty record); Corruption naming the file and the field
  // when it cannot be read.
  static Result<LedgerHeads> Load(const std::string& path);

  // Checks a reported head against the recorded one and records it (writing the file) when it
  // is the same or moves forward. FailedPrecondition naming the region when the ledger went
  // backwards; InvalidArgument for a head that is not 64 hex digits. An empty head (a region
  // without a ledger, in mode none, or before it opened it) is not checked and not recorded.
  Status Observe(const std::string& region, const std::string& head, uint64_t entries);

  const std::map<std::string, Head>& heads() const { return heads_; }

 private:
  std::string path_;
  std::map<std::string, Head> heads_;
};

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_LEDGER_HEADS_H_
