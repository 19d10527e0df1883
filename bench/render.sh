#!/usr/bin/env bash
# bench/render.sh: full render of the default site (tests/fixtures/render)
# with a release build, N times (default 50); prints the median and max
# wall time per run and the peak RSS.  Goal: < 20 ms and < 10 MB
# (libcurl is loaded on first use only, core/curl.h: 6.9 MB here).
#   bench/render.sh [N]        VPAI=path/to/vpai to skip the build
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50}
if [ -z "${VPAI:-}" ]; then
	cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/bench --target vpai -j2 >/dev/null
	VPAI=build/bench/vpai
fi
export VPAI_STACK_DIR=$PWD/stack
site=tests/fixtures/render/vpai.yml
secrets=tests/fixtures/secrets/plain.yml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Two cases, N runs each; every run renders the whole bundle:
#   fresh:     into a new directory (33 atomic writes, each fsynced);
#   unchanged: into a directory already up to date (rendered, compared,
#              nothing written: the common re-render).
run() {	# label dir-per-run(0|1)
	local times=() i t0 t1 sorted median max
	for i in $(seq 1 "$n"); do
		if [ "$2" = 1 ]; then d=$tmp/o$i; else d=$tmp/same; fi
		t0=$(date +%s%N)
		"$VPAI" -q --site "$site" render --secrets "$secrets" -o "$d"
		t1=$(date +%s%N)
		times+=($(( (t1 - t0) / 1000 )))
	done
	sorted=$(printf '%s\n' "${times[@]}" | sort -n)
	median=$(echo "$sorted" | sed -n "$(( (n + 1) / 2 ))p")
	max=$(echo "$sorted" | tail -1)
	printf '  %-10s median %d.%03d ms, max %d.%03d ms\n' "$1" \
	    $((median / 1000)) $((median % 1000)) $((max / 1000)) $((max % 1000))
}
"$VPAI" -q --site "$site" render --secrets "$secrets" -o "$tmp/same"
files=$(find "$tmp/same" -type f | wc -l)
printf 'render of the default site (%s files), %d runs per case, %s:\n' \
    "$files" "$n" "$("$VPAI" --version)"
run fresh 1
run unchanged 0
rss=$(/usr/bin/time -f %M "$VPAI" -q --site "$site" render \
    --secrets "$secrets" -o "$tmp/rss" 2>&1 >/dev/null | tail -1)
printf '  peak RSS %d KB (fresh render)\n' "$rss"
# CPU time (independent of the machine's load; wall times are not).
if command -v perf >/dev/null 2>&1; then
	cpu=$(perf stat -r 20 "$VPAI" -q --site "$site" render \
	    --secrets "$secrets" -o "$tmp/same" 2>&1 >/dev/null |
	    awk '/task-clock/{print $1}')
	printf '  CPU (task-clock) %s ms per unchanged render; load: %s\n' \
	    "$cpu" "$(cut -d' ' -f1-3 /proc/loadavg)"
fi
