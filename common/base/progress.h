// Progress display for long work. On a terminal a single status line is redrawn in place (with a
// bar where the amount of work is known); without a terminal nothing is drawn, and callers log
// plain lines instead, so logs stay clean when stderr is a file or a pipe.
#ifndef FEDSEG_COMMON_BASE_PROGRESS_H_
#define FEDSEG_COMMON_BASE_PROGRESS_H_

#include <cstdio>
#include <string>

namespace fedseg {

class ProgressLine {
 public:
  // Draws on `out` only if it is a terminal (or `force` is set).
  explicit ProgressLine(std::FILE* out = stderr, bool force = false);
  ~ProgressLine() { Done(); }
  bool active() const { return active_; }
  // Replaces the status line with `text`.
  void Update(const std::string& text);
  // Ends the status line (the next output starts on a fresh line).
  void Done();

 private:
  std::FILE* out_;
  bool active_;
  bool drawn_ = false;
};

// "[#########-----------]  45%" for a fraction in [0, 1].
std::string ProgressBar(double fraction, int width = 24);

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_PROGRESS_H_
