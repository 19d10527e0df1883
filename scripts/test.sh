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
# Tests exit 77 (ctest: "Skipped") when something they need is missing.
# Everything is installed above, so here a skip is a broken setup: fail.
# VPAI_ALLOW_SKIP=1 accepts skips (a machine without Docker, say).
set +e
ctest --output-on-failure -j"$(nproc)" "$@" 2>&1 | tee ctest.log
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 0 ] && [ "${VPAI_ALLOW_SKIP:-0}" != 1 ] &&
    grep -q '(Skipped)' ctest.log; then
	echo "test.sh: tests were skipped (listed above): failing; set VPAI_ALLOW_SKIP=1 to accept" >&2
	rc=1
fi
exit "$rc"
