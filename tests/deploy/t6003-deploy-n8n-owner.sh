#!/usr/bin/env bash
# t6003-deploy-n8n-owner: provisioning after health, against the real
# n8n image (vpai-local/n8n, n8n 1.123 from npm) and PostgreSQL:
#   - `vpai apply --only postgresql,n8n` creates the n8n owner account
#     through n8n's REST setup endpoint once n8n is healthy;
#   - the owner can log in with n8n_owner_email / n8n_owner_password;
#   - a second apply sees the owner and does not touch it;
#   - the password never shows in the output.
# Same isolation as t6002: project vpai-test-deploy-n8n-<pid>, subnets
# moved to 172.25.x in a copy of stack/.
set -u
# shellcheck source=tests/deploy/deploy-lib.sh
. "$(dirname "$0")/deploy-lib.sh"
probe=$VPAI_BUILD_DIR/vpai-probe
for img in vpai-local/postgresql:15 vpai-local/n8n:1.123.81; do
	if ! docker image inspect "$img" >/dev/null 2>&1; then
		echo "SKIP: local image $img not built (images/build.sh)"; exit 77
	fi
done
[ -x "$probe" ] || { echo "SKIP: $probe not built"; exit 77; }
export VPAI_PROBE=$probe
new_project n8n
cp -r "$VPAI_SOURCE_DIR/stack" "$tmp/stack"
grep -rl '172\.20\.' "$tmp/stack" | xargs sed -i 's/172\.20\./172.25./g'
export VPAI_STACK_DIR=$tmp/stack
root=$tmp/root
site=$tmp/site
mkdir -p "$site"
email=owner-t6003@example.org
printf 'project_name: %s\nstack_root: %s\nimage_set: local\nn8n_owner_email: %s\n' \
    "$proj" "$root" "$email" >"$site/vpai.yml"
secrets=$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml
pw=$(sed -n "s/^n8n_owner_password: '\(.*\)'/\1/p" "$secrets")
apply() {
	"$VPAI" -C "$site" apply --secrets "$secrets" --only postgresql,n8n
}

if apply >"$tmp/a1" 2>&1 && [ "$(health_of n8n)" = running/healthy ] &&
    grep -q "n8n owner $email created" "$tmp/a1"; then
	ok "apply: n8n healthy, owner created"
else bad "first apply"; cat "$tmp/a1"; exit 1; fi
grep -qF "$pw" "$tmp/a1" && bad "the password shows in the output"

ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' \
    "$(id_of n8n)" | awk '{print $1}')
code=$(printf '{"emailOrLdapLoginId":"%s","password":"%s"}' "$email" "$pw" |
    curl -s -o "$tmp/login" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @- "http://$ip:5678/rest/login")
if [ "$code" = 200 ] && [ "$(jq -r .data.email "$tmp/login")" = "$email" ]; then
	ok "owner logs in"
else bad "login: HTTP $code"; cat "$tmp/login"; fi

if apply >"$tmp/a2" 2>&1 && grep -q "n8n owner $email already set up" "$tmp/a2" &&
    grep -q 'nothing changed' "$tmp/a2"; then
	ok "second apply: owner already set up, nothing changed"
else bad "second apply"; cat "$tmp/a2"; fi
exit $fail
