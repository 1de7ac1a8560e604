#include "common/base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "common/base/failpoint.h"

namespace fedseg {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("write " + path + ": " + ErrnoText(errno));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace

Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("cannot open " + path + ": no such file");
    return Status::IOError("cannot open " + path + ": " + ErrnoText(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::IOError("stat " + path + ": " + ErrnoText(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path + " is a directory, not a file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Status::ResourceExhausted(path + " is " + std::to_string(st.st_size) +
                                     " bytes, over the " + std::to_string(max_bytes) +
                                     "-byte limit");
  }
  std::string out;
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::IOError("read " + path + ": " + ErrnoText(err));
    }
    if (n == 0) break;  // the file shrank while we read it
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  ::close(fd);
  return out;
}

namespace {

// A hidden file next to `path` with a random suffix (".<name><tag><random>"), for writing before
// a rename or link: in the same directory, so on the same file system.
std::string SiblingTempPath(const std::string& path, const char* tag) {
  std::filesystem::path target(path);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::random_device rd;
  // Built in steps: g++ 12 gives a false -Wrestrict on a chain of string '+'.
  std::string name = ".";
  name += target.filename().string();
  name += tag;
  name += std::to_string(rd());
  return (dir / name).string();
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::string_view contents) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const std::string tmp = SiblingTempPath(path, ".tmp.");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("create " + tmp + ": " + ErrnoText(errno));
  // Test-only crash point between the two halves of the write (see common/base/failpoint.h): what a
  // reader must never take for the file is exactly this half-written temporary.
  const std::string failpoint = "write-midway/" + target.filename().string();
  Status st;
  if (FailpointArmed(failpoint)) {
    const size_t half = contents.size() / 2;
    st = WriteAll(fd, contents.substr(0, half), tmp);
    ::fsync(fd);
    Failpoint(failpoint);
    if (st.ok()) st = WriteAll(fd, contents.substr(half), tmp);
  } else {
    st = WriteAll(fd, contents, tmp);
  }
  if (st.ok() && ::fsync(fd) != 0) st = Status::IOError("fsync " + tmp + ": " + ErrnoText(errno));
  if (::close(fd) != 0 && st.ok()) st = Status::IOError("close " + tmp + ": " + ErrnoText(errno));
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::IOError("rename " + tmp + " -> " + path + ": " + ErrnoText(errno));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: some file systems refuse fsync on directories
    ::close(dfd);
  }
  return Status::OK();
}

Status CreateFileExclusive(const std::string& path, std::string_view contents, mode_t mode) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  const std::string tmp = SiblingTempPath(path, ".new.");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::IOError("create " + tmp + ": " + ErrnoText(errno));
  Status st = ::fchmod(fd, mode) == 0 ? Status::OK()  // the umask may have narrowed nothing more
                                      : Status::IOError("chmod " + tmp + ": " + ErrnoText(errno));
  if (st.ok()) st = WriteAll(fd, contents, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Status::IOError("fsync " + tmp + ": " + ErrnoText(errno));
  if (::close(fd) != 0 && st.ok()) st = Status::IOError("close " + tmp + ": " + ErrnoText(errno));
  if (st.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    st = err == EEXIST ? Status::FailedPrecondition(path + " already exists; not replacing it")
                       : Status::IOError("link " + tmp + " -> " + path + ": " + ErrnoText(err));
  }
  ::unlink(tmp.c_str());
  if (!st.ok()) return st;
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: some file systems refuse fsync on directories
    ::close(dfd);
  }
  return Status::OK();
}

Status AppendLineDurable(const std::string& path, std::string_view line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("open " + path + " for append: " + ErrnoText(errno));
  std::string buf(line);
  buf.push_back('\n');
  Status st = WriteAll(fd, buf, path);
  if (st.ok() && ::fsync(fd) != 0) st = Status::IOError("fsync " + path + ": " + ErrnoText(errno));
  ::close(fd);
  return st;
}

Status MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IOError("create directory " + path + ": " + ec.message());
  return Status::OK();
}

}  // namespace fedseg
