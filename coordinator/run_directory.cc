#include "coordinator/run_directory.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <filesystem>
#include <system_error>

#include "common/base/file_util.h"

namespace fedseg::coordinator {

Result<std::unique_ptr<RunDirectory>> RunDirectory::Open(const std::string& dir) {
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
