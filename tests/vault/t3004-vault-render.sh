#!/bin/bash
# t3004-vault-render: `vpai render` reads the secrets from the site's
# encrypted vault (--vault-password-file, $VPAI_VAULT_PASSWORD_FILE, an
# executable password file) and renders exactly what the same secrets in
# plain YAML give; a wrong password renders nothing; and no secret value
# appears in render's stdout or stderr, nor in the argv of vpai or of the
# password script it runs.
set -u

: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
export VPAI_STACK_DIR="$VPAI_SOURCE_DIR/stack"
unset VPAI_VAULT_PASSWORD_FILE
tmp=$(mktemp -d /tmp/t3004.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
: >"$tmp/argv-seen"
: >"$tmp/all-out"

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run EXPECTED_EXIT ARGS...: stdout+stderr collected for the scan
run() {
	local want=$1 got
	shift
	"$VPAI" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	got=$?
	cat "$tmp/out" "$tmp/err" >>"$tmp/all-out"
	if [ "$got" != "$want" ]; then
		fail "vpai $* exited $got, want $want"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
}

site="$tmp/site"
mkdir "$site"
cp "$VPAI_SOURCE_DIR/tests/fixtures/site/good-vps.yml" "$site/vpai.yml"
plain="$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml"
printf 'render-pass-9\n' >"$tmp/pw"
cat >"$tmp/pw-script" <<EOF
#!/bin/sh
tr '\\0' ' ' </proc/\$\$/cmdline >>"$tmp/argv-seen"; echo >>"$tmp/argv-seen"
tr '\\0' ' ' </proc/\$PPID/cmdline >>"$tmp/argv-seen"; echo >>"$tmp/argv-seen"
cat "$tmp/pw"
EOF
chmod 700 "$tmp/pw-script"

# The site's vault holds the same secrets as the plain fixture.
cp "$plain" "$site/secrets.vault"
run 0 vault encrypt "$site/secrets.vault" --vault-password-file "$tmp/pw"

# 1. Reference: plain secrets.
run 0 -C "$site" render --secrets "$plain" -o "$tmp/a"
# 2. The vault, password from a script (argv recorded), then from the env.
run 0 -C "$site" render --vault-password-file "$tmp/pw-script" -o "$tmp/b"
diff -r "$tmp/a" "$tmp/b" >"$tmp/diff" ||
    fail "vault render differs from plain render: $(head -5 "$tmp/diff")"
grep -rqF "$(sed -n "s/^redis_password: '\(.*\)'$/\1/p" "$plain")" "$tmp/b" ||
    fail "the vault's redis_password is not in the rendered files"
VPAI_VAULT_PASSWORD_FILE="$tmp/pw" run 0 -C "$site" render -o "$tmp/c"
diff -r "$tmp/a" "$tmp/c" >/dev/null || fail "env-password render differs"
[ -s "$tmp/argv-seen" ] || fail "the password script did not run"

# 3. Wrong password or no password: exit 77 / 66, nothing rendered.
printf 'nope\n' >"$tmp/wrong"
run 77 -C "$site" render --vault-password-file "$tmp/wrong" -o "$tmp/d"
grep -q "HMAC mismatch" "$tmp/err" || fail "wrong password message"
[ ! -e "$tmp/d" ] || fail "a wrong password still rendered"
run 66 -C "$site" render -o "$tmp/e"
[ ! -e "$tmp/e" ] || fail "no password still rendered"

# 4. A vault that is not encrypted is refused by render (plain files only
#    through --secrets, for tests).
cp "$plain" "$site/secrets.vault"
run 6 -C "$site" render --vault-password-file "$tmp/pw" -o "$tmp/f"

# 5. No secret value in any output or argv.
sed -n "s/^[a-z0-9_]*: '\(.*\)'$/\1/p" "$plain" | awk 'length($0) >= 8' \
    >"$tmp/values"
echo "render-pass-9" >>"$tmp/values"
[ "$(wc -l <"$tmp/values")" -ge 20 ] || fail "too few values to scan"
while IFS= read -r s; do
	grep -qF -- "$s" "$tmp/all-out" && fail "a secret value appears in render output"
	grep -qF -- "$s" "$tmp/argv-seen" && fail "a secret value appears in an argv"
done <"$tmp/values"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "ok"
