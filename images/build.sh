#!/usr/bin/env bash
# Build the local image set (stack/images-local.yml) on this machine, for
# when the upstream registries cannot be reached.
#
#   images/build.sh [--rebuild] [--refresh-rootfs] [--list] [--if-unreachable]
#                   [SERVICE...]
#
# --if-unreachable builds only when Docker Hub cannot be reached (what
# README's first command uses); its first stdout line says which set to
# deploy: "image_set: upstream" or "image_set: local".
#
# An image whose tag already exists is kept (the cache) unless --rebuild or
# its inputs changed (see inputs_of).
# The Debian base comes from debootstrap; its rootfs tarball is cached under
# $VPAI_IMAGES_CACHE (default /var/cache/vpai-images) so a rebuild does not
# download it again (--refresh-rootfs does). Build logs go to
# $VPAI_IMAGES_CACHE/logs/<service>.log.  VPAI_IMAGES_DATA names another
# image table (tests use it to build under other tags).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
data=${VPAI_IMAGES_DATA:-$root/stack/images-local.yml}
cache=${VPAI_IMAGES_CACHE:-/var/cache/vpai-images}
export DOCKER_BUILDKIT=0

rebuild=0
refresh=0
list=0
if_unreachable=0
want=()
while [ $# -gt 0 ]; do
	case $1 in
	--rebuild) rebuild=1 ;;
	--refresh-rootfs) refresh=1 ;;
	--list) list=1 ;;
	--if-unreachable) if_unreachable=1 ;;
	-h | --help)
		awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
		exit 0
		;;
	-*)
		echo "build.sh: unknown option '$1'" >&2
		exit 2
		;;
	*) want+=("$1") ;;
	esac
	shift
done

# One line per service: name image build standin upstream user lacks
table() {
	awk '
	function flush() {
		if (name != "")
			printf "%s %s %s %s %s %s %s\n", name, v["image"],
			    v["build"], v["standin"], v["upstream"], v["user"],
			    (v["lacks"] == "" ? "-" : v["lacks"])
		delete v
	}
	/^  [a-z0-9-]+:[ \t]*$/ { flush(); name = $1; sub(":", "", name); next }
	/^    [a-z]+:/ {
		k = $1; sub(":", "", k)
		val = $0; sub(/^    [a-z]+:[ \t]*/, "", val); gsub(/"/, "", val)
		v[k] = val
	}
	END { flush() }
	' "$data"
}

lookup() {
	table | awk -v s="$1" '$1 == s'
}

if [ "$list" = 1 ]; then
	table | awk '{ printf "%-16s %-36s standin=%s upstream=%s\n", $1, $2, $4, $5 }'
	exit 0
fi

if ! docker info >/dev/null 2>&1; then
	echo "build.sh: docker is not running (start it with scripts/dockerd.sh)" >&2
	exit 1
fi

all=$(table | awk '{ print $1 }')
if [ ${#want[@]} -eq 0 ]; then
	mapfile -t want <<<"$all"
fi
for s in "${want[@]}"; do
	if [ -z "$(lookup "$s")" ]; then
		echo "build.sh: unknown service '$s' (known: $(echo "$all" | tr '\n' ' '))" >&2
		exit 2
	fi
done

if [ "$if_unreachable" = 1 ]; then
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		https://registry-1.docker.io/v2/ 2>/dev/null || true)
	case $code in
	200 | 401)
		echo "image_set: upstream (registry-1.docker.io answers: HTTP $code)"
		exit 0
		;;
	esac
	echo "image_set: local (registry-1.docker.io unreachable: building the local images)"
fi

mkdir -p "$cache/logs"
# One build at a time per cache (tests and the deploy may call this too).
exec 9>"$cache/.lock"
if ! flock -n 9; then
	echo "images: another images/build.sh is running; waiting for it"
	flock 9
fi
t0=$(date +%s)

have_image() {
	docker image inspect "$1" >/dev/null 2>&1
}

# The Debian mirror apt already uses on this machine (VPAI_DEBIAN_MIRROR
# overrides), from one-line or deb822 sources.
debian_mirror() {
	if [ -n "${VPAI_DEBIAN_MIRROR:-}" ]; then
		echo "$VPAI_DEBIAN_MIRROR"
		return
	fi
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) while ($i !~ /\]$/) i++;
			if ($i ~ /^\[/ || $i ~ /\]$/) i++;
			if ($(i + 1) == "bookworm") { print $i; exit }
		}')
	if [ -z "$m" ]; then
		m=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
			awk 'BEGIN { RS = ""; FS = "\n" }
			{
				u = ""; ok = 0
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
					if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) ok = 1
				}
				if (ok && u != "") { print u; exit }
			}')
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

build_base() {
	local image=$1 tarball="$cache/debian-bookworm-minbase.tar.gz"
	local mirror log="$cache/logs/base.log"
	mirror=$(debian_mirror)
	if [ "$refresh" = 1 ] || [ ! -s "$tarball" ]; then
		local dir
		dir=$(mktemp -d "$cache/rootfs.XXXXXX")
		echo "    debootstrap --variant=minbase bookworm from $mirror"
		if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$log" 2>&1; then
			tail -20 "$log" >&2
			rm -rf "$dir"
			return 1
		fi
		# apt inside the images: same mirror, no recommends, no docs.
		cat >"$dir/etc/apt/sources.list" <<-EOF
			deb $mirror bookworm main
			deb $mirror bookworm-updates main
		EOF
		cat >"$dir/etc/apt/apt.conf.d/90vpai" <<-'EOF'
			APT::Install-Recommends "false";
			APT::Install-Suggests "false";
			Acquire::Languages "none";
			DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
		EOF
		cat >"$dir/etc/dpkg/dpkg.cfg.d/90vpai-nodoc" <<-'EOF'
			path-exclude /usr/share/doc/*
			path-include /usr/share/doc/*/copyright
			path-exclude /usr/share/man/*
			path-exclude /usr/share/info/*
			path-exclude /usr/share/locale/*
		EOF
		rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
			"$dir"/var/log/*.log "$dir"/usr/share/doc/* "$dir"/usr/share/man/*
		tar --numeric-owner -C "$dir" -czf "$tarball.tmp" .
		mv "$tarball.tmp" "$tarball"
		rm -rf "$dir"
	else
		echo "    reusing cached rootfs $tarball"
	fi
	docker import \
		--change 'CMD ["/bin/bash"]' \
		--change 'ENV LANG=C.UTF-8' \
		--change 'LABEL org.vpai.standin=false' \
		--change 'LABEL org.vpai.service=base' \
		--change "LABEL org.vpai.upstream=$(lookup base | awk '{ print $5 }')" \
		--change "LABEL org.vpai.inputs=$inputs" \
		"$tarball" "$image" >>"$log" 2>&1
}

# n8n: Node 20 from this machine (Debian bookworm's nodejs is 18, too old for
# n8n 1.x) plus node_modules installed here with npm (cached): scripts are
# skipped (they download from unreachable hosts), then the two native
# modules n8n needs are compiled here against /usr/include/node.
prepare_n8n() {
	local ctx=$1 ver node mods
	ver=$(awk -F'"' '/"n8n":/ { print $4 }' "$here/n8n/package.json")
	mods="$cache/n8n-$ver"
	node=$(readlink -f "$(command -v node)")
	if [ -z "$node" ] || ! "$node" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
		echo "build.sh: n8n needs Node >= 20 on this machine (found: ${node:-none})" >&2
		return 1
	fi
	if [ ! -x "$mods/node_modules/.bin/n8n" ] || [ "${VPAI_N8N_REINSTALL:-0}" = 1 ]; then
		echo "    npm install n8n@$ver, then build isolated-vm and sqlite3 (about 4-5 minutes)"
		rm -rf "$mods.tmp"
		mkdir -p "$mods.tmp"
		cp "$here/n8n/package.json" "$mods.tmp/"
		(cd "$mods.tmp" && npm install --ignore-scripts --no-audit --no-fund \
			--loglevel=error && npm rebuild isolated-vm sqlite3 --loglevel=error) \
			>>"$cache/logs/n8n.log" 2>&1 || {
			tail -20 "$cache/logs/n8n.log" >&2
			return 1
		}
		rm -rf "$mods" "$mods.tar"
		mv "$mods.tmp" "$mods"
	else
		echo "    reusing npm install in $mods"
	fi
	# One tar file instead of ~100k small ones: dockerd hashes and layers a
	# single ADDed archive several times faster than a COPY of the tree.
	if [ ! -s "$mods.tar" ] || [ "$mods.tar" -ot "$mods/node_modules" ]; then
		tar -C "$mods" -cf "$mods.tar.tmp" node_modules package.json
		mv "$mods.tar.tmp" "$mods.tar"
	fi
	cp "$node" "$ctx/node"
	ln "$mods.tar" "$ctx/n8n.tar" 2>/dev/null || cp "$mods.tar" "$ctx/n8n.tar"
}

# What an image is built from, hashed: its line of the table, its build
# directory, the base image it is FROM (so a new base rebuilds everything)
# and, for n8n, the Node binary.  Stored as the label org.vpai.inputs: an
# existing image whose inputs changed is rebuilt.
inputs_of() {
	local s=$1 dir=$2
	{
		lookup "$s"
		if [ "$dir" != base ]; then
			docker image inspect -f '{{.Id}}' "$(lookup base | awk '{ print $2 }')" 2>/dev/null
			(cd "$here/$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
		fi
		if [ "$s" = n8n ]; then
			node --version 2>/dev/null
		fi
	} | sha256sum | cut -c1-16
}

build_one() {
	local s=$1 image=$2 dir=$3 standin=$4 upstream=$5 user=$6 lacks=$7
	local log="$cache/logs/$s.log" ctx uid gid
	if [ "$dir" = base ]; then
		build_base "$image"
		return
	fi
	ctx=$(mktemp -d "$cache/ctx-$s.XXXXXX")
	cp -a "$here/$dir/." "$ctx/"
	if [ "$s" = n8n ]; then
		prepare_n8n "$ctx" || {
			rm -rf "$ctx"
			return 1
		}
	fi
	uid=${user%%:*}
	gid=${user##*:}
	local args=(--build-arg "BASE=$(lookup base | awk '{ print $2 }')"
		--build-arg "SERVICE=$s" --build-arg "UID=$uid" --build-arg "GID=$gid"
		--label "org.vpai.service=$s" --label "org.vpai.standin=$standin"
		--label "org.vpai.upstream=$upstream" --label "org.vpai.inputs=$inputs")
	if [ "$lacks" != - ]; then
		args+=(--label "org.vpai.lacks=$lacks")
	fi
	: >"$log"
	if ! docker build --force-rm "${args[@]}" -t "$image" "$ctx" >>"$log" 2>&1; then
		tail -25 "$log" >&2
		rm -rf "$ctx"
		return 1
	fi
	rm -rf "$ctx"
}

# base first, then the rest in the file's order.
order=()
if printf '%s\n' "${want[@]}" | grep -qx base || ! have_image "$(lookup base | awk '{ print $2 }')"; then
	order+=(base)
fi
for s in $all; do
	[ "$s" = base ] && continue
	if printf '%s\n' "${want[@]}" | grep -qx "$s"; then
		order+=("$s")
	fi
done

if ! have_image "$(lookup base | awk '{ print $2 }')" && [ ${#order[@]} -gt 3 ]; then
	echo "images: first build; measured 15 min on 2 busy cores (n8n's npm install and"
	echo "        native modules are most of it); later runs reuse the cache in seconds"
fi
n=${#order[@]}
i=0
built=0
kept=0
for s in "${order[@]}"; do
	i=$((i + 1))
	read -r _ image dir standin upstream user lacks <<<"$(lookup "$s")"
	inputs=$(inputs_of "$s" "$dir")
	why=
	if have_image "$image" && [ "$rebuild" = 0 ]; then
		have=$(docker image inspect -f '{{index .Config.Labels "org.vpai.inputs"}}' "$image")
		if [ "$have" = "$inputs" ]; then
			echo "[$i/$n] $s: $image exists, kept (--rebuild to rebuild)"
			kept=$((kept + 1))
			continue
		fi
		why=" (its inputs changed)"
	fi
	what=$([ "$standin" = true ] && echo "stand-in" || echo "real")
	echo "[$i/$n] $s: building $image ($what, replaces $upstream)$why"
	ts=$(date +%s)
	old=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
	if ! build_one "$s" "$image" "$dir" "$standin" "$upstream" "$user" "$lacks"; then
		echo "[$i/$n] $s: FAILED after $(($(date +%s) - ts)) s; log: $cache/logs/$s.log" >&2
		exit 1
	fi
	built=$((built + 1))
	# The replaced image, unless a container or a child image still uses it.
	if [ -n "$old" ] && [ "$old" != "$(docker image inspect -f '{{.Id}}' "$image")" ]; then
		docker rmi "$old" >/dev/null 2>&1 || true
	fi
	echo "[$i/$n] $s: done in $(($(date +%s) - ts)) s"
done
echo "images: $built built, $kept kept from cache, total $(($(date +%s) - t0)) s"
