#!/bin/bash
# t2102-pre-backup: run the rendered scripts/pre-backup.sh against fake
# `docker` and `curl` commands (first in PATH) that emulate the stack's
# containers and HTTP APIs, and check its contract:
#   - all steps succeed: exit 0, one verified artifact per kind, heartbeat
#     pinged once;
#   - a step fails (a corrupt pg_dump, a Qdrant API down): the other steps
#     still run, exit 1, every failed artifact is named, no heartbeat;
#   - nothing running: every artifact named as failed;
#   - no secret ever appears in the argv of docker or curl (the fakes log
#     their argv) nor in the script's output;
#   - hot retention removes artifacts older than 3 days, keeps recent ones.
set -u

SRC="${VPAI_SOURCE_DIR:?VPAI_SOURCE_DIR not set}"
VPAI="${VPAI:?VPAI not set}"
SECRETS="$SRC/tests/fixtures/secrets/plain.yml"

T="$(mktemp -d /tmp/vpai-t2102.XXXXXX)"
trap 'rm -rf -- "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); printf 'ok - %s\n' "$1"; }
nok() {
	fail=$((fail + 1))
	printf 'not ok - %s\n' "$1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | head -n 20 | sed 's/^/    /'
	return 0
}
secret() { sed -n "s/^$1: '\(.*\)'\$/\1/p" "$SECRETS"; }

B="$T/bundle"
if ! "$VPAI" --site "$SRC/tests/fixtures/render/vpai.yml" render -o "$B" \
    --env prod --secrets "$SECRETS" >"$T/out" 2>&1; then
	nok "vpai render" "$(cat "$T/out")"
	printf '%d passed, %d failed\n' "$pass" "$fail"
	exit 1
fi
ok "vpai render"

# --- fakes --------------------------------------------------------------------
# FAKE_STATE: a directory; files in it switch behaviours:
#   down        no container runs (docker ps prints nothing)
#   bad-pgdump  pg_dump prints garbage
#   qdrant-down the Qdrant API answers 500
mkdir -p "$T/bin"
cat >"$T/bin/docker" <<'EOF'
#!/bin/bash
printf 'docker %s\n' "$*" >>"$FAKE_STATE/argv.log"
case "$1" in
ps)
	[ -e "$FAKE_STATE/down" ] && exit 0
	for a in "$@"; do
		case "$a" in label=com.docker.compose.service=*) echo "cid-${a##*=}";; esac
	done
	exit 0;;
inspect)
	printf '[{"NetworkSettings":{"Networks":{"backend":{"IPAddress":"10.9.9.9"}}}}]\n'
	exit 0;;
cp)
	src="$2" dst="$3"
	case "$src" in
	cid-redis:/data/dump.rdb) printf 'REDIS0011fake' >"$dst";;
	cid-n8n:/tmp/*.json) printf '[{"id":"1"}]\n' >"$dst";;
	*) exit 1;;
	esac
	exit 0;;
exec)
	shift
	while [ "${1#-}" != "$1" ]; do
		case "$1" in
		-e) [ "$2" = REDISCLI_AUTH ] && [ "${REDISCLI_AUTH:-}" = "$FAKE_REDIS_PW" ] &&
		    touch "$FAKE_STATE/redis-auth-ok"; shift 2;;
		*) shift;;
		esac
	done
	c="$1"; shift
	case "$c $1" in
	"cid-postgresql pg_dump")
		if [ -e "$FAKE_STATE/bad-pgdump" ]; then echo garbage; else printf 'PGDMPfake-%s' "${*: -1}"; fi;;
	"cid-postgresql pg_restore") [ "$(head -c 5)" = PGDMP ];;
	"cid-redis redis-cli")
		case "${*: -1}" in
		LASTSAVE) n=$(cat "$FAKE_STATE/lastsave" 2>/dev/null || echo 1000)
		    [ -e "$FAKE_STATE/bgsave" ] && n=$((n + 1)); echo "$n";;
		BGSAVE) touch "$FAKE_STATE/bgsave"; echo "Background saving started";;
		esac;;
	"cid-n8n n8n") exit 0;;
	"cid-n8n rm") exit 0;;
	*) exit 1;;
	esac;;
*) exit 1;;
esac
EOF
cat >"$T/bin/curl" <<'EOF'
#!/bin/bash
printf 'curl %s\n' "$*" >>"$FAKE_STATE/argv.log"
out=/dev/stdout method=GET url="" cfg=""
while [ $# -gt 0 ]; do
	case "$1" in
	--config|-K) cfg="$2"; shift 2;;
	-o) out="$2"; shift 2;;
	-X) method="$2"; shift 2;;
	--max-time|-m) shift 2;;
	-*) shift;;
	*) url="$1"; shift;;
	esac
done
if [ "$cfg" = - ]; then conf="$(cat)"; else conf="$(cat "$cfg")"; fi
case "$conf" in
*'url = '*) url="$(sed -n 's/^url = "\(.*\)"$/\1/p' <<<"$conf")";;
esac
case "$url" in
*:6333/*)
	[ -e "$FAKE_STATE/qdrant-down" ] && exit 22
	grep -qF "api-key: $FAKE_QDRANT_KEY" <<<"$conf" || exit 22
	case "$method" in
	POST) printf '{"result":{"name":"full-snap.snapshot"},"status":"ok"}\n' >"$out";;
	DELETE) printf '{"result":true}\n' >"$out";;
	GET) d="$(mktemp -d)"; echo x >"$d/segment"; tar -cf "$out" -C "$d" segment; rm -rf "$d";;
	esac;;
*:3000/api/search*)
	grep -qF "user = \"admin:$FAKE_GRAFANA_PW\"" <<<"$conf" || exit 22
	printf '[{"uid":"abc"},{"uid":"def"}]\n' >"$out";;
*:3000/api/dashboards/uid/*) printf '{"dashboard":{"uid":"x"}}\n' >"$out";;
*heartbeat*) echo "$url" >>"$FAKE_STATE/heartbeat";;
*) exit 22;;
esac
EOF
chmod +x "$T/bin/docker" "$T/bin/curl"

FAKE_REDIS_PW="$(secret redis_password)"
FAKE_QDRANT_KEY="$(secret qdrant_api_key)"
FAKE_GRAFANA_PW="$(secret grafana_admin_password)"
export FAKE_REDIS_PW FAKE_QDRANT_KEY FAKE_GRAFANA_PW

# A stack root with configs/ and docker-compose.yml for the configs step.
ROOT="$T/root"
mkdir -p "$ROOT"
cp -r "$B/configs" "$ROOT/"
: >"$ROOT/docker-compose.yml"

# run_pb NAME: run the script with a fresh state dir; sets RC, ST, BK.
run_pb() {
	ST="$T/state-$1" BK="$T/backups-$1"
	mkdir -p "$ST" "$BK"
	shift
	for f in "$@"; do touch "$ST/$f"; done
	PATH="$T/bin:$PATH" FAKE_STATE="$ST" STACK_ROOT="$ROOT" BACKUP_DIR="$BK" \
	    SECRETS_ENV="$B/secrets/pre-backup.env" \
	    HEARTBEAT_URL="https://uptime.invalid/api/push/heartbeat-token" \
	    bash "$B/scripts/pre-backup.sh" >"$ST/stdout" 2>"$ST/stderr"
	RC=$?
}

no_secret_leak() {
	local s f
	for s in redis_password qdrant_api_key grafana_admin_password postgresql_password; do
		for f in "$ST/argv.log" "$ST/stdout" "$ST/stderr"; do
			[ -e "$f" ] || continue
			if grep -qF -- "$(secret "$s")" "$f"; then
				nok "$1: $s leaked into ${f##*/}"; return
			fi
		done
	done
	if grep -qF 'heartbeat-token' "$ST/argv.log"; then
		nok "$1: heartbeat URL (push token) in curl argv"; return
	fi
	ok "$1: no secret in docker/curl argv or output"
}

# --- 1. everything succeeds ---------------------------------------------------
run_pb ok
if [ "$RC" = 0 ]; then ok "all ok: exit 0"; else nok "all ok: exit 0 (got $RC)" "$(cat "$ST/stderr")"; fi
n=0
for db in n8n openclaw litellm; do
	ls "$BK"/pg_dump/"$db"-*.dump >/dev/null 2>&1 && n=$((n + 1))
done
if [ "$n" = 3 ]; then ok "all ok: one pg_dump per database"; else nok "all ok: one pg_dump per database (got $n)"; fi
for g in 'redis/dump-*.rdb' 'qdrant/full-snap.snapshot' 'n8n/workflow-*.json' \
    'n8n/credentials-*.json' 'grafana/*/abc.json' 'grafana/*/def.json' \
    'configs/configs-*.tar.gz'; do
	# shellcheck disable=SC2086 # $g is a glob on purpose
	if ls $BK/$g >/dev/null 2>&1; then ok "all ok: $g"; else nok "all ok: $g"; fi
done
if [ -e "$ST/redis-auth-ok" ]; then ok "redis-cli got the password through REDISCLI_AUTH"; else nok "redis-cli got the password through REDISCLI_AUTH"; fi
if [ "$(grep -c . "$ST/heartbeat" 2>/dev/null)" = 1 ]; then ok "all ok: heartbeat pinged once"; else nok "all ok: heartbeat pinged once"; fi
if find "$BK" -name '*.partial' | grep -q .; then nok "all ok: no .partial left"; else ok "all ok: no .partial left"; fi
m="$(find "$BK" -type f -perm /077 | head -n 3)"
if [ -z "$m" ]; then ok "all ok: artifacts not group/other readable"; else nok "all ok: artifacts not group/other readable" "$m"; fi
no_secret_leak "all ok"

# --- 2. two steps fail, the others still run ---------------------------------
run_pb partial bad-pgdump qdrant-down
if [ "$RC" = 1 ]; then ok "partial: exit 1"; else nok "partial: exit 1 (got $RC)"; fi
if grep -q 'failed artifacts: postgresql qdrant$' "$ST/stderr"; then
	ok "partial: names exactly the failed artifacts"
else
	nok "partial: names exactly the failed artifacts" "$(cat "$ST/stderr")"
fi
if ls "$BK"/redis/dump-*.rdb "$BK"/configs/configs-*.tar.gz "$BK"/n8n/workflow-*.json >/dev/null 2>&1; then
	ok "partial: the other artifacts were produced"
else
	nok "partial: the other artifacts were produced"
fi
if ls "$BK"/pg_dump/*.dump >/dev/null 2>&1; then nok "partial: unverified dumps not kept"; else ok "partial: unverified dumps not kept"; fi
if [ -e "$ST/heartbeat" ]; then nok "partial: no heartbeat"; else ok "partial: no heartbeat"; fi
no_secret_leak "partial"

# --- 3. nothing running ---------------------------------------------------------
run_pb down down
if [ "$RC" = 1 ] && grep -q 'failed artifacts: postgresql redis qdrant n8n grafana$' "$ST/stderr"; then
	ok "down: every container artifact named, configs still saved"
else
	nok "down: every container artifact named, configs still saved" "$(cat "$ST/stderr")"
fi
if [ -e "$ST/heartbeat" ]; then nok "down: no heartbeat"; else ok "down: no heartbeat"; fi

# --- 4. hot retention (3 days) --------------------------------------------------
ST="$T/state-retention" BK="$T/backups-retention"
mkdir -p "$BK/pg_dump"
touch -d '4 days ago' "$BK/pg_dump/n8n-old.dump"
touch -d '1 day ago' "$BK/pg_dump/n8n-recent.dump"
run_pb retention
if [ ! -e "$BK/pg_dump/n8n-old.dump" ] && [ -e "$BK/pg_dump/n8n-recent.dump" ]; then
	ok "retention: >3 days removed, recent kept"
else
	nok "retention: >3 days removed, recent kept" "$(ls -l "$BK/pg_dump")"
fi

printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
