#!/usr/bin/env bash
# Trains the same synthetic MLP workloads with fedseg and with PyTorch (Debian's python3-torch,
# ../shared/peers/torch_mlp_bench.py) on this machine, in one run, and prints both throughputs and
# their ratio. Workloads (Adam, fp32, 2 threads): 64 -> 128 -> 64 -> 8 classes at batch 128, and
# the seed design 3 -> 10 -> 2 at batch 32. With --dp, also DP-SGD (clip 1.0, sigma 1.0).
#   scripts/bench_vs_pytorch.sh [--samples N] [--repeats R] [--dp] [--build-dir DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
samples=200000 repeats=3 dp=0 build_dir="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --samples) samples=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --dp) dp=1; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "bench_vs_pytorch.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
peer="$root/../shared/peers/torch_mlp_bench.py"
[[ -f "$peer" ]] || { echo "bench_vs_pytorch.sh: peer script not found at $peer" >&2; exit 1; }
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "bench_vs_pytorch.sh: installing python3-torch (Debian)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target fedseg_mlp_throughput >/dev/null

# Best of R runs of each (the machine may be shared; the best run is the least disturbed).
best() {
  local best=0 v
  for _ in $(seq "$repeats"); do
    v=$("$@" 2>/dev/null | sed -n 's/.*samples_per_s=\([0-9.]*\).*/\1/p')
    best=$(python3 -c "print(max($best, ${v:-0}))")
  done
  echo "$best"
}
row() {
  local name=$1; shift
  local args=("$@")
  local ours theirs
  ours=$(best "$build_dir/bin/fedseg_mlp_throughput" "${args[@]}" --samples "$samples" --threads 2)
  theirs=$(best /usr/bin/python3 "$peer" "${args[@]}" --samples "$samples" --threads 2)
  python3 -c "print(f'{\"$name\":<40} {float($ours):>14,.0f} {float($theirs):>14,.0f} {float($ours)/float($theirs):>8.1f}x')"
}
printf '%-40s %14s %14s %9s\n' workload fedseg/s pytorch/s ratio
row "64-128-64-8, batch 128, Adam" --features 64 --hidden 128,64 --classes 8 --batch 128
row "3-10-2, batch 32, Adam" --features 3 --hidden 10 --classes 2 --batch 32
if [[ $dp -eq 1 ]]; then
  row "DP-SGD 64-128-64-8, batch 128" --features 64 --hidden 128,64 --classes 8 --batch 128 --dp-clip 1.0 --dp-sigma 1.0
fi
