#include "common/base/openssl_error.h"

#include <openssl/err.h>

namespace fedseg {

std::string OpenSslReason(unsigned long code) {
  if (const char* reason = ERR_reason_error_string(code); reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

std::string TakeOpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

}  // namespace fedseg
