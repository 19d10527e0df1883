#!/usr/bin/env bash
# t4000: the static health probe (vpai-probe) against real servers on
# loopback (caddy, python http.server, redis-server), then in a container
# built FROM scratch holding nothing but the probe, checking a second
# container on a user network, and mounted read-only as a Docker
# healthcheck the way the stack uses it.
set -uo pipefail

build=${VPAI_BUILD_DIR:?VPAI_BUILD_DIR not set}
probe=${VPAI_PROBE:-$build/vpai-probe}
tmp=$(mktemp -d /tmp/t4000.XXXXXX)
pids=()
tag=vpai-test-images-probe-$$
fails=0
n=0

cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if command -v docker >/dev/null 2>&1; then
		docker rm -f "$tag-srv" "$tag-hc" >/dev/null 2>&1
		docker network rm "$tag-net" >/dev/null 2>&1
		docker rmi -f "$tag:1" >/dev/null 2>&1
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() {
	n=$((n + 1))
	echo "ok $n - $*"
}
notok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $*"
}

# expect RC DESCRIPTION -- COMMAND...; also checks stderr has one line on
# failure and matches $want when set.
want=
expect() {
	local rc=$1 desc=$2 got out err
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	out=$(cat "$tmp/out")
	err=$(cat "$tmp/err")
	if [ "$got" != "$rc" ]; then
		notok "$desc (exit $got, expected $rc; stdout: $out; stderr: $err)"
	elif [ "$rc" != 0 ] && [ "$(wc -l <"$tmp/err")" != 1 ]; then
		notok "$desc (stderr is not one line: $err)"
	elif [ -n "$want" ] && ! grep -Eq -- "$want" "$tmp/err" "$tmp/out"; then
		notok "$desc (output lacks '$want': $out $err)"
	else
		ok "$desc${err:+ [$err]}"
	fi
	want=
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
	for _ in $(seq 1 100); do
		"$probe" tcp "127.0.0.1:$1" --timeout-ms 200 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

if [ ! -x "$probe" ]; then
	echo "not ok 1 - $probe missing: build the vpai-probe target"
	exit 1
fi

# -- the binary itself ---------------------------------------------------
size=$(stat -c %s "$probe")
echo "# vpai-probe size: $size bytes ($((size / 1024)) KiB)"
if [ "$size" -lt 1048576 ]; then ok "size $size < 1 MiB"; else notok "size $size >= 1 MiB"; fi
lddout=$(ldd "$probe" 2>&1)
if echo "$lddout" | grep -q "not a dynamic executable"; then
	ok "ldd: not a dynamic executable"
else
	notok "ldd shows libraries: $lddout"
fi
if file "$probe" | grep -q "statically linked"; then ok "file: statically linked"; else notok "file: $(file "$probe")"; fi
if grep -qa "AddressSanitizer\|UndefinedBehaviorSanitizer" "$probe"; then notok "probe carries a sanitizer runtime"; else ok "no sanitizer runtime"; fi
expect 0 "--help" -- "$probe" --help
want=usage expect 1 "no arguments: usage, exit 1 (Docker reserves 2)" -- "$probe"
want="unknown check" expect 1 "unknown check" -- "$probe" ping 127.0.0.1:1
want="numeric" expect 1 "names are refused (no DNS)" -- "$probe" http http://localhost:80/
want="numeric" expect 1 "tcp names are refused" -- "$probe" tcp localhost:80
want="https is not supported" expect 1 "https refused" -- "$probe" http https://127.0.0.1/
want="timeout-ms" expect 1 "bad timeout" -- "$probe" tcp 127.0.0.1:1 --timeout-ms 0
want="unknown option" expect 1 "--host is http-only" -- "$probe" tcp 127.0.0.1:1 --host x

# -- python http.server ----------------------------------------------------
port=$(free_port)
mkdir -p "$tmp/www"
echo hello >"$tmp/www/index.html"
(cd "$tmp/www" && exec python3 -m http.server --bind 127.0.0.1 "$port" >/dev/null 2>&1) &
pids+=($!)
wait_port "$port" || notok "http.server did not start"
want="HTTP 200" expect 0 "http.server: GET / is 200" -- "$probe" http "http://127.0.0.1:$port/"
want="HTTP 404" expect 1 "http.server: missing path is 404, unhealthy" -- "$probe" http "http://127.0.0.1:$port/nope"
expect 0 "--expect 404 accepts a 404" -- "$probe" http "http://127.0.0.1:$port/nope" --expect 200,404
want="expected" expect 1 "--expect 204 rejects a 200" -- "$probe" http "http://127.0.0.1:$port/" --expect 204
want="CODE" expect 1 "--expect garbage" -- "$probe" http "http://127.0.0.1:$port/" --expect 2xx
want="connected" expect 0 "tcp to http.server" -- "$probe" tcp "127.0.0.1:$port"
expect 0 "IPv4 default port syntax with path and query" -- "$probe" http "http://127.0.0.1:$port/index.html?x=1"

# -- refused port, timeouts -----------------------------------------------
dead=$(free_port)
want="refused" expect 1 "refused port fails (tcp)" -- "$probe" tcp "127.0.0.1:$dead"
want="refused" expect 1 "refused port fails (http)" -- "$probe" http "http://127.0.0.1:$dead/"
want="refused" expect 1 "refused port fails (redis)" -- "$probe" redis "127.0.0.1:$dead"

silent=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8)
conns = []
while True:
    c, _ = s.accept(); conns.append(c)   # accept, never answer
' "$silent" &
pids+=($!)
wait_port "$silent" || notok "silent server did not start"
t0=$(date +%s%N)
want="timeout" expect 1 "a server that never answers: http times out" -- "$probe" http "http://127.0.0.1:$silent/" --timeout-ms 400
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -ge 350 ] && [ "$ms" -lt 2000 ]; then ok "timeout 400 ms took $ms ms"; else notok "timeout 400 ms took $ms ms"; fi
t0=$(date +%s%N)
want="timeout" expect 1 "redis times out too" -- "$probe" redis "127.0.0.1:$silent" --timeout-ms 300
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -ge 250 ] && [ "$ms" -lt 2000 ]; then ok "redis timeout 300 ms took $ms ms"; else notok "redis timeout took $ms ms"; fi
t0=$(date +%s%N)
want="timeout" expect 1 "default timeout is 3000 ms" -- "$probe" http "http://127.0.0.1:$silent/"
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -ge 2900 ] && [ "$ms" -lt 4500 ]; then ok "default timeout took $ms ms"; else notok "default timeout took $ms ms"; fi

# -- caddy: the Host header matters -----------------------------------------
cport=$(free_port)
cat >"$tmp/Caddyfile" <<EOF
{
	admin off
	auto_https off
}
http://health.test:$cport {
	respond /health "ok" 200
	respond "no such path" 404
}
http://:$cport {
	respond "wrong host" 421
}
EOF
HOME=$tmp XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config \
	caddy run --config "$tmp/Caddyfile" --adapter caddyfile >"$tmp/caddy.log" 2>&1 &
pids+=($!)
if wait_port "$cport"; then
	want="HTTP 200" expect 0 "caddy: right Host header is 200" -- "$probe" http "http://127.0.0.1:$cport/health" --host health.test
	want="HTTP 421" expect 1 "caddy: default Host (127.0.0.1) hits the catch-all 421" -- "$probe" http "http://127.0.0.1:$cport/health"
	want="HTTP 421" expect 1 "caddy: wrong Host header fails" -- "$probe" http "http://127.0.0.1:$cport/health" --host other.test
	want="HTTP 404" expect 1 "caddy: right host, wrong path" -- "$probe" http "http://127.0.0.1:$cport/x" --host health.test
	want="bad Host" expect 1 "a Host header with a space is refused" -- "$probe" http "http://127.0.0.1:$cport/" --host "a b"
else
	notok "caddy did not start: $(tail -3 "$tmp/caddy.log")"
fi

# -- redis-server with requirepass ------------------------------------------
rport=$(free_port)
pw="s3cret pass/with:odd*chars"
umask 077
printf 'port %s\nbind 127.0.0.1\nrequirepass "%s"\nsave ""\nappendonly no\ndir %s\n' \
	"$rport" "$pw" "$tmp" >"$tmp/redis.conf"
printf '%s\n' "$pw" >"$tmp/pw-right"
printf 'wrong\n' >"$tmp/pw-wrong"
: >"$tmp/pw-empty"
redis-server "$tmp/redis.conf" >"$tmp/redis.log" 2>&1 &
pids+=($!)
if wait_port "$rport"; then
	want="PONG" expect 0 "redis: right password -> PONG" -- "$probe" redis "127.0.0.1:$rport" --password-file "$tmp/pw-right"
	want="AUTH refused" expect 1 "redis: wrong password fails" -- "$probe" redis "127.0.0.1:$rport" --password-file "$tmp/pw-wrong"
	want="NOAUTH" expect 1 "redis: no password -> NOAUTH fails" -- "$probe" redis "127.0.0.1:$rport"
	want="empty" expect 1 "redis: empty password file" -- "$probe" redis "127.0.0.1:$rport" --password-file "$tmp/pw-empty"
	want="No such file" expect 1 "redis: missing password file" -- "$probe" redis "127.0.0.1:$rport" --password-file "$tmp/nope"
	if grep -q "s3cret" "$tmp/err" "$tmp/out"; then notok "password leaked in output"; else ok "password never printed"; fi
	want="AUTH refused" expect 1 "redis: ACL user that does not exist" -- "$probe" redis "127.0.0.1:$rport" --user nobody --password-file "$tmp/pw-right"
	expect 0 "redis: ACL user default + right password" -- "$probe" redis "127.0.0.1:$rport" --user default --password-file "$tmp/pw-right"
	want="without a response|not an HTTP" expect 1 "http against redis fails" -- "$probe" http "http://127.0.0.1:$rport/"
else
	notok "redis-server did not start: $(tail -3 "$tmp/redis.log")"
fi
want="not a Redis reply|expected [+]PONG" expect 1 "redis check against an HTTP server fails" -- "$probe" redis "127.0.0.1:$port"

# -- docker: an image with nothing but the probe ------------------------------
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
	echo "# SKIP docker part: docker is not available"
else
	base=vpai-local/debian:bookworm
	if ! docker image inspect "$base" >/dev/null 2>&1; then
		echo "# building $base with images/build.sh base"
		bash "$VPAI_SOURCE_DIR/images/build.sh" base >/dev/null 2>&1 ||
			notok "could not build $base"
	fi
	mkdir -p -m 0755 "$tmp/ctx"
	install -m 0755 "$probe" "$tmp/ctx/probe"
	printf 'FROM scratch\nCOPY probe /probe\nUSER 65534:65534\nENTRYPOINT ["/probe"]\n' >"$tmp/ctx/Dockerfile"
	if DOCKER_BUILDKIT=0 docker build -q -t "$tag:1" "$tmp/ctx" >/dev/null 2>"$tmp/build.err"; then
		ok "FROM scratch image with only the probe built"
		isize=$(docker image inspect -f '{{.Size}}' "$tag:1")
		echo "# probe-only image size: $isize bytes"
		if [ "$isize" -le $((size + 4096)) ]; then ok "image holds only the probe ($isize bytes)"; else notok "image is $isize bytes"; fi
	else
		notok "docker build: $(cat "$tmp/build.err")"
	fi
	docker network create "$tag-net" >/dev/null
	# A second container: a tiny HTTP server (perl is in the minbase image).
	docker run -d --name "$tag-srv" --network "$tag-net" --cap-drop ALL \
		--security-opt no-new-privileges --user 65534:65534 "$base" \
		perl -MIO::Socket::INET -e '
			$s = IO::Socket::INET->new(LocalPort => 8080, Listen => 8, ReuseAddr => 1) or die;
			while ($c = $s->accept) {
				$l = <$c>;
				$code = $l =~ m{^GET /health } ? "200 OK" : "404 Not Found";
				print $c "HTTP/1.1 $code\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
				close $c;
			}' >/dev/null
	ip=$(docker inspect -f "{{(index .NetworkSettings.Networks \"$tag-net\").IPAddress}}" "$tag-srv")
	run() {
		docker run --rm --network "$tag-net" --cap-drop ALL \
			--security-opt no-new-privileges --read-only "$tag:1" "$@"
	}
	ready=0
	for _ in $(seq 1 50); do
		if run tcp "$ip:8080" --timeout-ms 200 >/dev/null 2>&1; then ready=1; break; fi
		sleep 0.2
	done
	if [ "$ready" = 1 ]; then ok "scratch container: tcp $ip:8080 (other container)"; else notok "scratch container: tcp $ip:8080 never connected"; fi
	want="HTTP 200" expect 0 "scratch container: http /health on the other container" -- run http "http://$ip:8080/health"
	want="HTTP 404" expect 1 "scratch container: http /missing is unhealthy" -- run http "http://$ip:8080/missing"
	want="refused" expect 1 "scratch container: closed port refused" -- run tcp "$ip:8081"

	# Mounted read-only as the stack does, as a Docker healthcheck.
	docker run -d --name "$tag-hc" --network "$tag-net" --cap-drop ALL \
		--security-opt no-new-privileges --user 65534:65534 \
		-v "$tmp/ctx/probe:/vpai/probe:ro" \
		--health-cmd "/vpai/probe http http://127.0.0.1:8080/health" \
		--health-interval 1s --health-retries 3 --health-timeout 3s "$base" \
		perl -MIO::Socket::INET -e '
			sleep 1;
			$s = IO::Socket::INET->new(LocalPort => 8080, Listen => 8, ReuseAddr => 1) or die;
			while ($c = $s->accept) { <$c>; print $c "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"; close $c }' >/dev/null
	st=
	for _ in $(seq 1 40); do
		st=$(docker inspect -f '{{.State.Health.Status}}' "$tag-hc")
		[ "$st" = healthy ] && break
		sleep 0.25
	done
	if [ "$st" = healthy ]; then ok "probe mounted at /vpai/probe:ro makes a container healthy"; else notok "healthcheck status '$st'"; fi
fi

echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
