#!/usr/bin/env bash
# t4100: the local image set (images/build.sh, stack/images-local.yml).
# Builds what is missing (cached: a second run reuses every image), then
# runs each image the way the stack does -- cap_drop ALL, no-new-privileges,
# the upstream uid -- and checks it really works: PostgreSQL accepts a
# password connection after init and ran the init SQL, Redis answers PONG
# with a password, Caddy validates a Caddyfile and serves, n8n runs, every
# stand-in answers the endpoints the stack uses, and labels say which
# images are stand-ins.
set -uo pipefail

src=${VPAI_SOURCE_DIR:?VPAI_SOURCE_DIR not set}
build=${VPAI_BUILD_DIR:?VPAI_BUILD_DIR not set}
probe=${VPAI_PROBE:-$build/vpai-probe}
data=$src/stack/images-local.yml
pfx=vpai-test-images-$$
tmp=$(mktemp -d /tmp/t4100.XXXXXX)
chmod 0755 "$tmp"
fails=0
n=0

if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
	echo "# SKIP: docker is not available"
	exit 0
fi

cleanup() {
	docker ps -aq --filter "name=^$pfx-" | xargs -r docker rm -f >/dev/null 2>&1
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
check() {	# check DESCRIPTION COMMAND...
	local d=$1
	shift
	if "$@" >"$tmp/last" 2>&1; then ok "$d"; else notok "$d: $(tail -5 "$tmp/last")"; fi
}

# field SERVICE KEY: a value from stack/images-local.yml
field() {
	awk -v s="$1" -v k="$2" '
	/^  [a-z0-9-]+:[ \t]*$/ { cur = $1; sub(":", "", cur); next }
	cur == s && $1 == k ":" { v = $0; sub(/^ +[a-z]+:[ \t]*/, "", v); gsub(/"/, "", v); print v; exit }
	' "$data"
}
services=$(awk '/^  [a-z0-9-]+:[ \t]*$/ { s = $1; sub(":", "", s); print s }' "$data")
img() { field "$1" image; }

# Run a container the way the stack does.  run NAME SERVICE [docker args] -- [cmd]
run() {
	local name=$1 svc=$2
	shift 2
	local args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	[ "${1:-}" = -- ] && shift
	docker run -d --name "$pfx-$name" --cap-drop ALL \
		--security-opt no-new-privileges:true --user "$(field "$svc" user)" \
		-v "$probe:/vpai/probe:ro" "${args[@]}" "$(img "$svc")" "$@" >/dev/null
}
ip() {
	docker inspect -f '{{.NetworkSettings.IPAddress}}' "$pfx-$1"
}
# wait_http NAME URL: until the probe inside says healthy (30 s)
wait_probe() {
	local name=$1 i
	shift
	for i in $(seq 1 120); do
		if docker exec "$pfx-$name" /vpai/probe "$@" --timeout-ms 500 >"$tmp/probe" 2>&1; then
			return 0
		fi
		if [ "$(docker inspect -f '{{.State.Running}}' "$pfx-$name" 2>/dev/null)" != true ]; then
			echo "container exited: $(docker logs --tail 5 "$pfx-$name" 2>&1)" >"$tmp/probe"
			return 1
		fi
		[ "$i" = 120 ] && break
		sleep 0.25
	done
	return 1
}
# status CODE URL [curl args]: the HTTP status is CODE
status() {
	local want=$1 url=$2 got
	shift 2
	got=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 5 "$@" "$url")
	if [ "$got" = "$want" ]; then return 0; fi
	echo "GET $url: HTTP $got, expected $want: $(head -c 300 "$tmp/body")"
	return 1
}

if [ ! -x "$probe" ]; then
	echo "not ok 1 - $probe missing: build the vpai-probe target first"
	exit 1
fi

# -- build or reuse --------------------------------------------------------
t0=$(date +%s)
if bash "$src/images/build.sh" >"$tmp/build.log" 2>&1; then
	ok "images/build.sh: $(tail -1 "$tmp/build.log")"
else
	notok "images/build.sh failed: $(tail -15 "$tmp/build.log")"
	echo "$((n - fails)) passed, $fails failed"
	exit 1
fi
echo "# build or reuse took $(($(date +%s) - t0)) s"
t0=$(date +%s)
bash "$src/images/build.sh" >"$tmp/build2.log" 2>&1
if grep -q "0 built" "$tmp/build2.log"; then
	ok "second build.sh run reuses every image ($(($(date +%s) - t0)) s)"
else
	notok "second build.sh run rebuilt something: $(cat "$tmp/build2.log")"
fi
check "build.sh rejects an unknown service" \
	bash -c "! bash '$src/images/build.sh' nosuch 2>&1 | grep -q . || bash '$src/images/build.sh' nosuch 2>&1 | grep -q \"unknown service 'nosuch'\""

check "build.sh --if-unreachable names the image set to deploy" bash -c \
	"bash '$src/images/build.sh' --if-unreachable base | head -1 | grep -Eq '^image_set: (local|upstream) '"

# The cache is keyed by inputs: an image whose table line or build files
# changed is rebuilt, others kept.  On private tags, table and cache; the
# base comes from the cached rootfs tarball (no debootstrap) when there is
# one.
t="$pfx/diun-standin:1"
tb="$pfx/debian:bookworm"
{
	printf 'images:\n  base:\n    image: %s\n    build: base\n    standin: false\n' "$tb"
	printf '    upstream: debian:bookworm-slim\n    user: "0:0"\n'
	printf '  diun:\n    image: %s\n    build: standin\n    standin: true\n' "$t"
	printf '    upstream: crazymax/diun:4.29.0\n    user: "0:0"\n'
} >"$tmp/table.yml"
mkdir -p "$tmp/cache"
rootfs=${VPAI_IMAGES_CACHE:-/var/cache/vpai-images}/debian-bookworm-minbase.tar.gz
[ -s "$rootfs" ] && ln -s "$rootfs" "$tmp/cache/debian-bookworm-minbase.tar.gz"
b() { VPAI_IMAGES_DATA=$tmp/table.yml VPAI_IMAGES_CACHE=$tmp/cache bash "$src/images/build.sh" "$@"; }
if b diun >"$tmp/b1" 2>&1 && b diun >"$tmp/b2" 2>&1; then
	if [ -L "$tmp/cache/debian-bookworm-minbase.tar.gz" ]; then
		check "base: re-imported from the cached rootfs tarball" grep -q "reusing cached rootfs" "$tmp/b1"
	fi
	check "base built first, then the image FROM it" bash -c \
		"grep -q '\[1/2\] base: building $tb' $tmp/b1 && grep -q '\[2/2\] diun: building' $tmp/b1"
	check "cache: an unchanged image is kept" grep -q "diun: $t exists, kept" "$tmp/b2"
	sed -i 's/crazymax\/diun:4.29.0/crazymax\/diun:9.9.9/' "$tmp/table.yml"
	b diun >"$tmp/b3" 2>&1
	check "cache: a changed table line rebuilds the image" grep -q "inputs changed" "$tmp/b3"
	check "cache: the rebuilt image has the new label" test \
		"$(docker image inspect -f '{{index .Config.Labels "org.vpai.upstream"}}' "$t")" = crazymax/diun:9.9.9
	b --rebuild diun >"$tmp/b4" 2>&1
	check "cache: --rebuild rebuilds" grep -q "diun: building" "$tmp/b4"
else
	notok "build on a private table failed: $(tail -5 "$tmp/b1" "$tmp/b2")"
fi
docker rmi -f "$t" >/dev/null 2>&1
docker rmi -f "$tb" >/dev/null 2>&1

# -- labels and names: what is real, what is a stand-in ----------------------
allowed_standins=" qdrant litellm grafana loki alloy diun openclaw "
for s in $services; do
	image=$(img "$s")
	standin=$(field "$s" standin)
	label=$(docker image inspect -f '{{index .Config.Labels "org.vpai.standin"}}' "$image" 2>/dev/null)
	up=$(docker image inspect -f '{{index .Config.Labels "org.vpai.upstream"}}' "$image" 2>/dev/null)
	if [ "$label" != "$standin" ] || [ "$up" != "$(field "$s" upstream)" ]; then
		notok "$s: labels standin='$label' upstream='$up' do not match $data"
		continue
	fi
	if [ "$standin" = true ]; then
		case $allowed_standins in
		*" $s "*) ;;
		*) notok "$s may not be a stand-in" && continue ;;
		esac
		case $image in
		*standin*) ok "$s: $image is a stand-in, named and labelled so" ;;
		*) notok "$s: stand-in image '$image' does not say so in its name" ;;
		esac
	else
		case $image in
		*standin*) notok "$s: real image named stand-in" ;;
		*) ok "$s: $image is real (org.vpai.standin=false)" ;;
		esac
	fi
	want_user=$(field "$s" user)
	got_user=$(docker image inspect -f '{{.Config.User}}' "$image")
	if [ "$want_user" != "0:0" ] && [ "$got_user" != "$want_user" ]; then
		notok "$s: image user '$got_user', expected '$want_user'"
	fi
done
# stack/versions.yml's local set deploys exactly these images, each in
# place of the upstream image this table names.
versions=$src/stack/versions.yml
if [ -f "$versions" ]; then
	vset() {	# vset SET KEY
		awk -v set="$1" -v k="$2" '
		/^[a-z]+:/ { cur = $1; sub(":", "", cur); next }
		cur == set && $1 == k ":" { print $2; exit }' "$versions"
	}
	bad=
	for k in $(awk '/^local:/ { on = 1; next } /^[a-z]/ { on = 0 } on && /^  [a-z]/ { sub(":", "", $1); print $1 }' "$versions"); do
		[ "$(vset local "$k")" = "$(img "$k")" ] || bad="$bad $k:local=$(vset local "$k")!=$(img "$k")"
		[ "$(vset upstream "$k")" = "$(field "$k" upstream)" ] || bad="$bad $k:upstream=$(vset upstream "$k")!=$(field "$k" upstream)"
	done
	if [ -z "$bad" ]; then ok "stack/versions.yml local set = images-local.yml, same upstream refs"; else notok "versions.yml vs images-local.yml:$bad"; fi
else
	echo "# stack/versions.yml not present: set comparison skipped"
fi
check "postgresql image says it lacks pgvector" \
	test "$(docker image inspect -f '{{index .Config.Labels "org.vpai.lacks"}}' "$(img postgresql)")" = pgvector

# The real images carry the real programs.
check "real postgres 15" bash -c "docker run --rm $(img postgresql) postgres --version | grep -q 'PostgreSQL) 15'"
check "real redis-server 7" bash -c "docker run --rm $(img redis) redis-server --version | grep -q 'v=7'"
check "real caddy 2.6" bash -c "docker run --rm $(img caddy) caddy version | grep -Eq '^v?2\.6\.'"
check "real victoria-metrics" bash -c "docker run --rm $(img victoriametrics) -help 2>&1 | grep -q 'victoria-metrics is a time series database'"
check "real node_exporter" bash -c "docker run --rm $(img node-exporter) --version 2>&1 | grep -q 'node_exporter, version 1.5'"
check "real restic" bash -c "docker run --rm $(img restic) version | grep -q 'restic 0.14'"
check "real n8n --version under cap_drop ALL" bash -c \
	"docker run --rm --cap-drop ALL --security-opt no-new-privileges:true $(img n8n) --version | grep -qx '1.123.81'"

# -- postgresql: init as uid 999 on a pre-owned volume, cap_drop ALL ---------
pw="pg-$$-$RANDOM-secret"
mkdir -p "$tmp/pg/data" "$tmp/pg/secrets" "$tmp/pg/init"
printf '%s\n' "$pw" >"$tmp/pg/secrets/pw"
chmod 0400 "$tmp/pg/secrets/pw"
cat >"$tmp/pg/init/10-app.sql" <<'EOF'
CREATE TABLE marker (v text);
INSERT INTO marker VALUES ('init-ran');
EOF
chown -R 999:999 "$tmp/pg"
chmod 0700 "$tmp/pg/data"
run pg postgresql -e POSTGRES_PASSWORD_FILE=/run/secrets/pg/pw -e POSTGRES_DB=appdb \
	-v "$tmp/pg/data:/var/lib/postgresql/data" -v "$tmp/pg/secrets:/run/secrets/pg:ro" \
	-v "$tmp/pg/init:/docker-entrypoint-initdb.d:ro"
pgok=0
for _ in $(seq 1 120); do
	if docker exec "$pfx-pg" pg_isready -h 127.0.0.1 -q 2>/dev/null &&
		docker logs "$pfx-pg" 2>&1 | grep -q "init done"; then
		pgok=1
		break
	fi
	sleep 0.25
done
if [ "$pgok" = 1 ]; then
	ok "postgresql: initialized and ready as uid 999 with cap_drop ALL"
	pip=$(ip pg)
	check "postgresql: password login over TCP, init SQL ran" bash -c \
		"PGPASSWORD='$pw' psql -h $pip -U postgres -d appdb -Atc 'select v from marker' | grep -qx init-ran"
	check "postgresql: wrong password refused" bash -c \
		"! PGPASSWORD=wrong psql -h $pip -U postgres -d appdb -Atc 'select 1' 2>/dev/null"
	check "postgresql: CREATE EXTENSION vector fails (no pgvector, as labelled)" bash -c \
		"! PGPASSWORD='$pw' psql -h $pip -U postgres -d appdb -Atc 'create extension vector' 2>/dev/null"
	check "postgresql: the password is not in the container's environment" bash -c \
		"! docker inspect $pfx-pg | grep -q '$pw'"
	docker restart "$pfx-pg" >/dev/null
	for _ in $(seq 1 80); do
		docker exec "$pfx-pg" pg_isready -h 127.0.0.1 -q 2>/dev/null && break
		sleep 0.25
	done
	check "postgresql: restart keeps data, init not re-run" bash -c \
		"PGPASSWORD='$pw' psql -h $pip -U postgres -d appdb -Atc 'select count(*) from marker' | grep -qx 1"
else
	notok "postgresql did not become ready: $(docker logs --tail 15 "$pfx-pg" 2>&1)"
fi
mkdir -p "$tmp/pg2/data" && chown 999:999 "$tmp/pg2/data"
docker run --rm --cap-drop ALL --security-opt no-new-privileges:true --user 999:999 \
	-v "$tmp/pg2/data:/var/lib/postgresql/data" "$(img postgresql)" >"$tmp/pg2.log" 2>&1
if grep -q "no superuser password is set" "$tmp/pg2.log"; then ok "postgresql: refuses to init without a password"; else notok "postgresql without password: $(cat "$tmp/pg2.log")"; fi

# -- redis: requirepass, PONG through the probe ------------------------------
mkdir -p "$tmp/redis/conf" "$tmp/redis/data" "$tmp/redis/secrets"
rpw="rd-$$-$RANDOM"
printf 'bind 0.0.0.0\nport 6379\nrequirepass "%s"\ndir /data\nappendonly yes\n' "$rpw" >"$tmp/redis/conf/redis.conf"
printf '%s\n' "$rpw" >"$tmp/redis/secrets/pw"
chown -R 999:999 "$tmp/redis"
chmod 0400 "$tmp/redis/secrets/pw" "$tmp/redis/conf/redis.conf"
run redis redis -v "$tmp/redis/conf:/usr/local/etc/redis:ro" -v "$tmp/redis/data:/data" \
	-v "$tmp/redis/secrets:/run/secrets/redis:ro" -- /usr/local/bin/redis-server /usr/local/etc/redis/redis.conf
if wait_probe redis redis 127.0.0.1:6379 --password-file /run/secrets/redis/pw; then
	ok "redis: PONG with the password (probe), uid 999, cap_drop ALL"
	check "redis: without password the probe fails (NOAUTH)" bash -c \
		"docker exec $pfx-redis /vpai/probe redis 127.0.0.1:6379 2>&1 | grep -q NOAUTH"
	check "redis: redis-cli with REDISCLI_AUTH says PONG" bash -c \
		"docker exec -e REDISCLI_AUTH='$rpw' $pfx-redis redis-cli ping | grep -qx PONG"
	check "redis: appendonly file written to the pre-owned volume" bash -c \
		"docker exec -e REDISCLI_AUTH='$rpw' $pfx-redis redis-cli set k v >/dev/null && sleep 1 && ls $tmp/redis/data | grep -q appendonly"
else
	notok "redis: $(cat "$tmp/probe")"
fi

# -- caddy: validate, serve on :80 with only NET_BIND_SERVICE ----------------
mkdir -p "$tmp/caddy"
cat >"$tmp/caddy/Caddyfile" <<'EOF'
{
	admin off
	auto_https off
}
http://vpai.test {
	respond /health "OK" 200
}
http:// {
	respond "wrong host" 421
}
EOF
printf 'http://x {\n\tnot_a_directive\n}\n' >"$tmp/caddy/Broken"
check "caddy validate accepts a Caddyfile" docker run --rm --cap-drop ALL \
	--security-opt no-new-privileges:true -v "$tmp/caddy:/etc/caddy:ro" "$(img caddy)" \
	caddy validate --config /etc/caddy/Caddyfile --adapter caddyfile
check "caddy validate rejects a broken Caddyfile" bash -c "! docker run --rm -v $tmp/caddy:/etc/caddy:ro $(img caddy) \
	caddy validate --config /etc/caddy/Broken --adapter caddyfile"
run caddy caddy --cap-add NET_BIND_SERVICE -v "$tmp/caddy:/etc/caddy:ro"
if wait_probe caddy http http://127.0.0.1:80/health --host vpai.test; then
	ok "caddy: serves :80 with cap_drop ALL + NET_BIND_SERVICE; Host-routed /health"
	check "caddy: /health with the wrong Host is not healthy" bash -c \
		"! docker exec $pfx-caddy /vpai/probe http http://127.0.0.1:80/health"
else
	notok "caddy: $(cat "$tmp/probe")"
fi

# As the stack runs it: uid 1000, no capability at all, ports below 1024
# allowed by the namespaced sysctl, /data and /config pre-owned.
mkdir -p "$tmp/caddy1000/data" "$tmp/caddy1000/config"
chown -R 1000:1000 "$tmp/caddy1000"
run caddyu caddy --user 1000:1000 --sysctl net.ipv4.ip_unprivileged_port_start=80 \
	-e XDG_DATA_HOME=/data -e XDG_CONFIG_HOME=/config -v "$tmp/caddy:/etc/caddy:ro" \
	-v "$tmp/caddy1000/data:/data" -v "$tmp/caddy1000/config:/config" -- \
	caddy run --config /etc/caddy/Caddyfile --adapter caddyfile
if wait_probe caddyu http http://127.0.0.1:80/health --host vpai.test; then
	ok "caddy: as uid 1000 with no capability (sysctl for port 80), like the stack"
else
	notok "caddy as uid 1000: $(cat "$tmp/probe")"
fi

# -- victoriametrics, node exporter, restic ----------------------------------
mkdir -p "$tmp/vm"
chown 1000:1000 "$tmp/vm"
run vm victoriametrics --user 1000:1000 -v "$tmp/vm:/storage" -- --storageDataPath=/storage --retentionPeriod=1
if wait_probe vm http http://127.0.0.1:8428/health; then ok "victoriametrics: /health 200 with cap_drop ALL"; else notok "victoriametrics: $(cat "$tmp/probe")"; fi
run nodeexp node-exporter
if wait_probe nodeexp http http://127.0.0.1:9100/metrics; then ok "node exporter: /metrics 200 as nobody"; else notok "node exporter: $(cat "$tmp/probe")"; fi
mkdir -p "$tmp/restic/repo"
printf 'restic-pw\n' >"$tmp/restic/pw"
check "restic: init + backup into a local repository with cap_drop ALL" bash -c "
	docker run --rm --cap-drop ALL --security-opt no-new-privileges:true -e RESTIC_PASSWORD_FILE=/pw \
		-v $tmp/restic/pw:/pw:ro -v $tmp/restic/repo:/repo -v $tmp/caddy:/src:ro $(img restic) -r /repo init &&
	docker run --rm --cap-drop ALL --security-opt no-new-privileges:true -e RESTIC_PASSWORD_FILE=/pw \
		-v $tmp/restic/pw:/pw:ro -v $tmp/restic/repo:/repo -v $tmp/caddy:/src:ro $(img restic) -r /repo backup /src"

# -- n8n: starts and answers /healthz (SQLite, no external services) --------
mkdir -p "$tmp/n8n" && chown 1000:1000 "$tmp/n8n"
run n8n n8n -v "$tmp/n8n:/home/node/.n8n" -e N8N_DIAGNOSTICS_ENABLED=false \
	-e N8N_PERSONALIZATION_ENABLED=false -e N8N_RUNNERS_ENABLED=false
n8nok=0
t0=$(date +%s)
for _ in $(seq 1 240); do
	if docker exec "$pfx-n8n" /vpai/probe http http://127.0.0.1:5678/healthz --timeout-ms 500 >/dev/null 2>&1; then
		n8nok=1
		break
	fi
	[ "$(docker inspect -f '{{.State.Running}}' "$pfx-n8n")" = true ] || break
	sleep 0.5
done
if [ "$n8nok" = 1 ]; then
	ok "n8n: /healthz 200 after $(($(date +%s) - t0)) s (uid 1000, cap_drop ALL)"
else
	notok "n8n: no /healthz: $(docker logs --tail 15 "$pfx-n8n" 2>&1)"
fi

# -- stand-ins ----------------------------------------------------------------
# qdrant: api key from the mounted config; collections and snapshots.
qkey="qk-$$-$RANDOM"
mkdir -p "$tmp/qdrant/config" "$tmp/qdrant/storage" "$tmp/qdrant/snapshots"
printf 'storage:\n  storage_path: /qdrant/storage\n  snapshots_path: /qdrant/snapshots\nservice:\n  http_port: 6333\n  api_key: "%s"\n' "$qkey" \
	>"$tmp/qdrant/config/config.yaml"
chown -R 1000:1000 "$tmp/qdrant"
run qdrant qdrant -e RUN_MODE=production -v "$tmp/qdrant/config/config.yaml:/qdrant/config/production.yaml:ro" \
	-v "$tmp/qdrant/storage:/qdrant/storage" -v "$tmp/qdrant/snapshots:/qdrant/snapshots"
if wait_probe qdrant http http://127.0.0.1:6333/healthz; then
	q=http://$(ip qdrant):6333
	ok "qdrant stand-in: /healthz"
	check "qdrant stand-in: /readyz" status 200 "$q/readyz"
	check "qdrant stand-in: /collections without api-key is 401" status 401 "$q/collections"
	check "qdrant stand-in: wrong api-key is 401" status 401 "$q/collections" -H "api-key: nope"
	check "qdrant stand-in: create a collection" status 200 "$q/collections/memories" -X PUT \
		-H "api-key: $qkey" -H 'Content-Type: application/json' -d '{"vectors":{"size":1536,"distance":"Cosine"}}'
	check "qdrant stand-in: list shows it" bash -c "curl -sf -H 'api-key: $qkey' $q/collections | jq -e '.result.collections[].name == \"memories\"'"
	snap=$(curl -sf -X POST -H "api-key: $qkey" "$q/collections/memories/snapshots" | jq -r .result.name)
	check "qdrant stand-in: snapshot created ($snap)" test -n "$snap" -a "$snap" != null
	check "qdrant stand-in: snapshot listed" bash -c "curl -sf -H 'api-key: $qkey' $q/collections/memories/snapshots | jq -e '.result[0].name == \"$snap\"'"
	check "qdrant stand-in: snapshot downloads (a tar) with the bearer token" bash -c \
		"curl -sf -H 'Authorization: Bearer $qkey' $q/collections/memories/snapshots/$snap -o $tmp/snap && tar tf $tmp/snap | grep -q memories.json"
	check "qdrant stand-in: full snapshot" bash -c "curl -sf -X POST -H 'api-key: $qkey' $q/snapshots | jq -e '.result.size > 0'"
	check "qdrant stand-in: state is on the volume" test -s "$tmp/qdrant/storage/collections/memories.json"
else
	notok "qdrant stand-in: $(cat "$tmp/probe")"
fi

# litellm: models from the mounted config, master key.
lkey="sk-$$-$RANDOM"
mkdir -p "$tmp/litellm"
cat >"$tmp/litellm/config.yaml" <<EOF
model_list:
  - model_name: "claude-sonnet"
    litellm_params: {model: "anthropic/claude-sonnet-4", api_key: "os.environ/ANTHROPIC_API_KEY"}
  - model_name: "gpt-4o-mini"
    litellm_params: {model: "openai/gpt-4o-mini"}
general_settings:
  master_key: "$lkey"
EOF
chmod 0644 "$tmp/litellm/config.yaml"
run litellm litellm -v "$tmp/litellm/config.yaml:/app/config.yaml:ro" -- \
	--config /app/config.yaml --port 4000 --num_workers 1
if wait_probe litellm http http://127.0.0.1:4000/health/liveliness; then
	l=http://$(ip litellm):4000
	ok "litellm stand-in: /health/liveliness"
	check "litellm stand-in: /v1/models without the key is 401" status 401 "$l/v1/models"
	check "litellm stand-in: /v1/models lists the config's 2 models" bash -c \
		"curl -sf -H 'Authorization: Bearer $lkey' $l/v1/models | jq -e '[.data[].id] == [\"claude-sonnet\",\"gpt-4o-mini\"]'"
	check "litellm stand-in: /health with the key" bash -c \
		"curl -sf -H 'Authorization: Bearer $lkey' $l/health | jq -e '.healthy_count == 2'"
else
	notok "litellm stand-in: $(cat "$tmp/probe")"
fi

# grafana: admin password from a file, provisioned dashboards.
gpw="gf-$$-$RANDOM"
mkdir -p "$tmp/grafana/secrets" "$tmp/grafana/prov/dashboards" "$tmp/grafana/lib/dashboards"
printf '%s\n' "$gpw" >"$tmp/grafana/secrets/admin_password"
printf 'apiVersion: 1\nproviders:\n  - name: t\n    type: file\n    options:\n      path: /var/lib/grafana/dashboards\n' \
	>"$tmp/grafana/prov/dashboards/dashboards.yaml"
printf '{"uid": "vpai-overview", "title": "Overview", "panels": []}\n' >"$tmp/grafana/lib/dashboards/overview.json"
chown -R 472:472 "$tmp/grafana"
run grafana grafana -e GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/grafana/admin_password \
	-e GF_PATHS_PROVISIONING=/etc/grafana/provisioning \
	-v "$tmp/grafana/secrets:/run/secrets/grafana:ro" -v "$tmp/grafana/prov:/etc/grafana/provisioning:ro" \
	-v "$tmp/grafana/lib:/var/lib/grafana"
if wait_probe grafana http http://127.0.0.1:3000/api/health; then
	g=http://$(ip grafana):3000
	ok "grafana stand-in: /api/health"
	check "grafana stand-in: /api/search with a wrong password is 401" status 401 "$g/api/search" -u admin:wrong
	check "grafana stand-in: /api/search finds the provisioned dashboard" bash -c \
		"curl -sf -u 'admin:$gpw' $g/api/search | jq -e '.[0].uid == \"vpai-overview\"'"
	check "grafana stand-in: /api/dashboards/uid/vpai-overview" bash -c \
		"curl -sf -u 'admin:$gpw' $g/api/dashboards/uid/vpai-overview | jq -e '.dashboard.title == \"Overview\"'"
	check "grafana stand-in: unknown dashboard is 404" status 404 "$g/api/dashboards/uid/nope" -u "admin:$gpw"
	check "grafana stand-in: / redirects to /login" status 302 "$g/"
else
	notok "grafana stand-in: $(cat "$tmp/probe")"
fi

# loki: port from -config.file, push accepted.
mkdir -p "$tmp/loki/data" && chown 10001:10001 "$tmp/loki/data"
printf 'server:\n  http_listen_port: 3100\n' >"$tmp/loki/loki.yaml"
run loki loki -v "$tmp/loki/loki.yaml:/etc/loki/loki.yaml:ro" -v "$tmp/loki/data:/loki" -- -config.file=/etc/loki/loki.yaml
if wait_probe loki http http://127.0.0.1:3100/ready; then
	ok "loki stand-in: /ready"
	check "loki stand-in: push is 204" status 204 "http://$(ip loki):3100/loki/api/v1/push" -X POST \
		-H 'Content-Type: application/json' -d '{"streams":[{"stream":{"job":"t"},"values":[["1","x"]]}]}'
else
	notok "loki stand-in: $(cat "$tmp/probe")"
fi

# alloy: listen address from the upstream flag.
run alloy alloy -- run --server.http.listen-addr=0.0.0.0:12345 --storage.path=/var/lib/alloy/data /etc/alloy/config.alloy
if wait_probe alloy http http://127.0.0.1:12345/-/ready; then ok "alloy stand-in: /-/ready on the flag's port"; else notok "alloy stand-in: $(cat "$tmp/probe")"; fi

# openclaw: PORT from the environment, tcp health.
run openclaw openclaw -e PORT=8080
if wait_probe openclaw tcp 127.0.0.1:8080; then ok "openclaw stand-in: port 8080 open"; else notok "openclaw stand-in: $(cat "$tmp/probe")"; fi

# diun: stays up; `diun --version` (the stack's healthcheck) works.
run diun diun
sleep 1.5
check "diun stand-in: still running" test "$(docker inspect -f '{{.State.Running}}' "$pfx-diun")" = true
check "diun stand-in: diun --version" bash -c "docker exec $pfx-diun diun --version | grep -q 'diun stand-in'"
t0=$(date +%s%N)
docker stop -t 10 "$pfx-diun" >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$ms" -lt 3000 ]; then ok "stand-in stops on SIGTERM as PID 1 ($ms ms)"; else notok "stand-in took $ms ms to stop (SIGTERM ignored?)"; fi

# Every stand-in says so in its answers.
check "stand-in answers carry X-Vpai-Standin" bash -c \
	"curl -sI http://$(ip alloy):12345/-/ready | grep -qi '^x-vpai-standin: alloy'"

echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
