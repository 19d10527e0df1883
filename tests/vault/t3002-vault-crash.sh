#!/bin/bash
# t3002-vault-crash: a `vpai vault set` killed with SIGKILL in the middle
# of writing a large (14 MB) vault leaves the old vault intact and
# decryptable; the stale "<vault>.lock" it leaves is mode 0600, holds no
# plaintext, blocks the next writer with a clear message (exit 73) and,
# once removed, the next write succeeds.  Also kills at arbitrary moments:
# the vault always holds either the old or the new value, never a mix.
set -u

: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
export VPAI_STACK_DIR="$VPAI_SOURCE_DIR/stack"
unset VPAI_VAULT_PASSWORD_FILE
tmp=$(mktemp -d /tmp/t3002.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

printf 'crash-pass\n' >"$tmp/pw"
P=(--vault-password-file "$tmp/pw")
v="$tmp/secrets.vault"

# A 3.4 MB plaintext (30000 keys): about 14 MB encrypted.
awk 'BEGIN { for (i = 0; i < 30000; i++)
    printf "k%06d: '"'"'plaintext-%090d'"'"'\n", i, i }' >"$v"
printf "marker: 'v0'\n" >>"$v"
"$VPAI" vault encrypt "$v" "${P[@]}" 2>/dev/null || fail "encrypt"

marker() {
	"$VPAI" vault get marker --vault "$v" "${P[@]}" 2>"$tmp/err"
}

# 1. Kill exactly while the new vault is being written: wait for the lock
#    file (created just before writing, renamed over the vault at the end).
caught=0
for attempt in 1 2 3; do
	old=$(marker) || { fail "vault unreadable before attempt $attempt"; break; }
	echo "v$attempt" | "$VPAI" vault set marker --vault "$v" "${P[@]}" \
	    2>/dev/null &
	pid=$!
	while [ ! -e "$v.lock" ] && kill -0 "$pid" 2>/dev/null; do :; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	now=$(marker) || {
		fail "vault unreadable after kill -9 (attempt $attempt): $(cat "$tmp/err")"
		break
	}
	if [ -e "$v.lock" ]; then
		caught=$((caught + 1))
		[ "$now" = "$old" ] ||
		    fail "lock left but the vault changed ('$old' -> '$now')"
		[ "$(stat -c %a "$v.lock")" = 600 ] ||
		    fail "stale lock mode $(stat -c %a "$v.lock")"
		grep -q "plaintext-" "$v.lock" && fail "stale lock holds plaintext"
		# the next writer is refused, and says why; nothing changes
		cp "$v" "$tmp/before"
		echo "blocked" | "$VPAI" vault set marker --vault "$v" "${P[@]}" \
		    2>"$tmp/err"
		rc=$?
		[ "$rc" = 73 ] || fail "set with a stale lock exited $rc, want 73"
		grep -q "remove the stale lock file" "$tmp/err" ||
		    fail "stale lock message: $(cat "$tmp/err")"
		cmp -s "$v" "$tmp/before" || fail "blocked set changed the vault"
		rm -f "$v.lock"
	else
		case $now in
		"$old"|"v$attempt") ;;
		*) fail "unexpected marker '$now'" ;;
		esac
	fi
	[ "$(stat -c %a "$v")" = 600 ] || fail "vault mode $(stat -c %a "$v")"
	extra=
	for f in "$tmp"/* "$tmp"/.[!.]*; do
		[ -e "$f" ] || continue
		case ${f##*/} in
		pw|secrets.vault|err|before) ;;
		*) extra="$extra ${f##*/}" ;;
		esac
	done
	[ -z "$extra" ] || fail "stray files:$extra"
done
[ "$caught" -ge 1 ] || fail "never killed mid-write (test not exercising the crash)"
echo "killed mid-write $caught time(s)"

# 2. Kills at arbitrary moments (0.1 to 0.7 s): always old or new, readable.
for d in 0.1 0.3 0.5 0.7; do
	old=$(marker)
	echo "d$d" | "$VPAI" vault set marker --vault "$v" "${P[@]}" \
	    2>/dev/null &
	pid=$!
	sleep "$d"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$v.lock"
	now=$(marker) || { fail "unreadable after kill at $d s"; continue; }
	case $now in
	"$old"|"d$d") ;;
	*) fail "after kill at $d s: marker '$now'" ;;
	esac
done

# 3. After all that, a normal write works and the 30000 keys are intact.
echo "final" | "$VPAI" vault set marker --vault "$v" "${P[@]}" 2>/dev/null ||
    fail "final set"
[ "$(marker)" = "final" ] || fail "final marker"
"$VPAI" vault get k029999 --vault "$v" "${P[@]}" >"$tmp/out" 2>/dev/null
[ "$(cat "$tmp/out")" = "plaintext-$(printf '%090d' 29999)" ] ||
    fail "last key damaged"
rm -f "$tmp/out"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "ok"
