# apply.sh: the runtime of vpai's apply script (POSIX sh, shipped as data).
#
# vpai sends, on stdin to `sh -s`, this file, then one call per planned
# change (arguments quoted once by vpai), then facts.sh to verify:
#
#	vp_step 3 'file /etc/x'
#	vp_put '/etc/x' '0644' 'root' 'root' SHA-BEFORE <<'VPAI.EOF'
#	BASE64...
#	VPAI.EOF
#
# Each step prints "@ok N" or "@fail N MESSAGE" and the script stops at
# the first failure.  Files are written to a temp file in the same
# directory and renamed over the target, so an interrupted apply never
# leaves a half-written file; the temp file is removed on exit/signal.
# A file is only replaced if it still has the content the plan saw
# (BEFORE is its sha256, "absent", or "-" for no check).

PATH=/usr/sbin:/usr/bin:/sbin:/bin
LC_ALL=C
export PATH LC_ALL
vp_n=0
vp_installed=0
vp_tmp=
trap 'rm -f -- "$vp_tmp"' EXIT
trap 'rm -f -- "$vp_tmp"; exit 130' HUP INT TERM PIPE

vp_step() {
	vp_n=$1
}

vp_ok() {
	echo "@ok $vp_n"
}

# vp_fail MESSAGE: report the current step and stop.
vp_fail() {
	printf '@fail %s %s\n' "$vp_n" "$(printf '%s' "$*" | tr '\n' ' ')"
	exit 1
}

# vp_run CMD...: run, and on failure stop with its last output line.
vp_run() {
	vp_o=$("$@" 2>&1) && return 0
	vp_fail "$1: $(printf '%s\n' "$vp_o" | sed '/^[[:space:]]*$/d' |
	    tail -n 1)"
}

vp_systemd() {
	[ -d /run/systemd/system ]
}

# vp_replace TMP PATH: rename TMP over PATH (atomic).  A file bind-mounted
# on its own (a container's /etc/hosts, /etc/hostname: not on its
# directory's device) cannot be renamed over: it is rewritten in place.
vp_replace() {
	if [ -e "$2" ] && [ "$(stat -c %d -- "$2")" != \
	    "$(stat -c %d -- "$(dirname -- "$2")")" ]; then
		vp_run cp -- "$1" "$2"
		rm -f -- "$1"
	else
		vp_run mv -f -- "$1" "$2"
	fi
}

# vp_put PATH MODE OWNER GROUP BEFORE  (base64 content on stdin)
# MODE/OWNER/GROUP "-": keep the current file's (or 0644/root for new).
vp_put() {
	if [ "$5" != - ]; then
		if [ -e "$1" ]; then
			vp_c=$(sha256sum <"$1") || vp_fail "cannot read '$1'"
			vp_c=${vp_c%% *}
		else
			vp_c=absent
		fi
		# a package this apply installed may have created it (its
		# default conffile, e.g. 50unattended-upgrades): replaced
		if [ "$5" = absent ] && [ "$vp_installed" = 1 ]; then
			vp_c=absent
		fi
		[ "$vp_c" = "$5" ] ||
		    vp_fail "'$1' changed since the plan was made; plan again"
	fi
	vp_d=$(dirname -- "$1")
	[ -d "$vp_d" ] || vp_fail "directory '$vp_d' does not exist"
	vp_tmp="$vp_d/.${1##*/}.vpai-tmp.$$"
	(umask 077 && base64 -d >"$vp_tmp") ||
	    vp_fail "cannot write '$vp_tmp'"
	if [ -e "$1" ]; then
		chown --reference="$1" -- "$vp_tmp" 2>/dev/null
		chmod --reference="$1" -- "$vp_tmp"
	else
		chmod 0644 -- "$vp_tmp"
	fi
	[ "$3" = - ] || vp_run chown -- "$3" "$vp_tmp"
	[ "$4" = - ] || vp_run chgrp -- "$4" "$vp_tmp"
	[ "$2" = - ] || vp_run chmod -- "$2" "$vp_tmp"
	vp_replace "$vp_tmp" "$1"
	vp_tmp=
	vp_ok
}

# vp_meta PATH MODE OWNER GROUP  ("-": leave as is)
vp_meta() {
	[ -e "$1" ] || vp_fail "'$1' does not exist"
	[ "$3" = - ] || vp_run chown -- "$3" "$1"
	[ "$4" = - ] || vp_run chgrp -- "$4" "$1"
	[ "$2" = - ] || vp_run chmod -- "$2" "$1"
	vp_ok
}

# vp_dir PATH MODE OWNER GROUP
vp_dir() {
	[ -d "$1" ] || vp_run mkdir -p -- "$1"
	[ "$3" = - ] || vp_run chown -- "$3" "$1"
	[ "$4" = - ] || vp_run chgrp -- "$4" "$1"
	[ "$2" = - ] || vp_run chmod -- "$2" "$1"
	vp_ok
}

# vp_apt update | install PKG... | remove PKG...  (names validated by vpai)
vp_apt() {
	vp_a=$1
	shift
	export DEBIAN_FRONTEND=noninteractive
	if [ "$vp_a" = update ]; then
		vp_run apt-get update -q
	elif [ "$vp_a" = install ]; then
		if ! vp_o=$(apt-get install -y -q --no-install-recommends \
		    -o Dpkg::Options::=--force-confold "$@" 2>&1); then
			# lists fetched in the last day: the failure is real
			if [ -n "$(find /var/lib/apt/lists -maxdepth 1 \
			    -name '*Packages*' -cmin -1440 2>/dev/null |
			    head -n 1)" ]; then
				vp_fail "apt-get install: $(printf '%s\n' \
				    "$vp_o" | grep '^E:' | head -n 1)"
			fi
			# stale or missing package lists: update once, retry
			vp_run apt-get update -q
			vp_run apt-get install -y -q --no-install-recommends \
			    -o Dpkg::Options::=--force-confold "$@"
		fi
		vp_installed=1
	else
		vp_run apt-get remove -y -q "$@"
	fi
	vp_ok
}

# vp_group NAME GID SYSTEM   (GID "-": any)
vp_group() {
	set -- "$1" "$2" "$3"
	if [ "$2" != - ]; then
		if [ "$3" = 1 ]; then
			vp_run groupadd -r -g "$2" -- "$1"
		else
			vp_run groupadd -g "$2" -- "$1"
		fi
	elif [ "$3" = 1 ]; then
		vp_run groupadd -r -- "$1"
	else
		vp_run groupadd -- "$1"
	fi
	vp_ok
}

# vp_user create|update NAME HOME SHELL GROUPS(comma) SYSTEM UID
vp_user() {
	vp_cmd=$1 vp_u=$2 vp_h=$3 vp_s=$4 vp_g=$5 vp_sys=$6 vp_uid=$7
	set --
	[ "$vp_h" = - ] || set -- "$@" -d "$vp_h"
	[ "$vp_s" = - ] || set -- "$@" -s "$vp_s"
	if [ "$vp_cmd" = create ]; then
		[ "$vp_g" = - ] || set -- "$@" -G "$vp_g"
		[ "$vp_uid" = - ] || set -- "$@" -u "$vp_uid"
		if [ "$vp_sys" = 1 ]; then
			set -- "$@" -r
		else
			set -- "$@" -m
		fi
		vp_run useradd "$@" -- "$vp_u"
	else
		[ "$vp_g" = - ] || set -- "$@" -a -G "$vp_g"
		vp_run usermod "$@" -- "$vp_u"
	fi
	vp_ok
}

# vp_sysctl KEY VALUE
vp_sysctl() {
	vp_run sysctl -q -w "$1=$2"
	vp_ok
}

# vp_crontab USER  (base64 crontab on stdin)
vp_crontab() {
	vp_o=$(base64 -d | crontab -u "$1" - 2>&1) ||
	    vp_fail "crontab: $vp_o"
	vp_ok
}

# vp_tz ZONE LINK
vp_tz() {
	[ -e "$2" ] || vp_fail "unknown time zone '$1' (no '$2')"
	vp_run ln -sfn -- "$2" /etc/localtime
	vp_tmp=/etc/.timezone.vpai-tmp.$$
	printf '%s\n' "$1" >"$vp_tmp" && vp_run mv -f -- "$vp_tmp" /etc/timezone
	vp_tmp=
	vp_ok
}

# vp_hostname NAME
vp_hostname() {
	vp_tmp=/etc/.hostname.vpai-tmp.$$
	printf '%s\n' "$1" >"$vp_tmp" && vp_replace "$vp_tmp" /etc/hostname
	vp_tmp=
	if vp_systemd; then
		vp_run hostnamectl set-hostname -- "$1"
	elif [ "$(hostname)" != "$1" ]; then
		vp_run hostname -- "$1"
	fi
	vp_ok
}

# vp_service NAME ENABLE START RESTART NEEDS  (each 0 or 1; NEEDS "-",
# "audit": when the kernel refuses audit here (a container's PID
# namespace), the service is enabled but not started, and the verify
# facts say so; or "clock": the plan already left out what cannot run)
vp_service() {
	if [ "${5:--}" = audit ] && { [ "$3" = 1 ] || [ "$4" = 1 ]; } &&
	    command -v auditctl >/dev/null 2>&1 &&
	    ! auditctl -s >/dev/null 2>&1; then
		set -- "$1" "$2" 0 0
	fi
	if vp_systemd; then
		[ "$2" = 0 ] || vp_run systemctl enable -- "$1.service"
		# a package this apply installed may have started it with its
		# default configuration, before vpai wrote its files: restart
		# (which starts a stopped unit too)
		if [ "$3" = 1 ] && [ "$vp_installed" = 1 ]; then
			set -- "$1" "$2" 0 1
		fi
		[ "$3" = 0 ] || vp_run systemctl start -- "$1.service"
		[ "$4" = 0 ] || vp_run systemctl restart -- "$1.service"
	else
		[ "$2" = 0 ] || vp_run update-rc.d "$1" defaults
		[ "$2" = 0 ] || vp_run update-rc.d "$1" enable
		[ "$3" = 0 ] || vp_run service "$1" start
		[ "$4" = 0 ] || vp_run service "$1" restart
	fi
	vp_ok
}

# vp_locale NAME GENERATE SET  (NAME validated by vpai: [A-Za-z0-9_.@-])
# GENERATE=1: uncomment or add NAME's line of /usr/share/i18n/SUPPORTED in
# /etc/locale.gen (written atomically), then locale-gen.  SET=1: LANG=NAME
# in /etc/default/locale (other lines kept; written atomically).
vp_locale() {
	if [ "$2" = 1 ]; then
		[ -r /usr/share/i18n/SUPPORTED ] ||
		    vp_fail "the locales package is not installed"
		vp_l=$(awk -v n="$1" '$1 == n { print; exit }' \
		    /usr/share/i18n/SUPPORTED)
		[ -n "$vp_l" ] ||
		    vp_fail "unknown locale '$1' (not in /usr/share/i18n/SUPPORTED)"
		vp_tmp=/etc/.locale.gen.vpai-tmp.$$
		{ [ ! -e /etc/locale.gen ] || cat /etc/locale.gen; } |
		    awk -v n="$1" -v l="$vp_l" '
			{ s = $0; sub(/^#[[:space:]]*/, "", s); split(s, w, /[[:space:]]+/) }
			w[1] == n && !f { print l; f = 1; next }
			{ print }
			END { if (!f) print l }' >"$vp_tmp" ||
		    vp_fail "cannot write '$vp_tmp'"
		chmod 0644 "$vp_tmp"
		vp_run mv -f -- "$vp_tmp" /etc/locale.gen
		vp_tmp=
		vp_run locale-gen
	fi
	if [ "$3" = 1 ]; then
		vp_tmp=/etc/default/.locale.vpai-tmp.$$
		{ [ ! -e /etc/default/locale ] || cat /etc/default/locale; } |
		    awk -v l="LANG=$1" '
			/^LANG=/ { if (!f) print l; f = 1; next }
			{ print }
			END { if (!f) print l }' >"$vp_tmp" ||
		    vp_fail "cannot write '$vp_tmp'"
		chmod 0644 "$vp_tmp"
		vp_run mv -f -- "$vp_tmp" /etc/default/locale
		vp_tmp=
	fi
	vp_ok
}

# vp_warn MESSAGE: a warning for the current step ("@warn N MESSAGE"); the
# step still succeeds.
vp_warn() {
	printf '@warn %s %s\n' "$vp_n" "$(printf '%s' "$*" | tr '\n' ' ')"
}

# vp_tailscale TIMEOUT ARGS...  (base64 of the auth key on stdin)
# `tailscale up --auth-key file:KEYFILE ARGS...` bounded by TIMEOUT
# seconds (timeout(1) kills its whole process group).  The key is written
# to a 0600 file under /run (never in an argv, never in a log) and removed
# right after, or by the EXIT trap if the apply is interrupted.  A failure
# or a timeout is a warning, never a failed step: the VPN never blocks a
# converge (REX #4), and SSH then stays as it is.
vp_tailscale() {
	vp_t=$1
	shift
	if ! vp_tmp=$(umask 077 && mktemp /run/.vpai-tailscale-key.XXXXXX)
	then
		vp_tmp=
		base64 -d >/dev/null
		vp_warn "tailscale up not run: cannot create a key file under /run"
		vp_ok
		return 0
	fi
	if ! base64 -d >"$vp_tmp"; then
		rm -f -- "$vp_tmp"
		vp_tmp=
		vp_warn "tailscale up not run: cannot write the key file"
		vp_ok
		return 0
	fi
	vp_log=$(umask 077 && mktemp /run/.vpai-tailscale-log.XXXXXX) ||
	    vp_log=/dev/null
	timeout -k 5 "$vp_t" tailscale up --auth-key "file:$vp_tmp" "$@" \
	    </dev/null >"$vp_log" 2>&1
	vp_rc=$?
	rm -f -- "$vp_tmp"
	vp_tmp=
	vp_o=
	if [ "$vp_log" != /dev/null ]; then
		vp_o=$(sed '/^[[:space:]]*$/d' "$vp_log" | tail -n 1)
		rm -f -- "$vp_log"
	fi
	case $vp_rc in
	0)
		;;
	124|137)
		vp_warn "tailscale up timed out after $vp_t s; the converge" \
		    "goes on and SSH is not moved to the VPN"
		;;
	*)
		vp_warn "tailscale up failed (exit $vp_rc): $vp_o; the" \
		    "converge goes on and SSH is not moved to the VPN"
		;;
	esac
	vp_ok
}

# vp_cscoll VENDOR/NAME  (validated by vpai: [a-z0-9_.-]/[a-z0-9_.-])
# Enable a CrowdSec collection.  Already enabled (Debian's postinst enables
# linux, sshd, http-cve... from its offline hub when this apply installed
# the package): nothing to do.  Otherwise `cscli collections install`,
# which needs the hub (version.crowdsec.net, hub-cdn.crowdsec.net).
vp_cscoll() {
	vp_p=/etc/crowdsec/collections/${1#*/}.yaml
	if [ -L "$vp_p" ]; then
		case $(readlink -- "$vp_p") in
		*/collections/"$1".yaml)
			vp_ok
			return
			;;
		esac
	fi
	command -v cscli >/dev/null 2>&1 || vp_fail "cscli is not installed"
	vp_run cscli --error collections install "$1"
	[ -e "$vp_p" ] || vp_fail "cscli did not enable '$1'"
	vp_ok
}

# vp_ufw ARGS...
vp_ufw() {
	command -v ufw >/dev/null 2>&1 || vp_fail "ufw is not installed"
	vp_run ufw "$@"
	vp_ok
}

# vp_arm DIR SECONDS SSH UFW PATH...  (base64 of revert.sh on stdin)
# Commit-confirmed: save PATHs into DIR and start revert.sh detached (a
# systemd-run unit on systemd hosts, else setsid); it
# restores them after SECONDS unless vpai disarms it through a fresh
# connection (see revert.sh).  Runs before the first change.
vp_arm() {
	command -v setsid >/dev/null 2>&1 ||
	    vp_fail "setsid is not installed: cannot arm the automatic revert"
	vp_ad=$1 vp_as=$2 vp_ah=$3 vp_au=$4
	shift 4
	if [ -e "$vp_ad/armed" ] || [ -e "$vp_ad/reverting" ]; then
		vp_fail "a revert is already armed in '$vp_ad' (another apply is running, or wait for it to fire)"
	fi
	rm -rf -- "$vp_ad"
	(umask 077 && mkdir -p -- "$vp_ad" && base64 -d >"$vp_ad/revert.sh") ||
	    vp_fail "cannot write '$vp_ad'"
	: >"$vp_ad/list"
	vp_ai=0
	for vp_ap; do
		vp_ai=$((vp_ai + 1))
		if [ -e "$vp_ap" ] || [ -L "$vp_ap" ]; then
			vp_run cp -a -- "$vp_ap" "$vp_ad/$vp_ai"
		fi
		printf '%s\n' "$vp_ap" >>"$vp_ad/list"
	done
	: >"$vp_ad/armed"
	vp_arm_boot "$vp_ad" "$vp_ah" "$vp_au"
	# systemd: the timer runs in a transient unit of its own, outside
	# the ssh session's scope, so it outlives the session even where
	# logind kills a session's processes when it ends
	# (KillUserProcesses=yes, or `loginctl terminate-session`)
	if vp_systemd && command -v systemd-run >/dev/null 2>&1; then
		systemctl reset-failed vpai-confirm-timer.service \
		    >/dev/null 2>&1
		if systemd-run --quiet --collect --unit=vpai-confirm-timer \
		    --description='vpai: commit-confirmed revert timer' \
		    /bin/sh "$vp_ad/revert.sh" "$vp_ad" "$vp_as" "$vp_ah" \
		    "$vp_au" </dev/null >/dev/null 2>&1; then
			vp_ap=$(systemctl show -p MainPID --value \
			    vpai-confirm-timer.service)
			# never "0" in DIR/pid: vpai's disarm runs kill on it
			case $vp_ap in
			''|0|*[!0-9]*)	;;
			*)	echo "$vp_ap" >"$vp_ad/pid"
				vp_ok
				return 0 ;;
			esac
		fi
	fi
	setsid sh "$vp_ad/revert.sh" "$vp_ad" "$vp_as" "$vp_ah" "$vp_au" \
	    </dev/null >/dev/null 2>&1 &
	echo "$!" >"$vp_ad/pid"
	vp_ok
}

# vp_arm_boot DIR SSH UFW: the same revert at the next boot, in case the
# host reboots inside the window (revert.sh removes these hooks).
vp_arm_boot() {
	vp_ac="sh $1/revert.sh $1 0 $2 $3"
	# gone after a reboot (/run is a tmpfs): tells the hook it booted
	: >/run/vpai-confirm.armed || vp_fail "cannot write /run/vpai-confirm.armed"
	if [ -d /etc/cron.d ]; then
		vp_tmp=/etc/cron.d/.vpai-confirm-revert.vpai-tmp.$$
		{ printf '# vpai commit-confirmed revert (removed when confirmed)\n@reboot root %s\n' \
		    "$vp_ac" >"$vp_tmp" && chmod 0644 "$vp_tmp"; } ||
		    vp_fail "cannot write '$vp_tmp'"
		vp_run mv -f -- "$vp_tmp" /etc/cron.d/vpai-confirm-revert
		vp_tmp=
	fi
	if vp_systemd; then
		vp_u=/etc/systemd/system/vpai-confirm-revert.service
		vp_tmp=/etc/systemd/system/.vpai-confirm-revert.vpai-tmp.$$
		printf '%s\n' '[Unit]' \
		    'Description=vpai: restore the sshd/ufw configuration of an unconfirmed change' \
		    'After=network.target ssh.service ufw.service' '' \
		    '[Service]' 'Type=oneshot' "ExecStart=/bin/$vp_ac systemd" '' \
		    '[Install]' 'WantedBy=multi-user.target' >"$vp_tmp" ||
		    vp_fail "cannot write '$vp_tmp'"
		vp_run mv -f -- "$vp_tmp" "$vp_u"
		vp_tmp=
		vp_run mkdir -p /etc/systemd/system/multi-user.target.wants
		vp_run ln -sfn "$vp_u" \
		    /etc/systemd/system/multi-user.target.wants/vpai-confirm-revert.service
	fi
}
