# facts.sh: gather every host fact vpai's plan needs, in ONE round trip.
#
# Shipped as data; vpai sends it on stdin to `sh -s -- QUERY...` (POSIX sh,
# dash on Debian).  Each QUERY argument asks for one fact; every answer
# line names the argument by its index (1-based), so paths, names and
# values never need escaping in the output.  File contents are base64.
#
#   p:PKG          P i STATUS-ABBREV VERSION      (dpkg-query)
#   f:SHA:PATH     Q TYPE|MODE|UID|GID|USER|GROUP|SIZE|PATH, Z SHA256  PATH
#                  and A BASE64 PATH when SHA is '*' or differs from the
#                  file's (SHA '-': never send content); keyed by path,
#                  one stat and one sha256sum for all (see vp_files)
#   s:PROC/SYS/PATH  S i VALUE                    (net/ipv4/ip_forward)
#                  and r i when it cannot be written here (read-only
#                  /proc/sys in a container, or no such key)
#                  (names validated by vpai: [a-z0-9._-] and '/')
#   u:USER         U i PASSWD-LINE  and  N i GROUPS...
#   g:GROUP        G i GROUP-LINE
#   v:SERVICE      V i ENABLED ACTIVE
#   c:USER         C i present|absent BASE64      (crontab -l -u USER)
#   k:USER         K i HOME, J i (stat of HOME/.ssh as in F), then F/Y/B
#                  for HOME/.ssh/authorized_keys
#   l:LOCALE       l i a NAMES... (locale -a), l i g yes|no (an uncommented
#                  /etc/locale.gen line for LOCALE), l i d LANG (the LANG of
#                  /etc/default/locale)
#   n:audit        n i ok|denied|unknown: can auditd talk to the kernel here
#                  (auditctl -s; "denied" in a container's PID namespace)
#   t:vpn          t absent, or t installed VERSION, t state BACKENDSTATE
#                  (tailscale status --json; "timeout" when tailscaled does
#                  not answer), t ip IPV4 (tailscale ip -4): the VPN IP.
#                  Probed in the background, each tailscale call bounded
#                  by timeout(1): gathering never blocks on the VPN.
#   n:clock        n i ok|nosystemd|container: can systemd-timesyncd run
#                  here (it needs systemd; its unit skips containers)
#   z:VENDOR/NAME  z i TARGET: the CrowdSec collection's link
#                  /etc/crowdsec/collections/NAME.yaml (readlink), or
#                  "file" (a local collection); nothing when absent
#                  (names validated by vpai: [a-z0-9_.-]/[a-z0-9_.-])
#
# First "BEGIN" (what comes before is ignored), then always: O os-release, M MemTotal kB, H /etc/hostname, h live hostname,
# T /etc/timezone, L /etc/localtime link, I init (systemd|sysv), R uid,
# D sshd -T lines, W ufw state, X docker --version, then "END".
# Must not use anything beyond coreutils, dpkg and the shell.

vp_facts() {
	PATH=/usr/sbin:/usr/bin:/sbin:/bin
	LC_ALL=C
	export PATH LC_ALL
	# Service probes can be slow (fail2ban's init script "status" runs
	# python, ~0.1 s): they run in the background while the rest is
	# gathered, and their lines are printed before END.
	vp_bg=
	vp_bgpid=
	case " $* " in
	*" v:"*)
		if vp_bg=$(mktemp 2>/dev/null); then
			vp_services "$@" >"$vp_bg" 2>/dev/null &
			vp_bgpid=$!
		fi
		;;
	esac
	# tailscale answers through tailscaled, which may hang: background
	vp_ts=
	vp_tspid=
	vp_tsq=0
	case " $* " in
	*" t:vpn "*)
		vp_tsq=1
		if vp_ts=$(mktemp 2>/dev/null); then
			vp_tailscale >"$vp_ts" 2>/dev/null &
			vp_tspid=$!
		fi
		;;
	esac
	vp_i=0
	vp_uid=$(id -u)
	# anything a login prints before this (motd, banners) is ignored
	echo BEGIN
	echo "R $vp_uid"
	if [ -r /etc/os-release ]; then
		while IFS='=' read -r k v; do
			case $k in
			ID|VERSION_ID|VERSION_CODENAME|PRETTY_NAME)
				v=${v#\"}
				echo "O $k ${v%\"}"
				;;
			esac
		done </etc/os-release
	fi
	while read -r k v _; do
		[ "$k" = MemTotal: ] && echo "M $v"
	done </proc/meminfo
	[ -r /etc/hostname ] && read -r v </etc/hostname && echo "H $v"
	echo "h $(hostname 2>/dev/null)"
	[ -r /etc/timezone ] && read -r v </etc/timezone && echo "T $v"
	[ -L /etc/localtime ] && echo "L $(readlink /etc/localtime)"
	if [ -d /run/systemd/system ]; then
		echo "I systemd"
	else
		echo "I sysv"
	fi
	vp_pkgs=
	vp_sys=
	vp_nf=0
	for a do
		vp_i=$((vp_i + 1))
		vp_v=${a#??}
		case $a in
		p:*)
			vp_pkgs="$vp_pkgs $vp_v"
			;;
		f:*)
			vp_nf=$((vp_nf + 1))
			;;
		s:*)
			vp_sys="$vp_sys $vp_i /proc/sys/$vp_v"
			# read-only /proc/sys (a container) or no such key
			[ -w "/proc/sys/$vp_v" ] || echo "r $vp_i"
			;;
		u:*)
			if v=$(getent passwd -- "$vp_v"); then
				echo "U $vp_i $v"
				echo "N $vp_i $(id -nG -- "$vp_v")"
			fi
			;;
		g:*)
			v=$(getent group -- "$vp_v") && echo "G $vp_i $v"
			;;
		v:*)
			[ -n "$vp_bgpid" ] || vp_service "$vp_i" "$vp_v"
			;;
		c:*)
			if v=$(crontab -l -u "$vp_v" 2>/dev/null); then
				echo "C $vp_i present $(printf '%s\n' "$v" |
				    base64 -w0)"
			else
				echo "C $vp_i absent"
			fi
			;;
		k:*)
			if v=$(getent passwd -- "$vp_v"); then
				IFS=: read -r _ _ _ _ _ v _ <<-EOF
				$v
				EOF
				echo "K $vp_i $v"
				[ -e "$v/.ssh" ] && echo "J $vp_i $(stat -c \
				    '%F|%a|%u|%g|%U|%G|%s' -- "$v/.ssh")"
				vp_file "$vp_i" '*' "$v/.ssh/authorized_keys"
			fi
			;;
		l:*)
			vp_locale "$vp_i" "$vp_v"
			;;
		n:clock)
			if [ ! -d /run/systemd/system ]; then
				echo "n $vp_i nosystemd"
			elif systemd-detect-virt -q --container 2>/dev/null
			then
				echo "n $vp_i container"
			else
				echo "n $vp_i ok"
			fi
			;;
		z:*)
			vp_p=/etc/crowdsec/collections/${vp_v#*/}.yaml
			if [ -L "$vp_p" ]; then
				echo "z $vp_i $(readlink -- "$vp_p")"
			elif [ -f "$vp_p" ]; then
				echo "z $vp_i file"
			fi
			;;
		n:audit)
			if ! command -v auditctl >/dev/null 2>&1; then
				echo "n $vp_i unknown"
			elif auditctl -s >/dev/null 2>&1; then
				echo "n $vp_i ok"
			else
				echo "n $vp_i denied"
			fi
			;;
		esac
	done
	[ "$vp_nf" = 0 ] || vp_files "$@"
	# Package names are validated by vpai ([a-z0-9.+-]): word-splitting is
	# safe.  One dpkg-query for all of them.
	if [ -n "$vp_pkgs" ]; then
		# shellcheck disable=SC2086
		dpkg-query -W -f='P ${Package} ${db:Status-Abbrev} ${Version}\n' \
		    $vp_pkgs 2>/dev/null
	fi
	# Sysctl names are validated by vpai ([a-z0-9._-]).  One awk for all;
	# (the shell's byte-wise `read` gets short reads from /proc/sys).
	if [ -n "$vp_sys" ]; then
		# shellcheck disable=SC2086
		awk 'BEGIN { for (i = 1; i < ARGC; i += 2)
			if ((getline l < ARGV[i + 1]) > 0) print "S " ARGV[i] " " l }' \
		    $vp_sys 2>/dev/null
	fi
	if [ "$vp_uid" = 0 ] && [ -x /usr/sbin/sshd ]; then
		/usr/sbin/sshd -T 2>/dev/null | sed 's/^/D /'
	fi
	if [ -e /etc/ufw/ufw.conf ]; then
		sed -n 's/^ENABLED=/W enabled /p' /etc/ufw/ufw.conf
		sed -n 's/^DEFAULT_\(INPUT\|OUTPUT\|FORWARD\)_POLICY=/W \1 /p' \
		    /etc/default/ufw 2>/dev/null | tr -d '"'
		cat /etc/ufw/user.rules /etc/ufw/user6.rules 2>/dev/null |
		    sed -n 's/^### tuple ### /W tuple /p'
	fi
	if command -v docker >/dev/null 2>&1; then
		echo "X $(docker --version 2>/dev/null)"
	fi
	if [ -n "$vp_bgpid" ]; then
		wait "$vp_bgpid" || :
		cat "$vp_bg"
		rm -f -- "$vp_bg"
	fi
	if [ -n "$vp_tspid" ]; then
		wait "$vp_tspid" || :
		cat "$vp_ts"
		rm -f -- "$vp_ts"
	elif [ "$vp_tsq" = 1 ]; then
		vp_tailscale
	fi
	echo END
}

# vp_files QUERY...: all f: entries with one stat and one sha256sum (paths
# hold no newline: vpai refuses them).  Lines are keyed by path:
#   Q TYPE|MODE|UID|GID|USER|GROUP|SIZE|PATH
#   Z SHA256  PATH          (sha256sum's format; '\' first if escaped)
#   A BASE64 PATH           (content, when asked or when the sha differs)
vp_files() {
	vp_stat "$@"
	vp_sums=$(vp_sha "$@")
	[ -z "$vp_sums" ] || printf '%s\n' "$vp_sums" | sed 's/^/Z /'
	vp_nl='
'
	for a do
		case $a in
		f:*) ;;
		*) continue ;;
		esac
		vp_w=${a#f:}
		vp_w=${vp_w%%:*}
		vp_p=${a#f:*:}
		if [ "$vp_w" = - ] || [ ! -f "$vp_p" ] || [ -L "$vp_p" ]; then
			continue
		fi
		if [ "$vp_w" != '*' ]; then
			case "$vp_nl$vp_sums$vp_nl" in
			*"$vp_nl$vp_w  $vp_p$vp_nl"*) continue ;;
			esac
		fi
		echo "A $(base64 -w0 <"$vp_p") $vp_p"
	done
}

vp_stat() {
	vp_n=$#
	for a do
		case $a in
		f:*) set -- "$@" "${a#f:*:}" ;;
		esac
	done
	shift "$vp_n"
	stat -c 'Q %F|%a|%u|%g|%U|%G|%s|%n' -- "$@" 2>/dev/null
}

# regular files only: never read a fifo or a device
vp_sha() {
	vp_n=$#
	for a do
		case $a in
		f:*)
			vp_p=${a#f:*:}
			if [ -f "$vp_p" ] && [ ! -L "$vp_p" ]; then
				set -- "$@" "$vp_p"
			fi
			;;
		esac
	done
	shift "$vp_n"
	[ $# -eq 0 ] || sha256sum -- "$@" 2>/dev/null
}

# vp_file INDEX SHA PATH
vp_file() {
	if [ -e "$3" ] || [ -L "$3" ]; then
		echo "F $1 $(stat -c '%F|%a|%u|%g|%U|%G|%s' -- "$3")"
		if [ -f "$3" ] && [ ! -L "$3" ]; then
			vp_s=$(sha256sum <"$3") && vp_s=${vp_s%% *}
			echo "Y $1 $vp_s"
			if [ "$2" = '*' ] ||
			    { [ "$2" != - ] && [ "$2" != "$vp_s" ]; }; then
				echo "B $1 $(base64 -w0 <"$3")"
			fi
		fi
	fi
}

# vp_locale INDEX NAME (validated by vpai: [A-Za-z0-9_.@-])
vp_locale() {
	echo "l $1 a $(locale -a 2>/dev/null | tr '\n' ' ')"
	if [ -r /etc/locale.gen ] &&
	    awk -v n="$2" '$1 == n { f = 1 } END { exit !f }' /etc/locale.gen
	then
		echo "l $1 g yes"
	else
		echo "l $1 g no"
	fi
	[ -r /etc/default/locale ] &&
	    echo "l $1 d $(sed -n 's/^LANG=//p' /etc/default/locale |
		tail -n 1 | tr -d '"')"
}

# vp_tailscale: the t lines.  Every call is bounded (timeout(1) kills the
# whole process group), stdin is /dev/null; at most about 13 s when
# tailscaled hangs, a few ms otherwise.
vp_tailscale() {
	if ! command -v tailscale >/dev/null 2>&1; then
		echo "t absent"
		return
	fi
	vp_tv=$(timeout -k 1 3 tailscale version </dev/null 2>/dev/null)
	echo "t installed $(printf '%s\n' "$vp_tv" | sed -n '1{s/[^0-9A-Za-z.+-]//g;p}')"
	vp_tj=$(timeout -k 1 5 tailscale status --json </dev/null 2>/dev/null)
	case $? in
	124|137)
		echo "t state timeout"
		return
		;;
	esac
	vp_st=$(printf '%s\n' "$vp_tj" | sed -n \
	    's/^[[:space:]]*"BackendState":[[:space:]]*"\([A-Za-z]*\)".*/\1/p' |
	    head -n 1)
	echo "t state ${vp_st:-unknown}"
	vp_ti=$(timeout -k 1 5 tailscale ip -4 </dev/null 2>/dev/null)
	vp_ti=$(printf '%s\n' "$vp_ti" | head -n 1)
	case $vp_ti in
	''|*[!0-9.]*) ;;
	*) echo "t ip $vp_ti" ;;
	esac
}

# vp_services QUERY...: vp_service for every v: argument
vp_services() {
	vp_j=0
	for a do
		vp_j=$((vp_j + 1))
		case $a in
		v:*) vp_service "$vp_j" "${a#v:}" ;;
		esac
	done
}

# vp_service INDEX NAME
vp_service() {
	if [ -d /run/systemd/system ]; then
		vp_e=$(systemctl is-enabled -- "$2.service" 2>/dev/null)
		vp_a=$(systemctl is-active -- "$2.service" 2>/dev/null)
		[ -n "$vp_e" ] || vp_e=absent
		echo "V $1 $vp_e $vp_a"
		return
	fi
	if [ ! -x "/etc/init.d/$2" ]; then
		echo "V $1 absent inactive"
		return
	fi
	vp_e=disabled
	for f in /etc/rc2.d/S[0-9][0-9]"$2"; do
		[ -e "$f" ] && vp_e=enabled
	done
	if "/etc/init.d/$2" status >/dev/null 2>&1; then
		echo "V $1 $vp_e active"
	else
		echo "V $1 $vp_e inactive"
	fi
}

vp_facts "$@"
