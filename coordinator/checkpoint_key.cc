#include "coordinator/checkpoint_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/base/file_util.h"
#include "common/base/sha256.h"

namespace fedseg::coordinator {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

CheckpointKey::~CheckpointKey() { OPENSSL_cleanse(key_.data(), key_.size()); }

CheckpointKey CheckpointKey::FromBytes(const std::array<uint8_t, kSize>& bytes) {
  CheckpointKey k;
  k.key_ = bytes;
  return k;
}

Result<CheckpointKey> CheckpointKey::Load(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Status::NotFound("checkpoint key " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return Status::PermissionDenied("checkpoint key " + path +
                                    " is readable or writable by group or others; chmod 600 it");
  }
  FEDSEG_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 1024));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() != 2 * kSize) {
    return Status::InvalidArgument("checkpoint key " + path + ": expected " +
                                   std::to_string(2 * kSize) + " hex digits, found " +
                                   std::to_string(text.size()) + " characters");
  }
  CheckpointKey k;
  for (size_t i = 0; i < kSize; ++i) {
    const int hi = HexValue(text[2 * i]), lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      OPENSSL_cleanse(text.data(), text.size());
      return Status::InvalidArgument("checkpoint key " + path + ": character " +
                                     std::to_string(2 * i + (hi < 0 ? 1 : 2)) + " is not hex");
    }
    k.key_[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  OPENSSL_cleanse(text.data(), text.size());
  return k;
}

Result<CheckpointKey> CheckpointKey::LoadOrCreate(const std::string& path) {
  if (std::filesystem::exists(path)) return Load(path);
  CheckpointKey k;
  if (RAND_bytes(k.key_.data(), static_cast<int>(k.key_.size())) != 1) {
    return Status::Internal("RAND_bytes failed while generating the checkpoint key");
  }
  std::string hex = ToHex(k.key_.data(), k.key_.size()) + "\n";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("create checkpoint key " + path + ": " + std::strerror(errno));
  const ssize_t n = ::write(fd, hex.data(), hex.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(hex.data(), hex.size());
  if (n != static_cast<ssize_t>(hex.size()) || !synced) {
    ::unlink(path.c_str());
    return Status::IOError("write checkpoint key " + path);
  }
  return k;
}

CheckpointKey::Mac CheckpointKey::Sign(std::string_view data) const {
  Mac mac{};
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &len);
  return mac;
}

bool CheckpointKey::Verify(std::string_view data, const uint8_t* mac) const {
  const Mac want = Sign(data);
  return CRYPTO_memcmp(want.data(), mac, want.size()) == 0;
}

std::string DefaultCheckpointKeyPath(const std::string& run_dir) {
  std::string dir = run_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + ".ckpt-key";
}

Status CheckKeyOutsideRunDirectory(const std::string& key_path, const std::string& run_dir) {
  std::error_code ec;
  const std::filesystem::path key = std::filesystem::weakly_canonical(key_path, ec);
  const std::filesystem::path dir = std::filesystem::weakly_canonical(run_dir, ec);
  if (ec) return Status::OK();  // the run directory does not exist yet
  const std::filesystem::path rel = key.lexically_relative(dir);
  if (rel.empty() || *rel.begin() == "..") return Status::OK();
  return Status::FailedPrecondition("checkpoint.key_file " + key_path +
                                    " is inside the run directory " + run_dir +
                                    "; keep it elsewhere so the run directory alone cannot forge "
                                    "a checkpoint");
}

}  // namespace fedseg::coordinator
