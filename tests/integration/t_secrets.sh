#!/bin/bash
# The password never leaves mailaudit except towards the server.
#
# 1. A full audit (IMAP over TLS + POP3 over TLS, --trace, history, report to
#    a file, then a --check run) against the private Dovecot, with a
#    non-ASCII password (so IMAP logs in with AUTHENTICATE PLAIN, not LOGIN).
#    Every file mailaudit wrote (trace, report, history.db and any -wal/-shm,
#    anything else under the state dir) and its stdout/stderr are searched for
#    the password, its base64, and the base64 of both SASL PLAIN forms
#    ("\0user\0pass" and "user\0user\0pass"): none may be found.
# 2. Not dumpable: mailaudit is run as user nobody, waiting on a silent
#    server; another process of the same user must not be able to read its
#    /proc/PID/environ or /proc/PID/mem (PR_SET_DUMPABLE 0 makes /proc/PID
#    root-owned and ptrace-protected). A plain `sleep` of the same user is
#    the control that shows the check can tell the difference.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
top=$(cd "$here/../.." && pwd)
MAILAUDIT=${MAILAUDIT:-$top/build/mailaudit}
need dovecot openssl python3 base64 setpriv || tap_bail "missing dependencies"
[ -x "$MAILAUDIT" ] || tap_bail "mailaudit not built ($MAILAUDIT)"

dovecot_start --no-submission || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
W=$(mktemp -d /tmp/ma-secrets.XXXXXX)
chmod 0755 "$W"
MA_HOSTILE_DIR=$W
. "$here/../lib/hostile.sh"
spid=
trap 'hostile_stop_all; [ -n "$spid" ] && kill $spid 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; dovecot_stop_all' EXIT

# A non-ASCII password for alice: the passwd-file is re-read when it changes.
PW='Žluťoučký kůň ☃ p4ss!'
python3 - "$MA_TMP/etc/passwd" "$MA_USER" "$PW" <<'EOF'
import sys
path, user, pw = sys.argv[1:4]
lines = open(path, encoding="utf-8").read().splitlines()
out = []
for l in lines:
    f = l.split(":")
    if f[0] == user:
        f[1] = "{PLAIN}" + pw
    out.append(":".join(f))
open(path, "w", encoding="utf-8").write("\n".join(out) + "\n")
EOF
touch -d '+2 seconds' "$MA_TMP/etc/passwd" 2>/dev/null
(umask 077 && printf '%s\n' "$PW" >"$W/pw")

SD="$W/state"
REP="$W/report.txt"
TR="$W/trace.txt"
COMMON=(--imap "$MA_HOST:$MA_IMAPS_PORT/tls" --pop3 "$MA_HOST:$MA_POP3S_PORT/tls"
	--user "$MA_USER" --password-file "$W/pw" --ca-file "$MA_CA" --timeout 10
	--state-dir "$SD")
"$MAILAUDIT" --report "$REP" --trace "$TR" "${COMMON[@]}" >"$W/out1" 2>"$W/err1"
rc=$?
ok $(( rc < 3 ? 0 : 1 )) "full audit with a non-ASCII password (exit $rc)"
check_contains "IMAP was audited" "$(cat "$REP")" "IMAP INBOX                 $MA_SEED_INBOX"
check_contains "POP3 was audited" "$(cat "$REP")" "POP3 (STAT)"
# The trace redacts the whole login command, so the AUTHENTICATE PLAIN path
# is shown by its preconditions (core/mail/imap.c: 8-bit password, server offers
# SASL-IR and AUTH=PLAIN) and by the login having worked.
check_contains "server offers SASL-IR and AUTH=PLAIN (so the 8-bit password goes by AUTHENTICATE PLAIN)" \
	"$(grep -m1 'CAPABILITY' "$TR")" "SASL-IR"
check_contains "the IMAP login command is redacted in the trace" "$(grep '^imap C:' "$TR")" "of credentials redacted"
# The second IMAP session logs in only if it is quicker than the first is
# at reading this small mailbox; otherwise it is abandoned before (its
# lines are then at most a LOGOUT). The password search below covers both.
i2=$(grep '^imap2 C:' "$TR")
if [ -n "$i2" ] && printf '%s\n' "$i2" | grep -q -v -E '^imap2 C: ([^ ]+ (CAPABILITY|LOGOUT))?$'; then
	check_contains "the second IMAP session's login is redacted too" "$i2" "of credentials redacted"
else
	pass "the second IMAP session sent no login (abandoned before it)"
fi
diag "$(grep 'redacted' "$TR")"
"$MAILAUDIT" --check --trace "$W/trace2.txt" "${COMMON[@]}" >"$W/out2" 2>"$W/err2"
rc=$?
ok $(( rc < 3 ? 0 : 1 )) "second audit (--check) with the same history (exit $rc)"
check_contains "--check printed its line" "$(cat "$W/out2")" "MAILAUDIT"

# Every needle, as bytes; each file searched as bytes.
needles=$(python3 - "$MA_USER" "$PW" <<'EOF'
import base64, sys
u, p = (s.encode() for s in sys.argv[1:3])
forms = {
    "password": p,
    "base64(password)": base64.b64encode(p),
    "base64(\\0user\\0pass)": base64.b64encode(b"\0" + u + b"\0" + p),
    "base64(user\\0user\\0pass)": base64.b64encode(u + b"\0" + u + b"\0" + p),
    "password as IMAP quoted string": b'"' + p + b'"',
}
for name, b in forms.items():
    print(name + "\t" + b.hex())
EOF
)
files=$(find "$W" -type f ! -name pw | sort)
diag "files searched:" $(echo "$files" | sed "s|$W/||")
for f in history.db; do
	[ -f "$SD/$f" ] || fail "history file $SD/$f was written"
done
found=$(python3 - "$needles" $files <<'EOF'
import sys
needles = [l.split("\t") for l in sys.argv[1].splitlines()]
for path in sys.argv[2:]:
    data = open(path, "rb").read()
    for name, hx in needles:
        if bytes.fromhex(hx) in data:
            print("%s in %s" % (name, path))
EOF
)
check_eq "no password, base64 or SASL PLAIN form in any file or output ($(echo "$files" | wc -l) files)" "" "$found"
check_contains "the trace notes the redaction" "$(cat "$TR")" "redacted"

# --- not dumpable --------------------------------------------------------------
hostile_start silent || tap_bail "hostile server silent did not start"
port=$hport
mkdir -p "$W/nobody" && chown nobody "$W/nobody" && chmod 0700 "$W/nobody"
cp "$W/pw" "$W/nobody/pw" && chown nobody "$W/nobody/pw" && chmod 600 "$W/nobody/pw"
AS_NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
MA_SECRET_ENV=marker "${AS_NOBODY[@]}" "$MAILAUDIT" --report - --no-history --imap "127.0.0.1:$port/plain" --insecure \
	--user u@x.test --password-file "$W/nobody/pw" --timeout 20 >/dev/null 2>&1 &
mpid=$!
MA_SECRET_ENV=marker "${AS_NOBODY[@]}" sleep 20 &
spid=$!
# Ready: mailaudit has connected (it turns itself undumpable before that)
# and the control process runs as nobody.
connected_to() { # port: an established TCP connection to 127.0.0.1:port exists
	awk -v p="$(printf ':%04X' "$1")" '$4 == "01" && substr($3, length($3) - 4) == p { f = 1 } END { exit !f }' /proc/net/tcp
}
runs_as_nobody() { grep -q "^Uid:.*65534" "/proc/$1/status" 2>/dev/null && [ "$(cat "/proc/$1/comm")" = "$2" ]; }
ma_wait 60 connected_to "$port"
ok $? "mailaudit (as nobody) connected to the silent server"
ma_wait 30 runs_as_nobody "$spid" sleep
if [ -r "/proc/$mpid/status" ] && grep -q "^Uid:.*65534" "/proc/$mpid/status"; then
	check_eq "mailaudit's /proc/PID is owned by root, not by its user (not dumpable)" root "$(stat -c %U "/proc/$mpid/environ")"
	if "${AS_NOBODY[@]}" cat "/proc/$mpid/environ" >/dev/null 2>&1; then
		fail "another process of the same user cannot read mailaudit's /proc/PID/environ"
	else
		pass "another process of the same user cannot read mailaudit's /proc/PID/environ"
	fi
	if "${AS_NOBODY[@]}" python3 -c 'import sys; f=open("/proc/%s/mem" % sys.argv[1], "rb")' "$mpid" 2>/dev/null; then
		fail "another process of the same user cannot open mailaudit's /proc/PID/mem"
	else
		pass "another process of the same user cannot open mailaudit's /proc/PID/mem"
	fi
	# control: the same check on an ordinary process of that user succeeds
	if "${AS_NOBODY[@]}" cat "/proc/$spid/environ" 2>/dev/null | tr '\0' '\n' | grep -q MA_SECRET_ENV=marker; then
		pass "control: an ordinary process of that user has a readable environ"
	else
		fail "control: an ordinary process of that user has a readable environ"
	fi
else
	fail "mailaudit running as nobody for the dumpable check" "$(cat "/proc/$mpid/status" 2>&1 | head -3)"
fi
kill "$mpid" "$spid" 2>/dev/null
wait "$mpid" "$spid" 2>/dev/null
spid=

tap_done
