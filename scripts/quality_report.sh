#!/usr/bin/env bash
# Regenerates the quality figures of docs/quality.md from the current build, in one run, and writes
# them as Markdown tables with the date and the commands that produced them.
#
#   scripts/quality_report.sh [--out DIR] [--dp-runs N] [--sections LIST] [--build-dir DIR]
#
#   --out DIR        where runs and the report go (default runs/quality); DIR/quality_report.md
#   --dp-runs N      federations per privacy budget (default 2): DP noise comes from the CSPRNG
#                    and is not seeded, so DP figures are ranges over runs
#   --sections LIST  comma-separated subset of: single,federation,strategies,dp,noniid
#                    (default: all)
#   --build-dir DIR  the build with bin/fedseg-client (default build; built by scripts/test.sh or
#                    scripts/demo.sh)
#
# Every figure without DP is deterministic (seed 42 for splits, initialisation and shuffling), so
# it repeats exactly on the same build; the DP rows are min–max over --dp-runs runs. The tables:
#   single      `fedseg-client train` with its defaults on the bundled table, Telco churn and bank
#               marketing (../shared/data when present): ROC AUC and F1 at the rule on 20% test rows
#   federation  9 regions split by Region, 30 rounds, with the pooled and per-region baselines
#   strategies  fedavg, fedavgm, fedadam with their defaults: held-out AUC, F1, diverging rounds
#   dp          --dp-epsilon 1, 3, 8 with the DP defaults (FedAdam at server step 0.01, data summary
#               at sigma 80, regions' evaluation at sigma 20)
#   noniid      Telco churn in 4 regions, Dirichlet(0.5) label skew, 20 rounds, without and with DP
# Exit code: 0 when every run completed; 1 when one failed (its log is named); 2 for bad arguments.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/runs/quality" dp_runs=2 sections="single,federation,strategies,dp,noniid"
build_dir="$root/build"
die() { echo "quality_report.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --dp-runs) dp_runs=$2; shift 2 ;;
    --sections) sections=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $dp_runs =~ ^[1-9][0-9]*$ ]] || die "--dp-runs must be a whole number >= 1 (got '$dp_runs')"
for s in ${sections//,/ }; do
  [[ $s =~ ^(single|federation|strategies|dp|noniid)$ ]] || die "--sections: unknown section '$s'"
done
client="$build_dir/bin/fedseg-client"
[[ -x $client ]] || die "$client is missing: build first (bash scripts/test.sh or scripts/demo.sh)"
want() { [[ ",$sections," == *",$1,"* ]]; }
mkdir -p "$out"
report="$out/quality_report.md"
shared="$root/../shared/data"
shoppers=(--data "$root/data/online_shoppers_intention.csv" --label Revenue
          --categorical Month,VisitorType,Weekend,OperatingSystems,Browser,Region,TrafficType)
telco=(--data "$shared/WA_Fn-UseC_-Telco-Customer-Churn.csv" --label Churn --id-column customerID)
bank=(--data "$shared/bank.csv" --label y)
telco_bounds="$out/telco_bounds.json"
echo '{"SeniorCitizen": [0, 1], "tenure": [0, 72], "MonthlyCharges": [0, 120], "TotalCharges": [0, 9000]}' > "$telco_bounds"

{
  echo "# Quality report"
  echo
  echo "Generated $(date -u +%Y-%m-%dT%H:%M:%SZ) by \`scripts/quality_report.sh --dp-runs $dp_runs --sections $sections\`"
  echo "at commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), on $(nproc) cores."
} > "$report"

# One federation: simulate.sh with `args`; prints "auc f1_rule f1_argmax f1_cross diverging".
simulate() {
  local name=$1; shift
  local dir="$out/$name"
  rm -rf "$dir"
  if ! bash "$root/scripts/simulate.sh" --run-dir "$dir" --quiet --build-dir "$build_dir" "$@" \
      > "$out/$name.log" 2>&1; then
    echo "quality_report.sh: the run $name failed; see $out/$name.log" >&2
    return 1
  fi
  python3 - "$dir" <<'PY'
import json, re, sys
d = sys.argv[1]
line = open(f"{d}/heldout.txt").read().strip().splitlines()[-1]
nums = re.findall(r"ROC AUC ([0-9.]+); F1\([^)]*\) ([0-9.]+) at the model's rule.*?, ([0-9.]+) at arg-max, ([0-9.]+) cross-fitted", line)
r = json.load(open(f"{d}/report.json"))
div = sum(1 for x in r["rounds"] if "diverging" in x)
print(*nums[0], div)
PY
}
# min–max of a column over lines of numbers.
span() { awk -v c="$1" 'NR == 1 || $c < lo { lo = $c } NR == 1 || $c > hi { hi = $c } END { if (lo == hi) printf "%.3f", lo; else printf "%.3f–%.3f", lo, hi }'; }

if want single; then
  {
    echo
    echo "## Single node: \`fedseg-client train\` with its defaults"
    echo
    echo "| table | training rows | epochs run (best) | ROC AUC | F1 at the rule | F1 at arg-max |"
    echo "|---|---|---|---|---|---|"
  } >> "$report"
  for t in shoppers telco bank; do
    case $t in shoppers) args=("${shoppers[@]}") ;; telco) args=("${telco[@]}") ;; bank) args=("${bank[@]}") ;; esac
    [[ -f ${args[1]} ]] || { echo "| $t | (${args[1]} missing) | | | | |" >> "$report"; continue; }
    "$client" train "${args[@]}" --out "$out/single_$t.fsm" --json --quiet > "$out/single_$t.json" \
      2> "$out/single_$t.err" || { echo "quality_report.sh: train on $t failed; see $out/single_$t.err" >&2; exit 1; }
    python3 - "$out/single_$t.json" "$t" >> "$report" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"| {sys.argv[2]} | {j['train_rows']} | {j['epochs_run']} ({j['best_epoch']}) | {j['test']['roc_auc']:.3f} | "
      f"{j['test_at_rule']['positive_f1']:.3f} | {j['test']['positive_f1']:.3f} |")
PY
  done
  echo >> "$report"
  echo "Command: \`fedseg-client train --data T --label L [--categorical ...] --out m.fsm\` (defaults)." >> "$report"
fi

if want federation; then
  r=$(simulate federation "${shoppers[@]}" --split-by Region --rounds 30 --baselines) || exit 1
  read -r auc f1r f1a f1c div <<< "$r"
  {
    echo
    echo "## Federation: 9 regions split by Region, 30 rounds, FedAvg, no DP"
    echo
    echo "Held-out rows of every region: ROC AUC $auc; F1(TRUE) $f1r at the rule, $f1a at arg-max, $f1c cross-fitted."
    echo
    echo '```'
    sed -n '/^scope/,$p' "$out/federation.log" | head -11
    echo '```'
    echo
    echo "Command: \`scripts/simulate.sh --data data/online_shoppers_intention.csv --label Revenue --categorical ... --split-by Region --rounds 30 --baselines\`."
  } >> "$report"
fi

if want strategies; then
  {
    echo
    echo "## Server strategies (defaults), same split, no DP"
    echo
    echo "| strategy | ROC AUC | F1 at the rule | F1 at arg-max | diverging rounds |"
    echo "|---|---|---|---|---|"
  } >> "$report"
  for s in fedavg fedavgm fedadam; do
    r=$(simulate "strategy_$s" "${shoppers[@]}" --split-by Region --rounds 30 --strategy "$s") || exit 1
    read -r auc f1r f1a f1c div <<< "$r"
    echo "| $s | $auc | $f1r | $f1a | $div |" >> "$report"
  done
fi

if want dp; then
  {
    echo
    echo "## Differential privacy, budget ε per region (δ = 1e-6), the DP defaults (FedAdam step 0.01, summary σ 80, evaluation σ 20), $dp_runs run(s) each"
    echo
    echo "| ε | ROC AUC | F1 at the rule | F1 at arg-max | F1 cross-fitted |"
    echo "|---|---|---|---|---|"
  } >> "$report"
  for e in 1 3 8; do
    rows=""
    for i in $(seq 1 "$dp_runs"); do
      r=$(simulate "dp${e}_$i" "${shoppers[@]}" --split-by Region --rounds 30 --dp-epsilon "$e" \
            --stats-bounds "$root/examples/coordinator.json") || exit 1
      rows+="$r"$'\n'
    done
    rows=${rows%$'\n'}
    echo "| $e | $(span 1 <<< "$rows") | $(span 2 <<< "$rows") | $(span 3 <<< "$rows") | $(span 4 <<< "$rows") |" >> "$report"
  done
  echo >> "$report"
  echo "Command: \`scripts/simulate.sh ... --split-by Region --rounds 30 --dp-epsilon E --stats-bounds examples/coordinator.json\`." >> "$report"
fi

if want noniid; then
  if [[ -f ${telco[1]} ]]; then
    {
      echo
      echo "## Non-IID: Telco churn, 4 regions, Dirichlet(0.5), 20 rounds"
      echo
      echo "| run | ROC AUC | F1(Yes) at the rule | F1 at arg-max | F1 cross-fitted |"
      echo "|---|---|---|---|---|"
    } >> "$report"
    r=$(simulate noniid "${telco[@]}" --clients 4 --dirichlet 0.5 --rounds 20 --baselines) || exit 1
    read -r auc f1r f1a f1c div <<< "$r"
    echo "| no DP | $auc | $f1r | $f1a | $f1c |" >> "$report"
    r=$(simulate noniid_dp3 "${telco[@]}" --clients 4 --dirichlet 0.5 --rounds 20 --dp-epsilon 3 \
          --stats-bounds "$telco_bounds") || exit 1
    read -r auc f1r f1a f1c div <<< "$r"
    echo "| ε = 3 (one run) | $auc | $f1r | $f1a | $f1c |" >> "$report"
    {
      echo
      echo '```'
      sed -n '/^scope/,$p' "$out/noniid.log" | head -6
      echo '```'
    } >> "$report"
  else
    echo -e "\n## Non-IID: skipped (${telco[1]} missing)" >> "$report"
  fi
fi

echo "quality_report.sh: wrote $report"
