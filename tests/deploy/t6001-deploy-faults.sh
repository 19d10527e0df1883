#!/usr/bin/env bash
# t6001-deploy-faults: bad situations of `vpai apply` on the real engine:
#   - SIGINT while waiting on phase A: stops cleanly (rc 130), says what
#     is left, phase B never starts; a re-run converges without
#     recreating what was already there;
#   - a published port already in use: clear error naming the port
#     (rc 73); a re-run once it is free converges;
#   - a network left by an older deploy without compose labels: removed
#     and recreated by compose when unused; when a container uses it,
#     a clear error naming that container and nothing created.
set -u
# shellcheck source=tests/deploy/deploy-lib.sh
. "$(dirname "$0")/deploy-lib.sh"

# --- SIGINT mid-phase ---------------------------------------------------
new_project sigint
c=$tmp/slow.json
render_fixture slow.json "$c" DELAY=8
"$VPAI" apply --compose "$c" --project "$proj" >"$tmp/int.out" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
	grep -q 'phase A  slow .*starting' "$tmp/int.out" 2>/dev/null && break
	sleep 0.2
done
t0=$(date +%s%N)
kill -INT $pid
wait $pid; rc=$?
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
if [ $rc = 130 ] && grep -q 'interrupted while waiting for phase A' "$tmp/int.out" &&
    grep -q '^  later .*not reached' "$tmp/int.out" &&
    grep -q '^  slow .*created' "$tmp/int.out" && [ $ms -lt 2000 ]; then
	ok "SIGINT mid-phase: rc 130 after ${ms} ms, state printed"
else bad "SIGINT (rc $rc, ${ms} ms)"; cat "$tmp/int.out"; fi
[ -z "$(id_of later)" ] && ok "phase B not started" || bad "later was created"
slow_id=$(id_of slow)
[ -n "$slow_id" ] && ok "phase A container left in place" || bad "slow gone"
if "$VPAI" apply --compose "$c" --project "$proj" >"$tmp/int2.out" 2>&1 &&
    [ "$(id_of slow)" = "$slow_id" ] && grep -q '^  later .*created' "$tmp/int2.out" &&
    [ "$(health_of later)" = running/healthy ]; then
	ok "re-run after SIGINT converges (slow kept, later created)"
else bad "re-run after SIGINT"; cat "$tmp/int2.out"; fi

# --- port already in use ------------------------------------------------
new_project port
c=$tmp/port.json
port=$(( 20000 + $$ % 20000 ))
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
print("listening", flush=True); time.sleep(120)' "$port" >"$tmp/listen" &
lpid=$!
for _ in $(seq 1 50); do grep -q listening "$tmp/listen" && break; sleep 0.1; done
render_fixture port.json "$c" PORT=$port
"$VPAI" apply --compose "$c" --project "$proj" >"$tmp/port.out" 2>&1; rc=$?
if [ $rc = 73 ] && grep -q "service .web. cannot start: a published port is already in use on this host: 127.0.0.1:$port " "$tmp/port.out"; then
	ok "port in use: clear error naming the port (rc $rc)"
else bad "port in use (rc $rc)"; cat "$tmp/port.out"; fi
kill $lpid; wait $lpid 2>/dev/null
if "$VPAI" apply --compose "$c" --project "$proj" >"$tmp/port2.out" 2>&1 &&
    [ "$(health_of web)" = running/healthy ]; then
	ok "re-run once the port is free converges"
else bad "re-run after port freed"; cat "$tmp/port2.out"; fi

# --- networks left by an older deploy -----------------------------------
new_project net
c=$tmp/net.json
render_fixture phases.json "$c" DBHASH=h CACHE=x APPIMAGE=$base WORKERCHECK=true
docker network create --internal "${proj}_net" >/dev/null
if "$VPAI" apply --compose "$c" --project "$proj" >"$tmp/net.out" 2>&1 &&
    grep -q "removed network ${proj}_net (it has no compose labels)" "$tmp/net.out" &&
    [ "$(docker network inspect -f '{{index .Labels "com.docker.compose.project"}}' "${proj}_net")" = "$proj" ]; then
	ok "unlabelled unused network: removed, recreated by compose"
else bad "network repair"; cat "$tmp/net.out"; fi
docker ps -aq --filter "label=com.docker.compose.project=$proj" | xargs -r docker rm -f >/dev/null
docker network rm "${proj}_net" >/dev/null
docker network create --internal "${proj}_net" >/dev/null
holder=vpai-test-deploy-holder-$$
docker run -d --name "$holder" --network "${proj}_net" "$base" sleep 120 >/dev/null
"$VPAI" apply --compose "$c" --project "$proj" >"$tmp/net2.out" 2>&1; rc=$?
if [ $rc = 73 ] && grep -q "network '${proj}_net' exists but compose would refuse it (it has no compose labels) and containers use it: $holder" "$tmp/net2.out" &&
    [ -z "$(ids)" ]; then
	ok "unlabelled network in use: error names the container, nothing created"
else bad "network in use (rc $rc)"; cat "$tmp/net2.out"; fi
docker rm -f "$holder" >/dev/null
[ -n "${SHOW:-}" ] && cat "$tmp"/*.out
exit $fail
