// The fuzz targets: one plain function per input format that fedseg parses from untrusted bytes.
//
// Each function takes the fuzzer's bytes, runs the product's parser on them and checks cheap
// properties of whatever is accepted (a re-serialised value parses back to the same bytes, a
// parsed model passes validation or is refused with a Status). A violated property aborts the
// process with a message on stderr (FEDSEG_FUZZ_CHECK), which libFuzzer reports as a crash. The
// same functions serve two drivers:
//   - fuzz_main.cc, the libFuzzer entry point of each fuzz_<name> executable (clang, FEDSEG_FUZZ);
//   - replay_test.cc, a GoogleTest in the ordinary build that runs every committed corpus and
//     regression input through them, so a fixed crash stays fixed in plain CI.
#ifndef FEDSEG_TESTS_FUZZ_FUZZ_TARGETS_H_
#define FEDSEG_TESTS_FUZZ_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

namespace fedseg::fuzz {

using FuzzFunction = int (*)(const uint8_t* data, size_t size);

// CSV parsing (ParseCsv) and the typed loader (LoadDataset) up to schema fitting and encoding.
// Byte 0 picks the delimiter option and the label column; the rest is the CSV text.
int FuzzCsv(const uint8_t* data, size_t size);
// Frame header decoding (DecodeFrameHeader), then the payload handed to the message parser of the
// type the header names, as a connection does.
int FuzzFrame(const uint8_t* data, size_t size);
// Every message type's bounded parser and the validation the receiver applies after it. Byte 0
// picks the message type (1 + byte % 10); the rest is the cereal payload.
int FuzzMessages(const uint8_t* data, size_t size);
// Model files (DecodeModelFile). Byte 0: even = the rest is a whole file; odd = the rest is a
// payload, wrapped in a container with a correct checksum so the fuzzer reaches the parser.
int FuzzModelFile(const uint8_t* data, size_t size);
// Coordinator checkpoints (DecodeCheckpoint), with the same byte-0 convention as model files.
int FuzzCheckpoint(const uint8_t* data, size_t size);
// Privacy ledgers (VerifyLedgerText) against a fixed test certificate.
int FuzzLedger(const uint8_t* data, size_t size);
// JSON configs (ParseJsonConfig) read as a coordinator config (CoordinatorConfigFromJson).
int FuzzJsonConfig(const uint8_t* data, size_t size);

struct FuzzTarget {
  const char* name;  // the corpus folder and the fuzz_<name> executable
  FuzzFunction function;
};
// Every target, in a fixed order.
std::span<const FuzzTarget> AllTargets();

// Parses `payload` as the message of frame type `type` (any value; unknown types are refused) and
// checks what is accepted. Shared by FuzzFrame and FuzzMessages.
void CheckMessage(uint16_t type, std::string_view payload);

[[noreturn]] void CheckFailed(const char* file, int line, const char* condition, const char* what);

}  // namespace fedseg::fuzz

// Aborts (a crash for libFuzzer, a failed test for the replay) when a property does not hold.
#define FEDSEG_FUZZ_CHECK(condition, what)                                                 \
  do {                                                                                     \
    if (!(condition)) ::fedseg::fuzz::CheckFailed(__FILE__, __LINE__, #condition, (what)); \
  } while (false)

#endif  // FEDSEG_TESTS_FUZZ_FUZZ_TARGETS_H_
