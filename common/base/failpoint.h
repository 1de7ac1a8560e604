// TESTS ONLY: named crash points for crash-consistency tests.
//
// A test arms one failpoint through the environment:
//
//   FEDSEG_TEST_FAILPOINT=<name>[:<n>]
//
// and the n-th time (default: the first) this process reaches Failpoint(<name>), it kills itself
// with SIGKILL, exactly as `kill -9` would at that instant: no destructor, flush or handler runs.
// Points are placed where a crash is hardest to survive (between the halves of an atomic file
// write, after an update is accepted but before the round completes, between two rounds), so
// tests can show that a restarted process never takes a partial file and loses nothing it had
// acknowledged. Without the variable (every production run) Failpoint() costs one branch on a
// value read once.
#ifndef FEDSEG_COMMON_BASE_FAILPOINT_H_
#define FEDSEG_COMMON_BASE_FAILPOINT_H_

#include <string_view>

namespace fedseg {

// Kills the process with SIGKILL if FEDSEG_TEST_FAILPOINT names `name` and this is its n-th hit.
void Failpoint(std::string_view name);

// True if FEDSEG_TEST_FAILPOINT names `name` (whatever the count): lets a caller split work so
// that the failpoint can land in its middle, without changing anything when it is not armed.
bool FailpointArmed(std::string_view name);

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_FAILPOINT_H_
