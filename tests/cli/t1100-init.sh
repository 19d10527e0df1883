#!/bin/bash
# t1100-init: `vpai init --non-interactive` writes a valid, commented site
# file; refuses to overwrite without --force; --set values are validated
# and a bad one names its key; no file is left behind on error.
set -u

: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
export VPAI_STACK_DIR="$VPAI_SOURCE_DIR/stack"
tmp=$(mktemp -d /tmp/t1100.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

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

# 1. Default site in -C DIR: written, mode 0644, every schema key present.
mkdir "$tmp/site"
run 0 -C "$tmp/site" init --non-interactive
f="$tmp/site/vpai.yml"
[ -f "$f" ] || fail "no $f"
grep -qx "wrote $f" "$tmp/out" || fail "no 'wrote' line: $(cat "$tmp/out")"
[ "$(stat -c %a "$f")" = 644 ] || fail "mode $(stat -c %a "$f"), want 644"
[ ! -e "$f.lock" ] || fail "lock file left behind"
yamllint -d relaxed "$f" >"$tmp/lint" 2>&1 || fail "yamllint: $(cat "$tmp/lint")"
keys=$(sed -n '/^keys:/,$p' "$VPAI_SOURCE_DIR/stack/site-schema.yml" |
    grep -E '^  [a-z_0-9]+:$' | tr -d ' :' | sort)
[ "$(echo "$keys" | wc -l)" -ge 40 ] || fail "schema keys not found"
for k in $keys; do
	grep -qE "^$k: " "$f" || fail "key '$k' missing from $f"
done
grep -qx 'domain_name: "vpai.localhost"' "$f" || fail "default domain"
grep -qx 'caddy_tls: "internal"' "$f" || fail "default caddy_tls"
grep -qx 'prod_ssh_port: 804' "$f" || fail "default ssh port"
grep -qx 'stack_root: "/opt/vpai"' "$f" || fail "derived stack_root"
grep -q '^# === Production server ===$' "$f" || fail "no group header"
grep -q '^# Set to true only after SSH over the VPN' "$f" ||
    fail "no description comment"
printf '  preprod:\n    host_ram_mb: 4096\n' >"$tmp/want"
grep -A1 '^  preprod:$' "$f" | cmp -s - "$tmp/want" ||
    fail "no preprod overlay"
sum=$(md5sum <"$f")

# 2. Refuses to overwrite; the file is untouched.
run 73 -C "$tmp/site" init --non-interactive --set project_name=other
grep -qx "vpai init: '$f' already exists (use --force to overwrite)" \
    "$tmp/err" || fail "overwrite message: $(cat "$tmp/err")"
[ "$(md5sum <"$f")" = "$sum" ] || fail "file changed without --force"

# 3. --force overwrites, --set values land in the file.
run 0 -C "$tmp/site" init --non-interactive --force \
    --set project_name=shop --set target=ssh --set prod_ip=203.0.113.42 \
    --set domain_name=ai.example.org --set caddy_tls=acme \
    --set vpn_verified=true
grep -qx 'project_name: "shop"' "$f" || fail "--set project_name"
grep -qx 'stack_root: "/opt/shop"' "$f" || fail "derived from --set"
grep -qx 'vpn_verified: true' "$f" || fail "--set bool"
grep -qx 'notification_email: "admin@ai.example.org"' "$f" ||
    fail "derived e-mail"

# 4. A bad --set value names the key; nothing is written.
run 65 -C "$tmp/site" init --non-interactive -o "$tmp/bad.yml" \
    --set domain_name=exa_mple.com
grep -qxF "vpai init: --set: key 'domain_name': invalid domain 'exa_mple.com': label 'exa_mple' has a character other than letters, digits and '-'" \
    "$tmp/err" || fail "bad --set message: $(cat "$tmp/err")"
[ ! -e "$tmp/bad.yml" ] || fail "file written despite a bad --set"
run 65 init --non-interactive -o "$tmp/bad.yml" --set prod_ssh_port=0 \
    --set domain_nme=x.org
grep -qxF "vpai init: --set: key 'prod_ssh_port': invalid port '0': must be 1-65535" \
    "$tmp/err" || fail "bad port message: $(cat "$tmp/err")"
grep -qxF -e "--set: key 'domain_nme': unknown key (did you mean 'domain_name'?)" \
    "$tmp/err" || fail "unknown key message: $(cat "$tmp/err")"
run 65 init --non-interactive -o "$tmp/bad.yml" --set target=ssh
grep -qF "key 'prod_ip': required key is missing" "$tmp/err" ||
    fail "required message: $(cat "$tmp/err")"
[ ! -e "$tmp/bad.yml" ] || fail "file written despite errors"

# 5. -o FILE and --site FILE.
run 0 init --non-interactive -o "$tmp/other.yml"
[ -f "$tmp/other.yml" ] || fail "-o not honoured"
run 0 --site "$tmp/third.yml" init --non-interactive
[ -f "$tmp/third.yml" ] || fail "--site not honoured"

# 6. No wizard yet: a usage error, nothing written.
run 64 -C "$tmp/site" init -o "$tmp/wiz.yml"
grep -q 'interactive wizard needs a terminal' "$tmp/err" ||
    fail "no wizard message: $(cat "$tmp/err")"
[ ! -e "$tmp/wiz.yml" ] || fail "file written without --non-interactive"
run 64 init --non-interactive extra
run 0 init --help
grep -q '^usage: vpai init --non-interactive' "$tmp/out" || fail "--help"

# 7. Missing schema: a clear error naming the file.
VPAI_STACK_DIR="$tmp/nostack" run 66 init --non-interactive -o "$tmp/x.yml"
grep -qF "site schema: cannot open '$tmp/nostack/site-schema.yml'" \
    "$tmp/err" || fail "schema message: $(cat "$tmp/err")"

if [ "$fails" -ne 0 ]; then
	echo "t1100-init: $fails failure(s)"
	exit 1
fi
echo "t1100-init: ok"
