#!/bin/bash
# t1200-check.sh: `vpai check` end to end with the real binary and the
# real stack data:
#  - --list prints the 12 rules;
#  - the default site (prod, 8192 MB) has no error (exit 0);
#  - the default preprod (4096 MB host, the spec's preprod limits: 4864 MB)
#    fails on ram-budget (exit 3) with the profile hint, in text and JSON;
#  - the profile the hint offers (monitoring_enabled: false) really fits;
#  - a stack copy whose UFW template restricts SSH to the VPN fails on
#    ssh-lockout, unless the site says vpn_verified: true;
#  - a stack copy with a hard-coded example domain fails on portability;
#  - no secret value is ever printed.
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
fail=0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
secrets=$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml
src=$VPAI_SOURCE_DIR/stack

# expect DESC CMD...: CMD must succeed.
expect() {
	local desc=$1
	shift
	if "$@"; then
		echo "ok: $desc"
	else
		echo "not ok: $desc"
		fail=1
	fi
}

# run SITE OUT ARGS...: vpai check in site dir SITE, stdout to OUT,
# stderr to OUT.err; sets rc.
run() {
	local site=$1 out=$2
	shift 2
	"$VPAI" -C "$site" check --secrets "$secrets" "$@" >"$out" 2>"$out.err"
	rc=$?
}

show() { sed 's/^/# /' "$@"; }
# shellcheck disable=SC2317 # called through expect
not() { ! "$@"; }
# shellcheck disable=SC2317
jqt() { jq -e "$@" >/dev/null; }

mkdir -p "$t/site" "$t/mon" "$t/vpn"
"$VPAI" -C "$t/site" init --non-interactive >/dev/null || fail=1
"$VPAI" -C "$t/mon" init --non-interactive \
    --set monitoring_enabled=false >/dev/null || fail=1
"$VPAI" -C "$t/vpn" init --non-interactive \
    --set vpn_verified=true >/dev/null || fail=1

# --list: one line per rule.
"$VPAI" check --list >"$t/list"
expect "--list exits 0" [ $? -eq 0 ]
expect "--list prints 12 rules" [ "$(wc -l <"$t/list")" -eq 12 ]
expect "--list names ram-budget" grep -q '^ram-budget ' "$t/list"

# A mistyped rule is a usage error with a suggestion.
"$VPAI" check --rule ram-budgt >"$t/typo" 2>&1
expect "--rule typo fails" [ $? -ne 0 ]
expect "--rule typo suggests" grep -q "no rule 'ram-budgt' (did you mean 'ram-budget'?)" "$t/typo"

# The default site (prod): no error.
run "$t/site" "$t/prod"
expect "default site exits 0" [ $rc -eq 0 ]
expect "default site has no error" not grep -q '^error' "$t/prod"
expect "default site summary" grep -q '^prod: 0 errors, ' "$t/prod"
[ $rc -eq 0 ] || show "$t/prod" "$t/prod.err"

# Preprod: 4864 MB of limits on a 4096 MB host.
run "$t/site" "$t/pre" --env preprod
expect "preprod exits 3" [ $rc -eq 3 ]
expect "preprod budget caught" grep -q \
    '^error  ram-budget  preprod: limits total 4864 MB: more than the 4096 MB host' \
    "$t/pre"
expect "profile hint: monitoring off" grep -q \
    'hint: set monitoring_enabled: false (saves 1536 MB: 3328 MB fits)' "$t/pre"
expect "profile hint: scaled limits" grep -q \
    'use scaled limits: multiply every preprod limit by 0\.68' "$t/pre"
[ $rc -eq 3 ] || show "$t/pre" "$t/pre.err"

# --json: an array jq reads, with the same verdict.
run "$t/site" "$t/pre.json" --env preprod --json
expect "--json preprod exits 3" [ $rc -eq 3 ]
expect "--json preprod finding" jqt 'type == "array" and
    ([.[] | select(.rule == "ram-budget" and .severity == "error" and
      (.where == "preprod") and
      (.hint | contains("monitoring_enabled: false")))] | length == 1) and
    all(.[]; has("severity") and has("rule") and has("where") and
      has("message"))' "$t/pre.json"
run "$t/site" "$t/prod.json" --json
expect "--json prod exits 0" [ $rc -eq 0 ]
expect "--json prod has no error" jqt \
    'type == "array" and ([.[] | select(.severity == "error")] | length == 0)' \
    "$t/prod.json"

# The profile the hint offers really fits.
run "$t/mon" "$t/mon.out" --env preprod
expect "preprod without monitoring exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || show "$t/mon.out" "$t/mon.out.err"

# UFW restricting SSH to the VPN while vpn_verified is false: lockout.
cp -a "$src" "$t/stack"
sed -i 's|^allow {{ ssh_port }}/tcp$|allow {{ ssh_port }}/tcp from {{ vpn_network_cidr }}|' \
    "$t/stack/templates/host/ufw.rules.j2"
expect "ufw template edited" not cmp -s "$src/templates/host/ufw.rules.j2" \
    "$t/stack/templates/host/ufw.rules.j2"
VPAI_STACK_DIR=$t/stack run "$t/site" "$t/ufw" --rule ssh-lockout
expect "ssh lockout exits 3" [ $rc -eq 3 ]
expect "ssh lockout caught" grep -q \
    '^error  ssh-lockout  host/ufw/rules:[0-9]*: SSH port 804 is allowed only from the VPN but vpn_verified is false' \
    "$t/ufw"
[ $rc -eq 3 ] || show "$t/ufw" "$t/ufw.err"
VPAI_STACK_DIR=$t/stack run "$t/vpn" "$t/ufw-ok" --rule ssh-lockout
expect "vpn_verified: true allows it" [ $rc -eq 0 ]
[ $rc -eq 0 ] || show "$t/ufw-ok" "$t/ufw-ok.err"

# A hard-coded example domain in a template: portability.
cp -a "$src/." "$t/stack/"
echo '# see https://admin.example.com/' >>"$t/stack/templates/caddy/Caddyfile.j2"
VPAI_STACK_DIR=$t/stack run "$t/site" "$t/port" --rule portability
expect "portability exits 3" [ $rc -eq 3 ]
expect "portability caught" grep -q \
    "^error  portability  stack/templates/caddy/Caddyfile.j2:[0-9]*: hard-coded literal 'example.com'" \
    "$t/port"
[ $rc -eq 3 ] || show "$t/port" "$t/port.err"

# No secret value in any output.
n=0
leak=0
while IFS= read -r v; do
	[ ${#v} -ge 8 ] || continue
	n=$((n + 1))
	if grep -rqF -- "$v" "$t"/prod* "$t"/pre* "$t"/mon.out* "$t"/ufw* \
	    "$t"/port*; then
		leak=1
	fi
done < <(sed -n "s/^[a-z0-9_]*: '\(.*\)'$/\1/p" "$secrets")
expect "secret values searched ($n)" [ $n -ge 10 ]
expect "no secret printed" [ $leak -eq 0 ]

exit $fail
