#!/usr/bin/env bash
# t7200-dr-drills: the four scenarios of docs/DISASTER-RECOVERY.md, run for
# real on the default stack less its two stateless agents (10 services,
# local image set) with real PostgreSQL 15, Redis 7.0, Caddy, VictoriaMetrics,
# n8n 1.123 and restic.  Stand-ins (docs/IMAGES.md) for Qdrant, LiteLLM,
# OpenClaw, Grafana and Loki: their crash
# and restart are real (a real process, the real restart policy, state on the
# real volumes), their APIs are the stand-in's subset.
#
# Seed: 1000 rows in a table of each database (n8n, litellm, openclaw), 50
# Redis keys and a hash, an n8n workflow and credential (n8n CLI import), a
# Qdrant collection and, when the stand-in serves the points API, a point;
# then `vpai backup` (every artifact, restic off-site copy).
#   1. crash: SIGKILL to the main process (State.Pid) of every container at
#      once: each dies with 137 (docker events), comes back by its restart
#      policy, healthy (`vpai status --json`), with its data; a PostgreSQL
#      row committed just before the crash survives.
#   3. DB corruption: DROP TABLE in litellm, `vpai restore --only pg:litellm
#      --yes`: the table is back row for row, the other databases and Redis
#      (written after the backup) untouched.
#   2. host loss: every container and network of the project removed and the
#      stack root deleted; `vpai apply` on an empty root, then `vpai restore
#      --from <restic snapshot id> --yes`: every restored artifact equal to
#      the backup (row for row, key for key, workflow and credential, the
#      credential still decrypts, the owner logs in); Qdrant (the point)
#      and Grafana (the dashboard) included.
#   4. compromise: `vpai rotate-secrets --yes` (every secret it handles) and
#      `vpai apply`: each old PostgreSQL role password, the Redis password, the
#      Qdrant key, the LiteLLM master key (and the Grafana admin and n8n owner
#      passwords when rotated) refused, the new ones accepted, data intact,
#      n8n_encryption_key and restic_password unchanged, no secret printed,
#      and a backup with the new values passes.
# Drills run in the order 1, 3, 2, 4 so that 3 uses the local set and 2
# the off-site copy only.  Timings are printed ("time ...").
# Project vpai-test-dr-<pid>, subnets 172.23.11-14.x, Caddy on 127.0.0.1:23080/23443.
set -u
# shellcheck source=tests/lib/stack.sh
. "$VPAI_SOURCE_DIR/tests/lib/stack.sh"
# Alloy and DIUN (stateless agents: no data) are left out to keep the run
# short: DIUN's 60 s health interval alone costs a minute per recreation.
all="postgresql redis qdrant caddy n8n litellm openclaw grafana victoriametrics loki"
only=$(echo "$all" | tr ' ' ,)
nall=$(echo "$all" | wc -w)
# shellcheck disable=SC2086
stack_require $all
for t in restic redis-check-rdb curl jq; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
stack_setup dr 23.1 23080 23443
export RESTIC_REPOSITORY=$tmp/offsite/restic	# outside the stack root
T0=$SECONDS
tick() { tstart=$SECONDS; }
tock() { echo "time $1: $((SECONDS - tstart)) s"; }

# --- Probes of the data -----------------------------------------------------
qd() {	# qd METHOD PATH [BODY]: Qdrant API with the current key; prints code body
	local key
	key=$(sec qdrant_api_key)
	curl -s -o "$tmp/qd.out" -w '%{http_code}' -X "$1" -H @<(printf 'api-key: %s\n' "$key") \
	    -H 'Content-Type: application/json' ${3:+--data-binary "$3"} \
	    "http://$(ip_of qdrant):6333$2"
	echo " $(cat "$tmp/qd.out")"
}
n8n_login() {	# n8n_login PASSWORD: HTTP code of the owner's login
	printf '{"emailOrLdapLoginId":"owner-dr@example.org","password":"%s"}' "$1" |
	    curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
	    --data-binary @- "http://$(ip_of n8n):5678/rest/login"
}
# fp: one line per artifact, a fingerprint of its data; the values are
# checked (sane) before two fingerprints are compared, so that two equal
# error messages never pass for equal data.
fp() {
	local db keys i
	for db in n8n litellm openclaw; do
		echo "pg:$db $(pg -d "$db" -c "select count(*) || ' ' || md5(coalesce(string_agg(id || '=' || v, ',' order by id), '')) from dr_$db")"
	done
	keys=
	for i in $(seq 1 50); do keys="$keys dr:$i"; done
	# shellcheck disable=SC2086
	rc mget $keys >"$tmp/mget"
	echo "redis $(grep -c '^value-' "$tmp/mget")/50 $(md5sum <"$tmp/mget" | cut -c1-32) $(rc hgetall dr:h | tr '\n' ' ')"
	echo "n8n:workflow $(pg -d n8n -c "select string_agg(id || ':' || name, ',' order by id) from workflow_entity")"
	echo "n8n:credentials $(pg -d n8n -c "select string_agg(id || ':' || name || ':' || md5(data), ',' order by id) from credentials_entity")"
	echo "qdrant $(qd GET /collections/dr | jq -c '.result | {points_count, config}' 2>/dev/null)$(
	    [ "$qpoints" = 1 ] && qd GET /collections/dr/points/7200 | cut -d' ' -f2- | jq -c .result)"
	[ "$gdash" = 1 ] && echo "grafana $(curl -s -K <(printf 'user = "admin:%s"\n' "$(sec grafana_admin_password)") \
	    "http://$(ip_of grafana):3000/api/dashboards/uid/dr7200" | jq -c '.dashboard | {uid, title, version}')"
}
sane() {	# sane LINE: the seeded data is there
	case $1 in
	pg:*) echo "$1" | grep -Eq '^pg:[a-z0-9]+ 100[01] [0-9a-f]{32}$' ;;
	redis*) echo "$1" | grep -q '^redis 50/50 [0-9a-f]* a 1 b 2 $' ;;
	n8n:workflow*) echo "$1" | grep -q 't7200wf000000001:dr workflow' ;;
	n8n:credentials*) echo "$1" | grep -q 't7200cred0000001:dr credential:[0-9a-f]' ;;
	qdrant*) echo "$1" | grep -q '"points_count":[1-9].*"size":4' ||
	    { [ "$qpoints" = 0 ] && echo "$1" | grep -q '"points_count":0.*"size":4'; } ;;
	grafana*) echo "$1" | grep -q '"uid":"dr7200"' ;;
	*) return 1 ;;
	esac
}
# same A B NAMES...: the lines of these artifacts equal in fingerprints A
# and B, and sane.
same() {
	local a=$1 b=$2 n
	shift 2
	for n in "$@"; do
		if ! sane "$(grep "^$n " "$a")"; then
			echo "  $n: not the seeded data: $(grep "^$n " "$a" | cut -c1-200)"
			return 1
		fi
		if [ "$(grep "^$n " "$a")" != "$(grep "^$n " "$b")" ]; then
			echo "  $n: $(grep "^$n " "$a" | cut -c1-200) != $(grep "^$n " "$b" | cut -c1-200)"
			return 1
		fi
	done
}
# decrypts: the credential decrypts with the vault's n8n_encryption_key.
decrypts() {
	docker exec "$(id_of n8n)" sh -c 'n8n export:credentials --id=t7200cred0000001 \
	    --decrypted --output=/tmp/dr-c.json >/dev/null 2>&1 && cat /tmp/dr-c.json; rm -f /tmp/dr-c.json' |
	    jq -e '.[0].data.user == "u7200"' >/dev/null 2>&1
}

# --- Deploy and seed --------------------------------------------------------
tick
if stack_apply --only "$only" >"$tmp/a1" 2>&1 && [ "$(services | wc -l)" = "$nall" ] &&
    wait_healthy 5 $all; then
	ok "apply: $nall services healthy"
else bad "apply"; cat "$tmp/a1"; exit 1; fi
tock "apply ($nall services)"
tick
for db in n8n litellm openclaw; do
	pg -d "$db" -c "create table dr_$db(id int primary key, v text);
	    insert into dr_$db select i, md5('$db' || i) from generate_series(1, 1000) i"
done
{ for i in $(seq 1 50); do echo "SET dr:$i value-$i"; done
  echo "HSET dr:h a 1 b 2"; } | REDISCLI_AUTH=$(sec redis_password) \
    docker exec -i -e REDISCLI_AUTH "$(id_of redis)" redis-cli >/dev/null
cat >"$tmp/wf.json" <<'J'
[{"id":"t7200wf000000001","name":"dr workflow","active":false,"nodes":[{"parameters":{},"name":"Start","type":"n8n-nodes-base.manualTrigger","typeVersion":1,"position":[0,0],"id":"22222222-2222-4222-8222-222222222222"}],"connections":{},"settings":{}}]
J
cat >"$tmp/cred.json" <<'J'
[{"id":"t7200cred0000001","name":"dr credential","type":"httpBasicAuth","data":{"user":"u7200","password":"t7200-cred-secret"}}]
J
# Through stdin: no file to copy in and clean up as root.
docker exec -i "$(id_of n8n)" sh -c 'cat >/tmp/dr-wf.json' <"$tmp/wf.json"
docker exec -i "$(id_of n8n)" sh -c 'cat >/tmp/dr-cred.json' <"$tmp/cred.json"
docker exec "$(id_of n8n)" sh -c 'n8n import:workflow --input=/tmp/dr-wf.json &&
    n8n import:credentials --input=/tmp/dr-cred.json; r=$?; rm -f /tmp/dr-*.json; exit $r' \
    >"$tmp/imp" 2>&1 || { bad "n8n import"; cat "$tmp/imp"; }
qpoints=0 gdash=0 garts=
r=$(qd PUT /collections/dr '{"vectors":{"size":4,"distance":"Cosine"}}')
case $r in 200*) ;; *) bad "qdrant collection: $r" ;; esac
r=$(qd PUT '/collections/dr/points?wait=true' \
    '{"points":[{"id":7200,"vector":[0.1,0.2,0.3,0.4],"payload":{"drill":"t7200"}}]}')
case $r in
200*) qpoints=1 ;;
*) bad "qdrant point: $r" ;;
esac
r=$(printf '{"dashboard":{"uid":"dr7200","title":"dr drill","panels":[]},"overwrite":true}' |
    curl -s -o /dev/null -w '%{http_code}' -K <(printf 'user = "admin:%s"\n' "$(sec grafana_admin_password)") \
    -H 'Content-Type: application/json' --data-binary @- \
    "http://$(ip_of grafana):3000/api/dashboards/db")
if [ "$r" = 200 ]; then gdash=1 garts=grafana
else bad "grafana dashboard seed: HTTP $r"; fi
fp >"$tmp/fp.seed"
if same "$tmp/fp.seed" "$tmp/fp.seed" pg:n8n pg:litellm pg:openclaw redis n8n:workflow \
    n8n:credentials qdrant $garts; then
	ok "seeded: 3 x 1000 rows, 51 keys, workflow, credential, qdrant collection$(
	    [ $qpoints = 1 ] && echo ' and point')$([ $gdash = 1 ] && echo ', grafana dashboard')"
else bad "seed"; cat "$tmp/fp.seed" "$tmp/imp"; fi
tock "seed"

tick
if V backup >"$tmp/b1" 2>&1; then
	ok "backup: every artifact verified, restic copy"
else bad "backup"; cat "$tmp/b1"; fi
snap=$(sed -n 's/^restic snapshot \([0-9a-f]*\) .*/\1/p' "$tmp/b1")
[ -n "$snap" ] || bad "no restic snapshot id in the backup output"
tock "backup (all artifacts, verified, restic)"

# --- Drill 1: container crash -----------------------------------------------
tick
pg -d openclaw -c "insert into dr_openclaw values (1001, 'committed before the crash')"
rc set dr:late unsaved >/dev/null
fp >"$tmp/fp.before1"
declare -A restarts
# The engine keeps only its last 256 events: stream them from now on.
docker events --filter event=die --filter "label=com.docker.compose.project=$proj" \
    --format '{{index .Actor.Attributes "com.docker.compose.service"}} {{.Actor.Attributes.exitCode}}' \
    >"$tmp/deaths" &
evpid=$!
stack_on_exit 'kill $evpid 2>/dev/null'
sleep 0.5
for s in $all; do
	restarts[$s]=$(docker inspect -f '{{.RestartCount}}' "$(id_of "$s")")
	kill -9 "$(docker inspect -f '{{.State.Pid}}' "$(id_of "$s")")"
done
left=$all
back=
while [ -n "$left" ] && [ $((SECONDS - tstart)) -lt 240 ]; do
	nl=
	for s in $left; do
		if [ "$(docker inspect -f '{{.RestartCount}}' "$(id_of "$s")")" -gt "${restarts[$s]}" ] &&
		    ready "$s"; then
			back="$back $s:$((SECONDS - tstart))s"
		else nl="$nl $s"; fi
	done
	left=$nl
	[ -n "$left" ] && sleep 0.5
done
if [ -z "$left" ]; then ok "crash: all $nall back healthy by their restart policy:$back"
else bad "crash: not back:$left (back:$back)"; fi
kill $evpid 2>/dev/null
n=0
for s in $all; do grep -q "^$s 137$" "$tmp/deaths" && n=$((n + 1)); done
[ $n = "$nall" ] && ok "crash: each died of SIGKILL (exit 137), not a manual stop" ||
    { bad "crash: $n of $nall died with 137"; cat "$tmp/deaths"; }
if "$VPAI" -C "$site" status --json >"$tmp/st1" 2>&1 &&
    jq -e --argjson n "$nall" 'length == $n and all(.[]; .restarts >= 1 and .state == "running" and .health == "healthy")' \
    "$tmp/st1" >/dev/null; then
	ok "crash: vpai status: $nall running, healthy, restart counted"
else bad "crash: status"; cat "$tmp/st1"; fi
fp >"$tmp/fp.after1"
same "$tmp/fp.before1" "$tmp/fp.after1" pg:n8n pg:litellm pg:openclaw redis n8n:workflow \
    n8n:credentials qdrant $garts &&
    ok "crash: every artifact's data unchanged (the row committed just before included)" ||
    bad "crash: data changed"
[ "$(rc get dr:late)" = unsaved ] && late=kept || late=lost
echo "note redis: a key written after the last RDB save was $late by the crash (appendonly no)"
tock "drill 1 (crash of $nall containers, back healthy)"

# --- Drill 3: database corruption -------------------------------------------
tick
rc set dr:after-backup kept >/dev/null
pg -d n8n -c "insert into dr_n8n values (1001, 'written after the backup')"
fp >"$tmp/fp.before3"
pg -d litellm -c "drop table dr_litellm"
if V restore --only pg:litellm --yes >"$tmp/r3" 2>&1; then
	ok "corruption: restore --only pg:litellm"
else bad "corruption: restore"; cat "$tmp/r3"; fi
fp >"$tmp/fp.after3"
same "$tmp/fp.seed" "$tmp/fp.after3" pg:litellm &&
    ok "corruption: dr_litellm back, 1000 rows equal to the backup's" || bad "corruption: litellm"
same "$tmp/fp.before3" "$tmp/fp.after3" pg:n8n pg:openclaw redis n8n:workflow n8n:credentials qdrant &&
    [ "$(rc get dr:after-backup)" = kept ] &&
    ok "corruption: other databases, Redis and Qdrant untouched (writes after the backup kept)" ||
    bad "corruption: other data changed"
grep -q '^restored; the state before the restore is kept in .*-pre-restore$' "$tmp/r3" &&
    ok "corruption: safety set of the current state taken first" || bad "corruption: safety set"
wait_healthy 5 $all && ok "corruption: every service healthy" || bad "corruption: health"
tock "drill 3 (DROP TABLE, restore pg:litellm)"

# --- Drill 2: host loss -----------------------------------------------------
tick
stack_rm_containers
for _ in 1 2 3 4 5; do	# endpoints can linger a moment after rm -f
	docker network ls -q --filter "name=^${proj}_" | xargs -r docker network rm >/dev/null 2>&1 && break
	sleep 1
done
rm -rf "$root"
if [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$proj")" ] &&
    [ -z "$(docker network ls -q --filter "name=^${proj}_")" ] && [ ! -e "$root" ]; then
	ok "host loss: no container, no network, no stack root (site, vault, restic repo kept off the host)"
else bad "host loss: leftovers"; fi
tick2=$SECONDS
if stack_apply --only "$only" >"$tmp/a2" 2>&1 && wait_healthy 5 $all; then
	ok "host loss: apply on an empty stack root, $nall healthy"
else bad "host loss: apply"; cat "$tmp/a2"; fi
echo "time host loss apply: $((SECONDS - tick2)) s"
tick2=$SECONDS
if V restore --from "$snap" --yes >"$tmp/r2" 2>&1; then
	ok "host loss: restore --from $snap (restic) --yes"
else bad "host loss: restore"; cat "$tmp/r2"; fi
echo "time host loss restore: $((SECONDS - tick2)) s"
restored="pg:n8n pg:litellm pg:openclaw redis n8n:workflow n8n:credentials qdrant grafana"
for a in qdrant grafana; do
	grep -q "^  $a " "$tmp/r2" || { bad "host loss: $a not in the restore's list"; cat "$tmp/r2"; }
done
fp >"$tmp/fp.after2"
# shellcheck disable=SC2086
if same "$tmp/fp.seed" "$tmp/fp.after2" $restored; then
	ok "host loss: back as in the backup: $restored"
else bad "host loss: data differs"; cat "$tmp/r2"; fi
[ "$(pg -d openclaw -c 'select count(*) from dr_openclaw where id = 1001')" = 0 ] &&
    [ "$(pg -d n8n -c 'select count(*) from dr_n8n where id = 1001')" = 0 ] &&
    [ -z "$(rc get dr:after-backup)" ] && ok "host loss: recovery point is the backup (later writes gone, as expected)" ||
    bad "host loss: recovery point"
decrypts && ok "host loss: the credential decrypts (same n8n_encryption_key from the vault)" ||
    bad "host loss: credential does not decrypt"
[ "$(n8n_login "$(sec n8n_owner_password)")" = 200 ] && ok "host loss: n8n owner logs in" ||
    bad "host loss: owner login"
tick2=$SECONDS
if V apply --only "$only" >"$tmp/a3" 2>&1 && wait_healthy 5 $all; then
	ok "host loss: apply after the restore: $(tail -n 1 "$tmp/a3")"
else bad "host loss: apply after restore"; cat "$tmp/a3"; fi
echo "time host loss apply after restore: $((SECONDS - tick2)) s"
tock "drill 2 (host loss: apply + restore from restic)"
fp >"$tmp/fp.before4"

# --- Drill 4: compromise ----------------------------------------------------
tick
cp "$sec" "$tmp/sec.old"
if V rotate-secrets --yes >"$tmp/r4" 2>&1; then
	ok "compromise: rotate-secrets --yes"
else bad "compromise: rotate-secrets"; cat "$tmp/r4"; fi
echo "time compromise rotate-secrets: $((SECONDS - tstart)) s"
tick2=$SECONDS
if V apply --only "$only" >"$tmp/a4" 2>&1 && wait_healthy 5 $all; then
	ok "compromise: redeploy: $(tail -n 1 "$tmp/a4")"
else bad "compromise: redeploy"; cat "$tmp/a4"; fi
echo "time compromise redeploy: $((SECONDS - tick2)) s"
changed=
for n in $(sed -n "s/^\([a-z0-9_]*\): '.*/\1/p" "$tmp/sec.old"); do
	[ "$(sec "$n" "$tmp/sec.old")" != "$(sec "$n")" ] && changed="$changed $n"
done
echo "note rotated:$changed"
miss=
for n in postgresql_password n8n_db_password litellm_db_password openclaw_db_password \
    redis_password qdrant_api_key litellm_master_key openclaw_api_key; do
	case " $changed " in *" $n "*) ;; *) miss="$miss $n" ;; esac
done
[ -z "$miss" ] && ok "compromise: every rotatable secret has a new value" || bad "compromise: not rotated:$miss"
case " $changed " in *" n8n_encryption_key "*|*" restic_password "*)
	bad "compromise: n8n_encryption_key or restic_password changed" ;;
*) ok "compromise: n8n_encryption_key and restic_password kept" ;;
esac
leak=0
for n in $changed; do
	grep -qF -- "$(sec "$n" "$tmp/sec.old")" "$tmp/r4" "$tmp/a4" && leak=1
	grep -qF -- "$(sec "$n")" "$tmp/r4" "$tmp/a4" && leak=1
done
[ $leak = 0 ] && ok "compromise: no old or new secret in the output" || bad "compromise: a secret printed"
# psqlas ROLE DB PASSWORD: a TCP login with scram, prints 1 on success.
# pg_hba admits postgres from 127.0.0.1 and each app role from the
# backend subnet only: from the container's own backend address, the path
# the applications take.
psqlas() {
	local h=127.0.0.1
	[ "$1" = postgres ] || h=$(ip_of postgresql)
	PGPASSWORD=$3 docker exec -e PGPASSWORD "$(id_of postgresql)" \
	    psql -X -h "$h" -U "$1" -d "$2" -Atc 'select 1' 2>&1
}
refused=
accepted=
for x in postgres:postgres:postgresql_password n8n:n8n:n8n_db_password \
    litellm:litellm:litellm_db_password openclaw:openclaw:openclaw_db_password; do
	IFS=: read -r role db n <<<"$x"
	[ "$(psqlas "$role" "$db" "$(sec "$n" "$tmp/sec.old")")" != 1 ] && refused="$refused $role" ||
	    bad "compromise: old password of role $role still works"
	[ "$(psqlas "$role" "$db" "$(sec "$n")")" = 1 ] && accepted="$accepted $role" ||
	    bad "compromise: new password of role $role refused"
done
[ "$refused" = " postgres n8n litellm openclaw" ] && [ "$accepted" = "$refused" ] &&
    ok "compromise: PostgreSQL roles$refused: old password refused, new accepted"
REDISCLI_AUTH=$(sec redis_password "$tmp/sec.old") docker exec -e REDISCLI_AUTH "$(id_of redis)" \
    redis-cli get dr:1 2>&1 | grep -q 'WRONGPASS\|NOAUTH' &&
    [ "$(rc get dr:1)" = value-1 ] && ok "compromise: redis: old password refused, new accepted" ||
    bad "compromise: redis passwords"
old=$(sec qdrant_api_key "$tmp/sec.old")
code=$(curl -s -o /dev/null -w '%{http_code}' -H @<(printf 'api-key: %s\n' "$old") "http://$(ip_of qdrant):6333/collections")
case $code in 401|403) r=1 ;; *) r=0 ;; esac
[ $r = 1 ] && qd GET /collections | grep -q '^200 .*"dr"' &&
    ok "compromise: qdrant: old key refused ($code), new key lists the collection" ||
    bad "compromise: qdrant keys (old: $code)"
lm() { curl -s -o /dev/null -w '%{http_code}' -H @<(printf 'Authorization: Bearer %s\n' "$1") \
    "http://$(ip_of litellm):4000/v1/models"; }
[ "$(lm "$(sec litellm_master_key "$tmp/sec.old")")" = 401 ] && [ "$(lm "$(sec litellm_master_key)")" = 200 ] &&
    ok "compromise: litellm: old master key refused, new accepted" || bad "compromise: litellm master key"
case " $changed " in
*" grafana_admin_password "*)
	gf() { curl -s -o /dev/null -w '%{http_code}' -K <(printf 'user = "admin:%s"\n' "$1") "http://$(ip_of grafana):3000/api/user"; }
	[ "$(gf "$(sec grafana_admin_password "$tmp/sec.old")")" = 401 ] &&
	    [ "$(gf "$(sec grafana_admin_password)")" = 200 ] &&
	    ok "compromise: grafana admin: old password refused, new accepted" || bad "compromise: grafana admin" ;;
*) bad "compromise: grafana_admin_password not rotated" ;;
esac
case " $changed " in
*" n8n_owner_password "*)
	[ "$(n8n_login "$(sec n8n_owner_password "$tmp/sec.old")")" = 401 ] &&
	    [ "$(n8n_login "$(sec n8n_owner_password)")" = 200 ] &&
	    ok "compromise: n8n owner: old password refused, new accepted" || bad "compromise: n8n owner" ;;
*) bad "compromise: n8n_owner_password not rotated" ;;
esac
fp >"$tmp/fp.after4"
same "$tmp/fp.before4" "$tmp/fp.after4" pg:n8n pg:litellm pg:openclaw redis n8n:workflow \
    n8n:credentials qdrant $garts && decrypts &&
    ok "compromise: data intact, the credential still decrypts" || bad "compromise: data changed"
tick2=$SECONDS
if V backup >"$tmp/b4" 2>&1; then
	ok "compromise: a backup with the new secrets passes"
else bad "compromise: backup after rotation"; cat "$tmp/b4"; fi
echo "time compromise backup: $((SECONDS - tick2)) s"
tock "drill 4 (rotate every secret, redeploy, verify)"
echo "time total: $((SECONDS - T0)) s"
exit $fail
