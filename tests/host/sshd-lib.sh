# shellcheck shell=bash
# sshd-lib.sh: a private sshd on 127.0.0.1 for tests and benches (sourced).
# shellcheck disable=SC2034 # D, PORT, T, SSH_CONFIG are for the caller
#
#	TUSER=name		(optional) a second login user, besides root
#	sshd_start PREFIX	sets D (0711 temp dir), PORT, T (ssh://root@...),
#				SSH_CONFIG (client config: key, known_hosts)
#	sshd_stop		kills that sshd (only it, by its pid), rm -rf D
#
# Host key, client keys (id, wrong), authorized keys (keys/%u) live in D;
# the system sshd and its config are not touched.

sshd_start() {
	D=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 711 "$D"	# a non-root user's sshd child must reach keys/
	SSHD_PID=
	for PORT in $(shuf -i 20000-60000 -n 20); do
		ss -ltn "sport = :$PORT" | grep -q LISTEN || break
	done
	ssh-keygen -q -t ed25519 -N '' -f "$D/hostkey"
	ssh-keygen -q -t ed25519 -N '' -f "$D/id"
	ssh-keygen -q -t ed25519 -N '' -f "$D/wrong"
	mkdir -m 755 "$D/keys"
	cp "$D/id.pub" "$D/keys/root"
	[ -z "${TUSER:-}" ] || cp "$D/id.pub" "$D/keys/$TUSER"
	chmod 644 "$D/keys/"*
	mkdir -p /run/sshd
	cat >"$D/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $D/hostkey
PidFile $D/sshd.pid
AuthorizedKeysFile $D/keys/%u
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers root ${TUSER:-root}
MaxStartups 50
LogLevel VERBOSE
EOF
	/usr/sbin/sshd -t -f "$D/sshd_config"
	/usr/sbin/sshd -f "$D/sshd_config" -E "$D/sshd.log"
	for _ in $(seq 50); do [ -s "$D/sshd.pid" ] && break; sleep 0.1; done
	SSHD_PID=$(cat "$D/sshd.pid")
	echo "[127.0.0.1]:$PORT $(cat "$D/hostkey.pub")" >"$D/known_hosts"
	SSH_CONFIG="$D/ssh_config"
	cat >"$SSH_CONFIG" <<EOF
Host 127.0.0.1
	IdentityFile $D/id
	IdentitiesOnly yes
	UserKnownHostsFile $D/known_hosts
	StrictHostKeyChecking yes
	PasswordAuthentication no
EOF
	T="ssh://root@127.0.0.1:$PORT"
}

sshd_stop() {
	if [ -n "${SSHD_PID:-}" ]; then kill "$SSHD_PID" 2>/dev/null || true; fi
	SSHD_PID=
	[ -z "${D:-}" ] || rm -rf "$D"
}
