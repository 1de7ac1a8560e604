// The key that authenticates coordinator checkpoints (HMAC-SHA-256, RFC 2104 / FIPS 198-1): 32
// random bytes kept as 64 hex digits in a 0600 file outside the run directory, so whoever can
// write the run directory (a backup, a shared volume) cannot forge a checkpoint that --resume
// sends to every region. A new run generates the file when it is missing; --resume requires it.
#ifndef FEDSEG_COORDINATOR_CHECKPOINT_KEY_H_
#define FEDSEG_COORDINATOR_CHECKPOINT_KEY_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace fedseg::coordinator {

class CheckpointKey {
 public:
  static constexpr size_t kSize = 32;
  using Mac = std::array<uint8_t, 32>;

  // Reads the key file: exactly 64 hex digits (a trailing newline allowed); anything else is an
  // error naming the file. A file readable by group or others is refused.
  static Result<CheckpointKey> Load(const std::string& path);
  // Load, or when `path` does not exist, a fresh key from OpenSSL's CSPRNG written there (0600,
  // never over an existing file).
  static Result<CheckpointKey> LoadOrCreate(const std::string& path);
  // A key from raw bytes (tests).
  static CheckpointKey FromBytes(const std::array<uint8_t, kSize>& bytes);

  CheckpointKey(const CheckpointKey&) = default;
  CheckpointKey& operator=(const CheckpointKey&) = default;
  ~CheckpointKey();

  Mac Sign(std::string_view data) const;
  // Constant-time comparison of `mac` with Sign(data).
  bool Verify(std::string_view data, const uint8_t* mac) const;

 private:
  CheckpointKey() = default;
  std::array<uint8_t, kSize> key_{};
};

// "<run_dir>.ckpt-key": beside the run directory, not in it.
std::string DefaultCheckpointKeyPath(const std::string& run_dir);
// FailedPrecondition when `key_path` lies inside `run_dir`.
Status CheckKeyOutsideRunDirectory(const std::string& key_path, const std::string& run_dir);

}  // namespace fedseg::coordinator

#endif  // FEDSEG_COORDINATOR_CHECKPOINT_KEY_H_
