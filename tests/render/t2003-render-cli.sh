#!/usr/bin/env bash
# t2003-render-cli: `vpai render` as a command: help, usage errors and their
# exit codes (docs/EXIT-CODES.md), errors naming the stack file and key,
# the default output directory, the summary line, and a refused secret
# file mode — with no secret value ever in the output.
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
src=$VPAI_SOURCE_DIR
secrets=$src/tests/fixtures/secrets/plain.yml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
export VPAI_STACK_DIR=$src/stack

expect() {	# name want-rc want-stderr-substring cmd...
	local name=$1 rc=$2 msg=$3 got
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	cat "$tmp/out" "$tmp/err" >>"$tmp/all"
	if [ "$got" != "$rc" ]; then
		echo "FAIL $name: exit $got, want $rc"; cat "$tmp/err"; fail=1
	elif ! grep -qF -- "$msg" "$tmp/err" "$tmp/out"; then
		echo "FAIL $name: no '$msg' in:"; cat "$tmp/err" "$tmp/out"; fail=1
	else
		echo "ok   $name"
	fi
}

site=$tmp/site
mkdir -p "$site"
cp "$src/tests/fixtures/render/vpai.yml" "$site/vpai.yml"
expect help 0 "usage: vpai render" "$VPAI" render --help
expect bad-env 64 "vpai render: --env 'staging': expected prod or preprod" \
    "$VPAI" -C "$site" render --env staging --secrets "$secrets"
expect bad-option 64 "unknown option" "$VPAI" -C "$site" render --bogus
expect extra-arg 64 "vpai render: unexpected argument 'x'" \
    "$VPAI" -C "$site" render x
expect no-secrets 66 "'$tmp/none.yml'" \
    "$VPAI" -C "$site" render --secrets "$tmp/none.yml"
expect no-site 66 "$tmp/nosite/vpai.yml" \
    "$VPAI" -C "$tmp/nosite" render --secrets "$secrets"
expect default-dir 0 "rendered " \
    "$VPAI" -C "$site" render --env preprod --secrets "$secrets"
if [ -f "$site/out/preprod/docker-compose.yml" ]; then
	echo "ok   default output directory <site>/out/<env>"
else
	echo "FAIL: no $site/out/preprod/docker-compose.yml"; fail=1
fi
expect unchanged 0 ": 0 written, " \
    "$VPAI" -C "$site" render --env preprod --secrets "$secrets"

# A broken stack: errors name the stack file, line and key; a secret file
# with a world-readable mode is refused and nothing is written.
stack=$tmp/stack
cp -r "$src/stack" "$stack"
sed -i 's/^phase: A$/phse: A/' "$stack/services/redis.yml"
VPAI_STACK_DIR=$stack expect bad-service 65 \
    "stack/services/redis.yml:" "$VPAI" -C "$site" render --secrets "$secrets" -o "$tmp/o1"
grep -qF "key 'phse': unknown key (did you mean 'phase'?)" "$tmp/err" ||
    { echo "FAIL bad-service message: $(cat "$tmp/err")"; fail=1; }
cp "$src/stack/services/redis.yml" "$stack/services/redis.yml"
awk '/path: secrets\/redis\/password/{print; getline; print "    mode: \"0644\""; next} {print}' \
    "$src/stack/bundle.yml" >"$stack/bundle.yml"
VPAI_STACK_DIR=$stack expect secret-mode 6 \
    "bundle file 'secrets/redis/password' holds secrets but its mode 0644 lets others in" \
    "$VPAI" -C "$site" render --secrets "$secrets" -o "$tmp/o2"
if [ -e "$tmp/o2" ]; then
	echo "FAIL: a refused render wrote $tmp/o2"; fail=1
fi
# No secret value in anything printed above.
for v in $(sed -n "s/^[a-z_0-9]*: *'\([^']\{8,\}\)'$/\1/p" "$secrets"); do
	if grep -qF -- "$v" "$tmp/all"; then
		echo "FAIL: secret value printed"; fail=1
	fi
done
exit $fail
