#!/usr/bin/env bash
# t6002-deploy-stack: `vpai apply` through the whole pipeline (render,
# check, bundle to the stack root, probe, data directories, phases) on
# the real stack's PostgreSQL and Redis with the local image set:
#   - both healthy, data directories owned by uid 999;
#   - a second apply writes no file and recreates nothing;
#   - a changed redis.conf (and so the compose file: its config-hash
#     label) is written and recreates redis only; a PostgreSQL row and a
#     Redis key written before survive;
#   - `vpai status` (project from the site file) lists both.
# For the test only: project vpai-test-deploy-stack-<pid>, a copy of
# stack/ with the subnets moved to 172.27.x (no clash with a real deploy
# on this engine), and --only postgresql,redis (no published ports).
set -u
# shellcheck source=tests/deploy/deploy-lib.sh
. "$(dirname "$0")/deploy-lib.sh"
probe=$VPAI_BUILD_DIR/vpai-probe
for img in vpai-local/postgresql:15 vpai-local/redis:7.0; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe
new_project stack
cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
sed -i 's/172\.20\./172.27./g' "$tmp/stack/networks.yml"
export VPAI_STACK_DIR=$tmp/stack
root=$tmp/root
site=$tmp/site
mkdir -p "$site"
printf 'project_name: %s\nstack_root: %s\nimage_set: local\n' "$proj" "$root" \
    >"$site/vpai.yml"
secrets=$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml
apply() {
	"$VPAI" -C "$site" apply --secrets "$secrets" --only postgresql,redis
}

if apply >"$tmp/a1" 2>&1 && [ "$(health_of postgresql)" = running/healthy ] &&
    [ "$(health_of redis)" = running/healthy ]; then
	ok "first apply: postgresql and redis healthy"
else bad "first apply"; cat "$tmp/a1"; exit 1; fi
grep -q '^  postgresql .*created' "$tmp/a1" && grep -q '^  redis .*created' "$tmp/a1" ||
    bad "not reported created"
for d in postgresql:999:700 redis:999:750; do
	got=$(stat -c '%u:%a' "$root/data/${d%%:*}")
	[ "$got" = "${d#*:}" ] && ok "data/${d%%:*} is $got" || bad "data/${d%%:*} is $got"
done
cmp -s "$probe" "$root/bin/vpai-probe" && ok "probe installed" || bad "probe"

# Data written before must survive everything below.
pg() { docker exec "$(id_of postgresql)" psql -U postgres -Atc "$1" 2>&1; }
rc() {
	docker exec -e REDISCLI_AUTH="$(sed -n "s/^redis_password: '\(.*\)'/\1/p" "$secrets")" \
	    "$(id_of redis)" redis-cli "$@" 2>&1
}
pg "create table t6002(v text); insert into t6002 values ('kept')" >/dev/null
rc set t6002 kept >/dev/null

ls -l --time-style=+%s.%N -R "$root/configs" "$root/secrets" >"$tmp/ls1"
before=$(ids)
if apply >"$tmp/a2" 2>&1 && grep -q 'nothing changed' "$tmp/a2" &&
    [ "$(ids)" = "$before" ]; then
	ok "second apply: nothing changed"
else bad "second apply"; cat "$tmp/a2"; fi
ls -l --time-style=+%s.%N -R "$root/configs" "$root/secrets" >"$tmp/ls2"
cmp -s "$tmp/ls1" "$tmp/ls2" && ok "no file rewritten" || { bad "files rewritten"; diff "$tmp/ls1" "$tmp/ls2"; }

# A changed redis.conf recreates redis only.
printf '# t6002 change\n' >>"$tmp/stack/templates/redis/redis.conf.j2"
old_pg=$(id_of postgresql); old_redis=$(id_of redis)
if apply >"$tmp/a3" 2>&1 && grep -q '^  redis .*recreated' "$tmp/a3" &&
    grep -q '^  postgresql .*unchanged' "$tmp/a3" &&
    [ "$(id_of postgresql)" = "$old_pg" ] && [ "$(id_of redis)" != "$old_redis" ] &&
    grep -q ': [0-9]* files, 2 written' "$tmp/a3"; then
	ok "changed redis.conf: redis recreated, postgresql left alone"
else bad "redis.conf change"; cat "$tmp/a3"; fi
[ "$(pg 'select v from t6002')" = kept ] && ok "postgresql row kept" ||
    bad "postgresql row: $(pg 'select v from t6002')"
[ "$(rc get t6002)" = kept ] && ok "redis key kept" || bad "redis key: $(rc get t6002)"

if "$VPAI" -C "$site" status >"$tmp/st" 2>&1 &&
    [ "$(grep -c ' running *healthy ' "$tmp/st")" = 2 ]; then
	ok "status from the site file"
else bad "status"; cat "$tmp/st"; fi
exit $fail
