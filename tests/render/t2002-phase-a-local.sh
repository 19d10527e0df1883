#!/usr/bin/env bash
# t2002-phase-a-local: the rendered compose file really runs.  Phase A
# (postgresql, redis, caddy) of the default site with the local image set
# is started with docker-compose and every service must become healthy
# through its rendered healthcheck (static probe, pg_isready), running as
# its non-root uid with every capability dropped and no-new-privileges;
# the init SQL must have created the three databases.
# For the test only: project "vpai-test-stack-<pid>", subnets moved to
# 172.29.x, and no published ports (so it cannot collide with a real
# deploy on this engine).  SKIPs without docker or the local images.
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
src=$VPAI_SOURCE_DIR
probe=$VPAI_BUILD_DIR/vpai-probe
if ! docker info >/dev/null 2>&1 || ! command -v docker-compose >/dev/null; then
	echo "SKIP: no docker engine or docker-compose"; exit 77
fi
for img in vpai-local/postgresql:15 vpai-local/redis:7.0 vpai-local/caddy:2.6; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
if [ ! -x "$probe" ]; then
	echo "SKIP: $probe not built"; exit 77
fi
export VPAI_STACK_DIR=$src/stack
proj=vpai-test-stack-$$
tmp=$(mktemp -d)
root=$tmp/root
dc() { docker-compose -p "$proj" -f "$root/docker-compose.yml" "$@"; }
cleanup() {
	dc down -t 2 >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
printf 'project_name: vpaitest\nstack_root: %s\nimage_set: local\n' "$root" \
    >"$tmp/vpai.yml"
if ! "$VPAI" -C "$tmp" render --secrets "$src/tests/fixtures/secrets/plain.yml" \
    -o "$root" >"$tmp/log" 2>&1; then
	echo "FAIL: render"; cat "$tmp/log"; exit 1
fi
mkdir -p "$root/bin" && cp "$probe" "$root/bin/vpai-probe"
sed -i -e 's/172\.20\./172.29./g' -e 's/name: vpaitest_/name: '"$proj"'_/' \
    -e 's/container_name: vpaitest_/container_name: '"$proj"'_/' \
    -e '/^    ports:$/,/^    [a-z]/{/^    ports:$/d;/^    - /d}' \
    "$root/docker-compose.yml"
# Data directories owned by each service's uid (what apply does).
for d in postgresql:999:0700 redis:999:0750 caddy/data:1000:0750 \
    caddy/config:1000:0750; do
	p=$root/data/${d%%:*}; rest=${d#*:}
	mkdir -p "$p" && chown "${rest%%:*}:${rest%%:*}" "$p" && chmod "${rest#*:}" "$p"
done
if ! dc up -d --no-deps postgresql redis caddy >"$tmp/up" 2>&1; then
	echo "FAIL: docker-compose up"; cat "$tmp/up"; exit 1
fi
fail=0
for s in postgresql redis caddy; do
	c=${proj}_$s
	st=
	for i in $(seq 1 60); do
		st=$(docker inspect -f '{{.State.Health.Status}}' "$c" 2>/dev/null)
		[ "$st" = healthy ] && break
		[ "$st" = unhealthy ] && break
		sleep 1
	done
	if [ "$st" != healthy ]; then
		echo "FAIL: $s is '$st'"; docker logs --tail 20 "$c" 2>&1
		docker inspect -f '{{json .State.Health}}' "$c"; fail=1; continue
	fi
	got=$(docker inspect -f '{{.Config.User}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}}' "$c")
	case $got in
	"0:0 "*|"root "*) echo "FAIL: $s runs as root: $got"; fail=1;;
	*"[ALL]"*"no-new-privileges:true"*) echo "ok   $s healthy ($got)";;
	*) echo "FAIL: $s: $got"; fail=1;;
	esac
done
dbs=$(docker exec "${proj}_postgresql" psql -U postgres -Atc \
    "select string_agg(datname, ' ' order by datname) from pg_database" 2>&1)
case $dbs in
*litellm*n8n*openclaw*) echo "ok   databases: $dbs";;
*) echo "FAIL: databases: $dbs"; fail=1;;
esac
exit $fail
