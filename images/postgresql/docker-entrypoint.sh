#!/bin/bash
# The official postgres image's entrypoint contract, for Debian's
# PostgreSQL 15: on an empty PGDATA, initdb with the superuser password from
# POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD), create POSTGRES_DB, run
# /docker-entrypoint-initdb.d/*.sql, *.sql.gz and *.sh once, then exec
# postgres.  Meant to start directly as uid 999 with PGDATA pre-owned (so
# the container keeps cap_drop ALL); as root it drops to postgres with
# setpriv after fixing PGDATA's owner.
set -Eeo pipefail

log() {
	echo "entrypoint: $*" >&2
}

if [ "${1:0:1}" = - ]; then
	set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
	exec "$@"
fi
# postgres --version, --help, -C ...: no init needed.
for a in "$@"; do
	case $a in
	-'?' | --help | --describe-config | -C | --version | -V) exec "$@" ;;
	esac
done

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA"
	chown -R postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 0700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
	if [ -n "${POSTGRES_PASSWORD:-}" ]; then
		log "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set"
		exit 1
	fi
	if [ ! -r "$POSTGRES_PASSWORD_FILE" ]; then
		log "POSTGRES_PASSWORD_FILE '$POSTGRES_PASSWORD_FILE' is not readable by uid $(id -u)"
		exit 1
	fi
	POSTGRES_PASSWORD=$(<"$POSTGRES_PASSWORD_FILE")
fi
export POSTGRES_USER=${POSTGRES_USER:-postgres}
export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
		log "database is uninitialized and no superuser password is set:"
		log "set POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD)"
		exit 1
	fi
	if ! touch "$PGDATA/.vpai-write-test" 2>/dev/null; then
		log "PGDATA '$PGDATA' is not writable by uid $(id -u): pre-own the volume"
		exit 1
	fi
	rm -f "$PGDATA/.vpai-write-test"
	chmod 0700 "$PGDATA" 2>/dev/null || true
	log "initializing $PGDATA"
	# The password reaches initdb through a pipe, never argv or a file.
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a word list
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
		--encoding=UTF8 --locale=C.UTF-8 --auth-local=trust \
		--auth-host="$auth" -D "$PGDATA" ${POSTGRES_INITDB_ARGS:-} >&2
	sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$PGDATA/postgresql.conf"
	printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
	unset POSTGRES_PASSWORD

	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >&2
	psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ "$POSTGRES_DB" != postgres ]; then
		"${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db" ;
		EOSQL
	fi
	for f in /docker-entrypoint-initdb.d/*; do
		case $f in
		*.sh)
			log "running $f"
			# shellcheck disable=SC1090
			if [ -x "$f" ]; then "$f"; else . "$f"; fi
			;;
		*.sql)
			log "running $f"
			"${psql[@]}" --dbname "$POSTGRES_DB" -f "$f"
			;;
		*.sql.gz)
			log "running $f"
			gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB"
			;;
		*'/*') ;;
		*) log "ignoring $f" ;;
		esac
	done
	pg_ctl -D "$PGDATA" -m fast -w stop >&2
	log "init done; starting postgres"
fi
unset POSTGRES_PASSWORD
exec "$@"
