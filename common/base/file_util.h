// Whole-file reads and crash-safe writes.
//
// Every output fedseg writes (model files, checkpoints, segment tables, reports) goes through
// WriteFileAtomic: the bytes go to a temporary file in the same directory, are fsync'ed, and the
// temporary is renamed over the target, then the directory is fsync'ed. A reader therefore sees the
// old file or the new one, never a half-written one, even after kill -9 or a power cut.
#ifndef FEDSEG_COMMON_BASE_FILE_UTIL_H_
#define FEDSEG_COMMON_BASE_FILE_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace fedseg {

// Reads a whole file. Refuses files larger than max_bytes before reading them.
Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes = uint64_t{1} << 32);

// Atomically replaces `path` with `contents` (temp file + fsync + rename + directory fsync).
Status WriteFileAtomic(const std::string& path, std::string_view contents);

// Creates `path` with `contents` and permissions `mode` (e.g. 0600 for a key), crash-safely as
// WriteFileAtomic does, but never replaces an existing file: the fsync'ed temporary is linked into
// place with link(2), which refuses an existing name (FailedPrecondition "... already exists").
Status CreateFileExclusive(const std::string& path, std::string_view contents, mode_t mode);

// Appends one line (a '\n' is added) and fsyncs; used for append-only logs such as the ledger.
Status AppendLineDurable(const std::string& path, std::string_view line);

// Creates a directory and its parents if missing.
Status MakeDirs(const std::string& path);

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_FILE_UTIL_H_
