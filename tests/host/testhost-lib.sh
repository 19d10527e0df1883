# shellcheck shell=bash
# shellcheck disable=SC2034 # D, IP, T, SSH_CONFIG, NAME are for the caller
# testhost-lib.sh: a "fresh VPS" container reachable over ssh (sourced).
#
#	testhost_available	0 when docker and the Debian base image exist
#	testhost_start PREFIX [DOCKER-RUN-OPTION...]
#				builds the image (testhost.Dockerfile, cached by
#				its hash), runs a container, installs a root key;
#				sets D (temp dir), NAME, IP, T (ssh://root@IP),
#				SSH_CONFIG (key + pinned host key)
#	testhost_reboot		"reboots" it: docker restart -t 0 (a power
#				cut: every process dies), then the image's sysv
#				boot (start with --tmpfs /run for a fresh /run);
#				updates IP, T, known_hosts if the IP changed
#	testhost_start_systemd PREFIX [DOCKER-RUN-OPTION...]
#				the same with testhost-systemd.Dockerfile:
#				systemd as PID 1 (a fresh /run, the host's
#				cgroups: flags picked for cgroup v1 or v2),
#				waits until `systemctl is-system-running` is
#				running or degraded (prints the failed units);
#				returns 77 when systemd cannot boot here,
#				1 when the image cannot be built
#	testhost_reboot		(systemd host: also waits for the boot to end)
#	testhost_stop		removes that container and D
#	in_host CMD...		docker exec in it (stdin passed)

TESTHOST_BASE=${VPAI_TEST_BASE:-vpai-local/debian:bookworm}
TESTHOST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

testhost_available() {
	docker info >/dev/null 2>&1 &&
	    docker image inspect "$TESTHOST_BASE" >/dev/null 2>&1
}

# testhost_image DOCKERFILE TAG-PREFIX: build (cached by the file's hash),
# print the tag
testhost_image() {
	local tag
	tag="$2:$(sha256sum <"$TESTHOST_DIR/$1" | cut -c1-12)"
	if ! docker image inspect "$tag" >/dev/null 2>&1; then
		DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$TESTHOST_BASE" \
		    -t "$tag" -f "$TESTHOST_DIR/$1" \
		    "$TESTHOST_DIR" >/dev/null 2>&1
	fi
	echo "$tag"
}

testhost_start() {
	local tag
	tag=$(testhost_image testhost.Dockerfile vpai-test/host)
	D=$(mktemp -d "/tmp/$1.XXXXXX")
	NAME="$1-$$"
	docker run -d --name "$NAME" --hostname "$1" "${@:2}" "$tag" >/dev/null
	testhost_keys
}

# testhost_cgroup_opts: docker run options that let systemd run as PID 1
# without --privileged.  cgroup v1 (a tmpfs of hierarchies): the host's
# tree read-only (systemd uses its own named hierarchy under it).  cgroup
# v2: the host's cgroup namespace and tree read-write (systemd must create
# its own sub-cgroups).
testhost_cgroup_opts() {
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		echo --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw
	else
		echo -v /sys/fs/cgroup:/sys/fs/cgroup:ro
	fi
}

# testhost_wait_systemd: until the boot is over (running or degraded,
# failed units printed); 1 when it is not after 60 s
testhost_wait_systemd() {
	local st=
	for _ in $(seq 120); do
		st=$(docker exec "$NAME" timeout 30 systemctl is-system-running --wait 2>/dev/null) || true
		case $st in running|degraded) break ;; esac
		sleep 0.5
	done
	case $st in
	running) return 0 ;;
	degraded)
		echo "testhost: systemd is degraded; failed units:" >&2
		docker exec "$NAME" systemctl --failed --no-legend >&2 || true
		return 0 ;;
	esac
	echo "testhost: systemd did not boot in the container (state '${st:-none}'):" >&2
	docker logs "$NAME" 2>&1 | tail -n 20 >&2
	return 1
}

testhost_start_systemd() {
	local tag opts
	tag=$(testhost_image testhost-systemd.Dockerfile vpai-test/host-systemd)
	docker image inspect "$tag" >/dev/null 2>&1 ||
	    { echo "testhost: cannot build $tag" >&2; return 1; }
	D=$(mktemp -d "/tmp/$1.XXXXXX")
	NAME="$1-$$"
	TESTHOST_SYSTEMD=1
	read -ra opts <<<"$(testhost_cgroup_opts)"
	docker run -d --name "$NAME" --hostname "$1" --tmpfs /run --tmpfs /run/lock \
	    "${opts[@]}" "${@:2}" "$tag" >/dev/null || return 77
	testhost_wait_systemd || return 77
	testhost_keys
}

# testhost_keys: root's key and known_hosts, once sshd runs
testhost_keys() {
	IP=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$NAME")
	ssh-keygen -q -t ed25519 -N '' -f "$D/id"
	docker exec -i "$NAME" sh -c 'mkdir -m 700 -p /root/.ssh &&
	    cat >/root/.ssh/authorized_keys' <"$D/id.pub"
	for _ in $(seq 300); do	# host keys generated, then sshd started
		docker exec "$NAME" test -s /run/sshd.pid && break
		sleep 0.1
	done
	echo "$IP $(docker exec "$NAME" cat /etc/ssh/ssh_host_ed25519_key.pub)" \
	    >"$D/known_hosts"
	SSH_CONFIG="$D/ssh_config"
	cat >"$SSH_CONFIG" <<EOF
Host $IP
	IdentityFile $D/id
	IdentitiesOnly yes
	UserKnownHostsFile $D/known_hosts
	StrictHostKeyChecking yes
EOF
	T="ssh://root@$IP"
}

testhost_reboot() {
	local old=$IP
	docker restart -t 0 "$NAME" >/dev/null
	IP=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$NAME")
	if [ "$IP" != "$old" ]; then
		sed -i "s/$old/$IP/g" "$D/known_hosts" "$SSH_CONFIG"
		T="ssh://root@$IP"
	fi
	for _ in $(seq 300); do
		docker exec "$NAME" test -s /run/sshd.pid 2>/dev/null && break
		sleep 0.1
	done
	[ -z "${TESTHOST_SYSTEMD:-}" ] || testhost_wait_systemd
}

testhost_stop() {
	[ -z "${NAME:-}" ] || docker rm -f "$NAME" >/dev/null 2>&1 || true
	[ -z "${D:-}" ] || rm -rf "$D"
}

in_host() {
	docker exec -i "$NAME" "$@"
}
