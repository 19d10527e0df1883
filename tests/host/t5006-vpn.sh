#!/usr/bin/env bash
# t5006-vpn: the headscale-node role and the VPN IP fact, on a "fresh VPS"
# container (testhost-lib.sh), through `vpai plan` / `vpai converge` with
# a site and a vault (plain secrets file) like an operator's.
#
# tailscale is a STAND-IN here: tests/host/tailscale-standin, a small
# shell script copied into the container as /usr/bin/tailscale (the real
# client is not packaged by Debian and pkgs.tailscale.com is not reachable
# from the test machine).  It implements version, status --json, ip -4 and
# up; `up` fails unless the auth key is given as file:PATH to a root-owned
# 0600 file holding the vault's key, and it logs its arguments.  The
# address it reports is the container's docker bridge address (the test's
# "VPN", as in t5005).
#
#  1. tailscale missing: a "!" line saying how to install it, 0 changes,
#     exit 0.
#  2. installed, NeedsLogin: converge runs `tailscale up` once, with the
#     login server, routes and hostname of the site and the key from a
#     0600 file under /run that is gone afterwards; the key never appears
#     in vpai's output (plan text, plan JSON, converge), nor in the
#     stand-in's argument log.  2 round trips.
#  3. second converge: 0 changes, 1 round trip, no second `up`.
#  4. a wedged tailscaled (the stand-in hangs on status/ip): facts are
#     still gathered within the probes' timeouts; a hanging `up` is killed
#     after the role's timeout (5 s here), converge exits 0 with a "!"
#     warning, no process or key file left.
#  5. vpn_verified: true (full role set) with the host's tailscale IP
#     absent, different, or tailscale not installed: plan and converge
#     refuse before touching the host (sshd -T unchanged, no drop-in, no
#     package installed), naming the host, the step and the addresses;
#     with the matching IP the plan restricts sshd to it (ListenAddress).
# Skipped when docker or the base image (images/build.sh) is not available.
# shellcheck disable=SC2016 # dpkg-query formats
set -euo pipefail
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
S=$VPAI_SOURCE_DIR

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
# shellcheck source=tests/host/testhost-lib.sh
. "$S/tests/host/testhost-lib.sh"
testhost_available || { echo "skip: no docker or no base image $TESTHOST_BASE (images/build.sh)"; exit 77; }
trap testhost_stop EXIT
t_start=$(date +%s)
testhost_start vpai-t5006 --hostname vps-prod-01
CIDR=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}')
[ -n "$CIDR" ] || fail "no subnet for the docker bridge"
KEY="tskey-auth-t5006K$$x$(date +%s)"
sed "s/^headscale_auth_key: .*/headscale_auth_key: '$KEY'/" \
    "$S/tests/fixtures/secrets/plain.yml" >"$D/secrets.yml"
grep -q "$KEY" "$D/secrets.yml" || fail "secrets fixture: no headscale_auth_key line"
HS=http://headscale.test:8080
cat >"$D/site.yml" <<EOF
project_name: vpai
vpn_headscale_url: $HS
vpn_advertise_routes: 10.9.0.0/24,10.8.0.0/16
vpn_headscale_ip: $IP
vpn_network_cidr: $CIDR
EOF
SITE=$D/site.yml
# headscale-node alone, with a short timeout for the hang case
cp -r "$S/stack" "$D/stack"
printf 'roles: [headscale-node]\n' >"$D/stack/host/roles.yml"
sed -i 's/^  timeout: 60$/  timeout: 5/' "$D/stack/host/roles/headscale-node.yml"
grep -q '^  timeout: 5$' "$D/stack/host/roles/headscale-node.yml" || fail "stack copy: timeout not set"
export VPAI_STACK_DIR="$D/stack"
SD=/var/lib/tailscale-standin
vp() {	# vp OUT [-v] plan|converge [args...]: as root over ssh
	# (killed after 120 s: a hang is a failure, not a stuck test)
	local o=$1 g=()
	shift
	[ "$1" != -v ] || { g=(-v); shift; }
	timeout 120 "$VPAI" "${g[@]}" --site "$SITE" "$1" --secrets "$D/secrets.yml" --target "$T" \
	    --ssh-config "$SSH_CONFIG" --stats "${@:2}" >"$o.out" 2>"$o.err"
}
nokey() {	# nokey FILE...: the auth key appears in none of them
	if grep -qF -- "$KEY" "$@"; then fail "the auth key appears in $*"; fi
}

# ---- 1. tailscale not installed ----
vp "$D/c0" converge || { cat "$D/c0.out" "$D/c0.err"; fail "converge without tailscale"; }
grep -q "^! tailscale $HS: already correct (tailscale is not installed .*https://pkgs.tailscale.com/" "$D/c0.out" ||
    { cat "$D/c0.out"; fail "no '!' line saying how to install tailscale"; }
grep -q '^0 to change' "$D/c0.out" || { cat "$D/c0.out"; fail "tailscale missing: changes planned"; }
nokey "$D/c0.out" "$D/c0.err"
ok "tailscale missing: '! tailscale $HS: ... install it from pkgs.tailscale.com', 0 changes, exit 0"

# ---- 2. the stand-in, logged out: tailscale up once ----
docker cp "$S/tests/host/tailscale-standin" "$NAME:/usr/bin/tailscale"
in_host sh -c "mkdir -p $SD && echo NeedsLogin >$SD/state && echo '$IP' >$SD/ip &&
    printf '%s\n' '$KEY' >$SD/key && chmod 600 $SD/key"
vp "$D/p1" plan || { cat "$D/p1.out" "$D/p1.err"; fail "plan"; }
vp "$D/p1j" plan --json || { cat "$D/p1j.err"; fail "plan --json"; }
grep -q "^~ tailscale $HS: up (state NeedsLogin, advertise routes 10.9.0.0/24,10.8.0.0/16)" "$D/p1.out" ||
    { cat "$D/p1.out"; fail "plan: no tailscale up"; }
jq -e --arg hs "$HS" 'map(select(.op == "tailscale"))[0] | .id == $hs and .action == "up" and
    (has("content") | not) and .soft == true and .timeout == 5' "$D/p1j.out" >/dev/null ||
    { cat "$D/p1j.out"; fail "plan --json: tailscale op"; }
nokey "$D/p1.out" "$D/p1.err" "$D/p1j.out" "$D/p1j.err"
in_host test ! -e "$SD/up.log" || fail "plan ran tailscale up"
t0=$(date +%s)
vp "$D/c1" converge || { cat "$D/c1.out" "$D/c1.err"; fail "converge (tailscale up)"; }
t1=$(date +%s)
grep -q '^applied: 1 changed' "$D/c1.out" || { cat "$D/c1.out"; fail "converge: not 1 change"; }
grep -q ': 2 round trips' "$D/c1.err" || { cat "$D/c1.err"; fail "converge: round trips"; }
if grep -q '^! ' "$D/c1.out"; then cat "$D/c1.out"; fail "converge: warnings"; fi
nokey "$D/c1.out" "$D/c1.err"
in_host cat "$SD/up.log" >"$D/up.log"
[ "$(grep -c '^args:' "$D/up.log")" = 1 ] || { cat "$D/up.log"; fail "tailscale up not run exactly once"; }
grep -qx ok "$D/up.log" || { cat "$D/up.log"; fail "the stand-in refused the key: $(cat "$D/up.log")"; }
args=$(sed -n 's/^args: //p' "$D/up.log")
for a in '--login-server http://headscale.test:8080' '--advertise-routes 10.9.0.0/24,10.8.0.0/16' \
    '--hostname vps-prod-01' '--auth-key file:/run/'; do
	grep -qF -- "$a" <<<"$args" || fail "tailscale up: no '$a' in: $args"
done
nokey "$D/up.log"
kf=$(sed -n 's/^keyfile: //p' "$D/up.log")
case $kf in /run/*) ;; *) fail "key file not under /run: $kf" ;; esac
in_host test ! -e "$kf" || fail "key file $kf left on the host"
[ "$(in_host cat $SD/state)" = Running ] || fail "stand-in not Running"
ok "converge: tailscale up once ($args), key from a root 0600 file under /run (gone after), never in vpai's output; $((t1 - t0)) s"

# ---- 3. idempotent ----
vp "$D/c2" converge || { cat "$D/c2.out" "$D/c2.err"; fail "second converge"; }
grep -q '^0 to change' "$D/c2.out" || { cat "$D/c2.out"; fail "second converge not a no-op"; }
grep -q ': 1 round trip' "$D/c2.err" || { cat "$D/c2.err"; fail "second converge: round trips"; }
[ "$(in_host grep -c '^args:' $SD/up.log)" = 1 ] || fail "second converge ran tailscale up again"
vp "$D/p2" -v plan || fail "plan -v"
grep -q "^= tailscale $HS: already correct (running, VPN IP $IP (tailscale 1.76.1-standin))" "$D/p2.out" ||
    { cat "$D/p2.out"; fail "plan -v: the VPN IP fact"; }
sed "s/^vpn_headscale_ip: .*/vpn_headscale_ip: 100.64.0.1/" "$D/site.yml" >"$D/site-other.yml"
SITE=$D/site-other.yml
vp "$D/p2o" plan || { cat "$D/p2o.out" "$D/p2o.err"; fail "plan (other vpn_headscale_ip)"; }
SITE=$D/site.yml
grep -q "^! tailscale $HS: already correct (running, VPN IP $IP, but the site's vpn_headscale_ip is 100.64.0.1: fix the site" \
    "$D/p2o.out" || { cat "$D/p2o.out"; fail "no '!' line for a vpn_headscale_ip that is not the node's"; }
ok "second converge: 0 changes, 1 round trip; VPN IP fact $IP reported, and flagged when the site's vpn_headscale_ip differs"

# ---- 4. a wedged tailscaled never blocks ----
in_host sh -c "echo NeedsLogin >$SD/state && echo status >$SD/hang"
t0=$(date +%s)
vp "$D/p3" plan || { cat "$D/p3.out" "$D/p3.err"; fail "plan with a hanging tailscale status"; }
t1=$(date +%s)
grep -q "^~ tailscale $HS: up (state timeout" "$D/p3.out" || { cat "$D/p3.out"; fail "plan: state timeout"; }
[ $((t1 - t0)) -le 20 ] || fail "facts took $((t1 - t0)) s with a hanging tailscale status"
ok "facts with a hanging 'tailscale status': state 'timeout' after $((t1 - t0)) s (bounded probes)"
in_host sh -c "echo up >$SD/hang"
t0=$(date +%s)
vp "$D/c3" converge || { cat "$D/c3.out" "$D/c3.err"; fail "converge with a hanging tailscale up"; }
t1=$(date +%s)
grep -q "^! tailscale $HS: tailscale up timed out after 5 s" "$D/c3.out" ||
    { cat "$D/c3.out"; fail "no timeout warning"; }
grep -q '^applied: 1 changed' "$D/c3.out" || { cat "$D/c3.out"; fail "hang: not reported as applied"; }
[ $((t1 - t0)) -le 40 ] || fail "a hanging tailscale up held the converge $((t1 - t0)) s"
[ "$(in_host grep -c '^args:' $SD/up.log)" = 2 ] || fail "hang: tailscale up not run"
if in_host pgrep -f 'sleep 3600' >/dev/null; then fail "hang: the hanging tailscale up is still running"; fi
left=$(in_host sh -c 'ls /run/.vpai-tailscale-* 2>/dev/null' || true)
[ -z "$left" ] || fail "hang: files left under /run: $left"
nokey "$D/c3.out" "$D/c3.err"
ok "hanging tailscale up: killed after 5 s, '! ... timed out' warning, converge exit 0 in $((t1 - t0)) s, nothing left"
in_host rm -f "$SD/hang"

# ---- 5. vpn_verified: true is refused unless the VPN IP fact matches ----
export VPAI_STACK_DIR="$S/stack"	# the full role set, hardening last
echo 'vpn_verified: true' >>"$D/site.yml"
before=$(in_host sshd -T)
refused() {	# refused CASE PATTERN: plan and converge refuse, host untouched
	local c
	for c in plan converge; do
		rc=0
		vp "$D/v-$1-$c" "$c" || rc=$?
		[ "$rc" != 0 ] || { cat "$D/v-$1-$c.out"; fail "$1: $c accepted"; }
		grep -q "'$T': step 'plan': vpn_verified is true (SSH restricted to the VPN address $IP) but $2: refusing to restrict SSH to the VPN, nothing was changed" \
		    "$D/v-$1-$c.err" || { cat "$D/v-$1-$c.err"; fail "$1: $c: message"; }
		nokey "$D/v-$1-$c.out" "$D/v-$1-$c.err"
	done
	[ "$(in_host sshd -T)" = "$before" ] || fail "$1: sshd changed"
	in_host test ! -e /etc/ssh/sshd_config.d/10-vpai.conf || fail "$1: drop-in written"
	if in_host dpkg-query -W -f='${Status}' ufw 2>/dev/null | grep -q 'ok installed'; then
		fail "$1: packages installed"
	fi
}
in_host sh -c "echo Running >$SD/state && echo 100.64.0.99 >$SD/ip"
refused mismatch "the host's tailscale IPv4 address is 100.64.0.99"
in_host sh -c "echo NeedsLogin >$SD/state"
refused absent-ip "the host has no tailscale IPv4 address (tailscale state NeedsLogin)"
in_host mv /usr/bin/tailscale /usr/bin/tailscale.off
refused not-installed "tailscale is not installed on the host"
in_host mv /usr/bin/tailscale.off /usr/bin/tailscale
ok "vpn_verified with the VPN IP different / absent / no tailscale: plan and converge refuse (step 'plan'), host untouched"
in_host sh -c "echo Running >$SD/state && echo '$IP' >$SD/ip"
vp "$D/v-match" plan || { cat "$D/v-match.out" "$D/v-match.err"; fail "plan with the matching VPN IP"; }
grep -q "^    +ListenAddress $IP\$" "$D/v-match.out" || { cat "$D/v-match.out"; fail "match: no ListenAddress $IP"; }
grep -qF "+ ufw allow 804/tcp from $CIDR: add" "$D/v-match.out" || { cat "$D/v-match.out"; fail "match: ufw SSH rule"; }
nokey "$D/v-match.out" "$D/v-match.err"
ok "vpn_verified with the VPN IP fact = $IP: the plan restricts sshd (ListenAddress) and ufw to the VPN"
echo "t5006: all passed in $(($(date +%s) - t_start)) s"
