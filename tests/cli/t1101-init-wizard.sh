#!/bin/bash
# t1101-init-wizard: `vpai init` as a person uses it, on a real pseudo-
# terminal (a small pty driver in Python: it answers each prompt as it
# appears, Enter when the script has no answer for it): bad answers are
# re-asked with the reason, secrets and the vault password are not echoed,
# the vault opens with the real `ansible-vault view` and holds every
# generated secret in its shape, a rerun offers and keeps every value and
# rewrites only changed lines, Ctrl-C mid-way writes nothing.  Then the
# non-interactive form: --secret-file, the generated .vault_password and
# .gitignore, reruns that keep everything, the n8n_encryption_key
# refusal, and the refusal of an unencrypted vault in a git work tree.
set -u

: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
export VPAI_STACK_DIR="$VPAI_SOURCE_DIR/stack"
unset VPAI_VAULT_PASSWORD_FILE
tmp=$(mktemp -d /tmp/t1101.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

for t in python3 ansible-vault git; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is needed"; exit 1; }
done

cat >"$tmp/drive.py" <<'EOF'
# drive.py TRANSCRIPT SCRIPT -- ARGV...: run ARGV on a pty.  SCRIPT has
# lines "PATTERN<TAB>ANSWER": the first unused line whose PATTERN is in
# the current prompt gives the answer (\x03 is Ctrl-C); other prompts get
# Enter.  A prompt is output ending in ": " or "] " that then stays quiet.
import os, pty, select, sys, time
out, script = sys.argv[1], sys.argv[2]
argv = sys.argv[sys.argv.index("--") + 1:]
steps = []
for l in open(script, encoding="utf-8").read().splitlines():
    if l:
        p, a = l.split("\t", 1)
        steps.append([p, a.encode().decode("unicode_escape"), False])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
buf, seen = b"", 0
deadline = time.time() + 120
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            break
        if not d:
            break
        buf += d
        continue
    tail = buf[seen:].decode("utf-8", "replace")
    if not (tail.endswith(": ") or tail.endswith("] ")):
        if os.waitpid(pid, os.WNOHANG)[0] != 0:
            pid = 0
            break
        continue
    line = tail.rsplit("\n", 1)[-1]
    ans = ""
    for s in steps:
        if not s[2] and s[0] in line:
            s[2] = True
            ans = s[1]
            break
    seen = len(buf)
    os.write(fd, (ans if ans == "\x03" else ans + "\r").encode())
    if ans == "\x03":
        time.sleep(0.5)
open(out, "wb").write(buf)
st = os.waitpid(pid, 0)[1] if pid else 0
rc = os.waitstatus_to_exitcode(st) if pid else -1
for s in steps:
    if not s[2]:
        print("unused step: %s" % s[0])
sys.exit(128 - rc if rc < 0 else rc)
EOF

# wiz DIR "PATTERN<TAB>ANSWER" ... : run the wizard in DIR on a pty; the
# transcript goes to $tmp/tty, the exit status is returned.
wiz() {
	local dir=$1
	shift
	printf '%s\n' "$@" >"$tmp/script"
	python3 "$tmp/drive.py" "$tmp/tty" "$tmp/script" -- \
	    "$VPAI" -C "$dir" init
}
T=$(printf '\t')

# leftovers DIR: true if a lock or staged file is in DIR
leftovers() {
	local x
	for x in "$1"/*.lock "$1"/*.init-*; do
		[ -e "$x" ] && return 0
	done
	return 1
}

# check_shapes VAULT PWFILE: every generated secret of the catalogue is in
# the vault with its shape.
check_shapes() {
	ansible-vault view --vault-password-file "$2" "$1" >"$tmp/plain" \
	    2>"$tmp/av" || { fail "ansible-vault view $1: $(cat "$tmp/av")"; return; }
	awk '/^  [a-z0-9_]+:$/ { n = $1; sub(":", "", n) }
	    /^    shape:/ { print n, $2 }' "$VPAI_SOURCE_DIR/stack/secrets.yml" |
	while read -r name shape; do
		case $shape in
		base64_32) re='^[A-Za-z0-9+/]{43}=$' ;;
		base64_24) re='^[A-Za-z0-9+/]{32}$' ;;
		hex_32) re='^[0-9a-f]{64}$' ;;
		sk_hex_24) re='^sk-[0-9a-f]{48}$' ;;
		alnum_40) re='^[A-Za-z0-9]{40}$' ;;
		*) echo "FAIL: unknown shape $shape"; continue ;;
		esac
		v=$(sed -n "s/^$name: '\(.*\)'\$/\1/p" "$tmp/plain")
		echo "$v" | grep -qE "$re" ||
		    echo "FAIL: $1: $name does not have shape $shape"
	done >"$tmp/shapes"
	[ -s "$tmp/shapes" ] && fail "$(cat "$tmp/shapes")"
	n=$(grep -c '^    shape:' "$VPAI_SOURCE_DIR/stack/secrets.yml")
	[ "$n" -ge 16 ] || fail "catalogue shapes not found ($n)"
}

# 1. A new site, interactively, with wrong answers on the way.
a="$tmp/a"
mkdir "$a"
wiz "$a" \
    "Short project name${T}Bad Name" "Short project name${T}shop" \
    "Deploy on this machine${T}ssh" \
    "Production server public IP${T}" \
    "Production server public IP${T}203.0.113.9" \
    "Domain name pointing${T}ai.example.org" \
    "TLS certificates${T}?" "TLS certificates${T}acme" \
    "SSH port after hardening${T}99999" "SSH port after hardening${T}2200" \
    "(anthropic_api_key)${T}sk-ant-Typed_Secret1" \
    "New vault password${T}Pw-wizard-1" \
    "Confirm new vault password${T}Pw-wizard-1" >"$tmp/drv"
rc=$?
[ "$rc" = 0 ] || fail "wizard exited $rc: $(tail -5 "$tmp/tty")"
[ -s "$tmp/drv" ] && fail "driver: $(cat "$tmp/drv")"
grep -q "invalid: invalid value 'Bad Name': must match" "$tmp/tty" ||
    fail "bad project name not re-asked with a reason"
grep -q "invalid: must not be empty when target is 'ssh'" "$tmp/tty" ||
    fail "empty prod_ip not re-asked"
grep -q "invalid: invalid port '99999': must be 1-65535" "$tmp/tty" ||
    fail "bad port not re-asked"
grep -q "acme: public certificates" "$tmp/tty" || fail "'?' shows no help"
grep -q "Install directory on the target \[/opt/shop\]" "$tmp/tty" ||
    fail "stack_root default does not follow project_name"
grep -q "== Production server ==" "$tmp/tty" || fail "no group titles"
grep -q "Typed_Secret1" "$tmp/tty" && fail "a secret was echoed"
grep -q "Pw-wizard-1" "$tmp/tty" && fail "the vault password was echoed"
grep -q "generated: .*n8n_encryption_key" "$tmp/tty" || fail "no summary"
f="$a/vpai.yml"
grep -qx 'project_name: "shop"' "$f" || fail "project_name not written"
grep -qx 'prod_ip: "203.0.113.9"' "$f" || fail "prod_ip not written"
grep -qx 'prod_ssh_port: 2200' "$f" || fail "prod_ssh_port not written"
grep -qx 'stack_root: "/opt/shop"' "$f" || fail "derived stack_root"
[ "$(stat -c %a "$a/secrets.vault")" = 600 ] || fail "vault mode"
[ -e "$a/.vault_password" ] && fail ".vault_password created although typed"
leftovers "$a" && fail "lock or staged file left: $(ls -A "$a")"
printf 'Pw-wizard-1\n' >"$tmp/pw-a"
check_shapes "$a/secrets.vault" "$tmp/pw-a"
grep -qx "anthropic_api_key: 'sk-ant-Typed_Secret1'" "$tmp/plain" ||
    fail "typed secret not in the vault"
grep -qx "openai_api_key: ''" "$tmp/plain" || fail "empty external secret"
# What the wizard wrote renders and passes `vpai check` (site + vault).
"$VPAI" -C "$a" check --vault-password-file "$tmp/pw-a" >"$tmp/out" \
    2>"$tmp/err" || fail "check of the wizard's site: $(cat "$tmp/out" "$tmp/err")"
cp "$tmp/plain" "$tmp/plain-a1"
cp "$f" "$tmp/site-a1"
cp "$a/secrets.vault" "$tmp/vault-a1"

# 2. Rerun, all Enter: the vault password is asked once, every value is
#    offered and kept, nothing is rewritten.
wiz "$a" "Vault password${T}Pw-wizard-1" >"$tmp/drv"
rc=$?
[ "$rc" = 0 ] || fail "rerun exited $rc: $(tail -5 "$tmp/tty")"
grep -q "Short project name (lowercase, no spaces) \[shop\]" "$tmp/tty" ||
    fail "current value not offered"
grep -q "(anthropic_api_key) \[set, Enter keeps\]" "$tmp/tty" ||
    fail "current secret not offered"
grep -q "New vault password" "$tmp/tty" && fail "new password asked on rerun"
cmp -s "$f" "$tmp/site-a1" || fail "all-Enter rerun changed vpai.yml"
cmp -s "$a/secrets.vault" "$tmp/vault-a1" ||
    fail "all-Enter rerun rewrote the vault"
grep -q "kept $f (unchanged)" "$tmp/tty" || fail "no 'kept' line"

# 3. Rerun with two changes: only those lines change; secrets kept.
printf '# a comment of mine\n' >>"$f"
cp "$f" "$tmp/site-a2"
wiz "$a" "Vault password${T}Pw-wizard-1" \
    "SSH port after hardening${T}2222" \
    "(openai_api_key)${T}sk-Second_2" >"$tmp/drv"
rc=$?
[ "$rc" = 0 ] || fail "rerun 2 exited $rc: $(tail -5 "$tmp/tty")"
diff "$tmp/site-a2" "$f" | grep '^[<>]' >"$tmp/diff"
printf '< prod_ssh_port: 2200\n> prod_ssh_port: 2222\n' | cmp -s - "$tmp/diff" ||
    fail "rerun changed more than one line: $(cat "$tmp/diff")"
grep -q "Changed in $f: prod_ssh_port" "$tmp/tty" ||
    fail "changes not listed before the confirmation"
grep -q "updated $f: prod_ssh_port" "$tmp/tty" || fail "changes not listed"
ansible-vault view --vault-password-file "$tmp/pw-a" "$a/secrets.vault" \
    >"$tmp/plain" 2>/dev/null || fail "vault after rerun"
diff "$tmp/plain-a1" "$tmp/plain" | grep '^[<>]' >"$tmp/diff"
printf "< openai_api_key: ''\n> openai_api_key: 'sk-Second_2'\n" |
    cmp -s - "$tmp/diff" || fail "rerun changed other secrets: $(cat "$tmp/diff")"

# 4. Ctrl-C mid-way: nothing written, nothing left behind.
b="$tmp/b"
mkdir "$b"
wiz "$b" "Domain name pointing${T}\\x03" >"$tmp/drv"
rc=$?
[ "$rc" = 130 ] || fail "Ctrl-C exited $rc"
[ -z "$(ls -A "$b")" ] || fail "Ctrl-C left files: $(ls -A "$b")"
wiz "$b" "(s3_access_key)${T}\\x03" >"$tmp/drv"
rc=$?
[ "$rc" = 130 ] || fail "Ctrl-C at a secret exited $rc"
[ -z "$(ls -A "$b")" ] || fail "Ctrl-C at a secret left files: $(ls -A "$b")"
cp "$f" "$tmp/site-a3"
cp "$a/secrets.vault" "$tmp/vault-a3"
wiz "$a" "Vault password${T}Pw-wizard-1" "Time zone${T}UTC" \
    "(hetzner_cloud_token)${T}\\x03" >"$tmp/drv"
rc=$?
[ "$rc" = 130 ] || fail "Ctrl-C on rerun exited $rc"
cmp -s "$f" "$tmp/site-a3" || fail "Ctrl-C on rerun changed vpai.yml"
cmp -s "$a/secrets.vault" "$tmp/vault-a3" || fail "Ctrl-C on rerun changed the vault"
leftovers "$a" && fail "Ctrl-C left: $(ls -A "$a")"
# Declining the final question writes nothing either.
wiz "$b" "Write the site file${T}n" "New vault password${T}x-Pw-1" \
    "Confirm new vault password${T}x-Pw-1" >"$tmp/drv"
[ -z "$(ls -A "$b")" ] || fail "'n' at the end left files: $(ls -A "$b")"

# 5. No terminal: a usage error.
"$VPAI" -C "$b" init </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 64 ] || fail "no tty: exit $rc"
grep -q "needs a terminal" "$tmp/err" || fail "no tty message: $(cat "$tmp/err")"

# 6. Non-interactive with --secret-file and no password source.
c="$tmp/c"
mkdir "$c"
printf "anthropic_api_key: 'sk-ant-File_3'\ns3_access_key: AKIAFILE\n" \
    >"$tmp/ext.yml"
"$VPAI" -C "$c" init --non-interactive --set project_name=ci \
    --secret-file "$tmp/ext.yml" >"$tmp/out" 2>"$tmp/err" ||
    fail "non-interactive: $(cat "$tmp/err")"
[ "$(stat -c %a "$c/.vault_password")" = 600 ] || fail ".vault_password mode"
grep -qx '/.vault_password' "$c/.gitignore" || fail ".gitignore entry"
grep -q "created $c/.vault_password" "$tmp/out" || fail "not told: $(cat "$tmp/out")"
grep -q "sk-ant-File_3\|AKIAFILE" "$tmp/out" "$tmp/err" && fail "secret printed"
check_shapes "$c/secrets.vault" "$c/.vault_password"
grep -qx "anthropic_api_key: 'sk-ant-File_3'" "$tmp/plain" ||
    fail "--secret-file value missing"
grep -qx "s3_access_key: 'AKIAFILE'" "$tmp/plain" || fail "s3_access_key"
grep -qx "hetzner_cloud_token: ''" "$tmp/plain" || fail "empty external"
VPAI_VAULT_PASSWORD_FILE="$c/.vault_password" "$VPAI" -C "$c" check \
    >"$tmp/out" 2>"$tmp/err" || fail "check: $(cat "$tmp/out" "$tmp/err")"
cp "$tmp/plain" "$tmp/plain-c1"
cp "$c/vpai.yml" "$tmp/site-c1"
cp "$c/secrets.vault" "$tmp/vault-c1"
cp "$c/.gitignore" "$tmp/gi-c1"
# Rerun: everything kept, nothing regenerated.
"$VPAI" -C "$c" init --non-interactive >"$tmp/out" 2>"$tmp/err" ||
    fail "rerun: $(cat "$tmp/err")"
cmp -s "$c/vpai.yml" "$tmp/site-c1" || fail "rerun changed vpai.yml"
cmp -s "$c/secrets.vault" "$tmp/vault-c1" || fail "rerun rewrote the vault"
cmp -s "$c/.gitignore" "$tmp/gi-c1" || fail "rerun added to .gitignore again"
grep -q "generated: none" "$tmp/out" || fail "rerun summary: $(cat "$tmp/out")"
# A second secret file adds values but never replaces n8n_encryption_key.
printf "openai_api_key: sk-More_4\n" >"$tmp/more.yml"
"$VPAI" -C "$c" init --non-interactive --secret-file "$tmp/more.yml" \
    >/dev/null 2>"$tmp/err" || fail "more secrets: $(cat "$tmp/err")"
ansible-vault view --vault-password-file "$c/.vault_password" \
    "$c/secrets.vault" >"$tmp/plain" 2>/dev/null
diff "$tmp/plain-c1" "$tmp/plain" | grep '^[<>]' >"$tmp/diff"
printf "< openai_api_key: ''\n> openai_api_key: 'sk-More_4'\n" |
    cmp -s - "$tmp/diff" || fail "more secrets diff: $(cat "$tmp/diff")"
cp "$c/secrets.vault" "$tmp/vault-c2"
printf "n8n_encryption_key: '%064d'\n" 7 >"$tmp/n8n.yml"
"$VPAI" -C "$c" init --non-interactive --secret-file "$tmp/n8n.yml" \
    >/dev/null 2>"$tmp/err"
rc=$?
[ "$rc" = 6 ] || fail "n8n_encryption_key replaced (exit $rc)"
grep -q "key 'n8n_encryption_key': refusing to replace" "$tmp/err" ||
    fail "n8n refusal message: $(cat "$tmp/err")"
grep -q "0000000007" "$tmp/err" && fail "refusal message shows the value"
cmp -s "$c/secrets.vault" "$tmp/vault-c2" || fail "refused run changed the vault"
# A --set on an existing site needs --force; --force keeps the secrets.
"$VPAI" -C "$c" init --non-interactive --set project_name=other \
    >/dev/null 2>&1
[ $? = 73 ] || fail "--set on an existing site without --force"
"$VPAI" -C "$c" init --non-interactive --force --set project_name=other \
    >/dev/null 2>"$tmp/err" || fail "--force: $(cat "$tmp/err")"
grep -qx 'project_name: "other"' "$c/vpai.yml" || fail "--force site"
cmp -s "$c/secrets.vault" "$tmp/vault-c2" || fail "--force touched the vault"

# 7. An explicit password file: no .vault_password.
d="$tmp/d"
mkdir "$d"
printf 'given-Pw-5\n' >"$tmp/pw-d"
VPAI_VAULT_PASSWORD_FILE="$tmp/pw-d" "$VPAI" -C "$d" init --non-interactive \
    >/dev/null 2>"$tmp/err" || fail "env password: $(cat "$tmp/err")"
[ -e "$d/.vault_password" ] && fail ".vault_password despite a password file"
check_shapes "$d/secrets.vault" "$tmp/pw-d"

# 8. Git work trees: .vault_password is ignored; an unencrypted vault is
#    refused and left alone.
g="$tmp/g"
mkdir -p "$g/site"
git -C "$g" init -q
"$VPAI" -C "$g/site" init --non-interactive >/dev/null 2>"$tmp/err" ||
    fail "init in a git tree: $(cat "$tmp/err")"
git -C "$g" check-ignore -q site/.vault_password ||
    fail ".vault_password not ignored by git"
git -C "$g" status --porcelain --untracked-files=all | grep -q vault_password &&
    fail "git would commit .vault_password"
h="$tmp/g/plain"
mkdir "$h"
printf "redis_password: 'plain-Secret-6'\n" >"$h/secrets.vault"
"$VPAI" -C "$h" init --non-interactive >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 6 ] || fail "unencrypted vault in a git tree: exit $rc"
grep -q "is not encrypted and is inside the git work tree" "$tmp/err" ||
    fail "git refusal message: $(cat "$tmp/err")"
grep -q "plain-Secret-6" "$tmp/out" "$tmp/err" && fail "plain secret printed"
[ -e "$h/vpai.yml" ] && fail "site written despite the refusal"
[ "$(cat "$h/secrets.vault")" = "redis_password: 'plain-Secret-6'" ] ||
    fail "refused vault changed"

if [ "$fails" -ne 0 ]; then
	echo "t1101-init-wizard: $fails failure(s)"
	exit 1
fi
echo "t1101-init-wizard: ok"
