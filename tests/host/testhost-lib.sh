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
#	testhost_stop		removes that container and D
#	in_host CMD...		docker exec in it (stdin passed)

TESTHOST_BASE=${VPAI_TEST_BASE:-vpai-local/debian:bookworm}
TESTHOST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

testhost_available() {
	docker info >/dev/null 2>&1 &&
	    docker image inspect "$TESTHOST_BASE" >/dev/null 2>&1
}

testhost_start() {
	local tag
	tag="vpai-test/host:$(sha256sum <"$TESTHOST_DIR/testhost.Dockerfile" | cut -c1-12)"
	if ! docker image inspect "$tag" >/dev/null 2>&1; then
		DOCKER_BUILDKIT=0 docker build -q --build-arg BASE="$TESTHOST_BASE" \
		    -t "$tag" -f "$TESTHOST_DIR/testhost.Dockerfile" \
		    "$TESTHOST_DIR" >/dev/null 2>&1
	fi
	D=$(mktemp -d "/tmp/$1.XXXXXX")
	NAME="$1-$$"
	docker run -d --name "$NAME" --hostname "$1" "${@:2}" "$tag" >/dev/null
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
}

testhost_stop() {
	[ -z "${NAME:-}" ] || docker rm -f "$NAME" >/dev/null 2>&1 || true
	[ -z "${D:-}" ] || rm -rf "$D"
}

in_host() {
	docker exec -i "$NAME" "$@"
}
