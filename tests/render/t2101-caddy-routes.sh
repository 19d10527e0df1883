#!/bin/bash
# t2101-caddy-routes: run a real caddy with the rendered Caddyfile and check
# the routing and the VPN ACL from a loopback client:
#   - default site (VPN 100.64.0.0/10, 127.0.0.1 is NOT on the VPN): every
#     admin route answers 403, public /health 200, public /litellm/* and the
#     n8n webhooks are proxied, everything else 404;
#   - a site whose vpn_network_cidr contains 127.0.0.1: the same admin routes
#     are proxied (502: the upstream containers are absent), not 403.
# The admin routes are read from the rendered Caddyfile, so a new route is
# tested without editing this script.
#
# Loopback adaptation, done with sed on a COPY of the rendered file (the
# rendered file itself is what `caddy validate` checks in t2100): the two
# vhosts become http://HOST:PORT on a free high port (no root, no ACME/TLS,
# no certificate for *.localhost needed), `tls internal` lines are dropped
# (meaningless on http://), the health listener moves to another high port
# and the admin API is turned off (parallel tests).  Routes, matchers,
# headers and the ACL are untouched.
set -u

SRC="${VPAI_SOURCE_DIR:?VPAI_SOURCE_DIR not set}"
VPAI="${VPAI:?VPAI not set}"
SECRETS="$SRC/tests/fixtures/secrets/plain.yml"

T="$(mktemp -d /tmp/vpai-t2101.XXXXXX)"
export XDG_DATA_HOME="$T/xdg/data" XDG_CONFIG_HOME="$T/xdg/config"
CADDY_PID=""
pass=0
fail=0

cleanup() {
	[ -n "$CADDY_PID" ] && kill "$CADDY_PID" 2>/dev/null && wait "$CADDY_PID" 2>/dev/null
	rm -rf -- "$T"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); printf 'ok - %s\n' "$1"; }
nok() { fail=$((fail + 1)); printf 'not ok - %s\n' "$1"; [ -n "${2:-}" ] && printf '    %s\n' "$2"; return 0; }

# Value of a top-level key in the rendered site, read from the Caddyfile
# itself: "<domain> {" and "<admin>.<domain> {" are its first two vhosts.
vhosts() { sed -n 's/^\([a-z0-9.-]*\.[a-z0-9-]*\) {$/\1/p' "$1"; }

# Admin routes: the handle_path prefixes of the admin vhost block.
admin_routes() {
	awk -v host="$2" '
	    $0 == host " {" { inside = 1; next }
	    inside && /^}/ { inside = 0 }
	    inside && $1 == "handle_path" { sub(/\*$/, "", $2); print $2 }' "$1"
}

# start_caddy CADDYFILE: adapted copy on PORT/HPORT, waits for /health.
start_caddy() {
	local src="$1" pub="$2" adm="$3" cf="$T/Caddyfile.loopback"
	sed -e "s#^${pub//./\\.} {\$#http://$pub:$PORT {#" \
	    -e "s#^${adm//./\\.} {\$#http://$adm:$PORT {#" \
	    -e '/^[[:space:]]*tls internal$/d' \
	    -e 's#^\([[:space:]]*admin\) .*#\1 off#' \
	    -e "s#^http://:[0-9]* {\$#http://:$HPORT {#" "$src" >"$cf"
	if ! grep -q "^http://$adm:$PORT {" "$cf" ||
	    ! grep -q "^http://:$HPORT {" "$cf"; then
		nok "loopback adaptation of the Caddyfile" "vhosts not found"
		return 1
	fi
	caddy run --adapter caddyfile --config "$cf" >"$T/caddy.log" 2>&1 &
	CADDY_PID=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$HPORT/health" && return 0
		kill -0 "$CADDY_PID" 2>/dev/null || break
		sleep 0.1
	done
	nok "caddy starts" "$(tail -n 5 "$T/caddy.log")"
	return 1
}

stop_caddy() {
	kill "$CADDY_PID" 2>/dev/null
	wait "$CADDY_PID" 2>/dev/null
	CADDY_PID=""
}

# code HOST PATH: HTTP status from 127.0.0.1.
code() {
	curl -s -o "$T/body" -D "$T/headers" -m 20 -w '%{http_code}' \
	    -H "Host: $1" "http://127.0.0.1:$PORT$2"
}

expect_code() {
	local d="$1" want="$2" got
	got="$(code "$3" "$4")"
	if [ "$got" = "$want" ]; then ok "$d"; else nok "$d" "want $want, got $got"; fi
}

# A free port pair for this run.
PORT=$((30000 + ($$ % 10000) * 2))
HPORT=$((PORT + 1))

# --- 1. default site: 127.0.0.1 is not on the VPN -----------------------------
B="$T/default"
if ! "$VPAI" --site "$SRC/tests/fixtures/render/vpai.yml" render -o "$B" \
    --env prod --secrets "$SECRETS" >"$T/out" 2>&1; then
	nok "default site: vpai render" "$(head -n 3 "$T/out")"
	printf '%d passed, %d failed\n' "$pass" "$fail"
	exit 1
fi
CF="$B/configs/caddy/Caddyfile"
PUB="$(vhosts "$CF" | sed -n 1p)"
ADM="$(vhosts "$CF" | sed -n 2p)"
if [ -z "$PUB" ] || [ -z "$ADM" ]; then
	nok "Caddyfile has a public and an admin vhost" "got '$PUB' '$ADM'"
	printf '%d passed, %d failed\n' "$pass" "$fail"
	exit 1
fi
ROUTES="$(admin_routes "$CF" "$ADM")"
n=$(printf '%s\n' "$ROUTES" | grep -c .)
if [ "$n" -ge 4 ]; then
	ok "admin vhost defines $n routes: $(printf '%s' "$ROUTES" | tr '\n' ' ')"
else
	nok "admin vhost defines at least n8n, grafana, openclaw, qdrant" "got: $ROUTES"
fi

if start_caddy "$CF" "$PUB" "$ADM"; then
	ok "caddy runs the rendered Caddyfile (loopback copy)"
	for r in $ROUTES; do
		expect_code "admin $r from 127.0.0.1 (not VPN) -> 403" 403 "$ADM" "$r"
		expect_code "admin ${r}deep/path?x=1 from 127.0.0.1 -> 403" 403 "$ADM" "${r}deep/path?x=1"
	done
	expect_code "admin / from 127.0.0.1 -> 403" 403 "$ADM" /
	expect_code "admin unknown path from 127.0.0.1 -> 403" 403 "$ADM" /nope
	expect_code "public /health -> 200" 200 "$PUB" /health
	if [ "$(cat "$T/body")" = OK ]; then ok "public /health body is OK"; else nok "public /health body is OK"; fi
	for h in 'Strict-Transport-Security: max-age=31536000' \
	    'X-Content-Type-Options: nosniff' 'X-Frame-Options: DENY' \
	    'Referrer-Policy: strict-origin-when-cross-origin'; do
		if grep -qi "^$h" "$T/headers"; then ok "public header $h"; else nok "public header $h"; fi
	done
	if grep -qi '^Server:' "$T/headers"; then nok "public: no Server header"; else ok "public: no Server header"; fi
	expect_code "public /litellm/v1/models is proxied (502, no upstream)" 502 "$PUB" /litellm/v1/models
	expect_code "public /n8n/webhook/x is proxied (502, no upstream)" 502 "$PUB" /n8n/webhook/x
	expect_code "public /n8n/ (editor) -> 404" 404 "$PUB" /n8n/
	expect_code "public /grafana/ -> 404" 404 "$PUB" /grafana/
	expect_code "public unknown path -> 404" 404 "$PUB" /nope
	hc="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/health")"
	if [ "$hc" = 200 ]; then ok "health listener /health -> 200 (any Host)"; else nok "health listener /health -> 200" "got $hc"; fi
	stop_caddy
fi

# --- 2. site whose VPN CIDR contains 127.0.0.1 -------------------------------
B="$T/vpn"
if "$VPAI" --site "$SRC/tests/fixtures/render/routes-vpn-local.yml" render \
    -o "$B" --env prod --secrets "$SECRETS" >"$T/out" 2>&1; then
	ok "vpn site: vpai render"
	CF="$B/configs/caddy/Caddyfile"
	if grep -q 'remote_ip 127\.0\.0\.0/8' "$CF"; then
		ok "vpn site: ACL uses the site's vpn_network_cidr"
	else
		nok "vpn site: ACL uses the site's vpn_network_cidr"
	fi
	if start_caddy "$CF" "$PUB" "$ADM"; then
		for r in $ROUTES; do
			expect_code "admin $r from 127.0.0.1 (on VPN) is proxied (502)" 502 "$ADM" "$r"
		done
		expect_code "admin unknown path from the VPN -> 404" 404 "$ADM" /nope
		expect_code "vpn site: public /health -> 200" 200 "$PUB" /health
		stop_caddy
	fi
else
	nok "vpn site: vpai render" "$(head -n 3 "$T/out")"
fi

printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
