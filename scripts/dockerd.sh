#!/usr/bin/env bash
# Make sure a Docker engine is running (this machine kind has no systemd).
# Installs docker.io and docker-compose when missing, starts dockerd in the
# background with its log in /var/log/vpai-dockerd.log, waits until ready.
set -euo pipefail
if ! command -v dockerd >/dev/null || ! command -v docker-compose >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq docker.io docker-compose >/dev/null
fi
if docker info >/dev/null 2>&1; then
	exit 0
fi
nohup dockerd >/var/log/vpai-dockerd.log 2>&1 &
for _ in $(seq 1 60); do
	docker info >/dev/null 2>&1 && exit 0
	sleep 0.5
done
echo "dockerd did not start; see /var/log/vpai-dockerd.log" >&2
tail -20 /var/log/vpai-dockerd.log >&2
exit 1
