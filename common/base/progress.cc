#include "common/base/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace fedseg {

ProgressLine::ProgressLine(std::FILE* out, bool force)
    : out_(out), active_(force || ::isatty(::fileno(out))) {}

void ProgressLine::Update(const std::string& text) {
  if (!active_) return;
  std::fprintf(out_, "\r\033[K%s", text.c_str());
  std::fflush(out_);
  drawn_ = true;
}

void ProgressLine::Done() {
  if (!active_ || !drawn_) return;
  std::fputc('\n', out_);
  std::fflush(out_);
  drawn_ = false;
}

std::string ProgressBar(double fraction, int width) {
  fraction = std::clamp(std::isfinite(fraction) ? fraction : 0.0, 0.0, 1.0);
  const int filled = static_cast<int>(std::lround(fraction * width));
  std::string s = "[";
  s.append(static_cast<size_t>(filled), '#');
  s.append(static_cast<size_t>(width - filled), '-');
  char pct[16];
  std::snprintf(pct, sizeof pct, "] %3d%%", static_cast<int>(std::lround(100 * fraction)));
  return s + pct;
}

}  // namespace fedseg
