#!/bin/bash
# t2100-validate: render the default site (prod and preprod) with the real
# `vpai render` and validate every artifact with the real tool that will
# read it: caddy, jq, yamllint, sshd, shellcheck, apt-config, a real
# PostgreSQL 15 (initdb + the rendered postgresql.conf/pg_hba.conf + the init
# SQL) and a real redis-server with the rendered redis.conf.  The
# pre-backup script is exercised by t2102.
#
# Environment (set by ctest): VPAI, VPAI_SOURCE_DIR.  Needs root (initdb
# runs as the postgres user through runuser).
# shellcheck disable=SC2016 # awk programs are single-quoted on purpose
set -u

SRC="${VPAI_SOURCE_DIR:?VPAI_SOURCE_DIR not set}"
VPAI="${VPAI:?VPAI not set}"
SITE="$SRC/tests/fixtures/render/vpai.yml"
SITE_VPN="$SRC/tests/fixtures/render/routes-vpn-local.yml"
SECRETS="$SRC/tests/fixtures/secrets/plain.yml"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

T="$(mktemp -d /tmp/vpai-t2100.XXXXXX)"
chmod 0755 "$T"
export XDG_DATA_HOME="$T/xdg/data" XDG_CONFIG_HOME="$T/xdg/config"
PGDIRS=""
REDIS_PIDS=""
pass=0
fail=0

cleanup() {
	local d p
	for d in $PGDIRS; do
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$d/data" -m immediate \
		    stop >/dev/null 2>&1
	done
	for p in $REDIS_PIDS; do
		kill "$p" 2>/dev/null
	done
	rm -rf -- "$T"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); printf 'ok - %s\n' "$1"; }
nok() {
	fail=$((fail + 1))
	printf 'not ok - %s\n' "$1"
	[ -s "$T/out" ] && sed -n '1,25s/^/    /p' "$T/out"
	return 0
}
# check DESC CMD...: CMD must succeed.
check() {
	local d="$1"; shift
	if "$@" >"$T/out" 2>&1; then ok "$d"; else nok "$d"; fi
}
# expect DESC WANT GOT: exact string comparison.
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		printf 'want: %s\ngot:  %s\n' "$2" "$3" >"$T/out"
		nok "$1"
	fi
}
# contains DESC FILE REGEX / lacks DESC FILE REGEX
contains() { if grep -Eq -- "$3" "$2"; then ok "$1"; else : >"$T/out"; nok "$1: no /$3/ in $2"; fi; }
lacks() { if grep -Eq -- "$3" "$2"; then grep -En -- "$3" "$2" >"$T/out"; nok "$1"; else ok "$1"; fi; }

secret() { sed -n "s/^$1: '\(.*\)'\$/\1/p" "$SECRETS"; }

# Files every bundle must have (the templates helper's part of bundle.yml).
FILES="configs/caddy/Caddyfile configs/litellm/config.yaml
configs/litellm/litellm.env configs/n8n/n8n.env secrets/n8n/db_password
secrets/n8n/encryption_key configs/openclaw/openclaw.env
configs/postgresql/init.sql configs/postgresql/postgresql.conf
configs/postgresql/pg_hba.conf configs/redis/redis.conf
configs/qdrant/config.yaml configs/grafana/grafana.env
secrets/grafana/admin_password secrets/grafana/secret_key
configs/grafana/provisioning/datasources/vpai.yaml
configs/grafana/provisioning/dashboards/vpai.yaml
configs/victoriametrics/prometheus.yml configs/loki/loki.yaml
configs/alloy/config.alloy host/docker/daemon.json
host/ssh/sshd_config.d/vpai.conf host/fail2ban/jail.local host/ufw/rules
host/sysctl/99-vpai.conf host/apt/50unattended-upgrades
host/apt/20auto-upgrades host/audit/vpai.rules scripts/pre-backup.sh
secrets/pre-backup.env"

render() {
	local site="$1" env="$2" out="$3"
	"$VPAI" --site "$site" render -o "$out" --env "$env" --secrets "$SECRETS"
}

# --- sshd -t / -T on a minimal main config that includes the drop-in ------
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey" </dev/null >/dev/null
sshd_t() {
	local dropin="$1" cfg="$T/sshd_config"
	printf 'HostKey %s\nInclude %s\n' "$T/hostkey" "$dropin" >"$cfg"
	/usr/sbin/sshd -t -f "$cfg" && /usr/sbin/sshd -T -f "$cfg" >"$T/sshd-T"
}

# psql as the superuser, over the test server's socket.
PGD="" PGPORT=""
psql_su() { runuser -u postgres -- "$PGBIN/psql" -X -q -h "$PGD" -p "$PGPORT" -U postgres "$@"; }

# A loopback port nothing listens on, from a per-process starting point (other
# tests and docker-proxy publish ports in these ranges).
free_port() {
	local p=$1
	while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((p + 2))
	done
	echo "$p"
}

# --- PostgreSQL: real server with the rendered conf + init SQL --------------
pg_test() {
	local B="$1" env="$2" D port app out kv
	D="$T/pg-$env"
	[ "$env" = prod ] && port=$(free_port $((20000 + ($$ % 5000) * 2))) ||
	    port=$(free_port $((20001 + ($$ % 5000) * 2)))
	PGD="$D" PGPORT="$port"
	mkdir -p "$D"
	cp "$B/configs/postgresql/postgresql.conf" "$B/configs/postgresql/pg_hba.conf" \
	    "$B/configs/postgresql/init.sql" "$D/"
	chown -R postgres: "$D"
	if ! runuser -u postgres -- "$PGBIN/initdb" -D "$D/data" -U postgres \
	    -E UTF8 --locale=C.UTF-8 >"$T/out" 2>&1; then
		nok "$env: initdb"; return
	fi
	# The rendered values, read back by postgres itself (-C prints base
	# units: shared_buffers in 8 kB pages = 256MB/128MB, work_mem in kB).
	for kv in "listen_addresses=*" "password_encryption=scram-sha-256" \
	    "shared_buffers=$([ "$env" = prod ] && echo 32768 || echo 16384)" \
	    "work_mem=$([ "$env" = prod ] && echo 16384 || echo 8192)" \
	    "max_connections=$([ "$env" = prod ] && echo 100 || echo 50)"; do
		out="$(runuser -u postgres -- "$PGBIN/postgres" -D "$D/data" \
		    -c config_file="$D/postgresql.conf" -c hba_file="$D/pg_hba.conf" \
		    -C "${kv%%=*}" 2>&1)"
		expect "$env: postgres -C ${kv%%=*}" "${kv#*=}" "$out"
	done
	# Start it on loopback and a private socket dir (tests must not listen
	# on every address); everything else comes from the rendered files.
	if ! runuser -u postgres -- "$PGBIN/pg_ctl" -D "$D/data" -w -t 60 \
	    -l "$D/log" -o "-c config_file=$D/postgresql.conf \
	    -c hba_file=$D/pg_hba.conf -c data_directory=$D/data -c port=$port \
	    -c listen_addresses=127.0.0.1 -c unix_socket_directories=$D" \
	    start >"$T/out" 2>&1; then
		cat "$D/log" >>"$T/out"; nok "$env: postgres starts with the rendered conf"; return
	fi
	PGDIRS="$PGDIRS $D"
	ok "$env: postgres starts with the rendered conf"
	if psql_su -d postgres -v ON_ERROR_STOP=1 -f "$D/init.sql" >"$T/out" 2>&1; then
		ok "$env: init SQL runs"
	else
		nok "$env: init SQL runs"
	fi
	cp "$T/out" "$T/init1.out"
	if [ -e /usr/share/postgresql/15/extension/vector.control ]; then
		lacks "$env: vector installed without warning" "$T/init1.out" 'WARNING'
	else
		contains "$env: missing pgvector reported as a WARNING" "$T/init1.out" \
		    'WARNING: +extension "vector" \(pgvector\) is not available'
	fi
	check "$env: init SQL is idempotent (second run)" \
	    psql_su -d postgres -v ON_ERROR_STOP=1 -f "$D/init.sql"
	expect "$env: 3 databases owned by their app role" \
	    "litellm|litellm n8n|n8n openclaw|openclaw" \
	    "$(psql_su -At -d postgres -c "SELECT datname || '|' || pg_get_userbyid(datdba)
	        FROM pg_database WHERE datname IN ('n8n','openclaw','litellm')
	        ORDER BY 1" | tr '\n' ' ' | sed 's/ $//')"
	for app in n8n openclaw litellm; do
		expect "$env: $app owns schema public of its database" "$app" \
		    "$(psql_su -At -d "$app" -c "SELECT pg_get_userbyid(nspowner)
		        FROM pg_namespace WHERE nspname = 'public'")"
		expect "$env: uuid-ossp in $app" "uuid-ossp" \
		    "$(psql_su -At -d "$app" -c "SELECT extname FROM pg_extension
		        WHERE extname = 'uuid-ossp'")"
		check "$env: $app can CREATE TABLE in its public schema" \
		    psql_su -d "$app" -v ON_ERROR_STOP=1 -c "SET ROLE $app;
		        CREATE TABLE vpai_t (id uuid DEFAULT uuid_generate_v4());
		        INSERT INTO vpai_t DEFAULT VALUES; DROP TABLE vpai_t;"
		expect "$env: $app password stored as SCRAM" "t" \
		    "$(psql_su -At -d postgres -c "SELECT rolpassword LIKE 'SCRAM-SHA-256\$%'
		        FROM pg_authid WHERE rolname = '$app'")"
		# The password from the secrets file authenticates (scram over
		# the socket) ...
		printf '*:*:*:%s:%s\n' "$app" "$(secret "${app}_db_password")" >"$D/pgpass-$app"
		chown postgres: "$D/pgpass-$app"; chmod 0600 "$D/pgpass-$app"
		check "$env: $app logs in with its own password (scram)" \
		    runuser -u postgres -- env PGPASSFILE="$D/pgpass-$app" \
		    "$PGBIN/psql" -X -w -h "$D" -p "$port" -U "$app" -d "$app" -c 'SELECT 1'
		# ... but not from outside the backend subnet, nor into another
		# application's database.
		if runuser -u postgres -- env PGPASSFILE="$D/pgpass-$app" "$PGBIN/psql" \
		    -X -w -h 127.0.0.1 -p "$port" -U "$app" -d "$app" -c 'SELECT 1' \
		    >"$T/out" 2>&1; then
			nok "$env: $app refused over TCP from 127.0.0.1 (not the backend subnet)"
		elif grep -q 'no pg_hba.conf entry' "$T/out"; then
			ok "$env: $app refused over TCP from 127.0.0.1 (not the backend subnet)"
		else
			nok "$env: $app refused over TCP from 127.0.0.1 (not the backend subnet)"
		fi
	done
	expect "$env: n8n cannot connect to openclaw's database" "f" \
	    "$(psql_su -At -d postgres -c "SELECT has_database_privilege('n8n', 'openclaw', 'CONNECT')")"
	expect "$env: litellm cannot create in n8n's public schema" "f" \
	    "$(psql_su -At -d n8n -c "SELECT has_schema_privilege('litellm', 'public', 'CREATE')")"
}

# --- Redis: real server with the rendered redis.conf -----------------------
redis_test() {
	local B="$1" env="$2" D port pw pid rc got want before now cmd
	D="$T/redis-$env"
	[ "$env" = prod ] && port=$(free_port $((26000 + ($$ % 3000) * 2))) ||
	    port=$(free_port $((26001 + ($$ % 3000) * 2)))
	mkdir -p "$D"
	pw="$(secret redis_password)"
	# redis-server runs `dir` (a chdir) while reading the file, before any
	# command-line override, so /data is replaced in a copy; the other
	# overrides (port, loopback) go on the command line.
	contains "$env: redis dir is /data" "$B/configs/redis/redis.conf" '^dir /data$'
	sed "s#^dir /data\$#dir $D#" "$B/configs/redis/redis.conf" >"$D/redis.conf"
	if ! redis-server "$D/redis.conf" --port "$port" \
	    --bind 127.0.0.1 --daemonize yes --pidfile "$D/pid" \
	    --logfile "$D/log" >"$T/out" 2>&1; then
		nok "$env: redis-server starts with the rendered conf"; return
	fi
	for _ in $(seq 50); do [ -s "$D/pid" ] && break; sleep 0.1; done
	pid="$(cat "$D/pid" 2>/dev/null)"
	[ -n "$pid" ] && REDIS_PIDS="$REDIS_PIDS $pid"
	for _ in $(seq 50); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1
	done
	expect "$env: redis refuses PING before AUTH" "NOAUTH Authentication required." \
	    "$(redis-cli -p "$port" ping 2>&1)"
	expect "$env: redis refuses a wrong password" "t" \
	    "$(REDISCLI_AUTH=wrong redis-cli --no-auth-warning -p "$port" ping 2>&1 |
	        grep -q 'WRONGPASS\|invalid' && echo t)"
	expect "$env: redis answers PONG after AUTH" "PONG" \
	    "$(REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$port" ping 2>&1)"
	for cmd in FLUSHALL FLUSHDB "CONFIG GET maxmemory" "SWAPDB 0 1" "MODULE LIST" SHUTDOWN; do
		# $cmd is split on purpose (command + arguments).
		# shellcheck disable=SC2086
		got="$(REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$port" $cmd 2>&1)"
		case "$got" in
		NOPERM*) ok "$env: redis rejects $cmd (ACL)";;
		*) printf 'got: %s\n' "$got" >"$T/out"; nok "$env: redis rejects $cmd (ACL)";;
		esac
	done
	[ "$env" = prod ] && want=402653184 || want=201326592
	expect "$env: redis maxmemory" "$want" \
	    "$(REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$port" info memory |
	        sed -n 's/^maxmemory:\([0-9]*\).*/\1/p')"
	expect "$env: redis maxmemory-policy" "allkeys-lru" \
	    "$(REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$port" info memory |
	        sed -n 's/^maxmemory_policy:\([a-z-]*\).*/\1/p')"
	# What pre-backup.sh relies on: BGSAVE allowed, LASTSAVE moves.
	before="$(REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$port" lastsave)"
	sleep 1.1
	REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$port" set k v >/dev/null
	REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$port" bgsave >"$T/out" 2>&1
	rc=1
	for _ in $(seq 50); do
		now="$(REDISCLI_AUTH="$pw" redis-cli --no-auth-warning -p "$port" lastsave)"
		[ "$now" != "$before" ] && { rc=0; break; }
		sleep 0.1
	done
	if [ "$rc" = 0 ] && [ "$(head -c 5 "$D/dump.rdb" 2>/dev/null)" = REDIS ]; then
		ok "$env: redis BGSAVE allowed, LASTSAVE changes, dump.rdb written"
	else
		nok "$env: redis BGSAVE allowed, LASTSAVE changes, dump.rdb written"
	fi
	kill "$pid" 2>/dev/null
}

for env in prod preprod; do
	B="$T/$env"
	if ! render "$SITE" "$env" "$B" >"$T/out" 2>&1; then
		nok "$env: vpai render"
		continue
	fi
	ok "$env: vpai render"
	for f in $FILES; do
		[ -f "$B/$f" ] || { : >"$T/out"; nok "$env: $f rendered"; }
	done

	check "$env: caddy validate" caddy validate --adapter caddyfile \
	    --config "$B/configs/caddy/Caddyfile"
	while IFS= read -r f; do
		check "$env: jq ${f#"$B"/}" jq -e . "$f"
	done < <(find "$B" -name '*.json' | sort)
	while IFS= read -r f; do
		check "$env: yamllint ${f#"$B"/}" yamllint -d relaxed "$f"
	done < <(find "$B" \( -name '*.yml' -o -name '*.yaml' \) | sort)
	check "$env: sshd -t with the drop-in" sshd_t "$B/host/ssh/sshd_config.d/vpai.conf"
	for kv in "passwordauthentication no" "permitrootlogin no" "maxauthtries 3" \
	    "pubkeyauthentication yes" "x11forwarding no" "allowtcpforwarding no" \
	    "allowusers deploy" "port 804"; do
		contains "$env: sshd -T: $kv" "$T/sshd-T" "^$kv\$"
	done
	# vpn_verified is false in the default site: never bound to the VPN IP.
	contains "$env: sshd listens on every address (vpn not verified)" \
	    "$T/sshd-T" '^listenaddress 0\.0\.0\.0:804$'
	contains "$env: ufw allows SSH from anywhere (vpn not verified)" \
	    "$B/host/ufw/rules" '^allow 804/tcp$'
	check "$env: shellcheck pre-backup.sh" shellcheck "$B/scripts/pre-backup.sh"
	check "$env: bash -n pre-backup.sh" bash -n "$B/scripts/pre-backup.sh"
	for f in 50unattended-upgrades 20auto-upgrades; do
		check "$env: apt-config parses $f" apt-config -c "$B/host/apt/$f" dump
	done
	contains "$env: unattended-upgrades: security origin only" \
	    "$B/host/apt/50unattended-upgrades" 'label=Debian-Security";$'
	lacks "$env: unattended-upgrades: no non-security origin" \
	    "$B/host/apt/50unattended-upgrades" '^[[:space:]]*"origin=Debian,codename=\$\{distro_codename\}(-updates)?";'
	contains "$env: no automatic reboot" "$B/host/apt/50unattended-upgrades" \
	    'Automatic-Reboot "false"'
	check "$env: sysctl file grammar" awk '
	    /^[[:space:]]*(#|$)/ { next }
	    !/^[a-z0-9_.-]+ = [0-9]+$/ { print FILENAME ":" NR ": " $0; bad = 1 }
	    END { exit bad }' "$B/host/sysctl/99-vpai.conf"
	contains "$env: sysctl keeps ip_forward for Docker" \
	    "$B/host/sysctl/99-vpai.conf" '^net\.ipv4\.ip_forward = 1$'
	check "$env: ufw rules grammar" awk '
	    /^[[:space:]]*(#|$)/ { next }
	    /^default (incoming|outgoing|routed) (allow|deny|reject)$/ { next }
	    /^allow [0-9]+\/(tcp|udp)( from [0-9a-f.:]+\/[0-9]+)?$/ { next }
	    { print FILENAME ":" NR ": " $0; bad = 1 }
	    END { exit bad }' "$B/host/ufw/rules"
	check "$env: audit rules grammar" awk '
	    /^[[:space:]]*(#|$)/ { next }
	    /^-w \/[^ ]* -p [rwxa]+ -k [a-z-]+$/ { next }
	    /^-a always,exit( -F [a-z0-9]+(=|>=|!=)[a-z0-9]+| -S [a-z]+)+ -k [a-z-]+$/ { next }
	    { print FILENAME ":" NR ": " $0; bad = 1 }
	    END { exit bad }' "$B/host/audit/vpai.rules"
	if command -v fail2ban-client >/dev/null; then
		mkdir -p "$T/f2b-$env"
		cp -r /etc/fail2ban/. "$T/f2b-$env/"
		cp "$B/host/fail2ban/jail.local" "$T/f2b-$env/jail.local"
		check "$env: fail2ban-client -t" fail2ban-client -c "$T/f2b-$env" -t
	fi
	# Secrets: files holding one must not be group/other readable.
	for f in configs/litellm/config.yaml configs/litellm/litellm.env \
	    configs/openclaw/openclaw.env configs/postgresql/init.sql \
	    configs/redis/redis.conf configs/qdrant/config.yaml secrets/n8n/db_password \
	    secrets/n8n/encryption_key secrets/grafana/admin_password \
	    secrets/grafana/secret_key secrets/pre-backup.env \
	    host/ssh/sshd_config.d/vpai.conf; do
		m="$(stat -c %a "$B/$f" 2>/dev/null)"
		case "$m" in
		400|600) ok "$env: $f mode $m";;
		*) : >"$T/out"; nok "$env: $f mode '$m' (want 0400 or 0600)";;
		esac
	done
	# No secret value in a world-readable file.
	while IFS= read -r f; do
		for s in redis_password postgresql_password n8n_db_password \
		    n8n_encryption_key qdrant_api_key litellm_master_key \
		    grafana_admin_password openclaw_api_key; do
			if grep -qF -- "$(secret "$s")" "$f"; then
				: >"$T/out"; nok "$env: $s in world-readable ${f#"$B"/}"
			fi
		done
	done < <(find "$B" -type f -perm -o=r | sort)
	ok "$env: secret scan of world-readable files done"

	pg_test "$B" "$env"
	redis_test "$B" "$env"
done

# --- A site whose VPN is verified: SSH bound to the VPN address only --------
B="$T/vpn"
if render "$SITE_VPN" prod "$B" >"$T/out" 2>&1; then
	ok "vpn site: vpai render"
	check "vpn site: sshd -t with the drop-in" sshd_t "$B/host/ssh/sshd_config.d/vpai.conf"
	contains "vpn site: sshd listens on the VPN address only" "$T/sshd-T" \
	    '^listenaddress 127\.0\.0\.1:804$'
	lacks "vpn site: sshd not on 0.0.0.0" "$T/sshd-T" '^listenaddress 0\.0\.0\.0'
	contains "vpn site: ufw allows SSH from the VPN CIDR only" \
	    "$B/host/ufw/rules" '^allow 804/tcp from 127\.0\.0\.0/8$'
	lacks "vpn site: no SSH rule from anywhere" "$B/host/ufw/rules" '^allow 804/tcp$'
else
	nok "vpn site: vpai render"
fi

printf '%d passed, %d failed\n' "$pass" "$fail"
[ "$fail" -eq 0 ]
