#!/usr/bin/env bash
# Install build dependencies, build vpai with ASan+UBSan, start a Docker
# engine, build (or reuse) the local image set, run every test with ctest.
#   scripts/test.sh [ctest args...]     e.g. scripts/test.sh -R u-tmpl
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
bash scripts/deps.sh
bash scripts/dockerd.sh
cmake -S . -B build/asan -DVPAI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build/asan -j"$(nproc)"
# The e2e tests deploy the local image set; the first build takes about
# 15 minutes on 2 cores, later runs reuse the cache in a second.
bash images/build.sh
echo "test.sh: setup took $(( $(date +%s) - t0 )) s"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export FUZZ_SECONDS=${FUZZ_SECONDS:-15}
cd build/asan
ctest --output-on-failure -j"$(nproc)" "$@"
