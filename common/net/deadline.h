// A re-armable deadline for one kind of wait (a read, a write, a handshake) of an asynchronous
// connection, so that a stalled peer costs one connection and never the server.
//
// Arming replaces the previous deadline; a timer callback that was already queued when its
// deadline was replaced or disarmed recognises itself as stale (by a generation count) and does
// nothing, so on_expiry only ever runs for the deadline currently armed. Not thread-safe: use it
// from the connection's strand only.
#ifndef FEDSEG_COMMON_NET_DEADLINE_H_
#define FEDSEG_COMMON_NET_DEADLINE_H_

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <utility>

namespace fedseg::net {

class Deadline {
 public:
  template <typename Executor>
  explicit Deadline(const Executor& executor) : timer_(executor) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // Runs on_expiry on the timer's executor once `timeout` has passed, unless Arm or Disarm is
  // called first. on_expiry must keep the Deadline's owner alive (capture its shared_ptr).
  template <typename F>
  void Arm(std::chrono::milliseconds timeout, F on_expiry) {
    const uint64_t gen = ++generation_;
    timer_.expires_after(timeout);
    timer_.async_wait(
        [this, gen, f = std::move(on_expiry)](const boost::system::error_code& ec) mutable {
          if (ec || gen != generation_) return;
          f();
        });
  }

  void Disarm() {
    ++generation_;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  uint64_t generation_ = 0;
};

}  // namespace fedseg::net

#endif  // FEDSEG_COMMON_NET_DEADLINE_H_
