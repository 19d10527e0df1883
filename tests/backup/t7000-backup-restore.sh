#!/usr/bin/env bash
# t7000-backup-restore: `vpai backup` and `vpai restore` on the real
# PostgreSQL, Redis and n8n images (local image set) and real restic:
#   - seeded data: rows in litellm and n8n databases, a Redis key, an n8n
#     workflow and credential;
#   - backup of pg, redis, n8n, configs: exit 0, manifest checksums match
#     the files, row counts recorded, n8n export counts, credentials still
#     encrypted, state.json, heartbeat pinged, restic snapshot made and the
#     GFS forget policy applied to older snapshots;
#   - a full backup with Qdrant and Grafana not deployed: every other
#     artifact still produced and verified, exit non-zero naming both, no
#     heartbeat;
#   - destroy (drop table, delete workflow, FLUSHALL), restore without
#     --yes on a non-tty is refused, restore --yes puts rows, workflow and
#     key back with a safety set, services healthy again;
#   - restore of redis from the restic snapshot ('latest').
# Isolation: project vpai-test-backup-<pid>, subnets moved to 172.29.x,
# no published ports, everything removed at exit.
# cleanup runs from the EXIT trap.
# shellcheck disable=SC2317
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
probe=$VPAI_BUILD_DIR/vpai-probe
if ! docker info >/dev/null 2>&1 || ! command -v docker-compose >/dev/null ||
    ! command -v restic >/dev/null || ! command -v redis-check-rdb >/dev/null; then
	echo "SKIP: no docker engine, docker-compose, restic or redis-check-rdb"; exit 77
fi
for img in vpai-local/postgresql:15 vpai-local/redis:7.0 vpai-local/n8n:1.123.81; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe
tmp=$(mktemp -d)
proj=vpai-test-backup-$$
fail=0
hbpid=
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
cleanup() {
	[ -n "$hbpid" ] && kill "$hbpid" 2>/dev/null
	umount "$tmp/small" 2>/dev/null
	docker ps -aq --filter "label=com.docker.compose.project=$proj" |
	    xargs -r docker rm -f >/dev/null 2>&1
	docker network ls -q --filter "name=^${proj}_" |
	    xargs -r docker network rm >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
id_of() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" \
	    --filter "label=com.docker.compose.service=$1"
}
health_of() {
	docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' \
	    "$(id_of "$1")" 2>/dev/null
}
cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" | xargs sed -i 's/172\.20\./172.29./g'
export VPAI_STACK_DIR=$tmp/stack
root=$tmp/root
site=$tmp/site
mkdir -p "$site"
printf 'project_name: %s\nstack_root: %s\nimage_set: local\nn8n_owner_email: t7000@example.org\n' \
    "$proj" "$root" >"$site/vpai.yml"
secrets=$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml
redis_pw=$(sed -n "s/^redis_password: '\(.*\)'/\1/p" "$secrets")
restic_pw=$(sed -n "s/^restic_password: '\(.*\)'/\1/p" "$secrets")
export RESTIC_REPOSITORY=$tmp/restic
printf '%s' "$restic_pw" >"$tmp/restic-pw"
chmod 600 "$tmp/restic-pw"
rst() { RESTIC_PASSWORD_FILE=$tmp/restic-pw restic -q "$@"; }
V() { "$VPAI" -C "$site" "$@" --secrets "$secrets"; }

# A second apply when the first one's n8n provisioning met a 404 (n8n
# reports healthy before its /rest routes answer; reported to deploy).
if { V apply --only postgresql,redis,n8n >"$tmp/a1" 2>&1 ||
    { grep -q 'GET /rest/settings: HTTP 404' "$tmp/a1" && sleep 5 &&
    V apply --only postgresql,redis,n8n >>"$tmp/a1" 2>&1; }; } &&
    [ "$(health_of n8n)" = running/healthy ]; then
	ok "stack up: postgresql, redis, n8n healthy"
else bad "apply"; cat "$tmp/a1"; exit 1; fi

pg() { docker exec "$(id_of postgresql)" psql -U postgres -XAtq "$@" 2>&1; }
rc() { docker exec -e REDISCLI_AUTH="$redis_pw" "$(id_of redis)" redis-cli "$@" 2>&1; }
n8nx() { docker exec "$(id_of n8n)" "$@" 2>&1; }
# Seed.
pg -d litellm -c "create table t7000(v int); insert into t7000 select generate_series(1, 500)"
rc set t7000 seeded >/dev/null
cat >"$tmp/wf.json" <<'J'
[{"id":"t7000wf000000001","name":"t7000 workflow","active":false,"nodes":[{"parameters":{},"name":"Start","type":"n8n-nodes-base.manualTrigger","typeVersion":1,"position":[0,0],"id":"11111111-1111-4111-8111-111111111111"}],"connections":{},"settings":{}}]
J
cat >"$tmp/cred.json" <<'J'
[{"id":"t7000cred0000001","name":"t7000 credential","type":"httpBasicAuth","data":{"user":"u7000","password":"t7000-cred-secret"}}]
J
docker cp "$tmp/wf.json" "$(id_of n8n):/tmp/wf.json" && docker cp "$tmp/cred.json" "$(id_of n8n):/tmp/cred.json"
docker exec -u 0 "$(id_of n8n)" chmod 644 /tmp/wf.json /tmp/cred.json
n8nx n8n import:workflow --input=/tmp/wf.json >"$tmp/imp" || { bad "workflow import"; cat "$tmp/imp"; }
n8nx n8n import:credentials --input=/tmp/cred.json >"$tmp/imp" || { bad "credential import"; cat "$tmp/imp"; }
[ "$(pg -d n8n -c 'select count(*) from workflow_entity')" = 1 ] && ok "seeded: 500 rows, key, workflow, credential" ||
    bad "seed workflow: $(pg -d n8n -c 'select count(*) from workflow_entity')"

# Older restic snapshots (10 consecutive days of January 2020), to see
# the GFS policy applied by the next backup.
rst init
mkdir -p "$tmp/old"
for d in 01 02 03 04 05 06 07 08 09 10; do
	echo "$d" >"$tmp/old/day"
	rst backup --tag vpai --host "$proj" --time "2020-01-$d 03:00:00" "$tmp/old" >/dev/null
done
[ "$(rst snapshots --json | jq length)" = 10 ] || bad "old snapshots"

# Heartbeat receiver.
mkdir -p "$tmp/www"; echo pong >"$tmp/www/ping"
port=$((20000 + $$ % 20000))
(cd "$tmp/www" && exec python3 -m http.server "$port" --bind 127.0.0.1 >"$tmp/hb.log" 2>&1) &
hbpid=$!
export VPAI_HEARTBEAT_URL=http://127.0.0.1:$port/ping
sleep 1

# An old set (hot retention: 3 days) that nothing refers to.
mkdir -p "$root/backups/20200101T000000Z"
# 1. Backup of what runs: everything passes.
if V backup --only pg,redis,n8n,configs >"$tmp/b1" 2>"$tmp/b1.err"; then
	ok "backup pg,redis,n8n,configs: exit 0"
else bad "backup: exit $?"; cat "$tmp/b1" "$tmp/b1.err"; fi
set1=$(sed -n 's/^backup \([^:]*\): .*/\1/p' "$tmp/b1")
m=$set1/manifest.json
if [ -f "$m" ] && [ "$(jq '[.artifacts[] | select(.ok)] | length' "$m")" = 7 ] &&
    [ "$(jq .failed "$m")" = 0 ] && jq -e '.tools.pg_dump and .tools.restic and (.duration_s > 0)' "$m" >/dev/null; then
	ok "manifest: 7 artifacts ok, tool versions, duration"
else bad "manifest"; cat "$m"; fi
good=1
while read -r f s sz; do
	[ "$(sha256sum "$set1/$f" | cut -d' ' -f1)" = "$s" ] && [ "$(stat -c %s "$set1/$f")" = "$sz" ] || good=0
done < <(jq -r '.artifacts[] | select(.ok) | "\(.file) \(.sha256) \(.size)"' "$m")
[ $good = 1 ] && ok "every sha256 and size matches its file" || bad "checksums"
[ "$(jq -r '.artifacts[] | select(.name=="pg:litellm") | .rows["public.t7000"]' "$m")" = 500 ] &&
    ok "pg:litellm verified by pg_restore: t7000 has 500 rows" || bad "pg rows: $(jq -c '.artifacts[0]' "$m")"
jq -e '.artifacts[] | select(.name=="redis") | .verified | test("RDB looks OK")' "$m" >/dev/null &&
    ok "redis verified by redis-check-rdb" || bad "redis verify"
[ "$(jq length "$set1/n8n-workflow.json")" = 1 ] && [ "$(jq length "$set1/n8n-credentials.json")" = 1 ] &&
    ok "n8n exports: 1 workflow, 1 credential" || bad "n8n exports"
grep -q t7000-cred-secret "$set1/n8n-credentials.json" && bad "credential exported in clear" ||
    ok "credential stays encrypted"
jq -e '."pg:n8n".stamp and .redis.stamp and (."qdrant" == null)' "$(dirname "$set1")/state.json" >/dev/null &&
    ok "state.json records the verified artifacts" || bad "state.json"
[ "$(grep -c 'GET /ping' "$tmp/hb.log")" = 1 ] && ok "heartbeat pinged" || bad "heartbeat: $(cat "$tmp/hb.log")"
n=$(rst snapshots --json | jq length)
if [ "$n" = 7 ] && ! rst snapshots --json | jq -r '.[].time' | grep -q '^2020-01-0[1-4]'; then
	ok "restic snapshot made, GFS forget applied (11 -> 7, Jan 1-4 2020 removed)"
else bad "restic: $n snapshots"; rst snapshots; fi
grep -qF "$redis_pw" "$tmp/b1" "$tmp/b1.err" && bad "a secret shows in the output"
[ "$(stat -c %a "$set1")" = 700 ] && ok "set directory is 0700" || bad "set mode"

[ ! -e "$root/backups/20200101T000000Z" ] && ok "hot retention removed the 2020 set" ||
    bad "old set kept"
# An old set that state.json holds as qdrant's last verified backup.
mkdir -p "$root/backups/20200102T000000Z"
jq --arg d "$root/backups/20200102T000000Z" '.qdrant = {stamp: "20200102T000000Z", dir: $d}' \
    "$root/backups/state.json" >"$tmp/st" && cp "$tmp/st" "$root/backups/state.json"
# 2. Qdrant and Grafana not deployed: the others still produced.
V backup >"$tmp/b2" 2>"$tmp/b2.err"; rc2=$?
set2=$(sed -n 's/^backup \([^:]*\): .*/\1/p' "$tmp/b2")
if [ $rc2 != 0 ] && grep -q 'failed artifacts: qdrant, grafana$' "$tmp/b2.err" &&
    [ "$(jq '[.artifacts[] | select(.ok)] | length' "$set2/manifest.json")" = 7 ]; then
	ok "qdrant and grafana down: exit $rc2 naming both, 7 others verified"
else bad "partial backup (exit $rc2)"; cat "$tmp/b2" "$tmp/b2.err"; fi
[ "$(grep -c 'GET /ping' "$tmp/hb.log")" = 1 ] && ok "heartbeat not pinged" || bad "heartbeat pinged on failure"
[ -d "$root/backups/20200102T000000Z" ] && jq -e '.qdrant.stamp == "20200102T000000Z"' "$root/backups/state.json" >/dev/null &&
    ok "qdrant's last verified set kept past hot retention" || bad "last verified set pruned"

# Full disk: a tmpfs with room for one earlier good set only.
mkdir -p "$tmp/small"
kb=$(( $(du -sk "$set1" | cut -f1) + 48 ))
if mount -t tmpfs -o size=${kb}k tmpfs "$tmp/small" 2>/dev/null; then
	cp -a "$set1" "$tmp/small/"
	old=$tmp/small/$(basename "$set1")
	V backup --dir "$tmp/small" --only pg,redis,n8n,configs >"$tmp/b3" 2>"$tmp/b3.err"; rc3=$?
	good=1
	while read -r f s; do
		[ "$(sha256sum "$old/$f" | cut -d' ' -f1)" = "$s" ] || good=0
	done < <(jq -r '.artifacts[] | select(.ok) | "\(.file) \(.sha256)"' "$old/manifest.json")
	if [ $rc3 != 0 ] && [ $good = 1 ] && grep -q 'failed artifacts\|No space\|no space' "$tmp/b3.err" &&
	    [ -z "$(find "$tmp/small" -maxdepth 1 -name "*.partial")" ]; then
		ok "full disk: exit $rc3, earlier set intact, no partial set left"
	else bad "full disk (exit $rc3, intact $good)"; cat "$tmp/b3" "$tmp/b3.err"; ls -la "$tmp/small"; fi
	umount "$tmp/small"
else echo "SKIP full disk: cannot mount a tmpfs"; fi

# 3. Destroy, then restore.
pg -d litellm -c "drop table t7000"
pg -d n8n -c "delete from workflow_entity" >/dev/null
rc flushall >/dev/null
if V restore --from "$set1" --only pg:litellm,pg:n8n,redis </dev/null >"$tmp/r0" 2>&1; then
	bad "restore without --yes on a non-tty went on"
else
	pg -d litellm -c "select 1 from t7000" | grep -q 'does not exist' &&
	    ok "restore without --yes refused, nothing changed" || bad "refused restore changed data"
fi
grep -q 'pg:litellm .*database replaced by pg-litellm.dump' "$tmp/r0" && ok "plan shows what will be replaced" ||
    { bad "plan"; cat "$tmp/r0"; }
if V restore --from "$set1" --only pg:litellm,pg:n8n,redis --yes >"$tmp/r1" 2>&1; then
	ok "restore --yes"
else bad "restore: exit $?"; cat "$tmp/r1"; fi
[ "$(pg -d litellm -c 'select count(*) from t7000')" = 500 ] && ok "500 rows back" ||
    bad "rows: $(pg -d litellm -c 'select count(*) from t7000')"
[ "$(pg -d n8n -c "select name from workflow_entity")" = "t7000 workflow" ] && ok "n8n workflow back" ||
    bad "workflow: $(pg -d n8n -c 'select name from workflow_entity')"
[ "$(rc get t7000)" = seeded ] && ok "redis key back" || bad "redis key: $(rc get t7000)"
for s in postgresql redis n8n; do
	[ "$(health_of $s)" = running/healthy ] || bad "$s not healthy after restore: $(health_of $s)"
done
safety=$(sed -n 's/^restored; the state before the restore is kept in //p' "$tmp/r1")
[ -n "$safety" ] && jq -e '.failed == 0' "$safety/manifest.json" >/dev/null &&
    ok "safety set taken before: $(basename "$safety")" || bad "safety set"

# 4. Redis from the restic snapshot.
rc flushall >/dev/null
if V restore --from latest --only redis --yes >"$tmp/r2" 2>&1 && [ "$(rc get t7000)" = seeded ]; then
	ok "redis restored from the restic snapshot 'latest'"
else bad "restic restore"; cat "$tmp/r2"; fi

# 5. A restore failing midway says how to get the previous state back.
# The openclaw role is gone: the safety backup passes, the database is
# dropped, createdb -O openclaw fails.
pg -d openclaw -c "create table t7000oc(v int); insert into t7000oc values (7)"
pg -c "reassign owned by openclaw to postgres" -d openclaw
pg -c "drop role openclaw" >/dev/null
V restore --from "$set1" --only pg:openclaw --yes >"$tmp/r3" 2>&1; rc3=$?
safety=$(sed -n "s/.*the state before the restore is saved in '\([^']*\)'.*/\1/p" "$tmp/r3" | head -n 1)
if [ $rc3 != 0 ] && grep -q 'restore failed midway' "$tmp/r3" && [ -d "$safety" ]; then
	ok "midway failure (exit $rc3) names the safety set"
else bad "midway failure (exit $rc3)"; cat "$tmp/r3"; fi
pg -c "create role openclaw" >/dev/null
if V restore --from "$safety" --only pg:openclaw --yes >"$tmp/r4" 2>&1 &&
    [ "$(pg -d openclaw -c 'select v from t7000oc')" = 7 ] &&
    grep -q "pg:openclaw .*nothing to save: database 'openclaw' does not exist" "$tmp/r4"; then
	ok "the printed command puts the pre-restore state back (missing database: nothing to save)"
else bad "recovery from the safety set"; cat "$tmp/r4"; fi
exit $fail
