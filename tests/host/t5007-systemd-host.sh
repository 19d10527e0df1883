#!/usr/bin/env bash
# t5007-systemd-host: the host roles and the commit-confirmed revert on a
# host that boots with SYSTEMD as PID 1, as every real Debian 12 VPS does
# (tests/host/testhost-systemd.Dockerfile: systemd, dbus, logind, sshd,
# sudo, no cron; testhost_start_systemd in testhost-lib.sh).  The other
# host tests use a sysv-style "boot".  No --privileged: only NET_ADMIN +
# NET_RAW (iptables for ufw and fail2ban); the host's cgroups are mounted
# in.  Exit 77 (skip) when docker, the base image, or systemd as PID 1 is
# not available here.
#
#  a. `vpai converge` of the real role set as the cloud image's sudo user
#     (docker.io option, the docker service "started: false" as in t5005:
#     dockerd cannot run in the container), asserted through systemctl:
#     ssh, fail2ban active+enabled, unattended-upgrades enabled, sshd on
#     the new port 804 (sshd -T and a real connection), ufw active; a
#     second converge: 0 changes.
#  b. lockout under systemd (AllowUsers someone-else, confirm.timeout
#     20 s): sshd is restarted through systemctl, the fresh connection is
#     refused; then the connection that armed the revert is cut on the host
#     (its sshd processes killed, vpai killed): the logind session is gone,
#     the detached timer is left in its abandoned session scope and still
#     restores sshd within the window; ssh works again.
#  c. reboot inside the window (confirm.timeout 600 s, the apply fails
#     after changing sshd and a ufw file; cron is stopped and disabled for
#     this step, so the cron @reboot hook cannot do it): after `docker
#     restart -t 0` (a power cut, then a systemd boot), the SYSTEMD unit
#     vpai-confirm-revert.service restores the previous configuration (its
#     journal, its result, and the revert log's "at boot (systemd)" say
#     which hook did it); the hooks are removed; ssh on 804 works.
# shellcheck disable=SC2016 # dpkg-query formats
set -euo pipefail
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
S=$VPAI_SOURCE_DIR
SECRETS=$S/tests/fixtures/secrets/plain.yml

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
# shellcheck source=tests/host/testhost-lib.sh
. "$S/tests/host/testhost-lib.sh"
testhost_available || { echo "skip: no docker or no base image $TESTHOST_BASE (images/build.sh)"; exit 77; }
# a network of its own (docker picks a free subnet): no other container can
# take the host's address while it reboots, and sshd listens on it
NET=vpai-t5007-$$
trap 'testhost_stop; docker network rm "$NET" >/dev/null 2>&1 || true' EXIT
t_start=$(date +%s)
docker network create "$NET" >/dev/null || fail "docker network create"
rc=0
testhost_start_systemd vpai-t5007 --hostname vps-prod-01 --network "$NET" \
    --cap-add NET_ADMIN --cap-add NET_RAW || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 77 ] || fail "cannot start the systemd test host"
if [ "$rc" = 77 ]; then
	echo "skip: systemd cannot boot as PID 1 in an unprivileged container here (cgroup $(stat -fc %T /sys/fs/cgroup))"
	exit 77
fi
[ "$(in_host cat /proc/1/comm)" = systemd ] || fail "PID 1 is not systemd"
in_host test -d /run/systemd/system || fail "no /run/systemd/system"
in_host systemctl is-active -q systemd-logind || fail "logind not running"
in_host test ! -e /usr/sbin/cron || fail "cron in the image"
ok "systemd is PID 1 ($(in_host systemctl is-system-running)), logind active, no cron, booted in $(($(date +%s) - t_start)) s"

CIDR=$(docker network inspect "$NET" -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}')
[ -n "$CIDR" ] || fail "no subnet for $NET"
# the tailscale STAND-IN of t5005 (the "VPN" is the test's docker network)
docker cp "$S/tests/host/tailscale-standin" "$NAME:/usr/bin/tailscale"
in_host sh -c "mkdir -p /var/lib/tailscale-standin && cd /var/lib/tailscale-standin &&
    echo Running >state && echo '$IP' >ip"
# a cloud image's default user: key + passwordless sudo
in_host sh -c 'useradd -m -s /bin/bash deploy && mkdir -m 700 ~deploy/.ssh &&
    cp /root/.ssh/authorized_keys ~deploy/.ssh/ && chown -R deploy: ~deploy/.ssh &&
    echo "deploy ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/90-cloud-init-users &&
    chmod 440 /etc/sudoers.d/90-cloud-init-users'
echo "[$IP]:804 $(cut -d' ' -f2- "$D/known_hosts")" >>"$D/known_hosts"
cp -r "$S/stack" "$D/stack"
sed -i '/^services:$/,/^cron:$/ s/^  - name: docker$/&\n    started: false/' "$D/stack/host/roles/docker.yml"
d=$(diff "$S/stack/host/roles/docker.yml" "$D/stack/host/roles/docker.yml" | grep '^[<>]' || true)
[ "$d" = '>     started: false' ] || fail "stack copy: unexpected change: $d"
export VPAI_STACK_DIR="$D/stack"
cat >"$D/site.yml" <<EOF
project_name: vpai
timezone: Europe/Paris
locale: fr_FR.UTF-8
docker_source: debian
vpn_verified: true
crowdsec_online: false
vpn_headscale_ip: $IP
vpn_network_cidr: $CIDR
EOF
conv() {	# conv OUT TARGET
	"$VPAI" --site "$D/site.yml" converge --secrets "$SECRETS" --target "$2" \
	    --ssh-config "$SSH_CONFIG" --become --stats >"$1.out" 2>"$1.err"
}
sshd_ok() {	# sshd_ok PORT: a real connection as deploy
	ssh -F "$SSH_CONFIG" -o BatchMode=yes -o ConnectTimeout=5 -p "$1" "deploy@$IP" true
}

# ---- a. the real role set, converged on the systemd host ----
t0=$(date +%s)
conv "$D/conv1" "ssh://deploy@$IP" || { cat "$D/conv1.out" "$D/conv1.err"; fail "converge"; }
t1=$(date +%s)
grep -q "confirmed: .* port 804" "$D/conv1.out" || { cat "$D/conv1.out"; fail "converge: sshd/ufw not confirmed on 804"; }
# disarmed: the timer's unit stopped, with its `sleep`
in_host systemctl is-active -q vpai-confirm-timer.service &&
    fail "the confirmed converge left its revert timer running"
in_host pgrep -x sleep >/dev/null && fail "a disarmed timer's sleep is left running"
ok "converge of the full role set: $(grep -c '^[+~-] ' "$D/conv1.out") change lines, $((t1 - t0)) s, confirmed on $IP:804"
for u in ssh fail2ban crowdsec crowdsec-firewall-bouncer; do
	in_host systemctl is-active -q "$u.service" || fail "systemctl: $u not active"
	in_host systemctl is-enabled -q "$u.service" || fail "systemctl: $u not enabled"
done
in_host systemctl is-enabled -q unattended-upgrades.service || fail "systemctl: unattended-upgrades not enabled"
in_host systemctl is-enabled -q docker.service || fail "systemctl: docker not enabled"
in_host systemctl is-enabled -q ufw.service || fail "systemctl: ufw not enabled"
in_host fail2ban-client status | grep -q 'Jail list:.*sshd' || fail "fail2ban: no sshd jail"
in_host cscli lapi status >/dev/null 2>&1 || fail "crowdsec: its Local API does not answer"
in_host grep -q 'Central API disabled' /var/log/crowdsec.log ||
    fail "crowdsec: not started with the Central API off (crowdsec_online: false)"
ok "systemctl: ssh, fail2ban (sshd jail), crowdsec (real unit, Local API answers, Central API off) and its bouncer active+enabled; unattended-upgrades, ufw and docker enabled"
sshd=$(in_host sshd -T)
for kv in 'port 804' "listenaddress $IP:804" 'permitrootlogin no' 'allowusers deploy'; do
	grep -qx "$kv" <<<"$sshd" || fail "sshd -T: no '$kv'"
done
sshd_ok 804 || fail "no ssh connection on 804"
if sshd_ok 22 2>/dev/null; then fail "ssh still answers on 22"; fi
ok "sshd: port 804 on $IP (sshd -T and a real connection), 22 closed"
ufw=$(in_host ufw status)
grep -qx 'Status: active' <<<"$ufw" || fail "ufw not active"
grep -Eq "^804/tcp +ALLOW +${CIDR//./\\.} +# vpai\$" <<<"$ufw" || { echo "$ufw"; fail "ufw: no SSH rule from $CIDR"; }
in_host iptables -S ufw-user-input | grep -q -- "--dport 804 -j ACCEPT" || fail "iptables: no SSH rule loaded"
ok "ufw active (SSH 804 from $CIDR, iptables loaded)"
t0=$(date +%s)
conv "$D/conv2" "ssh://deploy@$IP:804" || { cat "$D/conv2.out" "$D/conv2.err"; fail "second converge"; }
grep -q '^0 to change' "$D/conv2.out" || { cat "$D/conv2.out"; fail "second converge not a no-op"; }
ok "second converge: 0 changes ($(($(date +%s) - t0)) s)"

# ---- b. lockout: the timer survives the end of its ssh session ----
# logind set to kill a session's processes when it ends (KillUserProcesses=
# yes: upstream systemd's default, a hardening option on Debian); premise
# checked: a setsid process left by an ended ssh session is killed here
in_host sh -c 'mkdir -p /etc/systemd/logind.conf.d &&
    printf "[Login]\nKillUserProcesses=yes\n" >/etc/systemd/logind.conf.d/90-t5007.conf &&
    systemctl restart systemd-logind'
ssh -F "$SSH_CONFIG" -o BatchMode=yes -p 804 "deploy@$IP" \
    'setsid sleep 1234 </dev/null >/dev/null 2>&1 & sleep 0.5' || fail "lockout: premise ssh"
for _ in $(seq 50); do in_host pgrep -fx 'sleep 1234' >/dev/null || break; sleep 0.2; done
in_host pgrep -fx 'sleep 1234' >/dev/null && fail "lockout: premise: logind did not kill the ended session's processes"
DROPIN=/etc/ssh/sshd_config.d/10-vpai.conf
in_host cat "$DROPIN" >"$D/dropin.orig"
sed 's/^AllowUsers deploy$/AllowUsers someone-else/' "$D/dropin.orig" >"$D/dropin.lock"
grep -qx 'AllowUsers someone-else' "$D/dropin.lock" || fail "lockout: drop-in edit"
want() {	# want FILE TIMEOUT EXTRA-JQ
	jq -n --rawfile c "$1" --argjson t "$2" '{confirm: {timeout: $t},
	  files: [{path: "/etc/ssh/sshd_config.d/10-vpai.conf", mode: "0600", content: $c}],
	  services: [{name: "ssh", restart_on: ["/etc/ssh/sshd_config.d/10-vpai.conf"]}]}' | jq "$3"
}
want "$D/dropin.lock" 20 . >"$D/lock.json"
pid0=$(in_host systemctl show -p MainPID --value ssh.service)
t0=$(date +%s)
setsid "$VPAI" host apply --target "ssh://deploy@$IP:804" --ssh-config "$SSH_CONFIG" --become \
    --want "$D/lock.json" >"$D/lock.out" 2>"$D/lock.err" &
VPID=$!
for _ in $(seq 150); do
	in_host sshd -T 2>/dev/null | grep -qx 'allowusers someone-else' && break
	sleep 0.2
done
in_host sshd -T | grep -qx 'allowusers someone-else' || { cat "$D/lock.out" "$D/lock.err"; fail "lockout: not applied"; }
tpid=$(in_host cat /var/lib/vpai/confirm/pid)
in_host kill -0 "$tpid" || fail "lockout: no timer"
tcg=$(in_host cat "/proc/$tpid/cgroup" | grep -m1 'name=systemd\|^0::' | cut -d: -f3 |
    sed 's|^/docker/[0-9a-f]*||')
sess=
for x in $(in_host loginctl list-sessions --no-legend | awk '$3 == "deploy" { print $1 }'); do
	[ "$(in_host loginctl show-session "$x" -p State --value)" = active ] && sess="$sess $x"
done
sess=${sess# }
[ -n "$sess" ] || fail "lockout: no logind session for deploy's connection"
for _ in $(seq 50); do	# sshd restarted through systemctl (a new MainPID)
	p=$(in_host systemctl show -p MainPID --value ssh.service)
	[ "$p" != 0 ] && [ "$p" != "$pid0" ] && break
	sleep 0.2
done
[ "$p" != "$pid0" ] || fail "lockout: ssh.service not restarted"
sleep 2	# vpai's fresh connection is refused, it waits for the revert
# the operator's connection drops: vpai and its ssh die, and on the host
# the sshd processes of every deploy connection are killed
kill -KILL -- "-$VPID" 2>/dev/null || true
wait "$VPID" 2>/dev/null || true
for p in $(in_host pgrep -f '^sshd: deploy'); do in_host kill "$p" 2>/dev/null || true; done
live() {	# the sessions of $sess that logind still knows
	local x
	for x in $sess; do
		in_host loginctl show-session "$x" -p Id --value 2>/dev/null || true
	done
}
for _ in $(seq 50); do [ -z "$(live)" ] && break; sleep 0.2; done
[ -z "$(live)" ] || { in_host loginctl list-sessions; fail "lockout: session(s) $(live) still there"; }
in_host pgrep -f '^sshd: deploy' >/dev/null && fail "lockout: deploy's sshd still there"
in_host kill -0 "$tpid" || fail "lockout: the timer died with its session (it ran in $tcg)"
in_host test -e /var/lib/vpai/confirm/armed || fail "lockout: disarmed?"
for _ in $(seq 60); do in_host test -e /var/lib/vpai/confirm/reverted && break; sleep 0.5; done
t1=$(date +%s)
in_host test -e /var/lib/vpai/confirm/reverted || fail "lockout: not reverted"
in_host grep -q 'after 20 s' /var/lib/vpai/confirm/log || fail "lockout: revert log"
in_host sshd -T | grep -qx 'allowusers deploy' || fail "lockout: AllowUsers not restored"
p=$(in_host systemctl show -p MainPID --value ssh.service)
{ in_host systemctl is-active -q ssh.service && [ "$p" != 0 ]; } || fail "lockout: ssh.service not active after the revert"
in_host test ! -e /etc/systemd/system/vpai-confirm-revert.service || fail "lockout: systemd hook left"
sshd_ok 804 || fail "lockout: unreachable after the revert"
[ $((t1 - t0)) -le 40 ] || fail "lockout: took $((t1 - t0)) s"
in_host rm -rf /var/lib/vpai/confirm /etc/systemd/logind.conf.d/90-t5007.conf
in_host systemctl restart systemd-logind
ok "lockout (KillUserProcesses=yes): sshd restarted by systemctl refused deploy; deploy's session(s) $sess ended and were killed, the timer ($tcg) lived on and restored sshd in $((t1 - t0)) s; reachable on 804"

# ---- c. reboot inside the window: the systemd unit reverts at boot ----
in_host systemctl disable --now -q cron.service || fail "cannot disable cron"
sed 's/^MaxAuthTries 3$/MaxAuthTries 2/' "$D/dropin.orig" >"$D/dropin.reboot"
grep -qx 'MaxAuthTries 2' "$D/dropin.reboot" || fail "reboot: drop-in edit"
want "$D/dropin.reboot" 600 '.files += [{path: "/etc/ufw/applications.d/vpai-test",
  content: "[vpai-test]\ntitle=t\ndescription=t\nports=8080/tcp\n"}] |
  .services += [{name: "vpai-no-such-service"}]' >"$D/reboot.json"
rc=0
"$VPAI" host apply --target "ssh://deploy@$IP:804" --ssh-config "$SSH_CONFIG" --become \
    --want "$D/reboot.json" >"$D/reboot.out" 2>"$D/reboot.err" || rc=$?
[ "$rc" = 4 ] || { cat "$D/reboot.out" "$D/reboot.err"; fail "reboot: apply exit $rc, expected 4"; }
grep -q 'restores its previous sshd/ufw configuration by itself within 600 s' "$D/reboot.err" ||
    { cat "$D/reboot.err"; fail "reboot: the error does not announce the revert"; }
in_host sshd -T | grep -qx 'maxauthtries 2' || fail "reboot: sshd change not applied"
in_host test -e /etc/ufw/applications.d/vpai-test || fail "reboot: ufw file not written"
in_host test -e /var/lib/vpai/confirm/armed || fail "reboot: not armed"
in_host test -L /etc/systemd/system/multi-user.target.wants/vpai-confirm-revert.service ||
    fail "reboot: the systemd unit is not enabled"
in_host systemctl is-enabled -q cron.service && fail "reboot: cron enabled"
ip0=$IP
testhost_reboot
[ "$IP" = "$ip0" ] || echo "note: the container's address changed at the reboot ($ip0 -> $IP)"
bootlog() {	# on failure: what this boot did
	in_host journalctl -b --no-pager -o short-monotonic -u ssh.service -u vpai-confirm-revert.service >&2 || true
	in_host cat /var/lib/vpai/confirm/log >&2 || true
}
for _ in $(seq 60); do in_host test -e /var/lib/vpai/confirm/reverted 2>/dev/null && break; sleep 0.5; done
in_host test -e /var/lib/vpai/confirm/reverted || { bootlog; fail "reboot: not reverted at boot"; }
in_host grep -q 'at boot (systemd)' /var/lib/vpai/confirm/log ||
    { in_host cat /var/lib/vpai/confirm/log; fail "reboot: the revert log does not name the systemd unit"; }
in_host systemctl is-active -q cron.service && fail "reboot: cron ran at boot"
j=$(in_host journalctl -b -u vpai-confirm-revert.service --no-pager -o cat)
grep -q 'Finished vpai-confirm-revert.service\|Deactivated successfully' <<<"$j" ||
    { echo "$j"; fail "reboot: no successful run of vpai-confirm-revert.service in this boot's journal"; }
in_host sshd -T | grep -qx 'maxauthtries 3' || { bootlog; fail "reboot: MaxAuthTries not restored"; }
in_host test ! -e /etc/ufw/applications.d/vpai-test || fail "reboot: new ufw file not removed"
for h in /etc/systemd/system/vpai-confirm-revert.service \
    /etc/systemd/system/multi-user.target.wants/vpai-confirm-revert.service /etc/cron.d/vpai-confirm-revert; do
	in_host test ! -e "$h" || fail "reboot: hook $h left behind"
done
in_host ufw status | grep -qx 'Status: active' || fail "reboot: ufw not active after the boot"
# a container cannot run these two; nothing else may fail at boot
f=$(in_host systemctl --failed --no-legend --plain | awk '{ print $1 }' | sort | tr '\n' ' ')
[ "$f" = 'auditd.service docker.service docker.socket ' ] || fail "reboot: failed units: $f"
in_host systemctl is-active -q fail2ban.service || fail "reboot: fail2ban not started at boot"
sshd_ok 804 || fail "reboot: unreachable on 804"
ok "reboot inside a 600 s window (cron disabled): vpai-confirm-revert.service restored sshd and ufw at boot, hooks removed, ufw and fail2ban up, reachable on 804"
echo "t5007: all passed in $(($(date +%s) - t_start)) s"
