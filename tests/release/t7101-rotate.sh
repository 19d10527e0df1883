#!/usr/bin/env bash
# t7101-rotate: `vpai rotate-secrets` on the real engine with the local
# PostgreSQL, Redis and n8n images:
#   - n8n_db_password and redis_password rotated live: the secrets file
#     (standing for the vault) gets new values of the same shapes; a psql
#     login as n8n works with the new password and fails with the old; n8n
#     is healthy again (it connects with the new one); Redis takes the new
#     password and refuses the old; a row and a key written before survive;
#   - no secret (old or new) in the output, nor in any process's argv
#     (/proc/*/cmdline sampled in a loop during the run);
#   - n8n_encryption_key is refused with the reason, an unknown name gets a
#     did-you-mean, the file unchanged both times;
#   - a rotation whose apply fails (n8n's image removed from the compose's
#     reach: its tag points nowhere) is undone: old role password still
#     works, file unchanged, services healthy on the old values.
# Project vpai-test-rollback-rot-<pid>, subnets 172.30.x, no published ports.
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
probe=$VPAI_BUILD_DIR/vpai-probe
if ! docker info >/dev/null 2>&1 || ! command -v docker-compose >/dev/null; then
	echo "SKIP: no docker engine or docker-compose"; exit 77
fi
for img in vpai-local/postgresql:15 vpai-local/redis:7.0 vpai-local/n8n:1.123.81; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe
tmp=$(mktemp -d)
proj=vpai-test-rollback-rot-$$
fail=0
scanner=
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
cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" | xargs sed -i 's/172\.20\./172.30./g'
export VPAI_STACK_DIR=$tmp/stack
root=$tmp/root
site=$tmp/site
mkdir -p "$site"
printf 'project_name: %s\nstack_root: %s\nimage_set: local\n' "$proj" "$root" \
    >"$site/vpai.yml"
sec=$tmp/secrets.yml
install -m 600 "$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml" "$sec"
val() { sed -n "s/^$1: '\(.*\)'/\1/p" "$sec"; }
pgas() {	# pgas ROLE PASSWORD: a login over the socket with a password
	PGPASSWORD=$2 docker exec -e PGPASSWORD "$(id_of postgresql)" \
	    psql -X -U "$1" -d "$1" -Atc 'select 1' 2>&1
}
rcas() {	# rcas PASSWORD ARGS...
	local p=$1; shift
	REDISCLI_AUTH=$p docker exec -e REDISCLI_AUTH "$(id_of redis)" redis-cli "$@" 2>&1
}

# The n8n owner provisioning can see HTTP 404 right after n8n's health
# check passes (deploy's issue, not rotation's): a second apply converges.
apply1() { "$VPAI" -C "$site" apply --secrets "$sec" --only postgresql,redis,n8n; }
if { apply1 >"$tmp/a1" 2>&1 || { sleep 5; apply1 >>"$tmp/a1" 2>&1; } ||
    { sleep 10; apply1 >>"$tmp/a1" 2>&1; }; } &&
    [ "$(health_of n8n)" = running/healthy ]; then
	ok "apply: postgresql, redis, n8n healthy"
else bad "apply"; cat "$tmp/a1"; exit 1; fi
old_pg=$(val n8n_db_password); old_rd=$(val redis_password)
docker exec "$(id_of postgresql)" psql -U postgres -d n8n -Atc \
    "create table t7101(v text); insert into t7101 values ('kept')" >/dev/null 2>&1
rcas "$old_rd" set t7101 kept >/dev/null
cp "$sec" "$tmp/sec.before"

# Refusals first: nothing changes.
if ! "$VPAI" -C "$site" rotate-secrets --secrets "$sec" --yes --only n8n_encryption_key \
    >"$tmp/r0" 2>&1 && grep -q "secret 'n8n_encryption_key' is not rotatable: n8n encrypts" "$tmp/r0" &&
    cmp -s "$sec" "$tmp/sec.before"; then
	ok "n8n_encryption_key refused with the reason"
else bad "n8n_encryption_key"; cat "$tmp/r0"; fi
if ! "$VPAI" -C "$site" rotate-secrets --secrets "$sec" --yes --only redis_pasword \
    >"$tmp/r1" 2>&1 && grep -q "unknown secret 'redis_pasword' (did you mean 'redis_password'?)" "$tmp/r1" &&
    cmp -s "$sec" "$tmp/sec.before"; then
	ok "unknown name: did-you-mean"
else bad "unknown name"; cat "$tmp/r1"; fi

# The rotation, with every argv sampled meanwhile.
(
	while :; do
		for f in /proc/[0-9]*/cmdline; do tr '\0' ' ' <"$f" 2>/dev/null; echo; done
	done >"$tmp/argv" 2>/dev/null
) &
scanner=$!
if "$VPAI" -C "$site" rotate-secrets --secrets "$sec" --yes \
    --only n8n_db_password,redis_password >"$tmp/r2" 2>&1; then
	ok "rotate n8n_db_password, redis_password"
else bad "rotate"; cat "$tmp/r2"; exit 1; fi
kill "$scanner"; wait "$scanner" 2>/dev/null; scanner=
new_pg=$(val n8n_db_password); new_rd=$(val redis_password)
[ -n "$new_pg" ] && [ "$new_pg" != "$old_pg" ] && [ ${#new_pg} = 40 ] &&
    [ -n "$new_rd" ] && [ "$new_rd" != "$old_rd" ] && ok "file has new values" ||
    bad "file not updated"
[ "$(stat -c %a "$sec")" = 600 ] && ok "file still 0600" || bad "mode $(stat -c %a "$sec")"
[ "$(val n8n_encryption_key)" = "$(sed -n "s/^n8n_encryption_key: '\(.*\)'/\1/p" "$tmp/sec.before")" ] &&
    ok "other secrets unchanged" || bad "n8n_encryption_key changed"
leak=0
for v in "$old_pg" "$new_pg" "$old_rd" "$new_rd"; do
	grep -qF -- "$v" "$tmp/r2" && { bad "a secret in the output"; leak=1; }
	grep -qF -- "$v" "$tmp/argv" && { bad "a secret in a process argv"; leak=1; }
done
[ "$leak" = 0 ] && [ -s "$tmp/argv" ] && ok "no secret in output or argv ($(wc -l <"$tmp/argv") argv samples)"
[ "$(pgas n8n "$new_pg")" = 1 ] && ok "psql login with the new password" ||
    bad "new password: $(pgas n8n "$new_pg")"
[ "$(pgas n8n "$old_pg")" != 1 ] && ok "old password refused" || bad "old password still works"
[ "$(health_of n8n)" = running/healthy ] && [ "$(health_of redis)" = running/healthy ] &&
    [ "$(health_of postgresql)" = running/healthy ] && ok "all healthy after rotation" ||
    bad "health n8n $(health_of n8n) redis $(health_of redis)"
docker exec "$(id_of n8n)" cat /run/secrets/n8n/db_password >"$tmp/n8npw" 2>/dev/null ||
    find "$root/secrets" -name 'db_password' -path '*n8n*' -exec cat {} \; >"$tmp/n8npw"
grep -qxF -- "$new_pg" "$tmp/n8npw" && ok "n8n reads the new db password" || bad "n8n db password file"
[ "$(rcas "$new_rd" get t7101)" = kept ] && ok "redis: new password works, key kept" ||
    bad "redis new: $(rcas "$new_rd" get t7101)"
rcas "$old_rd" get t7101 | grep -q 'WRONGPASS\|NOAUTH' && ok "redis: old password refused" ||
    bad "redis old: $(rcas "$old_rd" get t7101)"
[ "$(docker exec "$(id_of postgresql)" psql -U postgres -d n8n -Atc 'select v from t7101' 2>&1)" = kept ] &&
    ok "postgresql row kept" || bad "row lost"

# A failed rotation is undone: n8n's image reference made unresolvable.
cp "$sec" "$tmp/sec.mid"
sed -i 's#^\(  n8n: \)vpai-local/n8n:.*#\1vpai-local/n8n:t7101-missing#' "$tmp/stack/versions.yml"
if ! "$VPAI" -C "$site" rotate-secrets --secrets "$sec" --yes --only n8n_db_password \
    >"$tmp/r3" 2>&1 && grep -q 'rotation undone, the vault is unchanged' "$tmp/r3" &&
    cmp -s "$sec" "$tmp/sec.mid"; then
	ok "failed rotation undone, file unchanged"
else bad "failed rotation"; cat "$tmp/r3"; fi
[ "$(pgas n8n "$new_pg")" = 1 ] && ok "role password back to the current value" ||
    bad "role password after undo: $(pgas n8n "$new_pg")"
[ "$(health_of n8n)" = running/healthy ] && ok "n8n still healthy" || bad "n8n $(health_of n8n)"
exit $fail
