#include "coordinator/region_registry.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "common/base/log_escape.h"
#include "common/base/seed.h"

namespace fedseg::coordinator {

RegionRegistry::RegionRegistry(const std::vector<std::string>& allowed, int min_regions,
                               double fraction, uint64_t seed)
    : min_regions_(min_regions), fraction_(fraction), seed_(seed) {
  for (const std::string& r : allowed) regions_[r].name = r;
}

std::optional<Refusal> RegionRegistry::AddPending(uint64_t session_id, const std::string& cn,
                                                  std::shared_ptr<net::TlsSession> session,
                                                  Clock::time_point now) {
  const size_t silent = PendingOf(cn);
  if (silent >= kMaxSilentConnectionsPerIdentity) {
    return Refusal{"too many connections without Hello",
                   std::to_string(silent) + " connections of '" + cn +
                       "' already wait without a Hello"};
  }
  pending_[session_id] = Pending{cn, std::move(session), now};
  return std::nullopt;
}

size_t RegionRegistry::PendingOf(const std::string& cn) const {
  size_t n = 0;
  for (const auto& [id, p] : pending_) n += p.cn == cn;
  return n;
}

std::vector<std::shared_ptr<net::TlsSession>> RegionRegistry::TakeExpiredPending(
    Clock::time_point now, Clock::duration timeout) {
  std::vector<std::shared_ptr<net::TlsSession>> out;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now - it->second.since > timeout) {
      out.push_back(std::move(it->second.session));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::optional<Refusal> RegionRegistry::CheckHello(const std::string& claimed,
                                                  const std::string& cn,
                                                  const std::string& spki_sha256) const {
  if (claimed != cn) {
    return Refusal{"identity mismatch", "region claims identity '" + EscapeForLog(claimed) +
                                            "' but its certificate is for '" + EscapeForLog(cn) +
                                            "'"};
  }
  if (!regions_.count(cn)) {
    return Refusal{"unknown region",
                   "unknown region '" + EscapeForLog(cn) + "' (not in the config)"};
  }
  if (auto pin = pins_.find(cn); pin != pins_.end() && pin->second != spki_sha256) {
    return Refusal{"key not pinned", "region '" + cn + "' presented a certificate whose key " +
                                         "(SPKI SHA-256 " +
                                         (spki_sha256.empty() ? "unknown" : spki_sha256) +
                                         ") is not the one pinned in region_pins (" +
                                         pin->second + ")"};
  }
  return std::nullopt;
}

std::shared_ptr<net::TlsSession> RegionRegistry::Attach(const std::string& name,
                                                        uint64_t session_id,
                                                        std::shared_ptr<net::TlsSession> session) {
  RegionState& r = regions_.at(name);
  std::shared_ptr<net::TlsSession> previous;
  if (r.connected) {
    session_region_.erase(r.session_id);
    previous = std::move(r.session);
  }
  r.session = std::move(session);
  r.session_id = session_id;
  r.connected = true;
  r.set_up = false;
  r.owed_round = 0;  // a new session starts with an empty queue
  session_region_[session_id] = name;
  return previous;
}

RegionState* RegionRegistry::BySession(uint64_t session_id) {
  auto it = session_region_.find(session_id);
  return it == session_region_.end() ? nullptr : &regions_.at(it->second);
}

RegionState* RegionRegistry::Detach(uint64_t session_id) {
  pending_.erase(session_id);
  auto it = session_region_.find(session_id);
  if (it == session_region_.end()) return nullptr;
  RegionState& r = regions_.at(it->second);
  session_region_.erase(it);
  if (!r.connected || r.session_id != session_id) return nullptr;
  r.session.reset();
  r.session_id = 0;
  r.connected = false;
  r.set_up = false;
  r.owed_round = 0;
  return &r;
}

RegionState* RegionRegistry::Find(const std::string& name) {
  auto it = regions_.find(name);
  return it == regions_.end() ? nullptr : &it->second;
}

const RegionState* RegionRegistry::Find(const std::string& name) const {
  auto it = regions_.find(name);
  return it == regions_.end() ? nullptr : &it->second;
}

size_t RegionRegistry::ConnectedCount() const {
  size_t n = 0;
  for (const auto& [name, r] : regions_) n += r.connected;
  return n;
}

std::vector<std::string> RegionRegistry::ReadyRegions() const {
  std::vector<std::string> out;
  for (const auto& [name, r] : regions_) {
    if (IsReady(r)) out.push_back(name);
  }
  return out;
}

int RegionRegistry::ActiveCount() const {
  int n = 0;
  for (const auto& [name, r] : regions_) n += !r.result.retired;
  return n;
}

std::set<std::string> RegionRegistry::SelectForRound(uint32_t round) const {
  return Select(ReadyRegions(), fraction_, min_regions_, seed_, round);
}

std::set<std::string> RegionRegistry::Select(std::vector<std::string> ready, double fraction,
                                             int min_regions, uint64_t seed, uint32_t round) {
  size_t k = static_cast<size_t>(std::ceil(fraction * static_cast<double>(ready.size())));
  k = std::clamp<size_t>(k, std::min<size_t>(static_cast<size_t>(std::max(min_regions, 0)),
                                              ready.size()),
                         ready.size());
  std::mt19937_64 rng(DeriveSeed(seed, round));
  std::shuffle(ready.begin(), ready.end(), rng);
  ready.resize(k);
  return std::set<std::string>(ready.begin(), ready.end());
}

}  // namespace fedseg::coordinator
