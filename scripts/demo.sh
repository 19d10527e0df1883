#!/usr/bin/env bash
# demo.sh: README's first command.  On a fresh Debian 12 machine, deploy
# the default stack here and show it healthy:
#   deps -> dockerd -> build vpai (release) -> image set (local images
#   built when Docker Hub is unreachable) -> site (vpai init) + vault ->
#   vpai apply -> vpai smoke -> URLs, login, vpai status.
# Idempotent: a re-run converges (existing site and vault are kept, the
# build and the images are cached, apply changes nothing).
#
#   scripts/demo.sh [SITE_DIR]		(default ./site)
#
# Deploys the real default stack: project vpai, /opt/vpai, 172.20.x,
# ports 80/443 on this host.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
site=${1:-./site}
build=$src/build/release
t0=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(($(date +%s) - t0))"; }

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it installs packages and deploys under /opt)" >&2; exit 1; }

step "packages"
bash "$src/scripts/deps.sh"
step "docker engine"
bash "$src/scripts/dockerd.sh"

step "build vpai (release)"
# VPAI_CMAKE_ARGS: extra cmake arguments (e.g. a compiler or flags).
# shellcheck disable=SC2086
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release ${VPAI_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" --target vpai vpai-probe -j"$(nproc)" >/dev/null
vpai=$build/vpai
export VPAI_PROBE=$build/vpai-probe

step "image set"
tb=$(date +%s)
set_line=$(bash "$src/images/build.sh" --if-unreachable | tee /dev/stderr | grep '^image_set:' || true)
image_set=upstream
case $set_line in *local*) image_set=local ;; esac
echo "image set: $image_set (this step took $(($(date +%s) - tb)) s; the first build of the local images takes several minutes, later runs reuse the cache)"

step "site $site"
mkdir -p "$site"
site=$(cd "$site" && pwd)
if [ ! -f "$site/vpai.yml" ]; then
	"$vpai" -C "$site" init --non-interactive --set "image_set=$image_set"
else
	echo "kept $site/vpai.yml"
fi
pwfile=$site/.vault_password
if [ ! -s "$pwfile" ]; then
	(umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' >"$pwfile")
fi
chmod 600 "$pwfile"
export VPAI_VAULT_PASSWORD_FILE=$pwfile
if [ ! -f "$site/secrets.vault" ]; then
	"$vpai" -C "$site" vault create --new-vault-password-file "$pwfile"
else
	# Adds only the generated secrets the vault lacks.
	"$vpai" -C "$site" vault generate >/dev/null
fi

step "vpai apply"
"$vpai" -C "$site" apply

step "vpai smoke"
"$vpai" -C "$site" smoke

domain=$(sed -n 's/^domain_name: *"\{0,1\}\([^" ]*\)"\{0,1\}/\1/p' "$site/vpai.yml")
domain=${domain:-vpai.localhost}
email=$(sed -n 's/^n8n_owner_email: *"\{0,1\}\([^" ]*\)"\{0,1\}/\1/p' "$site/vpai.yml")
root=$(sed -n 's/^stack_root: *"\{0,1\}\([^" ]*\)"\{0,1\}/\1/p' "$site/vpai.yml")
root=${root:-/opt/vpai}
step "done"
cat <<MSG
The stack is up.
  Public:  https://$domain/health          LiteLLM API: https://$domain/litellm/v1/
  Admin (VPN only, 403 elsewhere): https://admin.$domain/{n8n,grafana,openclaw,qdrant,litellm}/
  TLS: Caddy's local CA (tls internal): $root/data/caddy/data/caddy/pki/authorities/local/root.crt
n8n login: ${email:-the n8n_owner_email of $site/vpai.yml}
  password: VPAI_VAULT_PASSWORD_FILE=$pwfile $vpai -C $site vault get n8n_owner_password
Vault password file: $pwfile (keep it safe; mode 600)
MSG
"$vpai" -C "$site" status
