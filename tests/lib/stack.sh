# shellcheck shell=bash disable=SC2034
# tests/lib/stack.sh: deploy a small real stack for a shell test (sourced).
#
#   . "$VPAI_SOURCE_DIR/tests/lib/stack.sh"
#   stack_require SERVICE...        SKIP (exit 0) unless docker, compose, the
#                                   local images of these services and
#                                   vpai-probe are there
#   stack_setup NAME NET [HTTP HTTPS]
#                                   project vpai-test-NAME-<pid>, a copy of
#                                   stack/ with the subnets 172.20.N.0/24
#                                   moved to 172.NET.N ("23": 172.23.N,
#                                   "23.1": 172.23.1N), Caddy (if deployed) published
#                                   on 127.0.0.1:HTTP/HTTPS instead of 80/443,
#                                   a site file, a private 0600 copy of the
#                                   test secrets ($sec), cleanup at exit
#   stack_apply [ARGS...]           `vpai apply`, re-run twice when it fails
#                                   (n8n's owner provisioning can see HTTP 404
#                                   right after n8n reports healthy)
#
# Then: V CMD ARGS (vpai with the site and the secrets), id_of, health_of,
# ip_of, ok, bad, sec NAME, pg, rc, wait_healthy, and $tmp, $proj, $root,
# $site, $sec.  cleanup (EXIT trap) removes the project's containers and
# networks and $tmp; it never touches anything else.  A test can add its
# own steps with stack_on_exit 'command'.
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
fail=0
tmp=
proj=
stack_exit_hooks=
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
# shellcheck disable=SC2317
stack_cleanup() {
	eval "$stack_exit_hooks"
	if [ -n "$proj" ]; then
		stack_rm_containers
		# An endpoint can linger a moment after rm -f: retry.
		for _ in 1 2 3 4 5; do
			docker network ls -q --filter "name=^${proj}_" |
			    xargs -r docker network rm >/dev/null 2>&1 && break
			sleep 1
		done
	fi
	[ -n "$tmp" ] && rm -rf "$tmp"
}
# stack_rm_containers: every container of the project, one at a time
# (concurrent forced removals can leave a stale endpoint behind in
# Docker 20.10, and then the network cannot be removed).
stack_rm_containers() {
	local c
	for c in $(docker ps -aq --filter "label=com.docker.compose.project=$proj"); do
		docker rm -f "$c" >/dev/null 2>&1
	done
}
stack_on_exit() { stack_exit_hooks="$stack_exit_hooks $1;"; }
# stack_require SERVICE...: the local images of these services.
stack_require() {
	local s img
	if ! docker info >/dev/null 2>&1 || ! command -v docker-compose >/dev/null; then
		echo "SKIP: no docker engine or docker-compose"; exit 77
	fi
	for s in "$@"; do
		img=$(awk -v s="  $s:" '$0 == s {f=1; next}
		    f && /^    image:/ {print $2; exit}' \
		    "$VPAI_SOURCE_DIR/stack/images-local.yml")
		if [ -z "$img" ] || ! docker image inspect "$img" >/dev/null 2>&1; then
			echo "SKIP: local image of $s (${img:-unknown}) not built (images/build.sh)"
			exit 77
		fi
	done
	if [ ! -x "$VPAI_BUILD_DIR/vpai-probe" ]; then
		echo "SKIP: $VPAI_BUILD_DIR/vpai-probe not built"; exit 77
	fi
	export VPAI_PROBE=$VPAI_BUILD_DIR/vpai-probe
}
# stack_setup NAME NET [HTTP HTTPS]
stack_setup() {
	local http=${3:-} https=${4:-}
	tmp=$(mktemp -d)
	proj=vpai-test-$1-$$
	trap stack_cleanup EXIT
	cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
	# "23" -> 172.23.N (a dot after it), "23.1" -> 172.23.1N (digits
	# appended to its last part)
	local to=$2
	case $to in *.*) ;; *) to=$to. ;; esac
	grep -rl '172\.20\.' "$tmp/stack" |
	    xargs sed -i -e "s|172\\.20\\.0\\.0/16|172.${2%%.*}.0.0/16|g" \
	    -e "s/172\\.20\\.\\([0-9]\\)/172.$to\\1/g"
	if [ -n "$http" ]; then
		sed -i "s/^ports: .*/ports: [\"127.0.0.1:$http:80\", \"127.0.0.1:$https:443\"]/" \
		    "$tmp/stack/services/caddy.yml"
		sed -i "s|^  caddy: \\[\"80/tcp\".*|  caddy: [\"$http/tcp\", \"$https/tcp\"]|" \
		    "$tmp/stack/policy.yml"
	fi
	export VPAI_STACK_DIR=$tmp/stack
	root=$tmp/root
	site=$tmp/site
	mkdir -p "$site"
	printf 'project_name: %s\nstack_root: %s\nimage_set: local\nn8n_owner_email: %s\n' \
	    "$proj" "$root" "owner-$1@example.org" >"$site/vpai.yml"
	sec=$tmp/secrets.yml
	install -m 600 "$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml" "$sec"
}
# sec NAME: the current value of a secret in $sec (or in FILE).
sec() { sed -n "s/^$1: '\(.*\)'/\1/p" "${2:-$sec}"; }
V() {
	local c=$1
	shift
	"$VPAI" -C "$site" "$c" --secrets "$sec" "$@"
}
stack_apply() {
	V apply "$@" || { sleep 5; V apply "$@"; } || { sleep 10; V apply "$@"; }
}
id_of() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" \
	    --filter "label=com.docker.compose.service=$1"
}
# health_of SERVICE: "running/healthy" ("running/" without a health check)
health_of() {
	docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' \
	    "$(id_of "$1")" 2>/dev/null
}
# ip_of SERVICE: its first address on the project's networks.
ip_of() {
	docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' \
	    "$(id_of "$1")" | awk '{print $1}'
}
# services: the project's services, sorted.
services() {
	docker ps -a --filter "label=com.docker.compose.project=$proj" \
	    --format '{{.Label "com.docker.compose.service"}}' | sort
}
# ready SERVICE: running and healthy, or running without a health check.
ready() {
	case $(health_of "$1") in
	running/healthy|running/) return 0 ;;
	esac
	return 1
}
# wait_healthy SECONDS SERVICE...: until every one is ready.
wait_healthy() {
	local end=$((SECONDS + $1)) s left
	shift
	while :; do
		left=
		for s in "$@"; do ready "$s" || left="$left $s"; done
		[ -z "$left" ] && return 0
		[ $SECONDS -ge $end ] && { echo "not ready:$left" >&2; return 1; }
		sleep 0.5
	done
}
# pg ARGS: psql as postgres over the container's socket.
pg() { docker exec "$(id_of postgresql)" psql -U postgres -XAtq "$@" 2>&1; }
# rc ARGS: redis-cli with the current password (from the environment).
rc() {
	REDISCLI_AUTH=$(sec redis_password) docker exec -e REDISCLI_AUTH \
	    "$(id_of redis)" redis-cli "$@" 2>&1
}
