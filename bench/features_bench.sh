#!/usr/bin/env bash
# Feature extraction speed: fedseg's streaming engine against pandas on the same synthetic log,
# in the same run.
#
#   bench/features_bench.sh [--rows 10000000] [--users 200000] [--build-dir build] [--keep DIR]
#
# --keep DIR keeps the log, both tables and GNU time's output in DIR (and reuses the log next time).
# Generates a CSV event log (user_id, ts, category, amount; --users users over 2023, seeded),
# writes a feature spec with ten per-user features (count, sum/mean/min/max/stddev of amount,
# recency, tenure, share of category A, events in the last 30 days), runs
# `fedseg-client features` and bench/features_pandas.py (read_csv + groupby().agg() computing the
# same features) under GNU time, checks that both give the same values, and prints events/s, the
# ratio and each one's peak memory: a table, then one key=value line per figure (ratio_cpu=,
# ratio_wall=, events_per_s=, events_per_cpu_s=, peak_rss_mib=, pandas_*, load_avg=) for scripts.
# The load average before and after the runs is printed too: on a shared machine wall-clock
# figures depend on it, the CPU-time ratio much less. Needs python3-pandas
# (scripts/install-deps.sh --reference).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
rows=10000000 users=200000 build_dir="$root/build" keep=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --users) users=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "features_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[[ "$rows" =~ ^[0-9]+$ && "$users" =~ ^[0-9]+$ && $rows -ge 1 && $users -ge 1 ]] ||
  { echo "features_bench.sh: --rows and --users must be positive integers" >&2; exit 2; }
client="$build_dir/bin/fedseg-client"
[[ -x "$client" ]] || { echo "features_bench.sh: build fedseg-client first ($client)" >&2; exit 2; }
work=${keep:-$(mktemp -d)}
mkdir -p "$work"
[[ -n "$keep" ]] || trap 'rm -rf "$work"' EXIT

# With --keep, a log already generated there with the same --rows and --users is reused.
if [[ -n "$keep" && -f "$work/log.csv" && "$(cat "$work/log.params" 2>/dev/null)" == "$rows $users" ]]; then
  echo "features_bench.sh: reusing $work/log.csv" >&2
else
/usr/bin/python3 - "$work/log.csv" "$rows" "$users" <<'PY'
import sys
import numpy as np
path, rows, users = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(7)
with open(path, "w") as f:
    f.write("user_id,ts,category,amount\n")
    chunk = 1_000_000
    days = np.datetime64("2023-01-01") + np.arange(365)
    day_text = np.array([str(d) for d in days])
    cats = np.array(list("ABCDE"))
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        u = rng.integers(1, users + 1, n)
        d = rng.integers(0, 365, n)
        c = rng.integers(0, 5, n)
        a = np.round(rng.gamma(2.0, 20.0, n), 2)
        lines = [f"u{ui},{day_text[di]},{cats[ci]},{ai:.2f}\n" for ui, di, ci, ai in zip(u, d, c, a)]
        f.writelines(lines)
PY
echo "$rows $users" > "$work/log.params"
fi
cat > "$work/spec.json" <<'JSON'
{
  "reference_time": "2024-01-01",
  "id_column": "user_id",
  "sources": {"events": {"path": "log.csv", "user_id": "user_id", "timestamp": "ts"}},
  "features": [
    {"name": "events", "source": "events", "agg": "count"},
    {"name": "amount_sum", "source": "events", "agg": "sum", "column": "amount"},
    {"name": "amount_mean", "source": "events", "agg": "mean", "column": "amount"},
    {"name": "amount_min", "source": "events", "agg": "min", "column": "amount"},
    {"name": "amount_max", "source": "events", "agg": "max", "column": "amount"},
    {"name": "amount_std", "source": "events", "agg": "stddev", "column": "amount"},
    {"name": "share_a", "source": "events", "agg": "share", "column": "category", "value": "A"},
    {"name": "events_last_30_days", "source": "events", "agg": "count", "window": {"start_days": -30}},
    {"name": "recency", "source": "events", "agg": "recency"},
    {"name": "tenure", "source": "events", "agg": "tenure"}
  ]
}
JSON

peak_kib() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }
cpu_s() { awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$1"; }
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s.%N)
/usr/bin/time -v "$client" features --spec "$work/spec.json" --out "$work/fedseg.csv" --json \
  > "$work/fedseg.json" 2> "$work/fedseg.time"
fedseg_s=$(echo "$(date +%s.%N) - $start" | bc -l)
start=$(date +%s.%N)
/usr/bin/time -v /usr/bin/python3 "$here/features_pandas.py" "$work/log.csv" "$work/pandas.csv" \
  > "$work/pandas.json" 2> "$work/pandas.time"
pandas_s=$(echo "$(date +%s.%N) - $start" | bc -l)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

/usr/bin/python3 - "$work" "$rows" "$fedseg_s" "$pandas_s" "$(peak_kib "$work/fedseg.time")" "$(peak_kib "$work/pandas.time")" \
  "$(cpu_s "$work/fedseg.time")" "$(cpu_s "$work/pandas.time")" "$load_before" "$load_after" "$(nproc)" <<'PY'
import sys
import numpy as np
import pandas as pd
work, rows, fs, ps, fk, pk, fc, pc = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:9])
load_before, load_after, cores = sys.argv[9], sys.argv[10], sys.argv[11]
a = pd.read_csv(f"{work}/fedseg.csv", dtype={"user_id": str}).set_index("user_id").sort_index()
b = pd.read_csv(f"{work}/pandas.csv", dtype={"user_id": str}).set_index("user_id").sort_index()[a.columns]
assert a.index.equals(b.index), "the two tables have different users"
worst = max(float(np.max(np.abs(a[c] - b[c]) / np.maximum(1.0, np.abs(b[c])))) for c in a.columns)
print(f"rows {rows:,}, users {len(a):,}, features {len(a.columns)}; largest relative difference {worst:.2e}")
print(f"{'':8} {'wall s':>8} {'events/s':>12} {'CPU s':>8} {'events/CPU-s':>13} {'peak MiB':>9}")
print(f"{'fedseg':8} {fs:8.2f} {rows / fs:12,.0f} {fc:8.2f} {rows / fc:13,.0f} {fk / 1024:9.0f}")
print(f"{'pandas':8} {ps:8.2f} {rows / ps:12,.0f} {pc:8.2f} {rows / pc:13,.0f} {pk / 1024:9.0f}")
print(f"fedseg / pandas speed: {ps / fs:.2f}x wall clock, {pc / fc:.2f}x CPU time")
print(f"load average (1, 5, 15 min) before: {load_before}, after: {load_after}; {cores} cores")
print(f"ratio_cpu={pc / fc:.2f} ratio_wall={ps / fs:.2f}")
print(f"events_per_s={rows / fs:.0f} events_per_cpu_s={rows / fc:.0f} wall_s={fs:.2f} cpu_s={fc:.2f} "
      f"peak_rss_mib={fk / 1024:.0f}")
print(f"pandas_events_per_s={rows / ps:.0f} pandas_events_per_cpu_s={rows / pc:.0f} "
      f"pandas_wall_s={ps:.2f} pandas_cpu_s={pc:.2f} pandas_peak_rss_mib={pk / 1024:.0f}")
print(f"load_avg_before={load_before.split()[0]} load_avg_after={load_after.split()[0]} cores={cores}")
assert worst < 1e-6, "fedseg and pandas disagree"
PY
