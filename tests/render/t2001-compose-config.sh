#!/usr/bin/env bash
# t2001-compose-config: the rendered docker-compose.yml is accepted by the
# real docker-compose (`config -q`) for prod, preprod and monitoring off;
# the services, the only published ports (caddy 80/443), the networks
# (backend/monitoring internal) are what compose itself resolves.
# stack_root points at the output directory so that the env files that
# compose reads exist.
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
if ! command -v docker-compose >/dev/null 2>&1; then
	echo "SKIP: docker-compose not installed"; exit 77
fi
src=$VPAI_SOURCE_DIR
export VPAI_STACK_DIR=$src/stack
secrets=$src/tests/fixtures/secrets/plain.yml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

check() {	# name env want-services [extra site lines]
	local name=$1 env=$2 want=$3 extra=${4:-} d=$tmp/$1
	mkdir -p "$d"
	printf 'project_name: vpai\nstack_root: %s/out\n%s' "$d" "$extra" \
	    >"$d/vpai.yml"
	if ! "$VPAI" -C "$d" render --env "$env" --secrets "$secrets" \
	    -o "$d/out" >"$d/log" 2>&1; then
		echo "FAIL $name: render failed"; cat "$d/log"; fail=1; return
	fi
	if ! docker-compose -f "$d/out/docker-compose.yml" config -q \
	    2>"$d/err"; then
		echo "FAIL $name: docker-compose config -q:"; cat "$d/err"
		fail=1; return
	fi
	docker-compose -f "$d/out/docker-compose.yml" config 2>/dev/null \
	    >"$d/resolved.yml"
	got=$(docker-compose -f "$d/out/docker-compose.yml" config \
	    --services 2>/dev/null | sort | tr '\n' ' ')
	if [ "$got" != "$want" ]; then
		echo "FAIL $name: services '$got', want '$want'"; fail=1
	fi
	# Published ports: only caddy's.
	ports=$(awk '/^  [a-z]/{svc=$1} /^    ports:/{p=1;next} /^    [a-z]/{p=0} p&&/published/{print svc}' \
	    "$d/resolved.yml" | sort -u | tr '\n' ' ')
	if [ "$ports" != "caddy: " ]; then
		echo "FAIL $name: services publishing ports: '$ports'"; fail=1
	fi
	for n in backend monitoring; do
		if ! awk -v n="  $n:" '$0==n{f=1;next} /^  [a-z]/{f=0} f&&/internal: true/{ok=1} END{exit !ok}' \
		    "$d/resolved.yml"; then
			echo "FAIL $name: network $n is not internal"; fail=1
		fi
	done
	[ $fail = 0 ] && echo "ok   $name: docker-compose accepts it ($got)"
}

all="alloy caddy diun grafana litellm loki n8n openclaw postgresql qdrant redis victoriametrics "
check prod prod "$all"
check preprod preprod "$all"
check nomon preprod "caddy diun litellm n8n openclaw postgresql qdrant redis " \
    "monitoring_enabled: false
"
exit $fail
