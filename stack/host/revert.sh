# revert.sh DIR SECONDS SSH UFW [BY]: the commit-confirmed timer (POSIX sh,
# shipped as data).  vp_arm (apply.sh) saves the sshd/ufw paths an apply
# is about to change into DIR (DIR/list holds one path per line, DIR/N the
# saved copy of line N, no DIR/N when the path did not exist) and starts
# this script detached, before the first change: on systemd hosts as the
# transient unit vpai-confirm-timer.service (systemd-run: outside the ssh
# session's scope, so logind's KillUserProcesses=yes cannot kill it with
# the session), else with setsid.  Unless vpai
# disarms it (removes DIR/armed) after a FRESH ssh connection through the
# new configuration worked, it restores every path after SECONDS, then
# restarts sshd (SSH=1) and reloads or disables ufw (UFW=1), even when the
# connection that armed it is gone.
#
# Reboot-safe: vp_arm also installs boot hooks that run this script with
# SECONDS 0 at the next boot (/etc/cron.d/vpai-confirm-revert "@reboot",
# and a systemd unit enabled for multi-user.target when the host runs
# systemd): a host that reboots inside the window, before vpai confirmed,
# comes back with the previous configuration (BY names the hook in the
# log: the systemd unit passes "systemd"; a reboot is told by the
# marker /run/vpai-confirm.armed being gone).  Whoever renames DIR/armed
# first (the timer, or the first boot hook) does the revert; the others
# find nothing armed and only clean up.  The hooks are removed by the
# revert and by vpai's disarm.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
rm_hooks() {
	rm -f -- /run/vpai-confirm.armed /etc/cron.d/vpai-confirm-revert \
	    /etc/systemd/system/vpai-confirm-revert.service \
	    /etc/systemd/system/multi-user.target.wants/vpai-confirm-revert.service
}
# /run is a tmpfs: the marker vp_arm left there is gone only after a
# reboot.  A boot hook that runs in the same boot (cron runs @reboot jobs
# at its first start, e.g. when this very apply installed cron) does
# nothing: the timer is still there.
if [ "$2" = 0 ]; then
	[ ! -e /run/vpai-confirm.armed ] || exit 0
else
	sleep "$2"
fi
if ! mv -- "$1/armed" "$1/reverting" 2>/dev/null; then
	# nothing armed (disarmed, or already reverted): stale hooks go
	[ -e "$1/reverting" ] || [ -e "$1/armed" ] || rm_hooks
	exit 0
fi
{
	if [ "$2" = 0 ]; then
		echo "revert: $(date -u '+%Y-%m-%dT%H:%M:%SZ') at boot${5:+ ($5)}"
	else
		echo "revert: $(date -u '+%Y-%m-%dT%H:%M:%SZ') after $2 s"
	fi
	i=0 ufw_off=0
	while IFS= read -r p; do
		i=$((i + 1))
		if [ -e "$1/$i" ] || [ -L "$1/$i" ]; then
			rm -rf -- "$p.vpai-revert"
			cp -a -- "$1/$i" "$p.vpai-revert" &&
			    { [ ! -d "$p" ] || [ -L "$p" ] || rm -rf -- "$p"; } &&
			    mv -f -- "$p.vpai-revert" "$p" && echo "restored $p"
		else
			case $p in
			/etc/ufw/user.rules|/etc/ufw/user6.rules|\
			    /etc/ufw/ufw.conf|/etc/default/ufw)
				# ufw had no such file: keep the package's,
				# and turn ufw off instead
				ufw_off=1 ;;
			*)	rm -rf -- "$p" && echo "removed $p" ;;
			esac
		fi
	done <"$1/list"
	if [ "$3" = 1 ]; then
		if [ -d /run/systemd/system ]; then
			systemctl restart ssh.service ||
			    systemctl restart sshd.service
		else
			service ssh restart || /etc/init.d/ssh restart
		fi
	fi
	if [ "$4" = 1 ] && command -v ufw >/dev/null 2>&1; then
		if [ "$ufw_off" = 0 ] &&
		    grep -q '^ENABLED=yes' /etc/ufw/ufw.conf 2>/dev/null; then
			ufw reload
		else
			ufw --force disable
		fi
	fi
	rm_hooks && echo "boot hooks removed"
} >>"$1/log" 2>&1
mv -f -- "$1/reverting" "$1/reverted"
