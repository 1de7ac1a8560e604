#!/usr/bin/env bash
# Simulates a whole federation on one machine: real processes over mutual TLS on 127.0.0.1.
#
#   scripts/simulate.sh --data F --label L [--categorical C1,C2] [--numeric C] [--drop C]
#                       [--log C1,C2] [--id-column C] (--split-by COL | --clients N [--dirichlet ALPHA])
#                       [--rounds R] [--run-dir DIR] [--local-epochs E] [--batch-size B] [--lr LR]
#                       [--l2 L2] [--hidden 64,32] [--strategy fedavg|fedavgm|fedadam]
#                       [--server-lr LR] [--server-momentum M] [--proximal-mu MU]
#                       [--fraction F] [--min-regions K] [--round-deadline S] [--seed S]
#                       [--dp-epsilon E --stats-bounds F [--stats-noise S] [--dp-delta D]
#                       [--dp-clip C]]
#                       [--baselines]
#                       [--build-dir DIR] [--quiet] [--fresh]
#                       [--secure-aggregation] [--kill REGION@ROUND ...]
#   scripts/simulate.sh --spec S (--split-by COL | --clients N) [same training options]
#
# Splits the table into regions (each keeps its own stratified 20% test split), makes a private CA
# and one certificate per region, writes the coordinator's and every region's JSON config, starts
# the coordinator and one `fedseg-client join` per region, prints a per-round table, and leaves
# DIR with logs/, configs/, certs/, data/, metrics.csv, report.json, report.html (the run report:
# one self-contained page with the plots; its path is printed at the end), checkpoint.fsc and
# final.fsm (the global model, usable with `fedseg-client segment`). With --data it then segments the
# union of the regions' test rows (DIR/data/pooled_test.csv) with final.fsm and prints the ROC AUC
# and F1 of segment's own decisions at the model's decision rule and at arg-max (DIR/heldout.txt;
# docs/quickstart.md, "Decision threshold"). --dp-epsilon E runs every region in privacy mode dp
# with a budget of E (delta 1e-6 unless --dp-delta) that covers everything it sends: the data
# summary (noise multiplier S, default the coordinator's privacy.stats_noise_multiplier under DP,
# 80: 39 mechanisms cost epsilon 0.30; the regions' floor is 30, where the summary would cost 0.87;
# on values clipped to the public bounds of --stats-bounds F, a JSON
# file with {"column": [lo, hi], ...} or a coordinator config whose data.bounds has them, e.g.
# examples/coordinator.json for the bundled table), DP-SGD training and the final evaluation
# (noisy); each region keeps a signed privacy ledger in DIR/data/<region>/ledger.jsonl, created
# with `fedseg-client ledger init` before its first join (check it with `fedseg-audit verify`).
# --baselines also trains the same MLP on the pooled training rows and on each region alone, and compares them with the federated model.
# A --run-dir that holds an earlier run's outputs is refused unless --fresh, which moves them to
# DIR/previous/<time>/ (fedseg-coordinator --fresh) and starts a new run there.
# --proximal-mu MU sets training.proximal_mu (FedProx: regions' local training is pulled towards
# the round's global model; 0 is plain FedAvg local training); without it, the coordinator's default.
# --log C1,C2 sets data.log: every region reads these numeric columns as sign(x) ln(1 + |x|)
# (heavy-tailed counts, amounts, durations; regions in a federation detect none themselves).
# --hidden none trains a linear model (no hidden layer), as `fedseg-client train --hidden none`.
# --secure-aggregation: the coordinator learns only the weighted sum of the regions' updates
# (docs/secure-aggregation.md; its config gets "secure_aggregation": {"enabled": true} and
# "defences": {"enabled": false}, which needs individual updates). --kill REGION@ROUND (repeatable,
# one per region) kills REGION's process (SIGKILL) when round ROUND's request reaches it, to show
# dropouts; killed regions do not count against the exit code.
# Exit code: 0 when the federation completed and every region finished cleanly; 2 for a bad
# argument (one line on stderr saying which); 1 when the coordinator or a region failed. When the
# coordinator exits with an error the script stops at once: it kills the regions and prints the
# coordinator's message from DIR/logs/coordinator.err.
# --spec S (a feature spec, docs/features.md) in place of --data/--label: the spec's raw sources are
# split (--split-by a column of the event sources, or --clients N by user id; a user with events in
# several regions is a user of each), the coordinator's data contract carries the spec and every
# region computes its own feature table from its share of the sources (--baselines is not
# available with --spec).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

data="" label="" categorical="" numeric="" drop="" log_columns="" id_column="" split_by="" clients="" dirichlet=""
rounds=30 run_dir="" local_epochs=1 batch_size=32 lr=0.001 l2=0.001 hidden="64,32"
strategy="" server_lr="" server_momentum="" proximal_mu="" fraction=1.0 min_regions="" round_deadline=120 seed=42 baselines=0
build_dir="$root/build" quiet=0 fresh=0 dp_epsilon=0 dp_delta=1e-6 dp_clip=1.0 spec="" stats_bounds="" stats_noise=""
secure_aggregation=0 kills=()
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0; }
die() { echo "simulate.sh: $*" >&2; exit 2; }
# Checks of option values, so a bad one gets one clear line here rather than a Python traceback
# later: whole numbers, numbers (decimal or exponent form), and numbers above zero.
is_int() { [[ $1 =~ ^[0-9]+$ ]]; }
is_num() { [[ $1 =~ ^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ || $1 =~ ^[0-9]+\.([eE][-+]?[0-9]+)?$ ]]; }
is_positive() { is_num "$1" && awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }
need_int() { is_int "$2" || die "$1 must be a whole number >= 0 (got '$2')"; }
need_count() { is_int "$2" && (( 10#$2 >= 1 )) || die "$1 must be a whole number >= 1 (got '$2')"; }
need_num() { is_num "$2" || die "$1 must be a number >= 0 (got '$2')"; }
need_positive() { is_positive "$2" || die "$1 must be a number > 0 (got '$2')"; }
while [[ $# -gt 0 ]]; do
  # Every option but the flags takes a value.
  case "$1" in
    --baselines|--quiet|--fresh|--secure-aggregation|-h|--help) ;;
    --*) if [[ $# -lt 2 ]]; then die "$1 needs a value (see --help)"; fi ;;
  esac
  case "$1" in
    --data) data=$2; shift 2 ;;
    --spec) spec=$2; shift 2 ;;
    --label) label=$2; shift 2 ;;
    --categorical) categorical=$2; shift 2 ;;
    --log) log_columns=$2; shift 2 ;;
    --numeric) numeric=$2; shift 2 ;;
    --drop) drop=$2; shift 2 ;;
    --id-column) id_column=$2; shift 2 ;;
    --split-by) split_by=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --dirichlet) dirichlet=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --run-dir) run_dir=$2; shift 2 ;;
    --local-epochs) local_epochs=$2; shift 2 ;;
    --batch-size) batch_size=$2; shift 2 ;;
    --lr) lr=$2; shift 2 ;;
    --l2) l2=$2; shift 2 ;;
    --hidden) hidden=$2; shift 2 ;;
    --strategy) strategy=$2; shift 2 ;;
    --server-lr) server_lr=$2; shift 2 ;;
    --server-momentum) server_momentum=$2; shift 2 ;;
    --proximal-mu) proximal_mu=$2; shift 2 ;;
    --fraction) fraction=$2; shift 2 ;;
    --min-regions) min_regions=$2; shift 2 ;;
    --round-deadline) round_deadline=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --baselines) baselines=1; shift ;;
    --dp-epsilon) dp_epsilon=$2; shift 2 ;;
    --dp-delta) dp_delta=$2; shift 2 ;;
    --dp-clip) dp_clip=$2; shift 2 ;;
    --stats-bounds) stats_bounds=$2; shift 2 ;;
    --stats-noise) stats_noise=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --fresh) fresh=1; shift ;;
    --secure-aggregation) secure_aggregation=1; shift ;;
    --kill)
      [[ $2 =~ ^[^@]+@[0-9]+$ ]] || die "--kill must be REGION@ROUND, e.g. region-02@5 (got '$2')"
      kills+=("$2"); shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
# A feature spec stands for the table: its label is the label, the regions split its sources.
if [[ -n "$spec" ]]; then
  [[ -z "$data" ]] || die "give --data or --spec, not both"
  [[ -f "$spec" ]] || die "no such file: $spec"
  [[ $baselines -eq 0 ]] || die "--baselines is not available with --spec"
  spec="$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")"
  label=$(python3 -c 'import json, sys
text = "".join(l for l in open(sys.argv[1]) if not l.lstrip().startswith("//"))
l = json.loads(text).get("label") or {}
print(l.get("name") or l.get("column") or "")' "$spec") || die "cannot read the label of $spec"
  [[ -n "$label" ]] || die "$spec has no label"
  data="$spec"
fi
[[ -n "$data" && -n "$label" ]] || die "--data and --label are required (see --help)"
[[ -f "$data" ]] || die "no such file: $data"
[[ -n "$split_by" && -n "$clients" ]] && die "give either --split-by COL or --clients N, not both"
[[ -n "$split_by" || -n "$clients" ]] || die "give --split-by COL or --clients N"
[[ -z "$clients" ]] || need_count --clients "$clients"
if [[ -n "$dirichlet" ]]; then
  [[ -n "$clients" ]] || die "--dirichlet applies to --clients N only (--split-by keeps the table's own regions)"
  need_positive --dirichlet "$dirichlet"
fi
# Sizes and numbers the coordinator checks again (it names the config field): here they only
# need to be numbers, so that writing the configs cannot fail.
need_int --rounds "$rounds"
need_count --local-epochs "$local_epochs"
need_count --batch-size "$batch_size"
need_positive --lr "$lr"
need_num --l2 "$l2"
need_positive --fraction "$fraction"
[[ -z "$min_regions" ]] || need_int --min-regions "$min_regions"
need_positive --round-deadline "$round_deadline"
need_int --seed "$seed"
need_num --dp-epsilon "$dp_epsilon"
need_positive --dp-delta "$dp_delta"
need_positive --dp-clip "$dp_clip"
[[ -z "$stats_noise" ]] || need_positive --stats-noise "$stats_noise"
[[ -z "$server_lr" ]] || need_positive --server-lr "$server_lr"
[[ -z "$server_momentum" ]] || need_num --server-momentum "$server_momentum"
[[ -z "$proximal_mu" ]] || need_num --proximal-mu "$proximal_mu"
if [[ -n "$stats_bounds" ]]; then
  [[ -f "$stats_bounds" ]] || die "no such file: $stats_bounds (--stats-bounds)"
  stats_bounds="$(cd "$(dirname "$stats_bounds")" && pwd)/$(basename "$stats_bounds")"
fi
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$dp_epsilon"; then
  [[ -n "$stats_bounds" ]] || die "--dp-epsilon needs --stats-bounds F: the public bounds of the numeric columns, so that the regions' data summaries are noisy and inside their budget (examples/coordinator.json has them for the bundled table)"
fi
# --hidden: comma-separated widths (64,32), or "none" (or empty) for no hidden layer.
if [[ $hidden == none ]]; then
  hidden=""
elif [[ -n $hidden && ! $hidden =~ ^[0-9]+(,[0-9]+)*$ ]]; then
  die "--hidden: '$hidden' is not a list of layer widths (expected e.g. 64,32, or none)"
fi
[[ -n "$run_dir" ]] || run_dir="$root/runs/sim-$(date +%Y%m%d-%H%M%S)"
if [[ $fresh -eq 0 ]]; then
  for f in checkpoint.fsc final.fsm report.json report.html metrics.csv; do
    [[ ! -e "$run_dir/$f" ]] || die "$run_dir holds an earlier run ($f): give a new --run-dir, or --fresh to move its files to $run_dir/previous/"
  done
fi
bin="$build_dir/bin"
if [[ ! -x "$bin/fedseg-coordinator" || ! -x "$bin/fedseg-client" ]]; then
  echo "simulate.sh: building fedseg in $build_dir" >&2
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build_dir" -j "$(nproc)" --target fedseg-coordinator fedseg-client >/dev/null
fi

mkdir -p "$run_dir"/{logs,configs,data}
run_dir=$(cd "$run_dir" && pwd)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [[ -n "$p" ]] && kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'echo "simulate.sh: interrupted" >&2; exit 130' INT TERM

# 1. Regions and their private tables.
split_args=(--data "$data" --label "$label" --out "$run_dir/data" --seed "$seed")
if [[ -n "$split_by" ]]; then split_args+=(--split-by "$split_by"); else split_args+=(--clients "$clients"); fi
[[ -n "$dirichlet" ]] && split_args+=(--dirichlet "$dirichlet")
if [[ -n "$spec" ]]; then
  split_args=(--spec "$spec" --out "$run_dir/data" --seed "$seed")
  if [[ -n "$split_by" ]]; then split_args+=(--split-by "$split_by"); else split_args+=(--clients "$clients"); fi
fi
python3 "$here/split_csv.py" "${split_args[@]}" > "$run_dir/regions.tsv"
mapfile -t regions < <(cut -f1 "$run_dir/regions.tsv")
[[ ${#regions[@]} -ge 1 ]] || die "the split produced no regions"
[[ -n "$min_regions" ]] || min_regions=$(( ${#regions[@]} < 2 ? 1 : 2 ))
declare -A killed=()
for k in "${kills[@]}"; do
  r=${k%@*}
  printf '%s\n' "${regions[@]}" | grep -qx "$r" || die "--kill $k: no region named $r (regions: ${regions[*]})"
  [[ $(printf '%s\n' "${kills[@]}" | grep -c "^$r@") -eq 1 ]] || die "--kill: region $r named twice"
done
[[ $quiet -eq 1 ]] || { echo "regions (train / test rows):"; awk -F'\t' '{ printf "  %-16s %8s %8s\n", $1, $2, $3 }' "$run_dir/regions.tsv"; }

# 2. Certificates: a private CA, the coordinator, one per region.
bash "$here/gen-certs.sh" --out "$run_dir/certs" "${regions[@]}" >/dev/null

# 3. Configs.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SIM_SECURE_AGGREGATION=$secure_aggregation SIM_SERVER_LR=$server_lr \
SIM_SERVER_MOMENTUM=$server_momentum SIM_PROXIMAL_MU=$proximal_mu SIM_LOG=$log_columns \
python3 - "$run_dir" "$port" "$label" "$categorical" "$numeric" "$drop" "$id_column" "$rounds" \
  "$local_epochs" "$batch_size" "$lr" "$l2" "$hidden" "$strategy" "$fraction" "$min_regions" \
  "$round_deadline" "$seed" "$dp_epsilon" "$dp_delta" "$dp_clip" "$stats_bounds" "$stats_noise" "${regions[@]}" <<'PY'
import json, os, sys
(run_dir, port, label, categorical, numeric, drop, id_column, rounds, local_epochs, batch_size, lr,
 l2, hidden, strategy, fraction, min_regions, round_deadline, seed, dp_epsilon, dp_delta,
 dp_clip, stats_bounds, stats_noise), regions = sys.argv[1:24], sys.argv[24:]
dp = float(dp_epsilon) > 0
lst = lambda s: [x for x in s.split(",") if x]
certs = f"{run_dir}/certs"
coordinator = {
    "listen": {"host": "127.0.0.1", "port": int(port)},
    "tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/coordinator.crt", "key": f"{certs}/coordinator.key"},
    "regions": regions,
    "run_dir": run_dir,
    "data": {"label": label, "categorical": lst(categorical), "numeric": lst(numeric), "drop": lst(drop),
             "log": lst(os.environ.get("SIM_LOG", ""))},
    "model": {"hidden": [int(h) for h in lst(hidden)], "seed": int(seed)},
    "training": {"rounds": int(rounds), "local_epochs": int(local_epochs), "batch_size": int(batch_size),
                 "learning_rate": float(lr), "l2": float(l2)},
    "federation": {"fraction": float(fraction), "min_regions": int(min_regions),
                   "round_deadline_s": float(round_deadline), "join_timeout_s": 30},
    # No --strategy: the coordinator's default (fedavg; fedadam under DP, docs/configuration.md).
    "strategy": {"name": strategy} if strategy else {},
    "privacy": {"dp": dp, "clip_norm": float(dp_clip)},
}
if dp:
    # Public bounds (a file with the bounds, or a config whose data.bounds has them; // comments
    # on their own lines are allowed, as in the examples): the statistics are noisy.
    text = "".join(l for l in open(stats_bounds) if not l.lstrip().startswith("//"))
    b = json.loads(text)
    b = b.get("data", {}).get("bounds", b) if isinstance(b.get("data"), dict) else b
    coordinator["data"]["bounds"] = b
    if stats_noise:  # else the coordinator's default under DP (docs/configuration.md)
        coordinator["privacy"]["stats_noise_multiplier"] = float(stats_noise)
if os.environ.get("SIM_SERVER_LR"):
    coordinator["strategy"]["server_learning_rate"] = float(os.environ["SIM_SERVER_LR"])
if os.environ.get("SIM_SERVER_MOMENTUM"):
    coordinator["strategy"]["server_momentum"] = float(os.environ["SIM_SERVER_MOMENTUM"])
if os.environ.get("SIM_PROXIMAL_MU"):  # absent: the coordinator's default (docs/configuration.md)
    coordinator["training"]["proximal_mu"] = float(os.environ["SIM_PROXIMAL_MU"])
if os.environ.get("SIM_SECURE_AGGREGATION") == "1":
    coordinator["secure_aggregation"] = {"enabled": True}
    coordinator["defences"] = {"enabled": False}
def merge(base, extra):  # FEDSEG_SIM_COORDINATOR_JSON, FEDSEG_SIM_REGION_JSON: test harnesses' overrides
    for k, v in extra.items():
        merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else base.__setitem__(k, v)
merge(coordinator, json.loads(os.environ.get("FEDSEG_SIM_COORDINATOR_JSON") or "{}"))
json.dump(coordinator, open(f"{run_dir}/configs/coordinator.json", "w"), indent=2)
for r in regions:
    region = {
        "region": r,
        "coordinator": {"host": "127.0.0.1", "port": int(port), "backoff_initial_ms": 100,
                        "backoff_max_ms": 2000, "give_up_after_s": 120},
        "tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/{r}.crt", "key": f"{certs}/{r}.key"},
        "data": {"train": f"{run_dir}/data/{r}/train.csv", "test": f"{run_dir}/data/{r}/test.csv",
                 "id_column": id_column},
        "output": {"model": f"{run_dir}/data/{r}/final.fsm"},
        "threads": 1,
    }
    if dp:
        # The region's own policy, with its defaults: statistics at noise multiplier >= 30, noisy
        # final evaluation, counts rounded to 100 rows; its budget covers all of it.
        region["privacy"] = {"mode": "dp", "epsilon_budget": float(dp_epsilon),
                             "delta": float(dp_delta),
                             "ledger": f"{run_dir}/data/{r}/ledger.jsonl"}
    else:
        region["privacy"] = {"mode": "none"}
    merge(region, json.loads(os.environ.get("FEDSEG_SIM_REGION_JSON") or "{}"))
    json.dump(region, open(f"{run_dir}/configs/{r}.json", "w"), indent=2)
PY

# With a feature spec: the coordinator sends it in the data contract, each region reads its sources.
if [[ -n "$spec" ]]; then
  python3 - "$run_dir" "$spec" "${regions[@]}" <<'PY'
import json, sys
run_dir, spec, regions = sys.argv[1], sys.argv[2], sys.argv[3:]
path = f"{run_dir}/configs/coordinator.json"
c = json.load(open(path))
c["data"]["feature_spec"] = spec
json.dump(c, open(path, "w"), indent=2)
for r in regions:
    path = f"{run_dir}/configs/{r}.json"
    c = json.load(open(path))
    c["data"] = {"spec": f"{run_dir}/data/{r}/spec.json"}
    json.dump(c, open(path, "w"), indent=2)
PY
fi

# 4. Processes. Passive OpenMP waiting: many region processes share the cores here.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
coord_args=(--config "$run_dir/configs/coordinator.json")
[[ $fresh -eq 0 ]] || coord_args+=(--fresh)
"$bin/fedseg-coordinator" "${coord_args[@]}" \
  > "$run_dir/logs/coordinator.out" 2> "$run_dir/logs/coordinator.err" &
coord_pid=$!
pids+=("$coord_pid")
# A DP region's ledger is created once, before its first join (a missing ledger is an error at
# join, never a fresh budget); a re-used --run-dir keeps the ledgers it has.
if awk -v e="$dp_epsilon" 'BEGIN { exit !(e > 0) }'; then
  for r in "${regions[@]}"; do
    [[ -e "$run_dir/data/$r/ledger.jsonl" ]] && continue
    "$bin/fedseg-client" ledger init --config "$run_dir/configs/$r.json" > "$run_dir/logs/$r.init.log" 2>&1 ||
      { echo "simulate.sh: ledger init failed for $r: $(cat "$run_dir/logs/$r.init.log")" >&2; exit 1; }
  done
fi
for r in "${regions[@]}"; do
  # FEDSEG_SIM_REGION_CMD (test harnesses, e.g. scripts/poisoning_test.sh): a command run as
  # `CMD REGION CONFIG` instead of `fedseg-client join --config CONFIG`.
  if [[ -n "${FEDSEG_SIM_REGION_CMD:-}" ]]; then
    $FEDSEG_SIM_REGION_CMD "$r" "$run_dir/configs/$r.json" > "$run_dir/logs/$r.log" 2>&1 &
  else
    # --kill REGION@ROUND: the region kills itself (SIGKILL, as kill -9) when round ROUND's
    # RoundStart reaches it, through the client's test failpoint region/round-R-start: exact even
    # when rounds take milliseconds, which a watcher polling the log would miss.
    kill_env=()
    for k in "${kills[@]}"; do
      if [[ ${k%@*} == "$r" ]]; then
        # Under a bash -c of its own, whose "Killed" line goes to the region's log, not here.
        kill_env=(bash -c '"$@"; exit $?' kill-wrapper env "FEDSEG_TEST_FAILPOINT=region/round-${k##*@}-start")
        killed[$r]=${k##*@}
        [[ $quiet -eq 1 ]] || echo "region $r will be killed (SIGKILL) when round ${k##*@} starts"
      fi
    done
    "${kill_env[@]}" "$bin/fedseg-client" join --config "$run_dir/configs/$r.json" > "$run_dir/logs/$r.log" 2>&1 &
  fi
  pids+=("$!")
done
[[ $quiet -eq 1 ]] || echo "coordinator (pid $coord_pid) on 127.0.0.1:$port, ${#regions[@]} region processes; logs in $run_dir/logs"

# 5. Per-round table while it runs.
printed=0
print_rounds() {
  [[ -f "$run_dir/metrics.csv" ]] || return 0
  local lines
  lines=$(awk -F, '$2 == "global"' "$run_dir/metrics.csv")
  local n
  n=$(printf '%s\n' "$lines" | grep -c . || true)
  if [[ $printed -eq 0 && $n -gt 0 ]]; then
    printf '%6s %8s %8s %8s %8s %8s %8s\n' round loss acc macroF1 posF1 AUC kappa
  fi
  printf '%s\n' "$lines" | tail -n +$((printed + 1)) | while IFS=, read -r rnd _ _ loss acc mf1 pf1 auc kappa; do
    [[ -n "$rnd" ]] && printf '%6s %8.4f %8.4f %8.4f %8.4f %8.4f %8.4f\n' "$rnd" "$loss" "$acc" "$mf1" "$pf1" "$auc" "$kappa"
  done
  printed=$n
}
while kill -0 "$coord_pid" 2>/dev/null; do
  [[ $quiet -eq 1 ]] || print_rounds
  sleep 0.5
done
set +e
wait "$coord_pid"
coord_rc=$?
set -e
[[ $quiet -eq 1 ]] || print_rounds
if [[ $coord_rc -ne 0 && $coord_rc -ne 3 ]]; then
  # The run is over: the regions would only retry until give_up_after_s. Stop them now and show
  # why the coordinator stopped (its "error:" lines and error-level log lines).
  cleanup
  pids=()
  echo "simulate.sh: the coordinator exited with code $coord_rc:" >&2
  reason=$(grep -E '^error: | (error|critical) ' "$run_dir/logs/coordinator.err" | tail -n 5 || true)
  [[ -n "$reason" ]] || reason=$(tail -n 5 "$run_dir/logs/coordinator.err")
  printf '%s\n' "$reason" | sed 's/^/  /' >&2
  echo "simulate.sh: regions stopped; logs in $run_dir/logs" >&2
  [[ -f "$run_dir/report.html" ]] && echo "report:      $run_dir/report.html" >&2
  exit 1
fi
client_rc=0
for i in "${!regions[@]}"; do
  p=${pids[$((i + 1))]}
  set +e
  wait "$p"
  rc=$?
  set -e
  if [[ $rc -ne 0 && -z "${killed[${regions[$i]}]:-}" ]]; then
    echo "simulate.sh: region ${regions[$i]} exited with $rc (see $run_dir/logs/${regions[$i]}.log)" >&2
    client_rc=1
  fi
done
pids=()
if [[ $coord_rc -eq 3 ]]; then
  # Completed, but the final model is worse than the initial one (docs/operations.md, "Run status").
  echo "simulate.sh: the final model is worse than the initial model; do not deploy it:" >&2
  grep -E ' (warning|error) .*worse than' "$run_dir/logs/coordinator.err" | tail -n 1 | sed 's/^/  /' >&2 || true
  client_rc=1
fi
echo "final model: $run_dir/final.fsm"
echo "report:      $run_dir/report.html (open in a browser; data: report.json, metrics.csv)"

# 6. The union of the regions' held-out rows (data/pooled_test.csv, with pooled_train.csv), and
# F1 of segment's own decisions on it: at the model's decision rule and at arg-max (the most
# probable class, i.e. a threshold of 0.5 for two classes), with the ROC AUC of `evaluate`.
if [[ -z "$spec" && -f "$run_dir/final.fsm" ]]; then
  python3 - "$run_dir" "${regions[@]}" <<'PY'
import csv, sys
run_dir, regions = sys.argv[1], sys.argv[2:]
for part in ("train", "test"):
    with open(f"{run_dir}/data/pooled_{part}.csv", "w", newline="", encoding="utf-8", errors="surrogateescape") as out:
        w = None
        for r in regions:
            with open(f"{run_dir}/data/{r}/{part}.csv", newline="", encoding="utf-8", errors="surrogateescape") as f:
                rd = csv.reader(f)
                header = next(rd)
                if w is None:
                    w = csv.writer(out, lineterminator="\n"); w.writerow(header)
                w.writerows(rd)
PY
  "$bin/fedseg-client" segment --model "$run_dir/final.fsm" --data "$run_dir/data/pooled_test.csv" \
    --out "$run_dir/heldout_segments.csv" --json > "$run_dir/heldout_segment.json"
  "$bin/fedseg-client" evaluate --model "$run_dir/final.fsm" --data "$run_dir/data/pooled_test.csv" \
    --json > "$run_dir/heldout_evaluate.json"
  python3 - "$run_dir" "$label" <<'PY' | tee "$run_dir/heldout.txt"
import csv, json, sys
run_dir, label = sys.argv[1], sys.argv[2]
seg = json.load(open(f"{run_dir}/heldout_segment.json"))
ev = json.load(open(f"{run_dir}/heldout_evaluate.json"))
rule = seg["decision_rule"]
with open(f"{run_dir}/data/pooled_test.csv", newline="", encoding="utf-8", errors="surrogateescape") as f:
    truth = [row[label] for row in csv.DictReader(f)]
with open(f"{run_dir}/heldout_segments.csv", newline="", encoding="utf-8", errors="surrogateescape") as f:
    rows = list(csv.DictReader(f))
classes = [k[2:] for k in rows[0] if k.startswith("p_")] if rows else []
def f1(pos, decided):
    tp = sum(1 for t, d in zip(truth, decided) if t == pos and d == pos)
    fp = sum(1 for t, d in zip(truth, decided) if t != pos and d == pos)
    fn = sum(1 for t, d in zip(truth, decided) if t == pos and d != pos)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
if len(classes) == 2 and len(rows) == len(truth):
    pos = rule["positive_class"] or classes[1]
    # arg-max: the first of the most probable classes, as segment decides without a threshold.
    argmax = [max(classes, key=lambda c: (float(r["p_" + c]), -classes.index(c))) for r in rows]
    t = rule["threshold"]
    where = f"p({pos}) >= {t:.4f}" if t is not None else "arg-max"
    # The federation chose the rule on these same rows (the regions' evaluation summaries), so its
    # F1 here is in-sample. Cross-fitted estimate: rows split by index parity, the F1-maximising
    # threshold of one half (over its exact scores) decides the other half.
    p = [float(r["p_" + pos]) for r in rows]
    def best_threshold(idx):
        cands = sorted({p[i] for i in idx})
        npos = sum(1 for i in idx if truth[i] == pos)
        best, best_f1 = 0.5, -1.0
        for t in cands:
            tp = sum(1 for i in idx if p[i] >= t and truth[i] == pos)
            fp = sum(1 for i in idx if p[i] >= t and truth[i] != pos)
            v = 2 * tp / (tp + fp + npos) if tp + fp + npos else 0.0
            if v > best_f1:
                best, best_f1 = t, v
        return best
    halves = [list(range(0, len(rows), 2)), list(range(1, len(rows), 2))]
    crossed = [None] * len(rows)
    for a, b in ((0, 1), (1, 0)):
        t_a = best_threshold(halves[a])
        for i in halves[b]:
            crossed[i] = pos if p[i] >= t_a else next(c for c in classes if c != pos)
    print(f"held-out rows of every region ({len(rows)}): ROC AUC {ev['roc_auc']:.4f}; "
          f"F1({pos}) {f1(pos, [r['segment'] for r in rows]):.4f} at the model's rule ({where}), "
          f"{f1(pos, argmax):.4f} at arg-max, {f1(pos, crossed):.4f} cross-fitted (threshold chosen "
          f"on the other half of these rows)")
PY
fi

# 7. Baselines: the same MLP on the pooled training rows, and each region alone.
if [[ $baselines -eq 1 ]]; then
  # --decision argmax and --early-stopping 0: the baselines train on all their training rows for
  # as many epochs as the federation has rounds, as the federation does (a threshold or early
  # stopping would hold out a validation split); the table compares them at arg-max.
  common=(--label "$label" --hidden "${hidden:-none}" --batch-size "$batch_size" --lr "$lr" --l2 "$l2" --seed "$seed" --decision argmax --early-stopping 0 --quiet --json)
  [[ -n "$categorical" ]] && common+=(--categorical "$categorical")
  [[ -n "$numeric" ]] && common+=(--numeric "$numeric")
  [[ -n "$drop" ]] && common+=(--drop "$drop")
  # The federation's columns: data.log's, and no others.
  common+=(--no-log-detection)
  [[ -n "$log_columns" ]] && common+=(--log "$log_columns")
  epochs=$((rounds * local_epochs))
  "$bin/fedseg-client" train --data "$run_dir/data/pooled_train.csv" --test-data "$run_dir/data/pooled_test.csv" \
    --epochs "$epochs" --out "$run_dir/pooled.fsm" "${common[@]}" > "$run_dir/baseline_pooled.json"
  # The scope column: 12 characters, or as wide as the longest region name (a long --split-by value).
  scope_w=12
  for r in "${regions[@]}"; do
    if (( ${#r} > scope_w )); then scope_w=${#r}; fi
  done
  {
    printf '%-*s %10s %10s %10s %10s %10s %10s\n' "$scope_w" scope fed_AUC fed_F1 pooled_AUC pooled_F1 local_AUC local_F1
    for r in all "${regions[@]}"; do
      if [[ $r == all ]]; then test="$run_dir/data/pooled_test.csv"; else test="$run_dir/data/$r/test.csv"; fi
      fed=$("$bin/fedseg-client" evaluate --model "$run_dir/final.fsm" --data "$test" --json)
      pooled=$("$bin/fedseg-client" evaluate --model "$run_dir/pooled.fsm" --data "$test" --json)
      local_json='{}'
      if [[ $r != all ]]; then
        if "$bin/fedseg-client" train --data "$run_dir/data/$r/train.csv" --test-data "$test" --epochs "$epochs" \
             --out "$run_dir/data/$r/local.fsm" "${common[@]}" > "$run_dir/data/$r/local.json" 2>/dev/null; then
          local_json=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["test"]))' "$run_dir/data/$r/local.json")
        fi
      fi
      python3 - "$scope_w" "$r" "$fed" "$pooled" "$local_json" <<'PY'
import json, sys
width, name, fed, pooled, local = int(sys.argv[1]), sys.argv[2], *(json.loads(x) for x in sys.argv[3:])
def g(d, k):
    v = d.get(k)
    return f"{v:10.4f}" if isinstance(v, (int, float)) else f"{'-':>10}"
print(f"{name:<{width}} {g(fed,'roc_auc')} {g(fed,'positive_f1')} {g(pooled,'roc_auc')} {g(pooled,'positive_f1')} {g(local,'roc_auc')} {g(local,'positive_f1')}")
PY
    done
  } | tee "$run_dir/baselines.txt"
fi
exit $client_rc
