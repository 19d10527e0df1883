#!/usr/bin/env bash
# t6000-deploy-phases: `vpai apply` on the real Docker engine with a
# small JSON compose file (tests/fixtures/deploy/phases.json, images
# vpai-local/debian:bookworm): phase A (db, cache) is healthy before
# phase B (app, worker) starts; a second apply recreates nothing; a
# changed service is the only one recreated; --only with a typo is an
# error with a suggestion; a service that never becomes healthy stops the
# apply with its logs and leaves the others running; a missing image tag
# is refused before anything changes; a dead docker socket is a clear
# error; `vpai status` shows every service; a service removed from the
# document is removed by a full apply (never by --only), its named volume
# kept.
set -u
# shellcheck source=tests/deploy/deploy-lib.sh
. "$(dirname "$0")/deploy-lib.sh"
new_project phases
c=$tmp/compose.json
apply() { "$VPAI" apply --compose "$c" --project "$proj" "$@"; }
fixture() {
	# Earlier KEY=V win: the caller's overrides come first.
	render_fixture phases.json "$c" "$@" DBHASH=h1 CACHE=one \
	    APPIMAGE=$base WORKERCHECK=true
}

# 1. First apply: every service created, phase A healthy before B starts.
fixture
if apply >"$tmp/out1" 2>&1; then ok "first apply"; else
	bad "first apply"; cat "$tmp/out1"; exit 1; fi
n=$(grep -c ' created ' "$tmp/out1")
[ "$n" = 4 ] && ok "4 containers created" || { bad "created: $n"; cat "$tmp/out1"; }
# Phase B's up comes after both phase A services were reported ready.
la=$(grep -n 'phase A  db .*ready\|phase A  cache .*ready' "$tmp/out1" | tail -1 | cut -d: -f1)
lb=$(grep -n 'phase B: up' "$tmp/out1" | cut -d: -f1)
if [ -n "$la" ] && [ -n "$lb" ] && [ "$la" -lt "$lb" ]; then
	ok "phase A gated before phase B"
else bad "phase order (A ready line $la, B up line $lb)"; cat "$tmp/out1"; fi
# The app started after db was healthy (its StartedAt is later).
sdb=$(docker inspect -f '{{range .State.Health.Log}}{{if eq .ExitCode 0}}{{.End}}{{"\n"}}{{end}}{{end}}' "$(id_of db)" | head -1)
sapp=$(docker inspect -f '{{.State.StartedAt}}' "$(id_of app)")
if [[ "$sapp" > "$sdb" ]]; then ok "app started after db's first healthy check"
else bad "app started $sapp, db healthy $sdb"; fi

# 2. status: a row per service, all healthy; --json parses.
if "$VPAI" status -p "$proj" >"$tmp/st" 2>&1 &&
    [ "$(grep -c ' running *healthy ' "$tmp/st")" = 4 ]; then
	ok "status: 4 running healthy"
else bad "status"; cat "$tmp/st"; fi
if "$VPAI" status -p "$proj" --json >"$tmp/st.json" &&
    [ "$(jq '[.[] | select(.health == "healthy")] | length' "$tmp/st.json")" = 4 ] &&
    [ "$(jq -r '.[] | select(.service == "db") | .mem_limit' "$tmp/st.json")" = 67108864 ] &&
    [ "$(jq -r '.[] | select(.service == "db") | .mem_use > 0' "$tmp/st.json")" = true ]; then
	ok "status --json: health, memory use and limit"
else bad "status --json"; cat "$tmp/st.json"; fi

# 3. Second apply: nothing recreated, same container ids; compose is not
#    even run (the recorded state matches what runs).
before=$(ids)
s0=$(date +%s%N)
if apply >"$tmp/out2" 2>&1 && grep -q 'nothing changed' "$tmp/out2" &&
    [ "$(ids)" = "$before" ] && ! grep -q ': up -d' "$tmp/out2"; then
	ok "second apply changes nothing ($(( ($(date +%s%N) - s0) / 1000000 )) ms, no compose run)"
else bad "second apply"; cat "$tmp/out2"; echo "$before"; ids; fi
# A container stopped behind vpai's back is not "as recorded": started.
docker stop -t 1 "$(id_of db)" >/dev/null
if apply >"$tmp/out2b" 2>&1 && grep -q '^  db .* started' "$tmp/out2b" &&
    [ "$(health_of db)" = running/healthy ] && [ "$(ids)" = "$before" ]; then
	ok "stopped container: started again, not recreated"
else bad "stopped container"; cat "$tmp/out2b"; fi
# An image tag moved to a new image: the container using it is recreated.
img=vpai-test-deploy-img-$$:1
docker tag "$base" "$img"
fixture APPIMAGE=$img
apply >/dev/null 2>&1
old_app=$(id_of app)
docker commit -c 'LABEL t6000=new' "$(id_of app)" "$img" >/dev/null
if apply >"$tmp/out2c" 2>&1 && grep -q '^  app .* recreated' "$tmp/out2c" &&
    [ "$(id_of app)" != "$old_app" ]; then
	ok "image tag moved: app recreated"
else bad "moved tag"; cat "$tmp/out2c"; fi
fixture
apply >/dev/null 2>&1
docker rmi "$img" >/dev/null 2>&1

# 4. A changed service (cache's environment) is the only one recreated.
fixture CACHE=two
old_db=$(id_of db); old_cache=$(id_of cache); old_app=$(id_of app)
if apply >"$tmp/out3" 2>&1 && grep -q '^  cache .* recreated' "$tmp/out3" &&
    [ "$(grep -c ' unchanged ' "$tmp/out3")" = 3 ] &&
    [ "$(id_of db)" = "$old_db" ] && [ "$(id_of app)" = "$old_app" ] &&
    [ "$(id_of cache)" != "$old_cache" ]; then
	ok "changed config recreates only its service"
else bad "targeted recreate"; cat "$tmp/out3"; fi

# 5. --only: a typo is an error with a suggestion; a right name touches
#    only that service.
before=$(ids)
if apply --only cache,dbb >"$tmp/out4" 2>&1; then bad "--only typo accepted"
elif grep -q "no service 'dbb' (did you mean 'db'?)" "$tmp/out4" &&
    [ "$(ids)" = "$before" ]; then ok "--only typo: error, nothing touched"
else bad "--only typo"; cat "$tmp/out4"; fi
fixture CACHE=three
old_cache=$(id_of cache)
if apply --only cache >"$tmp/out5" 2>&1 &&
    [ "$(grep -c '^  [a-z]\+ \+phase [AB] ' "$tmp/out5")" = 1 ] &&
    [ "$(id_of cache)" != "$old_cache" ]; then
	ok "--only cache updates just cache"
else bad "--only cache"; cat "$tmp/out5"; fi

# 6. Missing image tag: refused before anything is stopped or created,
#    even though cache changed too.
fixture CACHE=four APPIMAGE=vpai-local/debian:no-such-tag-$$
before=$(ids)
apply >"$tmp/out6" 2>&1; rc=$?
if [ $rc = 66 ] &&
    grep -q "service 'app': image 'vpai-local/debian:no-such-tag-$$' does not exist" "$tmp/out6" &&
    grep -q 'nothing was stopped or created' "$tmp/out6" &&
    [ "$(ids)" = "$before" ] && [ "$(health_of cache)" = running/healthy ]; then
	ok "missing image tag: clear error, nothing stopped (rc $rc)"
else bad "missing image (rc $rc)"; cat "$tmp/out6"; fi

# 7. A service that never becomes healthy: the apply stops with its logs
#    and health output; the healthy services keep running.
fixture CACHE=three WORKERCHECK=false
t0=$(date +%s)
apply >"$tmp/out7" 2>"$tmp/err7"; rc=$?
t1=$(date +%s)
if [ $rc = 5 ] && grep -q "service 'worker' is unhealthy" "$tmp/err7" &&
    grep -q 'last 30 log lines of worker' "$tmp/err7" &&
    grep -q 'worker log line false' "$tmp/err7" &&
    grep -q 'phase B  worker .*FAILED' "$tmp/out7"; then
	ok "unhealthy service: clear error with its logs (rc 5, $((t1 - t0))s)"
else bad "unhealthy gate (rc $rc)"; cat "$tmp/out7" "$tmp/err7"; fi
for s in db cache app; do
	[ "$(health_of $s)" = running/healthy ] || bad "$s not left running: $(health_of $s)"
done
ok "db, cache, app left running and healthy"

# 8. Docker not running: a clear error, nothing attempted.
DOCKER_HOST=unix://$tmp/dead.sock apply >"$tmp/out8" 2>&1; rc=$?
if [ $rc = 4 ] && grep -q "docker engine not reachable at unix://$tmp/dead.sock" "$tmp/out8"; then
	ok "docker not running: clear error (rc $rc)"
else bad "dead docker (rc $rc)"; cat "$tmp/out8"; fi
DOCKER_HOST=unix://$tmp/dead.sock "$VPAI" status -p "$proj" >"$tmp/out9" 2>&1; rc=$?
[ $rc = 4 ] && ok "status with docker down: rc 4" || { bad "status dead docker rc $rc"; cat "$tmp/out9"; }

# 9. Re-run after the fixes converges.
fixture CACHE=three
if apply >"$tmp/out10" 2>&1 && [ "$(health_of worker)" = running/healthy ]; then
	ok "re-run converges"
else bad "re-run"; cat "$tmp/out10"; fi

# 10. A service removed from the document (a feature switched off): a
#     full apply removes its container, keeps its named volume; --only
#     never removes anything; the next apply changes nothing.
jq '.services.worker.volumes = ["wdata:/data"] | .volumes = {wdata: {}}' \
    "$c" >"$tmp/c-vol.json"
"$VPAI" apply --compose "$tmp/c-vol.json" --project "$proj" >/dev/null 2>&1 &&
    docker exec "$(id_of worker)" sh -c 'echo kept >/data/f' ||
    bad "worker with a volume"
jq 'del(.services.worker) | .volumes = {wdata: {}}' "$c" >"$tmp/c-rm.json"
keep=$(docker ps -aq --filter "label=com.docker.compose.project=$proj" \
    --filter "label=com.docker.compose.service=app")
"$VPAI" apply --compose "$tmp/c-rm.json" --project "$proj" --only app \
    >"$tmp/out11" 2>&1
if [ -n "$(id_of worker)" ] && ! grep -q 'removed container' "$tmp/out11"; then
	ok "--only leaves a removed service's container alone"
else bad "--only removed something"; cat "$tmp/out11"; fi
if "$VPAI" apply --compose "$tmp/c-rm.json" --project "$proj" >"$tmp/out12" 2>&1 &&
    grep -q "^apply: removed container ${proj}_worker (service worker): no longer in the stack" "$tmp/out12" &&
    [ -z "$(id_of worker)" ] && [ "$(id_of app)" = "$keep" ] &&
    [ "$(docker run --rm -v "${proj}_wdata:/d" "$base" cat /d/f)" = kept ]; then
	ok "full apply removes the orphan container, keeps its volume and the others"
else bad "orphan removal"; cat "$tmp/out12"; docker ps -a --filter "label=com.docker.compose.project=$proj"; fi
if "$VPAI" apply --compose "$tmp/c-rm.json" --project "$proj" >"$tmp/out13" 2>&1 &&
    grep -q 'nothing changed' "$tmp/out13"; then
	ok "next apply: nothing changed"
else bad "apply after orphan removal"; cat "$tmp/out13"; fi
"$VPAI" status -p "$proj" >"$tmp/st2" 2>&1
grep -q worker "$tmp/st2" && { bad "status still lists worker"; cat "$tmp/st2"; }
exit $fail
