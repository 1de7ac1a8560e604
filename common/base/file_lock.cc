#include "common/base/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace fedseg {

Result<FileLock> FileLock::Acquire(const std::string& path, const Options& options,
                                   bool* created) {
  if (created != nullptr) *created = false;
  const int access = options.read_write ? O_RDWR : O_RDONLY;
  FileLock lock;
  lock.path_ = path;
  lock.fd_ = ::open(path.c_str(), access | O_CLOEXEC);
  if (lock.fd_ < 0 && errno == ENOENT && options.create) {
    lock.fd_ = ::open(path.c_str(), access | O_CREAT | O_EXCL | O_CLOEXEC, options.mode);
    if (lock.fd_ >= 0 && created != nullptr) *created = true;
    // Another process created it between the two calls: open what it created.
    if (lock.fd_ < 0 && errno == EEXIST) lock.fd_ = ::open(path.c_str(), access | O_CLOEXEC);
  }
  if (lock.fd_ < 0) {
    if (errno == ENOENT) return Status::NotFound(path + " does not exist");
    return Status::IOError("open " + path + ": " + std::strerror(errno));
  }
  if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::FailedPrecondition(path + " is locked by another holder");
    }
    return Status::IOError("flock " + path + ": " + std::strerror(errno));
  }
  return lock;
}

FileLock::FileLock(FileLock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

FileLock::~FileLock() { Release(); }

void FileLock::Release() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor drops the flock
  fd_ = -1;
}

}  // namespace fedseg
