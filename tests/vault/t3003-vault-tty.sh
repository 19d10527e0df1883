#!/bin/bash
# t3003-vault-tty: the password and `set` value prompts on a real
# terminal (a pty from script(1)): nothing typed is echoed, a wrong
# password fails cleanly, `rekey` asks twice and rejects a mismatch, and
# Ctrl-C at the prompt exits 130 with the terminal's echo restored.
set -u

: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
export VPAI_STACK_DIR="$VPAI_SOURCE_DIR/stack"
unset VPAI_VAULT_PASSWORD_FILE
tmp=$(mktemp -d /tmp/t3003.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

if ! command -v script >/dev/null; then
	echo "FAIL: script(1) (util-linux) is needed"
	exit 1
fi

# prompts_seen: how many prompts (they end in ": ") the transcript shows
prompts_seen() {
	tr -cd ':' <"$tmp/tty" | wc -c
}

# tty "LINE1|LINE2|..." COMMAND: run COMMAND on a pty, typing line k once
# the k-th prompt is on the screen (each prompt turns echo off, flushing
# what was typed ahead, before it is shown); the transcript goes to
# $tmp/tty, the exit status to $tmp/rc.
tty() {
	local lines=$1 k=0 i l parts
	shift
	: >"$tmp/tty"
	: >"$tmp/rc"
	{
		IFS='|' read -r -a parts <<<"$lines"
		for l in "${parts[@]}"; do
			k=$((k + 1))
			i=0
			while [ "$(prompts_seen)" -lt "$k" ] && [ "$i" -lt 200 ]; do
				sleep 0.05
				i=$((i + 1))
			done
			sleep 0.1
			printf '%b' "$l"
		done
		sleep 0.5
	} | script -qec "$*; echo \"rc=\$?\" >$tmp/rc" /dev/null >"$tmp/tty" 2>&1
}

v="$tmp/secrets.vault"
printf 'tty-pass-Secret1\n' >"$tmp/pw"
"$VPAI" vault create --vault "$v" --vault-password-file "$tmp/pw" 2>/dev/null ||
    fail "create"

# 1. Password prompt: works, not echoed.
tty 'tty-pass-Secret1\n' "$VPAI" vault get redis_password --vault "$v"
grep -q "Vault password:" "$tmp/tty" || fail "no prompt: $(cat "$tmp/tty")"
grep -q "tty-pass-Secret1" "$tmp/tty" && fail "the password was echoed"
grep -q "rc=0" "$tmp/rc" || fail "prompt get: $(cat "$tmp/rc") $(cat "$tmp/tty")"
"$VPAI" vault get redis_password --vault "$v" --vault-password-file "$tmp/pw" \
    >"$tmp/want" 2>/dev/null
grep -qF "$(cat "$tmp/want")" "$tmp/tty" || fail "prompt get printed the wrong value"

# 2. Wrong password at the prompt.
tty 'not-the-password\n' "$VPAI" vault view --vault "$v"
grep -q "rc=77" "$tmp/rc" || fail "wrong prompt password: $(cat "$tmp/rc")"
grep -q "HMAC mismatch" "$tmp/tty" || fail "wrong password message"

# 3. `set` from a terminal asks the value without echo.
tty 'typed-Value-77\n' "$VPAI" vault set openai_api_key --vault "$v" \
    --vault-password-file "$tmp/pw"
grep -q "value for 'openai_api_key' (not echoed):" "$tmp/tty" ||
    fail "no value prompt: $(cat "$tmp/tty")"
grep -q "typed-Value-77" "$tmp/tty" && fail "the value was echoed"
"$VPAI" vault get openai_api_key --vault "$v" --vault-password-file "$tmp/pw" \
    >"$tmp/out" 2>/dev/null
[ "$(cat "$tmp/out")" = "typed-Value-77" ] || fail "tty set: '$(cat "$tmp/out")'"

# 4. rekey asks twice; a mismatch changes nothing.
cp "$v" "$tmp/before"
tty 'new-Pass-1\n|new-Pass-2\n' "$VPAI" vault rekey --vault "$v" \
    --vault-password-file "$tmp/pw"
grep -q "rc=65" "$tmp/rc" || fail "rekey mismatch rc: $(cat "$tmp/rc")"
grep -q "do not match" "$tmp/tty" || fail "rekey mismatch message: $(cat "$tmp/tty")"
cmp -s "$v" "$tmp/before" || fail "rekey mismatch changed the vault"
tty 'new-Pass-1\n|new-Pass-1\n' "$VPAI" vault rekey --vault "$v" \
    --vault-password-file "$tmp/pw"
grep -q "rc=0" "$tmp/rc" || fail "rekey: $(cat "$tmp/tty")"
grep -q "new-Pass-1" "$tmp/tty" && fail "new password echoed"
printf 'new-Pass-1\n' >"$tmp/pw2"
"$VPAI" vault get openai_api_key --vault "$v" --vault-password-file "$tmp/pw2" \
    >"$tmp/out" 2>/dev/null
[ "$(cat "$tmp/out")" = "typed-Value-77" ] || fail "after tty rekey"

# 5. Ctrl-C at the prompt: exit 130, echo back on, vault untouched.  The
#    shell ignores SIGINT so that it survives to report; vpai installs its
#    own handler for the prompt.
cp "$v" "$tmp/before"
cat >"$tmp/ctrlc.sh" <<EOF
trap '' INT
"$VPAI" vault view --vault "$v"
echo "rc=\$?" >"$tmp/rc"
stty -a | tr ' ' '\n' | grep -x -- '-\?echo'
EOF
: >"$tmp/tty"
{
	i=0
	while [ "$(prompts_seen)" -lt 1 ] && [ "$i" -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sleep 0.1
	printf '\003'
	sleep 0.7
} | script -qec "sh $tmp/ctrlc.sh" /dev/null >"$tmp/tty" 2>&1
grep -q "rc=130" "$tmp/rc" || fail "Ctrl-C: $(cat "$tmp/rc") $(cat "$tmp/tty")"
tr -d '\r' <"$tmp/tty" | grep -qx -- "-echo" && fail "echo left off after Ctrl-C"
tr -d '\r' <"$tmp/tty" | grep -qx "echo" ||
    fail "stty not run after Ctrl-C: $(cat "$tmp/tty")"
cmp -s "$v" "$tmp/before" || fail "Ctrl-C changed the vault"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "ok"
