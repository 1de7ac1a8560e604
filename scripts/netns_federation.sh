#!/usr/bin/env bash
# A federation across network namespaces, with one region's link cut mid-run and restored.
#
#   scripts/netns_federation.sh [--bin-dir DIR] [--rounds N] [--cut-region K] [--cut-seconds S]
#                               [--dead-peer-timeout S] [--keep-logs DIR] [--timeout S] [--help]
#
# As root (iproute2): makes one network namespace for the coordinator and one per region (3),
# joined by a bridge in the coordinator's namespace and one veth pair per region:
#
#   fsg<pid>-coord  br0 10.77.0.1/24 ── r1 ═ veth ═ eth0 10.77.0.11/24  fsg<pid>-r1  (region-01)
#                                   ── r2 ═ veth ═ eth0 10.77.0.12/24  fsg<pid>-r2  (region-02)
#                                   ── r3 ═ veth ═ eth0 10.77.0.13/24  fsg<pid>-r3  (region-03)
#
# The coordinator's certificate names only 10.77.0.1 and the regions dial that address, so the
# TLS host check is the real one. Every veth is shaped to 1 Mbit/s each way (tbf), so a round costs
# about a second whatever the CPU. The bundled online-shoppers table is split into 3 regions;
# the coordinator runs N rounds (default 20) with a quorum of 2 of 3, a 4 s round deadline and a 4 s
# dead-peer timeout (TCP keepalive) on both sides. Once round 2 is under way, region K's link
# (default 2) is cut (`ip link set rK down` on the coordinator's side: packets are dropped, nothing
# is reset) and kept down for at least S seconds (default 6) and until the coordinator has dropped
# the region, the region has noticed, and a round has completed without it (at most 30 s); then it
# is restored.
# PASS requires: the coordinator completed every round and exited 0, every region exited 0, the cut
# region missed at least one round while cut, reconnected, and took part in at least one round
# after the restore.
#
# --bin-dir DIR     fedseg binaries (default: build/bin, built first if missing)
# --dead-peer-timeout S  dead_peer_timeout_s of the coordinator and the regions (4; 0 = keepalive
#                   off, which shows the failure this test guards against)
# --keep-logs DIR   copy the run (logs, configs, report.json, metrics.csv) to DIR
# --timeout S       give up (FAIL) when the federation has not finished after S seconds (240)
#
# Every exit path (PASS, FAIL, error, Ctrl-C, SIGTERM) kills the processes it started, including
# any left in its namespaces, and deletes its namespaces (their veths and bridge go with them).
# Test hook: FEDSEG_NETNS_FAIL_AT=setup|started|cut makes the run fail at that point.
# Exit code: 0 PASS, 1 FAIL or error, 2 bad usage, 130/143 interrupted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
me=netns_federation.sh

bin_dir="" rounds=20 cut_region=2 cut_seconds=6 keep_logs="" timeout_s=240 max_cut_s=30 dead_peer=4
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
die() { echo "$me: $*" >&2; exit 1; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin-dir) bin_dir=${2:?--bin-dir needs a directory}; shift 2 ;;
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --cut-region) cut_region=${2:?--cut-region needs 1, 2 or 3}; shift 2 ;;
    --cut-seconds) cut_seconds=${2:?--cut-seconds needs a number}; shift 2 ;;
    --dead-peer-timeout) dead_peer=${2:?--dead-peer-timeout needs a number}; shift 2 ;;
    --keep-logs) keep_logs=${2:?--keep-logs needs a directory}; shift 2 ;;
    --timeout) timeout_s=${2:?--timeout needs a number}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "$me: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$rounds" =~ ^[0-9]+$ && $rounds -ge 5 ]] || { echo "$me: --rounds must be at least 5" >&2; exit 2; }
[[ "$cut_region" =~ ^[1-3]$ ]] || { echo "$me: --cut-region must be 1, 2 or 3" >&2; exit 2; }
[[ "$cut_seconds" =~ ^[0-9]+$ ]] || { echo "$me: --cut-seconds must be a whole number" >&2; exit 2; }
[[ "$dead_peer" =~ ^[0-9]+$ ]] || { echo "$me: --dead-peer-timeout must be a whole number" >&2; exit 2; }
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || { echo "$me: --timeout must be a positive number" >&2; exit 2; }

# --- prerequisites --------------------------------------------------------------------------------
[[ $(id -u) -eq 0 ]] || die "must run as root (it creates network namespaces)"
if ! command -v ip >/dev/null; then
  echo "$me: iproute2 is missing; installing the project's packages" >&2
  bash "$here/install-deps.sh"
  command -v ip >/dev/null || die "iproute2 ('ip') is still missing after install-deps.sh"
fi
command -v python3 >/dev/null || die "python3 is missing (run scripts/install-deps.sh)"
if [[ -z "$bin_dir" ]]; then
  bin_dir="$root/build/bin"
  if [[ ! -x "$bin_dir/fedseg-coordinator" || ! -x "$bin_dir/fedseg-client" ]]; then
    echo "$me: building fedseg in $root/build" >&2
    bash "$here/install-deps.sh" >&2
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$root/build" -j "$(nproc)" --target fedseg-coordinator fedseg-client >/dev/null
  fi
fi
bin_dir=$(cd "$bin_dir" && pwd) || die "no such directory: $bin_dir"
for b in fedseg-coordinator fedseg-client; do
  [[ -x "$bin_dir/$b" ]] || die "$bin_dir/$b is missing or not executable"
done

# --- cleanup on every exit path -------------------------------------------------------------------
prefix="fsg$$"
ns_coord="$prefix-coord"
ns_regions=("$prefix-r1" "$prefix-r2" "$prefix-r3")
regions=(region-01 region-02 region-03)
coord_ip=10.77.0.1
port=7443
created_ns=()
pids=()
work=$(mktemp -d "${TMPDIR:-/tmp}/fedseg-netns.XXXXXX")

cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  set +e
  # Our own children (still running from our work directory: a reaped pid may have been reused),
  # then anything else running inside our namespaces.
  local victims=() ns p
  for p in "${pids[@]}"; do
    grep -qsF -- "$work" "/proc/$p/cmdline" && victims+=("$p")
  done
  for ns in "${created_ns[@]}"; do
    while read -r p; do [[ -n "$p" ]] && victims+=("$p"); done < <(ip netns pids "$ns" 2>/dev/null)
  done
  if [[ ${#victims[@]} -gt 0 ]]; then
    kill -TERM "${victims[@]}" 2>/dev/null
    for _ in $(seq 1 30); do  # up to 3 s for a clean exit
      local alive=0
      for p in "${victims[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
      [[ $alive -eq 0 ]] && break
      sleep 0.1
    done
    kill -KILL "${victims[@]}" 2>/dev/null
    wait 2>/dev/null
  fi
  for ns in "${created_ns[@]}"; do
    ip netns del "$ns" 2>/dev/null || echo "$me: could not delete namespace $ns" >&2
  done
  if [[ -n "$keep_logs" ]]; then
    mkdir -p "$keep_logs" && cp -a "$work/." "$keep_logs/" && echo "$me: run kept in $keep_logs" >&2
  fi
  if [[ $rc -ne 0 && -z "$keep_logs" && -s "$work/run/coordinator.log" ]]; then
    echo "$me: last lines of the coordinator log:" >&2
    tail -n 15 "$work/run/coordinator.log" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "$me: interrupted" >&2; exit 130' INT
trap 'echo "$me: terminated" >&2; exit 143' TERM
trap 'echo "$me: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

# fail_point NAME: the FEDSEG_NETNS_FAIL_AT test hook.
fail_point() {
  if [[ "${FEDSEG_NETNS_FAIL_AT:-}" == "$1" ]]; then
    echo "$me: induced failure at '$1' (FEDSEG_NETNS_FAIL_AT)" >&2
    return 1
  fi
}
log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
t0=$(date +%s.%N)
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)"; }

# --- topology -------------------------------------------------------------------------------------
add_ns() {
  ip netns add "$1" || die "cannot create network namespace $1: network namespaces are unavailable here"
  created_ns+=("$1")
  ip -n "$1" link set lo up
}
add_ns "$ns_coord"
ip -n "$ns_coord" link add br0 type bridge
ip -n "$ns_coord" addr add "$coord_ip/24" dev br0
ip -n "$ns_coord" link set br0 up
for i in 1 2 3; do
  ns=${ns_regions[$((i - 1))]}
  add_ns "$ns"
  ip -n "$ns_coord" link add "r$i" type veth peer name eth0 netns "$ns"
  ip -n "$ns_coord" link set "r$i" master br0
  ip -n "$ns_coord" link set "r$i" up
  ip -n "$ns" addr add "10.77.0.1$i/24" dev eth0
  ip -n "$ns" link set eth0 up
done
# 1 Mbit/s each way on every link (token bucket): rounds take a predictable time on any CPU.
shaped=1
for i in 1 2 3; do
  tc -n "$ns_coord" qdisc add dev "r$i" root tbf rate 1mbit burst 16kb latency 1s 2>/dev/null &&
    tc -n "${ns_regions[$((i - 1))]}" qdisc add dev eth0 root tbf rate 1mbit burst 16kb latency 1s 2>/dev/null ||
    shaped=0
done
[[ $shaped -eq 1 ]] || echo "$me: warning: cannot shape the links (no tbf qdisc); rounds run at CPU speed" >&2
# STP is off on br0, so its ports forward as soon as they are up; check that they are.
for i in 1 2 3; do
  ip -n "$ns_coord" -o link show "r$i" | grep -q 'state UP' ||
    die "veth r$i in $ns_coord is not up: $(ip -n "$ns_coord" -o link show "r$i")"
done
log "work directory $work"
log "namespaces $ns_coord, ${ns_regions[*]}: bridge br0 $coord_ip/24, regions 10.77.0.11-13"
fail_point setup

# --- data, certificates, configs ------------------------------------------------------------------
mkdir -p "$work"/{logs,configs,run}
python3 "$here/split_csv.py" --data "$root/data/online_shoppers_intention.csv" --label Revenue \
  --clients 3 --out "$work/data" --seed 42 >"$work/regions.tsv"
mapfile -t split_regions < <(cut -f1 "$work/regions.tsv")
[[ "${split_regions[*]}" == "${regions[*]}" ]] || die "unexpected regions from split_csv.py: ${split_regions[*]}"
bash "$here/gen-certs.sh" --out "$work/certs" --coordinator-host "$coord_ip" "${regions[@]}" >/dev/null
python3 - "$work" "$coord_ip" "$port" "$rounds" "$dead_peer" "${regions[@]}" <<'PY'
import json, sys
work, host, port, rounds, dead_peer = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
regions = sys.argv[6:]
certs = f"{work}/certs"
json.dump({
    "listen": {"host": host, "port": port},
    "tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/coordinator.crt", "key": f"{certs}/coordinator.key"},
    "regions": regions,
    "run_dir": f"{work}/run",
    "data": {"label": "Revenue",
             "categorical": ["Month", "VisitorType", "Weekend", "OperatingSystems", "Browser",
                             "Region", "TrafficType"]},
    "model": {"hidden": [64, 32], "seed": 42},
    "training": {"rounds": rounds, "local_epochs": 2, "batch_size": 32, "learning_rate": 0.001,
                 "l2": 0.001},
    "federation": {"fraction": 1.0, "min_regions": 2, "round_deadline_s": 4, "join_timeout_s": 30,
                   "dead_peer_timeout_s": dead_peer},
    "strategy": {"name": "fedavg"},
}, open(f"{work}/configs/coordinator.json", "w"), indent=2)
for r in regions:
    json.dump({
        "region": r,
        "coordinator": {"host": host, "port": port, "connect_timeout_ms": 2000,
                        "backoff_initial_ms": 200, "backoff_max_ms": 1000, "give_up_after_s": 120,
                        "dead_peer_timeout_s": dead_peer},
        "tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/{r}.crt", "key": f"{certs}/{r}.key"},
        "data": {"train": f"{work}/data/{r}/train.csv", "test": f"{work}/data/{r}/test.csv"},
        "output": {"model": f"{work}/data/{r}/final.fsm"},
        "threads": 1,
        "privacy": {"mode": "none"},
    }, open(f"{work}/configs/{r}.json", "w"), indent=2)
PY

# --- processes ------------------------------------------------------------------------------------
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
ip netns exec "$ns_coord" "$bin_dir/fedseg-coordinator" --config "$work/configs/coordinator.json" \
  >"$work/logs/coordinator.out" 2>"$work/logs/coordinator.err" &
coord_pid=$!
pids+=("$coord_pid")
region_pids=()
for i in 1 2 3; do
  r=${regions[$((i - 1))]}
  ip netns exec "${ns_regions[$((i - 1))]}" "$bin_dir/fedseg-client" join --config "$work/configs/$r.json" \
    >"$work/logs/$r.log" 2>&1 &
  region_pids+=("$!")
  pids+=("$!")
done
log "coordinator (pid $coord_pid) on $coord_ip:$port in $ns_coord; regions ${regions[*]} in ${ns_regions[*]}"
fail_point started

cut_name=${regions[$((cut_region - 1))]}
cut_dev="r$cut_region"
clog="$work/run/coordinator.log"
report="$work/run/report.json"
deadline=$(($(date +%s) + timeout_s))
coord_alive() { kill -0 "$coord_pid" 2>/dev/null; }
check_time() { [[ $(date +%s) -lt $deadline ]] || die "FAIL: no result after ${timeout_s} s (--timeout)"; }
# completed_round: the last completed round in report.json (0 before the first).
completed_round() {
  python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["completed_round"])
except Exception: print(0)' "$report"
}

# --- the fault ------------------------------------------------------------------------------------
# 1. Wait until round 2 (or later) is under way.
cut_round=""
while [[ -z "$cut_round" ]]; do
  coord_alive || die "FAIL: the coordinator exited before round 2 started"
  check_time
  cut_round=$(grep -oE 'round [0-9]+/[0-9]+ started' "$clog" 2>/dev/null |
    awk '{ split($2, a, "/"); if (a[1] + 0 >= 2) print a[1] }' | tail -n 1 || true)
  [[ -n "$cut_round" ]] || sleep 0.1
done
# 2. Cut: the coordinator-side end of the region's veth goes down; in-flight packets are dropped
# and nothing resets either side's TCP connection.
ip -n "$ns_coord" link set "$cut_dev" down
cut_at=$(elapsed)
cut_epoch=$(date +%s)
log "round $cut_round under way: cut $cut_name's link ($ns_coord $cut_dev down) at t=${cut_at}s"
fail_point cut
# 3. Keep it down for --cut-seconds, until both ends have noticed (the coordinator dropped the
# region, the region lost its connection) and a round has completed without the region; at most
# 30 s (the verdict then says what was not noticed).
rlog="$work/logs/$cut_name.log"
while :; do
  coord_alive || break
  check_time
  [[ $(($(date +%s) - cut_epoch)) -lt $max_cut_s ]] || break
  if [[ $(($(date +%s) - cut_epoch)) -ge $cut_seconds ]] &&
     grep -q "region $cut_name disconnected" "$clog" &&
     grep -qE "connection lost|could not send" "$rlog" &&
     python3 - "$report" "$cut_name" "$cut_round" <<'PY'
import json, sys
try:
    rep = json.load(open(sys.argv[1]))
except Exception:
    sys.exit(1)
done = [h for h in rep.get("rounds", []) if h.get("round", 0) >= int(sys.argv[3]) and "participants" in h]
sys.exit(0 if any(sys.argv[2] not in h["participants"] for h in done) else 1)
PY
  then
    break
  fi
  sleep 0.2
done
restored_after_round=$(completed_round)
ip -n "$ns_coord" link set "$cut_dev" up
restore_at=$(elapsed)
log "restored $cut_name's link at t=${restore_at}s (after round $restored_after_round; cut for $(python3 -c "print(f'{$restore_at - $cut_at:.1f}')") s)"

# --- wait for the end -----------------------------------------------------------------------------
while coord_alive; do
  check_time
  sleep 0.2
done
coord_rc=0
wait "$coord_pid" || coord_rc=$?
region_rcs=()
still=()
for p in "${region_pids[@]}"; do
  # A region gets Done when the run completes; give it a few seconds to save its model and exit.
  for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then
    region_rcs+=("still-running")
    still+=("$p")
  else
    rc=0
    wait "$p" || rc=$?
    region_rcs+=("$rc")
  fi
done
pids=("${still[@]}")  # the reaped ones' pids may be reused: the cleanup must not kill those
total=$(elapsed)

# --- verdict --------------------------------------------------------------------------------------
verdict=0
python3 - "$report" "$clog" "$cut_name" "$cut_round" "$restored_after_round" "$rounds" \
  "$coord_rc" "$total" "$cut_at" "$restore_at" "${regions[@]}" -- "${region_rcs[@]}" <<'PY' || verdict=1
import json, re, sys
args = sys.argv[1:]
report, clog, cut, cut_round, restored_after, rounds, coord_rc, total, cut_at, restore_at = args[:10]
sep = args.index("--")
regions, rcs = args[10:sep], args[sep + 1:]
cut_round, restored_after, rounds = int(cut_round), int(restored_after), int(rounds)
try:
    rep = json.load(open(report))
except Exception as e:
    print(f"FAIL: cannot read {report}: {e}")
    sys.exit(1)
hist = {h["round"]: h for h in rep.get("rounds", []) if "participants" in h}
missed = [r for r in sorted(hist) if cut_round <= r <= restored_after and cut not in hist[r]["participants"]]
after = [r for r in sorted(hist) if r > restored_after and cut in hist[r]["participants"]]
log = open(clog).read()
drops = len(re.findall(rf"region {re.escape(cut)} disconnected", log))
joins = len(re.findall(rf"region {re.escape(cut)} (joined|reconnected)", log))
rlog = open(clog.replace("/run/coordinator.log", f"/logs/{cut}.log")).read()
lost = len(re.findall(r"connection lost|could not send", rlog))
checks = [
    (f"coordinator exit code {coord_rc}", coord_rc == "0"),
    (f"rounds completed {rep.get('completed_round')}/{rounds} (status {rep.get('status')})",
     rep.get("completed_round") == rounds and rep.get("status") == "completed"),
    ("region exit codes " + ", ".join(f"{r}={c}" for r, c in zip(regions, rcs)), all(c == "0" for c in rcs)),
    (f"{cut} missed rounds while cut: {missed or 'none'}", len(missed) >= 1),
    (f"coordinator dropped {cut} while cut: {drops} time(s)", drops >= 1),
    (f"{cut} noticed the cut ({lost} lost connection(s)) and rejoined ({joins - 1} time(s))",
     lost >= 1 and joins >= 2),
    (f"{cut} took part after the restore in rounds: {after or 'none'}", len(after) >= 1),
]
print()
print(f"link of {cut} cut during round {cut_round} at t={cut_at}s, restored at t={restore_at}s "
      f"(after round {restored_after})")
print(f"updates per round ('-' where {cut} is missing):")
cells = [f"{r}:{len(hist[r]['participants'])}{'' if cut in hist[r]['participants'] else '-'}" for r in sorted(hist)]
for i in range(0, len(cells), 10):
    print("  " + " ".join(f"{c:>6}" for c in cells[i:i + 10]))
for what, ok in checks:
    print(f"  [{'ok' if ok else 'FAIL'}] {what}")
ok = all(ok for _, ok in checks)
print(f"{'PASS' if ok else 'FAIL'}: {rounds} rounds in {total} s; {cut} missed {len(missed)} round(s) "
      f"while cut and took part in {len(after)} round(s) after the restore")
sys.exit(0 if ok else 1)
PY
[[ $verdict -eq 0 ]] || die "FAIL (logs: rerun with --keep-logs DIR)"
