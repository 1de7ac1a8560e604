#!/usr/bin/env bash
# Runs a federation in which K regions are malicious processes, and measures the final model.
#
#   scripts/poisoning_test.sh --attack huge-n|scale|sign-flip|flt-max|label-flip [--malicious K]
#                             [--malicious-regions R1,R2] [--no-defences] [--timeout S] [--json]
#                             <simulate.sh arguments: --data F --label L --split-by COL ...>
#
# The first K regions of the split (regions.tsv order; or the named ones) run
# fedseg-malicious-region (a test-only executable, tests/attack/malicious_region.cc) instead of
# fedseg-client: they join with valid certificates, send honest summaries and evaluations, and
# poison every update (docs/security.md lists the attacks). --no-defences runs the coordinator
# with defences.enabled false (the strategy sees updates as sent: no caps, no refusals, no
# clipping, no sanity bound), which shows each attack is real.
#
# The final global model is evaluated on the held-out test rows of every region (the honest
# data of the malicious ones included) with `fedseg-client evaluate`. Prints one line
#   attack=... malicious=... strategy=... defences=on|off coordinator=ok|failed auc=0.9123 refused=N
# (or a JSON object with --json); auc=null when no final model was written: the coordinator failed,
# or the run was still going after --timeout seconds (default 900; coordinator=stalled). Exit code
# 0 when the measurement was taken (whatever the AUC); 2 on bad arguments.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

# Launcher mode, run by simulate.sh once per region: `poisoning_test.sh --launch REGION CONFIG`.
# simulate.sh has written regions.tsv by then; without --malicious-regions the first K are chosen.
malicious_names() {
  if [[ -n "$FEDSEG_POISON_MALICIOUS" ]]; then echo "$FEDSEG_POISON_MALICIOUS"; return; fi
  cut -f1 "$FEDSEG_POISON_RUN_DIR/regions.tsv" | head -n "$FEDSEG_POISON_COUNT" | paste -sd, -
}
if [[ "${1:-}" == "--launch" ]]; then
  region=$2 config=$3
  if [[ ",$(malicious_names)," == *",$region,"* ]]; then
    exec "$FEDSEG_POISON_BIN/fedseg-malicious-region" --config "$config" --attack "$FEDSEG_POISON_ATTACK"
  fi
  exec "$FEDSEG_POISON_BIN/fedseg-client" join --config "$config"
fi

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }
die() { echo "poisoning_test.sh: $*" >&2; exit 2; }
attack="" malicious=1 malicious_regions="" defences=1 json=0 timeout_s=900
run_dir="" build_dir="$root/build" strategy=fedavg sim_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --attack) attack=$2; shift 2 ;;
    --malicious) malicious=$2; shift 2 ;;
    --malicious-regions) malicious_regions=$2; shift 2 ;;
    --no-defences) defences=0; shift ;;
    --json) json=1; shift ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --run-dir) run_dir=$2; shift 2 ;;
    --build-dir) build_dir=$2; sim_args+=("$1" "$2"); shift 2 ;;
    --strategy) strategy=$2; sim_args+=("$1" "$2"); shift 2 ;;
    -h|--help) usage ;;
    *) sim_args+=("$1"); shift ;;
  esac
done
case "$attack" in
  huge-n|scale|sign-flip|flt-max|label-flip) ;;
  *) die "--attack must be huge-n, scale, sign-flip, flt-max or label-flip (see --help)" ;;
esac
[[ "$malicious" =~ ^[0-9]+$ ]] || die "--malicious must be a count, got '$malicious'"
bin="$build_dir/bin"
for exe in fedseg-coordinator fedseg-client fedseg-malicious-region; do
  [[ -x "$bin/$exe" ]] || die "$bin/$exe is missing: cmake --build $build_dir --target $exe"
done
[[ -n "$run_dir" ]] || run_dir="$root/runs/poison-$attack-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)

overrides='{}'
[[ $defences -eq 1 ]] || overrides='{"defences": {"enabled": false}}'
export FEDSEG_SIM_COORDINATOR_JSON="$overrides" FEDSEG_SIM_REGION_CMD="$here/poisoning_test.sh --launch"
export FEDSEG_POISON_BIN="$bin" FEDSEG_POISON_ATTACK="$attack" FEDSEG_POISON_RUN_DIR="$run_dir"
export FEDSEG_POISON_MALICIOUS="$malicious_regions" FEDSEG_POISON_COUNT="$malicious"
set +e
timeout --signal TERM --kill-after 10 "$timeout_s" \
  bash "$here/simulate.sh" --run-dir "$run_dir" --quiet "${sim_args[@]}" > "$run_dir/simulate.out" 2>&1
sim_rc=$?
set -e

# Evaluate the final model on every region's held-out rows.
auc=null status=failed
[[ $sim_rc -eq 124 || $sim_rc -eq 137 ]] && status=stalled
if [[ -f "$run_dir/final.fsm" ]]; then
  status=ok
  pooled="$run_dir/data/pooled_heldout.csv"
  first=1
  : > "$pooled"
  for t in "$run_dir"/data/*/test.csv; do
    if [[ $first -eq 1 ]]; then cat "$t" >> "$pooled"; first=0; else tail -n +2 "$t" >> "$pooled"; fi
  done
  auc=$("$bin/fedseg-client" evaluate --model "$run_dir/final.fsm" --data "$pooled" --json |
        python3 -c 'import json, sys; v = json.load(sys.stdin).get("roc_auc"); print("null" if v is None else f"{v:.4f}")')
fi
refused=$(grep -c "refused the update of region" "$run_dir/coordinator.log" 2>/dev/null || true)
chosen=$(malicious_names 2>/dev/null || true)
if [[ $json -eq 1 ]]; then
  printf '{"attack": "%s", "malicious": "%s", "strategy": "%s", "defences": %s, "coordinator": "%s", "simulate_rc": %d, "roc_auc": %s, "refused_updates": %d, "run_dir": "%s"}\n' \
    "$attack" "$chosen" "$strategy" "$([[ $defences -eq 1 ]] && echo true || echo false)" "$status" "$sim_rc" "$auc" "${refused:-0}" "$run_dir"
else
  echo "attack=$attack malicious=$chosen strategy=$strategy defences=$([[ $defences -eq 1 ]] && echo on || echo off) coordinator=$status auc=$auc refused=${refused:-0} run_dir=$run_dir"
fi
