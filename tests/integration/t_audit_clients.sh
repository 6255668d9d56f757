#!/bin/bash
# Whole audits (the real mailaudit binary) against a private Dovecot while
# real mail clients use the mailbox: fetchmail and getmail6 downloading and
# deleting over POP3, fetchmail with `keep`, and an IMAP client moving mail to
# Trash and emptying it. The test changes the mailbox; mailaudit never does.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/report.sh"
need dovecot python3 fetchmail getmail || tap_bail "missing dependency"
[ -x "${MAILAUDIT:-}" ] || tap_bail "mailaudit not built (MAILAUDIT=${MAILAUDIT:-})"

dovecot_start || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
STATE="$MA_TMP/state"
A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
	--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10)

# audit NAME: full audit into $MA_TMP/NAME.txt; sets REPORT and RC. A copy of
# the history as it was before is kept in $STATE.NAME so that --check can be
# asked the same question afterwards (a second audit would compare with this
# one and no longer see the loss).
audit() {
	rm -rf "$STATE.$1"
	[ -d "$STATE" ] && cp -a "$STATE" "$STATE.$1"
	"$MAILAUDIT" --report "$MA_TMP/$1.txt" --state-dir "$STATE" "${A[@]}" 2>"$MA_TMP/$1.err"
	RC=$?
	REPORT=$(cat "$MA_TMP/$1.txt" 2>/dev/null)
}
# check_again NAME: the --check line for the same comparison as audit NAME.
check_again() {
	CHECK=$("$MAILAUDIT" --check --state-dir "$STATE.$1" "${A[@]}" 2>&1)
	CRC=$?
}
verdict() { printf '%s\n' "$REPORT" | sed -n 's/^Verdict: \([A-Z]*\).*/\1/p'; }

# snapshot_subjects: "base-name<TAB>subject" of every INBOX message, taken
# before a client deletes the files. The subject is decoded, unfolded and cut
# to 25 characters (the report shortens long subjects).
snapshot_subjects() {
	python3 - "$MA_MAILDIR" >"$MA_TMP/subjects.before" <<'EOF'
import email, email.header, os, sys
for sub in ("cur", "new"):
    d = os.path.join(sys.argv[1], sub)
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            m = email.message_from_binary_file(f)
        s = str(email.header.make_header(email.header.decode_header(m["Subject"] or "")))
        print("%s\t%s" % (name.split(":2,")[0], " ".join(s.split())[:25]))
EOF
}
# gone_subjects BEFORE_NAMES: subjects of the messages no longer in INBOX.
gone_subjects() {
	local n
	for n in $(comm -23 <(printf '%s\n' $1) <(inbox_names)); do
		grep -F "$n	" "$MA_TMP/subjects.before" | cut -f2
	done
}
# Maildir base names (without the :2,flags part) of INBOX.
inbox_names() { ls "$MA_MAILDIR/cur" "$MA_MAILDIR/new" 2>/dev/null | grep -v ':$' | grep . | sed 's/:2,.*//' | sort; }

# check_destroyed LABEL EXPECTED_SUBJECTS(file): the finding names exactly them.
check_destroyed() {
	local label=$1 subjfile=$2 n block s missing=""
	n=$(grep -c . "$subjfile")
	block=$(finding mail-destroyed)
	check_contains "$label: mail-destroyed reported" "$block" "mail-destroyed"
	check_contains "$label: title counts $n destroyed" "$block" "$n messages were deleted from the server"
	check_eq "$label: exactly $n messages listed" "$n" "$(evidence_count mail-destroyed)"
	while IFS= read -r s; do
		case "$block" in *"$s"*) ;; *) missing="$missing [$s]" ;; esac
	done <"$subjfile"
	check_eq "$label: every deleted message named by its subject" "" "$missing"
}

# --- 1. fetchmail without keep ------------------------------------------------
fetchmail_run() { # keep|nokeep
	local fmh="$MA_TMP/fetchmail.$1" keep=""
	[ "$1" = keep ] && keep="keep"
	mkdir -p -m 700 "$fmh"
	# sslcommonname: the test certificate names localhost (and the IP, which
	# fetchmail does not check).
	cat >"$fmh/rc" <<RC
set no syslog
poll 127.0.0.1 service $MA_POP3S_PORT protocol pop3 auth password timeout 20
  user "$MA_USER" password "$MA_PASS"
  ssl sslcertck sslcertfile "$MA_CA" sslcommonname localhost
  fetchlimit 5 $keep
  mda "cat >/dev/null"
RC
	chmod 600 "$fmh/rc"
	FETCHMAILHOME="$fmh" fetchmail -f "$fmh/rc" --nodetach >"$fmh/log" 2>&1
	local rc=$?
	# 13: fetchlimit reached, which is what we asked for.
	[ "$rc" -eq 0 ] || [ "$rc" -eq 13 ] || { cat "$fmh/log" >&2; return 1; }
}

audit first
check_eq "first audit: exit status not CRITICAL" 0 "$RC"
check_contains "first audit: first-audit finding" "$REPORT" "INFO  first-audit"
check_eq "first audit: verdict OK" OK "$(verdict)"

before=$(inbox_names)
snapshot_subjects
fetchmail_run nokeep
ok $? "fetchmail (no keep) downloaded 5 messages"
gone_subjects "$before" >"$MA_TMP/fetchmail.subjects"
check_eq "fetchmail deleted 5 messages from the server" 5 "$(grep -c . "$MA_TMP/fetchmail.subjects")"

audit fetchmail
check_eq "after fetchmail: exit status 2" 2 "$RC"
check_eq "after fetchmail: verdict CRITICAL" CRITICAL "$(verdict)"
check_destroyed "after fetchmail" "$MA_TMP/fetchmail.subjects"
check_not_contains "after fetchmail: nothing counted as moved" "$REPORT" "mail-moved"
check_again fetchmail
check_eq "after fetchmail: --check exits 2" 2 "$CRC"
case "$CHECK" in
"MAILAUDIT CRITICAL"*) pass "after fetchmail: --check line starts MAILAUDIT CRITICAL" ;;
*) fail "after fetchmail: --check line starts MAILAUDIT CRITICAL" "$CHECK" ;;
esac
check_contains "after fetchmail: --check perfdata destroyed=5" "$CHECK" "destroyed=5;"

# The loss stays on record until acknowledged: the next audit (and a
# monitoring check retried before it notifies) is still CRITICAL, naming it
# as found earlier, not as new.
audit quiet
check_not_contains "the audit after: the loss is not reported as new" "$REPORT" "mail-destroyed"
check_contains "the audit after: the 5 losses are still on record" \
	"$(finding losses-unacknowledged)" "losses-unacknowledged"
check_eq "the audit after: still CRITICAL until acknowledged" 2 "$RC"
CHECK=$("$MAILAUDIT" --check --state-dir "$STATE" "${A[@]}" 2>&1)
check_eq "a retried --check: still CRITICAL" 2 "$?"
check_contains "a retried --check: perfdata unacknowledged=5" "$CHECK" "unacknowledged=5;"
ack() { # LABEL N: --ack acknowledges N lost messages
	local out
	out=$("$MAILAUDIT" --ack --state-dir "$STATE" "${A[@]}" 2>&1)
	check_contains "$1: --ack acknowledges $2 lost messages" "$out" "Acknowledged $2 lost message"
}
ack "after fetchmail" 5
audit acked
check_eq "after --ack: exit status 0" 0 "$RC"
check_not_contains "after --ack: nothing on record" "$REPORT" "losses-unacknowledged"

# --- 2. getmail6 with delete = true ------------------------------------------------
gm="$MA_TMP/getmail"
mkdir -p -m 700 "$gm"
cat >"$gm/getmailrc" <<RC
[retriever]
type = SimplePOP3SSLRetriever
server = 127.0.0.1
port = $MA_POP3S_PORT
username = $MA_USER
password = $MA_PASS
ca_certs = $MA_CA
[destination]
type = MDA_external
path = /bin/true
allow_root_commands = true
[options]
delete = true
read_all = true
max_messages_per_session = 3
RC
chmod 600 "$gm/getmailrc"
before=$(inbox_names)
snapshot_subjects
getmail --getmaildir "$gm" --rcfile getmailrc >"$gm/log" 2>&1
ok $? "getmail6 (delete = true) ran"
gone_subjects "$before" >"$MA_TMP/getmail.subjects"
check_eq "getmail6 deleted 3 messages" 3 "$(grep -c . "$MA_TMP/getmail.subjects")"
audit getmail
check_eq "after getmail6: exit status 2" 2 "$RC"
check_eq "after getmail6: verdict CRITICAL" CRITICAL "$(verdict)"
check_destroyed "after getmail6" "$MA_TMP/getmail.subjects"
ack "after getmail6" 3

# --- 3. fetchmail with keep ---------------------------------------------------------
before=$(inbox_names)
fetchmail_run keep
ok $? "fetchmail (keep) downloaded"
check_eq "fetchmail keep: the server still has every message" "$before" "$(inbox_names)"
audit keep
check_not_contains "after fetchmail keep: nothing destroyed" "$REPORT" "mail-destroyed"
check_eq "after fetchmail keep: exit status 0" 0 "$RC"

# --- 4. an IMAP client moves to Trash, then empties Trash -------------------------------
cat >"$MA_TMP/imapctl.py" <<'EOF'
import email.header, imaplib, os, ssl, sys
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx)
c.login(os.environ["MA_USER"], os.environ["MA_PASS"])
def subjects(uids):
    for u in uids:
        typ, d = c.uid("FETCH", u, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        raw = d[0][1].decode().split(":", 1)[1]
        s = str(email.header.make_header(email.header.decode_header(" ".join(raw.split()))))
        print(" ".join(s.split())[:25])
def uidnext(folder):
    typ, d = c.status(folder, "(UIDNEXT)")
    return int(d[0].decode().split("UIDNEXT ")[1].rstrip(")"))
cmd = sys.argv[1]
if cmd == "move":            # move FROM TO N: the first N messages
    c.select(sys.argv[2])
    uids = c.uid("SEARCH", "ALL")[1][0].split()[: int(sys.argv[4])]
    subjects(uids)
    typ, d = c.uid("MOVE", b",".join(uids), sys.argv[3])
    assert typ == "OK", d
elif cmd == "uidnext":
    print(uidnext(sys.argv[2]))
elif cmd == "expunge-from":  # expunge-from FOLDER UID: every message from UID on
    c.select(sys.argv[2])
    c.uid("STORE", sys.argv[3] + ":*", "+FLAGS.SILENT", "(\\Deleted)")
    typ, d = c.expunge()
    assert typ == "OK", d
c.logout()
EOF
export MA_IMAPS_PORT MA_CA MA_USER MA_PASS
imapctl() { python3 "$MA_TMP/imapctl.py" "$@"; }
trash_next=$(imapctl uidnext Trash)
imapctl move INBOX Trash 2 >"$MA_TMP/moved.subjects"
ok $? "IMAP client moved 2 messages to Trash"
audit moved
block=$(finding mail-moved)
check_contains "after the move: mail-moved" "$block" "mail-moved"
check_contains "after the move: INBOX -> Trash" "$block" "Trash"
check_not_contains "after the move: nothing destroyed" "$REPORT" "mail-destroyed"
[ "$RC" -ne 2 ]
ok $? "after the move: not CRITICAL (exit $RC)"
imapctl expunge-from Trash "$trash_next"
ok $? "IMAP client emptied the moved messages from Trash"
audit emptied
# Emptying Trash deletes on purpose: a warning that names what went, never
# the POP3 device's mail-destroyed.
check_eq "after emptying Trash: exit status 1 (WARNING)" 1 "$RC"
check_eq "after emptying Trash: not mail-destroyed" "" "$(finding mail-destroyed)"
block=$(finding trash-emptied)
check_contains "after emptying Trash: trash-emptied" "$block" "Trash emptied: 2 messages deleted for good"
missing=""
while IFS= read -r s; do
	case "$block" in *"$s"*) ;; *) missing="$missing [$s]" ;; esac
done <"$MA_TMP/moved.subjects"
check_eq "after emptying Trash: both messages named" "" "$missing"

tap_done
