#!/usr/bin/env bash
# t7002-backup-cron-preupdate: what `vpai apply` does for backups, and the
# Qdrant and Grafana restores, on real PostgreSQL and Redis and the Qdrant
# and Grafana stand-ins (local image set):
#   - apply installs the daily cron file (VPAI_CRON_DIR here): mode 0644,
#     root, the absolute vpai, -C site, the secrets FILE, the restic repo,
#     the log under the stack root, no secret value; a second apply
#     leaves it untouched;
#   - an image change of postgresql and redis (the same local images
#     retagged, in a copied versions.yml) takes a pre-update backup of
#     pg:* and redis first, whose artifacts verify; the release manifest
#     records it; the containers then run the new tags;
#   - a pre-update backup that cannot be taken stops the apply with
#     nothing changed; --no-backup goes on without it;
#   - rollback to the release before prints the exact restore command of
#     that backup, and that command puts the pre-update rows back;
#   - qdrant + grafana: backup verified (snapshot recovered into a scratch
#     collection), then a deleted collection and an altered dashboard are
#     brought back by `vpai restore --only qdrant,grafana`.
# Isolation: project vpai-test-bk2-<pid>, subnets 172.22.x, no published
# ports, temporary tags removed at exit.  About 1.5 min.
# cleanup runs from the EXIT trap.
# shellcheck disable=SC2317,SC2015
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
probe=$VPAI_BUILD_DIR/vpai-probe
if ! docker info >/dev/null 2>&1 || ! command -v docker-compose >/dev/null ||
    ! command -v redis-check-rdb >/dev/null; then
	echo "SKIP: no docker engine, docker-compose or redis-check-rdb"; exit 77
fi
for img in vpai-local/postgresql:15 vpai-local/redis:7.0 \
    vpai-local/qdrant-standin:1 vpai-local/grafana-standin:1; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe
tmp=$(mktemp -d)
proj=vpai-test-bk2-$$
tag=t7002-$$
tag0=t7002base-$$
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
cleanup() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" |
	    xargs -r docker rm -f >/dev/null 2>&1
	docker network ls -q --filter "name=^${proj}_" |
	    xargs -r docker network rm >/dev/null 2>&1
	docker rmi "vpai-local/postgresql:15-$tag" "vpai-local/redis:7.0-$tag" \
	    "vpai-local/postgresql:15-$tag0" "vpai-local/redis:7.0-$tag0" \
	    "vpai-local/qdrant-standin:1-$tag0" "vpai-local/grafana-standin:1-$tag0" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
id_of() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" \
	    --filter "label=com.docker.compose.service=$1"
}
ip_of() {
	docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' \
	    "$(id_of "$1")" | awk '{print $1}'
}
cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" | xargs sed -i 's/172\.20\./172.22./g'
# Private tags: an image rebuilt meanwhile (images/build.sh) must not
# look like an update to this test.
for i in postgresql:15 redis:7.0 qdrant-standin:1 grafana-standin:1; do
	docker tag "vpai-local/$i" "vpai-local/$i-$tag0"
	sed -i "s|^\(  [a-z]*\): vpai-local/$i\$|\1: vpai-local/$i-$tag0|" "$tmp/stack/versions.yml"
done
export VPAI_STACK_DIR=$tmp/stack
export VPAI_CRON_DIR=$tmp/cron
mkdir -p "$VPAI_CRON_DIR"
root=$tmp/root
site=$tmp/site
mkdir -p "$site"
printf 'project_name: %s\nstack_root: %s\nimage_set: local\nrestic_repository: %s\nbackup_time: "04:10"\n' \
    "$proj" "$root" "$tmp/restic" >"$site/vpai.yml"
secrets=$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml
qkey=$(sed -n "s/^qdrant_api_key: '\(.*\)'/\1/p" "$secrets")
gpw=$(sed -n "s/^grafana_admin_password: '\(.*\)'/\1/p" "$secrets")
V() { "$VPAI" -C "$site" "$@" --secrets "$secrets"; }
svcs=postgresql,redis,qdrant,grafana

if V apply --only $svcs >"$tmp/a1" 2>&1; then
	ok "stack up: $svcs"
else bad "apply"; cat "$tmp/a1"; exit 1; fi

# --- the cron file ---------------------------------------------------------
cron=$VPAI_CRON_DIR/$proj-backup
vpai_abs=$(readlink -f "$VPAI")
if [ -f "$cron" ] && [ "$(stat -c '%a %u' "$cron")" = "644 0" ] &&
    grep -qxF "5 4 * * * root VPAI_STACK_DIR='$tmp/stack' '$vpai_abs' -C '$site' backup --secrets '$secrets' --restic '$tmp/restic' >>'$root/logs/backup.log' 2>&1" "$cron" &&
    [ -d "$root/logs" ]; then
	ok "cron file: 0644 root, 04:05 (5 min before backup_time), absolute paths, log dir"
else bad "cron file: $(stat -c '%a %u' "$cron" 2>&1)"; cat "$cron"; fi
leak=0
while IFS= read -r v; do
	[ ${#v} -ge 8 ] && grep -qF -- "$v" "$cron" && leak=1
done < <(sed -n "s/^[a-z0-9_]*: '\(.*\)'$/\1/p" "$secrets")
[ $leak = 0 ] && ok "no secret value in the cron file" || bad "a secret in the cron file"
grep -q 'backup cron .* written' "$tmp/a1" || bad "apply did not say it wrote the cron file"
ino=$(stat -c '%i %Y' "$cron")
sleep 1
V apply --only $svcs >"$tmp/a2" 2>&1 || { bad "second apply"; cat "$tmp/a2"; }
[ "$(stat -c '%i %Y' "$cron")" = "$ino" ] && ! grep -q 'backup cron' "$tmp/a2" &&
    ok "second apply leaves the cron file untouched" || bad "cron file rewritten"
grep -q 'pre-update' "$tmp/a2" && bad "pre-update backup without an image change"

# --- seed data -----------------------------------------------------------
pg() { docker exec "$(id_of postgresql)" psql -U postgres -XAtq "$@" 2>&1; }
pg -d litellm -c "create table t7002(v int); insert into t7002 select generate_series(1, 300)" >/dev/null
Q() { curl -sS -H "api-key: $qkey" -H 'Content-Type: application/json' "$@"; }
qb=http://$(ip_of qdrant):6333
Q -X PUT "$qb/collections/mem" -d '{"vectors":{"size":2,"distance":"Cosine"}}' >/dev/null
Q -X PUT "$qb/collections/mem/points?wait=true" \
    -d '{"points":[{"id":7,"vector":[0.1,0.9],"payload":{"t":"t7002 point"}},{"id":8,"vector":[0.5,0.5],"payload":{}}]}' >/dev/null
G() { curl -sS -u "admin:$gpw" -H 'Content-Type: application/json' "$@"; }
gb=http://$(ip_of grafana):3000
G -X POST "$gb/api/dashboards/db" \
    -d '{"dashboard":{"id":null,"uid":"t7002dash","title":"t7002 original","panels":[]},"overwrite":true}' >"$tmp/g0"
if [ "$(Q "$qb/collections/mem/points/7" | jq -r .result.payload.t)" = "t7002 point" ] &&
    [ "$(G "$gb/api/dashboards/uid/t7002dash" | jq -r .dashboard.title)" = "t7002 original" ]; then
	ok "seeded: 300 rows, 2 Qdrant points, a dashboard"
else bad "seed: $(cat "$tmp/g0")"; fi

# --- pre-update backup on an image change ----------------------------------
docker tag "vpai-local/postgresql:15-$tag0" "vpai-local/postgresql:15-$tag"
docker tag "vpai-local/redis:7.0-$tag0" "vpai-local/redis:7.0-$tag"
sed -i "s|^  postgresql: vpai-local/postgresql:15-$tag0\$|  postgresql: vpai-local/postgresql:15-$tag|;
    s|^  redis: vpai-local/redis:7.0-$tag0\$|  redis: vpai-local/redis:7.0-$tag|" "$tmp/stack/versions.yml"
rel1=$(cat "$root/releases/CURRENT")
# A pre-update backup that cannot be taken: nothing changes.
mv "$root/backups" "$tmp/backups.away" 2>/dev/null
touch "$root/backups"
if ! V apply --only $svcs >"$tmp/a3" 2>&1 && grep -q 'pre-update backup' "$tmp/a3" &&
    grep -q 'nothing was changed' "$tmp/a3" &&
    [ "$(docker inspect -f '{{.Config.Image}}' "$(id_of redis)")" = "vpai-local/redis:7.0-$tag0" ] &&
    [ "$(cat "$root/releases/CURRENT")" = "$rel1" ]; then
	ok "a failed pre-update backup stops the apply: old images still running"
else bad "failed pre-update backup"; cat "$tmp/a3"; fi
rm -f "$root/backups"
[ -d "$tmp/backups.away" ] && mv "$tmp/backups.away" "$root/backups"
if V apply --only $svcs >"$tmp/a4" 2>&1 &&
    grep -qF "image change for postgresql (vpai-local/postgresql:15-$tag0 -> vpai-local/postgresql:15-$tag), redis" "$tmp/a4"; then
	ok "image change detected for postgresql and redis"
else bad "apply with new tags"; cat "$tmp/a4"; fi
set=$(find "$root/backups" -maxdepth 1 -name '*-pre-update' | sort | tail -1)
m=$set/manifest.json
if [ -f "$m" ] && [ "$(jq -c '[.artifacts[] | select(.ok) | .name]' "$m")" = \
    '["pg:n8n","pg:litellm","pg:openclaw","redis"]' ] && [ "$(jq .failed "$m")" = 0 ]; then
	ok "pre-update set $(basename "$set"): pg:n8n, pg:litellm, pg:openclaw, redis verified"
else bad "pre-update set: $(jq -c '.artifacts' "$m" 2>&1)"; fi
good=0
while read -r f sum; do
	[ "$(sha256sum "$set/$f" | cut -d' ' -f1)" = "$sum" ] && good=$((good + 1))
done < <(jq -r '.artifacts[] | select(.ok) | "\(.file) \(.sha256)"' "$m")
[ "$good" = 4 ] && [ "$(jq -r '.artifacts[] | select(.name=="pg:litellm") | .rows["public.t7002"]' "$m")" = 300 ] &&
    jq -e '.artifacts[] | select(.name=="redis") | .verified | test("RDB looks OK")' "$m" >/dev/null &&
    ok "its artifacts match their sha256, 300 rows counted by pg_restore, RDB checked" ||
    bad "pre-update artifacts ($good)"
rel2=$(cat "$root/releases/CURRENT")
rm2=$root/releases/$rel2/manifest.json
if [ "$rel2" != "$rel1" ] && jq -e --arg d "$set" '.pre_update_backup.dir == $d and
    (.pre_update_backup.services | keys == ["postgresql","redis"]) and
    .pre_update_backup.id == ($d | split("/") | last)' "$rm2" >/dev/null &&
    [ ! -e "$root/releases/pending-backup.json" ]; then
	ok "release $rel2 records the pre-update backup"
else bad "release manifest: $(jq -c .pre_update_backup "$rm2" 2>&1)"; fi
[ "$(docker inspect -f '{{.Config.Image}}' "$(id_of redis)")" = "vpai-local/redis:7.0-$tag" ] &&
    [ "$(docker inspect -f '{{.State.Health.Status}}' "$(id_of postgresql)")" = healthy ] &&
    ok "containers recreated on the new tags, healthy" || bad "new tags not running"
[ "$(find "$root/backups" -maxdepth 1 -name '*-pre-update' | wc -l)" = 1 ] ||
    bad "more than one pre-update set"
# --no-backup: an image change goes through without a backup.
sed -i "s|^  redis: vpai-local/redis:7.0-$tag\$|  redis: vpai-local/redis:7.0-$tag0|" "$tmp/stack/versions.yml"
if V apply --only $svcs --no-backup >"$tmp/a5" 2>&1 && grep -q 'pre-update backup skipped (--no-backup)' "$tmp/a5" &&
    [ "$(find "$root/backups" -maxdepth 1 -name '*-pre-update' | wc -l)" = 1 ]; then
	ok "--no-backup: image change applied without a backup"
else bad "--no-backup"; cat "$tmp/a5"; fi
rel3=$(cat "$root/releases/CURRENT")
jq -e '.pre_update_backup == null' "$root/releases/$rel3/manifest.json" >/dev/null ||
    bad "release $rel3 records a backup it did not take"

# --- rollback offers the pre-update backup ---------------------------------
pg -d litellm -c "insert into t7002 select generate_series(301, 350)" >/dev/null
"$VPAI" -C "$site" rollback --to "$rel1" </dev/null >"$tmp/rb" 2>&1
cmd="vpai -C $site restore --from $set --only pg:n8n,pg:litellm,pg:openclaw,redis --yes"
if grep -qF "$cmd" "$tmp/rb" && grep -q "is stateful" "$tmp/rb" &&
    [ "$(cat "$root/releases/CURRENT")" = "$rel3" ]; then
	ok "rollback to $rel1 prints the restore command of the pre-update backup"
else bad "rollback offer"; cat "$tmp/rb"; fi
# The printed command works (its --secrets is what this test adds).
if "$VPAI" -C "$site" restore --from "$set" --only pg:litellm --yes --secrets "$secrets" >"$tmp/rs" 2>&1 &&
    [ "$(pg -d litellm -c 'select count(*) from t7002')" = 300 ]; then
	ok "restore --from the pre-update set puts the 300 rows of before the update back"
else bad "restore from pre-update set: $(pg -d litellm -c 'select count(*) from t7002')"; cat "$tmp/rs"; fi

# --- Qdrant and Grafana: verified backup, then restore ---------------------
if V backup --only qdrant,grafana --dir "$tmp/qg" >"$tmp/b1" 2>&1; then
	m=$(find "$tmp/qg" -name manifest.json | head -1)
	if jq -e '.artifacts[] | select(.name=="qdrant") | .ok and .rows.mem == 2 and
	    (.verified | test("recovered into a scratch collection"))' "$m" >/dev/null &&
	    jq -e '.artifacts[] | select(.name=="grafana") | .ok' "$m" >/dev/null &&
	    ! Q "$qb/collections" | jq -e '.result.collections[] | select(.name | startswith("vpai_verify_"))' >/dev/null; then
		ok "qdrant + grafana backup verified (2 points recovered in a scratch collection, dropped after)"
	else bad "qdrant/grafana manifest: $(jq -c .artifacts "$m")"; fi
else bad "qdrant/grafana backup"; cat "$tmp/b1"; fi
Q -X DELETE "$qb/collections/mem" >/dev/null
G -X POST "$gb/api/dashboards/db" \
    -d '{"dashboard":{"id":null,"uid":"t7002dash","title":"t7002 altered","panels":[]},"overwrite":true}' >/dev/null
set2=$(dirname "$m")
V restore --from "$set2" --only qdrant,grafana --yes >"$tmp/r1" 2>&1 || bad "restore exit status"
if [ "$(Q "$qb/collections/mem/points/7" | jq -r .result.payload.t)" = "t7002 point" ] &&
    [ "$(Q -X POST "$qb/collections/mem/points/count" -d '{}' | jq .result.count)" = 2 ] &&
    [ "$(G "$gb/api/dashboards/uid/t7002dash" | jq -r .dashboard.title)" = "t7002 original" ]; then
	ok "restore --only qdrant,grafana: collection and its points back, dashboard back"
else bad "qdrant/grafana restore"; cat "$tmp/r1"; fi
grep -qF "$qkey" "$tmp"/a* "$tmp/b1" "$tmp/r1" "$tmp/rb" && bad "a secret shows in the output"
exit $fail
