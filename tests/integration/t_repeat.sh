#!/bin/bash
# Repeat audits: an unchanged mailbox is audited from STATUS and the history
# alone (no UID FETCH, no POP3 UIDL listing: only the first and last UIDL are
# asked), and the shortcut never hides a change:
# a deleted message, a deletion hidden by an arrival, a \Deleted flag set
# without expunge. The test changes the mailbox; mailaudit never does.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/report.sh"
need dovecot python3 sqlite3 || tap_bail "missing dependency"
[ -x "${MAILAUDIT:-}" ] || tap_bail "mailaudit not built (MAILAUDIT=${MAILAUDIT:-})"

dovecot_start || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
STATE="$MA_TMP/state"
A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
	--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 20)

# audit NAME: audit with a trace into $MA_TMP/NAME.{txt,trace}; sets REPORT, RC, TRACE.
audit() {
	"$MAILAUDIT" --report "$MA_TMP/$1.txt" --trace "$MA_TMP/$1.trace" --state-dir "$STATE" \
		"${A[@]}" 2>"$MA_TMP/$1.err"
	RC=$?
	REPORT=$(cat "$MA_TMP/$1.txt" 2>/dev/null)
	TRACE=$(cat "$MA_TMP/$1.trace" 2>/dev/null)
}
# count CMD: commands the client sent that start with CMD (after an IMAP tag).
# Both IMAP sessions count (imap2 is the second, see core/audit/look.c).
count() { printf '%s\n' "$TRACE" | grep -cE -- "^(imap2? C: [^ ]+|pop3 C:) $1"; }

cat >"$MA_TMP/imapctl.py" <<'EOF'
import email.header, imaplib, os, ssl, sys, time
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx)
c.login(os.environ["MA_USER"], os.environ["MA_PASS"])
def subject(u):
    typ, d = c.uid("FETCH", u, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    raw = d[0][1].decode().split(":", 1)[1]
    s = str(email.header.make_header(email.header.decode_header(" ".join(raw.split()))))
    return " ".join(s.split())[:25]
def nth(folder, i):
    c.select(folder)
    return c.uid("SEARCH", "ALL")[1][0].split()[i]
cmd, folder = sys.argv[1], sys.argv[2]
if cmd == "delete":          # delete FOLDER I: expunge the I-th message, print its subject
    u = nth(folder, int(sys.argv[3]))
    print(subject(u))
    c.uid("STORE", u, "+FLAGS.SILENT", "(\\Deleted)")
    typ, d = c.uid("EXPUNGE", u)
    assert typ == "OK", d
elif cmd == "flag":          # flag FOLDER I: \Deleted on the I-th message, no expunge
    u = nth(folder, int(sys.argv[3]))
    typ, d = c.uid("STORE", u, "+FLAGS.SILENT", "(\\Deleted)")
    assert typ == "OK", d
elif cmd == "append":        # append FOLDER: one new message
    msg = ("From: x@example.test\r\nSubject: arrived later\r\nMessage-ID: <late-%d@example.test>\r\n"
           "\r\nbody\r\n" % time.time_ns()).encode()
    typ, d = c.append(folder, None, imaplib.Time2Internaldate(time.time()), msg)
    assert typ == "OK", d
c.logout()
EOF
export MA_IMAPS_PORT MA_CA MA_USER MA_PASS
imapctl() { python3 "$MA_TMP/imapctl.py" "$@"; }

# Warm Dovecot's indexes (see t_audit_history.sh), then the first audit.
"$MAILAUDIT" --check --no-history "${A[@]}" >/dev/null 2>&1
audit first
check_eq "first audit: exit 0" 0 "$RC"
check "first audit fetched messages" test "$(count '(UID )?FETCH')" -gt 0
# Nothing known yet: every message is new, so no UID SEARCH splits known
# from new; the messages are fetched by sequence number.
check_eq "first audit: no UID SEARCH ALL" 0 "$(count 'UID SEARCH ALL')"

# --- an unchanged mailbox ------------------------------------------------------------
audit same
check_eq "unchanged repeat: exit 0" 0 "$RC"
check_eq "unchanged repeat: no FETCH" 0 "$(count '(UID )?FETCH')"
check_eq "unchanged repeat: no UID SEARCH ALL" 0 "$(count 'UID SEARCH ALL')"
# Dovecot offers CONDSTORE: EXAMINE's HIGHESTMODSEQ tells an unchanged
# folder without STATUS, and INBOX is opened before LIST (look.c,
# inbox_first: Dovecot opens INBOX faster in a session that has not listed).
check_eq "unchanged repeat: no STATUS (the modseq tells)" 0 "$(count 'STATUS')"
first_two=$(printf '%s\n' "$TRACE" | grep -E '^imap C: [^ ]+ (EXAMINE|LIST) ' | head -n 2 |
	awk '{ print $4, $5 }' | tr '\n' ' ')
check_eq "unchanged repeat: INBOX examined before LIST" 'EXAMINE INBOX LIST "" ' "$first_two"
# Every folder is known by its modseq: a second IMAP session would only log
# in and find nothing to do (look.c, some_to_read).
check_eq "unchanged repeat: no second IMAP session" 0 "$(printf '%s\n' "$TRACE" | grep -c '^imap2 ')"
# The same modseq means the same flags: the \Deleted counts on record hold.
check_eq "unchanged repeat: no UID SEARCH DELETED" 0 "$(count 'UID SEARCH DELETED')"
# Round trips a real network makes dear: Dovecot's greeting and login reply
# carry its capabilities (imap.c), and over TLS USER and PASS go in one
# write (pop3.c, login_pipelined).
check_eq "unchanged repeat: no IMAP CAPABILITY asked" 0 "$(count 'CAPABILITY')"
check_eq "unchanged repeat: POP3 USER and PASS in one write" \
	"pop3 C: [$((${#MA_USER} + ${#MA_PASS} + 14)) bytes of credentials redacted]" \
	"$(printf '%s\n' "$TRACE" | grep '^pop3 C: \[')"
check_eq "unchanged repeat: no POP3 UIDL listing" 0 "$(count 'UIDL$')"
check_eq "unchanged repeat: UIDL 1 and UIDL n asked" 2 "$(count 'UIDL [0-9]+$')"
check_eq "unchanged repeat: no POP3 LIST" 0 "$(count 'LIST$')"
check_not_contains "unchanged repeat: nothing destroyed" "$REPORT" "mail-destroyed"
check_not_contains "unchanged repeat: nothing moved" "$REPORT" "mail-moved"
check_not_contains "unchanged repeat: no POP3/IMAP mismatch" "$REPORT" "POP3 shows"
check_contains "unchanged repeat: the INBOX count is reported" "$REPORT" "INBOX"
# Each folder's count and size on record are taken over by the same modseq,
# not counted again from the rows (look.c): they must be what the first
# audit counted from every message.
states() { # AUDITS_BACK: the folder states of the last audit but AUDITS_BACK
	sqlite3 "$STATE/history.db" "SELECT name, messages, unseen, deleted, total_size FROM folder_state
		WHERE audit_id = (SELECT max(id) FROM audit) - $1 ORDER BY name"
}
check "unchanged repeat: every folder on record" test "$(states 0 | wc -l)" -ge 3
check_eq "unchanged repeat: counts and sizes as the first audit's" "$(states 1)" "$(states 0)"
audit same2
check_eq "second unchanged repeat: no FETCH" 0 "$(count '(UID )?FETCH')"
check_not_contains "second unchanged repeat: nothing destroyed" "$REPORT" "mail-destroyed"

# --- one message deleted in a folder ------------------------------------------------
subj=$(imapctl delete Archive 3)
ok $? "IMAP client expunged one message in Archive"
audit deleted
# A loss outside INBOX: an IMAP program or a person, not a POP3 device.
check_eq "after the delete: exit status 2" 2 "$RC"
check_contains "after the delete: folder-mail-destroyed" "$(finding folder-mail-destroyed)" "folder-mail-destroyed"
check_eq "after the delete: not blamed on POP3 (no mail-destroyed)" "" "$(finding mail-destroyed)"
check_eq "after the delete: exactly one message named" 1 "$(evidence_count folder-mail-destroyed)"
check_contains "after the delete: it is the deleted one" "$(finding folder-mail-destroyed)" "$subj"
check_contains "after the delete: last seen in Archive" "$(finding folder-mail-destroyed)" "(Archive, last seen"
"$MAILAUDIT" --ack --state-dir "$STATE" "${A[@]}" >/dev/null 2>&1
ok $? "--ack acknowledges it"
audit after_delete
check_not_contains "the audit after: the loss is not reported twice" "$REPORT" "folder-mail-destroyed"
check_eq "the audit after: unchanged again, no FETCH" 0 "$(count '(UID )?FETCH')"

# --- a deletion and an arrival in INBOX: same MESSAGES, new UIDNEXT ----------------
subj=$(imapctl delete INBOX 5) && imapctl append INBOX
ok $? "IMAP client expunged one INBOX message and appended another"
audit swapped
check_eq "after delete+append: exactly one message named" 1 "$(evidence_count mail-destroyed)"
check_contains "after delete+append: it is the deleted one" "$(finding mail-destroyed)" "$subj"
check "after delete+append: INBOX fetched again" test "$(count '(UID )?FETCH')" -gt 0
# The POP3 UIDLs are asked again, by `UIDL n` probes (t_incremental.sh).
check "after delete+append: POP3 UIDLs asked again" test "$(count 'UIDL( [0-9]+)?$')" -gt 2
check_eq "after delete+append: known messages fetched for flags only" 0 \
	"$(printf '%s\n' "$TRACE" | grep -E '^imap2? C: [^ ]+ UID FETCH 1:' | grep -c 'RFC822.SIZE')"
check_eq "after delete+append: one IMAP session (INBOX read by its modseq)" 0 \
	"$(printf '%s\n' "$TRACE" | grep -c '^imap2 ')"

# --- a \Deleted flag without expunge: UIDs unchanged, the flag is still seen ----------
imapctl flag Sent 0
ok $? "IMAP client flagged one Sent message \\Deleted"
audit flagged
check_eq "after the flag: no FETCH" 0 "$(count '(UID )?FETCH')"
check_contains "after the flag: pending expunge reported" "$REPORT" "marked as deleted"
check_not_contains "after the flag: nothing destroyed" "$REPORT" "mail-destroyed"
audit flagged_again
# Sent's rows keep the flags they were written with (and their modseq):
# it alone is searched again; INBOX and Archive are told by their modseq.
check_eq "the audit after the flag: one UID SEARCH DELETED (Sent's)" 1 "$(count 'UID SEARCH DELETED')"
check_contains "the audit after the flag: the pending expunge is still reported" "$REPORT" "marked as deleted"

tap_done
