#include "common/base/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fedseg {
namespace {

struct Armed {
  bool on = false;
  std::string name;
  long count = 1;  // the hit that crashes (1-based)
};

const Armed& Config() {
  static const Armed armed = [] {
    Armed a;
    const char* v = std::getenv("FEDSEG_TEST_FAILPOINT");
    if (v == nullptr || *v == '\0') return a;
    std::string s(v);
    const size_t colon = s.rfind(':');
    if (colon != std::string::npos) {
      char* end = nullptr;
      const long n = std::strtol(s.c_str() + colon + 1, &end, 10);
      if (end != s.c_str() + colon + 1 && *end == '\0' && n >= 1) {
        a.count = n;
        s.resize(colon);
      }
    }
    a.on = !s.empty();
    a.name = s;
    if (a.on) {
      std::fprintf(stderr,
                   "warning: TEST FAILPOINT armed: this process will kill itself at %s "
                   "(hit %ld)\n",
                   a.name.c_str(), a.count);
    }
    return a;
  }();
  return armed;
}

}  // namespace

bool FailpointArmed(std::string_view name) {
  const Armed& a = Config();
  return a.on && a.name == name;
}

void Failpoint(std::string_view name) {
  if (!FailpointArmed(name)) return;
  static std::atomic<long> hits{0};
  if (hits.fetch_add(1) + 1 != Config().count) return;
  // Async-signal-safe output only: the point is to die as abruptly as kill -9.
  static const char kMsg[] = "TEST FAILPOINT reached: SIGKILL\n";
  (void)!::write(2, kMsg, sizeof kMsg - 1);
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);  // not reached
}

}  // namespace fedseg
