#!/usr/bin/env bash
# Install what building and testing vpai needs on Debian 12 (idempotent).
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
	libyaml-dev libjansson-dev libcurl4-openssl-dev libssl-dev
	jq yamllint shellcheck caddy openssh-server openssh-client
	postgresql-15 redis-server ansible-core fail2ban cron sudo bc
	debootstrap curl python3 file restic docker.io docker-compose util-linux
	git libxml2-utils)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Debian's postgresql-common would create a "main" cluster: we do not want one.
	mkdir -p /etc/postgresql-common/createcluster.d
	echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/vpai.conf
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
