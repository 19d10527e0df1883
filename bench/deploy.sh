#!/usr/bin/env bash
# bench/deploy.sh: the deploy figures of issue 4, on this machine's Docker
# engine with the local image set (release build):
#   1. first apply on a fresh stack root (data initialized, provisioning);
#   2. cold start to all healthy with the data in place, same run:
#      `vpai apply` (phased, health-gated) against `docker-compose up -d`
#      plus polling `docker ps` until every container is healthy, on the
#      same compose file (containers removed before each);
#   3. no-op apply: wall time, and vpai's own CPU time (user+sys of the
#      vpai process alone, its docker CLI children excluded);
#   4. smoke: wall time against its slowest single check.
# Uses project vpai-bench-smoke, subnets 172.28.x and Caddy on
# 127.0.0.1:28080/28443 (do not run it together with t6010).
#   bench/deploy.sh          VPAI=path/to/vpai to skip the build
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VPAI:-}" ]; then
	cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/bench --target vpai vpai-probe -j2 >/dev/null
	VPAI=$PWD/build/bench/vpai
fi
export VPAI_PROBE=${VPAI_PROBE:-$(dirname "$VPAI")/vpai-probe}
proj=vpai-bench-smoke
tmp=$(mktemp -d)
cleanup() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" |
	    xargs -r docker rm -f >/dev/null 2>&1 || true
	docker network ls -q --filter "name=^${proj}_" |
	    xargs -r docker network rm >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cleanup_ctrs() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" |
	    xargs -r docker rm -f >/dev/null
}
cp -r stack "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" | xargs sed -i 's/172\.20\./172.28./g'
sed -i 's/^ports: .*/ports: ["127.0.0.1:28080:80", "127.0.0.1:28443:443"]/' \
    "$tmp/stack/services/caddy.yml"
sed -i 's|^  caddy: \["80/tcp".*|  caddy: ["28080/tcp", "28443/tcp"]|' "$tmp/stack/policy.yml"
export VPAI_STACK_DIR=$tmp/stack
root=$tmp/root
site=$tmp/site
mkdir -p "$site"
printf 'project_name: %s\nstack_root: %s\nimage_set: local\nn8n_owner_email: bench@example.org\n' \
    "$proj" "$root" >"$site/vpai.yml"
secrets=$PWD/tests/fixtures/secrets/plain.yml
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
apply() { "$VPAI" -q -C "$site" apply --secrets "$secrets" >"$tmp/apply.log" 2>&1 ||
    { cat "$tmp/apply.log"; exit 1; }; }

echo "bench: first apply on a fresh stack root..." >&2
t=$(date +%s%N); apply; first=$(ms "$t")
n=$(docker ps -q --filter "label=com.docker.compose.project=$proj" | wc -l)

echo "bench: $first ms; cold start with vpai apply..." >&2
cleanup_ctrs
t=$(date +%s%N); apply; vcold=$(ms "$t")
echo "bench: $vcold ms; cold start with docker-compose up -d + polling..." >&2

cleanup_ctrs
compose=(docker-compose)
docker compose version >/dev/null 2>&1 && compose=(docker compose)
t=$(date +%s%N)
"${compose[@]}" -p "$proj" -f "$root/docker-compose.yml" up -d >"$tmp/up.log" 2>&1 ||
    { cat "$tmp/up.log"; exit 1; }
while :; do
	h=$(docker ps --filter "label=com.docker.compose.project=$proj" \
	    --filter health=healthy -q | wc -l)
	[ "$h" -ge "$n" ] && break
	[ "$(ms "$t")" -gt 600000 ] && { echo "compose: not healthy after 600 s"; exit 1; }
	sleep 0.5
done
ccold=$(ms "$t")
echo "bench: $ccold ms; no-op applies..." >&2
# Back to a vpai-managed state for the no-op apply.
cleanup_ctrs; apply

best=; cpu=
for _ in 1 2 3 4 5; do
	t=$(date +%s%N)
	# GNU time's %U/%S include the waited-for docker children: vpai's own
	# CPU is utime+stime of its pid (/proc/PID/stat), sampled until exit.
	"$VPAI" -C "$site" apply --secrets "$secrets" >"$tmp/noop.log" 2>&1 &
	pid=$!
	own=0
	while kill -0 "$pid" 2>/dev/null; do
		if s=$(cut -d' ' -f14,15 "/proc/$pid/stat" 2>/dev/null); then
			own=$(( ${s% *} + ${s#* } ))
		fi
		sleep 0.01
	done
	wait "$pid" || { cat "$tmp/noop.log"; exit 1; }
	w=$(ms "$t")
	grep -q 'nothing changed' "$tmp/noop.log" || { echo "no-op apply changed something"; cat "$tmp/noop.log"; exit 1; }
	if [ -z "$best" ] || [ "$w" -lt "$best" ]; then best=$w; cpu=$own; fi
done
tck=$(getconf CLK_TCK)

"$VPAI" -C "$site" smoke --secrets "$secrets" --json \
    --base-url https://vpai.localhost:28443 >"$tmp/smoke.json" || { cat "$tmp/smoke.json"; exit 1; }
sw=$(jq .wall_ms "$tmp/smoke.json")
ss=$(jq .slowest_ms "$tmp/smoke.json")
sn=$(jq '.checks | length' "$tmp/smoke.json")
slow=$(jq -r '.checks | max_by(.ms) | .name' "$tmp/smoke.json")
ssum=$(jq '[.checks[].ms] | add' "$tmp/smoke.json")

cat <<REPORT
bench/deploy ($n services, local images, $(nproc) cores)
  first apply, fresh stack root (initdb, provisioning): $first ms
  cold start to all healthy, data in place:
    vpai apply (phased, health-gated, provisioning):   $vcold ms
    docker-compose up -d + polling docker ps:           $ccold ms
  no-op apply: $best ms wall (best of 5), vpai's own CPU $(( cpu * 1000 / tck )) ms
  smoke: $sn checks, wall $sw ms, slowest single check $ss ms ($slow), sum of all checks $ssum ms
REPORT
