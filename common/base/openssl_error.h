// OpenSSL's error queue as text: the one formatter every library uses for OpenSSL failures.
#ifndef FEDSEG_COMMON_BASE_OPENSSL_ERROR_H_
#define FEDSEG_COMMON_BASE_OPENSSL_ERROR_H_

#include <string>

namespace fedseg {

// The reason text of one OpenSSL error code ("certificate verify failed"), without the
// "error:0A000086:SSL routines::" prefix when OpenSSL knows a reason; the full string otherwise.
std::string OpenSslReason(unsigned long code);

// The full error string ("error:0480006C:PEM routines::no start line") of the most recent error on
// this thread's OpenSSL error queue, and an empty queue for the next call (a stale entry would otherwise be blamed on a later, unrelated failure).
// "unknown OpenSSL error" when the queue is empty.
std::string TakeOpenSslError();

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_OPENSSL_ERROR_H_
