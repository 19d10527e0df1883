#!/usr/bin/env bash
# t5003-commit-confirmed: sshd changes are commit-confirmed.  On a "fresh
# VPS" container (testhost-lib.sh), over ssh as root:
#  1. a change that locks the operator out (AllowUsers someone-else) is
#     applied, the fresh-connection check fails, and the host reverts it BY
#     ITSELF within the timeout (confirm.timeout 10 s): vpai exits 4 saying
#     so, sshd -T has no AllowUsers, and a new connection works;
#  2. a port move (22 -> 2222) is confirmed through a fresh connection on
#     2222, kept after the timeout, and remembered in --state: the next run
#     without -p reaches port 2222 and has nothing to do;
#  3. an apply that fails after changing sshd never disarms: the timer,
#     detached from the session, restores the previous config.
# Skipped when docker or the base image (images/build.sh) is not available.
set -euo pipefail
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
export VPAI_STACK_DIR="$VPAI_SOURCE_DIR/stack"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
# shellcheck source=tests/host/testhost-lib.sh
. "$VPAI_SOURCE_DIR/tests/host/testhost-lib.sh"
testhost_available || { echo "skip: no docker or no base image $TESTHOST_BASE (images/build.sh)"; exit 77; }
trap testhost_stop EXIT
testhost_start vpai-t5003
DROPIN=/etc/ssh/sshd_config.d/10-vpai.conf

want() {	# want CONTENT
	jq -n --arg c "$1" '{
	  confirm: {timeout: 10},
	  files: [{path: "/etc/ssh/sshd_config.d/10-vpai.conf", mode: "0600", content: $c}],
	  services: [{name: "ssh", restart_on: ["/etc/ssh/sshd_config.d/10-vpai.conf"]}]
	}'
}
sshd_t() { in_host sshd -T; }
apply() {	# apply WANT OUT [vpai args...]
	local w=$1 o=$2
	shift 2
	"$VPAI" host apply --target "$T" --ssh-config "$SSH_CONFIG" --want "$w" \
	    --state "$D/state.json" "$@" >"$o.out" 2>"$o.err"
}
# the host key is the same on every port: pin it for [IP]:2222 too
echo "[$IP]:2222 $(cut -d' ' -f2- "$D/known_hosts")" >>"$D/known_hosts"

# ---- 1. lockout: AllowUsers someone-else ----
want $'PasswordAuthentication no\nAllowUsers someone-else\n' >"$D/lock.json"
t0=$(date +%s)
rc=0; apply "$D/lock.json" "$D/lock" || rc=$?
t1=$(date +%s)
[ "$rc" = 4 ] || { cat "$D/lock.out" "$D/lock.err"; fail "lockout: exit $rc, expected 4"; }
grep -q "step 'confirm'" "$D/lock.err" || { cat "$D/lock.err"; fail "lockout: no confirm error"; }
grep -q 'reverted the change by itself' "$D/lock.err" || { cat "$D/lock.err"; fail "lockout: not reported as reverted"; }
s=$(sshd_t)
if grep -qi '^allowusers' <<<"$s"; then fail "lockout: AllowUsers still set"; fi
in_host test ! -e "$DROPIN" || fail "lockout: drop-in not removed (it did not exist before)"
ssh -F "$SSH_CONFIG" -o BatchMode=yes "root@$IP" true || fail "lockout: host not reachable after revert"
[ $((t1 - t0)) -le 40 ] || fail "lockout: took $((t1 - t0)) s"
ok "lockout (AllowUsers someone-else): refused by the fresh connection, reverted by the host itself in $((t1 - t0)) s, reachable again"

# ---- 2. port move 22 -> 2222: confirmed, kept, remembered ----
want $'PasswordAuthentication no\nPort 2222\n' >"$D/port.json"
apply "$D/port.json" "$D/port" || { cat "$D/port.out" "$D/port.err"; fail "port move"; }
grep -q 'confirmed: .* port 2222' "$D/port.out" || { cat "$D/port.out"; fail "port move: not confirmed"; }
grep -q 'remembered in' "$D/port.err" || { cat "$D/port.err"; fail "port move: not remembered"; }
[ "$(jq -r --arg t "$T" '.targets[$t].ssh_port' "$D/state.json")" = 2222 ] || fail "state file"
in_host test ! -e /var/lib/vpai/confirm || fail "port move: revert still armed"
sleep 13	# past the timeout: nothing may revert
grep -qx 'port 2222' <<<"$(sshd_t)" || fail "port move reverted after the timeout"
ssh -F "$SSH_CONFIG" -o BatchMode=yes -p 2222 "root@$IP" true || fail "port 2222 unreachable"
ok "port move to 2222: confirmed by a fresh connection, kept past the timeout, remembered in --state"
apply "$D/port.json" "$D/again" --stats || { cat "$D/again.out" "$D/again.err"; fail "re-run on the remembered port"; }
grep -q '^0 to change' "$D/again.out" || { cat "$D/again.out"; fail "re-run not a no-op"; }
ok "re-run without -p reaches port 2222 from --state: 0 changes"

# ---- 3. the apply fails after sshd changed: vpai never disarms, the
# detached timer restores the previous config by itself ----
want $'PasswordAuthentication no\nPort 2222\nMaxAuthTries 3\n' |
    jq '.services += [{name: "vpai-no-such-service"}]' >"$D/drop.json"
rc=0; apply "$D/drop.json" "$D/drop" || rc=$?
[ "$rc" = 4 ] || { cat "$D/drop.out" "$D/drop.err"; fail "failing apply: exit $rc"; }
grep -q 'vpai-no-such-service' "$D/drop.err" || { cat "$D/drop.err"; fail "failing apply: error"; }
grep -q 'restores its previous sshd/ufw configuration by itself within 10 s' "$D/drop.err" ||
    { cat "$D/drop.err"; fail "failing apply: the error does not announce the revert"; }
grep -qx 'maxauthtries 3' <<<"$(sshd_t)" || fail "failing apply: sshd change not applied first"
in_host test -e /var/lib/vpai/confirm/armed || fail "failing apply: revert not armed"
for _ in $(seq 30); do in_host test -e /var/lib/vpai/confirm/reverted && break; sleep 1; done
in_host test -e /var/lib/vpai/confirm/reverted || fail "failing apply: no revert"
grep -qx 'maxauthtries 6' <<<"$(sshd_t)" || fail "failing apply: MaxAuthTries not reverted"
grep -qx 'port 2222' <<<"$(sshd_t)" || fail "failing apply: reverted to the wrong config"
ssh -F "$SSH_CONFIG" -o BatchMode=yes -p 2222 "root@$IP" true || fail "unreachable after the revert"
ok "apply failed after the sshd change: the detached timer restored the previous config by itself"
echo "t5003: all passed"
