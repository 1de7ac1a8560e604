#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang + ASan + UBSan in build-fuzz/ and runs each
# for a fixed time on a scratch copy of its seed corpus. Exits non-zero if any target crashed,
# timed out, ran out of memory or allocated more than the per-allocation cap; the input that did
# it is left in fuzz-findings/<target>/ (copy it to tests/fuzz/regressions/<target>/ once fixed).
#   scripts/fuzz.sh                     every target, 60 s each
#   scripts/fuzz.sh --time 600 csv      one target for 10 minutes
#   scripts/fuzz.sh --smoke             CI: every target for 10 s
#   scripts/fuzz.sh --merge ...         also merge new coverage-increasing inputs into the repo's
#                                       tests/fuzz/corpus/<target>/ (review before committing)
#   scripts/fuzz.sh --make-corpus       regenerate the seed corpora with the real serializers
# Env: BUILD_DIR (build-fuzz), FINDINGS_DIR (fuzz-findings), JOBS (build parallelism, 2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ALL_TARGETS=(csv frame messages model_file checkpoint ledger json_config)
TIME=60
MERGE=0
MAKE_CORPUS=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) TIME="$2"; shift 2 ;;
    --smoke) TIME=10; shift ;;
    --merge) MERGE=1; shift ;;
    --make-corpus) MAKE_CORPUS=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ "${#targets[@]}" -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t (${ALL_TARGETS[*]})" >&2; exit 2; }
done

if [ "$(id -u)" -eq 0 ]; then bash scripts/install-deps.sh; fi

JOBS=${JOBS:-2}
if [ "$MAKE_CORPUS" -eq 1 ]; then
  # The generator uses the ordinary (g++) build, like the replay test.
  cmake -S . -B "${CORPUS_BUILD_DIR:-build}" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "${CORPUS_BUILD_DIR:-build}" -j "$JOBS" --target fuzz_make_corpus
  rm -rf tests/fuzz/corpus
  "${CORPUS_BUILD_DIR:-build}/bin/fuzz_make_corpus" "$ROOT" tests/fuzz/corpus
  du -sh tests/fuzz/corpus
  exit 0
fi

BUILD_DIR=${BUILD_DIR:-build-fuzz}
FINDINGS_DIR=${FINDINGS_DIR:-fuzz-findings}
start=$(date +%s)
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_C_COMPILER=clang-14 -DFEDSEG_FUZZ=ON -DFEDSEG_BUILD_TESTS=OFF \
  -DFEDSEG_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8 >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target fedseg_fuzzers
echo "fuzz.sh: build took $(( $(date +%s) - start )) s"

# One OpenMP thread: the machine is shared, and libFuzzer runs one input at a time anyway.
export OMP_NUM_THREADS=1
# Abort on the first UBSan report, with a stack.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
summary=()
for t in "${targets[@]}"; do
  corpus="$scratch/$t"
  mkdir -p "$corpus" "$FINDINGS_DIR/$t"
  cp tests/fuzz/corpus/"$t"/* "$corpus"/
  if [ -d tests/fuzz/regressions/"$t" ]; then cp tests/fuzz/regressions/"$t"/* "$corpus"/ 2>/dev/null || true; fi
  log="$FINDINGS_DIR/$t/fuzz.log"
  # -malloc_limit_mb: no single allocation may exceed 64 MiB; every input is far smaller
  # (max_len 1 MiB), so a parser that sizes a buffer from a forged length is reported.
  set +e
  "$BUILD_DIR/bin/fuzz_$t" "$corpus" -max_total_time="$TIME" -max_len=1048576 -timeout=10 \
    -rss_limit_mb=2048 -malloc_limit_mb=64 -print_final_stats=1 \
    -artifact_prefix="$FINDINGS_DIR/$t/" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  runs=${runs:-?}
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf '%-12s %12s executions, clean (%s s)' "$t" "$runs" "$TIME")")
    rm -f "$log"
    rmdir "$FINDINGS_DIR/$t" 2>/dev/null || true
  else
    failed+=("$t")
    summary+=("$(printf '%-12s %12s executions, FAILED (exit %d): see %s' "$t" "$runs" "$rc" "$FINDINGS_DIR/$t/")")
    grep -m3 -E 'ERROR|SUMMARY|fuzz property' "$log" >&2 || true
  fi
  if [ "$MERGE" -eq 1 ]; then
    "$BUILD_DIR/bin/fuzz_$t" -merge=1 tests/fuzz/corpus/"$t" "$corpus" >/dev/null 2>&1 || true
  fi
done
rmdir "$FINDINGS_DIR" 2>/dev/null || true

echo "fuzz.sh: results (${TIME} s per target, total $(( $(date +%s) - start )) s including the build)"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}; inputs in $FINDINGS_DIR/" >&2
  exit 1
fi
