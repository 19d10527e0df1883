#!/usr/bin/env bash
# t7100-rollback: releases and `vpai rollback` on the real engine with the
# local PostgreSQL and Redis images:
#   - each apply that changes something records a release (a no-op
#     apply does not) (mode 0700, secret files keep 0600/0640,
#     manifest with image ids and file sha256s); `vpai releases` lists 2;
#   - release 2 changes redis.conf and redis's image (a derived image with
#     another id under a new tag);
#   - `vpai rollback` (default target: the release before the current one)
#     warns that the stateful redis image changed, puts back release 1's
#     files and image, and both services are healthy with release 1's
#     config-hash label and image id; a row and a key written before
#     survive;
#   - an altered file in a release is refused before anything changes;
#   - without --yes on a non-tty, nothing is done.
# Project vpai-test-rollback-<pid>, subnets moved to 172.30.x, no
# published ports (--only postgresql,redis).
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
probe=$VPAI_BUILD_DIR/vpai-probe
if ! docker info >/dev/null 2>&1 || ! command -v docker-compose >/dev/null; then
	echo "SKIP: no docker engine or docker-compose"; exit 77
fi
for img in vpai-local/postgresql:15 vpai-local/redis:7.0; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe
tmp=$(mktemp -d)
proj=vpai-test-rollback-$$
newtag=vpai-local/redis:t7100-$$
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
cleanup() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" |
	    xargs -r docker rm -f >/dev/null 2>&1
	docker network ls -q --filter "name=^${proj}_" |
	    xargs -r docker network rm >/dev/null 2>&1
	docker image rm "$newtag" >/dev/null 2>&1
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
label_of() { docker inspect -f '{{index .Config.Labels "vpai.config-hash"}}' "$(id_of "$1")"; }
imgid_of() { docker inspect -f '{{.Image}}' "$(id_of "$1")"; }

cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
sed -i 's/172\.20\./172.30./g' "$tmp/stack/networks.yml"
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
pg() { docker exec "$(id_of postgresql)" psql -U postgres -Atc "$1" 2>&1; }
rc() {
	docker exec -e REDISCLI_AUTH="$(sed -n "s/^redis_password: '\(.*\)'/\1/p" "$secrets")" \
	    "$(id_of redis)" redis-cli "$@" 2>&1
}

# Release 1.
if apply >"$tmp/a1" 2>&1 && grep -q '^apply: release .* recorded' "$tmp/a1"; then
	ok "first apply records a release"
else bad "first apply"; cat "$tmp/a1"; exit 1; fi
r1=$(sed -n 's/^apply: release \([^ ]*\) recorded.*/\1/p' "$tmp/a1")
[ "$(stat -c %a "$root/releases/$r1")" = 700 ] && [ "$(stat -c %a "$root/releases")" = 700 ] &&
    ok "release directory 0700" || bad "release dir mode $(stat -c %a "$root/releases/$r1")"
(cd "$root" && find secrets -type f -printf '%p %m\n' | sort) >"$tmp/m-root"
(cd "$root/releases/$r1/bundle" && find secrets -type f -printf '%p %m\n' | sort) >"$tmp/m-rel"
[ -s "$tmp/m-rel" ] && cmp -s "$tmp/m-root" "$tmp/m-rel" && ok "secret files keep their modes" ||
    { bad "secret modes"; diff "$tmp/m-root" "$tmp/m-rel"; }
man=$root/releases/$r1/manifest.json
if [ "$(jq -r .images.redis.id "$man")" = "$(imgid_of redis)" ] &&
    [ "$(jq -r '.files["configs/redis/redis.conf"]' "$man")" = "$(sha256sum <"$root/configs/redis/redis.conf" | cut -d' ' -f1)" ] &&
    [ "$(jq -r .site_sha256 "$man")" = "$(sha256sum <"$site/vpai.yml" | cut -d' ' -f1)" ] &&
    [ "$(jq -r .vault_sha256 "$man")" = "$(sha256sum <"$secrets" | cut -d' ' -f1)" ]; then
	ok "manifest: image id, file, site and vault sha256"
else bad "manifest"; cat "$man"; fi
label1=$(label_of redis); img1=$(imgid_of redis)
pg "create table t7100(v text); insert into t7100 values ('kept')" >/dev/null
rc set t7100 kept >/dev/null
sleep 1	# release ids have a one-second resolution (suffixed when equal)

# Release 2: another redis.conf and another redis image id.
printf 'FROM vpai-local/redis:7.0\nLABEL t7100=%s\n' "$$" |
    docker build -q -t "$newtag" - >/dev/null 2>"$tmp/build" ||
    { bad "docker build of the derived image"; cat "$tmp/build"; }
sed -i "s#^\(  redis: \)vpai-local/redis:7.0#\1$newtag#" "$tmp/stack/versions.yml"
printf '# t7100 change\n' >>"$tmp/stack/templates/redis/redis.conf.j2"
if apply >"$tmp/a2" 2>&1 && grep -q '^  redis .*recreated' "$tmp/a2"; then
	ok "second apply: redis recreated"
else bad "second apply"; cat "$tmp/a2"; fi
r2=$(sed -n 's/^apply: release \([^ ]*\) recorded.*/\1/p' "$tmp/a2")
[ "$(imgid_of redis)" != "$img1" ] && [ "$(label_of redis)" != "$label1" ] &&
    ok "release 2 runs another image and config" || bad "release 2 did not change redis"
if apply >"$tmp/a3" 2>&1 && grep -q "^apply: release $r2 unchanged" "$tmp/a3"; then
	ok "a no-op apply records no new release"
else bad "no-op apply"; cat "$tmp/a3"; fi
"$VPAI" -C "$site" releases >"$tmp/l" 2>&1
if [ "$(grep -c '^[ *] [0-9]\{8\}T' "$tmp/l")" = 2 ] && grep -q "^\* $r2 " "$tmp/l" &&
    [ "$("$VPAI" -C "$site" releases --json | jq length)" = 2 ]; then
	ok "vpai releases lists 2, the second current"
else bad "releases"; cat "$tmp/l"; fi

# No --yes on a non-tty: refused, nothing changed.
before=$(id_of redis)
if ! "$VPAI" -C "$site" rollback </dev/null >"$tmp/n" 2>&1 &&
    grep -q 'not confirmed' "$tmp/n" && [ "$(id_of redis)" = "$before" ]; then
	ok "rollback without --yes does nothing"
else bad "rollback without --yes"; cat "$tmp/n"; fi

# A tampered release file is refused before anything changes.
cp "$root/releases/$r1/bundle/configs/redis/redis.conf" "$tmp/keep.conf"
echo '# tampered' >>"$root/releases/$r1/bundle/configs/redis/redis.conf"
if ! "$VPAI" -C "$site" rollback --yes >"$tmp/t" 2>&1 &&
    grep -q "redis.conf' does not match its recorded sha256" "$tmp/t" &&
    [ "$(id_of redis)" = "$before" ] &&
    grep -q '# t7100 change' "$root/configs/redis/redis.conf"; then
	ok "tampered release refused, nothing changed"
else bad "tampered release"; cat "$tmp/t"; fi
cp "$tmp/keep.conf" "$root/releases/$r1/bundle/configs/redis/redis.conf"

# The rollback.
if "$VPAI" -C "$site" rollback --yes >"$tmp/rb" 2>&1; then
	ok "rollback to $r1"
else bad "rollback"; cat "$tmp/rb"; fi
grep -q "warning: 'redis' is stateful and release $r2 changed its image" "$tmp/rb" &&
    ok "stateful image change warned" || { bad "no stateful warning"; cat "$tmp/rb"; }
grep -q 'pre-update backup\|backups taken before' "$tmp/rb" && ok "backup pointed at" ||
    bad "no backup hint"
[ "$(label_of redis)" = "$label1" ] && ok "redis config-hash label is release 1's" ||
    bad "label $(label_of redis) != $label1"
[ "$(imgid_of redis)" = "$img1" ] && ok "redis image id is release 1's" ||
    bad "image $(imgid_of redis) != $img1"
cmp -s "$root/configs/redis/redis.conf" "$root/releases/$r1/bundle/configs/redis/redis.conf" &&
    ok "redis.conf is release 1's" || bad "redis.conf differs"
[ "$(health_of redis)" = running/healthy ] && [ "$(health_of postgresql)" = running/healthy ] &&
    ok "health green" || bad "health: redis $(health_of redis) pg $(health_of postgresql)"
[ "$(pg 'select v from t7100')" = kept ] && ok "postgresql row kept" ||
    bad "postgresql row: $(pg 'select v from t7100')"
[ "$(rc get t7100)" = kept ] && ok "redis key kept" || bad "redis key: $(rc get t7100)"
"$VPAI" -C "$site" releases >"$tmp/l2" 2>&1
grep -q "^\* $r1 " "$tmp/l2" && ok "release 1 is current" || { bad "current"; cat "$tmp/l2"; }
# Unknown release: error naming the known ones.
"$VPAI" -C "$site" rollback --to nope --yes >"$tmp/u" 2>&1
grep -q "release 'nope' not found (known: $r1, $r2)" "$tmp/u" && ok "unknown release" ||
    { bad "unknown release"; cat "$tmp/u"; }
exit $fail
