// Standard base64 (RFC 4648, with padding), by OpenSSL's EVP_EncodeBlock / EVP_DecodeBlock.
#ifndef FEDSEG_COMMON_BASE_BASE64_H_
#define FEDSEG_COMMON_BASE_BASE64_H_

#include <optional>
#include <string>
#include <string_view>

namespace fedseg {

std::string Base64Encode(std::string_view bytes);

// The bytes of canonical base64 text, or nullopt when `text` is not exactly what Base64Encode
// would produce for some input (wrong length, characters outside the alphabet, white space,
// misplaced or missing padding, non-zero padding bits): a signature has one spelling only.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_BASE64_H_
