#!/usr/bin/env bash
# Sets up, builds, and runs fedseg's main job on the bundled online-shoppers data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)"
echo "demo: not yet wired"
