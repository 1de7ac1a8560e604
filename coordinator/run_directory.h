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

// What to do with an earlier run's outputs found in the directory (checkpoint.fsc, final.fsm,
// report.json, report.html, metrics.csv): a directory never holds two runs' files.
enum class EarlierRun {
  kRefuse,  // refuse to start, naming --resume and --fresh (the default)
  kResume,  // keep them to continue the run (--resume); without a checkpoint there is nothing
            // to continue, and they are moved aside as for kFresh
  kFresh,   // move them, with coordinator.log, to <dir>/previous/<UTC time>/ (--fresh)
};

class RunDirectory {
 public:
  // Creates `dir` (and parents), takes its lock, deals with an earlier run's files as `earlier`
  // says, and opens its log. FailedPrecondition ("another coordinator is running in <dir>
  // (<dir>/coordinator.lock is locked)") if another process holds the lock, or naming the
  // earlier run's files under kRefuse; IOError naming the path for any other failure. The kernel
  // drops the lock when its holder dies, even by SIGKILL, so a --resume never waits.
  static Result<std::unique_ptr<RunDirectory>> Open(const std::string& dir,
                                                    EarlierRun earlier = EarlierRun::kRefuse);

  // The folder an earlier run's files were moved to by Open, "" if none were.
  const std::string& moved_earlier_run_to() const { return moved_to_; }

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
  // The regions' ledger heads (ledger_heads.h): kept ACROSS runs, never moved aside by --fresh.
  std::string ledger_heads_path() const { return dir_ + "/ledger_heads.json"; }

 private:
  RunDirectory(std::string dir, FileLock lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}

  // Applies `earlier` to the outputs of an earlier run (before the log is opened, so that
  // coordinator.log moves with them).
  Status HandleEarlierRun(EarlierRun earlier);

  std::string dir_;
  std::string moved_to_;
  FileLock lock_;  // held for the object's lifetime
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_RUN_DIRECTORY_H_
