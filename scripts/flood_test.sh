#!/usr/bin/env bash
# Admission under a connection flood (docs/security.md#admission-under-a-flood): real processes
# over mutual TLS on loopback.
#
#   scripts/flood_test.sh [--connections N] [--rounds R] [--run-dir DIR] [--build-dir DIR]
#
# Starts a coordinator (with its status endpoint) for the 9 regions of the bundled online-shoppers
# table (split by its Region column), then scripts/flood.py holds N silent TCP connections
# (default 4,500) to the federation port AND N to the status port, all from 127.0.0.2, re-opening
# every one the coordinator closes. Once the flood is up, a monitor reads /status and the 9 regions
# (from 127.0.0.1) join and train R rounds (default 5). Prints one JSON line: the coordinator's
# peak RSS (VmHWM from /proc, sampled every 0.2 s, and its final value), the run's exit codes,
# how long the run took, what each flood opened and how many the coordinator closed, the
# refusal lines in the log, and the status reply. Exit code 0 when the coordinator and every
# region exited 0, /status answered 200 under the flood and the peak RSS stayed below 150 MiB.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
connections=4500
rounds=5
run_dir=""
build_dir="$src/build"
usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2
  exit 2
}
die() {
  echo "flood_test.sh: $*" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --connections) connections=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --run-dir) run_dir=${2:?}; shift 2 ;;
    --build-dir) build_dir=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$connections" =~ ^[1-9][0-9]*$ ]] || die "--connections must be a positive integer"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
bin="$build_dir/bin"
[[ -x "$bin/fedseg-coordinator" && -x "$bin/fedseg-client" ]] ||
  die "no fedseg-coordinator/fedseg-client in $bin (build them first)"
command -v curl >/dev/null || die "curl is needed for the /status check"
[[ -n "$run_dir" ]] || run_dir=$(mktemp -d /tmp/fedseg-flood.XXXXXX)
mkdir -p "$run_dir"/{logs,configs}
run_dir=$(cd "$run_dir" && pwd)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

python3 "$here/split_csv.py" --data "$src/data/online_shoppers_intention.csv" --label Revenue \
  --split-by Region --out "$run_dir/data" --seed 1 >"$run_dir/regions.tsv"
mapfile -t regions < <(cut -f1 "$run_dir/regions.tsv")
bash "$here/gen-certs.sh" --out "$run_dir/certs" "${regions[@]}" prometheus >/dev/null
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
status_port=$(free_port)
python3 - "$run_dir" "$port" "$status_port" "$rounds" "${regions[@]}" <<'PY'
import json, sys
run_dir, port, status_port, rounds, regions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]
certs = f"{run_dir}/certs"
tls = {"ca": f"{certs}/ca.crt", "cert": f"{certs}/coordinator.crt", "key": f"{certs}/coordinator.key"}
json.dump({
    "listen": {"host": "127.0.0.1", "port": port}, "tls": tls, "regions": regions,
    "run_dir": f"{run_dir}/run",
    "data": {"label": "Revenue", "categorical": ["Month", "VisitorType", "Weekend", "OperatingSystems",
                                                 "Browser", "Region", "TrafficType"]},
    "model": {"hidden": [16]}, "training": {"rounds": rounds, "local_epochs": 1},
    "federation": {"min_regions": len(regions), "join_timeout_s": 120},
    "status": {"enabled": True, "port": status_port},
}, open(f"{run_dir}/configs/coordinator.json", "w"), indent=2)
for r in regions:
    json.dump({
        "region": r,
        "coordinator": {"host": "127.0.0.1", "port": port, "backoff_initial_ms": 100,
                        "backoff_max_ms": 1000, "give_up_after_s": 300},
        "tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/{r}.crt", "key": f"{certs}/{r}.key"},
        "data": {"train": f"{run_dir}/data/{r}/train.csv", "test": f"{run_dir}/data/{r}/test.csv"},
        "threads": 1,
        "privacy": {"mode": "none"},
    }, open(f"{run_dir}/configs/{r}.json", "w"), indent=2)
PY

export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
"$bin/fedseg-coordinator" --config "$run_dir/configs/coordinator.json" \
  >"$run_dir/logs/coordinator.out" 2>&1 &
coord=$!
pids+=("$coord")
log="$run_dir/run/coordinator.log"
for _ in $(seq 1 300); do
  grep -q "status server listening" "$log" 2>/dev/null && break
  kill -0 "$coord" 2>/dev/null || die "the coordinator exited: $(tail -3 "$run_dir/logs/coordinator.out")"
  sleep 0.1
done

# The floods, from 127.0.0.2; regions only once both hold their N connections.
for target in "$port" "$status_port"; do
  python3 "$here/flood.py" --target "127.0.0.1:$target" --source 127.0.0.2 \
    --connections "$connections" --duration 3600 --ready-file "$run_dir/flood-$target.ready" \
    >"$run_dir/logs/flood-$target.json" 2>"$run_dir/logs/flood-$target.err" &
  pids+=("$!")
done
flood_pids=("${pids[@]:1}")
for _ in $(seq 1 600); do
  [[ -s "$run_dir/flood-$port.ready" && -s "$run_dir/flood-$status_port.ready" ]] && break
  sleep 0.1
done
[[ -s "$run_dir/flood-$port.ready" ]] || die "the flood did not reach $connections connections"

started=$(date +%s.%N)
status_http=$(curl -sS --max-time 10 --tlsv1.3 --cacert "$run_dir/certs/ca.crt" \
  --cert "$run_dir/certs/prometheus.crt" --key "$run_dir/certs/prometheus.key" -o /dev/null \
  -w '%{http_code}' "https://127.0.0.1:$status_port/status" 2>/dev/null || true)
region_pids=()
for r in "${regions[@]}"; do
  "$bin/fedseg-client" join --config "$run_dir/configs/$r.json" >"$run_dir/logs/$r.log" 2>&1 &
  region_pids+=("$!")
  pids+=("$!")
done
peak=0
while kill -0 "$coord" 2>/dev/null; do
  hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$coord/status" 2>/dev/null || echo 0)
  [[ -n "$hwm" && "$hwm" -gt "$peak" ]] && peak=$hwm
  sleep 0.2
done
coord_rc=0
wait "$coord" || coord_rc=$?
elapsed=$(python3 -c "import sys; print(round($(date +%s.%N) - $started, 1))")
for p in "${flood_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
region_rcs=()
for p in "${region_pids[@]}"; do
  rc=0
  wait "$p" || rc=$?
  region_rcs+=("$rc")
done
lines=$(grep -c "refused TLS connection from 127.0.0.2" "$log" || true)
status_lines=$(grep -c "status server: refused 127.0.0.2" "$log" || true)
summaries=$(grep -c "more connection(s) in the last" "$log" || true)
python3 - "$peak" "$coord_rc" "$elapsed" "$status_http" "$lines" "$status_lines" "$summaries" \
  "$run_dir/logs/flood-$port.json" "$run_dir/logs/flood-$status_port.json" "$connections" \
  "$rounds" "$run_dir" "${region_rcs[@]}" <<'PY'
import json, sys
(peak, coord_rc, elapsed, status_http, lines, status_lines, summaries, flood_fed, flood_status,
 connections, rounds, run_dir), region_rcs = sys.argv[1:13], [int(x) for x in sys.argv[13:]]
def load(p):
    try:
        return json.loads(open(p).read().strip().splitlines()[-1])
    except Exception:
        return None
out = {
    "connections_per_port": int(connections), "rounds": int(rounds), "regions": len(region_rcs),
    "coordinator_peak_rss_mib": round(int(peak) / 1024, 1), "coordinator_exit": int(coord_rc),
    "region_exits": region_rcs, "run_seconds": float(elapsed),
    "status_http_under_flood": int(status_http or 0),
    "flood_federation_port": load(flood_fed), "flood_status_port": load(flood_status),
    "refusal_lines_federation": int(lines), "refusal_lines_status": int(status_lines),
    "refusal_summary_lines": int(summaries), "run_dir": run_dir,
}
print(json.dumps(out))
ok = (out["coordinator_exit"] == 0 and all(r == 0 for r in region_rcs) and
      out["status_http_under_flood"] == 200 and out["coordinator_peak_rss_mib"] < 150)
sys.exit(0 if ok else 1)
PY
