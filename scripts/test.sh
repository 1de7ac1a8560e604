#!/usr/bin/env bash
# Sets up (Debian packages), builds in Release and runs the whole test suite through ctest.
#   scripts/test.sh               Release build in build/, all tests
#   BUILD_DIR=... scripts/test.sh another build folder
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$JOBS"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS" "$@"
