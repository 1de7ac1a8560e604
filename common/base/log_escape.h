// Peer-provided text made safe for a log line. A region's Hello (`software`), its decline reasons,
// certificate subjects and region names come from the other side of the network: a newline in
// one of them would let a peer plant a fake line ("... joined") in the coordinator's log, and
// terminal escape sequences could rewrite what an operator sees. The same holds the other way: a
// region logs what the coordinator sends (Error and Done text, the run id, errors quoting its
// contract or schema). Every such string goes through EscapeForLog before it is logged; this is
// the one helper for it.
#ifndef FEDSEG_COMMON_BASE_LOG_ESCAPE_H_
#define FEDSEG_COMMON_BASE_LOG_ESCAPE_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace fedseg {

// `text` with every control character escaped: \n, \r, \t and \\ as those two-character
// sequences, any other byte below 0x20 and DEL (0x7f) as \xHH. A backslash becomes \\ so an
// escaped line cannot be confused with a literal "\n". Bytes of 0x80 and above are kept (UTF-8
// names stay readable). At most `max_bytes` of input are shown; a longer text ends in
// "...(N bytes)" so one peer cannot flood the log with a single huge string.
std::string EscapeForLog(std::string_view text, size_t max_bytes = 256);

}  // namespace fedseg

#endif  // FEDSEG_COMMON_BASE_LOG_ESCAPE_H_
