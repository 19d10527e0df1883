#!/bin/bash
# t3000-vault-interop: vaults written by vpai open with the real
# `ansible-vault view`, and vaults written by `ansible-vault encrypt` open
# with vpai: plain ASCII and non-ASCII passwords, empty values, a 2000-key
# vault, an executable password file, a 1.2 vault-id header.  Kept to a
# few ansible-vault calls (about 1 s each).
set -u

: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
export VPAI_STACK_DIR="$VPAI_SOURCE_DIR/stack"
unset VPAI_VAULT_PASSWORD_FILE
tmp=$(mktemp -d /tmp/t3000.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

if ! command -v ansible-vault >/dev/null; then
	echo "FAIL: ansible-vault is not installed (Debian package ansible-core)"
	exit 1
fi
# ansible-vault reads ANSIBLE_* settings: keep them out of the way
printf "[defaults]\n" >"$tmp/ansible.cfg"
export ANSIBLE_CONFIG="$tmp/ansible.cfg" ANSIBLE_VAULT_IDENTITY_LIST='' \
    ANSIBLE_VAULT_PASSWORD_FILE='' HOME="$tmp"

# run EXPECTED_EXIT ARGS...: output in $tmp/out, $tmp/err
run() {
	local want=$1 got
	shift
	"$VPAI" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$want" ]; then
		fail "vpai $* exited $got, want $want"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
}

printf 'interop-pass\n' >"$tmp/pw"
printf 'p\303\244ssw\303\266rd \342\234\223 \360\237\224\221\n' >"$tmp/pw-utf8"
chmod 600 "$tmp/pw" "$tmp/pw-utf8"

# 1. vpai create (every catalogue secret) -> ansible-vault view gives the
#    same plaintext as vpai view; external secrets are empty strings.
run 0 vault create --vault "$tmp/a.vault" --vault-password-file "$tmp/pw"
run 0 vault view --vault "$tmp/a.vault" --vault-password-file "$tmp/pw"
cp "$tmp/out" "$tmp/a.vpai"
if ! ansible-vault view --vault-password-file "$tmp/pw" "$tmp/a.vault" \
    >"$tmp/a.ansible" 2>"$tmp/err"; then
	fail "ansible-vault cannot open a vault vpai created"
	sed 's/^/  ansible: /' "$tmp/err"
fi
cmp -s "$tmp/a.vpai" "$tmp/a.ansible" ||
    fail "vpai view and ansible-vault view differ"
grep -qx "anthropic_api_key: ''" "$tmp/a.ansible" ||
    fail "empty external value not written as ''"
grep -qE "^n8n_encryption_key: '[0-9a-f]{64}'$" "$tmp/a.ansible" ||
    fail "n8n_encryption_key missing or badly shaped"
grep -qE "^litellm_master_key: 'sk-[0-9a-f]{48}'$" "$tmp/a.ansible" ||
    fail "litellm_master_key missing or badly shaped"

# 2. Non-ASCII password, awkward values (quotes, unicode, empty, YAML
#    look-alikes), both directions, 2000 keys.
{
	echo "# 2000 keys"
	for i in $(seq 1 2000); do
		case $((i % 8)) in
		0) echo "key_$i: ''" ;;
		1) echo "key_$i: 'it''s a \"quoted\" #value $i'" ;;
		2) echo "key_$i: \"h\u00e9llo w\u00f6rld \u2713 $i\"" ;;
		3) echo "key_$i: '$i'" ;;
		4) echo "key_$i: 'yes'" ;;
		5) echo "key_$i: \"tab\\there\\nnewline $i\"" ;;
		6) echo "key_$i: plain text value $i" ;;
		7) echo "key_$i: 'sk-$(printf '%048d' "$i")'" ;;
		esac
	done
} >"$tmp/big.yml"
cp "$tmp/big.yml" "$tmp/big-vpai.yml"
run 0 vault encrypt "$tmp/big-vpai.yml" --vault-password-file "$tmp/pw-utf8"
head -1 "$tmp/big-vpai.yml" | grep -qx '\$ANSIBLE_VAULT;1.1;AES256' ||
    fail "vpai encrypt: bad header"
[ "$(stat -c %a "$tmp/big-vpai.yml")" = 600 ] ||
    fail "vpai encrypt: mode $(stat -c %a "$tmp/big-vpai.yml"), want 600"
awk 'NR > 1 && length($0) != 80 { n++ } END { exit n > 1 }' \
    "$tmp/big-vpai.yml" || fail "vpai encrypt: more than one short line"
if ! ansible-vault view --vault-password-file "$tmp/pw-utf8" \
    "$tmp/big-vpai.yml" >"$tmp/big.ansible" 2>"$tmp/err"; then
	fail "ansible-vault cannot open vpai's 2000-key non-ASCII-password vault"
	sed 's/^/  ansible: /' "$tmp/err"
fi
cmp -s "$tmp/big.yml" "$tmp/big.ansible" ||
    fail "2000-key vault: ansible-vault view differs from the plaintext"

cp "$tmp/big.yml" "$tmp/big-ansible.yml"
ansible-vault encrypt --vault-password-file "$tmp/pw-utf8" \
    "$tmp/big-ansible.yml" >/dev/null 2>"$tmp/err" ||
    fail "ansible-vault encrypt failed: $(cat "$tmp/err")"
run 0 vault view --vault "$tmp/big-ansible.yml" \
    --vault-password-file "$tmp/pw-utf8"
cmp -s "$tmp/big.yml" "$tmp/out" ||
    fail "vpai view of ansible's 2000-key vault differs from the plaintext"
run 0 vault get key_1994 --vault "$tmp/big-ansible.yml" \
    --vault-password-file "$tmp/pw-utf8"
[ "$(cat "$tmp/out")" = "h$(printf '\303\251')llo w$(printf '\303\266')rld $(printf '\342\234\223') 1994" ] ||
    fail "get key_1994: '$(cat "$tmp/out")'"
run 0 vault get key_2000 --vault "$tmp/big-ansible.yml" \
    --vault-password-file "$tmp/pw-utf8"
[ "$(cat "$tmp/out")" = "" ] || fail "get key_2000 (empty): '$(cat "$tmp/out")'"
run 0 vault get key_1997 --vault "$tmp/big-ansible.yml" \
    --vault-password-file "$tmp/pw-utf8"
printf 'tab\there\nnewline 1997\n' | cmp -s - "$tmp/out" ||
    fail "get key_1997 (escapes): '$(cat "$tmp/out")'"
# the ASCII password does not open it
run 77 vault view --vault "$tmp/big-ansible.yml" --vault-password-file "$tmp/pw"

# 3. vpai `set` rewrites an ansible vault; ansible-vault still opens it
#    and the other 1999 values survive the rewrite (checked in 4).
printf 'new value \302\251\n' | "$VPAI" vault set key_7 --vault \
    "$tmp/big-ansible.yml" --vault-password-file "$tmp/pw-utf8" 2>"$tmp/err" ||
    fail "vpai set on an ansible vault: $(cat "$tmp/err")"

# 4. Executable password file (as ansible's script sources), used by both
#    tools, with the 1.2 vault-id header written by ansible.
cat >"$tmp/pw-script" <<EOF
#!/bin/sh
cat "$tmp/pw-utf8"
EOF
chmod 700 "$tmp/pw-script"
if ! ansible-vault view --vault-password-file "$tmp/pw-script" \
    "$tmp/big-ansible.yml" >"$tmp/big2.ansible" 2>"$tmp/err"; then
	fail "ansible-vault cannot open the vault after vpai set"
	sed 's/^/  ansible: /' "$tmp/err"
fi
grep -qx "key_7: 'new value $(printf '\302\251')'" "$tmp/big2.ansible" ||
    fail "vpai set value not seen by ansible-vault"
grep -c "^key_" "$tmp/big2.ansible" | grep -qx 2000 ||
    fail "vpai set lost keys"
grep -qx "key_1: 'it''s a \"quoted\" #value 1'" "$tmp/big2.ansible" ||
    fail "vpai set changed another value"

printf "postgresql_password: 'from ansible'\nempty: ''\n" >"$tmp/id.yml"
ansible-vault encrypt --vault-id "prod@$tmp/pw-script" "$tmp/id.yml" \
    >/dev/null 2>"$tmp/err" || fail "ansible-vault encrypt --vault-id: $(cat "$tmp/err")"
head -1 "$tmp/id.yml" | grep -qx '\$ANSIBLE_VAULT;1.2;AES256;prod' ||
    fail "expected a 1.2 header, got $(head -1 "$tmp/id.yml")"
run 0 vault get postgresql_password --vault "$tmp/id.yml" \
    --vault-password-file "$tmp/pw-script"
[ "$(cat "$tmp/out")" = "from ansible" ] || fail "1.2 vault: '$(cat "$tmp/out")'"
VPAI_VAULT_PASSWORD_FILE="$tmp/pw-script" run 0 vault get empty \
    --vault "$tmp/id.yml"
[ "$(cat "$tmp/out")" = "" ] || fail "1.2 vault empty value"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "ok"
