// The run directory's protection: the directory 0700 and the coordinator's files in it 0600 (a
// directory made by an earlier build, or by `mkdir -p` in a script, is tightened on start), and
// the checkpoint key, kept outside the run directory, loaded or generated.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "coordinator/checkpoint_key.h"
#include "coordinator/coordinator.h"

namespace fedseg::coordinator {

Status Coordinator::ProtectRunFiles() {
  const std::string& dir = run_dir_->path();
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Status::IOError("chmod 0700 " + dir + ": " + std::strerror(errno));
  }
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (!e.is_regular_file(ec)) continue;  // subfolders belong to whoever made them
    struct stat st;
    const std::string path = e.path().string();
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      if (::chmod(path.c_str(), 0600) != 0) {
        return Status::IOError("chmod 0600 " + path + ": " + std::strerror(errno));
      }
    }
  }
  const std::string key_path = config_.checkpoint_key_file.empty() ? DefaultCheckpointKeyPath(dir)
                                                                   : config_.checkpoint_key_file;
  FEDSEG_RETURN_IF_ERROR(CheckKeyOutsideRunDirectory(key_path, dir));
  const bool have_checkpoint = std::filesystem::exists(run_dir_->checkpoint_path());
  if (options_.resume && have_checkpoint) {
    auto key = CheckpointKey::Load(key_path);
    if (!key.ok()) {
      return key.status().WithContext("--resume needs the key that sealed the checkpoints");
    }
    checkpoint_key_ = std::move(*key);
  } else {
    FEDSEG_ASSIGN_OR_RETURN(CheckpointKey key, CheckpointKey::LoadOrCreate(key_path));
    checkpoint_key_ = std::move(key);
  }
  log_->info("checkpoints are authenticated with the key in {}", key_path);
  return Status::OK();
}

}  // namespace fedseg::coordinator
