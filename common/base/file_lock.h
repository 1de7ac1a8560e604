// An exclusive advisory lock on a file (flock), held for the lifetime of a FileLock object.
// The kernel drops it when the holder dies, even by SIGKILL, so a restarted process never waits
// for a stale lock. flock belongs to the open file description: a second FileLock on the same
// file conflicts even inside one process.
#ifndef FEDSEG_COMMON_BASE_FILE_LOCK_H_
#define FEDSEG_COMMON_BASE_FILE_LOCK_H_

#include <sys/types.h>

#include <string>

#include "common/base/status.h"

namespace fedseg {

class FileLock {
 public:
  struct Options {
    bool create = false;    // create the file if it does not exist
    mode_t mode = 0600;     // permissions of a created file
    bool read_write = true;  // O_RDWR (else O_RDONLY): the holder may use fd() for its I/O
  };

  // Opens `path` and takes an exclusive, non-blocking lock on it. FailedPrecondition ("... is
  // locked by another holder") when someone else holds it; NotFound when it does not exist and
  // `create` is false; IOError for any other failure. `created` (optional) tells whether this call
  // created the file.
  static Result<FileLock> Acquire(const std::string& path, const Options& options,
                                  bool* created = nullptr);
  static Result<FileLock> Acquire(const std::string& path) { return Acquire(path, Options{}); }

  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  bool held() const { return fd_ >= 0; }
  // The locked file's descriptor, open as Options::read_write says; owned by this object.
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Drops the lock and closes the file (the destructor does the same).
  void Release();

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_FILE_LOCK_H_
