#!/usr/bin/env bash
# t5100-remote-apply: `vpai apply --target ssh://...` on a "remote VPS":
# a container (tests/host/remotehost.Dockerfile: Debian 12 + sshd, sudo,
# docker CLI, docker-compose) on the host's network with the host's
# docker socket, and the stack root bind-mounted at the same path, so
# compose's bind mounts resolve on the real engine.  vpai runs here with
# DOCKER_HOST=unix:///nonexistent: any docker command run locally would
# fail, so every one must go through the ssh transport.  An OUTPUT rule
# rejects root's connections to the test subnets (172.31.0.0/16): vpai
# (root) cannot reach a container directly, while the remote login user
# (uid 4242, whose sshd process opens the ControlMaster's forwards) can.
# It checks:
#   - first apply as deploy with --become: host roles (common) converged,
#     stack files written on the target with their modes and numeric
#     owners, the probe, data directories; postgresql, redis and n8n
#     healthy with their vpai.config-hash labels; the n8n owner created
#     through the ssh forward; the deploy state and the release kept on
#     the operator side (<site>/.vpai/targets/...);
#   - no secret in any /proc/*/cmdline sampled during the apply;
#   - a second apply (--target site: the site's prod_* host): 0 changes,
#     the stack files in one round trip, the round trips and wall time
#     printed;
#   - `vpai status --target ssh://...` shows the containers with memory
#     use (docker stats on the target);
#   - `vpai smoke --target ssh://...`: pg_isready, the redis PING (password
#     on stdin) and n8n's healthz (the probe inside its container) pass;
#   - an unreachable target fails naming host and step, nothing changed.
# Isolation: project vpai-test-remote-<pid>, subnets 172.31.x, sshd on
# 127.0.0.1:31022, no published port; everything removed at exit.
# shellcheck disable=SC2317,SC2015
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
S=$VPAI_SOURCE_DIR
probe=$VPAI_BUILD_DIR/vpai-probe
base=${VPAI_TEST_BASE:-vpai-local/debian:bookworm}
if ! docker info >/dev/null 2>&1 || ! command -v iptables >/dev/null ||
    ! iptables -S OUTPUT >/dev/null 2>&1; then
	echo "SKIP: no docker engine or iptables"; exit 77
fi
for img in "$base" vpai-local/postgresql:15 vpai-local/redis:7.0 vpai-local/n8n:1.123.81; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe

port=${VPAI_T5100_SSH_PORT:-31022}
proj=vpai-test-remote-$$
name=$proj-host
tmp=$(mktemp -d /tmp/t5100.XXXXXX)
root=$tmp/root
site=$tmp/site
rule=(OUTPUT -d 172.31.0.0/16 -m owner --uid-owner 0 -m comment --comment "$proj" -j REJECT)
fail=0
sampler=
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
cleanup() {
	[ -n "$sampler" ] && kill "$sampler" 2>/dev/null
	iptables -D "${rule[@]}" 2>/dev/null
	docker rm -f "$name" >/dev/null 2>&1
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
ids() {
	docker ps -a --filter "label=com.docker.compose.project=$proj" \
	    --format '{{.Label "com.docker.compose.service"}}={{.ID}}' | sort | tr '\n' ' '
}
in_host() { docker exec -i "$name" "$@"; }

# The remote host.
tag="vpai-test/remotehost:$(sha256sum <"$S/tests/host/remotehost.Dockerfile" | cut -c1-12)"
if ! docker image inspect "$tag" >/dev/null 2>&1; then
	DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$base" -t "$tag" \
	    -f "$S/tests/host/remotehost.Dockerfile" "$S/tests/host" >/dev/null ||
	    { echo "FAIL cannot build $tag"; exit 1; }
fi
mkdir -p "$root" "$site"
docker run -d --name "$name" --network host --hostname vps-prod-01 -e SSHD_PORT="$port" \
    -v /var/run/docker.sock:/var/run/docker.sock -v "$root:$root" "$tag" >/dev/null ||
    { echo "FAIL cannot start $name"; exit 1; }
ssh-keygen -q -t ed25519 -N '' -f "$tmp/id"
in_host sh -c 'mkdir -m 700 -p ~deploy/.ssh && cat >~deploy/.ssh/authorized_keys &&
    chown -R deploy:deploy ~deploy/.ssh' <"$tmp/id.pub"
for _ in $(seq 300); do
	in_host test -s /run/sshd.pid && break
	sleep 0.1
done
echo "[127.0.0.1]:$port $(in_host cat /etc/ssh/ssh_host_ed25519_key.pub)" >"$tmp/known_hosts"
cat >"$tmp/ssh_config" <<EOF
Host 127.0.0.1
	IdentityFile $tmp/id
	IdentitiesOnly yes
	UserKnownHostsFile $tmp/known_hosts
	StrictHostKeyChecking yes
EOF
T=ssh://deploy@127.0.0.1:$port

# The stack, moved to 172.31.x; host roles: common only (the others
# need a real kernel: ufw, auditd, sysctl in the host's network).
cp -r "$S/stack" "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" | xargs sed -i 's/172\.20\./172.31./g'
printf 'roles: [common]\n' >"$tmp/stack/host/roles.yml"
export VPAI_STACK_DIR=$tmp/stack
email=t5100@example.org
printf 'project_name: %s\nstack_root: %s\nimage_set: local\nn8n_owner_email: %s\nprod_ip: 127.0.0.1\nprod_ssh_port: %s\nprod_user: deploy\n' \
    "$proj" "$root" "$email" "$port" >"$site/vpai.yml"
secrets=$S/tests/fixtures/secrets/plain.yml
sed -n "s/^[a-z_0-9]*: *'\(.*\)'$/\1/p" "$secrets" | awk 'length >= 8' >"$tmp/secret-values"
pw=$(sed -n "s/^n8n_owner_password: '\(.*\)'/\1/p" "$secrets")
iptables -I "${rule[@]}" || { echo "FAIL iptables"; exit 1; }
V() {
	DOCKER_HOST=unix:///nonexistent "$VPAI" -C "$site" apply --secrets "$secrets" \
	    --only postgresql,redis,n8n -F "$tmp/ssh_config" --become --stats "$@"
}

# ---- first apply, with the command lines sampled all along ----
# vpai runs in its own session (setsid: it is not a group leader here);
# every process of that session (vpai, ssh...) and every process of the
# remote host (sshd, sudo, docker, docker-compose...) is sampled.
cns=$(ps -o pidns= -p "$(docker inspect -f '{{.State.Pid}}' "$name")" | tr -d ' ')
t0=$(date +%s)
DOCKER_HOST=unix:///nonexistent setsid "$VPAI" -C "$site" apply --secrets "$secrets" \
    --only postgresql,redis,n8n -F "$tmp/ssh_config" --become --stats \
    --target "$T" >"$tmp/a1" 2>&1 &
apid=$!
( while kill -0 "$apid" 2>/dev/null; do
	ps -e -ww -o sid=,pidns=,args= | awk -v s="$apid" -v n="$cns" '$1 == s || $2 == n'
	sleep 0.05
done ) >"$tmp/cmdlines" &
sampler=$!
wait "$apid"
rc=$?
wait "$sampler" 2>/dev/null; sampler=
if [ $rc = 0 ] && grep -q "n8n owner $email created" "$tmp/a1"; then
	ok "first remote apply: exit 0, n8n owner created ($(($(date +%s) - t0))s)"
else bad "first apply (exit $rc)"; cat "$tmp/a1"; exit 1; fi
grep -q "host roles: .* changed" "$tmp/a1" && ok "host roles converged (common)" ||
    { bad "host roles line"; cat "$tmp/a1"; }
for s in postgresql redis n8n; do
	[ "$(health_of $s)" = running/healthy ] || bad "$s is $(health_of $s)"
done
ok "postgresql, redis, n8n healthy"
n=0
for s in postgresql redis n8n; do
	h=$(docker inspect -f '{{index .Config.Labels "vpai.config-hash"}}' "$(id_of $s)")
	[ -n "$h" ] && in_host grep -Eq "vpai.config-hash: \"?$h\"?\$" "$root/docker-compose.yml" &&
	    n=$((n + 1))
done
[ $n = 3 ] && ok "config-hash labels match the compose file on the target" ||
    { bad "config-hash labels ($n/3)"; in_host grep -n config-hash "$root/docker-compose.yml"; }
st() { in_host stat -c '%a %u:%g' "$1" 2>&1; }
[ "$(st "$root/configs/redis/redis.conf")" = "400 999:999" ] &&
    [ "$(st "$root/secrets/n8n/encryption_key")" = "400 1000:1000" ] &&
    [ "$(st "$root/secrets/n8n")" = "750 1000:1000" ] &&
    [ "$(st "$root/bin/vpai-probe")" = "755 0:0" ] &&
    [ "$(st "$root/data/n8n" | cut -d' ' -f2)" = "1000:1000" ] &&
    [ "$(st "$root/data/postgresql" | cut -d' ' -f2)" = "999:999" ] &&
    in_host cmp -s "$root/bin/vpai-probe" /dev/stdin <"$probe" &&
    ok "stack files on the target: modes, numeric owners, probe, data directories" ||
    { bad "stack files"; in_host sh -c "cd $root && find . -maxdepth 3 -exec stat -c '%a %u:%g %n' {} +"; }
[ "$(in_host stat -c %U "$root")" = deploy ] && in_host test -f /etc/sudoers.d/90-deploy &&
    ok "common role: stack root owned by deploy, sudoers drop-in" || bad "common role result"
tdir="$site/.vpai/targets/deploy@127.0.0.1_$port"
rels=("$tdir"/releases/2*)
[ -f "$tdir/deploy-state.json" ] && [ -d "${rels[0]}" ] &&
    [ ! -e "$root/.vpai-deploy-state.json" ] && [ ! -e "$root/releases" ] &&
    ok "deploy state and release record kept on the operator side" ||
    { bad "state/release location"; ls -la "$tdir" "$root"; }
# vpai itself (root) cannot reach the containers: the owner went through ssh.
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$(id_of n8n)" | awk '{print $1}')
if ! curl -s -m 3 -o /dev/null "http://$ip:5678/healthz"; then
	ok "the operator side cannot reach n8n at $ip directly"
else bad "the operator side reaches $ip: the forward proves nothing"; fi
code=$(printf '{"emailOrLdapLoginId":"%s","password":"%s"}' "$email" "$pw" |
    in_host sudo -u deploy curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @- "http://$ip:5678/rest/login")
[ "$code" = 200 ] && ok "the owner logs in (from the target)" || bad "owner login: HTTP $code"
leaks=0
while IFS= read -r v; do
	if grep -qF -- "$v" "$tmp/cmdlines"; then
		leaks=$((leaks + 1))
		grep -F -- "$v" "$tmp/cmdlines" | sort -u | head -n 3 | cut -c1-300 |
		    sed "s/$v/<SECRET>/g; s/^/  seen: /"
	fi
done <"$tmp/secret-values"
nsamp=$(grep -c . "$tmp/cmdlines")
[ $leaks = 0 ] && [ "$nsamp" -gt 100 ] && grep -q 'docker-compose' "$tmp/cmdlines" &&
    grep -q 'sudo -n -- docker' "$tmp/cmdlines" &&
    ok "no secret in the command lines of vpai's session and the target ($nsamp lines sampled, $(wc -l <"$tmp/secret-values") secrets)" ||
    bad "$leaks secret(s) seen in /proc/*/cmdline"
grep -qF -- "$pw" "$tmp/a1" && bad "the owner password shows in the output"

# ---- second apply (--target site: ssh://PROD_USER@PROD_IP:PROD_SSH_PORT): nothing to do ----
before=$(ids)
t0=$(date +%s%N)
if V --target site >"$tmp/a2" 2>&1 && grep -q "target $T: host roles" "$tmp/a2" && grep -q 'nothing changed' "$tmp/a2" &&
    grep -q 'host roles: nothing to change' "$tmp/a2" &&
    grep -q '0 written, 0 directories created, 0 owners set (1 round trip)' "$tmp/a2" &&
    grep -q "n8n owner $email already set up" "$tmp/a2" && [ "$(ids)" = "$before" ]; then
	ok "second apply: 0 changes; $(grep -o '[0-9]* round trips.*' "$tmp/a2") (wall $((($(date +%s%N) - t0) / 1000000)) ms)"
else bad "second apply"; cat "$tmp/a2"; fi

# ---- status through the transport ----
if DOCKER_HOST=unix:///nonexistent "$VPAI" -C "$site" status --target "$T" -F "$tmp/ssh_config" \
    --become --json >"$tmp/st" 2>&1 && [ "$(jq length "$tmp/st")" = 3 ] &&
    [ "$(jq '[.[] | select(.health == "healthy" and .mem_use > 0)] | length' "$tmp/st")" = 3 ]; then
	ok "status --target: 3 healthy containers with memory use"
else bad "status"; cat "$tmp/st"; fi

# ---- smoke through the transport: the container checks run there ----
# (no Caddy in this stack: the HTTPS checks fail, as they should)
DOCKER_HOST=unix:///nonexistent "$VPAI" -C "$site" smoke --target "$T" -F "$tmp/ssh_config" \
    --become --secrets "$secrets" --json >"$tmp/sm" 2>"$tmp/sm.err"
n=$(jq '[.checks[] | select((.name == "postgresql-ready" or .name == "redis-ping" or
    .name == "n8n-healthz") and .ok)] | length' "$tmp/sm" 2>/dev/null)
if [ "$n" = 3 ] && jq -r '.checks[] | select(.name == "n8n-healthz") | .detail' "$tmp/sm" |
    grep -q 'probe in the container on the target'; then
	ok "smoke --target: postgresql-ready, redis-ping, n8n-healthz pass on the target"
else bad "smoke --target ($n/3)"; cat "$tmp/sm" "$tmp/sm.err"; fi

# ---- unreachable target: fails before anything changes ----
before=$(ids)
if V --target "ssh://deploy@127.0.0.1:1" >"$tmp/a3" 2>&1; then
	bad "unreachable target succeeded"
elif grep -q "step 'host roles'" "$tmp/a3" && grep -q "127.0.0.1:1" "$tmp/a3" &&
    grep -q "cannot connect" "$tmp/a3" && [ "$(ids)" = "$before" ]; then
	ok "unreachable target: $(tail -n 1 "$tmp/a3")"
else bad "unreachable target message"; cat "$tmp/a3"; fi
exit $fail
