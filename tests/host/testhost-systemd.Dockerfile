# A "fresh VPS" that boots like a real Debian 12 cloud image: systemd as
# PID 1 (tests/host/t5007-systemd-host.sh).  Stock Debian 12 (the
# debootstrap base of images/build.sh) plus what a cloud image has: systemd,
# dbus, logind (libpam-systemd: ssh sessions get session scopes, as on a
# real VPS), sshd enabled, sudo.  No policy-rc.d (packages start their
# services at install, as on a real host), no package lists (apt-get update
# is vpai's job), no cron (so a revert at boot can only come from the
# systemd unit vpai installs), no host keys: vpai-test-hostkeys.service
# generates them before ssh.service, as cloud-init does.
# pam_loginuid is optional (see testhost.Dockerfile: a container cannot set
# the audit login uid).  Units that need what an unprivileged container
# does not give (mounts, kernel modules, consoles) are masked so the system
# comes up "running", not "degraded".
# Run it with --tmpfs /run --tmpfs /run/lock and the host's cgroups
# (testhost_start_systemd in testhost-lib.sh picks the flags).
ARG BASE=vpai-local/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	systemd systemd-sysv dbus libpam-systemd openssh-server sudo \
 && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_* /usr/sbin/policy-rc.d \
 && sed -i 's/^session\s*required\s*pam_loginuid.so/session optional pam_loginuid.so/' \
	/etc/pam.d/sshd \
 && printf '%s\n' '[Unit]' 'Description=test host: generate the ssh host keys' \
	'Before=ssh.service' '[Service]' 'Type=oneshot' \
	'ExecStart=/usr/bin/ssh-keygen -A' '[Install]' 'WantedBy=multi-user.target' \
	>/etc/systemd/system/vpai-test-hostkeys.service \
 && systemctl enable vpai-test-hostkeys.service ssh.service \
 && systemctl mask getty@tty1.service console-getty.service \
	systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount \
	sys-kernel-tracing.mount dev-hugepages.mount dev-mqueue.mount \
	systemd-modules-load.service systemd-udevd.service systemd-udev-trigger.service \
	systemd-firstboot.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
 && echo 'boot: systemd' >/etc/vpai-test-image
STOPSIGNAL SIGRTMIN+3
CMD ["/sbin/init"]
