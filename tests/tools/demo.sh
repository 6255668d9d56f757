#!/bin/bash
# `make demo`: shows mailaudit catching a deleting POP3 client, on a private
# mail server that exists only while the demo runs.
#
#   bash tests/tools/demo.sh BUILD/mailaudit
#
# 1. starts a private Dovecot on 127.0.0.1 (tests/lib/dovecot.sh; root only)
#    and fills alice's mailbox with the standard test mail (56 messages);
# 2. writes a private accounts file with one account, "demo";
# 3. audits it once (batch mode) so the history knows every message;
# 4. lets a real fetchmail, configured without `keep`, download 7 messages
#    over POP3 and delete them from the server, as a careless phone would;
# 5. opens mailaudit on the account: the second audit finds the 7 messages
#    destroyed (verdict CRITICAL) and names them.
#
# On a terminal step 5 is the full-screen program (press q to quit); with
# stdin or stdout not a terminal, or MA_DEMO_BATCH=1, it prints the text
# report instead. Either way the server is stopped and its temporary
# directory removed on exit (dovecot.sh's EXIT trap), also on Ctrl-C.
# MA_DEMO_STATE_FILE=FILE: write the server's temp dir and PIDs there (tests).
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-}
[ -n "$bin" ] || { echo "usage: bash tests/tools/demo.sh BUILD/mailaudit" >&2; exit 2; }
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "demo: $bin is not built (run make)" >&2; exit 1; }
for c in dovecot fetchmail openssl python3; do
	command -v "$c" >/dev/null 2>&1 || { echo "demo: missing $c (run make deps)" >&2; exit 1; }
done
if [ "$(id -u)" != 0 ]; then
	echo "demo: the private mail server needs root (its mail belongs to the 'mail' user);" >&2
	echo "      run: sudo make demo" >&2
	exit 1
fi

. "$here/../lib/dovecot.sh"

say() { printf '%s\n' "$*"; }

dovecot_start --no-submission || { echo "demo: the private Dovecot did not start" >&2; exit 1; }
dovecot_seed_standard || { echo "demo: seeding the mailbox failed" >&2; exit 1; }
# For tests/integration/t_docs.sh: which server to check for leftovers.
if [ -n "${MA_DEMO_STATE_FILE:-}" ]; then
	{ echo "tmp $MA_TMP"; dovecot_pids | sed 's/^/pid /'; } >"$MA_DEMO_STATE_FILE"
fi

cfg=$MA_TMP/demo.conf
state=$MA_TMP/state
cat >"$cfg" <<EOF
# mailaudit demo account (private Dovecot, removed when the demo ends)
[account demo]
address = $MA_USER
imap = 127.0.0.1:$MA_IMAPS_PORT/tls
pop3 = 127.0.0.1:$MA_POP3S_PORT/tls
password_file = $MA_PASSFILE
ca_file = $MA_CA
EOF

say "Demo: a private mail server on 127.0.0.1 (IMAPS port $MA_IMAPS_PORT, POP3S port $MA_POP3S_PORT)"
say "      holding $MA_SEED_TOTAL messages for $MA_USER; it disappears when the demo ends."
say ""
say "1. First audit (records what is on the server):"
"$bin" -c "$cfg" -a demo --state-dir "$state" --report "$MA_TMP/first.txt" 2>"$MA_TMP/first.err"
rc=$?
if [ ! -s "$MA_TMP/first.txt" ]; then
	echo "demo: the first audit failed (exit $rc):" >&2
	cat "$MA_TMP/first.err" >&2
	exit 1
fi
say "   $(grep -m1 '^ *Verdict:' "$MA_TMP/first.txt" | sed 's/^ *//; s/ *(.*$//')"
say ""

# 2. A POP3 client that deletes what it downloads: fetchmail without `keep`.
fmhome=$MA_TMP/fetchmail
mkdir -m 0700 "$fmhome"
pw=${MA_PASS//\\/\\\\}
pw=${pw//\"/\\\"}
(umask 077 && cat >"$fmhome/fetchmailrc" <<EOF
set no bouncemail
poll 127.0.0.1 protocol POP3 port $MA_POP3S_PORT
  user "$MA_USER" there with password "$pw"
  ssl sslcertck sslcertfile "$MA_CA" sslcommonname localhost
  fetchlimit 7
  mda "cat >/dev/null"
EOF
)
chmod 0600 "$fmhome/fetchmailrc"
say "2. A device that uses POP3 and deletes from the server (fetchmail without 'keep')"
say "   downloads 7 messages..."
# --pidfile: as root fetchmail would lock /var/run/fetchmail.pid, shared
# with any other fetchmail running at the same moment.
FETCHMAILHOME=$fmhome fetchmail -f "$fmhome/fetchmailrc" --nosyslog --nodetach \
	--pidfile "$fmhome/fetchmail.pid" >"$fmhome/out.txt" 2>&1 </dev/null
rc=$?
# 13 = "fetchlimit reached", what we asked for
if [ $rc -ne 0 ] && [ $rc -ne 13 ]; then
	echo "demo: fetchmail failed (exit $rc):" >&2
	sed 's/^/   /' "$fmhome/out.txt" >&2
	exit 1
fi
say "   ...and deleted them: the provider keeps no copy."
say ""

interactive=0
[ -t 0 ] && [ -t 1 ] && [ -z "${MA_DEMO_BATCH:-}" ] && interactive=1

audits() { # completed audits in the history file
	python3 - "$state/history.db" <<'PY' 2>/dev/null || echo 0
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=5)
print(db.execute("SELECT count(*) FROM audit WHERE finished IS NOT NULL").fetchone()[0])
PY
}

if [ $interactive = 1 ]; then
	say "3. Now mailaudit looks again. Press q to quit (the server stops with it)."
	say "   Starting in 3 s..."
	sleep 3
	"$bin" -c "$cfg" -a demo --state-dir "$state"
	# A build without the full-screen program only prints its usage: show
	# the report instead, so the demo still ends with the verdict.
	if [ "$(audits)" -ge 2 ]; then
		exit 0
	fi
	say ""
	say "(the full-screen program did not finish an audit; here is the text report instead)"
fi
say "3. Second audit: the text report (mailaudit -a demo --report -):"
say ""
"$bin" -c "$cfg" -a demo --state-dir "$state" --report - >"$MA_TMP/second.txt"
rc=$?
cat "$MA_TMP/second.txt"
say ""
say "In short (the report's verdict; exit status $rc: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN):"
sed -n '/^Verdict:/,/^$/{/^$/d;s/^/  /;p}' "$MA_TMP/second.txt"
say "The demo server is stopping now; nothing is left behind."
exit 0
