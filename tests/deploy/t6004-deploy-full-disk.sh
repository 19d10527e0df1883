#!/usr/bin/env bash
# t6004-deploy-full-disk: the stack root fills up (an 8 MB tmpfs).  An
# apply that must write a changed redis.conf fails with a clear I/O error
# (rc 74) before any container is touched: redis keeps running in the same
# container with its key, and the old redis.conf is intact (atomic
# writes).  Once space is freed, a re-run converges and the key survives.
# Isolation as t6002 (project vpai-test-deploy-disk-<pid>, subnets
# 172.24.x in a copy of stack/).  SKIPs when tmpfs cannot be mounted.
set -u
# shellcheck source=tests/deploy/deploy-lib.sh
. "$(dirname "$0")/deploy-lib.sh"
probe=$VPAI_BUILD_DIR/vpai-probe
if ! docker image inspect vpai-local/redis:7.0 >/dev/null 2>&1; then
	echo "SKIP: local image vpai-local/redis:7.0 not built"; exit 77
fi
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe
new_project disk
cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" | xargs sed -i 's/172\.20\./172.24./g'
export VPAI_STACK_DIR=$tmp/stack
root=$tmp/root
mkdir -p "$root"
if ! mount -t tmpfs -o size=8m tmpfs "$root" 2>/dev/null; then
	echo "SKIP: cannot mount a tmpfs"; exit 77
fi
# Unmount before deploy-lib's cleanup removes $tmp.
trap 'for p in $projects; do docker ps -aq --filter "label=com.docker.compose.project=$p" | xargs -r docker rm -f >/dev/null 2>&1; docker network ls -q --filter "name=^${p}_" | xargs -r docker network rm >/dev/null 2>&1; done; umount "$root" 2>/dev/null; rm -rf "$tmp"' EXIT
site=$tmp/site
mkdir -p "$site"
printf 'project_name: %s\nstack_root: %s\nimage_set: local\n' "$proj" "$root" \
    >"$site/vpai.yml"
secrets=$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml
apply() { "$VPAI" -C "$site" apply --secrets "$secrets" --only redis; }
rc() {
	docker exec -e REDISCLI_AUTH="$(sed -n "s/^redis_password: '\(.*\)'/\1/p" "$secrets")" \
	    "$(id_of redis)" redis-cli "$@" 2>&1
}

if apply >"$tmp/a1" 2>&1 && [ "$(health_of redis)" = running/healthy ]; then
	ok "redis deployed on the small stack root"
else bad "first apply"; cat "$tmp/a1"; exit 1; fi
rc set t6004 kept >/dev/null
rc save >/dev/null
conf=$(cat "$root/configs/redis/redis.conf")
old=$(id_of redis)

dd if=/dev/zero of="$root/filler" bs=64k 2>/dev/null	# until ENOSPC
printf '# t6004 change %0512d\n' 0 >>"$tmp/stack/templates/redis/redis.conf.j2"
apply >"$tmp/a2" 2>&1; r=$?
if [ $r = 74 ] && grep -q 'No space left on device' "$tmp/a2" &&
    ! grep -q 'up -d' "$tmp/a2"; then
	ok "full disk: clear I/O error before compose runs (rc $r)"
else bad "full disk (rc $r)"; cat "$tmp/a2"; fi
[ "$(id_of redis)" = "$old" ] && [ "$(health_of redis)" = running/healthy ] &&
    ok "redis untouched, still healthy" || bad "redis touched: $(health_of redis)"
[ "$(cat "$root/configs/redis/redis.conf")" = "$conf" ] &&
    ok "old redis.conf intact" || bad "redis.conf damaged"
ls "$root"/configs/redis/*.lock >/dev/null 2>&1 && bad "lock file left behind"
[ "$(rc get t6004)" = kept ] && ok "redis key kept" || bad "key: $(rc get t6004)"

rm -f "$root/filler"
if apply >"$tmp/a3" 2>&1 && grep -q '^  redis .*recreated' "$tmp/a3" &&
    [ "$(rc get t6004)" = kept ]; then
	ok "space freed: re-run converges, key kept"
else bad "re-run"; cat "$tmp/a3"; fi
[ -n "${SHOW:-}" ] && cat "$tmp"/a2
exit $fail
