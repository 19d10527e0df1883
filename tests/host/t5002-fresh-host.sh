#!/usr/bin/env bash
# t5002-fresh-host: converge a "fresh VPS" (a container from the Debian 12
# debootstrap base with sshd + sudo, no package lists; testhost.Dockerfile)
# over ssh from scratch, assert the result ON the host, then re-apply as the
# new user through sudo: 0 changes in 1 round trip.
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
testhost_start vpai-t5002

jq -n --arg key "$(cat "$D/id.pub")" '{
  packages: {present: ["cron", "tzdata", "jq", "tmux"], absent: ["telnet"]},
  groups: [{name: "vpai", system: true}],
  users: [{name: "deploy", shell: "/bin/bash", groups: ["sudo", "vpai"]}],
  authorized_keys: [{user: "deploy", key: $key}],
  directories: [{path: "/opt/vpai", mode: "0755"},
		{path: "/opt/vpai/data", mode: "0750", owner: "root", group: "vpai"},
		{path: "/opt/vpai/backups", mode: "0700"}],
  files: [
    {path: "/etc/sudoers.d/90-deploy", mode: "0440",
     content: "deploy ALL=(ALL) NOPASSWD:ALL\n"},
    {path: "/etc/ssh/sshd_config.d/10-vpai.conf", mode: "0600",
     content: "PasswordAuthentication no\nPermitRootLogin prohibit-password\nKbdInteractiveAuthentication no\nMaxAuthTries 2\nX11Forwarding no\n"},
    {path: "/etc/motd", content: "vpai test host\n"}
  ],
  lines: [{path: "/etc/login.defs", line: "UMASK 027", regexp: "^UMASK[[:space:]]"}],
  sysctl: {file: "/etc/sysctl.d/60-vpai.conf", live: false,
	   values: {"net.ipv4.ip_forward": "1", "vm.swappiness": "10"}},
  cron: [{name: "docker-prune", schedule: "0 3 * * 0",
	  job: "docker system prune -af >/dev/null 2>&1"}],
  services: [{name: "cron"},
	     {name: "ssh", restart_on: ["/etc/ssh/sshd_config.d/10-vpai.conf"]}],
  timezone: "Europe/Paris"
}' >"$D/want.json"

# ---- first converge, as root ----
t0=$(date +%s)
"$VPAI" host apply --target "ssh://root@$IP" --ssh-config "$D/ssh_config" \
    --want "$D/want.json" --stats >"$D/apply1.out" 2>"$D/apply1.err" ||
    { cat "$D/apply1.out" "$D/apply1.err"; fail "first converge"; }
t1=$(date +%s)
grep -q 'applied: [0-9]* changed' "$D/apply1.out" || fail "first converge output"
grep -q '2 round trips' "$D/apply1.err" || { cat "$D/apply1.err"; fail "first converge: round trips"; }
ok "fresh host converged in $((t1 - t0)) s: $(grep -o 'applied: .*' "$D/apply1.out"); $(cat "$D/apply1.err")"

# ---- assertions on the host itself ----
sshd_t=$(in_host sshd -T)	# (not piped into grep -q: SIGPIPE + pipefail)
grep -qx 'passwordauthentication no' <<<"$sshd_t" || fail "sshd -T: passwordauthentication"
grep -qx 'maxauthtries 2' <<<"$sshd_t" || fail "sshd -T: maxauthtries"
grep -qx 'permitrootlogin without-password' <<<"$sshd_t" || fail "sshd -T: permitrootlogin"
# shellcheck disable=SC2016 # dpkg-query's own ${...}
[ "$(in_host dpkg-query -W -f='${db:Status-Abbrev}' cron jq tmux)" = 'ii ii ii ' ] ||
    fail "packages"
id_out=$(in_host id deploy)
case $id_out in *'(sudo)'*'(vpai)'*) ;; *) fail "deploy groups: $id_out" ;; esac
[ "$(in_host stat -c '%a %U %G' /opt/vpai/data)" = "750 root vpai" ] || fail "dir owner/mode"
[ "$(in_host stat -c '%a' /etc/sudoers.d/90-deploy)" = 440 ] || fail "sudoers mode"
in_host visudo -cq || fail "sudoers invalid"
in_host grep -qx 'net.ipv4.ip_forward = 1' /etc/sysctl.d/60-vpai.conf || fail "sysctl file"
in_host grep -qx 'UMASK 027' /etc/login.defs || fail "login.defs"
grep -qx '#vpai: docker-prune' <<<"$(in_host crontab -l)" || fail "crontab"
in_host /etc/init.d/cron status >/dev/null || fail "cron not running"
[ "$(in_host readlink /etc/localtime)" = /usr/share/zoneinfo/Europe/Paris ] || fail "timezone"
[ -z "$(in_host find /etc /opt -name '*vpai-tmp*')" ] || fail "temp files left"
ok "on the host: sshd -T hardened values, packages, user+groups, dirs, sudoers, sysctl, cron running, tz"

# ---- second converge as the new user through sudo: nothing to do ----
"$VPAI" host apply --target "ssh://deploy@$IP" --ssh-config "$D/ssh_config" \
    --become --want "$D/want.json" --stats >"$D/apply2.out" 2>"$D/apply2.err" ||
    { cat "$D/apply2.out" "$D/apply2.err"; fail "second converge"; }
grep -q '^0 to change' "$D/apply2.out" || { cat "$D/apply2.out"; fail "second converge not a no-op"; }
grep -q '1 round trip, 0 changes' "$D/apply2.err" || fail "second converge: round trips"
ok "second converge as deploy with sudo -n: 0 changes, 1 round trip"
echo "t5002: all passed"
