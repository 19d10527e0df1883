#!/usr/bin/env bash
# shellcheck disable=SC2016 # the sh -c scripts expand their own "$1"...
# bench/host.sh: time `vpai host` facts gathering and a no-op converge over
# ssh to a private sshd on 127.0.0.1, against the SSH floor measured here and
# the Ansible figures recorded in ../shared/bench/ansible-baseline/.
#
#	bench/host.sh [RUNS]          (default 20; needs root, sshd, crontab)
#	VPAI=build/x/vpai bench/host.sh
#	BENCH_TARGET=container bench/host.sh   a fresh Debian 12 container on
#	    the docker bridge (tests/host/testhost.Dockerfile), like the
#	    baseline's target; its first converge installs the packages
#
# The desired state is close to the Ansible baseline's role set: 12 packages
# (already installed here), 13 managed files (one ~8 KiB), 8 directories,
# 4 line-in-file edits, 6 sysctl keys (persisted, and live values compared),
# a user with a group and an authorized key, 2 cron entries, /etc/hosts-style
# entry.  Files live under a temp root; the user is created by the first
# converge and removed at the end.  Ansible is not run here (it would
# converge this machine); its figures are quoted from its README.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
RUNS=${1:-20}
VPAI=${VPAI:-$(find build -maxdepth 2 -name vpai -type f -printf '%T@ %p\n' 2>/dev/null |
    sort -rn | head -n 1 | cut -d' ' -f2)}
[ -x "$VPAI" ] || { echo "build vpai first (or set VPAI)" >&2; exit 1; }
export VPAI_STACK_DIR="$SRC/stack"

# Ansible baseline (ansible-baseline/README.md, series B, medians, seconds)
ANSIBLE_NOOP_DEFAULT=23.44
ANSIBLE_NOOP_FAST=18.73
FLOOR_COLD=0.300
FLOOR_WARM=0.057
SSH_TRUE_COLD=0.261	# `ssh root@IP true`, new connection, same series
CHECK_SH=${CHECK_SH:-$SRC/../shared/bench/ansible-baseline/check.sh}

MODE=${BENCH_TARGET:-local}
TUSER=vpai-bench
if [ "$MODE" = container ]; then
	# a fresh Debian 12 container over the docker bridge, like the
	# baseline's ab-target (tests/host/testhost.Dockerfile)
	# shellcheck source=tests/host/testhost-lib.sh
	. "$SRC/tests/host/testhost-lib.sh"
	testhost_available || { echo "no docker or no base image $TESTHOST_BASE" >&2; exit 1; }
	trap testhost_stop EXIT
	testhost_start vpai-bench
	on_target() { in_host sh -c "$1"; }
	R=/srv/vpai-bench
else
	# shellcheck source=tests/host/sshd-lib.sh
	. "$SRC/tests/host/sshd-lib.sh"
	cleanup() {
		sshd_stop
		crontab -r -u "$TUSER" 2>/dev/null || true
		if id "$TUSER" >/dev/null 2>&1; then userdel "$TUSER" 2>/dev/null || true; fi
	}
	trap cleanup EXIT
	id "$TUSER" >/dev/null 2>&1 && { echo "user $TUSER exists: remove it first" >&2; exit 1; }
	sshd_start vpai-bench
	on_target() { sh -c "$1"; }
	R="$D/root"
fi
H=(--target "$T" --ssh-config "$SSH_CONFIG")
PORT=${PORT:-22}
HOSTIP=${IP:-127.0.0.1}
export HOSTIP

on_target "mkdir -p '$R/etc/sudoers.d' '$R/etc/profile.d' '$R/etc/limits.d' \
    '$R/etc/logrotate.d' '$R/home' &&
    printf '# defs\nUMASK\t\t022\nPASS_MAX_DAYS\t99999\n' >'$R/etc/login.defs' &&
    printf '* soft nofile 1024\n' >'$R/etc/limits.conf' &&
    printf 'Port 22\n' >'$R/etc/sshd_config' &&
    printf '127.0.0.1 localhost\n' >'$R/etc/hosts'"
sysval() { on_target "tr -s '\t ' ' ' </proc/sys/$(echo "$1" | tr . /)"; }
ssh-keygen -q -t ed25519 -N '' -f "$D/userkey"
jq -n --arg r "$R" --arg u "$TUSER" --arg key "$(cat "$D/userkey.pub")" \
    --arg big "$(head -c 6000 /dev/urandom | base64)" \
    --arg s1 "$(sysval vm.swappiness)" --arg s2 "$(sysval net.core.somaxconn)" \
    --arg s3 "$(sysval fs.file-max)" \
    --arg s4 "$(sysval net.ipv4.conf.all.accept_redirects)" \
    --arg s5 "$(sysval net.ipv4.conf.all.send_redirects)" \
    --arg s6 "$(sysval net.ipv4.ip_forward)" '
def f($p; $c; $m): {path: "\($r)\($p)", content: $c, mode: $m};
{
  packages: {present: ["ca-certificates", "cron", "curl", "fail2ban", "gnupg",
    "jq", "openssh-server", "sudo", "tmux", "unzip", "wget", "openssl"]},
  groups: [{name: "adm"}],
  users: [{name: $u, home: "\($r)/home/\($u)", shell: "/bin/sh",
    groups: ["adm"]}],
  directories: ([ "/opt/vpai", "/opt/vpai/configs", "/opt/vpai/data",
    "/opt/vpai/backups", "/opt/vpai/logs", "/opt/vpai/scripts",
    "/etc/docker", "/etc/sysctl.d" ] | map({path: "\($r)\(.)", mode: "0755"})),
  files: [
    f("/etc/sudoers.d/90-deploy"; "deploy ALL=(ALL) NOPASSWD:ALL\n"; "0440"),
    f("/opt/vpai/scripts/backup.sh"; "#!/bin/sh\nexec true\n"; "0750"),
    f("/etc/profile.d/vpai.sh"; "export VPAI=1\n"; "0644"),
    f("/etc/limits.d/90-vpai.conf"; "* hard nofile 65535\n"; "0644"),
    f("/etc/logrotate.d/vpai"; "/opt/vpai/logs/*.log { weekly }\n"; "0644"),
    f("/etc/motd"; "vpai\n"; "0644"),
    f("/etc/ssh-10-hardening.conf"; "PermitRootLogin no\n"; "0600"),
    f("/etc/jail.local"; "[sshd]\nenabled = true\n"; "0644"),
    f("/etc/60-vpai.rules"; "-w /usr/bin/sudo -p x -k sudo\n"; "0640"),
    f("/etc/docker/daemon.json"; "{\"log-driver\": \"json-file\"}\n"; "0644"),
    f("/etc/override.conf"; "[Service]\nLimitNOFILE=1048576\n"; "0644"),
    f("/opt/vpai/docker-compose.yml"; "# compose\n\($big)\n"; "0640"),
    f("/opt/vpai/.env"; "POSTGRES_PASSWORD=bench-secret-1\n"; "0600")
  ],
  lines: [
    {path: "\($r)/etc/login.defs", line: "UMASK 027", regexp: "^UMASK[[:space:]]"},
    {path: "\($r)/etc/login.defs", line: "PASS_MAX_DAYS 365", regexp: "^PASS_MAX_DAYS[[:space:]]"},
    {path: "\($r)/etc/limits.conf", line: "* hard core 0"},
    {path: "\($r)/etc/sshd_config", line: "Include /etc/ssh/sshd_config.d/*.conf"}
  ],
  sysctl: {file: "\($r)/etc/sysctl.d/60-vpai.conf", live: true,
    values: {"vm.swappiness": $s1, "net.core.somaxconn": $s2,
      "fs.file-max": $s3, "net.ipv4.conf.all.accept_redirects": $s4,
      "net.ipv4.conf.all.send_redirects": $s5, "net.ipv4.ip_forward": $s6}},
  authorized_keys: [{user: $u, key: $key}],
  cron: [{name: "backup", user: $u, schedule: "55 2 * * *", job: "/opt/vpai/scripts/backup.sh"},
         {name: "prune", user: $u, schedule: "0 3 * * 0", job: "true"}],
  hosts_file: "\($r)/etc/hosts",
  hosts: [{ip: "127.0.1.1", names: ["vpai"]}],
  secrets: ["bench-secret-1"]
}' >"$D/want.json"

now() { date +%s.%N; }
# stats FILE -> "median min max n"
stats() {
	sort -n "$1" | awk '{ a[NR] = $1 }
	    END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.3f %.3f %.3f %d\n", m, a[1], a[NR], NR }'
}
timeit() {	# timeit OUTFILE CMD...
	local t0 t1
	t0=$(now)
	"${@:2}" >/dev/null 2>>"$D/stats.err"
	t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$1"
}

echo "vpai host bench ($MODE): $RUNS runs, target $T, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(now)
"$VPAI" host apply "${H[@]}" --want "$D/want.json" --stats >"$D/first.out" 2>"$D/first.err" ||
    { cat "$D/first.out" "$D/first.err"; exit 1; }
t1=$(now)
first=$(echo "$t1 - $t0" | bc -l)
echo "first converge: $(printf '%.3f' "$first") s, $(grep -o '[0-9]* changed' "$D/first.out"), $(grep -o '[0-9]* round trips*' "$D/first.err")"

"$VPAI" host apply "${H[@]}" --want "$D/want.json" --stats >"$D/noop.out" 2>"$D/noop.err"
grep -q '^0 to change' "$D/noop.out" || { echo "second converge is not a no-op:"; cat "$D/noop.out"; exit 1; }
trips=$(grep -o '[0-9]* round trips*' "$D/noop.err")
ops=$(grep -o '[0-9]* already correct' "$D/noop.out" | head -n 1)

facts_script() { { echo '{'; cat "$SRC/stack/host/facts.sh"; echo '} </dev/null'; }; }
facts_script >"$D/facts-wrapped.sh"
: >"$D/noop.t"; : >"$D/facts.t"; : >"$D/floor-true.t"; : >"$D/floor-facts.t"; : >"$D/warm.t"
: >"$D/floor-check.t"
for _ in $(seq "$RUNS"); do
	timeit "$D/noop.t" "$VPAI" host apply "${H[@]}" --want "$D/want.json"
	timeit "$D/facts.t" "$VPAI" host facts "${H[@]}" --want "$D/want.json"
	timeit "$D/floor-true.t" ssh -F "$SSH_CONFIG" -o ControlPath=none -p "$PORT" root@"$HOSTIP" true
	timeit "$D/floor-facts.t" sh -c 'ssh -F "$1" -o ControlPath=none -p "$2" root@"$HOSTIP" sh -s <"$3"' \
	    sh "$SSH_CONFIG" "$PORT" "$D/facts-wrapped.sh"
	# the baseline's own floor script (it reports drift here: exit 1; the
	# time is what counts)
	if [ -r "$CHECK_SH" ]; then
		timeit "$D/floor-check.t" sh -c 'ssh -F "$1" -o ControlPath=none -p "$2" root@"$HOSTIP" sh -s <"$3"; true' \
		    sh "$SSH_CONFIG" "$PORT" "$CHECK_SH"
	fi
done
# warm: the same script over an already-open ControlMaster (the warm floor)
ssh -F "$SSH_CONFIG" -p "$PORT" -o ControlMaster=yes -o ControlPath="$D/cm" -o ControlPersist=120 -fN root@"$HOSTIP"
for _ in $(seq "$RUNS"); do
	timeit "$D/warm.t" sh -c 'ssh -F "$1" -o ControlPath="$4" -p "$2" root@"$HOSTIP" sh -s <"$3"' \
	    sh "$SSH_CONFIG" "$PORT" "$D/facts-wrapped.sh" "$D/cm"
done
ssh -F "$SSH_CONFIG" -o ControlPath="$D/cm" -O exit root@"$HOSTIP" 2>/dev/null || true

read -r noop_m noop_min noop_max n <<<"$(stats "$D/noop.t")"
read -r facts_m facts_min facts_max _ <<<"$(stats "$D/facts.t")"
read -r true_m true_min true_max _ <<<"$(stats "$D/floor-true.t")"
read -r ff_m ff_min ff_max _ <<<"$(stats "$D/floor-facts.t")"
read -r w_m w_min w_max _ <<<"$(stats "$D/warm.t")"
c_m=- c_min=- c_max=-
[ ! -s "$D/floor-check.t" ] || read -r c_m c_min c_max _ <<<"$(stats "$D/floor-check.t")"
echo
echo "| measurement (whole process, s) | median | min | max | n |"
echo "|---|---:|---:|---:|---:|"
echo "| ssh true, new connection (this machine) | $true_m | $true_min | $true_max | $n |"
echo "| floor: ssh sh -s < facts.sh, new connection | $ff_m | $ff_min | $ff_max | $n |"
echo "| floor: ssh sh -s < ansible-baseline/check.sh, new connection | $c_m | $c_min | $c_max | $n |"
echo "| facts.sh over a warm ControlMaster | $w_m | $w_min | $w_max | $n |"
echo "| vpai host facts (cold: new master per run) | $facts_m | $facts_min | $facts_max | $n |"
echo "| **vpai host apply, no-op (cold)** | **$noop_m** | $noop_min | $noop_max | $n |"
echo
echo "no-op converge: $ops, $trips (goal: <= 2)"
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
echo "vs this machine's cold floor (ssh sh -s < facts.sh): $(ratio "$noop_m" "$ff_m")x (goal <= 1.5x)"
[ "$c_m" = - ] || echo "vs this machine's cold floor (ssh sh -s < check.sh): $(ratio "$noop_m" "$c_m")x (goal <= 1.5x)"
echo "vs this machine's ssh true: $(ratio "$noop_m" "$true_m")x"
# The baseline was measured on a quieter machine (ssh true 0.261 s); scale
# by this run's ssh true to compare like with like.
norm=$(echo "$noop_m / $true_m * $SSH_TRUE_COLD" | bc -l | xargs printf '%.3f')
echo "no-op normalised to the baseline's ssh speed: ${norm}s"
echo "vs Ansible no-op, pipelining+ControlPersist ${ANSIBLE_NOOP_FAST}s: $(ratio "$ANSIBLE_NOOP_FAST" "$noop_m")x faster raw, $(ratio "$ANSIBLE_NOOP_FAST" "$norm")x normalised (goal >= 40x)"
echo "vs Ansible no-op, default cfg ${ANSIBLE_NOOP_DEFAULT}s: $(ratio "$ANSIBLE_NOOP_DEFAULT" "$noop_m")x raw, $(ratio "$ANSIBLE_NOOP_DEFAULT" "$norm")x normalised"
echo "(baseline floors: cold ${FLOOR_COLD}s, warm ${FLOOR_WARM}s; Ansible figures from ../shared/bench/ansible-baseline/README.md, series B)"
