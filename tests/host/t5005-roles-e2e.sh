#!/usr/bin/env bash
# t5005-roles-e2e: the FULL host role set (common, docker, backup-config,
# headscale-node, hardening last) converged for real on a "fresh VPS"
# container (testhost-lib.sh), asserted on the host, plus the ufw
# commit-confirmed revert and the reboot-safe revert.
#
# The container gets only the capabilities it needs: NET_ADMIN + NET_RAW
# (iptables, so ufw and fail2ban's ufw action work inside) and
# AUDIT_CONTROL + AUDIT_WRITE.  auditd still cannot run: the kernel refuses
# audit netlink requests from any PID namespace but the initial one
# (auditctl -s: "Operation not permitted" even with CAP_AUDIT_CONTROL), so
# the plan reports it with a "!" line, enabled but not started.  dockerd
# cannot run either (it needs mounts and cgroups, i.e. --privileged): the
# test's stack copy sets the docker service "started: false" (checked
# below to be the only difference from stack/), and the docker.io site
# option is tested for what a container allows: the packages, daemon.json,
# the user in the docker group, the weekly prune cron.  /proc/sys is
# read-only in a container: the sysctl file is written and live values that
# cannot be set are "!" lines.  "Boot" is the image's sysv boot
# (testhost.Dockerfile) with --tmpfs /run.
#
# CrowdSec runs offline here (this machine cannot reach crowdsec.net): the
# test site sets crowdsec_online: false, so vpai writes the Central API
# credentials file as a comment before installing the package (Debian's
# documented opt-out, README.Debian).  Debian's crowdsec and
# crowdsec-firewall-bouncer ship systemd units only: tests/host/standin/
# holds sysv init scripts that run the units' commands, installed on the
# test host as NAMED STAND-INS for those units (the container has no
# systemd).  What runs is the real crowdsec and bouncer: the collections
# are checked with cscli, an ssh brute force (log lines replayed through
# crowdsec's own -dsn mode: no journald here) must end as a ban in the
# bouncer's nftables set.
#
# The test's "VPN" is the container's docker network (10.250.5.0/24, fixed
# address): vpn_verified true, vpn_headscale_ip the container's address,
# vpn_network_cidr the network's subnet, so sshd's
# ListenAddress and ufw's "SSH from the VPN CIDR" are exercised for real.
# The plan only restricts SSH to the VPN when the host's tailscale IPv4 (a
# fact) is vpn_headscale_ip: tailscale is a STAND-IN here
# (tests/host/tailscale-standin copied in as /usr/bin/tailscale, Running,
# reporting the container's address); t5006 tests the role and the refusals.
#
#  1. ufw lockout (REX #1: SSH only from a VPN the operator is not on):
#     root, port 22, ufw installed and enabled allowing 22 only from
#     100.64.0.0/10; the fresh connection fails, the host disables ufw by
#     itself within confirm.timeout (10 s), vpai exits 4, ssh works again.
#  2. `vpai converge` as the cloud image's sudo user (deploy), docker.io
#     site option: 2 round trips, confirmed by a fresh connection on
#     IP:804; then sshd -T, ufw, fail2ban, sysctl, directories, cron,
#     unattended-upgrades, auditd rules, locale, docker.io, CrowdSec
#     (collections, Local API, no Central API, bouncer, a ban) asserted on
#     the host.  A second converge: 0 changes, 1 round trip.
#  3. `vpai plan` with the default docker_source (docker-ce): the
#     download.docker.com repository with its signed-by key, apt update and
#     docker-ce packages are planned.
#  4. reboot inside the window: an apply changes sshd and a file under
#     /etc/ufw, then fails (confirm.timeout 600 s: the timer would fire in
#     10 min); the host "reboots" (docker restart -t 0: the timer dies);
#     the @reboot hook restores the previous configuration at boot.
#  5. ufw rule deletion: 443/udp removed from the test's copy of the rules
#     template; the converge deletes that rule (vpai's: comment 'vpai'),
#     keeps a rule the operator added by hand (no comment), tags an
#     untagged copy of a wanted rule (a host converged before rules were
#     tagged); commit-confirmed; the next converge has 0 changes.
#  NTP (step 2): systemd-timesyncd installed, its drop-in with the site's
#     ntp_servers; the service is a "!" line (no systemd in this container).
# Skipped when docker or the base image (images/build.sh) is not available.
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
# The host's own network with a fixed address, as a VPS keeps its address
# across reboots: on docker's default bridge a restarted container can get
# another address, and sshd's ListenAddress (the old one) then cannot bind.
NET=vpai-test-roles-$$
CIDR=10.250.5.0/24
trap 'testhost_stop; docker network rm "$NET" >/dev/null 2>&1' EXIT
docker network create --subnet "$CIDR" "$NET" >/dev/null || fail "docker network create $CIDR"
t_start=$(date +%s)
# --hostname: the name the site wants, as a cloud provider sets it (docker
# owns the live hostname; sethostname needs CAP_SYS_ADMIN)
testhost_start vpai-test-roles --hostname vps-prod-01 --tmpfs /run \
    --network "$NET" --ip 10.250.5.10 \
    --cap-add NET_ADMIN --cap-add NET_RAW --cap-add AUDIT_CONTROL --cap-add AUDIT_WRITE
[ "$IP" = 10.250.5.10 ] || fail "test host address $IP, expected 10.250.5.10"
# the tailscale STAND-IN, joined: its VPN IP is the container's address
docker cp "$S/tests/host/tailscale-standin" "$NAME:/usr/bin/tailscale"
in_host sh -c "mkdir -p /var/lib/tailscale-standin && cd /var/lib/tailscale-standin &&
    echo Running >state && echo '$IP' >ip"
export VPAI_STACK_DIR="$S/stack"

# ---- 1. ufw lockout, reverted by the host itself ----
jq -n '{confirm: {timeout: 10}, packages: {present: ["ufw"]},
  ufw: {rules: [{port: "80"}, {port: "22", from: "100.64.0.0/10"}]}}' >"$D/ufw-lock.json"
t0=$(date +%s)
rc=0
"$VPAI" host apply --target "$T" --ssh-config "$SSH_CONFIG" --want "$D/ufw-lock.json" \
    >"$D/ufw.out" 2>"$D/ufw.err" || rc=$?
t1=$(date +%s)
[ "$rc" = 4 ] || { cat "$D/ufw.out" "$D/ufw.err"; fail "ufw lockout: exit $rc, expected 4"; }
grep -q "step 'confirm'.*reverted the change by itself" "$D/ufw.err" ||
    { cat "$D/ufw.err"; fail "ufw lockout: not reported as reverted"; }
in_host dpkg-query -W -f='${Status}' ufw | grep -q 'install ok installed' || fail "ufw lockout: ufw not installed"
in_host grep -qx 'ENABLED=no' /etc/ufw/ufw.conf || fail "ufw lockout: ufw still enabled"
in_host ufw status | grep -qx 'Status: inactive' || fail "ufw lockout: ufw still active"
in_host test ! -e /var/lib/vpai/confirm || fail "ufw lockout: confirm dir left behind"
ssh -F "$SSH_CONFIG" -o BatchMode=yes "root@$IP" true || fail "ufw lockout: host unreachable after the revert"
[ $((t1 - t0)) -le 60 ] || fail "ufw lockout: took $((t1 - t0)) s"
ok "ufw lockout (SSH only from 100.64.0.0/10): fresh connection failed, the host disabled ufw by itself, reachable again ($((t1 - t0)) s)"

# ---- 2. the full role set, docker.io option, as the sudo user ----
# a cloud image's default user: key + passwordless sudo
in_host sh -c 'useradd -m -s /bin/bash deploy && mkdir -m 700 ~deploy/.ssh &&
    cp /root/.ssh/authorized_keys ~deploy/.ssh/ && chown -R deploy: ~deploy/.ssh &&
    echo "deploy ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/90-cloud-init-users &&
    chmod 440 /etc/sudoers.d/90-cloud-init-users'
# STAND-INS for crowdsec.service and crowdsec-firewall-bouncer.service (no
# systemd in the container; see the header)
for u in crowdsec crowdsec-firewall-bouncer; do
	in_host sh -c "cat >/etc/init.d/$u && chmod 755 /etc/init.d/$u" <"$S/tests/host/standin/$u.init"
done
echo "[$IP]:804 $(cut -d' ' -f2- "$D/known_hosts")" >>"$D/known_hosts"
cp -r "$S/stack" "$D/stack"
sed -i '/^services:$/,/^cron:$/ s/^  - name: docker$/&\n    started: false/' "$D/stack/host/roles/docker.yml"
d=$(diff "$S/stack/host/roles/docker.yml" "$D/stack/host/roles/docker.yml" | grep '^[<>]' || true)
[ "$d" = '>     started: false' ] || fail "stack copy: unexpected change: $d"
export VPAI_STACK_DIR="$D/stack"
site() {	# site FILE DOCKER_SOURCE
	cat >"$1" <<EOF
project_name: vpai
timezone: Europe/Paris
locale: fr_FR.UTF-8
docker_source: $2
crowdsec_online: false
vpn_verified: true
vpn_headscale_ip: $IP
vpn_network_cidr: $CIDR
ntp_servers: ntp1.vpai.test ntp2.vpai.test
EOF
}
site "$D/site-debian.yml" debian
site "$D/site-ce.yml" docker-ce
conv() {	# conv OUT TARGET [args...]
	local o=$1 t=$2
	shift 2
	"$VPAI" --site "$D/site-debian.yml" converge --secrets "$SECRETS" --target "$t" \
	    --ssh-config "$SSH_CONFIG" --become --stats "$@" >"$o.out" 2>"$o.err"
}
# interrupted: Ctrl-C (SIGINT to vpai's process group: vpai and its ssh)
# while apt-get installs on the host; the step in progress finishes, the
# remote script dies at its next write, nothing is half-written, vpai says
# which host and step were interrupted (exit 130), and the re-run below
# converges.  env --default-signal: bash starts background jobs with
# SIGINT ignored; a terminal's Ctrl-C finds the default disposition.
setsid env --default-signal=INT "$VPAI" --site "$D/site-debian.yml" converge --secrets "$SECRETS" \
    --target "ssh://deploy@$IP" --ssh-config "$SSH_CONFIG" --become \
    >"$D/int.out" 2>"$D/int.err" &
VPID=$!
for _ in $(seq 300); do in_host pgrep -x apt-get >/dev/null && break; sleep 0.1; done
in_host pgrep -x apt-get >/dev/null || { cat "$D/int.out" "$D/int.err"; fail "interrupt: apt-get never ran"; }
kill -INT -- "-$VPID" 2>/dev/null || true
rc=0; wait "$VPID" || rc=$?
[ "$rc" = 130 ] || { cat "$D/int.err"; fail "interrupt: vpai exited $rc, expected 130"; }
grep -q "'ssh://deploy@$IP': step 'apply'.*interrupted (SIGINT/SIGTERM).*re-run to converge" "$D/int.err" ||
    { cat "$D/int.err"; fail "interrupt: message"; }
for _ in $(seq 120); do in_host pgrep -f 'apt-get|dpkg' >/dev/null || break; sleep 0.5; done
in_host dpkg --audit | grep -q . && fail "interrupt: dpkg left packages half-configured"
left=$(in_host find /etc /opt -name '*.vpai-tmp.*' 2>/dev/null || true)
[ -z "$left" ] || fail "interrupt: temp files left: $left"
in_host test ! -e /etc/ssh/sshd_config.d/10-vpai.conf || fail "interrupt: ran past the packages step"
# crowdsec_online: false: the Central API opt-out is written BEFORE the
# packages (crowdsec's postinst reads it)
in_host head -n 1 /etc/crowdsec/online_api_credentials.yaml 2>/dev/null | grep -q '^# vpai: crowdsec.online is false' ||
    fail "interrupt: the crowdsec opt-out file was not written before apt-get"
ok "converge interrupted (SIGINT) during apt-get install: exit $rc '$(tail -n 1 "$D/int.err" | cut -c1-120)', dpkg consistent, no temp file, sshd untouched, crowdsec opt-out already written"
t0=$(date +%s)
conv "$D/conv1" "ssh://deploy@$IP" || { cat "$D/conv1.out" "$D/conv1.err"; fail "converge"; }
t1=$(date +%s)
grep -q ': 2 round trips' "$D/conv1.err" || { cat "$D/conv1.err"; fail "converge: round trips"; }
grep -q "confirmed: .* port 804" "$D/conv1.out" || { cat "$D/conv1.out"; fail "converge: sshd/ufw not confirmed on 804"; }
grep -q '^- role headscale-node: skipped' "$D/conv1.out" || fail "converge: headscale-node not reported as skipped"
ok "converge of the full role set: $(grep -c '^[+~-] ' "$D/conv1.out") change lines, 2 round trips, $((t1 - t0)) s, confirmed on $IP:804"

sshd=$(in_host sshd -T)
for kv in 'port 804' "listenaddress $IP:804" 'permitrootlogin no' 'passwordauthentication no' \
    'kbdinteractiveauthentication no' 'allowusers deploy' 'maxauthtries 3' 'x11forwarding no'; do
	grep -qx "$kv" <<<"$sshd" || fail "sshd -T: no '$kv'"
done
ok "sshd -T: port 804 on $IP only, no root or password login, AllowUsers deploy"

ufw=$(in_host ufw status verbose)
grep -qx 'Status: active' <<<"$ufw" || fail "ufw not active"
grep -q '^Default: deny (incoming), allow (outgoing)' <<<"$ufw" || { echo "$ufw"; fail "ufw defaults"; }
# every rule vpai adds carries the comment 'vpai' (how it finds its own)
for rule in '80/tcp +ALLOW IN +Anywhere +# vpai$' '443/tcp +ALLOW IN +Anywhere +# vpai$' '443/udp +ALLOW IN +Anywhere +# vpai$' \
    "804/tcp +ALLOW IN +${CIDR//./\\.} +# vpai\$" '41641/udp +ALLOW IN +Anywhere +# vpai$'; do
	grep -Eq "^$rule" <<<"$ufw" || { echo "$ufw"; fail "ufw: no rule /$rule/"; }
done
if grep -Eq '^804/tcp +ALLOW IN +Anywhere' <<<"$ufw"; then fail "ufw: SSH open to anywhere"; fi
in_host iptables -S ufw-user-input | grep -q -- "-s $CIDR .*--dport 804 -j ACCEPT" ||
    fail "iptables: no SSH rule from $CIDR"
ok "ufw active: deny incoming; 80, 443, 41641/udp; SSH 804 only from the VPN CIDR $CIDR (iptables loaded); each rule commented 'vpai'"

in_host fail2ban-client ping | grep -q pong || fail "fail2ban not running"
in_host fail2ban-client status | grep -q 'Jail list:.*sshd' || fail "fail2ban: no sshd jail"
in_host fail2ban-client get sshd banaction 2>/dev/null | grep -q ufw ||
    in_host grep -q '^banaction = ufw' /etc/fail2ban/jail.local || fail "fail2ban: banaction"
ok "fail2ban running with the sshd jail (journal backend, python3-systemd installed by vpai)"

in_host grep -qx 'net.ipv4.ip_forward = 1' /etc/sysctl.d/99-vpai.conf || fail "sysctl file: ip_forward"
in_host grep -qx 'vm.swappiness = 10' /etc/sysctl.d/99-vpai.conf || fail "sysctl file: swappiness"
[ "$(in_host cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || fail "ip_forward is not 1"
grep -q '^! sysctl vm.swappiness: .*read-only /proc/sys' "$D/conv1.out" || fail "sysctl: read-only keys not reported"
ok "sysctl: 99-vpai.conf written (ip_forward = 1, live 1); read-only live keys reported with '!'"

for dir in /opt/vpai /opt/vpai/configs /opt/vpai/data /opt/vpai/logs /opt/vpai/backups /opt/vpai/backups/dumps /var/log/vpai /etc/docker; do
	in_host test -d "$dir" || fail "directory $dir missing"
done
[ "$(in_host stat -c %U /opt/vpai)" = deploy ] || fail "/opt/vpai owner"
[ "$(in_host stat -c %a /opt/vpai/backups)" = 700 ] || fail "/opt/vpai/backups mode"
ct=$(in_host crontab -l -u root)
grep -q '^0 4 \* \* 0 docker system prune' <<<"$ct" || fail "cron: weekly docker prune"
grep -q '^55 2 \* \* \* /opt/vpai/scripts/pre-backup.sh' <<<"$ct" || fail "cron: 02:55 pre-backup"
in_host /etc/init.d/cron status >/dev/null || fail "cron not running"
ok "directories (owners, modes), root crontab (weekly prune, 02:55 pre-backup), cron running"

uu=$(in_host cat /etc/apt/apt.conf.d/50unattended-upgrades)
grep -q 'label=Debian-Security' <<<"$uu" || fail "unattended-upgrades: no security origin"
if grep -E '^[[:space:]]*"origin=Debian,codename=\$\{distro_codename\}(-updates)?,label=Debian";' <<<"$uu"; then
	fail "unattended-upgrades: non-security origin"
fi
in_host grep -q 'Unattended-Upgrade "1"' /etc/apt/apt.conf.d/20auto-upgrades || fail "20auto-upgrades"
in_host dpkg-query -W -f='${Status}' unattended-upgrades | grep -q 'ok installed' || fail "unattended-upgrades not installed"
ok "unattended-upgrades: installed, security origins only, periodic run enabled"

in_host grep -q -- '-k privileged-sudo' /etc/audit/rules.d/vpai.rules || fail "auditd rules"
in_host test -e /etc/rc2.d/S01auditd || fail "auditd not enabled"
if in_host auditctl -s >/dev/null 2>&1; then fail "auditctl works here: the test's premise changed"; fi
ok "auditd: installed, rules in /etc/audit/rules.d/vpai.rules, enabled; not started (kernel refuses audit in a container PID namespace)"

in_host locale -a | grep -qx 'fr_FR.utf8' || fail "locale not generated"
in_host grep -qx 'fr_FR.UTF-8 UTF-8' /etc/locale.gen || fail "locale.gen"
in_host grep -qx 'LANG=fr_FR.UTF-8' /etc/default/locale || fail "/etc/default/locale"
[ "$(in_host readlink /etc/localtime)" = /usr/share/zoneinfo/Europe/Paris ] || fail "timezone"
ok "locale fr_FR.UTF-8 generated and set as LANG; timezone Europe/Paris"

# NTP: the package and the drop-in are real; the service cannot run in this
# sysv container (no systemd) and is a "!" line (asserted in conv2 below)
in_host dpkg-query -W -f='${Status}' systemd-timesyncd | grep -q 'ok installed' || fail "systemd-timesyncd not installed"
[ "$(in_host grep '^NTP=' /etc/systemd/timesyncd.conf.d/vpai.conf)" = 'NTP=ntp1.vpai.test ntp2.vpai.test' ] ||
    fail "timesyncd drop-in: not the site's ntp_servers"
[ "$(in_host stat -c '%a %U' /etc/systemd/timesyncd.conf.d/vpai.conf)" = '644 root' ] || fail "timesyncd drop-in: mode/owner"
grep -q '^! service systemd-timesyncd: .*no systemd here' "$D/conv1.out" || { cat "$D/conv1.out"; fail "converge: timesyncd not reported with '!'"; }
ok "ntp: systemd-timesyncd installed, drop-in NTP= the site's ntp_servers; service reported with '!' (no systemd here)"

[ "$(in_host hostname)" = vps-prod-01 ] && [ "$(in_host cat /etc/hostname)" = vps-prod-01 ] || fail "hostname"
dom=$(sed -n 's/^domain_name: *//p' "$D/site-debian.yml" | tr -d "\"'")
dom=${dom:-vpai.localhost}
in_host grep -qx "127.0.1.1 vps-prod-01.$dom vps-prod-01" /etc/hosts ||
    { in_host cat /etc/hosts; fail "/etc/hosts: no 127.0.1.1 entry"; }
[ "$(in_host grep -c '^127.0.1.1' /etc/hosts)" = 1 ] || fail "/etc/hosts: 127.0.1.1 more than once"
ok "hostname vps-prod-01; /etc/hosts: 127.0.1.1 vps-prod-01.$dom (docker's bind-mounted file rewritten in place)"

for p in docker.io docker-compose tmux htop locales; do
	in_host dpkg-query -W -f='${Status}' "$p" | grep -q 'ok installed' || fail "$p not installed"
done
in_host jq -e '."live-restore" == true and ."log-opts"."max-size" == "10m"' /etc/docker/daemon.json >/dev/null ||
    fail "daemon.json"
in_host id -nG deploy | tr ' ' '\n' | grep -qx docker || fail "deploy not in the docker group"
in_host id -nG deploy | tr ' ' '\n' | grep -qx sudo || fail "deploy not in the sudo group"
if in_host dpkg-query -W -f='${Status}' telnet 2>/dev/null | grep -q 'ok installed'; then fail "telnet installed"; fi
ok "docker.io option: docker.io + docker-compose installed, daemon.json, deploy in docker and sudo"

for p in crowdsec crowdsec-firewall-bouncer nftables; do
	in_host dpkg-query -W -f='${Status}' "$p" | grep -q 'ok installed' || fail "$p not installed"
done
in_host head -n 1 /etc/crowdsec/online_api_credentials.yaml | grep -q '^# vpai: crowdsec.online is false' ||
    fail "crowdsec: Central API credentials file not vpai's opt-out"
if in_host grep -q '^login:' /etc/crowdsec/online_api_credentials.yaml; then fail "crowdsec: registered with the Central API"; fi
# --branch: cscli otherwise asks version.crowdsec.net which hub branch to
# use before listing anything (unreachable here)
cols=$(in_host cscli --branch master collections list -o json)
for c in linux sshd http-cve; do
	jq -e --arg n "crowdsecurity/$c" '.collections[] | select(.name == $n) | .status == "enabled"' \
	    <<<"$cols" | grep -qx true || { echo "$cols"; fail "crowdsec: collection $c not enabled"; }
done
in_host /etc/init.d/crowdsec status || fail "crowdsec not running"
in_host test -e /etc/rc2.d/S01crowdsec || fail "crowdsec not enabled"
in_host cscli lapi status >/dev/null 2>&1 || fail "crowdsec: the Local API does not answer"
in_host grep -q 'Communication with CrowdSec Central API disabled' /var/log/crowdsec.log || fail "crowdsec: Central API not disabled"
in_host /etc/init.d/crowdsec-firewall-bouncer status || fail "crowdsec-firewall-bouncer not running"
in_host cscli bouncers list -o json | jq -e 'map(select(.name | startswith("FirewallBouncer-")))[0].revoked == false' \
    >/dev/null || fail "crowdsec: the firewall bouncer is not registered"
ok "CrowdSec: crowdsec + firewall bouncer installed and running (stand-in init scripts), collections linux, sshd, http-cve enabled, Central API off (crowdsec_online: false)"
# an ssh brute force from 198.51.100.9 (TEST-NET-2), replayed through the
# sshd collection; the ban must reach the bouncer's nftables set
# (syslog time stamps of now, in the host's zone: a ban lasts 4 h from the
# events' time)
in_host sh -c 't=$(date "+%b %e %H:%M:%S"); for i in 10 11 12 13 14 15 16 17 18 19 20 21; do
	echo "$t vps-prod-01 sshd[12$i]: Failed password for root from 198.51.100.9 port 40$i ssh2"
done >/tmp/ssh-bf.log'
in_host crowdsec -c /etc/crowdsec/config.yaml -dsn file:///tmp/ssh-bf.log -type syslog -no-api >/dev/null 2>&1 ||
    fail "crowdsec: replaying the ssh log failed"
in_host cscli decisions list -o json | jq -e 'map(.decisions[]? | select(.value == "198.51.100.9" and .type == "ban"))
    | length > 0' >/dev/null || { in_host cscli alerts list; fail "crowdsec: no ban decision for the ssh brute force"; }
for _ in $(seq 30); do
	in_host nft list set ip crowdsec crowdsec-blacklists 2>/dev/null | grep -q '198\.51\.100\.9' && break
	sleep 1
done
in_host nft list set ip crowdsec crowdsec-blacklists | grep -q '198\.51\.100\.9' ||
    fail "crowdsec: the ban is not in the bouncer's nftables set"
ok "CrowdSec: ssh brute force (sshd collection) -> ban decision -> 198.51.100.9 in the bouncer's nftables set"

conv "$D/conv2" "ssh://deploy@$IP:804" || { cat "$D/conv2.out" "$D/conv2.err"; fail "second converge"; }
grep -q '^0 to change' "$D/conv2.out" || { cat "$D/conv2.out"; fail "second converge not a no-op"; }
grep -q ': 1 round trip' "$D/conv2.err" || { cat "$D/conv2.err"; fail "second converge: round trips"; }
grep -q '^! service auditd: .*the kernel refuses audit here' "$D/conv2.out" ||
    { cat "$D/conv2.out"; fail "second converge: auditd not reported"; }
grep -q '^! service systemd-timesyncd: .*no systemd here' "$D/conv2.out" ||
    { cat "$D/conv2.out"; fail "second converge: systemd-timesyncd not reported"; }
ok "second converge: 0 changes, 1 round trip"
# a collection removed by hand: planned again, and installing it needs the
# online hub (unreachable here): the error names the host, the step and
# cscli's reason; then the link is put back as cscli had made it
LINK=/etc/crowdsec/collections/sshd.yaml
target=$(in_host readlink "$LINK")
in_host rm "$LINK"
rc=0
conv "$D/conv-cs" "ssh://deploy@$IP:804" || rc=$?
[ "$rc" != 0 ] || fail "converge without the sshd collection and without the hub succeeded"
grep -q "^+ crowdsec-collection crowdsecurity/sshd: install (not enabled)" "$D/conv-cs.out" ||
    { cat "$D/conv-cs.out"; fail "removed collection not planned"; }
grep -q "'ssh://deploy@$IP:804': step [0-9]* (crowdsec-collection crowdsecurity/sshd: install): cscli: .*version\.crowdsec\.net" \
    "$D/conv-cs.err" || { cat "$D/conv-cs.err"; fail "collection install failure: message"; }
in_host ln -s "$target" "$LINK"
ok "a missing collection is planned; installing it offline fails naming host, step and cscli's reason ($(grep -o 'version\.crowdsec\.net[^"]*' "$D/conv-cs.err" | head -n 1))"

# ---- 3. docker-ce (the default) at plan level ----
"$VPAI" --site "$D/site-ce.yml" plan --secrets "$SECRETS" --target "ssh://deploy@$IP:804" \
    --ssh-config "$SSH_CONFIG" --become >"$D/plan-ce.out" 2>"$D/plan-ce.err" ||
    { cat "$D/plan-ce.out" "$D/plan-ce.err"; fail "plan (docker-ce)"; }
for l in '^+ file /etc/apt/keyrings/docker.asc: create' \
    '^+ file /etc/apt/sources.list.d/docker.sources: create' '^    +URIs: https://download.docker.com/linux/debian$' \
    '^    +Signed-By: /etc/apt/keyrings/docker.asc$' '^~ apt-update package lists' \
    '^+ apt docker-ce: install' '^+ apt containerd.io: install' '^+ apt docker-compose-plugin: install'; do
	grep -q -- "$l" "$D/plan-ce.out" || { cat "$D/plan-ce.out"; fail "plan (docker-ce): no /$l/"; }
done
grep -q '^    +mQINBFit2ioBEADhWpZ8' "$D/plan-ce.out" || fail "plan (docker-ce): the key is not Docker's"
ok "docker-ce default: repository, signed-by key, apt update and docker-ce packages planned"

# ---- 4. reboot inside the commit-confirmed window ----
DROPIN=/etc/ssh/sshd_config.d/10-vpai.conf
in_host cat "$DROPIN" | sed 's/^MaxAuthTries 3$/MaxAuthTries 2/' >"$D/dropin"
grep -qx 'MaxAuthTries 2' "$D/dropin" || fail "reboot: drop-in edit"
jq -n --rawfile c "$D/dropin" '{confirm: {timeout: 600},
  files: [{path: "/etc/ssh/sshd_config.d/10-vpai.conf", mode: "0600", content: $c},
	  {path: "/etc/ufw/applications.d/vpai-test", content: "[vpai-test]\ntitle=t\ndescription=t\nports=8080/tcp\n"}],
  services: [{name: "ssh", restart_on: ["/etc/ssh/sshd_config.d/10-vpai.conf"]},
	     {name: "vpai-no-such-service"}]}' >"$D/reboot.json"
rc=0
"$VPAI" host apply --target "ssh://deploy@$IP:804" --ssh-config "$SSH_CONFIG" --become \
    --want "$D/reboot.json" >"$D/reboot.out" 2>"$D/reboot.err" || rc=$?
[ "$rc" = 4 ] || { cat "$D/reboot.out" "$D/reboot.err"; fail "reboot: apply exit $rc, expected 4"; }
grep -q 'restores its previous sshd/ufw configuration by itself within 600 s' "$D/reboot.err" ||
    { cat "$D/reboot.err"; fail "reboot: the error does not announce the revert"; }
in_host sshd -T | grep -qx 'maxauthtries 2' || fail "reboot: sshd change not applied"
in_host test -e /etc/ufw/applications.d/vpai-test || fail "reboot: ufw file not written"
in_host test -e /var/lib/vpai/confirm/armed || fail "reboot: not armed"
in_host grep -qx '@reboot root sh /var/lib/vpai/confirm/revert.sh /var/lib/vpai/confirm 0 1 1' \
    /etc/cron.d/vpai-confirm-revert || fail "reboot: no @reboot hook"
testhost_reboot
for _ in $(seq 60); do in_host test -e /var/lib/vpai/confirm/reverted 2>/dev/null && break; sleep 1; done
in_host test -e /var/lib/vpai/confirm/reverted || { in_host cat /var/log/boot.log; fail "reboot: not reverted at boot"; }
in_host grep -q 'at boot' /var/lib/vpai/confirm/log || fail "reboot: revert log"
in_host sshd -T | grep -qx 'maxauthtries 3' || fail "reboot: MaxAuthTries not restored"
in_host test ! -e /etc/ufw/applications.d/vpai-test || fail "reboot: new ufw file not removed"
in_host test ! -e /etc/cron.d/vpai-confirm-revert || fail "reboot: hook left behind"
in_host ufw status | grep -qx 'Status: active' || fail "reboot: ufw not active after the boot"
ssh -F "$SSH_CONFIG" -o BatchMode=yes -p 804 "deploy@$IP" true || fail "reboot: unreachable on 804"
ok "reboot inside a 600 s window: the timer died, the @reboot hook restored sshd and ufw at boot, reachable on 804"
conv "$D/conv3" "ssh://deploy@$IP:804" || { cat "$D/conv3.out" "$D/conv3.err"; fail "converge after the reboot"; }
# Docker regenerates its bind-mounted /etc/hosts at every container start (a
# real host keeps the file): the 127.0.1.1 entry is the one thing to redo.
grep -q '^1 to change' "$D/conv3.out" && grep -q '^~ file /etc/hosts: update' "$D/conv3.out" ||
    { cat "$D/conv3.out"; fail "converge after the reboot: more than docker's /etc/hosts to redo"; }
conv "$D/conv4" "ssh://deploy@$IP:804" || { cat "$D/conv4.out" "$D/conv4.err"; fail "converge after the reboot (2)"; }
grep -q '^0 to change' "$D/conv4.out" || { cat "$D/conv4.out"; fail "converge after the reboot not a no-op"; }
ok "converge after the reboot: only docker's regenerated /etc/hosts redone, then 0 changes"

# ---- 5. ufw: a rule removed from the rules file is deleted; the operator's stay ----
# The operator's own rule (no comment), and 80/tcp as a vpai from before
# rules were tagged left it (no comment: re-added with it, i.e. adopted).
in_host ufw allow 8080/tcp >/dev/null
in_host ufw delete allow proto tcp from any to any port 80 >/dev/null
in_host ufw allow proto tcp from any to any port 80 >/dev/null
in_host ufw status verbose | grep -Eq '^80/tcp +ALLOW IN +Anywhere *$' || fail "ufw: untagged 80/tcp setup"
sed -i '/^allow 443\/udp$/d' "$D/stack/templates/host/ufw.rules.j2"
grep -q '443/udp' "$D/stack/templates/host/ufw.rules.j2" && fail "stack copy: 443/udp still in the rules"
conv "$D/conv5" "ssh://deploy@$IP:804" || { cat "$D/conv5.out" "$D/conv5.err"; fail "converge without 443/udp"; }
for l in '^- ufw allow 443/udp from any: delete' '^~ ufw allow 80/tcp from any: tag' '^2 to change'; do
	grep -q "$l" "$D/conv5.out" || { cat "$D/conv5.out"; fail "converge without 443/udp: no /$l/"; }
done
grep -q "confirmed: .* port 804" "$D/conv5.out" || { cat "$D/conv5.out"; fail "ufw delete: not commit-confirmed"; }
in_host test ! -e /var/lib/vpai/confirm || fail "ufw delete: confirm dir left behind"
ufw=$(in_host ufw status verbose)
if grep -q '443/udp' <<<"$ufw"; then echo "$ufw"; fail "ufw: 443/udp still there"; fi
grep -Eq '^8080/tcp +ALLOW IN +Anywhere *$' <<<"$ufw" || { echo "$ufw"; fail "ufw: the operator's 8080/tcp was touched"; }
grep -Eq '^80/tcp +ALLOW IN +Anywhere +# vpai$' <<<"$ufw" || { echo "$ufw"; fail "ufw: 80/tcp not tagged"; }
grep -Eq '^443/tcp +ALLOW IN +Anywhere +# vpai$' <<<"$ufw" || { echo "$ufw"; fail "ufw: 443/tcp gone"; }
in_host iptables -S ufw-user-input | grep -q -- '-p udp .*--dport 443 ' && fail "iptables: 443/udp still loaded"
conv "$D/conv6" "ssh://deploy@$IP:804" || { cat "$D/conv6.out" "$D/conv6.err"; fail "converge after the delete"; }
grep -q '^0 to change' "$D/conv6.out" || { cat "$D/conv6.out"; fail "converge after the delete not a no-op"; }
ok "ufw: 443/udp (vpai's, gone from the rules) deleted, commit-confirmed; the operator's 8080/tcp kept; untagged 80/tcp adopted; then 0 changes"

left=$(in_host find /etc /opt /var/lib/vpai /run -name '*.vpai-tmp.*' 2>/dev/null || true)
[ -z "$left" ] || fail "temp files left on the host: $left"
ok "no half-written file (*.vpai-tmp.*) left on the host after the failed and reverted applies"
echo "t5005: all passed in $(($(date +%s) - t_start)) s"
