# A "fresh VPS" for tests/host/t50*.sh: stock Debian 12 (the debootstrap
# base of images/build.sh) plus what a cloud image has: sshd, sudo and the
# systemd package, whose journald the "boot" starts on its own (systemd is
# not PID 1 here: t5007 has that host), so the journal exists as on a real
# VPS (crowdsec's journalctl acquisition stops with "No journal files were
# found" without one).  No
# package lists (apt-get update is vpai's job), no host keys (generated at
# start), a policy-rc.d like official Debian images.
# sshd runs under a shell, not as PID 1, so `service ssh restart` works.
# pam_loginuid is optional, as in Docker's own sshd example: a container
# cannot set the audit login uid, and an sshd restarted from an ssh session
# (loginuid 0) would then refuse every other user's session (exit 254).
# /usr/local/sbin/testhost-boot is a sysv "boot": sshd, then every
# /etc/rcS.d and /etc/rc2.d start script (cron, ufw, fail2ban... once vpai
# enabled them), so `docker restart` with --tmpfs /run (a fresh /run, as a
# real boot has) is a reboot: @reboot cron jobs run again.
ARG BASE=vpai-local/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	openssh-server sudo systemd \
 && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_* \
 && printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d \
 && sed -i 's/^session\s*required\s*pam_loginuid.so/session optional pam_loginuid.so/' \
	/etc/pam.d/sshd \
 && chmod 755 /usr/sbin/policy-rc.d \
 && printf '%s\n' '#!/bin/sh' \
	'ssh-keygen -A >/dev/null' \
	'mkdir -p /run/sshd /run/lock' \
	'/lib/systemd/systemd-journald >/dev/null 2>&1 &' \
	'/usr/sbin/sshd' \
	'echo "boot: $(date -u)" >>/var/log/boot.log' \
	'for s in /etc/rcS.d/S* /etc/rc2.d/S*; do' \
	'	case $s in *ssh) continue ;; esac' \
	'	[ -x "$s" ] && timeout 30 "$s" start >>/var/log/boot.log 2>&1' \
	'done' \
	'exec sleep infinity' >/usr/local/sbin/testhost-boot \
 && chmod 755 /usr/local/sbin/testhost-boot
CMD ["/usr/local/sbin/testhost-boot"]
