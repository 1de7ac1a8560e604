#!/usr/bin/env bash
# scripts/simulate.sh argument handling and its reaction to a coordinator that fails, with the real
# script, real certificates and real processes on 127.0.0.1.
#
#   tests/scripts/simulate_test.sh BUILD_DIR SOURCE_DIR
#
# Every bad argument must end with exit 2 and exactly one line on stderr (never a Python
# traceback); a coordinator that exits with an error must stop the simulation at once (not after
# the regions' 120 s of retries), print the coordinator's message and leave no region running.
set -uo pipefail
build=$1 src=$2
sim="$src/scripts/simulate.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A small table: the first 600 rows of the bundled one (both labels occur in them).
head -n 601 "$src/data/online_shoppers_intention.csv" > "$work/small.csv"
base=(--data "$work/small.csv" --label Revenue --categorical Month,VisitorType --build-dir "$build" --quiet)
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect_usage_error "<expected stderr substring>" ARGS...: exit 2, one stderr line, no traceback.
expect_usage_error() {
  local want=$1; shift
  local dir="$work/run-$RANDOM"
  "$sim" --run-dir "$dir" "$@" > "$work/out" 2> "$work/err"
  local rc=$?
  local lines
  lines=$(grep -c . "$work/err")
  if [[ $rc -ne 2 ]]; then fail "$* exited $rc, not 2: $(cat "$work/err")"; return; fi
  if [[ $lines -ne 1 ]]; then fail "$* printed $lines lines on stderr, not 1: $(cat "$work/err")"; fi
  if grep -q Traceback "$work/err"; then fail "$*: a Python traceback"; fi
  if ! grep -qF -- "$want" "$work/err"; then fail "$*: stderr lacks '$want': $(cat "$work/err")"; fi
  if [[ -e "$dir/configs/coordinator.json" ]]; then fail "$*: wrote configs despite the error"; fi
}

expect_usage_error "--dirichlet must be a number > 0 (got '0')" "${base[@]}" --clients 3 --dirichlet 0
expect_usage_error "--dirichlet must be a number > 0 (got '-1')" "${base[@]}" --clients 3 --dirichlet -1
expect_usage_error "--dirichlet must be a number > 0 (got 'x')" "${base[@]}" --clients 3 --dirichlet x
expect_usage_error "--dirichlet applies to --clients N only" "${base[@]}" --split-by Region --dirichlet 0.5
expect_usage_error "give either --split-by COL or --clients N, not both" "${base[@]}" --split-by Region --clients 3
expect_usage_error "--clients must be a whole number >= 1 (got '0')" "${base[@]}" --clients 0
expect_usage_error "--clients must be a whole number >= 1 (got 'two')" "${base[@]}" --clients two
expect_usage_error "--hidden: 'abc' is not a list of layer widths" "${base[@]}" --clients 3 --hidden abc
expect_usage_error "--hidden: '64,,32' is not a list of layer widths" "${base[@]}" --clients 3 --hidden 64,,32
expect_usage_error "--lr must be a number > 0 (got 'fast')" "${base[@]}" --clients 3 --lr fast
expect_usage_error "--proximal-mu must be a number >= 0 (got '-0.1')" "${base[@]}" --clients 3 --proximal-mu -0.1
expect_usage_error "--proximal-mu must be a number >= 0 (got 'nan')" "${base[@]}" --clients 3 --proximal-mu nan
expect_usage_error "--rounds must be a whole number >= 0 (got '-2')" "${base[@]}" --clients 3 --rounds -2
expect_usage_error "--rounds needs a value" "${base[@]}" --clients 3 --rounds
expect_usage_error "unknown option --bogus" "${base[@]}" --clients 3 --bogus 1
expect_usage_error "--kill must be REGION@ROUND" "${base[@]}" --clients 3 --kill region-01
expect_usage_error "--kill region-09@2: no region named region-09" "${base[@]}" --clients 3 --kill region-09@2
expect_usage_error "--kill: region region-01 named twice" "${base[@]}" --clients 3 --kill region-01@2 --kill region-01@3

# --secure-aggregation with --kill: region-02 dies as round 2 starts; the run completes, rounds 2
# and 3 aggregate the three others, report.json says secure aggregation was on. (The bundled
# table: 600 rows in 4 regions train no better than chance in 3 rounds, which is exit code 1.)
dir="$work/secure"
if ! "$sim" --data "$src/data/online_shoppers_intention.csv" --label Revenue \
     --categorical Month,VisitorType --hidden 16 --build-dir "$build" --quiet \
     --clients 4 --rounds 3 --secure-aggregation --kill region-02@2 \
     --run-dir "$dir" > "$work/out" 2> "$work/err"; then
  fail "--secure-aggregation --kill: simulate.sh failed: $(tail -n 5 "$work/err")"
elif grep -q Killed "$work/err"; then
  fail "--kill: a job-control line on stderr: $(cat "$work/err")"
elif ! python3 - "$dir/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["secure_aggregation"] is True, r.get("secure_aggregation")
assert r["status"] == "completed", r["status"]
assert len(r["rounds"][1]["participants"]) == 4, r["rounds"][1]
for i in (2, 3):
    assert r["rounds"][i]["participants"] == ["region-01", "region-03", "region-04"], r["rounds"][i]
PY
then
  fail "--secure-aggregation --kill: report.json: $(head -c 400 "$dir/report.json")"
fi

# --baselines with region names longer than the table's 12-character scope column: the column
# widens, so every line of baselines.txt has the same length. With --hidden none, a linear model
# as in `fedseg-client train --hidden none`, for the federation and the baselines.
awk -F, 'BEGIN { OFS = "," } { sub(/\r$/, "") } NR == 1 { print $0, "Zone"; next }
         { print $0, (NR % 2 ? "north-western-territories" : "south-eastern-territories") }' \
  "$work/small.csv" > "$work/zones.csv"
dir="$work/baselines"
if ! "$sim" --data "$work/zones.csv" --label Revenue --categorical Month,VisitorType --drop Zone \
     --split-by Zone --rounds 1 --hidden none --baselines --build-dir "$build" --quiet \
     --run-dir "$dir" \
     > "$work/out" 2> "$work/err"; then
  fail "--baselines: simulate.sh failed: $(tail -n 5 "$work/err")"
elif ! grep -q '"hidden": \[\]' "$dir/configs/coordinator.json"; then
  fail "--hidden none: the coordinator config does not have an empty hidden list"
elif [[ ! -f "$dir/final.fsm" ]]; then
  fail "--hidden none: no final model"
elif [[ $(awk '{ print length($0) }' "$dir/baselines.txt" | sort -u | wc -l) -ne 1 ]]; then
  fail "--baselines: the table's lines differ in length:
$(cat "$dir/baselines.txt")"
elif ! grep -q '^Zone-north-western-territories ' "$dir/baselines.txt"; then
  fail "--baselines: no row for the long region name: $(cat "$dir/baselines.txt")"
fi

# expect_coordinator_error "<coordinator message substring>" ARGS...: exit 1 within seconds, the
# coordinator's message on stderr, and no region process left behind.
expect_coordinator_error() {
  local want=$1; shift
  local dir="$work/coord-$RANDOM"
  local t0=$SECONDS
  "$sim" "${base[@]}" --clients 3 "$@" --run-dir "$dir" > "$work/out" 2> "$work/err"
  local rc=$? took=$((SECONDS - t0))
  if [[ $rc -ne 1 ]]; then fail "$* exited $rc, not 1: $(cat "$work/err")"; return; fi
  # The regions give up after 120 s; the script must not wait for that.
  if [[ $took -gt 60 ]]; then fail "$*: took $took s to stop"; fi
  if ! grep -qF -- "$want" "$work/err"; then fail "$*: stderr lacks '$want': $(cat "$work/err")"; fi
  if grep -q "region .* exited with" "$work/err"; then fail "$*: blamed the regions: $(cat "$work/err")"; fi
  if pgrep -f -- "join --config $dir/" > /dev/null; then fail "$*: region processes still running"; fi
}

expect_coordinator_error "federation.min_regions must be in [1, 3] (the number of regions), got 10" --min-regions 10
expect_coordinator_error "training.rounds must be in [1, 100000], got 0" --rounds 0
expect_coordinator_error "bogus" --strategy bogus
expect_coordinator_error "strategy.name 'median' needs every region's individual update" \
  --secure-aggregation --strategy median

# A table that is not UTF-8 (Latin-1, as ../shared/data/superstore_orders.csv is) is split byte
# for byte, not refused with a traceback: fedseg's own CSV reader takes any bytes.
{
  printf 'name,region,y\n'
  for i in $(seq 1 20); do printf 'caf\xe9 %d,r%d,%s\n' "$i" $((i % 2)) $([[ $((i % 3)) -eq 0 ]] && echo yes || echo no); done
} > "$work/latin1.csv"
if ! python3 "$src/scripts/split_csv.py" --data "$work/latin1.csv" --label y --split-by region \
     --out "$work/latin1-split" > "$work/out" 2> "$work/err"; then
  fail "split_csv.py on a Latin-1 table: $(cat "$work/err")"
elif ! cat "$work/latin1-split"/r*/*.csv | grep -c $'caf\xe9' | grep -qx 20; then
  fail "split_csv.py changed the Latin-1 bytes of the table"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "simulate.sh: all checks passed"
