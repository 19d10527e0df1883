#!/usr/bin/env bash
# shellcheck disable=SC2016 # literal $(...) on purpose: must never run
# t5000-ssh: converge over a REAL sshd on 127.0.0.1 (private config, host key
# and authorized key in a temp dir; the system sshd is not touched).
#  - first apply changes things, second apply changes nothing (1 round trip)
#  - files, directory, sysctl-in-a-file, line-in-file, /etc/hosts-style file
#    under a temp root whose path has spaces; cron for a test user
#  - names and values with quotes, $(...), ; and newlines arrive verbatim
#  - secrets never shown; unreachable host, wrong key, sudo needing a
#    password each give a clear error naming the target
set -euo pipefail
: "${VPAI:?}" "${VPAI_SOURCE_DIR:?}"
export VPAI_STACK_DIR="$VPAI_SOURCE_DIR/stack"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

[ -x /usr/sbin/sshd ] || { echo "skip: no sshd"; exit 77; }
command -v crontab >/dev/null || fail "crontab missing (apt-get install cron)"

# shellcheck source=tests/host/sshd-lib.sh
. "$VPAI_SOURCE_DIR/tests/host/sshd-lib.sh"
TUSER=vpai-t5000
cleanup() {
	sshd_stop
	crontab -r -u "$TUSER" 2>/dev/null || true
	if id "$TUSER" >/dev/null 2>&1; then userdel "$TUSER" 2>/dev/null || true; fi
}
trap cleanup EXIT
sshd_start t5000
H=(--target "$T" --ssh-config "$SSH_CONFIG")

# test user for cron (and for the sudo test); '*' = no password, not locked
id "$TUSER" >/dev/null 2>&1 || useradd -M -d /nonexistent -s /bin/sh "$TUSER"
usermod -p '*' "$TUSER"
crontab -r -u "$TUSER" 2>/dev/null || true

# ---- desired state under a temp root with awkward names ----
R="$D/root dir"
CANARY="$D/canary"
mkdir -p "$R/etc"
printf '# defs\nUMASK\t\t022\nPASS_MAX_DAYS\t99999\n' >"$R/etc/login.defs"
printf '127.0.0.1 localhost\n' >"$R/etc/hosts"
# (a file name cannot hold '/': its canary is relative, checked in the
# remote login's home and here)
NASTY="$R/etc/it's \$(touch t5000-canary); \`touch t5000-canary\`.conf"
SECRET='t5000-Secret-Value'
jq -n --arg r "$R" --arg nasty "$NASTY" --arg secret "$SECRET" \
    --arg user "$TUSER" --arg canary "$CANARY" '{
  directories: [{path: "\($r)/opt/vpai", mode: "0750"},
		{path: "\($r)/etc/sysctl.d", mode: "0755"}],
  files: [
    {path: "\($r)/etc/motd", content: "welcome to vpai\n", mode: "0644"},
    {path: "\($r)/opt/vpai/.env", content: "DB_PASSWORD=\($secret)\n",
     mode: "0600", owner: "root", group: "root"},
    {path: $nasty, content: "x=$(touch \($canary))\n'\''quoted'\''\n;\n"}
  ],
  lines: [
    {path: "\($r)/etc/login.defs", line: "UMASK 027",
     regexp: "^UMASK[[:space:]]"},
    {path: "\($r)/etc/login.defs", line: "LOGIN_RETRIES 5"}
  ],
  sysctl: {file: "\($r)/etc/sysctl.d/60-vpai.conf", live: false,
	   values: {"vm.swappiness": "10", "net.ipv4.ip_forward": "1"}},
  cron: [{name: "t5000 prune", user: $user, schedule: "0 3 * * 0",
	  job: "echo \"$(date)\" > /dev/null"}],
  hosts_file: "\($r)/etc/hosts",
  hosts: [{ip: "127.0.1.1", names: ["vpai", "vpai.test"]}],
  secrets: [$secret]
}' >"$D/want.json"

# ---- plan: changes listed, diffs, secret masked ----
"$VPAI" host plan "${H[@]}" --want "$D/want.json" --stats \
    >"$D/plan.out" 2>"$D/plan.err" || { cat "$D/plan.err"; fail "plan"; }
grep -q '^+ directory .*/opt/vpai: create' "$D/plan.out" || fail "plan: dir"
grep -q '^~ file .*/etc/login.defs: update' "$D/plan.out" || fail "plan: lines"
grep -q '^    +UMASK 027' "$D/plan.out" || fail "plan: no unified diff"
grep -q '^+ crontab vpai-t5000: install' "$D/plan.out" || fail "plan: cron"
grep -q "$SECRET" "$D/plan.out" && fail "plan shows the secret"
"$VPAI" host plan "${H[@]}" --want "$D/want.json" --json >"$D/plan.json"
grep -q "$SECRET" "$D/plan.json" && fail "plan JSON shows the secret"
jq -e 'length > 10' "$D/plan.json" >/dev/null || fail "plan json"
grep -q '1 round trip, 9 changes' "$D/plan.err" ||
    { cat "$D/plan.err"; fail "plan: expected 1 round trip, 9 changes"; }
[ -e "$R/opt/vpai" ] && fail "plan changed the host"
"$VPAI" host facts "${H[@]}" --want "$D/want.json" >"$D/facts.json"
jq -e --arg p "$R/etc/login.defs" '.files[$p].content | startswith("# defs")' \
    "$D/facts.json" >/dev/null || fail "facts JSON"
ok "plan lists 9 changes in 1 round trip, secret masked"

# ---- first apply ----
"$VPAI" host apply "${H[@]}" --want "$D/want.json" --stats \
    >"$D/apply1.out" 2>"$D/apply1.err" ||
    { cat "$D/apply1.out" "$D/apply1.err"; fail "apply 1"; }
grep -q 'applied: 9 changed' "$D/apply1.out" || { cat "$D/apply1.out"; fail "apply 1 count"; }
grep -q '2 round trips' "$D/apply1.err" || { cat "$D/apply1.err"; fail "apply 1: round trips"; }
grep -q "$SECRET" "$D/apply1.out" "$D/apply1.err" && fail "apply shows the secret"
[ "$(stat -c %a "$R/opt/vpai")" = 750 ] || fail "dir mode"
[ "$(stat -c %a "$R/opt/vpai/.env")" = 600 ] || fail ".env mode"
[ "$(cat "$R/opt/vpai/.env")" = "DB_PASSWORD=$SECRET" ] || fail ".env content"
[ -f "$NASTY" ] || fail "file with a nasty name was not written verbatim"
[ "$(cat "$NASTY")" = "$(printf 'x=$(touch %s)\n'"'"'quoted'"'"'\n;' "$CANARY")" ] ||
    fail "nasty content not verbatim"
[ -e "$CANARY" ] || [ -e ~root/t5000-canary ] || [ -e t5000-canary ] &&
    fail "something was executed (canary exists)"
grep -qx 'UMASK 027' "$R/etc/login.defs" || fail "line replace"
grep -qx 'LOGIN_RETRIES 5' "$R/etc/login.defs" || fail "line add"
grep -qx 'PASS_MAX_DAYS	99999' "$R/etc/login.defs" || fail "line kept"
grep -qx 'vm.swappiness = 10' "$R/etc/sysctl.d/60-vpai.conf" || fail "sysctl file"
grep -qx '127.0.1.1 vpai vpai.test' "$R/etc/hosts" || fail "hosts entry"
ct=$(crontab -l -u "$TUSER")
grep -qxF '#vpai: t5000 prune' <<<"$ct" || fail "cron marker"
grep -qxF '0 3 * * 0 echo "$(date)" > /dev/null' <<<"$ct" ||
    fail "cron job not verbatim"
[ -z "$(find "$R" -name '*vpai-tmp*')" ] || fail "temp file left behind"
ok "first apply: 9 changes in 2 round trips (apply + verify in one), all verified"

# ---- second apply: nothing to do, one round trip ----
"$VPAI" host apply "${H[@]}" --want "$D/want.json" --stats \
    >"$D/apply2.out" 2>"$D/apply2.err" || { cat "$D/apply2.err"; fail "apply 2"; }
grep -q '^0 to change' "$D/apply2.out" || { cat "$D/apply2.out"; fail "apply 2 not a no-op"; }
grep -q 'applied: 0 changed' "$D/apply2.out" || fail "apply 2 count"
grep -q '1 round trip, 0 changes' "$D/apply2.err" || { cat "$D/apply2.err"; fail "apply 2 trips"; }
ok "second apply: 0 changes, 1 round trip"

# ---- drift is detected and repaired ----
chmod 0644 "$R/opt/vpai/.env"
echo 'UMASK 077' >>"$R/etc/login.defs"
"$VPAI" host apply "${H[@]}" --want "$D/want.json" >"$D/apply3.out" 2>&1 ||
    { cat "$D/apply3.out"; fail "apply 3"; }
grep -q 'applied: 2 changed' "$D/apply3.out" || { cat "$D/apply3.out"; fail "drift not repaired"; }
[ "$(stat -c %a "$R/opt/vpai/.env")" = 600 ] || fail "drift: mode"
ok "drift (mode, extra line) repaired"

# facts of a drifted secret file carry its content: masked on output
echo "DB_PASSWORD=$SECRET-old" >"$R/opt/vpai/.env"
"$VPAI" host facts "${H[@]}" --want "$D/want.json" >"$D/facts2.json"
grep -q 'DB_PASSWORD=\*\*\*-old' "$D/facts2.json" || fail "facts: drifted content not shown masked"
grep -q "$SECRET" "$D/facts2.json" && fail "facts output shows the secret"
"$VPAI" host apply "${H[@]}" --want "$D/want.json" >/dev/null 2>&1 || fail "re-converge .env"
ok "facts output masks secrets in file contents"

# ---- injection through the target name is refused before ssh runs ----
set +e
out=$("$VPAI" host facts --target "ssh://root@127.0.0.1;touch $CANARY" 2>&1)
rc=$?
set -e
[ "$rc" = 64 ] || fail "bad target: exit $rc ($out)"
grep -q 'bad host name' <<<"$out" || fail "bad target message: $out"
[ -e "$CANARY" ] && fail "target name executed"
ok "a target name with ';' is refused (exit 64)"

# ---- errors name the target and the step ----
set +e
out=$("$VPAI" host facts --target "ssh://root@127.0.0.1:1" --ssh-config "$D/ssh_config" 2>&1)
rc=$?
set -e
[ "$rc" = 4 ] || fail "unreachable: exit $rc"
grep -q "'ssh://root@127.0.0.1:1': step 'facts': cannot connect: .*refused" <<<"$out" ||
    fail "unreachable message: $out"
ok "unreachable host: exit 4, '$out'"

set +e
sed "s|$D/id\$|$D/wrong|" "$D/ssh_config" >"$D/ssh_config_wrong"
out=$("$VPAI" host facts --target "$T" --ssh-config "$D/ssh_config_wrong" 2>&1)
rc=$?
set -e
[ "$rc" = 4 ] || fail "wrong key: exit $rc ($out)"
grep -q "'$T': step 'facts': cannot connect: .*Permission denied (publickey)" <<<"$out" ||
    fail "wrong key message: $out"
ok "wrong key: exit 4, '$out'"

set +e
out=$("$VPAI" host facts --target "$T" --ssh-config /dev/null --identity "$D/id" 2>&1)
rc=$?
set -e
[ "$rc" = 4 ] || fail "unknown host key: exit $rc ($out)"
grep -q "'$T': step 'facts': cannot connect: Host key verification failed" <<<"$out" ||
    fail "unknown host key message: $out"
ok "unknown host key (BatchMode, no prompt): exit 4"

set +e
out=$("$VPAI" host facts --target "ssh://$TUSER@127.0.0.1:$PORT" \
    --ssh-config "$D/ssh_config" --become 2>&1)
rc=$?
set -e
[ "$rc" = 4 ] || fail "sudo: exit $rc ($out)"
grep -q "'ssh://$TUSER@127.0.0.1:$PORT': step 'facts': sudo needs a password" <<<"$out" ||
    fail "sudo message: $out"
ok "sudo needing a password: exit 4, clear message"

# ---- a bad want file names the file and the key ----
echo '{"files": [{"path": "etc/x", "content": ""}]}' >"$D/bad.json"
set +e
out=$("$VPAI" host plan "${H[@]}" --want "$D/bad.json" 2>&1)
rc=$?
set -e
[ "$rc" = 65 ] || fail "bad want: exit $rc"
grep -q "bad.json: files\[0\].path: expected an absolute path" <<<"$out" ||
    fail "bad want message: $out"
ok "bad want file: exit 65, names file and key"
echo "t5000: all passed"
