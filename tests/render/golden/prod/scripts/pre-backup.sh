#!/bin/bash
# The backup_* functions are called indirectly through run().
# shellcheck disable=SC2317
# pre-backup.sh for vpai (prod): generated file, do not edit.
#
# Runs from cron at 02:55, before the Zerobyte pull at 03:00.  Produces and
# verifies each artifact independently under BACKUP_DIR:
#   pg_dump/   pg_dump -Fc of every application database
#   redis/     RDB snapshot after a BGSAVE (waits for LASTSAVE to change)
#   qdrant/    full storage snapshot through the Qdrant snapshot API
#   n8n/       workflows + credentials (credentials stay encrypted)
#   grafana/   every dashboard as JSON through the Grafana API
#   configs/   tarball of configs/ and the compose file
# A failing step never stops the others.  Exit status is 0 only if every
# artifact was produced and verified; otherwise 1, and every failed artifact
# is named on stderr.  The heartbeat URL is pinged only when all passed.
# Local ("hot") retention: 3 days.
#
# Secrets come from SECRETS_ENV (mode 0600), never from the command line:
# PostgreSQL uses peer authentication inside the container (no password),
# redis-cli gets REDISCLI_AUTH through the environment, curl reads its
# credentials from a 0600 config file.
set -u
umask 077

DEFAULT_STACK_ROOT=/opt/vpai
DEFAULT_PROJECT=vpai
STACK_ROOT="${STACK_ROOT:-$DEFAULT_STACK_ROOT}"
PROJECT="${COMPOSE_PROJECT_NAME:-$DEFAULT_PROJECT}"
BACKUP_DIR="${BACKUP_DIR:-$STACK_ROOT/backups}"
SECRETS_ENV="${SECRETS_ENV:-$STACK_ROOT/secrets/pre-backup.env}"
HOT_DAYS=3
DATABASES="n8n openclaw litellm"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
WORK=""
FAILED=""

log() { printf '%s pre-backup: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
err() { printf '%s pre-backup: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

cleanup() { if [ -n "$WORK" ]; then rm -rf -- "$WORK"; fi; }
trap cleanup EXIT

# Container id of a compose service of this project (empty if not running).
ctr() {
	docker ps -q \
	    --filter "label=com.docker.compose.project=$PROJECT" \
	    --filter "label=com.docker.compose.service=$1" | head -n 1
}

# First IP address of a container (the host reaches the bridge networks).
ctr_ip() {
	docker inspect "$1" | jq -r '.[0].NetworkSettings.Networks[].IPAddress' |
	    grep -v '^$' | head -n 1
}

# Move a verified temporary file into place.
publish() { mv -f -- "$1" "$2" && log "ok: $2"; }

backup_postgres() {
	local c db tmp out rc=0
	c="$(ctr postgresql)"
	[ -n "$c" ] || { err "postgresql: container not running"; return 1; }
	mkdir -p "$BACKUP_DIR/pg_dump" || return 1
	for db in $DATABASES; do
		out="$BACKUP_DIR/pg_dump/$db-$STAMP.dump"
		tmp="$out.partial"
		if ! docker exec "$c" pg_dump -U postgres -Fc "$db" >"$tmp"; then
			err "postgresql: pg_dump of '$db' failed"; rm -f -- "$tmp"; rc=1; continue
		fi
		# Verify: custom-format magic and a readable table of contents.
		if [ "$(head -c 5 "$tmp")" != "PGDMP" ] ||
		    ! docker exec -i "$c" pg_restore --list >/dev/null <"$tmp"; then
			err "postgresql: dump of '$db' does not verify"; rm -f -- "$tmp"; rc=1; continue
		fi
		publish "$tmp" "$out" || rc=1
	done
	return "$rc"
}

backup_redis() {
	local c before now i out tmp
	c="$(ctr redis)"
	[ -n "$c" ] || { err "redis: container not running"; return 1; }
	[ -n "${REDIS_PASSWORD:-}" ] || { err "redis: REDIS_PASSWORD missing from $SECRETS_ENV"; return 1; }
	export REDISCLI_AUTH="$REDIS_PASSWORD"
	before="$(docker exec -e REDISCLI_AUTH "$c" redis-cli --no-auth-warning LASTSAVE)" ||
	    { err "redis: LASTSAVE failed"; return 1; }
	docker exec -e REDISCLI_AUTH "$c" redis-cli --no-auth-warning BGSAVE >/dev/null ||
	    { err "redis: BGSAVE failed"; return 1; }
	now="$before"
	for i in $(seq 1 120); do
		sleep 1
		now="$(docker exec -e REDISCLI_AUTH "$c" redis-cli --no-auth-warning LASTSAVE)" || now="$before"
		[ "$now" != "$before" ] && break
	done
	unset REDISCLI_AUTH
	[ "$now" != "$before" ] || { err "redis: BGSAVE did not complete within 120 s (after $i polls)"; return 1; }
	mkdir -p "$BACKUP_DIR/redis" || return 1
	out="$BACKUP_DIR/redis/dump-$STAMP.rdb"
	tmp="$out.partial"
	docker cp "$c:/data/dump.rdb" "$tmp" >/dev/null ||
	    { err "redis: cannot copy dump.rdb"; rm -f -- "$tmp"; return 1; }
	[ "$(head -c 5 "$tmp")" = "REDIS" ] ||
	    { err "redis: dump.rdb does not verify"; rm -f -- "$tmp"; return 1; }
	publish "$tmp" "$out"
}

# curl with credentials from a 0600 config file (never in argv).
curl_cfg() {
	local cfg="$1"; shift
	curl --config "$cfg" -fsS --max-time 300 "$@"
}

backup_qdrant() {
	local c ip cfg name out tmp
	c="$(ctr qdrant)"
	[ -n "$c" ] || { err "qdrant: container not running"; return 1; }
	[ -n "${QDRANT_API_KEY:-}" ] || { err "qdrant: QDRANT_API_KEY missing from $SECRETS_ENV"; return 1; }
	ip="$(ctr_ip "$c")"
	[ -n "$ip" ] || { err "qdrant: no container address"; return 1; }
	cfg="$WORK/qdrant.curl"
	printf 'header = "api-key: %s"\n' "$QDRANT_API_KEY" >"$cfg"
	name="$(curl_cfg "$cfg" -X POST "http://$ip:6333/snapshots?wait=true" | jq -r '.result.name // empty')"
	[ -n "$name" ] || { err "qdrant: snapshot creation failed"; return 1; }
	mkdir -p "$BACKUP_DIR/qdrant" || return 1
	out="$BACKUP_DIR/qdrant/$name"
	tmp="$out.partial"
	if ! curl_cfg "$cfg" -o "$tmp" "http://$ip:6333/snapshots/$name"; then
		err "qdrant: snapshot download failed"; rm -f -- "$tmp"; return 1
	fi
	# The server copy is no longer needed once downloaded.
	curl_cfg "$cfg" -X DELETE "http://$ip:6333/snapshots/$name" >/dev/null || true
	if [ ! -s "$tmp" ] || ! tar -tf "$tmp" >/dev/null 2>&1; then
		err "qdrant: snapshot does not verify"; rm -f -- "$tmp"; return 1
	fi
	publish "$tmp" "$out"
}

backup_n8n() {
	local c kind out tmp rc=0
	c="$(ctr n8n)"
	[ -n "$c" ] || { err "n8n: container not running"; return 1; }
	mkdir -p "$BACKUP_DIR/n8n" || return 1
	for kind in workflow credentials; do
		out="$BACKUP_DIR/n8n/$kind-$STAMP.json"
		tmp="$out.partial"
		# export:credentials without --decrypted: stays encrypted with
		# the n8n encryption key (kept in the vault).
		if ! docker exec "$c" n8n "export:$kind" --all --output="/tmp/pre-backup-$kind.json" >/dev/null ||
		    ! docker cp "$c:/tmp/pre-backup-$kind.json" "$tmp" >/dev/null; then
			err "n8n: export:$kind failed"; rm -f -- "$tmp"; rc=1; continue
		fi
		docker exec "$c" rm -f "/tmp/pre-backup-$kind.json" || true
		if ! jq -e 'type == "array"' "$tmp" >/dev/null; then
			err "n8n: export:$kind is not a JSON array"; rm -f -- "$tmp"; rc=1; continue
		fi
		publish "$tmp" "$out" || rc=1
	done
	return "$rc"
}

backup_grafana() {
	local c ip cfg dir uid n=0
	c="$(ctr grafana)"
	[ -n "$c" ] || { err "grafana: container not running"; return 1; }
	[ -n "${GRAFANA_ADMIN_PASSWORD:-}" ] || { err "grafana: GRAFANA_ADMIN_PASSWORD missing from $SECRETS_ENV"; return 1; }
	ip="$(ctr_ip "$c")"
	[ -n "$ip" ] || { err "grafana: no container address"; return 1; }
	cfg="$WORK/grafana.curl"
	printf 'user = "%s:%s"\n' "${GRAFANA_ADMIN_USER:-admin}" "$GRAFANA_ADMIN_PASSWORD" >"$cfg"
	dir="$BACKUP_DIR/grafana/$STAMP.partial"
	mkdir -p "$dir" || return 1
	if ! curl_cfg "$cfg" "http://$ip:3000/api/search?type=dash-db" >"$WORK/search.json" ||
	    ! jq -e 'type == "array"' "$WORK/search.json" >/dev/null; then
		err "grafana: dashboard search failed"; rm -rf -- "$dir"; return 1
	fi
	for uid in $(jq -r '.[].uid' "$WORK/search.json"); do
		if ! curl_cfg "$cfg" "http://$ip:3000/api/dashboards/uid/$uid" >"$dir/$uid.json" ||
		    ! jq -e '.dashboard' "$dir/$uid.json" >/dev/null; then
			err "grafana: export of dashboard '$uid' failed"; rm -rf -- "$dir"; return 1
		fi
		n=$((n + 1))
	done
	mv -f -- "$dir" "$BACKUP_DIR/grafana/$STAMP" && log "ok: grafana ($n dashboards)"
}

backup_configs() {
	local out tmp
	mkdir -p "$BACKUP_DIR/configs" || return 1
	out="$BACKUP_DIR/configs/configs-$STAMP.tar.gz"
	tmp="$out.partial"
	if ! tar -czf "$tmp" -C "$STACK_ROOT" configs docker-compose.yml; then
		err "configs: tar failed"; rm -f -- "$tmp"; return 1
	fi
	tar -tzf "$tmp" >/dev/null || { err "configs: tarball does not verify"; rm -f -- "$tmp"; return 1; }
	publish "$tmp" "$out"
}

prune_hot() {
	local sub
	for sub in pg_dump redis qdrant n8n grafana configs; do
		[ -d "$BACKUP_DIR/$sub" ] || continue
		find "$BACKUP_DIR/$sub" -mindepth 1 -maxdepth 1 -mtime +"$((HOT_DAYS - 1))" \
		    -exec rm -rf -- {} + || err "prune: $sub failed"
		find "$BACKUP_DIR/$sub" -mindepth 1 -maxdepth 1 -name '*.partial' \
		    -exec rm -rf -- {} + || true
	done
}

heartbeat() {
	[ -n "${HEARTBEAT_URL:-}" ] || return 0
	# URL (it carries a push token) through curl's config on stdin.
	printf 'url = "%s"\n' "$HEARTBEAT_URL" |
	    curl --config - -fsS --max-time 10 -o /dev/null ||
	    err "heartbeat: ping failed"
}

run() {
	local name="$1"; shift
	log "start: $name"
	if ! "$@"; then
		FAILED="$FAILED $name"
		err "FAILED: $name"
	fi
}

main() {
	local lock
	mkdir -p "$BACKUP_DIR" || { err "cannot create $BACKUP_DIR"; exit 1; }
	lock="$BACKUP_DIR/.pre-backup.lock"
	exec 9>"$lock"
	flock -n 9 || { err "another pre-backup is running"; exit 1; }
	WORK="$(mktemp -d)" || exit 1
	if [ -r "$SECRETS_ENV" ]; then
		# shellcheck disable=SC1090
		. "$SECRETS_ENV"
	else
		err "secrets file $SECRETS_ENV not readable"
	fi
	# The push URL carries a token: it lives in SECRETS_ENV, not here.
	HEARTBEAT_URL="${HEARTBEAT_URL:-${BACKUP_HEARTBEAT_URL:-}}"

	run postgresql backup_postgres
	run redis backup_redis
	run qdrant backup_qdrant
	run n8n backup_n8n
	run grafana backup_grafana
	run configs backup_configs
	prune_hot

	if [ -n "$FAILED" ]; then
		err "failed artifacts:$FAILED"
		exit 1
	fi
	log "all artifacts produced and verified"
	heartbeat
	exit 0
}

main "$@"
