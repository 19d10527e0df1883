#!/usr/bin/env bash
# t5004-plan-roles: `vpai plan` and `vpai converge` with the host roles
# (stack/host/roles/) rendered from the test site, on a "fresh VPS"
# container (testhost-lib.sh):
#  1. `vpai plan --target ssh://root@IP`: one round trip, the hardening
#     sshd drop-in shown as a unified diff, the headscale-node role reported
#     as skipped (tailscale is not in Debian), ufw rules from the bundle,
#     CrowdSec's packages, collections and services (Central API on),
#     no secret value in the text or JSON output, nothing changed on the host;
#  2. `vpai converge` with a role set reduced to what the container can run
#     (common + the hardening sshd drop-in; docker.io, fail2ban, ufw and
#     auditd need a real kernel): the sshd port moves to the site's 804 and
#     is commit-confirmed through a fresh connection; a second converge on
#     port 804 has nothing to do.
# Skipped when docker or the base image (images/build.sh) is not available.
set -euo pipefail
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
S=$VPAI_SOURCE_DIR
SITE=$S/tests/fixtures/render/vpai.yml
SECRETS=$S/tests/fixtures/secrets/plain.yml

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
# shellcheck source=tests/host/testhost-lib.sh
. "$S/tests/host/testhost-lib.sh"
testhost_available || { echo "skip: no docker or no base image $TESTHOST_BASE (images/build.sh)"; exit 77; }
trap testhost_stop EXIT
testhost_start vpai-t5004 --hostname vps-prod-01
export VPAI_STACK_DIR="$S/stack"
before=$(in_host sshd -T)

# ---- 1. plan ----
"$VPAI" --site "$SITE" plan --secrets "$SECRETS" --target "$T" \
    --ssh-config "$SSH_CONFIG" --stats >"$D/plan.out" 2>"$D/plan.err" ||
    { cat "$D/plan.out" "$D/plan.err"; fail "plan"; }
"$VPAI" --site "$SITE" plan --secrets "$SECRETS" --target "$T" \
    --ssh-config "$SSH_CONFIG" --json >"$D/plan.json" 2>"$D/plan-json.err" ||
    { cat "$D/plan-json.err"; fail "plan --json"; }
grep -q ': 1 round trip' "$D/plan.err" || { cat "$D/plan.err"; fail "plan: round trips"; }
grep -q '^- role headscale-node: skipped' "$D/plan.out" || fail "plan: headscale-node not reported as skipped"
grep -q '^+ file /etc/ssh/sshd_config.d/10-vpai.conf: create' "$D/plan.out" || fail "plan: sshd drop-in"
grep -q '^    +Port 804$' "$D/plan.out" || fail "plan: sshd drop-in diff"
grep -q '^+ ufw allow 804/tcp from any: add' "$D/plan.out" || fail "plan: ufw rule from the bundle"
grep -q '^+ apt docker-ce: install' "$D/plan.out" || fail "plan: docker role (docker-ce)"
grep -q '^+ crontab root: install' "$D/plan.out" || fail "plan: crontab (docker prune + pre-backup)"
# CrowdSec, the real-VPS path (the fixture site leaves crowdsec_online at its
# default, true): packages, the three collections, no Central API opt-out
grep -q '^+ apt crowdsec: install' "$D/plan.out" || fail "plan: crowdsec package"
grep -q '^+ apt crowdsec-firewall-bouncer: install' "$D/plan.out" || fail "plan: crowdsec-firewall-bouncer package"
jq -e '[.[] | select(.op == "crowdsec-collection" and .action == "install") | .id] ==
    ["crowdsecurity/linux", "crowdsecurity/sshd", "crowdsecurity/http-cve"]' "$D/plan.json" >/dev/null ||
    fail "plan: crowdsec collections linux, sshd, http-cve"
jq -e '[.[] | select(.op == "service" and (.id | startswith("crowdsec")) and .action == "enable+start")] | length == 2' \
    "$D/plan.json" >/dev/null || fail "plan: crowdsec services"
if grep -q 'online_api_credentials' "$D/plan.out"; then fail "plan: Central API opt-out with crowdsec_online at its default"; fi
jq -e 'map(select(.op == "user" and .id == "deploy"))[0].groups == ["sudo", "docker"]' \
    "$D/plan.json" >/dev/null || fail "plan: deploy user groups not merged"
sed -n "s/^[a-z_0-9]*: *'\(.*\)'$/\1/p" "$SECRETS" >"$D/secret-values"
[ -s "$D/secret-values" ] || fail "no secret values read from the fixture"
while IFS= read -r s; do
	[ "${#s}" -ge 4 ] || continue
	if grep -qF -- "$s" "$D/plan.out" "$D/plan.json"; then fail "plan output leaks a secret"; fi
done <"$D/secret-values"
[ "$(in_host sshd -T)" = "$before" ] || fail "plan changed sshd"
in_host test ! -e /etc/ssh/sshd_config.d/10-vpai.conf || fail "plan wrote a file"
ok "plan: 1 round trip, $(tail -n 1 "$D/plan.out"), diffs, headscale-node skipped, no secret, host untouched"

# ---- 2. converge a reduced role set, sshd commit-confirmed ----
cp -r "$S/stack" "$D/stack"
export VPAI_STACK_DIR="$D/stack"
printf 'roles: [common, sshd]\n' >"$D/stack/host/roles.yml"
cat >"$D/stack/host/roles/sshd.yml" <<'YML'
files:
  - path: /etc/ssh/sshd_config.d/10-vpai.conf
    mode: "0600"
    content_from: host/ssh/sshd_config.d/vpai.conf
services:
  - name: ssh
    restart_on: [/etc/ssh/sshd_config.d/10-vpai.conf]
YML
# the drop-in allows only 'deploy' (the site's prod_user) on port 804:
# converge as root, then the fresh connection must be deploy@IP:804.
in_host sh -c 'useradd -m -s /bin/bash deploy && mkdir -m 700 ~deploy/.ssh &&
    cp /root/.ssh/authorized_keys ~deploy/.ssh/ && chown -R deploy: ~deploy/.ssh'
echo "[$IP]:804 $(cut -d' ' -f2- "$D/known_hosts")" >>"$D/known_hosts"
"$VPAI" --site "$SITE" converge --secrets "$SECRETS" --target "ssh://deploy@$IP" \
    --ssh-config "$SSH_CONFIG" --become >"$D/conv1.out" 2>"$D/conv1.err" &&
    fail "converge as deploy without sudo rights should fail (sudo -n)"
"$VPAI" --site "$SITE" converge --secrets "$SECRETS" --target "ssh://root@$IP" \
    --ssh-config "$SSH_CONFIG" >"$D/conv1.out" 2>"$D/conv1.err" && rc=0 || rc=$?
# root is not in AllowUsers deploy: the fresh root connection on 804 fails
# and the host reverts by itself (default confirm timeout 60 s).
[ "$rc" = 4 ] || { cat "$D/conv1.out" "$D/conv1.err"; fail "converge as root: exit $rc, expected 4"; }
grep -q 'reverted the change by itself' "$D/conv1.err" || { cat "$D/conv1.err"; fail "converge as root: not reverted"; }
grep -qx 'port 22' <<<"$(in_host sshd -T)" || fail "converge as root: sshd not back on 22"
ok "converge as root with 'AllowUsers deploy': locked out, reverted by the host itself"
"$VPAI" --site "$SITE" converge --secrets "$SECRETS" --target "ssh://deploy@$IP" \
    --ssh-config "$SSH_CONFIG" --become >"$D/conv2.out" 2>"$D/conv2.err" ||
    { cat "$D/conv2.out" "$D/conv2.err"; fail "converge as deploy"; }
grep -q 'confirmed: .* port 804' "$D/conv2.out" || { cat "$D/conv2.out"; fail "converge: not confirmed on 804"; }
grep -qx 'port 804' <<<"$(in_host sshd -T)" || fail "converge: sshd not on 804"
"$VPAI" --site "$SITE" converge --secrets "$SECRETS" --target "ssh://deploy@$IP:804" \
    --ssh-config "$SSH_CONFIG" --become --stats >"$D/conv3.out" 2>"$D/conv3.err" ||
    { cat "$D/conv3.out" "$D/conv3.err"; fail "second converge"; }
grep -q '^0 to change' "$D/conv3.out" || { cat "$D/conv3.out"; fail "second converge not a no-op"; }
ok "converge as deploy (sudo): common role + sshd on 804 confirmed by a fresh connection; re-run: 0 changes"
echo "t5004: all passed"
