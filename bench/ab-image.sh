#!/usr/bin/env bash
# bench/ab-image.sh: build the Ansible baseline's target image
# ab/debian-ssh:12 (../shared/bench/ansible-baseline/README.md, "image")
# when it is missing: debootstrap minbase + openssh-server, python3, sudo,
# iproute2, no host keys.  The rootfs tarball is cached under
# $VPAI_BENCH_CACHE (default /var/cache/vpai-bench), so a rebuild after
# `docker rmi` takes seconds.
#
#	bench/ab-image.sh [--rebuild]
set -euo pipefail
IMAGE=${AB_IMAGE:-ab/debian-ssh:12}
CACHE=${VPAI_BENCH_CACHE:-/var/cache/vpai-bench}
TARBALL=$CACHE/ab-debian-ssh-12.tar.gz
rebuild=0
[ "${1:-}" != --rebuild ] || rebuild=1
if [ "$rebuild" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
	exit 0
fi
# The mirror apt uses here (deb822 or one-line sources), else deb.debian.org.
mirror=${VPAI_DEBIAN_MIRROR:-$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    awk '/^URIs:/ && $2 ~ /\/debian$/ { print $2; exit }
	$1 == "deb" && $3 == "bookworm" { print $2; exit }' || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ "$rebuild" = 1 ] || [ ! -s "$TARBALL" ]; then
	dir=$(mktemp -d "$CACHE/rootfs.XXXXXX")
	trap 'rm -rf "$dir"' EXIT
	echo "bench: debootstrap $IMAGE from $mirror (once; cached in $TARBALL)" >&2
	if ! debootstrap --variant=minbase \
	    --include=openssh-server,python3,sudo,iproute2 bookworm "$dir" \
	    "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
		tail -20 "$CACHE/debootstrap.log" >&2
		exit 1
	fi
	rm -f "$dir"/etc/ssh/ssh_host_*	# the container generates its own
	rm -rf "$dir"/var/cache/apt/archives/*.deb
	tar --numeric-owner -C "$dir" -czf "$TARBALL.tmp" .
	mv "$TARBALL.tmp" "$TARBALL"
fi
docker import - "$IMAGE" <"$TARBALL" >/dev/null
echo "bench: imported $IMAGE" >&2
