#!/usr/bin/env bash
# t7001-restic-sftp: the off-site copy over sftp (restic's sftp backend
# through a private sshd on 127.0.0.1, tests/host/sshd-lib.sh):
#   - `vpai backup --only configs --restic sftp:... --restic-option
#     sftp.command=...` makes a snapshot in the remote repository, whose
#     password comes from the secrets (RESTIC_PASSWORD_FILE), never argv;
#   - a changed config is put back by `vpai restore --from latest` from
#     that repository, with a safety set of the changed state.
# No container is needed: the project has none (docker ps only).
# cleanup runs from the EXIT trap.
# shellcheck disable=SC2317
set -u
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}" "${VPAI_BUILD_DIR:?}"
[ -x /usr/sbin/sshd ] || { echo "SKIP: no sshd"; exit 77; }
command -v restic >/dev/null || { echo "SKIP: no restic"; exit 77; }
docker info >/dev/null 2>&1 || { echo "SKIP: no docker engine"; exit 77; }
# shellcheck source=tests/host/sshd-lib.sh
. "$VPAI_SOURCE_DIR/tests/host/sshd-lib.sh"
tmp=$(mktemp -d)
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
cleanup() { sshd_stop; rm -rf "$tmp"; }
trap cleanup EXIT
sshd_start t7001
# sshd-lib's config has no sftp subsystem: add it and restart that sshd.
echo "Subsystem sftp internal-sftp" >>"$D/sshd_config"
kill "$SSHD_PID"
for _ in $(seq 50); do kill -0 "$SSHD_PID" 2>/dev/null || break; sleep 0.1; done
rm -f "$D/sshd.pid"
/usr/sbin/sshd -f "$D/sshd_config" -E "$D/sshd.log"
for _ in $(seq 50); do [ -s "$D/sshd.pid" ] && break; sleep 0.1; done
SSHD_PID=$(cat "$D/sshd.pid")
root=$tmp/root
site=$tmp/site
mkdir -p "$root/configs/redis" "$site"
echo "maxmemory 1mb" >"$root/configs/redis/redis.conf"
echo '{}' >"$root/docker-compose.yml"
printf 'project_name: vpai-test-backup-sftp-%s\nstack_root: %s\nimage_set: local\n' "$$" "$root" \
    >"$site/vpai.yml"
secrets=$VPAI_SOURCE_DIR/tests/fixtures/secrets/plain.yml
repo="sftp:root@127.0.0.1:$D/repo"
ropt="sftp.command=ssh -F $SSH_CONFIG -p $PORT root@127.0.0.1 -s sftp"
V() { "$VPAI" -C "$site" "$@" --secrets "$secrets" --restic "$repo" --restic-option "$ropt"; }

if V backup --only configs >"$tmp/b1" 2>&1 && grep -q '^restic snapshot ' "$tmp/b1"; then
	ok "backup copied over sftp"
else bad "backup over sftp"; cat "$tmp/b1"; fi
sed -n "s/^restic_password: '\(.*\)'/\1/p" "$secrets" | tr -d '\n' >"$tmp/pw"
n=$(RESTIC_PASSWORD_FILE=$tmp/pw restic -q -r "$repo" -o "$ropt" snapshots --json | jq length)
[ "$n" = 1 ] && ok "remote repository has 1 snapshot" || bad "remote snapshots: $n"
[ -d "$D/repo/snapshots" ] && ok "repository lives behind sshd ($D/repo)" || bad "repo dir"

echo "maxmemory 2mb" >"$root/configs/redis/redis.conf"
if V restore --from latest --only configs --yes >"$tmp/r1" 2>&1 &&
    [ "$(cat "$root/configs/redis/redis.conf")" = "maxmemory 1mb" ]; then
	ok "config restored from the sftp repository"
else bad "restore from sftp"; cat "$tmp/r1"; fi
safety=$(sed -n 's/^restored; the state before the restore is kept in //p' "$tmp/r1")
[ -n "$safety" ] && tar -xzOf "$safety/configs.tar.gz" configs/redis/redis.conf | grep -q '2mb' &&
    ok "safety set holds the changed config" || bad "safety set"
[ -z "$(find "$root/backups" -maxdepth 1 -name 'restic-restore-*')" ] && ok "restic restore copy removed" ||
    bad "restic-restore left behind"
exit $fail
