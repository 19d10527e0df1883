#!/usr/bin/env bash
# t6010-smoke-e2e: the whole default stack with the local image set, then
# `vpai smoke`:
#   - apply: every service running and healthy;
#   - smoke passes: --json parsed with jq (every check ok), --junit valid
#     XML (xmllint when present), the human report;
#   - n8n answers through Caddy (public webhook route) and its owner
#     exists (logs in);
#   - every admin route of the rendered Caddyfile answers 403 from
#     127.0.0.1 (outside the VPN CIDR), each one a smoke check;
#   - the Redis password is in no argv and no output;
#   - a second apply changes nothing;
#   - qdrant stopped: smoke exits 5 (health, as `vpai status`) and names 'qdrant-healthz';
#   - monitoring switched off (monitoring_enabled: false): a full apply
#     removes the four monitoring containers and their bundle files (a
#     hand-edited one is kept, with a warning), keeps their data
#     directories and everything else; the next apply changes nothing.
# For the test only: project vpai-test-smoke-<pid>, subnets 172.28.x,
# Caddy published on 127.0.0.1:28080/28443 instead of 80/443.
set -u
# shellcheck source=tests/deploy/deploy-lib.sh
. "$(dirname "$0")/deploy-lib.sh"
probe=$VPAI_BUILD_DIR/vpai-probe
imgs=$(sed -n 's/^ *[a-z_]*: *"\{0,1\}\(vpai-local\/[^" ]*\)"\{0,1\} *$/\1/p' \
    "$VPAI_SOURCE_DIR/stack/images-local.yml")
for img in ${imgs:-vpai-local/caddy:2.6}; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe
proj=vpai-test-smoke-$$
projects="$projects $proj"
cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" | xargs sed -i 's/172\.20\./172.28./g'
sed -i 's/^ports: .*/ports: ["127.0.0.1:28080:80", "127.0.0.1:28443:443"]/' \
    "$tmp/stack/services/caddy.yml"
sed -i 's|^  caddy: \["80/tcp".*|  caddy: ["28080/tcp", "28443/tcp"]|' "$tmp/stack/policy.yml"
export VPAI_STACK_DIR=$tmp/stack
root=$tmp/root
site=$tmp/site
mkdir -p "$site"
email=owner-t6010@example.org
printf 'project_name: %s\nstack_root: %s\nimage_set: local\nn8n_owner_email: %s\n' \
    "$proj" "$root" "$email" >"$site/vpai.yml"
secrets=$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml
sec() { sed -n "s/^$1: '\(.*\)'/\1/p" "$secrets"; }
smoke() {
	"$VPAI" -C "$site" smoke --secrets "$secrets" \
	    --base-url https://vpai.localhost:28443 "$@"
}

if "$VPAI" -C "$site" apply --secrets "$secrets" >"$tmp/a1" 2>&1; then
	ok "first apply"
else bad "first apply"; cat "$tmp/a1"; exit 1; fi
nsvc=$(docker ps -a --filter "label=com.docker.compose.project=$proj" -q | wc -l)
nok=$(docker ps --filter "label=com.docker.compose.project=$proj" \
    --filter health=healthy -q | wc -l)
if [ "$nsvc" -ge 12 ] && [ "$nok" = "$nsvc" ]; then
	ok "all $nsvc services healthy"
else bad "$nok of $nsvc services healthy"; docker ps -a --filter "label=com.docker.compose.project=$proj"; fi

# The report, three ways.  Watch argv for the Redis password meanwhile.
rpw=$(sec redis_password)
( for _ in $(seq 1 100); do cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' ' '; echo; sleep 0.05; done ) \
    >"$tmp/argv" &
watcher=$!
if smoke --json --junit "$tmp/junit.xml" >"$tmp/s.json" 2>"$tmp/s.err"; then
	ok "smoke passes"
else bad "smoke"; cat "$tmp/s.json" "$tmp/s.err"; fi
kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
[ -n "$rpw" ] && ! grep -qF "$rpw" "$tmp/argv" && ok "redis password in no argv" ||
    bad "redis password seen in an argv"
if jq -e '.ok == true and (.checks | length) >= 15 and all(.checks[]; .ok)' \
    "$tmp/s.json" >/dev/null; then
	ok "json: $(jq '.checks | length' "$tmp/s.json") checks, all ok"
else bad "json report"; cat "$tmp/s.json"; fi
for c in https-health tls-certificate dns n8n-healthz n8n-via-caddy grafana-health \
    litellm-health litellm-models postgresql-ready redis-ping qdrant-healthz; do
	jq -e --arg c "$c" 'any(.checks[]; .name == $c and .ok)' "$tmp/s.json" >/dev/null ||
	    bad "check $c missing or failed"
done
jq -e '.checks[] | select(.name == "tls-certificate") | .detail | test("expires in")' \
    "$tmp/s.json" >/dev/null && ok "tls: days to expiry reported" || bad "tls detail"
jq -e '.checks[] | select(.name == "litellm-models") | .detail | test("^[1-9][0-9]* model")' \
    "$tmp/s.json" >/dev/null && ok "litellm: models listed" || bad "litellm models"
if command -v xmllint >/dev/null; then
	xmllint --noout "$tmp/junit.xml" && ok "junit: valid XML" || bad "junit XML"
fi
grep -q '<testsuite name="vpai-smoke" tests="[0-9]*" failures="0"' "$tmp/junit.xml" &&
    ok "junit: no failure" || bad "junit content"
grep -qF "$rpw" "$tmp/s.json" "$tmp/junit.xml" "$tmp/s.err" && bad "password in the output"

# Every admin route of the deployed Caddyfile is a smoke check, and 403.
routes=$(awk '/^admin\./{a=1} a && /handle_path \//{print $2} a && /^}/{a=0}' \
    "$root/configs/caddy/Caddyfile" | sed 's/\*$//')
n=0
for r in / $routes; do
	n=$((n + 1))
	jq -e --arg n "vpn-only $r" 'any(.checks[]; .name == $n and .ok and
	    (.detail | test("HTTP 403")))' "$tmp/s.json" >/dev/null || bad "admin route $r"
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert \
	    "$root/data/caddy/data/caddy/pki/authorities/local/root.crt" \
	    --resolve admin.vpai.localhost:28443:127.0.0.1 \
	    "https://admin.vpai.localhost:28443${r}x")
	[ "$code" = 403 ] || bad "admin route ${r}x: HTTP $code"
done
[ "$n" -ge 6 ] && ok "$n admin routes answer 403 outside the VPN" || bad "only $n admin routes"

# n8n through Caddy, and its owner.
jq -e '.checks[] | select(.name == "n8n-via-caddy") | .detail | test("from n8n")' \
    "$tmp/s.json" >/dev/null && ok "n8n reachable through Caddy" || bad "n8n via caddy"
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' \
    "$(id_of n8n)" | awk '{print $1}')
code=$(printf '{"emailOrLdapLoginId":"%s","password":"%s"}' "$email" "$(sec n8n_owner_password)" |
    curl -s -o "$tmp/login" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @- "http://$ip:5678/rest/login")
[ "$code" = 200 ] && [ "$(jq -r .data.email "$tmp/login")" = "$email" ] &&
    ok "n8n owner exists" || bad "n8n owner login: HTTP $code"

if smoke >"$tmp/s.txt" 2>&1 && grep -q '^ok   https-health ' "$tmp/s.txt" &&
    grep -q 'checks passed in [0-9]*ms (slowest check [0-9]*ms)' "$tmp/s.txt"; then
	ok "human report"
else bad "human report"; cat "$tmp/s.txt"; fi

before=$(ids)
if "$VPAI" -C "$site" apply --secrets "$secrets" >"$tmp/a2" 2>&1 &&
    grep -q 'nothing changed' "$tmp/a2" && [ "$(ids)" = "$before" ]; then
	ok "second apply: nothing changed"
else bad "second apply"; cat "$tmp/a2"; fi

docker stop "$(id_of qdrant)" >/dev/null
smoke >"$tmp/s2.txt" 2>&1
rc=$?
if [ "$rc" = 5 ] && grep -q '^FAIL qdrant-healthz ' "$tmp/s2.txt" &&
    grep -q "failed: 'qdrant-healthz'" "$tmp/s2.txt"; then
	ok "qdrant stopped: smoke exits 5 naming qdrant-healthz"
else bad "qdrant stopped: rc $rc"; cat "$tmp/s2.txt"; fi
grep -q '^ok   postgresql-ready ' "$tmp/s2.txt" || bad "other checks should still pass"

mon="alloy grafana loki victoriametrics"
echo "# edited by the operator" >>"$root/configs/loki/loki.yaml"
keep_pg=$(id_of postgresql)
echo "monitoring_enabled: false" >>"$site/vpai.yml"
"$VPAI" -C "$site" apply --secrets "$secrets" >"$tmp/a3" 2>"$tmp/a3.err"; rc=$?
left=
for s in $mon; do [ -n "$(id_of "$s")" ] && left="$left $s"; done
if [ "$rc" = 0 ] && [ -z "$left" ] &&
    [ "$(grep -c '^apply: removed container .*: no longer in the stack' "$tmp/a3")" = 4 ] &&
    [ "$(id_of postgresql)" = "$keep_pg" ] && [ "$(health_of qdrant)" = running/healthy ]; then
	ok "monitoring off: its 4 containers removed, the others kept"
else bad "monitoring off (rc $rc, left:$left)"; cat "$tmp/a3" "$tmp/a3.err"; fi
if [ ! -e "$root/configs/grafana/grafana.env" ] && [ ! -e "$root/configs/alloy" ] &&
    [ ! -e "$root/secrets/grafana/admin_password" ] &&
    grep -q "^apply: removed $root/configs/grafana/grafana.env: no longer in the stack" "$tmp/a3" &&
    [ -f "$root/configs/loki/loki.yaml" ] &&
    grep -q "warning: kept $root/configs/loki/loki.yaml: no longer in the stack but edited" "$tmp/a3.err" &&
    [ -d "$root/data/grafana" ] && [ -f "$root/configs/caddy/Caddyfile" ]; then
	ok "monitoring off: stale bundle files removed, the edited one kept, data kept"
else bad "stale files"; ls -R "$root/configs" "$root/secrets" | head -40; cat "$tmp/a3.err"; fi
if "$VPAI" -C "$site" apply --secrets "$secrets" >"$tmp/a4" 2>&1 &&
    grep -q 'nothing changed' "$tmp/a4"; then
	ok "monitoring off: the next apply changes nothing"
else bad "apply after monitoring off"; cat "$tmp/a4"; fi
exit $fail
