#!/usr/bin/env bash
# bench/vault.sh: time to open a vault (PBKDF2-SHA256, 10000 iterations, the
# ansible-vault default) with `vpai vault view` and with `ansible-vault view`
# on the same file, in the same run.  Prints medians and the ratio.
#   bench/vault.sh [RUNS]       (default 20; needs ansible-core)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/rel --target vpai -j"$(nproc)" >/dev/null
vpai=$PWD/build/rel/vpai
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'bench-password\n' >"$tmp/pw"
chmod 600 "$tmp/pw"
# The vault: the test fixture's secrets, encrypted by vpai.
"$vpai" vault encrypt --vault-password-file "$tmp/pw" -o "$tmp/v" \
    tests/fixtures/secrets/plain.yml >/dev/null 2>&1
head -c 32 "$tmp/v" | grep -q '^\$ANSIBLE_VAULT;1.1;AES256' || { echo "not a vault" >&2; exit 1; }

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
timeit() {	# prints ms for one run of "$@"
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000 ))
}
for _ in $(seq "$runs"); do
	timeit "$vpai" vault view --vault "$tmp/v" --vault-password-file "$tmp/pw"
done | median >"$tmp/a"
for _ in $(seq "$runs"); do
	timeit ansible-vault view --vault-password-file "$tmp/pw" "$tmp/v"
done | median >"$tmp/b"
a=$(cat "$tmp/a"); b=$(cat "$tmp/b")
echo "open the same vault, median of $runs runs (load: $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '  vpai vault view      %8.1f ms\n' "$(echo "$a / 1000" | bc -l)"
printf '  ansible-vault view   %8.1f ms\n' "$(echo "$b / 1000" | bc -l)"
printf '  ratio                %8.1fx faster\n' "$(echo "$b / $a" | bc -l)"
