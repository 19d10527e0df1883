# revert.sh DIR SECONDS SSH UFW: the commit-confirmed timer (POSIX sh,
# shipped as data).  vp_arm (apply.sh) saves the sshd/ufw paths an apply
# is about to change into DIR (DIR/list holds one path per line, DIR/N the
# saved copy of line N, no DIR/N when the path did not exist) and starts
# this script detached (setsid), before the first change.  Unless vpai
# disarms it (removes DIR/armed) after a FRESH ssh connection through the
# new configuration worked, it restores every path after SECONDS, then
# restarts sshd (SSH=1) and reloads or disables ufw (UFW=1), even when the
# connection that armed it is gone.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
sleep "$2"
[ -e "$1/armed" ] || exit 0
{
	echo "revert: $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
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
			/etc/ufw/*|/etc/default/ufw)
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
} >"$1/log" 2>&1
mv -f -- "$1/armed" "$1/reverted"
