#!/usr/bin/env bash
# t5090-facts-services: facts.sh probes services (v:NAME) in the background
# while it gathers the rest (bench/converge.sh: fail2ban's init-script
# status alone takes ~0.1 s).  Their lines must still come before END, for
# every service in order of the query, a missing service must read
# "absent", the temp file must be gone afterwards, and facts.sh must still
# answer when no temp file can be made (the inline fallback).
set -euo pipefail
: "${VPAI_SOURCE_DIR:?}"
FACTS=$VPAI_SOURCE_DIR/stack/host/facts.sh

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

D=$(mktemp -d /tmp/t5090.XXXXXX)
trap 'rm -rf "$D"' EXIT
mkdir "$D/tmp"
# as vpai sends it: { script } </dev/null on stdin to sh -s -- QUERY...
facts() { { echo '{'; cat "$FACTS"; echo '} </dev/null'; } | sh -s -- "$@"; }

# 1: background path; TMPDIR private so the temp file can be checked
TMPDIR=$D/tmp facts p:dash v:vpai-t5090-none u:root v:vpai-t5090-none2 \
    >"$D/out"
[ "$(tail -n 1 "$D/out")" = END ] || fail "last line is not END"
grep -qx 'V 2 absent inactive' "$D/out" || fail "no V 2 line: $(cat "$D/out")"
grep -qx 'V 4 absent inactive' "$D/out" || fail "no V 4 line"
[ "$(grep -c '^V ' "$D/out")" = 2 ] || fail "V lines: $(grep '^V ' "$D/out")"
grep -q '^U 3 root:' "$D/out" || fail "no U 3 line"
v2=$(grep -n '^V 2 ' "$D/out" | cut -d: -f1)
v4=$(grep -n '^V 4 ' "$D/out" | cut -d: -f1)
[ "$v2" -lt "$v4" ] || fail "V lines out of query order"
[ -z "$(ls -A "$D/tmp")" ] || fail "temp file left: $(ls -A "$D/tmp")"
ok "services probed in the background: lines before END, in order, no temp file left"

# 2: a real sysv service when this machine has one (no systemd here)
if [ ! -d /run/systemd/system ] && [ -x /etc/init.d/cron ]; then
	TMPDIR=$D/tmp facts v:cron >"$D/out"
	grep -Eqx 'V 1 (enabled|disabled) (active|inactive)' "$D/out" ||
	    fail "cron: $(grep '^V' "$D/out")"
	ok "sysv service cron: $(grep '^V' "$D/out")"
fi

# 3: no temp file possible: probed inline, same answer
TMPDIR=$D/no-such-dir facts v:vpai-t5090-none p:dash >"$D/out2"
grep -qx 'V 1 absent inactive' "$D/out2" || fail "inline fallback: no V 1 line"
[ "$(tail -n 1 "$D/out2")" = END ] || fail "inline fallback: last line is not END"
ok "mktemp failing: services probed inline"

# 4: no service query, no temp file at all
TMPDIR=$D/tmp facts p:dash >"$D/out3"
grep -q '^V ' "$D/out3" && fail "V line without a v: query"
[ -z "$(ls -A "$D/tmp")" ] || fail "temp file made without a v: query"
ok "no v: query: nothing in the background"
echo "4 passed, 0 failed"
