#!/usr/bin/env bash
# shellcheck disable=SC2016 # the sh -c scripts expand their own "$1"...
# bench/converge.sh: vpai's no-op converge against the Ansible baseline
# (../shared/bench/ansible-baseline) and its check.sh floor, in ONE run, on
# comparable fresh Debian 12 containers (image ab/debian-ssh:12, built with
# debootstrap by bench/ab-image.sh when missing) on the docker bridge.
#
#	bench/converge.sh            (root, docker, ansible, python3-yaml)
#	AB_RUNS=3 FLOOR_RUNS=20 VPAI_RUNS=20 VPAI=build/rel/vpai bench/converge.sh
#	SKIP_ANSIBLE=1 bench/converge.sh   vpai and the floor only (the Ansible
#	    goal is then judged against the README's 18.73 s)
#	BENCH_KEEP=1 ...             keep the work dir and containers
#
# It runs on purpose, not in ctest, and never exits non-zero on a missed
# goal: it prints PASS or MISS per goal.  Steps:
#  1. ab-target (the baseline's up.sh, in a temp copy of the baseline):
#     Ansible's first run (default cfg), then AB_RUNS no-op runs with
#     cfg/default.cfg and with cfg/fast.cfg (one warm-up each), each checked
#     for changed=0;
#  2. the floor on ab-target: `ssh sh -s < check.sh` must print "0 drift";
#     FLOOR_RUNS runs over a warm ControlMaster, and of `ssh true`;
#  3. vpai-bench-target (same image, same start command): vpai's first
#     converge of the same role set (bench/converge-want.py), the adapted
#     check.sh must report 0 drift on it, then VPAI_RUNS cold no-op
#     converges (`vpai host apply --stats`: a new ssh connection each run),
#     each followed by a cold check.sh (new connection) on the same
#     container (adapted) and on ab-target (the floor): paired runs, so
#     the machine's load weighs on both sides alike;
#  4. the table and the goals: no-op <= 2 round trips; cold no-op <= 1.5x the
#     cold floor; >= 40x faster than Ansible's fast no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
AB_SRC=${AB_SRC:-$SRC/../shared/bench/ansible-baseline}
AB_RUNS=${AB_RUNS:-3}
FLOOR_RUNS=${FLOOR_RUNS:-20}
VPAI_RUNS=${VPAI_RUNS:-20}
IMAGE=${AB_IMAGE:-ab/debian-ssh:12}
VNAME=vpai-bench-target
ANSIBLE_NOOP_FAST_README=18.73	# README series B, if SKIP_ANSIBLE=1

die() { echo "bench: $*" >&2; exit 1; }
[ -d "$AB_SRC" ] || die "no baseline at $AB_SRC"
docker info >/dev/null 2>&1 || die "docker is not running"
[ -n "${SKIP_ANSIBLE:-}" ] || command -v ansible-playbook >/dev/null ||
    die "ansible-playbook is missing (apt-get install ansible)"
# A release build: a sanitizer build would measure ASan, not vpai.
if [ -z "${VPAI:-}" ]; then
	VPAI=$SRC/build/bench-rel/vpai
	echo "bench: building a release vpai in build/bench-rel" >&2
	cmake -S "$SRC" -B "$SRC/build/bench-rel" -DCMAKE_BUILD_TYPE=Release \
	    >/dev/null
	cmake --build "$SRC/build/bench-rel" --target vpai -j2 >/dev/null
fi
[ -x "$VPAI" ] || die "no vpai at $VPAI"
VPAI=$(realpath "$VPAI")
export VPAI_STACK_DIR="$SRC/stack"
"$SRC/bench/ab-image.sh"

W=$(mktemp -d /tmp/vpai-bench-converge.XXXXXX)
export AB_STATE=$W/state
cleanup() {
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "bench: kept $W, ab-target, $VNAME" >&2
		return
	fi
	docker rm -f ab-target "$VNAME" >/dev/null 2>&1 || true
	rm -rf "$W"
}
trap cleanup EXIT
cp -r "$AB_SRC" "$W/ab"
chmod -R u+w "$W/ab"
rm -rf "$W/ab/results" "$W/ab/.rendered"

now() { date +%s.%N; }
# timeit OUTFILE LOGFILE CMD...: whole-process wall seconds appended to
# OUTFILE; the command's output to LOGFILE; its status returned
timeit() {
	local t0 t1 rc=0
	t0=$(now)
	"${@:3}" >"$2" 2>&1 || rc=$?
	t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$1"
	return $rc
}
# stats FILE -> "median min max n"
stats() {
	sort -n "$1" | awk '{ a[NR] = $1 }
	    END { if (NR == 0) { print "- - - 0"; exit }
		m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
		printf "%.3f %.3f %.3f %d\n", m, a[1], a[NR], NR }'
}
row() {	# row LABEL FILE
	local m mn mx n
	read -r m mn mx n <<<"$(stats "$2")"
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$m" "$mn" "$mx" "$n"
}
med() { stats "$1" | cut -d' ' -f1; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
recap() { grep -E '^vpai-node1 +:' "$1" | tr -s ' ' | cut -d' ' -f3-6; }

echo "== bench/converge: $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   $("$VPAI" --version 2>/dev/null || echo vpai), $(ssh -V 2>&1)${SKIP_ANSIBLE:+, Ansible skipped}"
[ -n "${SKIP_ANSIBLE:-}" ] || echo "   $(ansible-playbook --version 2>/dev/null | head -n 1)"

# ---- 1. Ansible on ab-target ----
cd "$W/ab"
IP=$(./up.sh)
SSHF=(ssh -F "$AB_STATE/ssh_config")
ANSIBLE_CONFIG=cfg/default.cfg ansible-playbook render.yml >"$W/render.log" 2>&1 ||
    { tail -20 "$W/render.log"; die "render.yml failed"; }
python3 "$SRC/bench/converge-want.py" "$W/ab" "$W/want.json" "$W/check-vpai.sh"
: >"$W/a-first.t"; : >"$W/a-default.t"; : >"$W/a-fast.t"
if [ -z "${SKIP_ANSIBLE:-}" ]; then
	echo "-- ansible: first run on a fresh ab-target ($IP), default cfg; load $(cut -d' ' -f1-3 /proc/loadavg)"
	timeit "$W/a-first.t" "$W/a-first.log" env ANSIBLE_CONFIG=cfg/default.cfg \
	    ansible-playbook site.yml || { tail -30 "$W/a-first.log"; die "ansible first run failed"; }
	echo "   $(cat "$W/a-first.t") s: $(recap "$W/a-first.log")"
	for c in default fast; do
		echo "-- ansible: no-op, cfg/$c.cfg, 1 warm-up + $AB_RUNS runs"
		for i in $(seq 0 "$AB_RUNS"); do
			t=$W/a-$c.t
			[ "$i" -gt 0 ] || t=$W/a-warmup.t
			timeit "$t" "$W/a-$c-$i.log" env ANSIBLE_CONFIG=cfg/$c.cfg \
			    ansible-playbook site.yml || { tail -30 "$W/a-$c-$i.log"; die "ansible no-op failed"; }
			r=$(recap "$W/a-$c-$i.log")
			case $r in
			*" changed=0 "*) ;;
			*) die "ansible no-op $c #$i is not a no-op: $r" ;;
			esac
			echo "   #$i $(tail -n 1 "$t") s: $r"
		done
	done
else
	echo "-- ansible: skipped; converging ab-target once (not timed) for the floor"
	ANSIBLE_CONFIG=cfg/fast.cfg ansible-playbook site.yml >"$W/a-first.log" 2>&1 ||
	    { tail -30 "$W/a-first.log"; die "ansible run failed"; }
fi

# ---- 2. the floor on ab-target (cold: paired with vpai's runs, below) ----
echo "-- floor: ssh sh -s < check.sh on ab-target, $FLOOR_RUNS warm; ssh true"
: >"$W/f-cold.t"; : >"$W/f-warm.t"; : >"$W/true-cold.t"
"${SSHF[@]}" -o ControlPath=none ab-target sh -s <check.sh >"$W/f-cold.out" 2>&1 ||
    { cat "$W/f-cold.out"; die "check.sh reports drift after Ansible"; }
grep -q 'converged: 83 checks, 0 drift' "$W/f-cold.out" || die "check.sh: $(cat "$W/f-cold.out")"
for _ in $(seq "$FLOOR_RUNS"); do
	timeit "$W/true-cold.t" /dev/null "${SSHF[@]}" -o ControlPath=none ab-target true
done
"${SSHF[@]}" -o ControlMaster=yes -o ControlPath="$W/cm-warm" -o ControlPersist=600 -fN ab-target
for _ in $(seq "$FLOOR_RUNS"); do
	timeit "$W/f-warm.t" "$W/f-warm.out" sh -c '"$@" <"$0"' check.sh \
	    "${SSHF[@]}" -o ControlPath="$W/cm-warm" ab-target sh -s ||
	    die "check.sh (warm): $(cat "$W/f-warm.out")"
done
"${SSHF[@]}" -o ControlPath="$W/cm-warm" -O exit ab-target 2>/dev/null || true
echo "   $(cat "$W/f-cold.out")"

# ---- 3. vpai on vpai-bench-target (same image, same start as up.sh) ----
echo "-- vpai: fresh $VNAME, first converge; load $(cut -d' ' -f1-3 /proc/loadavg)"
docker rm -f "$VNAME" >/dev/null 2>&1 || true
docker run -d --name "$VNAME" --hostname vpai-node1 \
    -e "AB_PUB=$(cat "$AB_STATE/id_ed25519.pub")" "$IMAGE" /bin/sh -c 'set -e
    printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
    mkdir -p /run/sshd /root/.ssh; chmod 700 /root/.ssh
    printf "%s\n" "$AB_PUB" > /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys
    ssh-keygen -A >/dev/null
    exec /usr/sbin/sshd -D -e' >/dev/null
VIP=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$VNAME")
for i in $(seq 50); do
	ssh-keyscan -T 1 "$VIP" >"$W/vknown_hosts" 2>/dev/null && [ -s "$W/vknown_hosts" ] && break
	[ "$i" -lt 50 ] || die "sshd did not come up in $VNAME"
	sleep 0.2
done
cat >"$W/vssh_config" <<EOF
Host $VIP
	User root
	IdentityFile $AB_STATE/id_ed25519
	IdentitiesOnly yes
	UserKnownHostsFile $W/vknown_hosts
	StrictHostKeyChecking yes
EOF
VT=(--target "ssh://root@$VIP" --ssh-config "$W/vssh_config")
VSSH=(ssh -F "$W/vssh_config" -o ControlPath=none "$VIP")
: >"$W/v-first.t"; : >"$W/v-noop.t"; : >"$W/vf-cold.t"; : >"$W/v-trips"
timeit "$W/v-first.t" "$W/v-first.log" "$VPAI" host apply "${VT[@]}" \
    --want "$W/want.json" --stats || { tail -30 "$W/v-first.log"; die "vpai first converge failed"; }
echo "   $(cat "$W/v-first.t") s: $(grep -E 'changed|round trip' "$W/v-first.log" | tr '\n' ' ')"
"${VSSH[@]}" sh -s <"$W/check-vpai.sh" >"$W/v-check.out" 2>&1 ||
    { cat "$W/v-check.out"; die "the baseline's check.sh (adapted) sees drift after vpai's converge"; }
echo "   baseline check.sh (adapted, see converge-want.py): $(tail -n 1 "$W/v-check.out")"

echo "-- vpai: $VPAI_RUNS cold no-op converges, each paired with a cold check.sh"
echo "   on ab-target (the floor) and on $VNAME (adapted); load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 0 "$VPAI_RUNS"); do
	t=$W/v-noop.t
	[ "$i" -gt 0 ] || t=$W/v-warmup.t
	timeit "$t" "$W/v-noop.log" "$VPAI" host apply "${VT[@]}" --want "$W/want.json" --stats ||
	    { cat "$W/v-noop.log"; die "vpai no-op converge failed"; }
	grep -q '^0 to change' "$W/v-noop.log" || { cat "$W/v-noop.log"; die "vpai second converge is not a no-op"; }
	grep -o '[0-9]* round trips*' "$W/v-noop.log" | cut -d' ' -f1 >>"$W/v-trips"
	[ "$i" -gt 0 ] || continue
	timeit "$W/vf-cold.t" "$W/vf-cold.out" sh -c '"$@" <"$0"' "$W/check-vpai.sh" "${VSSH[@]}" sh -s ||
	    die "check.sh (adapted): $(cat "$W/vf-cold.out")"
	timeit "$W/f-cold.t" "$W/f-cold.out" sh -c '"$@" <"$0"' "$W/ab/check.sh" \
	    "${SSHF[@]}" -o ControlPath=none ab-target sh -s ||
	    die "check.sh on ab-target: $(cat "$W/f-cold.out")"
done
ops=$(grep -o '[0-9]* already correct' "$W/v-noop.log" | head -n 1)
trips=$(sort -n "$W/v-trips" | tail -n 1)

# ---- 4. summary ----
cd "$SRC"
echo
echo "| measurement (whole process, wall s) | median | min | max | n |"
echo "|---|---:|---:|---:|---:|"
if [ -z "${SKIP_ANSIBLE:-}" ]; then
	row "Ansible first run, default cfg (fresh container)" "$W/a-first.t"
	row "Ansible no-op, cfg/default.cfg" "$W/a-default.t"
	row "**Ansible no-op, cfg/fast.cfg** (pipelining, ControlPersist)" "$W/a-fast.t"
fi
row "ssh true, new connection (ab-target)" "$W/true-cold.t"
row "**floor cold**: ssh sh -s < check.sh, new connection (ab-target, paired with vpai)" "$W/f-cold.t"
row "floor warm: the same over a warm ControlMaster (ab-target)" "$W/f-warm.t"
row "floor cold, adapted check.sh ($VNAME, paired with vpai)" "$W/vf-cold.t"
row "vpai first converge (fresh container)" "$W/v-first.t"
row "**vpai no-op converge, cold** (new connection each run)" "$W/v-noop.t"
echo
echo "vpai no-op: $ops; round trips per run: max $trips"
fails=0
goal() {	# goal OK TEXT
	if [ "$1" = 1 ]; then
		echo "PASS  $2"
	else
		echo "MISS  $2   <<<<<<<<<<<<<<<< MISSED"
		fails=$((fails + 1))
	fi
}
vn=$(med "$W/v-noop.t")
fc=$(med "$W/f-cold.t")
fv=$(med "$W/vf-cold.t")
fw=$(med "$W/f-warm.t")
if [ -z "${SKIP_ANSIBLE:-}" ]; then
	af=$(med "$W/a-fast.t")
	ad=$(med "$W/a-default.t")
	asrc="measured in this run"
else
	af=$ANSIBLE_NOOP_FAST_README
	ad=-
	asrc="README figure, not measured"
fi
goal "$([ "$trips" -le 2 ] && echo 1)" "no-op round trips: $trips (goal <= 2)"
r1=$(ratio "$vn" "$fc")
r2=$(ratio "$vn" "$fv")
goal "$(echo "$r1 <= 1.5" | bc -l)" "cold no-op / cold floor (ab-target): $vn / $fc = ${r1}x (goal <= 1.5x); paired on $VNAME: ${r2}x"
r3=$(ratio "$af" "$vn")
goal "$(echo "$r3 >= 40" | bc -l)" "Ansible fast no-op / vpai cold no-op: $af / $vn = ${r3}x faster (goal >= 40x; $asrc)"
[ "$ad" = - ] || echo "      Ansible default no-op / vpai: $(ratio "$ad" "$vn")x; vpai cold no-op / warm floor: $(ratio "$vn" "$fw")x"
echo
if [ "$fails" -gt 0 ]; then
	echo "!!!!!!!! $fails goal(s) MISSED (a bench, not a test: exit status stays 0) !!!!!!!!"
else
	echo "all goals met"
fi
