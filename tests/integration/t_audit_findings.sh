#!/bin/bash
# Whole audits against a private Dovecot for the findings that need a
# particular mailbox history: inbox-drained (first audit of an emptied
# INBOX), pop3-in-use (another POP3 session holds the lock),
# pop3-imap-mismatch (the server hides POP3-deleted mail from POP3 only) and
# uidvalidity-reset (a folder deleted and created again).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/report.sh"
need dovecot python3 fetchmail || tap_bail "missing dependency"
[ -x "${MAILAUDIT:-}" ] || tap_bail "mailaudit not built (MAILAUDIT=${MAILAUDIT:-})"

# A POP3 session locks the mailbox (for pop3-in-use); nothing else here holds
# two POP3 sessions at once.
dovecot_start --lock-session || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
export MA_IMAPS_PORT MA_POP3S_PORT MA_CA

# audit NAME USER PASSFILE [ARGS...]: report into $MA_TMP/NAME.txt (history
# per user in $MA_TMP/state.USER); sets REPORT and RC.
audit() {
	local name=$1 user=$2 pwf=$3
	shift 3
	"$MAILAUDIT" --report "$MA_TMP/$name.txt" --state-dir "$MA_TMP/state.$user" \
		--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls" \
		--user "$user" --password-file "$pwf" --ca-file "$MA_CA" --timeout 10 "$@" \
		2>"$MA_TMP/$name.err"
	RC=$?
	REPORT=$(cat "$MA_TMP/$name.txt" 2>/dev/null)
}
verdict() { printf '%s\n' "$REPORT" | sed -n 's/^Verdict: \([A-Z]*\).*/\1/p'; }

# IMAP changes made by the test (as a mail client would); user and password
# come from the environment, never from argv.
cat >"$MA_TMP/imapctl.py" <<'EOF'
import imaplib, os, ssl, sys, time
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx)
c.login(os.environ["U"], os.environ["P"])
def ok(r):
    assert r[0] == "OK", r
cmd = sys.argv[1]
if cmd == "drain":           # drain FOLDER KEEP: expunge all but the last KEEP
    ok(c.select(sys.argv[2]))
    uids = c.uid("SEARCH", "ALL")[1][0].split()
    gone = uids[: len(uids) - int(sys.argv[3])]
    ok(c.uid("STORE", b",".join(gone), "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c.expunge())
elif cmd == "recreate":      # recreate FOLDER: delete it, create it, add one message
    ok(c.delete(sys.argv[2]))
    ok(c.create(sys.argv[2]))
    msg = (b"From: Carol <carol@example.org>\r\nTo: alice@example.test\r\n"
           b"Subject: recreated\r\nMessage-ID: <recreated.1@example.test>\r\n\r\nHello.\r\n")
    ok(c.append(sys.argv[2], None, imaplib.Time2Internaldate(time.time()), msg))
elif cmd == "status":        # status FOLDER: "MESSAGES n UIDNEXT n UIDVALIDITY n"
    print(c.status(sys.argv[2], "(MESSAGES UIDNEXT UIDVALIDITY)")[1][0].decode())
c.logout()
EOF
imapctl() { U=$1 P=$2 python3 "$MA_TMP/imapctl.py" "${@:3}"; }

# --- 5. inbox-drained on a first audit ---------------------------------------------------
dovecot_seed --maildir "$MA_MAILDIR2" --count 40 >/dev/null || tap_bail "seeding bob failed"
imapctl "$MA_USER2" "$MA_PASS2" drain INBOX 4
ok $? "bob's INBOX drained to 4 of 40 messages before any audit"
pw2="$MA_TMP/pass2"
printf '%s\n' "$MA_PASS2" >"$pw2"
chmod 600 "$pw2"
audit drained "$MA_USER2" "$pw2"
block=$(finding inbox-drained)
check_contains "first audit of a drained INBOX: inbox-drained" "$block" "inbox-drained"
check_contains "inbox-drained: at least 36 gone" "$block" "At least 36 messages"
check_contains "inbox-drained: the UID arithmetic" "$block" "holds 4 messages: 36 left INBOX"
check_contains "inbox-drained: still a first audit" "$REPORT" "first-audit"
check_eq "inbox-drained: WARNING, exit 1" 1 "$RC"

# --- baseline for alice --------------------------------------------------------------------
audit base "$MA_USER" "$MA_PASSFILE"
check_eq "alice's first audit: exit 0" 0 "$RC"

# --- 6. pop3-in-use: another POP3 session holds the lock -----------------------------------
ready="$MA_TMP/pop3.ready"
U=$MA_USER P=$MA_PASS python3 - "$ready" <<'EOF' &
import os, poplib, ssl, sys, time
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
p = poplib.POP3_SSL("127.0.0.1", int(os.environ["MA_POP3S_PORT"]), context=ctx)
p.user(os.environ["U"])
p.pass_(os.environ["P"])
open(sys.argv[1], "w").close()
time.sleep(600)
EOF
holder=$!
ma_wait 60 test -e "$ready"
ok $? "a POP3 client holds alice's mailbox"
start=$(date +%s)
audit inuse "$MA_USER" "$MA_PASSFILE" --timeout 30
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
diag "audit with the mailbox locked took $(($(date +%s) - start)) s"
block=$(finding pop3-in-use)
check_contains "locked mailbox: pop3-in-use" "$block" "pop3-in-use"
check_contains "pop3-in-use: the server's words" "$block" "IN-USE"
check_not_contains "locked mailbox: not reported as a POP3 failure" "$REPORT" "pop3-failed"
check_eq "locked mailbox: WARNING, exit 1" 1 "$RC"
check_not_contains "locked mailbox: no destroyed mail" "$REPORT" "mail-destroyed"

# --- 7. pop3-imap-mismatch ------------------------------------------------------------------
# Some providers configure pop3_deleted_flag: a POP3 DELE only sets a keyword
# that hides the message from POP3, IMAP still shows it. fetchmail without
# keep then leaves POP3 and IMAP disagreeing - a real mismatch.
printf 'pop3_deleted_flag = POP3Deleted\n' >>"$MA_DOVECOT_CONF"
dovecot_reload
ok $? "Dovecot reloaded with pop3_deleted_flag"
fmh="$MA_TMP/fetchmail"
mkdir -p -m 700 "$fmh"
cat >"$fmh/rc" <<RC
set no syslog
poll 127.0.0.1 service $MA_POP3S_PORT protocol pop3 auth password timeout 20
  user "$MA_USER" password "$MA_PASS"
  ssl sslcertck sslcertfile "$MA_CA" sslcommonname localhost
  fetchlimit 2
  mda "cat >/dev/null"
RC
chmod 600 "$fmh/rc"
FETCHMAILHOME="$fmh" fetchmail -f "$fmh/rc" --nodetach >"$fmh/log" 2>&1
rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 13 ]
ok $? "fetchmail deleted 2 messages over POP3 (exit $rc)"
audit mismatch "$MA_USER" "$MA_PASSFILE"
block=$(finding pop3-imap-mismatch)
check_contains "POP3-hidden mail: pop3-imap-mismatch" "$block" "pop3-imap-mismatch"
check_contains "mismatch: the counts" "$block" "POP3 shows 28 messages but the IMAP INBOX holds 30"
check_not_contains "mismatch: the hidden messages are not destroyed" "$REPORT" "mail-destroyed"
check_eq "mismatch: WARNING, exit 1" 1 "$RC"

# --- 8. uidvalidity-reset ------------------------------------------------------------------
before=$(imapctl "$MA_USER" "$MA_PASS" status Archive)
# Dovecot derives a new UIDVALIDITY from the clock's second: go on once it
# has moved past the old folder's.
t0=$(date +%s)
later_than() { [ "$(date +%s)" -gt "$1" ]; }
ma_wait 10 later_than "$t0"
imapctl "$MA_USER" "$MA_PASS" recreate Archive
ok $? "Archive deleted and created again with one message"
after=$(imapctl "$MA_USER" "$MA_PASS" status Archive)
diag "Archive before: $before" "Archive after:  $after"
audit reset "$MA_USER" "$MA_PASSFILE"
block=$(finding uidvalidity-reset)
check_contains "recreated folder: uidvalidity-reset" "$block" "uidvalidity-reset"
check_contains "uidvalidity-reset: names Archive" "$block" "Evidence: Archive"
# Archive was deleted and created again: its 8 old messages are gone (an
# IMAP program or a person, not a POP3 device).
check_contains "the old Archive messages: destroyed" "$(finding folder-mail-destroyed)" "8 messages were deleted"

tap_done
