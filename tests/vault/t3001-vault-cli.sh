#!/bin/bash
# t3001-vault-cli: `vpai vault` verbs: create, set (stdin only), get, list,
# view, edit ($EDITOR on a 0600 file in a 0700 dir, wiped; only a valid
# result is saved), rekey (values unchanged), encrypt/decrypt, generate;
# n8n_encryption_key never replaced without the explicit flag; password
# sources and their order; wrong password and tampering change nothing;
# modes 0600; and no secret ever appears in stderr, in error messages or
# in the argv of vpai or of any child it runs (password script, editor).
set -u

: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
export VPAI_STACK_DIR="$VPAI_SOURCE_DIR/stack"
unset VPAI_VAULT_PASSWORD_FILE VISUAL
tmp=$(mktemp -d /tmp/t3001.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
: >"$tmp/all-stderr"
: >"$tmp/argv-seen"

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# run EXPECTED_EXIT ARGS...: output in $tmp/out, $tmp/err; stdin is kept
run() {
	local want=$1 got
	shift
	"$VPAI" "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	cat "$tmp/err" >>"$tmp/all-stderr"
	cat "$tmp/out" >>"$tmp/all-stdout"
	if [ "$got" != "$want" ]; then
		fail "vpai $* exited $got, want $want"
		sed 's/^/  stderr: /' "$tmp/err"
	fi
}

site="$tmp/site"
mkdir "$site"
v="$site/secrets.vault"
# The password comes from a script that also records its own argv and its
# parent's (vpai's), for the argv scan at the end.
printf 'cli-pass-0123\n' >"$tmp/pw"
cat >"$tmp/pw-script" <<EOF
#!/bin/sh
tr '\\0' ' ' </proc/\$\$/cmdline >>"$tmp/argv-seen"; echo >>"$tmp/argv-seen"
tr '\\0' ' ' </proc/\$PPID/cmdline >>"$tmp/argv-seen"; echo >>"$tmp/argv-seen"
cat "$tmp/pw"
EOF
chmod 600 "$tmp/pw"
chmod 700 "$tmp/pw-script"
P=(--vault-password-file "$tmp/pw-script")

# 1. create in the site dir (-C), mode 0600, refuses to overwrite.
run 0 -C "$site" vault create "${P[@]}"
[ -f "$v" ] || fail "no $v"
[ "$(stat -c %a "$v")" = 600 ] || fail "vault mode $(stat -c %a "$v")"
[ ! -e "$v.lock" ] || fail "lock file left"
grep -q "16 generated secrets" "$tmp/err" || fail "create summary: $(cat "$tmp/err")"
cp "$v" "$tmp/before"
run 73 -C "$site" vault create "${P[@]}"
cmp -s "$v" "$tmp/before" || fail "create overwrote an existing vault"

# 2. list shows names and states, never values.
run 0 -C "$site" vault list "${P[@]}"
grep -qE '^n8n_encryption_key +set +generated, not rotatable$' "$tmp/out" ||
    fail "list: $(grep n8n_enc "$tmp/out")"
grep -qE '^openai_api_key +empty +external$' "$tmp/out" || fail "list external"

# 3. set from stdin (not argv), get, the trailing newline stripped once.
printf 'sk-ant-from-stdin-42\n' | run 0 -C "$site" vault set anthropic_api_key "${P[@]}"
run 0 -C "$site" vault get anthropic_api_key "${P[@]}"
[ "$(cat "$tmp/out")" = "sk-ant-from-stdin-42" ] || fail "get: $(cat "$tmp/out")"
printf 'two lines\nsecond\n\n' | run 0 -C "$site" vault set multi "${P[@]}"
grep -q "not in the secrets catalogue" "$tmp/err" || fail "no catalogue note"
run 0 -C "$site" vault get multi "${P[@]}"
printf 'two lines\nsecond\n\n' | cmp -s - "$tmp/out" || fail "multi-line value"
[ "$(stat -c %a "$v")" = 600 ] || fail "mode after set: $(stat -c %a "$v")"
run 66 -C "$site" vault get no_such_key "${P[@]}"
run 64 -C "$site" vault set "${P[@]}" </dev/null
printf 'x' | run 65 -C "$site" vault set 'bad-name' "${P[@]}"
printf '\377\376' | run 65 -C "$site" vault set bin "${P[@]}"

# 4. n8n_encryption_key: never replaced unless the explicit flag.
run 0 -C "$site" vault get n8n_encryption_key "${P[@]}"
n8n=$(cat "$tmp/out")
cp "$v" "$tmp/before"
printf 'another-key\n' | run 6 -C "$site" vault set n8n_encryption_key "${P[@]}"
grep -q "n8n credentials would become undecryptable" "$tmp/err" ||
    fail "n8n refusal message: $(cat "$tmp/err")"
grep -q -- "--i-know-n8n-credentials-break" "$tmp/err" || fail "flag not named"
cmp -s "$v" "$tmp/before" || fail "refused set changed the vault"
printf '%s\n' "$n8n" | run 0 -C "$site" vault set n8n_encryption_key "${P[@]}"
printf 'x\n' | run 6 -C "$site" vault set restic_password "${P[@]}"
grep -q "restic" "$tmp/err" || fail "restic refusal"
run 0 -C "$site" vault generate "${P[@]}"
grep -q "0 secrets generated" "$tmp/err" || fail "generate on a full vault: $(cat "$tmp/err")"
run 0 -C "$site" vault get n8n_encryption_key "${P[@]}"
[ "$(cat "$tmp/out")" = "$n8n" ] || fail "n8n key changed"
printf 'forced-n8n-key\n' | run 0 -C "$site" vault set n8n_encryption_key \
    --i-know-n8n-credentials-break "${P[@]}"
run 0 -C "$site" vault get n8n_encryption_key "${P[@]}"
[ "$(cat "$tmp/out")" = "forced-n8n-key" ] || fail "forced n8n set"

# 5. generate fills only what is missing or empty.
printf '' | run 0 -C "$site" vault set redis_password "${P[@]}"
run 0 -C "$site" vault get postgresql_password "${P[@]}"
pg=$(cat "$tmp/out")
run 0 -C "$site" vault generate "${P[@]}"
grep -qx "vpai vault: generated 'redis_password'" "$tmp/err" ||
    fail "generate: $(cat "$tmp/err")"
grep -q "1 secret generated" "$tmp/err" || fail "generate count"
run 0 -C "$site" vault get postgresql_password "${P[@]}"
[ "$(cat "$tmp/out")" = "$pg" ] || fail "generate replaced a value"

# 6. edit: a test editor records its file's mode, its dir's mode, its argv
#    and its parent's, then applies EDIT_SED.
export TMPDIR="$tmp/edtmp"
mkdir "$TMPDIR"
cat >"$tmp/ed.sh" <<EOF
#!/bin/sh
echo "\$1" >"$tmp/ed-path"
stat -c %a "\$1" >"$tmp/ed-mode"
stat -c %a "\$(dirname "\$1")" >"$tmp/ed-dirmode"
tr '\\0' ' ' </proc/\$\$/cmdline >>"$tmp/argv-seen"; echo >>"$tmp/argv-seen"
tr '\\0' ' ' </proc/\$PPID/cmdline >>"$tmp/argv-seen"; echo >>"$tmp/argv-seen"
sed -i "\$EDIT_SED" "\$1"
EOF
chmod 700 "$tmp/ed.sh"
export EDITOR="$tmp/ed.sh"
EDIT_SED='s/^s3_access_key:.*/s3_access_key: edited-s3  # by hand/' \
    run 0 -C "$site" vault edit "${P[@]}"
[ "$(cat "$tmp/ed-mode")" = 600 ] || fail "edit temp file mode $(cat "$tmp/ed-mode")"
[ "$(cat "$tmp/ed-dirmode")" = 700 ] || fail "edit temp dir mode $(cat "$tmp/ed-dirmode")"
case $(cat "$tmp/ed-path") in "$TMPDIR"/*) ;; *) fail "edit temp not under TMPDIR" ;; esac
[ -z "$(ls -A "$TMPDIR")" ] || fail "edit left files: $(ls -A "$TMPDIR")"
run 0 -C "$site" vault get s3_access_key "${P[@]}"
[ "$(cat "$tmp/out")" = "edited-s3" ] || fail "edit result: $(cat "$tmp/out")"
run 0 -C "$site" vault view "${P[@]}"
grep -q "# by hand" "$tmp/out" || fail "edit did not keep the comment"
# invalid result: nothing saved, temp removed
cp "$v" "$tmp/before"
EDIT_SED='s/^s3_access_key:.*/s3_access_key: [a, b]/' \
    run 65 -C "$site" vault edit "${P[@]}"
grep -q "key 's3_access_key': expected a string" "$tmp/err" ||
    fail "edit parse error: $(cat "$tmp/err")"
grep -q "unchanged" "$tmp/err" || fail "edit error does not say unchanged"
cmp -s "$v" "$tmp/before" || fail "invalid edit changed the vault"
[ -z "$(ls -A "$TMPDIR")" ] || fail "failed edit left files"
EDIT_SED='s/^n8n_encryption_key:.*/n8n_encryption_key: other/' \
    run 6 -C "$site" vault edit "${P[@]}"
cmp -s "$v" "$tmp/before" || fail "n8n edit changed the vault"
EDIT_SED='/^n8n_encryption_key:/d' run 6 -C "$site" vault edit "${P[@]}"
grep -q "refusing to remove 'n8n_encryption_key'" "$tmp/err" || fail "n8n removal"
EDITOR=false run 71 -C "$site" vault edit "${P[@]}"
cmp -s "$v" "$tmp/before" || fail "failed editor changed the vault"
unset EDITOR TMPDIR

# 7. Password sources: env var (a path), order, none, wrong, empty.
VPAI_VAULT_PASSWORD_FILE="$tmp/pw" run 0 -C "$site" vault get s3_access_key
printf 'wrong\n' >"$tmp/wrong"
VPAI_VAULT_PASSWORD_FILE="$tmp/wrong" run 0 -C "$site" vault get \
    s3_access_key --vault-password-file "$tmp/pw"
run 77 -C "$site" vault get s3_access_key --vault-password-file "$tmp/wrong"
grep -qx "vpai vault: vault '$v': wrong password or corrupted file (HMAC mismatch)" \
    "$tmp/err" || fail "wrong password message: $(cat "$tmp/err")"
run 66 -C "$site" vault get s3_access_key </dev/null
grep -q "VPAI_VAULT_PASSWORD_FILE" "$tmp/err" || fail "no-password hint"
printf '\n\n' >"$tmp/empty-pw"
run 65 -C "$site" vault view --vault-password-file "$tmp/empty-pw"
grep -q "empty password" "$tmp/err" || fail "empty password: $(cat "$tmp/err")"
# the environment holds a path, never the password itself: a password put
# there by mistake is not echoed back
VPAI_VAULT_PASSWORD_FILE="cli-pass-0123" run 66 -C "$site" vault view
grep -q "must name a password file" "$tmp/err" || fail "env misuse: $(cat "$tmp/err")"

# 8. Tampering: a flipped hex digit in the body -> decryption error,
#    nothing printed, file untouched.
# (line 3 starts in the salt; the pair at column 10 encodes one inner hex
# digit: change that digit to another valid one)
cp "$v" "$tmp/tampered"
/usr/bin/python3 - "$tmp/tampered" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
l = lines[2]
hi, lo = l[10], int(l[11], 16)
lo = (lo + 1) % 10 if hi == "3" else lo % 6 + 1
lines[2] = l[:11] + "%x" % lo + l[12:]
open(p, "w").write("\n".join(lines))
PY
cmp -s "$v" "$tmp/tampered" && fail "tamper did not change the file"
run 77 vault view --vault "$tmp/tampered" "${P[@]}"
[ ! -s "$tmp/out" ] || fail "tampered vault printed something"

# 9. rekey: new password works, old fails, plaintext byte-identical.
run 0 -C "$site" vault view "${P[@]}"
cp "$tmp/out" "$tmp/view-before"
printf 'new-pass-\303\251\n' >"$tmp/newpw"
run 0 -C "$site" vault rekey "${P[@]}" --new-vault-password-file "$tmp/newpw"
run 77 -C "$site" vault view "${P[@]}"
run 0 -C "$site" vault view --vault-password-file "$tmp/newpw"
cmp -s "$tmp/out" "$tmp/view-before" || fail "rekey changed the content"
[ "$(stat -c %a "$v")" = 600 ] || fail "mode after rekey"
run 0 -C "$site" vault rekey --vault-password-file "$tmp/newpw" \
    --new-vault-password-file "$tmp/pw-script"

# 10. encrypt / decrypt of the plain fixture, in place and with -o.
cp "$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml" "$tmp/plain.yml"
chmod 644 "$tmp/plain.yml"
run 0 vault encrypt "$tmp/plain.yml" "${P[@]}"
head -c 15 "$tmp/plain.yml" | grep -q '^\$ANSIBLE_VAULT;' || fail "not encrypted"
[ "$(stat -c %a "$tmp/plain.yml")" = 600 ] || fail "encrypt mode"
run 73 vault encrypt "$tmp/plain.yml" "${P[@]}"
run 0 vault decrypt "$tmp/plain.yml" -o "$tmp/dec.yml" "${P[@]}"
cmp -s "$tmp/dec.yml" "$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml" ||
    fail "decrypt -o differs from the original"
[ "$(stat -c %a "$tmp/dec.yml")" = 600 ] || fail "decrypt mode"
run 0 vault decrypt "$tmp/plain.yml" -o - "${P[@]}"
cmp -s "$tmp/out" "$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml" ||
    fail "decrypt -o - differs"
run 0 vault decrypt "$tmp/plain.yml" "${P[@]}"
cmp -s "$tmp/plain.yml" "$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml" ||
    fail "decrypt in place differs"
printf 'port: 5432\n' >"$tmp/bad.yml"
run 65 vault encrypt "$tmp/bad.yml" "${P[@]}"
grep -qx "vpai vault: $tmp/bad.yml:1: key 'port': value is an integer, not a string (quote it, or write '' for an empty value)" \
    "$tmp/err" || fail "encrypt of a bad file: $(cat "$tmp/err")"
grep -q ANSIBLE "$tmp/bad.yml" && fail "bad file encrypted anyway"

# 11. Help for each verb.
for verb in view list get set edit rekey encrypt decrypt create generate; do
	run 0 vault "$verb" --help
	grep -q "^usage: vpai vault $verb" "$tmp/out" || fail "$verb --help"
done
run 64 vault frobnicate

# 12. No secret value in any stderr, nor in any argv seen by the children.
VPAI_VAULT_PASSWORD_FILE="$tmp/pw" "$VPAI" -C "$site" vault view >"$tmp/final" 2>/dev/null
: >"$tmp/values"
sed -n "s/^[a-z0-9_]*: '\(.*\)'$/\1/p" "$tmp/final" | awk 'length($0) >= 8' >"$tmp/values"
printf '%s\n' cli-pass-0123 sk-ant-from-stdin-42 forced-n8n-key "$n8n" "$pg" \
    >>"$tmp/values"
[ "$(wc -l <"$tmp/values")" -ge 20 ] || fail "too few values to scan"
[ -s "$tmp/argv-seen" ] || fail "children recorded no argv"
grep -q "ed.sh" "$tmp/argv-seen" || fail "editor argv not recorded"
echo "scanning $(wc -l <"$tmp/values") secret values in $(wc -l <"$tmp/all-stderr") stderr lines and $(wc -l <"$tmp/argv-seen") argv lines"
while IFS= read -r s; do
	if grep -qF -- "$s" "$tmp/all-stderr"; then
		fail "a secret value appears in stderr"
	fi
	if grep -qF -- "$s" "$tmp/argv-seen"; then
		fail "a secret value appears in a child's or vpai's argv"
	fi
done <"$tmp/values"

if [ "$fails" -ne 0 ]; then
	echo "$fails failure(s)"
	exit 1
fi
echo "ok"
