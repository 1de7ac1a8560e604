// The coordinator's run directory: created if missing, locked for the coordinator's lifetime
// (coordinator.lock: one coordinator per directory, or two would interleave checkpoints and
// reports), cleared of temporaries an interrupted atomic write left behind, and the home of the
// log (coordinator.log, also echoed on stderr) and of every output the run writes. Paths of those
// outputs are named here, once.
#ifndef FEDSEG_COORDINATOR_RUN_DIRECTORY_H_
#define FEDSEG_COORDINATOR_RUN_DIRECTORY_H_

#include <spdlog/logger.h>

#include <memory>
#include <string>

#include "common/base/file_lock.h"
#include "common/base/status.h"

namespace fedseg::coordinator {

class RunDirectory {
 public:
  // Creates `dir` (and parents), takes its lock and opens its log. FailedPrecondition ("another
  // coordinator is running in <dir> (<dir>/coordinator.lock is locked)") if another process holds
  // the lock; IOError naming the path for any other failure. The kernel drops the lock when its
  // holder dies, even by SIGKILL, so a --resume never waits.
  static Result<std::unique_ptr<RunDirectory>> Open(const std::string& dir);

  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  // WriteFileAtomic writes ".<name>.tmp.<random>" and renames it over <name>; a crash between the
  // two leaves the temporary behind. It is never read (only complete, renamed files are), so it
  // is only clutter: removes each one, with a warning in the log. Returns how many it removed.
  int RemoveStaleTemporaries();

  // The run's logger: stderr (coloured) and coordinator.log, flushed at info.
  const std::shared_ptr<spdlog::logger>& log() const { return log_; }

  const std::string& path() const { return dir_; }
  std::string lock_path() const { return dir_ + "/coordinator.lock"; }
  std::string log_path() const { return dir_ + "/coordinator.log"; }
  std::string checkpoint_path() const { return dir_ + "/checkpoint.fsc"; }
  std::string report_json_path() const { return dir_ + "/report.json"; }
  std::string report_html_path() const { return dir_ + "/report.html"; }
  std::string metrics_csv_path() const { return dir_ + "/metrics.csv"; }
  std::string final_model_path() const { return dir_ + "/final.fsm"; }

 private:
  RunDirectory(std::string dir, FileLock lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}

  std::string dir_;
  FileLock lock_;  // held for the object's lifetime
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_RUN_DIRECTORY_H_
