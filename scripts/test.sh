#!/usr/bin/env bash
# Sets up (Debian packages), builds and runs the test suite through ctest.
#   scripts/test.sh               Release build in build/, all tests
#   scripts/test.sh --sanitize    1. build-asan/: GCC, AddressSanitizer + UndefinedBehaviorSanitizer
#                                    (UB is fatal), all tests;
#                                 2. build-tsan/: clang-14 + LLVM libomp, ThreadSanitizer with the
#                                    Archer OpenMP tool, the tests labelled `threaded`.
#                                 Sanitizer builds skip bench/. See docs/quality.md.
#   BUILD_DIR=... scripts/test.sh another build folder (the Release build only)
# Further arguments go to ctest (e.g. -R FederationTest).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SANITIZE=0
if [ "${1:-}" = "--sanitize" ]; then
  SANITIZE=1
  shift
fi

bash scripts/install-deps.sh

JOBS=${JOBS:-$(nproc)}

if [ "$SANITIZE" -eq 0 ]; then
  BUILD_DIR=${BUILD_DIR:-build}
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j "$JOBS"
  cd "$BUILD_DIR"
  ctest --output-on-failure -j "$JOBS" "$@"
  exit 0
fi

# -O1 keeps the instrumented tests fast enough; -g1 (line tables only) keeps stack traces exact to
# the line while compiling and linking much less debug information; asserts stay on. Unity builds
# (8 sources per translation unit) cut the compile time of these cold builds by about a third
# (20.7 -> 14.3 CPU-minutes for the Release tree); the Release build above stays one source per
# unit, so every file is still checked to compile on its own.
SAN_CMAKE=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
           -DFEDSEG_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8)
# Under AddressSanitizer these two replay whole federations several times to compare final weights
# bit for bit (about 500 s together, half of the sanitizer suite; 216 s of ThreadSanitizer's
# tests); they test determinism, which the Release run checks, while the same code paths (kills,
# resumes, seeded training) run under both sanitizers in the other federation tests.
SAN_EXCLUDE='FederationTest\.(TwoSeededFederationsEndWithBitIdenticalWeights|KilledAtThreePointsAndResumedEndsBitIdenticalToAnUninterruptedRun)$'

# The integration tests multiply their deadlines by this (tests/integration/process.h).
export FEDSEG_TEST_TIME_SCALE=${FEDSEG_TEST_TIME_SCALE:-4}
# A sanitizer report makes the process exit with 66, which no fedseg executable uses, so a test
# that expects a failing exit code still notices a report. Child processes inherit these options.
SAN_EXIT=66

section() { echo "== test.sh --sanitize: $* ($(date -u +%H:%M:%S))"; }

# 1. AddressSanitizer + UndefinedBehaviorSanitizer (with LeakSanitizer), every test.
section "AddressSanitizer + UndefinedBehaviorSanitizer: build"
# The compiler comes from CXX, which cmake reads on a folder's first configure only: passing
# -DCMAKE_CXX_COMPILER to a configured folder would make cmake wipe its cache and every -D with it.
CXX=g++ cmake -S . -B build-asan -DFEDSEG_SANITIZE=address,undefined "${SAN_CMAKE[@]}"
cmake --build build-asan -j "$JOBS"
section "AddressSanitizer + UndefinedBehaviorSanitizer: all tests"
(
  cd build-asan
  export ASAN_OPTIONS="halt_on_error=1:exitcode=$SAN_EXIT:detect_leaks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1"
  export UBSAN_OPTIONS="halt_on_error=1:exitcode=$SAN_EXIT:print_stacktrace=1"
  ctest --output-on-failure -j "$JOBS" -E "$SAN_EXCLUDE" "$@"
)

# 2. ThreadSanitizer, the threaded tests. libgomp is not instrumented, so TSan cannot see its
# barriers and would report every OpenMP region; with LLVM's libomp, the Archer tool
# (OMP_TOOL_LIBRARIES) tells TSan about OpenMP's synchronisation through the OMPT interface.
# ignore_noninstrumented_modules=1 (which Archer asks for) makes TSan skip the pthread and libc
# calls made from inside uninstrumented libraries (libomp's own locks, OpenSSL, libstdc++.so);
# every memory access of fedseg's code, Asio's and Eigen's (all compiled here) is still checked.
section "ThreadSanitizer: build"
ARCHER=/usr/lib/llvm-14/lib/libarcher.so
[ -f "$ARCHER" ] || { echo "test.sh: $ARCHER missing (libomp-14-dev)" >&2; exit 1; }
CXX=clang++-14 cmake -S . -B build-tsan -DFEDSEG_SANITIZE=thread "${SAN_CMAKE[@]}"
cmake --build build-tsan -j "$JOBS"
section "ThreadSanitizer: tests labelled threaded"
(
  cd build-tsan
  export OMP_TOOL_LIBRARIES=$ARCHER
  export TSAN_OPTIONS="ignore_noninstrumented_modules=1:halt_on_error=1:exitcode=$SAN_EXIT:second_deadlock_stack=1:suppressions=$ROOT/tests/sanitizers/tsan.supp"
  ctest --output-on-failure -j "$JOBS" -L threaded -E "$SAN_EXCLUDE" "$@"
)
section "sanitizers clean"
