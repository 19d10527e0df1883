#!/usr/bin/env bash
# bench/backup.sh: the backup figures of issue 6, on this machine's Docker
# engine with the local PostgreSQL image (release build):
#   1. a ~1 GB database generated with `pgbench -i -s $SCALE` (default 70)
#      in the litellm database of a one-service stack;
#   2. `vpai backup --only pg:litellm` (pg_dump -Fc, docker cp, sha256,
#      pg_restore into a throwaway database, row counts of every table
#      compared) against plain `pg_dump -Fc | pg_restore` into a scratch
#      database in the same container, same run;
#   3. `vpai restore --only pg:litellm --yes` (safety backup with its own
#      verification, drop, createdb, pg_restore, row counts checked against
#      the manifest, health gate), with its parts;
#   4. restic: repository size after a first backup, then after a second
#      one with little change (1000 rows updated); since GFS keeps one
#      snapshot per day, the growth is measured on a second repository
#      holding both sets (two nights in a row), with `restic stats`.
# Not a ctest (several minutes, ~4 GB of disk at peak).  Uses project
# vpai-bench-bk, subnets 172.22.1x.0/24 (t7002 uses 172.22.x: do not run
# both at once).
#   bench/backup.sh            VPAI=path/to/vpai to skip the build
#   SCALE=10 bench/backup.sh   a smaller database (~150 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${SCALE:-70}
if [ -z "${VPAI:-}" ]; then
	cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/bench --target vpai vpai-probe -j2 >/dev/null
	VPAI=$PWD/build/bench/vpai
fi
export VPAI_PROBE=${VPAI_PROBE:-$(dirname "$VPAI")/vpai-probe}
proj=vpai-bench-bk
tmp=$(mktemp -d)
cleanup() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" |
	    xargs -r docker rm -f >/dev/null 2>&1 || true
	docker network ls -q --filter "name=^${proj}_" |
	    xargs -r docker network rm >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cp -r stack "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" |
    xargs sed -i 's/172\.20\.\([0-9]\)\./172.22.1\1./g'
export VPAI_STACK_DIR=$tmp/stack
root=$tmp/root
site=$tmp/site
mkdir -p "$site"
printf 'project_name: %s\nstack_root: %s\nimage_set: local\n' "$proj" "$root" \
    >"$site/vpai.yml"
secrets=$PWD/tests/fixtures/secrets/plain.yml
restic_pw=$(sed -n "s/^restic_password: '\(.*\)'/\1/p" "$secrets")
printf '%s' "$restic_pw" >"$tmp/restic-pw"
chmod 600 "$tmp/restic-pw"
repo=$tmp/restic
V() { "$VPAI" -q -C "$site" "$@" --secrets "$secrets"; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
sec() { awk -v m="$1" 'BEGIN { printf "%.1f s", m / 1000 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
log() { echo "bench: $*" >&2; }

log "apply (postgresql only)..."
V apply --only postgresql >"$tmp/apply.log" 2>&1 || { cat "$tmp/apply.log"; exit 1; }
ctr=$(docker ps -q --filter "label=com.docker.compose.project=$proj" \
    --filter "label=com.docker.compose.service=postgresql")
pg() { docker exec "$ctr" psql -U postgres -XAtq "$@"; }
log "pgbench -i -s $SCALE into litellm..."
t=$(date +%s%N)
docker exec "$ctr" pgbench -U postgres -i -s "$SCALE" -q litellm >"$tmp/pgbench.log" 2>&1 ||
    { cat "$tmp/pgbench.log"; exit 1; }
gen=$(ms "$t")
dbsize=$(pg -c "select pg_database_size('litellm')")
rows=$(pg -d litellm -c "select count(*) from pgbench_accounts")

log "vpai backup --only pg:litellm (x2, no restic)..."
t=$(date +%s%N); V backup --only pg:litellm --dir "$tmp/b0" >"$tmp/b0.log" 2>&1 ||
    { cat "$tmp/b0.log"; exit 1; }; vb1=$(ms "$t")
rm -rf "$tmp/b0"
t=$(date +%s%N); V backup --only pg:litellm --dir "$tmp/b0" >"$tmp/b0.log" 2>&1 ||
    { cat "$tmp/b0.log"; exit 1; }; vb2=$(ms "$t")
dump=$(find "$tmp/b0" -name pg-litellm.dump | head -1)
dumpsize=$(stat -c %s "$dump")
rm -rf "$tmp/b0"

log "plain pg_dump -Fc | pg_restore (x2)..."
plain() {
	pg -c "drop database if exists bench_scratch" >/dev/null
	pg -c "create database bench_scratch" >/dev/null
	local t0; t0=$(date +%s%N)
	docker exec "$ctr" sh -c 'pg_dump -U postgres -Fc litellm |
	    pg_restore -U postgres --exit-on-error -d bench_scratch'
	ms "$t0"
}
pr1=$(plain); pr2=$(plain)
pg -c "drop database bench_scratch" >/dev/null
log "plain pg_dump -Fc to a file (no restore)..."
t=$(date +%s%N)
docker exec "$ctr" sh -c 'pg_dump -U postgres -Fc -f /tmp/b.dump litellm && rm -f /tmp/b.dump'
pd=$(ms "$t")

log "vpai backup with restic (first), then a verified restore..."
t=$(date +%s%N); V backup --only pg:litellm --restic "$repo" >"$tmp/r1.log" 2>&1 ||
    { cat "$tmp/r1.log"; exit 1; }; rb1=$(ms "$t")
size1=$(du -sb "$repo" | cut -f1)
t=$(date +%s%N); V restore --only pg:litellm --yes >"$tmp/rs.log" 2>&1 ||
    { cat "$tmp/rs.log"; exit 1; }; vr=$(ms "$t")
[ "$(pg -d litellm -c "select count(*) from pgbench_accounts")" = "$rows" ] ||
    { echo "bench: restored row count differs" >&2; exit 1; }

log "1000 rows changed, second backup with restic..."
pg -d litellm -c "update pgbench_accounts set abalance = abalance + 1 where aid <= 1000" >/dev/null
t=$(date +%s%N); V backup --only pg:litellm --restic "$repo" >"$tmp/r2.log" 2>&1 ||
    { cat "$tmp/r2.log"; exit 1; }; rb2=$(ms "$t")
size2=$(du -sb "$repo" | cut -f1)
R() { RESTIC_PASSWORD_FILE=$tmp/restic-pw restic -r "$1" "${@:2}"; }
nsnap=$(R "$repo" snapshots --json | jq length)
# The same day, GFS (--keep-daily 7) keeps one snapshot: the second backup
# replaced the first in vpai's repository.  Growth itself, on a second
# repository holding both sets, as two nights in a row would:
log "restic growth: both sets in a fresh repository..."
sets=$(find "$root/backups" -maxdepth 1 -name '*Z' -type d | sort | tail -2)
set1=$(echo "$sets" | head -1); set2=$(echo "$sets" | tail -1)
g=$tmp/growth
R "$g" init -q >/dev/null
R "$g" backup -q --tag vpai --host "$proj" "$set1" >/dev/null
g1=$(du -sb "$g" | cut -f1)
R "$g" backup -q --tag vpai --host "$proj" "$set2" >"$tmp/g2.log" 2>&1
g2=$(du -sb "$g" | cut -f1)
statsum() { R "$1" stats --mode "$2" 2>/dev/null |
    sed -n 's/^ *\(Total Size\|Total Blob Count\|Total File Count\|Snapshots processed\): */\1: /p' |
    paste -sd ';' | sed 's/;/; /g'; }
stats_raw=$(statsum "$g" raw-data)
stats_restore=$(statsum "$g" restore-size)
echo
echo "bench/backup: PostgreSQL $(docker exec "$ctr" postgres --version | awk '{print $3}'), pgbench scale $SCALE"
echo "  database litellm: $(mib "$dbsize"), $rows rows in pgbench_accounts (generated in $(sec "$gen"))"
echo "  dump (pg_dump -Fc): $(mib "$dumpsize")"
echo "  vpai backup --only pg:litellm (dump + cp + sha256 + verify): $(sec "$vb1"), $(sec "$vb2")"
echo "  plain pg_dump -Fc | pg_restore into a scratch db:           $(sec "$pr1"), $(sec "$pr2")"
echo "  plain pg_dump -Fc to a file alone:                          $(sec "$pd")"
echo "  vpai backup + restic copy (first snapshot):                 $(sec "$rb1")"
echo "  vpai restore --only pg:litellm --yes (safety backup+verify, restore, counts, gate): $(sec "$vr")"
echo "  vpai backup + restic copy, 1000 rows changed:               $(sec "$rb2")"
echo "  vpai's restic repository: $(mib "$size1") after the first backup, $(mib "$size2") after the second ($nsnap snapshot kept: same day, GFS keeps one)"
echo "  growth (both sets in one repository, as on two nights): $(mib "$g1") -> $(mib "$g2") (+$(mib $((g2 - g1))))"
echo "    restic stats --mode raw-data:     $stats_raw"
echo "    restic stats --mode restore-size: $stats_restore"
