#!/usr/bin/env bash
# Load test: one coordinator and many regions over mutual TLS on 127.0.0.1.
#
#   scripts/load_test.sh [--regions 1000] [--rounds 3] [--quorum K] [--hidden 8] [--rows 40]
#                        [--timeout 900] [--keep DIR] [--build-dir DIR] [--json] [--help]
#
# Every region is a real TLS peer with its own certificate and key (scripts/gen-certs.sh) and its
# own small table (--rows rows sampled from data/online_shoppers_intention.csv), speaking the real
# protocol end to end (Hello, summary, Setup, local training, Update with evaluation, final
# evaluation, Done): `fedseg-client load` runs them as one thread each in one process. The model is
# tiny (one hidden layer of --hidden units); the point is the coordinator's cost per region.
#
# Reports rounds completed, the latency of each round (from report.json), the time until every
# region had joined (from coordinator.log), the coordinator's peak RSS and user+sys CPU seconds
# (GNU time), and the client process's peak RSS. Exits 0 only when every round completed with at
# least the quorum (default: every region) and the coordinator's peak RSS stayed under 1 GiB.
# --keep DIR runs in DIR and keeps it (logs, configs, certs, report.json); otherwise a temporary
# directory is removed at the end. --json prints the figures as JSON on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

regions=1000 rounds=3 quorum="" hidden=8 rows=40 timeout=900 keep="" build_dir="$root/build" json=0
rss_limit_kib=$((1024 * 1024))
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
die() { echo "load_test.sh: $*" >&2; exit 2; }
posint() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer, got '$2'"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --regions) regions=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --quorum) quorum=${2:?}; shift 2 ;;
    --hidden) hidden=${2:?}; shift 2 ;;
    --rows) rows=${2:?}; shift 2 ;;
    --timeout) timeout=${2:?}; shift 2 ;;
    --keep) keep=${2:?}; shift 2 ;;
    --build-dir) build_dir=${2:?}; shift 2 ;;
    --json) json=1; shift ;;
    -h|--help) usage ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
for v in regions rounds hidden rows timeout; do posint "--$v" "${!v}"; done
[[ -n "$quorum" ]] || quorum=$regions
posint --quorum "$quorum"
((quorum <= regions)) || die "--quorum $quorum exceeds --regions $regions"
((rows >= 10)) || die "--rows must be at least 10 (each region splits off 20% for testing)"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is missing: run scripts/install-deps.sh"

bin="$build_dir/bin"
if [[ ! -x "$bin/fedseg-coordinator" || ! -x "$bin/fedseg-client" ]]; then
  echo "load_test.sh: building fedseg in $build_dir" >&2
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build_dir" -j "$(nproc)" --target fedseg-coordinator fedseg-client >/dev/null
fi

if [[ -n "$keep" ]]; then
  mkdir -p "$keep"
  dir=$(cd "$keep" && pwd)
  rm -rf "$dir"/{logs,configs,data,run,certs}
else
  dir=$(mktemp -d /tmp/fedseg-load.XXXXXX)
fi
mkdir -p "$dir"/{logs,configs/regions,data,run}
pids=()
cleanup() {
  local p
  for p in "${pids[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do [[ -n "$p" ]] && wait "$p" 2>/dev/null || true; done
  [[ -n "$keep" ]] || rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo "load_test.sh: interrupted" >&2; exit 130' INT TERM
log() { [[ $json -eq 1 ]] || echo "$@"; }

# One socket per region in each process (and a few more files per region in the client process).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need_files=$((5 * regions + 64))
[[ "$(ulimit -n)" == unlimited || $(ulimit -n) -ge $need_files ]] ||
  die "$regions regions need about $need_files open files; the hard limit is $(ulimit -Hn)"

mapfile -t names < <(seq -f 'region-%04g' 1 "$regions")

# 1. Certificates: a CA, the coordinator and one per region.
t0=$(date +%s.%N)
bash "$here/gen-certs.sh" --out "$dir/certs" "${names[@]}" >"$dir/logs/gen-certs.log"
t_certs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
log "certificates for $regions regions: ${t_certs} s"

# 2. Data, and every config.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$root/data/online_shoppers_intention.csv" "$dir" "$port" "$rounds" "$quorum" "$hidden" \
  "$rows" "$regions" "${names[@]}" <<'PY'
import csv, json, random, sys
src, d, port, rounds, quorum, hidden, rows, n = sys.argv[1:9]
names = sys.argv[9:]
port, rounds, quorum, hidden, rows, n = map(int, (port, rounds, quorum, hidden, rows, n))
with open(src, newline="") as f:
    reader = csv.reader(f)
    header = next(reader)
    table = list(reader)
label = header.index("Revenue")
pos = [r for r in table if r[label] == "TRUE"]
neg = [r for r in table if r[label] != "TRUE"]
rng = random.Random(42)
certs = f"{d}/certs"
for name in names:
    # At least 4 positive rows, so each region's stratified test split has both classes.
    k = max(4, round(rows * len(pos) / len(table)))
    sample = rng.sample(pos, k) + rng.sample(neg, rows - k)
    rng.shuffle(sample)
    with open(f"{d}/data/{name}.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(sample)
    region = {
        "region": name,
        "coordinator": {"host": "127.0.0.1", "port": port, "connect_timeout_ms": 30000,
                        "backoff_initial_ms": 500, "backoff_max_ms": 5000, "give_up_after_s": 300},
        "tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/{name}.crt", "key": f"{certs}/{name}.key"},
        "data": {"train": f"{d}/data/{name}.csv"},
        "output": {"model": f"{d}/data/{name}.fsm"},
        "threads": 1,
        "privacy": {"mode": "none"},
    }
    json.dump(region, open(f"{d}/configs/regions/{name}.json", "w"), indent=2)
coordinator = {
    "listen": {"host": "127.0.0.1", "port": port},
    "tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/coordinator.crt",
            "key": f"{certs}/coordinator.key"},
    "regions": names,
    "run_dir": f"{d}/run",
    "data": {"label": "Revenue",
             "categorical": ["Month", "VisitorType", "Weekend", "OperatingSystems", "Browser",
                             "Region", "TrafficType"]},
    "model": {"hidden": [hidden], "seed": 42},
    "training": {"rounds": rounds, "local_epochs": 1, "batch_size": 16, "learning_rate": 0.001},
    "federation": {"fraction": 1.0, "min_regions": quorum, "round_deadline_s": 300,
                   "join_timeout_s": 300, "summary_deadline_s": 300, "hello_timeout_s": 60,
                   "max_connections": n + 64,
                   # Every simulated region connects from 127.0.0.1 at the same moment: lift
                   # the per-address handshake cap and the 3 s deadline that defend against a
                   # flood, so the test measures a mass join rather than the flood defences.
                   "max_handshakes_per_address": n + 64, "handshake_timeout_s": 30},
    "strategy": {"name": "fedavg"},
}
json.dump(coordinator, open(f"{d}/configs/coordinator.json", "w"), indent=2)
PY

# 3. The coordinator, then every region, each process under GNU time.
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
/usr/bin/time -v -o "$dir/logs/coordinator.time" \
  "$bin/fedseg-coordinator" --config "$dir/configs/coordinator.json" --json \
  >"$dir/logs/coordinator.json" 2>"$dir/logs/coordinator.err" &
coord=$!
pids+=("$coord")
for _ in $(seq 1 100); do
  grep -q "coordinator listening" "$dir/run/coordinator.log" 2>/dev/null && break
  kill -0 "$coord" 2>/dev/null || die "the coordinator exited at start (see $dir/logs/coordinator.err)"
  sleep 0.1
done
/usr/bin/time -v -o "$dir/logs/clients.time" \
  "$bin/fedseg-client" load --config-dir "$dir/configs/regions" --json \
  >"$dir/logs/clients.json" 2>"$dir/logs/clients.err" &
clients=$!
pids+=("$clients")
log "coordinator (pid $coord) on 127.0.0.1:$port; $regions regions in one client process (pid $clients)"

# 4. Wait, bounded.
start=$(date +%s)
while kill -0 "$coord" 2>/dev/null; do
  if (($(date +%s) - start > timeout)); then
    if [[ -n "$keep" ]]; then
      echo "load_test.sh: no result after $timeout s; stopping (see $dir/logs and $dir/run)" >&2
    else
      echo "load_test.sh: no result after $timeout s; stopping (rerun with --keep DIR for the logs)" >&2
    fi
    exit 1
  fi
  sleep 0.5
done
set +e
wait "$coord"; coord_rc=$?
wait_start=$(date +%s)
while kill -0 "$clients" 2>/dev/null && (($(date +%s) - wait_start < 60)); do sleep 0.5; done
kill "$clients" 2>/dev/null
wait "$clients"; clients_rc=$?
set -e
pids=()
wall=$(($(date +%s) - start))

# 5. Figures and verdict.
set +e
python3 - "$dir" "$regions" "$rounds" "$quorum" "$coord_rc" "$clients_rc" "$rss_limit_kib" "$json" \
  "$t_certs" "$wall" <<'PY'
import datetime, json, re, sys
d, regions, rounds, quorum, coord_rc, clients_rc, rss_limit, as_json, t_certs, wall = sys.argv[1:11]
regions, rounds, quorum, coord_rc, clients_rc, rss_limit = map(int, (regions, rounds, quorum, coord_rc,
                                                                    clients_rc, rss_limit))
def gnu_time(path):
    out = {}
    try:
        for line in open(path):
            k, _, v = line.strip().rpartition(": ")
            out[k] = v
    except OSError:
        pass
    num = lambda k: float(out.get(k, "nan"))
    return {"peak_rss_mib": num("Maximum resident set size (kbytes)") / 1024,
            "cpu_seconds": num("User time (seconds)") + num("System time (seconds)"),
            "user_seconds": num("User time (seconds)"), "sys_seconds": num("System time (seconds)")}
coord, clients = gnu_time(f"{d}/logs/coordinator.time"), gnu_time(f"{d}/logs/clients.time")
try:
    report = json.load(open(f"{d}/run/report.json"))
except (OSError, ValueError):
    report = {}
hist = report.get("rounds", [])
per_round = [{"round": h["round"], "seconds": h.get("seconds"), "updates": h.get("updates"),
              "selected": h.get("selected")} for h in hist[1:] if "updates" in h]
# Join: from the coordinator's listening line to the last "region X joined".
stamp = lambda line: datetime.datetime.fromisoformat(line.split(" ", 1)[0])
listen = joined = schema = None
joins = 0
for line in open(f"{d}/run/coordinator.log"):
    if listen is None and "coordinator listening" in line: listen = stamp(line)
    elif re.search(r" region \S+ joined from ", line): joins += 1; joined = stamp(line)
    elif schema is None and "global schema from" in line: schema = stamp(line)
secs = lambda a, b: round((b - a).total_seconds(), 2) if a and b else None
try:
    load = json.load(open(f"{d}/logs/clients.json"))
except (OSError, ValueError):
    load = {}
failures = []
if coord_rc != 0: failures.append(f"coordinator exited with {coord_rc}")
if clients_rc != 0: failures.append(f"client process exited with {clients_rc} "
                                    f"({load.get('succeeded', '?')}/{regions} regions finished)")
if report.get("completed_round") != rounds:
    failures.append(f"{report.get('completed_round', 0)} of {rounds} rounds completed")
for r in per_round:
    if (r["updates"] or 0) < quorum:
        failures.append(f"round {r['round']}: {r['updates']} updates, quorum {quorum}")
if not coord["peak_rss_mib"] * 1024 < rss_limit:
    failures.append(f"coordinator peak RSS {coord['peak_rss_mib']:.1f} MiB is not below "
                    f"{rss_limit // 1024} MiB")
out = {"regions": regions, "rounds": rounds, "quorum": quorum,
       "rounds_completed": report.get("completed_round", 0), "per_round": per_round,
       "joins": joins, "join_all_seconds": secs(listen, joined),
       "schema_seconds": secs(listen, schema), "wall_seconds": int(wall),
       "certificates_seconds": float(t_certs),
       "coordinator": coord, "clients": {**clients, "regions_finished": load.get("succeeded")},
       "ok": not failures, "failures": failures}
if as_json == "1":
    print(json.dumps(out, indent=2))
else:
    print(f"regions {regions}, rounds completed {out['rounds_completed']}/{rounds} (quorum {quorum})")
    for r in per_round:
        print(f"  round {r['round']}: {r['updates']}/{r['selected']} updates in {r['seconds']:.2f} s")
    print(f"all {joins} regions joined {out['join_all_seconds']} s after the coordinator started "
          f"listening; schema built at {out['schema_seconds']} s; whole run {wall} s")
    print(f"coordinator: peak RSS {coord['peak_rss_mib']:.1f} MiB, CPU {coord['cpu_seconds']:.2f} s "
          f"(user {coord['user_seconds']:.2f} + sys {coord['sys_seconds']:.2f})")
    print(f"clients ({load.get('succeeded', '?')}/{regions} finished, one process): peak RSS "
          f"{clients['peak_rss_mib']:.1f} MiB, CPU {clients['cpu_seconds']:.2f} s")
    print("PASS" if not failures else "FAIL: " + "; ".join(failures))
sys.exit(0 if not failures else 1)
PY
rc=$?
set -e
[[ $rc -eq 0 || -z "$keep" ]] || echo "load_test.sh: logs in $dir/logs and $dir/run" >&2
exit $rc
