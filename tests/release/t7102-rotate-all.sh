#!/usr/bin/env bash
# t7102-rotate-all: `vpai rotate-secrets` for the passwords that live in the
# services' own databases, then for every secret at once, on the real
# engine with PostgreSQL, Redis, the real n8n 1.123 and the Grafana
# stand-in (which enforces its admin password like Grafana: set on first
# boot only, then changed through PUT /api/user/password):
#   - --only grafana_admin_password,n8n_owner_password: Grafana's old admin
#     password is refused (401) and the new one works, also after a restart
#     of the container; the rendered secret file holds the new one; an
#     imported dashboard is still there; the n8n owner logs in with the new
#     password (same user id) and not with the old one;
#   - no --only: every generated rotatable secret gets a new value, the
#     non-rotatable and external ones are listed as skipped with the reason
#     and keep their values; PostgreSQL, Redis, Grafana and n8n take the new
#     values and refuse the old ones; a row, a key, the dashboard and the
#     owner account survive; all healthy;
#   - no secret (old or new) in the output or in any /proc/*/cmdline
#     (sampled in a loop during both rotations);
#   - a rotation whose apply fails (n8n's image tag made unresolvable) puts
#     Grafana's admin password back through the API: the current one works,
#     the file is unchanged.
# First, the stand-in APIs this relies on, on two bare containers: Grafana's
# admin password is taken from GF_SECURITY_ADMIN_PASSWORD__FILE on the first
# boot only (changed through PUT /api/admin/users/1/password, then the file
# changed and the container restarted: the API's value works, the file's is
# refused), dashboards import (POST /api/dashboards/db, 412 without
# overwrite); Qdrant points, snapshot upload (multipart field `snapshot`,
# checksum checked) and recover (file:// inside the snapshots directory
# only, http URL), all behind the api-key.
# Project vpai-test-rot-<pid>, subnets 172.21.x, no published ports.
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
probe=$VPAI_BUILD_DIR/vpai-probe
if ! docker info >/dev/null 2>&1 || ! command -v docker-compose >/dev/null; then
	echo "SKIP: no docker engine or docker-compose"; exit 77
fi
for img in vpai-local/postgresql:15 vpai-local/redis:7.0 vpai-local/n8n:1.123.81 \
    vpai-local/grafana-standin:1; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe
tmp=$(mktemp -d)
proj=vpai-test-rot-$$
fail=0
scanner=
t0=$(date +%s)
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
cleanup() {
	[ -n "$scanner" ] && kill "$scanner" 2>/dev/null
	docker ps -aq --filter "label=com.docker.compose.project=$proj" |
	    xargs -r docker rm -f >/dev/null 2>&1
	docker network ls -q --filter "name=^${proj}_" |
	    xargs -r docker network rm >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
id_of() {
	docker ps -aq --filter "label=com.docker.compose.project=$proj" \
	    --filter "label=com.docker.compose.service=$1"
}
health_of() {
	docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' \
	    "$(id_of "$1")" 2>/dev/null
}
ip_of() {
	docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' \
	    "$(id_of "$1")" | awk '{print $1}'
}
cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" | xargs sed -i 's/172\.20\./172.21./g'
export VPAI_STACK_DIR=$tmp/stack
root=$tmp/root
site=$tmp/site
mkdir -p "$site"
email=owner-t7102@example.org
printf 'project_name: %s\nstack_root: %s\nimage_set: local\nn8n_owner_email: %s\n' \
    "$proj" "$root" "$email" >"$site/vpai.yml"
sec=$tmp/secrets.yml
install -m 600 "$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml" "$sec"
val() { sed -n "s/^$1: '\(.*\)'/\1/p" "${2:-$sec}"; }

# Credentials never on a command line: curl reads them from stdin (-K -).
gf() {	# gf PASSWORD PATH [curl args]: HTTP status of a Grafana call as admin
	local p=$1 path=$2; shift 2
	printf 'user = "admin:%s"\n' "$p" |
	    curl -s -K - -o "$tmp/gf.out" -w '%{http_code}' "$@" "http://$(ip_of grafana):3000$path"
}
n8n_login() {	# n8n_login PASSWORD BUCKET: HTTP status; user id in $tmp/login
	# n8n rate-limits /rest/login per client (5 a minute); it trusts one
	# proxy hop, so each check comes from its own X-Forwarded-For.
	printf '{"emailOrLdapLoginId":"%s","password":"%s"}' "$email" "$1" |
	    curl -s -o "$tmp/login" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -H "X-Forwarded-For: 10.77.$2.$((RANDOM % 250 + 1))" \
	    --data-binary @- "http://$(ip_of n8n):5678/rest/login"
}
pgas() {	# pgas ROLE PASSWORD [DB]: a password login (postgres: over TCP,
	# its socket login is peer; the others: over the socket)
	local h=
	[ "$1" = postgres ] && h="-h 127.0.0.1"
	# shellcheck disable=SC2086
	PGPASSWORD=$2 docker exec -e PGPASSWORD "$(id_of postgresql)" \
	    psql -X $h -U "$1" -d "${3:-$1}" -Atc 'select 1' 2>&1
}
rcas() {	# rcas PASSWORD ARGS...
	local p=$1; shift
	REDISCLI_AUTH=$p docker exec -e REDISCLI_AUTH "$(id_of redis)" redis-cli "$@" 2>&1
}
scan_start() {
	(
		while :; do
			for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' <"$f" 2>/dev/null; echo; done
		done >"$tmp/argv.$1" 2>/dev/null
	) &
	scanner=$!
}
scan_stop() { kill "$scanner"; wait "$scanner" 2>/dev/null; scanner=; }
# no_leak OUTPUT ARGV VALUES...: none of the values in either file
no_leak() {
	local out=$1 argv=$2 v leak=0
	shift 2
	for v in "$@"; do
		[ -n "$v" ] || continue
		grep -qF -- "$v" "$out" && { bad "a secret in the output"; leak=1; }
		grep -qF -- "$v" "$argv" && { bad "a secret in a process argv"; leak=1; }
	done
	[ "$leak" = 0 ] && [ -s "$argv" ] &&
	    ok "no secret in output or argv ($(wc -l <"$argv") argv samples, $# values)"
}

# 0. The stand-ins, bare (no compose): grafana and qdrant.
sa() {	# sa NAME SERVICE ARGS...: a stand-in container of this test
	local n=$1 svc=$2
	shift 2
	docker run -d --name "$proj-$n" --label "com.docker.compose.project=$proj" \
	    --cap-drop ALL --security-opt no-new-privileges:true "$@" "vpai-local/$svc-standin:1" >/dev/null
}
sip() { docker inspect -f '{{.NetworkSettings.IPAddress}}' "$proj-$1"; }
up() {	# up NAME URL: until it answers (10 s)
	for _ in $(seq 40); do curl -s -o /dev/null "$2" && return 0; sleep 0.25; done
	return 1
}
sg() {	# sg PASSWORD URL [curl args]: status of a call as admin (stdin creds)
	local p=$1 u=$2; shift 2
	printf 'user = "admin:%s"\n' "$p" | curl -s -K - -o "$tmp/sg.out" -w '%{http_code}' "$@" "$u"
}
mkdir -p "$tmp/g/lib" "$tmp/g/sec" "$tmp/q/storage" "$tmp/q/snapshots"
printf 'first-boot-pw\n' >"$tmp/g/sec/admin_password"
chown -R 472:472 "$tmp/g"; chown -R 1000:1000 "$tmp/q"
sa g grafana --user 472:472 -e GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana/admin_password \
    -v "$tmp/g/sec:/run/secrets/grafana:ro" -v "$tmp/g/lib:/var/lib/grafana"
qkey=t7102-qdrant-key
sa q qdrant --user 1000:1000 -e QDRANT__SERVICE__API_KEY=$qkey \
    -v "$tmp/q/storage:/qdrant/storage" -v "$tmp/q/snapshots:/qdrant/snapshots"
g=http://$(sip g):3000 q=http://$(sip q):6333
if up g "$g/api/health" && up q "$q/healthz"; then
	[ "$(sg first-boot-pw "$g/api/user")" = 200 ] && [ "$(sg nope "$g/api/user")" = 401 ] &&
	    ok "grafana stand-in: first boot takes the __FILE password" || bad "grafana first boot"
	[ "$(sg first-boot-pw "$g/api/admin/users/1/password" -X PUT -H 'Content-Type: application/json' \
	    -d '{"password":"x"}')" = 400 ] && grep -q 'too short' "$tmp/sg.out" &&
	[ "$(sg first-boot-pw "$g/api/admin/users/1/password" -X PUT -H 'Content-Type: application/json' \
	    -d '{"password":"api-pw-2"}')" = 200 ] && [ "$(sg first-boot-pw "$g/api/user")" = 401 ] &&
	    [ "$(sg api-pw-2 "$g/api/user")" = 200 ] &&
	    ok "grafana stand-in: PUT /api/admin/users/1/password (short refused)" || bad "grafana admin password API"
	[ "$(sg api-pw-2 "$g/api/user/password" -X PUT -H 'Content-Type: application/json' \
	    -d '{"oldPassword":"wrong","newPassword":"api-pw-3","confirmNew":"api-pw-3"}')" = 401 ] &&
	    grep -q 'Invalid old password' "$tmp/sg.out" &&
	    [ "$(sg api-pw-2 "$g/api/user/password" -X PUT -H 'Content-Type: application/json' \
	    -d '{"oldPassword":"api-pw-2","newPassword":"api-pw-3","confirmNew":"api-pw-3"}')" = 200 ] &&
	    ok "grafana stand-in: PUT /api/user/password checks the old one" || bad "grafana user password API"
	printf 'file-pw-4\n' >"$tmp/g/sec/admin_password"
	docker restart "$proj-g" >/dev/null
	g=http://$(sip g):3000
	up g "$g/api/health"
	[ "$(sg api-pw-3 "$g/api/user")" = 200 ] && [ "$(sg file-pw-4 "$g/api/user")" = 401 ] &&
	    ok "grafana stand-in: later boots ignore the env/file password" || bad "grafana later boot"
	d='{"dashboard":{"uid":"t7102-d","title":"T 7102","panels":[]},"overwrite":false}'
	[ "$(sg api-pw-3 "$g/api/dashboards/db" -X POST -H 'Content-Type: application/json' -d "$d")" = 200 ] &&
	    [ "$(jq -r .status "$tmp/sg.out")" = success ] &&
	    [ "$(sg api-pw-3 "$g/api/dashboards/db" -X POST -H 'Content-Type: application/json' -d "$d")" = 412 ] &&
	    [ "$(sg api-pw-3 "$g/api/search")" = 200 ] && jq -e '.[] | select(.uid == "t7102-d")' "$tmp/sg.out" >/dev/null &&
	    [ "$(sg api-pw-3 "$g/api/dashboards/uid/t7102-d")" = 200 ] &&
	    [ "$(jq -r .meta.provisioned "$tmp/sg.out")" = false ] &&
	    ok "grafana stand-in: dashboard import, 412 without overwrite, searchable" || bad "grafana import"
	H="api-key: $qkey" J='Content-Type: application/json'
	curl -s -o /dev/null -H "$H" -H "$J" -X PUT -d '{"vectors":{"size":2,"distance":"Cosine"}}' "$q/collections/c1"
	curl -s -o /dev/null -H "$H" -H "$J" -X PUT \
	    -d '{"points":[{"id":7,"vector":[0.5,0.5],"payload":{"v":"kept"}}]}' "$q/collections/c1/points"
	snap=$(curl -s -H "$H" -X POST "$q/collections/c1/snapshots" | jq -r .result.name)
	curl -s -H "$H" -o "$tmp/c1.snap" "$q/collections/c1/snapshots/$snap"
	curl -s -o /dev/null -H "$H" -X DELETE "$q/collections/c1"
	sum=$(sha256sum "$tmp/c1.snap" | cut -c1-64)
	code=$(curl -s -o "$tmp/qu" -w '%{http_code}' -X POST -F "snapshot=@$tmp/c1.snap" "$q/collections/c1/snapshots/upload")
	[ "$code" = 401 ] && ok "qdrant stand-in: upload without the api-key is 401" || bad "upload without key: $code"
	code=$(curl -s -o "$tmp/qu" -w '%{http_code}' -H "$H" -X POST -F "snapshot=@$tmp/c1.snap" \
	    "$q/collections/c1/snapshots/upload?checksum=0000")
	[ "$code" = 400 ] && ok "qdrant stand-in: upload with a wrong checksum is refused" || bad "checksum: $code"
	[ "$(curl -s -H "$H" -X POST -F "snapshot=@$tmp/c1.snap" \
	    "$q/collections/c1/snapshots/upload?priority=snapshot&checksum=$sum" | jq -r .result)" = true ] &&
	    [ "$(curl -s -H "$H" "$q/collections/c1/points/7" | jq -r .result.payload.v)" = kept ] &&
	    ok "qdrant stand-in: upload recovers the collection and its point" || bad "upload recover"
	[ "$(curl -s -H "$H" -H "$J" -X PUT -d "{\"location\":\"file:///qdrant/snapshots/c1/$snap\"}" \
	    "$q/collections/c2/snapshots/recover" | jq -r .result)" = true ] &&
	    [ "$(curl -s -H "$H" -H "$J" -X POST -d '{}' "$q/collections/c2/points/count" | jq -r .result.count)" = 1 ] &&
	    ok "qdrant stand-in: recover from file:// into another collection" || bad "recover file"
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "$H" -H "$J" -X PUT -d '{"location":"file:///etc/passwd"}' \
	    "$q/collections/c3/snapshots/recover")" = 400 ] && ok "qdrant stand-in: file:// outside the snapshots dir refused" ||
	    bad "recover outside"
	[ "$(curl -s -H "$H" -H "$J" -X PUT \
	    -d "{\"location\":\"http://127.0.0.1:6333/collections/c1/snapshots/$snap\",\"api_key\":\"$qkey\"}" \
	    "$q/collections/c4/snapshots/recover" | jq -r .result)" = true ] &&
	    [ "$(curl -s -H "$H" -H "$J" -X POST -d '{"limit":10}' "$q/collections/c4/points/scroll" |
	    jq -r '.result.points[0].payload.v')" = kept ] &&
	    ok "qdrant stand-in: recover from an http URL" || bad "recover url"
else bad "stand-ins did not start: $(docker logs "$proj-g" 2>&1 | tail -3) $(docker logs "$proj-q" 2>&1 | tail -3)"; fi
docker rm -f "$proj-g" "$proj-q" >/dev/null 2>&1

apply1() { "$VPAI" -C "$site" apply --secrets "$sec" --only postgresql,redis,n8n,grafana; }
if { apply1 >"$tmp/a1" 2>&1 || { sleep 5; apply1 >>"$tmp/a1" 2>&1; }; } &&
    [ "$(health_of n8n)" = running/healthy ] && [ "$(health_of grafana)" = running/healthy ] &&
    grep -q "n8n owner $email created" "$tmp/a1"; then
	ok "apply: postgresql, redis, n8n (owner created), grafana healthy"
else bad "apply"; cat "$tmp/a1"; exit 1; fi

# Data to keep.
docker exec "$(id_of postgresql)" psql -U postgres -d n8n -Atc \
    "create table t7102(v text); insert into t7102 values ('kept')" >/dev/null 2>&1
rcas "$(val redis_password)" set t7102 kept >/dev/null
code=$(gf "$(val grafana_admin_password)" /api/dashboards/db -X POST -H 'Content-Type: application/json' \
    -d '{"dashboard":{"uid":"t7102","title":"Kept","panels":[]},"overwrite":false}')
[ "$code" = 200 ] && ok "grafana: dashboard imported through the API" || bad "import: HTTP $code"
[ "$(n8n_login "$(val n8n_owner_password)" 1)" = 200 ] && owner_id=$(jq -r .data.id "$tmp/login") &&
    [ -n "$owner_id" ] && [ "$owner_id" != null ] && ok "n8n owner logs in (id $owner_id)" ||
    bad "n8n owner login before rotation"
cp "$sec" "$tmp/sec.0"

echo "# setup: $(($(date +%s) - t0)) s"
# 1. The two passwords kept in the services' databases.
t1=$(date +%s)
scan_start 1
if "$VPAI" -C "$site" rotate-secrets --secrets "$sec" --yes \
    --only grafana_admin_password,n8n_owner_password >"$tmp/r1" 2>&1; then
	ok "rotate grafana_admin_password, n8n_owner_password"
else bad "rotate (1)"; cat "$tmp/r1"; fi
scan_stop
echo "# rotation 1: $(($(date +%s) - t1)) s"
og=$(val grafana_admin_password "$tmp/sec.0"); ng=$(val grafana_admin_password)
on=$(val n8n_owner_password "$tmp/sec.0"); nn=$(val n8n_owner_password)
[ -n "$ng" ] && [ "$ng" != "$og" ] && [ ${#ng} = 32 ] && [ -n "$nn" ] && [ "$nn" != "$on" ] &&
    ok "file has new values" || bad "file not updated"
grep -q 'grafana_admin_password.*changed in grafana; the new value works, the old one is refused' "$tmp/r1" &&
    grep -q 'n8n_owner_password.*changed in n8n' "$tmp/r1" && ok "output says both were verified" ||
    { bad "output"; cat "$tmp/r1"; }
no_leak "$tmp/r1" "$tmp/argv.1" "$og" "$ng" "$on" "$nn"
[ "$(gf "$ng" /api/user)" = 200 ] && ok "grafana: new admin password works" || bad "grafana new: $(cat "$tmp/gf.out")"
[ "$(gf "$og" /api/user)" = 401 ] && ok "grafana: old admin password refused" || bad "grafana old still works"
grep -qxF -- "$ng" "$root/secrets/grafana/admin_password" && ok "grafana's rendered password file holds the new one" ||
    bad "rendered admin_password"
docker restart "$(id_of grafana)" >/dev/null
for _ in $(seq 60); do [ "$(health_of grafana)" = running/healthy ] && break; sleep 1; done
[ "$(gf "$ng" /api/user)" = 200 ] && [ "$(gf "$og" /api/user)" = 401 ] &&
    ok "grafana restarted: new works, old refused (persisted in its data dir)" || bad "grafana after restart"
[ "$(gf "$ng" /api/dashboards/uid/t7102)" = 200 ] && [ "$(jq -r .dashboard.title "$tmp/gf.out")" = Kept ] &&
    ok "grafana: imported dashboard kept" || bad "dashboard lost"
[ "$(n8n_login "$nn" 2)" = 200 ] && [ "$(jq -r .data.id "$tmp/login")" = "$owner_id" ] &&
    ok "n8n: owner logs in with the new password (same account)" || bad "n8n new: $(cat "$tmp/login")"
[ "$(n8n_login "$on" 3)" = 401 ] && ok "n8n: old owner password refused" || bad "n8n old still works"
[ "$(health_of n8n)" = running/healthy ] && [ "$(health_of grafana)" = running/healthy ] &&
    ok "n8n and grafana healthy" || bad "health n8n $(health_of n8n) grafana $(health_of grafana)"

# 2. Every secret.
cp "$sec" "$tmp/sec.1"
scan_start 2
t2=$(date +%s)
if "$VPAI" -C "$site" rotate-secrets --secrets "$sec" --yes >"$tmp/r2" 2>&1; then
	ok "rotate-secrets (all)"
else bad "rotate (all)"; cat "$tmp/r2"; fi
scan_stop
echo "# rotation 2 (all): $(($(date +%s) - t2)) s"
rotated=0 same=0 olds=() news=()
for k in $(awk '/^secrets:/ { s = 1; next } s && /^  [a-z0-9_]+:$/ { sub(":", ""); print $1 }' \
    "$VPAI_SOURCE_DIR/stack/secrets.yml"); do
	kind=$(awk -v k="  $k:" '$0 == k { s = 1; next } s && /^    kind:/ { print $2; exit }' \
	    "$VPAI_SOURCE_DIR/stack/secrets.yml")
	pinned=$(awk -v k="  $k:" '$0 == k { s = 1; next } s && /^  [a-z]/ { exit } s && /rotatable: false/ { print 1 }' \
	    "$VPAI_SOURCE_DIR/stack/secrets.yml")
	a=$(val "$k" "$tmp/sec.1"); b=$(val "$k")
	if [ "$kind" = generated ] && [ -z "$pinned" ]; then
		if [ -n "$b" ] && [ "$a" != "$b" ] && grep -q "^rotate-secrets: $k " "$tmp/r2"; then
			rotated=$((rotated + 1)); olds+=("$a"); news+=("$b")
		else bad "$k not rotated"; fi
	else
		if [ "$a" = "$b" ] && grep -q "^rotate-secrets: skipped $k .*\(not rotatable\|external\)" "$tmp/r2"; then
			same=$((same + 1))
		else bad "$k changed or not listed as skipped"; fi
	fi
done
[ "$rotated" -ge 12 ] && [ "$same" -ge 10 ] && ok "$rotated generated secrets rotated; $same skipped with the reason, unchanged" ||
    bad "rotated $rotated, skipped $same"
grep -q "skipped n8n_encryption_key .*not rotatable: n8n encrypts" "$tmp/r2" &&
    grep -q "skipped anthropic_api_key .*external" "$tmp/r2" && ok "skip reasons shown" || bad "skip reasons"
no_leak "$tmp/r2" "$tmp/argv.2" "${olds[@]}" "${news[@]}"
unhealthy=
for s in postgresql redis n8n grafana; do
	[ "$(health_of $s)" = running/healthy ] || unhealthy="$unhealthy $s:$(health_of $s)"
done
[ -z "$unhealthy" ] && ok "postgresql, redis, n8n, grafana healthy" || bad "not healthy:$unhealthy"
[ "$(pgas n8n "$(val n8n_db_password)")" = 1 ] && [ "$(pgas n8n "$(val n8n_db_password "$tmp/sec.1")")" != 1 ] &&
    ok "postgresql role n8n: new works, old refused" || bad "role n8n"
[ "$(pgas postgres "$(val postgresql_password)" postgres)" = 1 ] &&
    [ "$(pgas postgres "$(val postgresql_password "$tmp/sec.1")" postgres)" != 1 ] &&
    ok "postgresql superuser: new works, old refused" || bad "role postgres"
[ "$(rcas "$(val redis_password)" get t7102)" = kept ] &&
    rcas "$(val redis_password "$tmp/sec.1")" get t7102 | grep -q 'WRONGPASS\|NOAUTH' &&
    ok "redis: new works, old refused, key kept" || bad "redis"
[ "$(docker exec "$(id_of postgresql)" psql -U postgres -d n8n -Atc 'select v from t7102' 2>&1)" = kept ] &&
    ok "postgresql row kept" || bad "row lost"
[ "$(gf "$(val grafana_admin_password)" /api/dashboards/uid/t7102)" = 200 ] &&
    [ "$(gf "$(val grafana_admin_password "$tmp/sec.1")" /api/user)" = 401 ] &&
    ok "grafana: new works, old refused, dashboard kept" || bad "grafana (all)"
[ "$(n8n_login "$(val n8n_owner_password)" 4)" = 200 ] && [ "$(jq -r .data.id "$tmp/login")" = "$owner_id" ] &&
    [ "$(n8n_login "$(val n8n_owner_password "$tmp/sec.1")" 5)" = 401 ] &&
    ok "n8n owner: new works, old refused, same account" || bad "n8n owner (all)"

# 3. A failed rotation puts Grafana's password back through the API.
cp "$sec" "$tmp/sec.2"
sed -i 's#^\(  n8n: \)vpai-local/n8n:.*#\1vpai-local/n8n:t7102-missing#' "$tmp/stack/versions.yml"
if ! "$VPAI" -C "$site" rotate-secrets --secrets "$sec" --yes --only grafana_admin_password \
    >"$tmp/r3" 2>&1 && grep -q 'rotation undone, the vault is unchanged' "$tmp/r3" &&
    cmp -s "$sec" "$tmp/sec.2"; then
	ok "failed rotation undone, file unchanged"
else bad "failed rotation"; cat "$tmp/r3"; fi
[ "$(gf "$(val grafana_admin_password)" /api/user)" = 200 ] && ok "grafana: the current password works again" ||
    bad "grafana after undo: $(cat "$tmp/gf.out")"
echo "# t7102: $(($(date +%s) - t0)) s"
[ "${VPAI_TEST_VERBOSE:-0}" = 1 ] && cat "$tmp/r1" "$tmp/r2" "$tmp/r3"
exit $fail
