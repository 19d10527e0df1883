# shellcheck shell=bash disable=SC2034
# deploy-lib.sh: shared setup for tests/deploy/t6*.sh (sourced).
# Every project and container is named vpai-test-deploy-*, and removed at
# exit; dockerd is never stopped.
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
fix=$VPAI_SOURCE_DIR/tests/fixtures/deploy
base=vpai-local/debian:bookworm
if ! docker info >/dev/null 2>&1 || ! command -v docker-compose >/dev/null; then
	echo "SKIP: no docker engine or docker-compose"; exit 77
fi
if ! docker image inspect "$base" >/dev/null 2>&1; then
	echo "SKIP: local base image $base not built (images/build.sh)"; exit 77
fi
tmp=$(mktemp -d)
fail=0
projects=
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
cleanup() {
	for p in $projects; do
		docker ps -aq --filter "label=com.docker.compose.project=$p" |
		    xargs -r docker rm -f >/dev/null 2>&1
		docker network ls -q --filter "name=^${p}_" |
		    xargs -r docker network rm >/dev/null 2>&1
		docker volume ls -q --filter "label=com.docker.compose.project=$p" |
		    xargs -r docker volume rm >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
# new_project NAME: a fresh project name, cleaned up at exit.
new_project() {
	proj=vpai-test-deploy-$1-$$
	projects="$projects $proj"
}
# render_fixture FILE OUT key=value...: substitute @KEY@ placeholders.
render_fixture() {
	local in=$1 out=$2 kv
	shift 2
	cp "$fix/$in" "$out.new"
	sed -i "s/@PROJECT@/$proj/g" "$out.new"
	for kv in "$@"; do
		sed -i "s#@${kv%%=*}@#${kv#*=}#g" "$out.new"
	done
	mv "$out.new" "$out"
}
# ids: "service=id ..." of the project, sorted.
ids() {
	docker ps -a --filter "label=com.docker.compose.project=$proj" \
	    --format '{{.Label "com.docker.compose.service"}}={{.ID}}' | sort |
	    tr '\n' ' '
}
# id_of SERVICE
id_of() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" \
	    --filter "label=com.docker.compose.service=$1"
}
# health_of SERVICE: "running/healthy"
health_of() {
	docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' \
	    "$(id_of "$1")" 2>/dev/null
}
