#!/bin/bash
# t9000-fuzz: build the libFuzzer harnesses with clang in a separate build
# directory ($VPAI_BUILD_DIR/fuzz) and run each one on its seed corpus for
# FUZZ_SECONDS (default 20) with -max_len=4096.  Fails on any crash, leak,
# sanitizer report or timeout.  New inputs go to a scratch directory, never
# into the checked-in corpus.
set -u

src=${VPAI_SOURCE_DIR:?VPAI_SOURCE_DIR not set}
bld=${VPAI_BUILD_DIR:?VPAI_BUILD_DIR not set}/fuzz
secs=${FUZZ_SECONDS:-20}
cc=${FUZZ_CC:-clang}

fail() { echo "t9000: FAIL: $*"; exit 1; }

command -v "$cc" >/dev/null 2>&1 || fail "'$cc' not found (apt-get install clang)"

echo "t9000: configuring $bld with $cc"
CC=$cc cmake -S "$src" -B "$bld" -DVPAI_FUZZ=ON -DVPAI_SANITIZE=ON \
    -DCMAKE_BUILD_TYPE=Debug >"$bld.configure.log" 2>&1 ||
    { cat "$bld.configure.log"; fail "cmake configure"; }

fuzzers=(tmpl)
[ -f "$src/fuzz/fuzz-site.c" ] && fuzzers+=(site)
fuzzers+=(vault)

scratch=$(mktemp -d "${TMPDIR:-/tmp}/vpai-fuzz.XXXXXX") || fail "mktemp"
trap 'rm -rf "$scratch"' EXIT

rc=0
for f in "${fuzzers[@]}"; do
	name=fuzz-$f
	corpus=$src/fuzz/corpus/$f
	echo "t9000: building $name"
	if ! cmake --build "$bld" --target "$name" -j2 >"$scratch/$name.build.log" 2>&1; then
		tail -40 "$scratch/$name.build.log"
		echo "t9000: FAIL: $name does not build"
		rc=1
		continue
	fi
	[ -d "$corpus" ] || { echo "t9000: FAIL: no corpus $corpus"; rc=1; continue; }
	n=$(find "$corpus" -type f | wc -l)
	mkdir -p "$scratch/$f" "$scratch/$f.art"
	echo "t9000: running $name for ${secs}s on $corpus ($n seeds), -max_len=4096"
	if ! (cd "$scratch" && VPAI_SOURCE_DIR=$src "$bld/fuzz/$name" \
	    -max_len=4096 -max_total_time="$secs" -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix="$scratch/$f.art/" \
	    "$scratch/$f" "$corpus" >"$scratch/$name.log" 2>&1); then
		tail -60 "$scratch/$name.log"
		for a in "$scratch/$f.art"/*; do
			[ -f "$a" ] || continue
			echo "t9000: crashing input ($(basename "$a")), base64:"
			base64 -w0 "$a"; echo
		done
		echo "t9000: FAIL: $name crashed"
		rc=1
		continue
	fi
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' \
	    "$scratch/$name.log" | sed "s/^/t9000: $name: /"
	echo "t9000: $name ok"
done
[ $rc -eq 0 ] && echo "t9000: all fuzzers ran without a crash"
exit $rc
