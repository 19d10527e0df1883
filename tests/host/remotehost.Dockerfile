# A "remote VPS with Docker" for tests/host/t5100-remote-apply.sh: the
# Debian 12 debootstrap base of images/build.sh plus sshd, sudo, the docker
# CLI (docker.io) and docker-compose, and the base packages of the
# `common` host role (so that its converge needs no apt mirror).  The test
# runs it with --network host and the host's /var/run/docker.sock, so its
# sshd, its docker CLI and the containers it starts see the network and
# the engine a real VPS's would.  The login user `deploy` (uid 4242, sudo
# without a password) is what a cloud image provides.
ARG BASE=vpai-local/debian:bookworm
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
	openssh-server sudo docker.io docker-compose \
	ca-certificates curl jq cron tzdata locales rsync gnupg \
 && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_* \
 && printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d \
 && chmod 755 /usr/sbin/policy-rc.d \
 && sed -i 's/^session\s*required\s*pam_loginuid.so/session optional pam_loginuid.so/' \
	/etc/pam.d/sshd \
 && useradd -m -u 4242 -s /bin/bash deploy \
 && printf 'deploy ALL=(ALL) NOPASSWD:ALL\n' >/etc/sudoers.d/90-deploy \
 && chmod 440 /etc/sudoers.d/90-deploy
# SSHD_PORT: sshd listens on 127.0.0.1:SSHD_PORT of the host's network.
CMD ["/bin/sh", "-c", "ssh-keygen -A >/dev/null && mkdir -p /run/sshd && /usr/sbin/sshd -o ListenAddress=127.0.0.1 -o Port=${SSHD_PORT:-31022} && exec sleep infinity"]
