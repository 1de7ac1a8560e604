#include "coordinator/run_directory.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <vector>

#include "common/base/file_util.h"

namespace fedseg::coordinator {
namespace {

// The files a run writes (the log aside): their presence means an earlier run used the directory.
constexpr const char* kRunOutputs[] = {"checkpoint.fsc", "final.fsm", "report.json", "report.html",
                                       "metrics.csv"};

}  // namespace

Result<std::unique_ptr<RunDirectory>> RunDirectory::Open(const std::string& dir,
                                                         EarlierRun earlier) {
  FEDSEG_RETURN_IF_ERROR(MakeDirs(dir));
  const std::string lock_path = dir + "/coordinator.lock";
  FileLock::Options lock_options;
  lock_options.create = true;
  lock_options.mode = 0644;
  Result<FileLock> lock = FileLock::Acquire(lock_path, lock_options);
  if (!lock.ok()) {
    if (lock.status().IsFailedPrecondition()) {
      return Status::FailedPrecondition("another coordinator is running in " + dir + " (" +
                                        lock_path + " is locked)");
    }
    return Status::IOError("cannot open " + lock_path + ": " + lock.status().message());
  }
  std::unique_ptr<RunDirectory> run(new RunDirectory(dir, std::move(lock).value()));
  FEDSEG_RETURN_IF_ERROR(run->HandleEarlierRun(earlier));
  auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  std::shared_ptr<spdlog::sinks::basic_file_sink_mt> file;
  try {
    file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(run->log_path());
  } catch (const std::exception& e) {
    return Status::IOError("cannot open " + run->log_path() + ": " + e.what());
  }
  run->log_ = std::make_shared<spdlog::logger>("coordinator", spdlog::sinks_init_list{console, file});
  run->log_->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  run->log_->flush_on(spdlog::level::info);
  return run;
}

Status RunDirectory::HandleEarlierRun(EarlierRun earlier) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> found;
  for (const char* name : kRunOutputs) {
    if (fs::exists(dir_ + "/" + name, ec)) found.push_back(name);
  }
  // The per-round checkpoints (checkpoint-round-R.fsc) belong to the run too: left behind, a later
  // --resume --from-round could pick up another run's model.
  std::vector<std::string> rounds;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("checkpoint-round-", 0) == 0 && name.size() > 4 &&
        name.compare(name.size() - 4, 4, ".fsc") == 0) {
      rounds.push_back(name);
    }
  }
  std::sort(rounds.begin(), rounds.end());
  if (found.empty() && rounds.empty()) return Status::OK();
  std::string list;
  for (const std::string& f : found) list += (list.empty() ? "" : ", ") + f;
  if (!rounds.empty()) list += (list.empty() ? "" : ", ") + std::string("checkpoint-round-*.fsc");
  const bool has_checkpoint = fs::exists(checkpoint_path(), ec);
  if (earlier == EarlierRun::kResume && has_checkpoint) return Status::OK();
  if (earlier == EarlierRun::kRefuse) {
    return Status::FailedPrecondition(
        dir_ + " holds an earlier run (" + list + "): continue it with --resume" +
        (has_checkpoint ? "" : " (it has no checkpoint: it would start again)") +
        ", or start a new run with --fresh (moves those files to " + dir_ + "/previous/)");
  }
  // kFresh, or kResume with nothing to resume: move the earlier run's files aside, whole.
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &utc);
  std::string to = dir_ + "/previous/" + stamp;
  for (int n = 2; fs::exists(to, ec); ++n) {
    to = dir_ + "/previous/" + stamp + "-" + std::to_string(n);
  }
  FEDSEG_RETURN_IF_ERROR(MakeDirs(to));
  found.push_back("coordinator.log");
  found.insert(found.end(), rounds.begin(), rounds.end());
  for (const std::string& f : found) {
    const std::string from = dir_ + "/" + f;
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, to + "/" + f, ec);
    if (ec) {
      return Status::IOError("cannot move " + from + " to " + to + ": " + ec.message());
    }
  }
  moved_to_ = to;
  return Status::OK();
}

int RunDirectory::RemoveStaleTemporaries() {
  int removed = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp.") != std::string::npos &&
        e.is_regular_file(ec)) {
      log_->warn("removing {} left by an interrupted write (never taken for a checkpoint)",
                 e.path().string());
      if (std::filesystem::remove(e.path(), ec)) ++removed;
    }
  }
  return removed;
}

}  // namespace fedseg::coordinator
