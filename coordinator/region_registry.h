// The coordinator's region registry: which regions may join (the allow-list from the config), the
// connections that have not said Hello yet, the connection each region uses now, its per-region
// state (participation, declines, privacy figures), and the two questions a round asks of them:
// which regions are ready, and which of them the round selects (seeded, so a run and its resumed
// twin select the same regions). Like Flower's ClientManager, it knows nothing about rounds or
// models; the coordinator's state machine (coordinator.h) asks it.
//
// Single-threaded: the coordinator calls it on its one Asio thread.
#ifndef FEDSEG_COORDINATOR_REGION_REGISTRY_H_
#define FEDSEG_COORDINATOR_REGION_REGISTRY_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/net/tls_server.h"
#include "coordinator/record/run_record.h"

namespace fedseg::coordinator {

// One configured region, connected or not.
struct RegionState {
  std::string name;
  // The session the region uses now; null while disconnected (and in tests, which attach
  // without a network). `connected` is what readiness looks at.
  std::shared_ptr<net::TlsSession> session;
  uint64_t session_id = 0;  // id of that session (valid while connected)
  bool connected = false;
  bool set_up = false;        // has received the current Setup
  bool summary_done = false;  // sent its data summary in the schema phase
  // The round of a RoundStart this session was sent and has not answered yet (0: none). A region
  // still training an earlier round is not asked again: a RoundStart queued behind its training
  // would be stale when read, and Done would wait behind it.
  uint32_t owed_round = 0;
  // What the run records of the region (participation, declines, privacy figures); `connected`
  // there is filled when the record is written. Restored from the checkpoint on --resume.
  RegionResult result;
};

// Why a connection is turned away: `kind` is the bounded key of the refusal counters (it becomes
// a label of /metrics), `reason` the full message sent to the peer and logged.
struct Refusal {
  std::string kind;
  std::string reason;
};

class RegionRegistry {
 public:
  using Clock = std::chrono::steady_clock;
  // A certificate holder that opens connections and never says Hello could fill the connection
  // table and keep other regions out; past this many silent connections per identity, the next
  // one is closed at once.
  static constexpr size_t kMaxSilentConnectionsPerIdentity = 4;

  // `allowed`: the regions of the config (certificate CNs); `min_regions`: the quorum;
  // `fraction`: the share of ready regions a round selects (at least the quorum); `seed`: the
  // run's seed, from which every round's selection is derived.
  RegionRegistry(const std::vector<std::string>& allowed, int min_regions, double fraction,
                 uint64_t seed);

  // --- Connections before Hello.
  // Registers a new connection of `cn`, or refuses it ("too many connections without Hello") if
  // kMaxSilentConnectionsPerIdentity of that identity already wait.
  std::optional<Refusal> AddPending(uint64_t session_id, const std::string& cn,
                                    std::shared_ptr<net::TlsSession> session, Clock::time_point now);
  bool IsPending(uint64_t session_id) const { return pending_.count(session_id) > 0; }
  void RemovePending(uint64_t session_id) { pending_.erase(session_id); }
  // Connections of `cn` waiting for their Hello.
  size_t PendingOf(const std::string& cn) const;
  // Removes and returns the connections that waited longer than `timeout` for their Hello.
  std::vector<std::shared_ptr<net::TlsSession>> TakeExpiredPending(Clock::time_point now,
                                                                   Clock::duration timeout);

  // --- Hello.
  // The region a Hello claiming `claimed` over a certificate for `cn` joins as, or why it is
  // refused: "identity mismatch" (claim and certificate differ) or "unknown region" (not in the
  // allow-list).
  // With a pin for the region (SetPins), also "key not pinned" when the certificate's key
  // (`spki_sha256`, net::SpkiSha256Hex) differs. Names in the messages are escaped for logging.
  std::optional<Refusal> CheckHello(const std::string& claimed, const std::string& cn,
                                    const std::string& spki_sha256 = "") const;
  // Region name -> hex SHA-256 of the SPKI its certificate must carry (config region_pins).
  void SetPins(std::map<std::string, std::string> pins) { pins_ = std::move(pins); }
  // Makes `session` (id `session_id`) the connection of allowed region `name`, which must be set
  // up again. Returns the connection it replaces (to be closed), or null.
  std::shared_ptr<net::TlsSession> Attach(const std::string& name, uint64_t session_id,
                                          std::shared_ptr<net::TlsSession> session);
  // The region whose current connection is `session_id`, or null.
  RegionState* BySession(uint64_t session_id);
  // Forgets connection `session_id`. Returns its region if that was the region's current
  // connection (the region is now disconnected), else null.
  RegionState* Detach(uint64_t session_id);

  // --- Per-region state.
  RegionState* Find(const std::string& name);
  const RegionState* Find(const std::string& name) const;
  // Every configured region, by name.
  std::map<std::string, RegionState>& regions() { return regions_; }
  const std::map<std::string, RegionState>& regions() const { return regions_; }
  size_t size() const { return regions_.size(); }
  size_t ConnectedCount() const;

  // --- Readiness, quorum, selection.
  // Connected, set up and not retired.
  static bool IsReady(const RegionState& r) {
    return r.connected && r.set_up && !r.result.retired && r.owed_round == 0;
  }
  // The ready regions, by name.
  std::vector<std::string> ReadyRegions() const;
  int min_regions() const { return min_regions_; }
  bool HasQuorum() const { return static_cast<int>(ReadyRegions().size()) >= min_regions_; }
  // Regions that may still train, connected or not (not retired).
  int ActiveCount() const;
  // The regions round `round` trains with: ceil(fraction x ready) of the ready regions, at least
  // the quorum (or all of them if fewer are ready), drawn by a std::mt19937_64 seeded with
  // DeriveSeed(seed, round) (common/base/seed.h).
  std::set<std::string> SelectForRound(uint32_t round) const;
  // The same draw from an explicit list (in the order given).
  static std::set<std::string> Select(std::vector<std::string> ready, double fraction,
                                      int min_regions, uint64_t seed, uint32_t round);

  // --- Refusals after the handshake, per kind (TLS-level refusals are counted by the server).
  void CountRefusal(const std::string& kind) { ++refused_[kind]; }
  const std::map<std::string, uint64_t>& refused() const { return refused_; }

 private:
  struct Pending {
    std::string cn;
    std::shared_ptr<net::TlsSession> session;
    Clock::time_point since;
  };

  int min_regions_;
  double fraction_;
  uint64_t seed_;
  std::map<std::string, RegionState> regions_;
  std::map<uint64_t, Pending> pending_;
  std::map<uint64_t, std::string> session_region_;
  std::map<std::string, uint64_t> refused_;
  std::map<std::string, std::string> pins_;
};

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_REGION_REGISTRY_H_
