#!/usr/bin/env bash
# Regenerates the quality figures of docs/quality.md from the current build, in one run, and writes
# them as Markdown tables with the date and the commands that produced them.
#
#   scripts/quality_report.sh [--out DIR] [--dp-runs N] [--sections LIST] [--build-dir DIR]
#
#   --out DIR        where runs and the report go (default runs/quality); DIR/quality_report.md
#   --dp-runs N      federations per privacy budget (default 2): DP noise comes from the CSPRNG
#                    and is not seeded, so DP figures are ranges over runs
#   --sections LIST  comma-separated subset of: single,federation,strategies,dp,noniid,speed
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
#   speed       the hot paths' benchmarks (bench/, Google Benchmark and the round and secure-
#               aggregation benches) and, when Debian's python3-torch is installed, fedseg against
#               PyTorch (scripts/bench_vs_pytorch.sh); timings depend on the machine and its load,
#               which the section records (docs/quality.md's figures are from a quiet machine)
# Exit code: 0 when every run completed; 1 when one failed (its log is named); 2 for bad arguments.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/runs/quality" dp_runs=2 sections="single,federation,strategies,dp,noniid,speed"
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
  [[ $s =~ ^(single|federation|strategies|dp|noniid|speed)$ ]] || die "--sections: unknown section '$s'"
done
client="$build_dir/bin/fedseg-client"
[[ -x $client ]] || die "$client is missing: build first (bash scripts/test.sh or scripts/demo.sh)"
want() { [[ ",$sections," == *",$1,"* ]]; }
mkdir -p "$out"
report="$out/quality_report.md"
shared="$root/../shared/data"
shoppers=(--data "$root/data/online_shoppers_intention.csv" --label Revenue
          --categorical Month,VisitorType,Weekend,OperatingSystems,Browser,Region,TrafficType)
# A federation reads the columns its contract lists as logarithms (data.log): the ones
# `fedseg-client train` detects on this table.
shoppers_log=(--log Administrative,Administrative_Duration,Informational,Informational_Duration,ProductRelated,ProductRelated_Duration,PageValues)
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
  r=$(simulate federation "${shoppers[@]}" "${shoppers_log[@]}" --split-by Region --rounds 30 --baselines) || exit 1
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
    echo "Command: \`scripts/simulate.sh --data data/online_shoppers_intention.csv --label Revenue --categorical ... --log ... --split-by Region --rounds 30 --baselines\`."
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
    r=$(simulate "strategy_$s" "${shoppers[@]}" "${shoppers_log[@]}" --split-by Region --rounds 30 --strategy "$s") || exit 1
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
      r=$(simulate "dp${e}_$i" "${shoppers[@]}" "${shoppers_log[@]}" --split-by Region --rounds 30 --dp-epsilon "$e" \
            --stats-bounds "$root/examples/coordinator.json") || exit 1
      rows+="$r"$'\n'
    done
    rows=${rows%$'\n'}
    echo "| $e | $(span 1 <<< "$rows") | $(span 2 <<< "$rows") | $(span 3 <<< "$rows") | $(span 4 <<< "$rows") |" >> "$report"
  done
  echo >> "$report"
  echo "Command: \`scripts/simulate.sh ... --log ... --split-by Region --rounds 30 --dp-epsilon E --stats-bounds examples/coordinator.json\`." >> "$report"
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

if want speed; then
  bin="$build_dir/bin"
  # One Google Benchmark run as JSON (stderr, the context lines, into the log).
  gbench() {
    local name=$1; shift
    if ! "$bin/$name" --benchmark_format=json "$@" > "$out/$name.json" 2> "$out/$name.log"; then
      echo "quality_report.sh: $name failed; see $out/$name.log" >&2
      return 1
    fi
  }
  gbench dp_bench --benchmark_filter='BM_DpVsNonPrivate/0/128/1' --benchmark_repetitions=3 || exit 1
  gbench aggregation_bench --benchmark_filter='/10/1048576' || exit 1
  gbench serialization_bench --benchmark_filter='/1048576|ModelFile' || exit 1
  gbench train_bench --benchmark_filter='BM_Predict/2/' || exit 1
  "$bin/fedseg_round_overhead" --regions 10 --rounds 6 > "$out/round_overhead.log" 2>&1 ||
    { echo "quality_report.sh: fedseg_round_overhead failed; see $out/round_overhead.log" >&2; exit 1; }
  "$bin/fedseg_secagg_bench" --regions 10 --params 100000 --dropout 0.3 --json \
    > "$out/secagg_bench.json" 2> "$out/secagg_bench.log" ||
    { echo "quality_report.sh: fedseg_secagg_bench failed; see $out/secagg_bench.log" >&2; exit 1; }
  torch_line="| fedseg vs PyTorch training | skipped: Debian's python3-torch is not installed | \`scripts/bench_vs_pytorch.sh --dp\` |"
  if /usr/bin/python3 -c 'import torch' 2> /dev/null; then
    if bash "$root/scripts/bench_vs_pytorch.sh" --dp --build-dir "$build_dir" > "$out/vs_pytorch.log" 2>&1; then
      torch_line=""
    else
      echo "quality_report.sh: bench_vs_pytorch.sh failed; see $out/vs_pytorch.log" >&2
      exit 1
    fi
  fi
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  python3 - "$out" "$torch_line" "$load" >> "$report" <<'PY'
import json, re, sys
out, torch_line, load = sys.argv[1], sys.argv[2], sys.argv[3]
def bench(name):
    return {b["name"]: b for b in json.load(open(f"{out}/{name}.json"))["benchmarks"]
            if b.get("run_type") != "aggregate" or b.get("aggregate_name") == "median"}
dp = [b for n, b in bench("dp_bench").items() if n.endswith("_median")] or list(bench("dp_bench").values())
agg = bench("aggregation_bench")
avg = next(b for n, b in agg.items() if n.startswith("BM_WeightedAverage"))
cpy = next(b for n, b in agg.items() if n.startswith("BM_CopySameBytes"))
ser = bench("serialization_bench")
ms = lambda b: b["real_time"] / {"ns": 1e6, "us": 1e3, "ms": 1.0}[b["time_unit"]]
pred = next(iter(bench("train_bench").values()))
median = re.search(r"median round overhead: ([0-9.]+) s \(min ([0-9.]+), max ([0-9.]+)\)",
                   open(f"{out}/round_overhead.log").read())
sa = json.load(open(f"{out}/secagg_bench.json"))
print(f"""
## Speed

Load average when the section finished: {load} (on 2 cores, timings are only comparable on a quiet
machine; docs/quality.md's are).

| what | figure | command |
|---|---|---|
| DP-SGD vs non-private step, 64→128→64→8, batch 128, 1 thread (2 threads are at the mercy of the load: OpenMP's barriers wait for a busy core) | {dp[0]['dp_over_nonprivate']:.2f} of the non-private throughput ({dp[0]['dp_per_s']:,.0f} vs {dp[0]['nonprivate_per_s']:,.0f} samples/s) | `dp_bench --benchmark_filter=BM_DpVsNonPrivate/0/128/1` |
| FedAvg of 10 updates × 1M floats | {avg['bytes_per_second'] / 1e9:.1f} GB/s, {100 * avg['bytes_per_second'] / cpy['bytes_per_second']:.0f}% of a copy of the same bytes | `aggregation_bench` |
| Update message with a 1M-float delta | encode {ms(ser['BM_EncodeUpdate/1048576']):.1f} ms, decode + validate {ms(ser['BM_DecodeAndValidateUpdate/1048576']):.1f} ms | `serialization_bench` |
| model file, 1M parameters | encode {ms(ser['BM_EncodeModelFile']):.1f} ms, decode + validate {ms(ser['BM_DecodeModelFile']):.1f} ms | same |
| inference 75→64→32→2 | {pred['items_per_second'] / 1e6:.1f}M rows/s | `train_bench --benchmark_filter=BM_Predict/2/` |
| round overhead, 10 regions, 1M-parameter model, mutual TLS, no training | median {median.group(1)} s ({median.group(2)}–{median.group(3)}) | `fedseg_round_overhead --regions 10 --rounds 6` |
| secure aggregation, 10 regions × 100,015 parameters, 30% dropout | time_ratio {sa['time_ratio']:.2f}, bytes_ratio {sa['bytes_ratio']:.2f}, critical_path_ratio {sa['critical_path_ratio']:.2f} | `fedseg_secagg_bench --regions 10 --params 100000 --dropout 0.3` |""")
if torch_line:
    print(torch_line)
else:
    print("\nfedseg against PyTorch (`scripts/bench_vs_pytorch.sh --dp`):\n\n```")
    print(open(f"{out}/vs_pytorch.log").read().strip())
    print("```")
PY
fi

echo "quality_report.sh: wrote $report"
