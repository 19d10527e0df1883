#!/usr/bin/env bash
# t2000-golden: `vpai render` of the default site (tests/fixtures/render/
# vpai.yml + tests/fixtures/secrets/plain.yml) equals the goldens under
# tests/render/golden/<env>/ byte for byte, with the modes, owners and
# secret flags listed in tests/render/golden/<env>.manifest; a second
# render is identical and rewrites nothing.
# Regenerate the goldens with scripts/update-golden.sh (and review the diff).
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
src=$VPAI_SOURCE_DIR
export VPAI_STACK_DIR=$src/stack
site=$src/tests/fixtures/render/vpai.yml
secrets=$src/tests/fixtures/secrets/plain.yml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for env in prod preprod; do
	golden=$src/tests/render/golden/$env
	out=$tmp/$env
	if ! "$VPAI" --site "$site" -v render --env "$env" --secrets "$secrets" \
	    -o "$out" >"$tmp/$env.log" 2>&1; then
		echo "FAIL $env: render failed:"; cat "$tmp/$env.log"
		fail=1; continue
	fi
	# Manifest: mode, owner, path, secret flag, as `render -v` lists them.
	grep '^  ' "$tmp/$env.log" >"$tmp/$env.manifest"
	if ! diff -u "$src/tests/render/golden/$env.manifest" \
	    "$tmp/$env.manifest"; then
		echo "FAIL $env: manifest differs from the golden"; fail=1
	fi
	if ! diff -r "$golden" "$out"; then
		echo "FAIL $env: files differ from the goldens"; fail=1
	fi
	# The modes on disk are the manifest's.
	while read -r mode owner path rest; do
		got=$(stat -c %04a "$out/$path" 2>/dev/null)
		if [ "$got" != "$mode" ]; then
			echo "FAIL $env: $path has mode $got, want $mode"; fail=1
		fi
		if [ "$(id -u)" = 0 ] && [ "$owner" != - ]; then
			got=$(stat -c %u:%g "$out/$path")
			if [ "$got" != "$owner" ]; then
				echo "FAIL $env: $path owned by $got, want $owner"
				fail=1
			fi
		fi
		case $rest in
		*secret*)
			case $mode in
			0600|0400|0640|0440) ;;
			*) echo "FAIL $env: secret $path has mode $mode"; fail=1;;
			esac;;
		esac
	done <"$tmp/$env.manifest"
	# Determinism: a second render into a new directory is identical, and
	# into the same directory writes nothing.
	"$VPAI" --site "$site" render --env "$env" --secrets "$secrets" \
	    -o "$tmp/$env.again" >/dev/null 2>&1 || { echo "FAIL $env: second render"; fail=1; }
	if ! diff -r "$out" "$tmp/$env.again" >/dev/null; then
		echo "FAIL $env: two renders differ"; fail=1
	fi
	again=$("$VPAI" --site "$site" render --env "$env" --secrets "$secrets" \
	    -o "$out" 2>&1)
	case $again in
	*": 0 written,"*) ;;
	*) echo "FAIL $env: re-render rewrote files: $again"; fail=1;;
	esac
	[ $fail = 0 ] && echo "ok   $env: $(wc -l <"$tmp/$env.manifest") files and directories match the goldens"
done
# A secret value never shows in the command's output.
if grep -F -f <(sed -n "s/^[a-z_0-9]*: *'\{0,1\}\([^']\{8,\}\)'\{0,1\}$/\1/p" "$secrets") \
    "$tmp"/*.log; then
	echo "FAIL: a secret value appears in render's output"; fail=1
fi
exit $fail
