#!/usr/bin/env bash
# Checks that scripts/netns_federation.sh leaves nothing behind when a run fails or is killed:
#
#   scripts/netns_federation_cleanup_test.sh [--bin-dir DIR]
#
# 1. an induced failure right after the processes started (FEDSEG_NETNS_FAIL_AT=started);
# 2. an induced failure while the link is cut (FEDSEG_NETNS_FAIL_AT=cut);
# 3. SIGTERM to the script while a round is under way.
# After each: the script's exit code is the expected one, no fsg<pid>-* namespace is left, no
# process it started (the pids in its namespaces during the run, anything running from its work
# directory) is alive, and its work directory is gone. Root only, like the script. Exit 0 on PASS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
me=netns_federation_cleanup_test.sh
args=("$@")
[[ $(id -u) -eq 0 ]] || { echo "$me: must run as root" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/fedseg-netns-cleanup.XXXXXX")
child=""
trap '[[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT
failures=0

# leftovers PID WORKDIR PIDS...: prints what the run of script PID left behind.
leftovers() {
  local pid=$1 work=$2 p
  shift 2
  ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^fsg$pid-" | sed 's/^/namespace /' || true
  for p in "$@"; do
    if kill -0 "$p" 2>/dev/null; then echo "process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"; fi
  done
  if [[ -n "$work" ]]; then
    if [[ -e "$work" ]]; then echo "work directory $work"; fi
    python3 - "$work" <<'PY'
import os, sys
work, me = sys.argv[1].encode(), os.getpid()
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        cmd = open(f"/proc/{p}/cmdline", "rb").read()
    except OSError:
        continue
    if int(p) != me and work in cmd:
        print("process", p, "(" + cmd.replace(b"\0", b" ").decode(errors="replace") + ")")
PY
  fi
}

# check NAME EXPECTED_RC PID LOG PIDS...: the verdict for one scenario.
check() {
  local name=$1 want=$2 pid=$3 log=$4 rc=0 work left
  shift 4
  wait "$pid" || rc=$?
  child=""
  work=$(sed -n 's/^.* work directory \(.*\)$/\1/p' "$log" | head -n 1)
  left=$(leftovers "$pid" "$work" "$@")
  if [[ $rc -eq $want && -n "$work" && -z "$left" ]]; then
    echo "  [ok] $name: exit code $rc, no namespace, process or work directory left ($# processes checked)"
  else
    echo "  [FAIL] $name: exit code $rc (want $want)${work:+, work directory $work}"
    [[ -n "$left" ]] && printf '         left: %s\n' "$left"
    [[ -n "$work" ]] || echo "         the run never got as far as its work directory"
    sed 's/^/         | /' "$log" | tail -n 20
    failures=$((failures + 1))
  fi
}

# ns_pids PID: every process currently in the run's namespaces.
ns_pids() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^fsg$1-" || true); do ip netns pids "$ns" 2>/dev/null || true; done
}

echo "$me: induced failures and SIGTERM must leave nothing behind"
for stage in started cut; do
  log="$out/$stage.log"
  FEDSEG_NETNS_FAIL_AT=$stage bash "$here/netns_federation.sh" "${args[@]}" >"$log" 2>&1 &
  child=$!
  # Note what is running in its namespaces until it exits.
  seen=()
  while kill -0 "$child" 2>/dev/null; do
    while read -r p; do [[ -n "$p" ]] && seen+=("$p"); done < <(ns_pids "$child")
    sleep 0.05
  done
  mapfile -t seen < <(printf '%s\n' "${seen[@]}" | sort -u | grep . || true)
  check "failure at '$stage'" 1 "$child" "$log" "${seen[@]}"
done

log="$out/term.log"
bash "$here/netns_federation.sh" "${args[@]}" >"$log" 2>&1 &
child=$!
for _ in $(seq 1 600); do  # up to 60 s for round 2 to be under way
  grep -q "under way" "$log" && break
  kill -0 "$child" 2>/dev/null || break
  sleep 0.1
done
mapfile -t seen < <(ns_pids "$child")
if [[ ${#seen[@]} -lt 4 ]]; then
  echo "  [FAIL] SIGTERM: expected the coordinator and 3 regions running, found ${#seen[@]} process(es)"
  failures=$((failures + 1))
fi
kill -TERM "$child"
check "SIGTERM mid-run" 143 "$child" "$log" "${seen[@]}"

if [[ $failures -eq 0 ]]; then
  echo "PASS: 3 scenarios left no namespace, process or file behind"
else
  echo "FAIL: $failures scenario(s) left something behind or exited wrongly"
  exit 1
fi
