#!/bin/bash
# The loss ledger (issue 14) against a private Dovecot, scenario by scenario
# as the issue measured them ("What was measured" 1-7; 8 and 9, LOGIN-DELAY
# and [ALERT], are in t_hostile.sh):
#   1. a loss is never forgotten: every output stays CRITICAL until --ack;
#      --lost, --lost --since, --ack
#   2. mail that came and went between two audits (mpop, deleting by default)
#   3. exact, one-to-one matching (two scanner mails with one Message-ID; two
#      without one, same INTERNALDATE and size)
#   4. two servers on one host, one login, one state directory
#   5. a UIDVALIDITY reset with every message still there
#   6. advice by place: Trash emptied, a folder deleted, mbsync Expunge Both
#      in Sent, Drafts churn, getmail6 in INBOX
#   7. the first audit of a drained INBOX is never OK
# The mailbox changes only through real clients (fetchmail, getmail6, mpop,
# mbsync), Dovecot's LDA, doveadm, and IMAP as a user's program would use it
# (the imap_* helpers of clients.sh and a small imaplib helper below for what
# they cannot do: APPEND, and deleting one message by its subject).
# mailaudit never changes it: every scenario compares a snapshot of the
# maildirs before and after each mailaudit run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/clients.sh"
. "$here/../lib/report.sh"
need dovecot doveadm python3 fetchmail getmail mpop mbsync flock sha256sum || tap_bail "missing dependency"
[ -x "${MAILAUDIT:-}" ] || tap_bail "mailaudit not built (MAILAUDIT=${MAILAUDIT:-})"

dovecot_start || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
SRV1=$MA_TMP
W=$MA_TMP/ledger
mkdir -p "$W"
PW2=$W/pass2
(umask 077 && printf '%s\n' "$MA_PASS2" >"$PW2")

# --- helpers ------------------------------------------------------------------

# account USER PASSFILE STATE: the account (of the current Dovecot) and the
# history directory the following runs use.
account() {
	A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
		--user "$1" --password-file "$2" --ca-file "$MA_CA" --timeout 10)
	STATE=$3
}

# snap: the maildirs of the current Dovecot as maildir_snapshot prints them,
# except that new/NAME is written as cur/NAME:2, : a POP3 login (ours too)
# makes Dovecot move a message from new/ to cur/ with no flag, which changes
# neither the message nor a flag.
snap() {
	maildir_snapshot | sed -E 's#/new/([^/]+)$#/cur/\1:2,#' | LC_ALL=C sort
}

# run NAME ARGS...: mailaudit with the account and STATE (RUN_STATE if set);
# stdout in OUT (and REPORT), stderr in ERR, exit status in RC. Records
# whether the maildirs changed during the run and any sanitizer report.
RO_CHANGED=""
SAN_REPORTS=""
run() {
	local name=$1 before after
	shift
	before=$(snap)
	[ -n "$before" ] || RO_CHANGED="$RO_CHANGED $name(no-snapshot)"
	"$MAILAUDIT" "${A[@]}" --state-dir "${RUN_STATE:-$STATE}" "$@" >"$W/$name.out" 2>"$W/$name.err" </dev/null
	RC=$?
	after=$(snap)
	if [ "$before" != "$after" ]; then
		RO_CHANGED="$RO_CHANGED $name"
		diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") >"$W/$name.rodiff"
	fi
	OUT=$(cat "$W/$name.out")
	ERR=$(cat "$W/$name.err")
	REPORT=$OUT
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/$name.err" && SAN_REPORTS="$SAN_REPORTS $name"
	return 0
}
# report_and_check NAME: the audit as --report - on STATE, and the same
# comparison as --check on a copy of STATE taken before (a second audit
# would compare with the first one); CHECK and CRC hold the --check line.
report_and_check() {
	rm -rf "$STATE.copy"
	[ -d "$STATE" ] && cp -a "$STATE" "$STATE.copy"
	RUN_STATE=$STATE.copy run "$1.check" --check
	CHECK=$OUT
	CRC=$RC
	run "$1" --report -
}
# readonly_check LABEL: no mailaudit run since the last call changed the maildirs.
readonly_check() {
	local n d=""
	for n in $RO_CHANGED; do d="$d$(head -5 "$W/$n.rodiff" 2>/dev/null)"$'\n'; done
	if [ -z "$RO_CHANGED" ]; then
		pass "$1: mailaudit changed no message, file or flag (maildir snapshots before and after each run)"
	else
		fail "$1: mailaudit changed no message, file or flag (maildir snapshots before and after each run)" \
			"changed during:$RO_CHANGED" "$d"
	fi
	RO_CHANGED=""
}
verdict() { printf '%s\n' "$REPORT" | sed -n 's/^Verdict: \([A-Z]*\).*/\1/p'; }
headline() { printf '%s\n' "$REPORT" | sed -n '/^Verdict:/,/^$/p' | tr -s ' \n' '  '; }
# section TITLE: that section of the report (up to the next heading).
section() {
	printf '%s\n' "$REPORT" | awk -v t="$1" '
		!p && $0 == t { p = 1; getline; next }
		p && /^-+$/ { stop = 1; exit }
		p { if (have) print prev; prev = $0; have = 1 }
		END { if (p && have && !stop) print prev }'
}
check_starts() { # name haystack prefix
	case "$2" in
	"$3"*) pass "$1" ;;
	*) fail "$1" "expected to start with: $3" "actual: $2" ;;
	esac
}
# each_named LABEL BLOCK FILE: every subject in FILE (at least one) appears in BLOCK.
each_named() {
	local s missing=""
	grep -q . "$3" 2>/dev/null || { fail "$1" "no subjects to look for in $3"; return; }
	while IFS= read -r s; do
		[ -n "$s" ] || continue
		case "$2" in *"$s"*) ;; *) missing="$missing [$s]" ;; esac
	done <"$3"
	check_eq "$1" "" "$missing"
}
fmt_utc() { date -u -d "@$1" "+%Y-%m-%d %H:%M UTC"; }

# IMAP as a user's program, for what the imap_* helpers do not offer.
#   subjects FOLDER            "Message-ID<TAB>subject" of every message (EXAMINE:
#                              read-only), the subject decoded, unfolded and cut to
#                              25 characters (reports shorten long subjects)
#   append FOLDER SUBJECT [MESSAGE-ID]   APPEND a small message (no Message-ID
#                              header when none is given); Date and INTERNALDATE
#                              fixed, so two appends of subjects of one length are
#                              the same size
#   delete-subject FOLDER SUBJECT        flag the one message with that subject
#                              \Deleted and UID EXPUNGE it (a user deleting it)
cat >"$W/imapx.py" <<'EOF'
import email.header, email.parser, imaplib, os, ssl, sys
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx, timeout=20)
def ok(r, what):
    if r[0] != "OK":
        sys.stderr.write("%s: %s %r\n" % (what, r[0], r[1]))
        sys.exit(1)
    return r[1]
ok(c.login(os.environ["CL_USER"], os.environ["CL_PASS"]), "LOGIN")
def q(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "subjects":
    ok(c.select(q(args[0]), readonly=True), "EXAMINE")
    uids = ok(c.uid("SEARCH", "ALL"), "SEARCH")[0].split()
    hp = email.parser.BytesHeaderParser()
    for u in uids:
        d = ok(c.uid("FETCH", u, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT)])"), "FETCH")
        h = hp.parsebytes(d[0][1])
        s = str(email.header.make_header(email.header.decode_header(h["Subject"] or "")))
        print("%s\t%s" % (" ".join(str(h["Message-ID"] or "").split()), " ".join(s.split())[:25]))
elif cmd == "append":
    folder, subject = args[0], args[1]
    mid = "Message-ID: %s\r\n" % args[2] if len(args) > 2 else ""
    msg = ("From: Office Scanner <scanner@localhost>\r\nTo: %s\r\n"
           "Date: Mon, 02 Mar 2026 08:00:00 +0000\r\nSubject: %s\r\n%s"
           "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
           "Scanned document.\r\n" % (os.environ["CL_USER"], subject, mid)).encode()
    ok(c.append(q(folder), None, imaplib.Time2Internaldate(1772438400), msg), "APPEND")
elif cmd == "delete-subject":
    ok(c.select(q(args[0])), "SELECT")
    uids = ok(c.uid("SEARCH", "HEADER", "Subject", q(args[1])), "SEARCH")[0].split()
    if len(uids) != 1:
        sys.stderr.write("%d messages with subject %r\n" % (len(uids), args[1]))
        sys.exit(1)
    ok(c.uid("STORE", uids[0], "+FLAGS.SILENT", "(\\Deleted)"), "UID STORE")
    ok(c.uid("EXPUNGE", uids[0]), "UID EXPUNGE")
else:
    sys.exit(2)
c.logout()
EOF
imapx() { # USER PASS CMD ARGS...
	CL_USER=$1 CL_PASS=$2 MA_CA=$MA_CA MA_IMAPS_PORT=$MA_IMAPS_PORT "$_CL_PY" "$W/imapx.py" "${@:3}"
}
# subjects_of IDS_FILE TABLE_FILE: the subjects of those Message-IDs.
subjects_of() {
	local id
	while IFS= read -r id; do
		[ -n "$id" ] && grep -F "$id	" "$2" | head -1 | cut -f2
	done <"$1"
}
# uidnext FOLDER [USER PASS]
uidnext() { imap_status "$@" | sed -n 's/.*UIDNEXT \([0-9]*\).*/\1/p'; }

# --- 4. two servers on one host -------------------------------------------------
# First, while alice's mailbox on the first server is as seeded. A second
# private Dovecot (its own ports and mail, the same login alice) and ONE
# state directory: each server keeps its own history.
dovecot_start || tap_bail "the second dovecot did not start"
SRV2=$MA_TMP
deliver 3 >/dev/null
ok $? "second server: 3 messages delivered to alice's INBOX there"
S4=$W/s4
for round in 1 2; do
	for srv in 1 2; do
		if [ $srv = 1 ]; then dovecot_use "$SRV1"; else dovecot_use "$SRV2"; fi
		account "$MA_USER" "$MA_PASSFILE" "$S4"
		run "s4.$round.$srv" --report -
		check_eq "two servers, round $round, server $srv: exit 0, not CRITICAL" 0 "$RC"
		check_eq "two servers, round $round, server $srv: verdict OK" OK "$(verdict)"
		check_eq "two servers, round $round, server $srv: no mail-destroyed" "" "$(finding mail-destroyed)"
		check_eq "two servers, round $round, server $srv: no losses on record" "" \
			"$(finding losses-unacknowledged)"
		if [ $round = 1 ]; then
			check_contains "two servers, round 1, server $srv: a first audit of its own" "$REPORT" "INFO  first-audit"
		else
			check_not_contains "two servers, round 2, server $srv: compared with its own earlier audit" \
				"$REPORT" "first-audit"
		fi
	done
done
for srv in 1 2; do
	if [ $srv = 1 ]; then dovecot_use "$SRV1"; else dovecot_use "$SRV2"; fi
	account "$MA_USER" "$MA_PASSFILE" "$S4"
	run "s4.lost.$srv" --lost
	check_eq "two servers: --lost for server $srv exits 0" 0 "$RC"
	check_eq "two servers: --lost for server $srv lists nothing" "" "$OUT"
done
readonly_check "two servers"
dovecot_use "$SRV1"

# --- 1. never forgotten -----------------------------------------------------------
# --now pins each audit's time (T0 + k minutes), so that "found by the earlier
# audit" can be checked by its date; the certificate is valid from now on.
T0=$(date +%s)
S1=$W/s1
account "$MA_USER" "$MA_PASSFILE" "$S1"
run s1.base --check --now "$T0"
check_eq "never forgotten: baseline audit exit 0" 0 "$RC"
imapx "$MA_USER" "$MA_PASS" subjects INBOX >"$W/s1.table"
client_fetchmail_delete 7 >"$W/s1.ids"
ok $? "never forgotten: fetchmail (no keep, fetchlimit 7) ran"
check_eq "never forgotten: fetchmail downloaded 7" 7 "$(grep -c . "$W/s1.ids")"
check_eq "never forgotten: INBOX holds 23 after fetchmail" 23 "$(imap_count INBOX)"
subjects_of "$W/s1.ids" "$W/s1.table" >"$W/s1.subjects"
T1=$((T0 + 60))
FOUND="found $(fmt_utc "$T1") in INBOX"
run s1.check1 --check --now "$T1"
check_eq "never forgotten: --check after fetchmail exits 2" 2 "$RC"
check_starts "never forgotten: --check says CRITICAL" "$OUT" "MAILAUDIT CRITICAL"
check_contains "never forgotten: --check perfdata destroyed=7" "$OUT" "destroyed=7;"

# on_record LABEL: this report still says CRITICAL and lists the 7 as found
# by the audit at T1.
on_record() {
	local block
	check_eq "$1: exit 2" 2 "$RC"
	check_eq "$1: verdict CRITICAL" CRITICAL "$(verdict)"
	block=$(finding losses-unacknowledged)
	check_contains "$1: losses-unacknowledged" "$block" "CRITICAL losses-unacknowledged"
	check_contains "$1: 7 lost messages on record" "$block" "7 lost messages found by earlier audits"
	check_eq "$1: the 7 listed" 7 "$(evidence_count losses-unacknowledged)"
	check_eq "$1: each found by the audit of $(fmt_utc "$T1")" 7 "$(printf '%s\n' "$block" | grep -o "$FOUND" | wc -l)"
	each_named "$1: each lost message named by its subject" "$block" "$W/s1.subjects"
	check_eq "$1: not reported as a new loss" "" "$(finding mail-destroyed)"
	check_contains "$1: the ledger section names the finding audit" "$(section 'Lost mail on record')" \
		"Found by the audit of $(fmt_utc "$T1"):"
}
run s1.check2 --check --now $((T0 + 120))
check_eq "never forgotten: a second --check exits 2" 2 "$RC"
check_starts "never forgotten: a second --check says CRITICAL" "$OUT" "MAILAUDIT CRITICAL"
check_contains "never forgotten: a second --check perfdata unacknowledged=7" "$OUT" "unacknowledged=7;"
check_contains "never forgotten: a second --check perfdata destroyed=0 (nothing new)" "$OUT" "destroyed=0;"
run s1.report1 --report - --now $((T0 + 180))
on_record "never forgotten: --report - after two checks"
bad=$W/no-such-dir/report.txt
run s1.badreport --report "$bad" --now $((T0 + 240))
check_eq "never forgotten: --report to an unwritable path exits 3" 3 "$RC"
check_contains "never forgotten: stderr says the report could not be written" "$ERR" "cannot write the report to $bad"
[ -e "$bad" ]
ok $((! $?)) "never forgotten: no report file appeared"
run s1.report2 --report - --now $((T0 + 300))
on_record "never forgotten: --report - after a failed report"
run s1.probe --probe --report - --now $((T0 + 360))
on_record "never forgotten: --probe --report -"

run s1.lost --lost
check_eq "--lost: exit 0" 0 "$RC"
check_eq "--lost: one line per lost message" 7 "$(printf '%s\n' "$OUT" | grep -c .)"
check_eq "--lost: each line starts with when it was found and the folder" 7 \
	"$(printf '%s\n' "$OUT" | grep -c "^$(fmt_utc "$T1")  INBOX  ")"
each_named "--lost: each lost message named by its subject" "$OUT" "$W/s1.subjects"
check_not_contains "--lost: none acknowledged yet" "$OUT" "acknowledged"
since_past=$(date -d '-2 days' +%F)
since_future=$(date -d '+2 days' +%F)
run s1.lost.past --lost --since "$since_past"
check_eq "--lost --since $since_past: all 7" 7 "$(printf '%s\n' "$OUT" | grep -c .)"
run s1.lost.future --lost --since "$since_future"
check_eq "--lost --since $since_future (after today): exit 0" 0 "$RC"
check_eq "--lost --since $since_future (after today): lists nothing" "" "$OUT"
for bad_since in 2026-13-45 yesterday 20261201; do
	run s1.lost.bad --lost --since "$bad_since"
	check_eq "--lost --since $bad_since: exit 3" 3 "$RC"
	check_contains "--lost --since $bad_since: says what it wants" "$ERR" "--since wants a date as YYYY-MM-DD"
	check_eq "--lost --since $bad_since: lists nothing" "" "$OUT"
done

run s1.ack --ack
check_eq "--ack: exit 0" 0 "$RC"
check_contains "--ack: says it acknowledged 7" "$OUT" "Acknowledged 7 lost messages"
run s1.after --report - --now $((T0 + 420))
check_eq "after --ack: exit 0" 0 "$RC"
check_eq "after --ack: verdict OK" OK "$(verdict)"
check_eq "after --ack: nothing on record" "" "$(finding losses-unacknowledged)"
run s1.lost2 --lost
check_eq "after --ack: --lost still lists the 7" 7 "$(printf '%s\n' "$OUT" | grep -c .)"
check_eq "after --ack: each marked acknowledged" 7 "$(printf '%s\n' "$OUT" | grep -c 'acknowledged')"
# newest first: a later loss comes before the acknowledged ones
client_fetchmail_delete 1 >"$W/s1.ids2"
check_eq "never forgotten: fetchmail deleted 1 more" 1 "$(grep -c . "$W/s1.ids2")"
run s1.check3 --check --now $((T0 + 480))
check_contains "a new loss after --ack: CRITICAL, destroyed=1" "$OUT" "destroyed=1;"
check_contains "a new loss after --ack: unacknowledged=1 (the 7 stay acknowledged)" "$OUT" "unacknowledged=1;"
run s1.lost3 --lost
check_eq "--lost newest first: 8 lines" 8 "$(printf '%s\n' "$OUT" | grep -c .)"
check_starts "--lost newest first: the new loss first, not acknowledged" "$(printf '%s\n' "$OUT" | head -1)" \
	"$(fmt_utc $((T0 + 480)))  INBOX  "
check_not_contains "--lost newest first: the new loss is not acknowledged" "$(printf '%s\n' "$OUT" | head -1)" "acknowledged"
check_eq "--lost newest first: then the 7 acknowledged" 7 "$(printf '%s\n' "$OUT" | tail -n +2 | grep -c "^$(fmt_utc "$T1") .*acknowledged")"
run s1.ack2 --ack
check_contains "--ack: acknowledges only the new one" "$OUT" "Acknowledged 1 lost message"
readonly_check "never forgotten"

# --- 3. exact matching -----------------------------------------------------------
# Two different scanner mails with one Message-ID; two without a Message-ID
# with the same Date, INTERNALDATE and size but different subjects.
imapx "$MA_USER" "$MA_PASS" append INBOX "Scan 0001 invoice" "<scanner@localhost>" &&
	imapx "$MA_USER" "$MA_PASS" append INBOX "Scan 0002 letter" "<scanner@localhost>" &&
	imapx "$MA_USER" "$MA_PASS" append INBOX "Scan no-ID A" &&
	imapx "$MA_USER" "$MA_PASS" append INBOX "Scan no-ID B"
ok $? "exact matching: 4 scanner mails appended to INBOX"
S3=$W/s3
account "$MA_USER" "$MA_PASSFILE" "$S3"
run s3.base --check
check_eq "exact matching: baseline audit exit 0" 0 "$RC"
imapx "$MA_USER" "$MA_PASS" delete-subject INBOX "Scan 0001 invoice" &&
	imapx "$MA_USER" "$MA_PASS" delete-subject INBOX "Scan no-ID B"
ok $? "exact matching: an IMAP client deleted one of each pair"
report_and_check s3
check_eq "exact matching: exit 2" 2 "$RC"
block=$(finding mail-destroyed)
check_contains "exact matching: 2 destroyed" "$block" "2 messages were deleted from the server"
check_eq "exact matching: 2 listed" 2 "$(evidence_count mail-destroyed)"
check_contains "exact matching: the deleted scanner mail named" "$block" "Scan 0001 invoice"
check_contains "exact matching: the deleted mail without Message-ID named" "$block" "Scan no-ID B"
check_not_contains "exact matching: its twin by Message-ID is not" "$block" "Scan 0002 letter"
check_not_contains "exact matching: its twin by INTERNALDATE and size is not" "$block" "Scan no-ID A"
check_eq "exact matching: no mail-moved" "" "$(finding mail-moved)"
check_not_contains "exact matching: nothing moved from INBOX to INBOX" "$REPORT" "INBOX to INBOX"
check_contains "exact matching: --check perfdata destroyed=2" "$CHECK" "destroyed=2;"
run s3.ack --ack
readonly_check "exact matching"

# --- 5. UIDVALIDITY reset, every message still there ----------------------------------
S5=$W/s5
account "$MA_USER" "$MA_PASSFILE" "$S5"
run s5.base --check
check_eq "uidvalidity reset: baseline audit exit 0" 0 "$RC"
st=$(imap_status Archive)
old_uv=$(printf '%s\n' "$st" | sed -n 's/.*UIDVALIDITY \([0-9]*\).*/\1/p')
new_uv=$((old_uv + 1000))
out=$(doveadm -c "$MA_DOVECOT_CONF" mailbox update -u "$MA_USER" --uid-validity "$new_uv" Archive 2>&1)
ok $? "uidvalidity reset: doveadm mailbox update --uid-validity $new_uv Archive"
[ -n "$out" ] && diag "doveadm: $out"
st2=$(imap_status Archive)
diag "Archive before: $st"
diag "Archive after:  $st2"
check_contains "uidvalidity reset: the server shows the new UIDVALIDITY" "$st2" "UIDVALIDITY $new_uv "
check_contains "uidvalidity reset: all 8 messages still there" "$st2" "MESSAGES 8 "
report_and_check s5
block=$(finding uidvalidity-reset)
check_contains "uidvalidity reset: uidvalidity-reset" "$block" "uidvalidity-reset"
check_contains "uidvalidity reset: all 8 still there, renumbered" "$block" \
	"Archive: all 8 messages are still there (renumbered by the server)"
check_eq "uidvalidity reset: no mail-moved" "" "$(finding mail-moved)"
check_not_contains "uidvalidity reset: nothing moved from Archive to Archive" "$REPORT" "Archive to Archive"
check_eq "uidvalidity reset: no folder-mail-destroyed" "" "$(finding folder-mail-destroyed)"
check_eq "uidvalidity reset: no mail-destroyed" "" "$(finding mail-destroyed)"
check_eq "uidvalidity reset: no mail-came-and-went" "" "$(finding mail-came-and-went)"
check_eq "uidvalidity reset: WARNING (exit 1), not CRITICAL" 1 "$RC"
check_contains "uidvalidity reset: --check perfdata destroyed=0" "$CHECK" "destroyed=0;"
check_contains "uidvalidity reset: --check perfdata unseen_deleted=0" "$CHECK" "unseen_deleted=0;"
check_eq "uidvalidity reset: --check not CRITICAL (exit 1)" 1 "$CRC"
readonly_check "uidvalidity reset"

# --- 6. advice by place -----------------------------------------------------------------
S6=$W/s6
account "$MA_USER" "$MA_PASSFILE" "$S6"
# Drafts is declared \Drafts but not created by the private Dovecot.
imap_status Drafts >/dev/null 2>&1 || imap_create_folder Drafts
ok $? "place: Drafts exists"
imapx "$MA_USER" "$MA_PASS" append Drafts "Draft of a reply v1" "<draft.1@example.test>"
ok $? "place: a draft saved"
run s6.base --check
check_eq "place: baseline audit exit 0" 0 "$RC"
run s6.ack0 --ack

# (a) Trash emptied by a user over IMAP
imapx "$MA_USER" "$MA_PASS" subjects Trash >"$W/s6a.table"
imap_expunge_all Trash >"$W/s6a.ids"
check_eq "Trash emptied: 5 messages expunged by an IMAP client" 5 "$(grep -c . "$W/s6a.ids")"
subjects_of "$W/s6a.ids" "$W/s6a.table" >"$W/s6a.subjects"
report_and_check s6a
check_eq "Trash emptied: WARNING, exit 1" 1 "$RC"
check_eq "Trash emptied: verdict WARNING" WARNING "$(verdict)"
block=$(finding trash-emptied)
check_contains "Trash emptied: trash-emptied" "$block" "WARNING trash-emptied Trash emptied: 5 messages deleted for good"
check_eq "Trash emptied: the 5 listed" 5 "$(evidence_count trash-emptied)"
each_named "Trash emptied: each named by its subject" "$block" "$W/s6a.subjects"
check_eq "Trash emptied: not mail-destroyed" "" "$(finding mail-destroyed)"
check_eq "Trash emptied: not folder-mail-destroyed" "" "$(finding folder-mail-destroyed)"
check_eq "Trash emptied: --check WARNING (exit 1)" 1 "$CRC"
check_contains "Trash emptied: --check perfdata destroyed=0 (not critical)" "$CHECK" "destroyed=0;"
run s6a.again --report -
check_eq "Trash emptied: the next audit is OK (Trash losses do not hold the verdict)" 0 "$RC"
run s6a.ack --ack

# (b) a folder with 8 messages deleted
imapx "$MA_USER" "$MA_PASS" subjects Archive | cut -f2 >"$W/s6b.subjects"
check_eq "folder deleted: Archive holds 8" 8 "$(grep -c . "$W/s6b.subjects")"
imap_delete_folder Archive
ok $? "folder deleted: an IMAP client deleted Archive"
report_and_check s6b
check_eq "folder deleted: CRITICAL, exit 2" 2 "$RC"
block=$(finding folder-deleted)
check_contains "folder deleted: folder-deleted names Archive and the count" "$block" \
	"CRITICAL folder-deleted Folder Archive was deleted with 8 messages"
check_eq "folder deleted: the 8 listed" 8 "$(evidence_count folder-deleted)"
each_named "folder deleted: each named by its subject" "$block" "$W/s6b.subjects"
check_eq "folder deleted: not mail-destroyed (no POP3 blame)" "" "$(finding mail-destroyed)"
check_contains "folder deleted: --check CRITICAL" "$CHECK" "MAILAUDIT CRITICAL"
check_contains "folder deleted: --check perfdata destroyed=8" "$CHECK" "destroyed=8;"
run s6b.ack --ack
check_contains "folder deleted: --ack acknowledges 8" "$OUT" "Acknowledged 8 lost messages"

# (c) mbsync with Expunge Both deletes 2 in Sent
imapx "$MA_USER" "$MA_PASS" subjects Sent >"$W/s6c.table"
client_mbsync_expunge Sent 2 >"$W/s6c.ids"
ok $? "mbsync Expunge Both: ran"
check_eq "mbsync Expunge Both: deleted 2" 2 "$(grep -c . "$W/s6c.ids")"
check_eq "mbsync Expunge Both: Sent holds 8" 8 "$(imap_count Sent)"
subjects_of "$W/s6c.ids" "$W/s6c.table" >"$W/s6c.subjects"
report_and_check s6c
check_eq "mbsync Expunge Both: CRITICAL, exit 2" 2 "$RC"
block=$(finding folder-mail-destroyed)
check_contains "mbsync Expunge Both: folder-mail-destroyed in Sent" "$block" \
	"CRITICAL folder-mail-destroyed 2 messages were deleted from Sent"
check_eq "mbsync Expunge Both: the 2 listed" 2 "$(evidence_count folder-mail-destroyed)"
each_named "mbsync Expunge Both: each named by its subject" "$block" "$W/s6c.subjects"
check_contains "mbsync Expunge Both: IMAP advice (mbsync Expunge)" "$block" "Expunge None"
check_not_contains "mbsync Expunge Both: no POP3 advice (Leave messages on server)" "$block" "Leave messages on server"
check_not_contains "mbsync Expunge Both: no POP3 advice (fetchmail keep)" "$block" "fetchmail"
check_eq "mbsync Expunge Both: not mail-destroyed" "" "$(finding mail-destroyed)"
check_contains "mbsync Expunge Both: --check perfdata destroyed=2" "$CHECK" "destroyed=2;"
run s6c.ack --ack

# (d) Drafts churn: a client autosaving appends a new draft and expunges the
# old one, twice (Drafts' UIDNEXT grows by 2, one new draft present).
imapx "$MA_USER" "$MA_PASS" append Drafts "Draft of a reply v2" "<draft.2@example.test>" &&
	imapx "$MA_USER" "$MA_PASS" delete-subject Drafts "Draft of a reply v1" &&
	imapx "$MA_USER" "$MA_PASS" append Drafts "Draft of a reply v3" "<draft.3@example.test>" &&
	imapx "$MA_USER" "$MA_PASS" delete-subject Drafts "Draft of a reply v2"
ok $? "Drafts churn: two autosaves"
report_and_check s6d
check_eq "Drafts churn: exit 0" 0 "$RC"
check_eq "Drafts churn: verdict OK" OK "$(verdict)"
check_contains "Drafts churn: the findings are all-clear" "$(section Findings)" "OK  all-clear"
check_not_contains "Drafts churn: no finding mentions Drafts" "$(section Findings)" "Drafts"
check_eq "Drafts churn: no mail-came-and-went" "" "$(finding mail-came-and-went)"
check_eq "Drafts churn: no folder-mail-destroyed" "" "$(finding folder-mail-destroyed)"
check_contains "Drafts churn: --check perfdata unseen_deleted=0" "$CHECK" "unseen_deleted=0;"
run s6d.lost --lost
check_not_contains "Drafts churn: nothing in --lost" "$OUT" "Drafts"

# (e) getmail6 deletes everything in INBOX
n_inbox=$(imap_count INBOX)
client_getmail_delete >/dev/null
ok $? "getmail6 (delete = true): ran"
check_eq "getmail6: INBOX empty afterwards" 0 "$(imap_count INBOX)"
report_and_check s6e
check_eq "getmail6: CRITICAL, exit 2" 2 "$RC"
block=$(finding mail-destroyed)
check_contains "getmail6: mail-destroyed" "$block" "CRITICAL mail-destroyed $n_inbox messages were deleted from the server"
check_eq "getmail6: all $n_inbox listed" "$n_inbox" "$(evidence_count mail-destroyed)"
check_contains "getmail6: POP3 advice" "$block" "Leave messages on server"
check_contains "getmail6: getmail6 fix named" "$block" "getmail6"
check_eq "getmail6: not folder-mail-destroyed" "" "$(finding folder-mail-destroyed)"
check_contains "getmail6: --check perfdata destroyed=$n_inbox" "$CHECK" "destroyed=$n_inbox;"
# Newest first across audits: INBOX, then Sent, Archive, Trash; no Drafts.
run s6.lost --lost
check_eq "place: --lost lists the losses newest first (by folder)" "INBOX Sent Archive Trash" \
	"$(printf '%s\n' "$OUT" | awk -F'  ' '{print $2}' | uniq | paste -sd' ')"
check_eq "place: --lost, only the INBOX losses not acknowledged" "$n_inbox" \
	"$(printf '%s\n' "$OUT" | grep -vc 'acknowledged')"
readonly_check "place"

# --- 7. first audit of a drained INBOX (bob) -----------------------------------------------
imap_create_folder Archive "$MA_USER2" "$MA_PASS2" &&
	imap_create_folder Sent "$MA_USER2" "$MA_PASS2" &&
	deliver 30 INBOX "$MA_USER2" >/dev/null &&
	imap_move 26 INBOX Archive "$MA_USER2" "$MA_PASS2" >/dev/null &&
	imap_flag_deleted 4 INBOX "$MA_USER2" "$MA_PASS2" >/dev/null &&
	imap_expunge INBOX "$MA_USER2" "$MA_PASS2" >/dev/null
ok $? "drained: bob got 30, moved 26 to Archive, expunged 4"
st=$(imap_status INBOX "$MA_USER2" "$MA_PASS2")
check_contains "drained: bob's INBOX is empty at UIDNEXT 31" "$st" "MESSAGES 0 UIDNEXT 31 "
S7=$W/s7
account "$MA_USER2" "$PW2" "$S7"
report_and_check s7
check_contains "drained: a first audit" "$REPORT" "INFO  first-audit"
check_contains "drained: inbox-drained says 4 left the server" "$(finding inbox-drained)" "At least 4 messages"
ok $((RC == 0)) "drained: the verdict is not OK (exit $RC)"
check_not_contains "drained: the headline does not say OK" "$(headline)" "OK"
check_eq "drained: no all-clear" "" "$(finding all-clear)"
check_eq "drained: --check not OK (exit $CRC)" 1 "$((CRC != 0))"
check_not_contains "drained: the --check line does not say OK" "$CHECK" "MAILAUDIT OK"
readonly_check "drained"

# --- 2. mail that came and went (bob, INBOX empty, 26 in Archive) ------------------------------
# mpop with its defaults deletes every message it downloads: with INBOX
# empty before, it takes exactly the 5 new ones and nothing else.
S2=$W/s2
account "$MA_USER2" "$PW2" "$S2"
run s2.base --check
check_eq "came and went: baseline audit not CRITICAL (exit $RC)" 1 "$((RC < 2))"
next_then=$(uidnext INBOX "$MA_USER2" "$MA_PASS2")
deliver 5 INBOX "$MA_USER2" >"$W/s2.delivered"
ok $? "came and went: 5 messages delivered to bob's INBOX"
client_mpop_delete "$MA_USER2" "$MA_PASS2" >"$W/s2.downloaded"
ok $? "came and went: mpop (defaults) ran"
check_eq "came and went: mpop downloaded exactly the 5 new ones" "$(cat "$W/s2.delivered")" "$(cat "$W/s2.downloaded")"
check_eq "came and went: bob's INBOX is empty again" 0 "$(imap_count INBOX "$MA_USER2" "$MA_PASS2")"
check_eq "came and went: bob's Archive untouched" 26 "$(imap_count Archive "$MA_USER2" "$MA_PASS2")"
next_now=$(uidnext INBOX "$MA_USER2" "$MA_PASS2")
check_eq "came and went: INBOX UIDNEXT grew by 5" 5 "$((next_now - next_then))"
report_and_check s2
check_eq "came and went: CRITICAL, exit 2" 2 "$RC"
check_eq "came and went: verdict CRITICAL" CRITICAL "$(verdict)"
block=$(finding mail-came-and-went)
check_contains "came and went: mail-came-and-went with the count" "$block" \
	"CRITICAL mail-came-and-went 5 messages arrived in INBOX since"
check_contains "came and went: says it cannot name them" "$block" "mailaudit never saw them, so it cannot name them"
check_contains "came and went: UIDNEXT then and now" "$block" "UIDNEXT $next_then at the previous audit"
check_contains "came and went: UIDNEXT now" "$block" "$next_now now"
check_contains "came and went: says how sure" "$block" "lower bound"
check_eq "came and went: nothing named as destroyed" "" "$(finding mail-destroyed)"
check_starts "came and went: --check CRITICAL" "$CHECK" "MAILAUDIT CRITICAL"
check_contains "came and went: --check perfdata unseen_deleted=5" "$CHECK" "unseen_deleted=5;"
check_eq "came and went: --check exit 2" 2 "$CRC"
run s2.again --report -
check_eq "came and went: the next audit is still CRITICAL" 2 "$RC"
check_contains "came and went: on record as losses-unacknowledged" "$(finding losses-unacknowledged)" \
	"5 messages that arrived after"
check_eq "came and went: not reported as new again" "" "$(finding mail-came-and-went)"
run s2.lost --lost
check_contains "came and went: --lost shows the count" "$OUT" "INBOX  5 messages arrived after"
run s2.ack --ack
check_contains "came and went: --ack acknowledges 5" "$OUT" "Acknowledged 5 lost messages"

# Again, but 2 of the 5 new ones are moved to Archive by an IMAP client and
# the user's own program stores 2 messages in Sent before mpop takes the
# other 3: moves are not counted, the user's own Sent mail explains nothing.
next_then=$(uidnext INBOX "$MA_USER2" "$MA_PASS2")
deliver 5 INBOX "$MA_USER2" >"$W/s2b.delivered" &&
	imap_move 2 INBOX Archive "$MA_USER2" "$MA_PASS2" >"$W/s2b.moved" &&
	imapx "$MA_USER2" "$MA_PASS2" append Sent "Re: my own reply 1" "<own.1@example.test>" &&
	imapx "$MA_USER2" "$MA_PASS2" append Sent "Re: my own reply 2" "<own.2@example.test>"
ok $? "came and went, with moves: 5 delivered, 2 moved to Archive, 2 of the user's own stored in Sent"
client_mpop_delete "$MA_USER2" "$MA_PASS2" >"$W/s2b.downloaded"
ok $? "came and went, with moves: mpop (defaults) ran"
check_eq "came and went, with moves: mpop took the other 3" "$(tail -n 3 "$W/s2b.delivered")" \
	"$(cat "$W/s2b.downloaded")"
check_eq "came and went, with moves: the 2 moved ones are in Archive" 28 "$(imap_count Archive "$MA_USER2" "$MA_PASS2")"
report_and_check s2b
check_eq "came and went, with moves: CRITICAL, exit 2" 2 "$RC"
block=$(finding mail-came-and-went)
check_contains "came and went, with moves: exactly the 3 deleted counted" "$block" \
	"CRITICAL mail-came-and-went 3 messages arrived in INBOX since"
check_contains "came and went, with moves: 5 arrived, at least 3 in no folder" "$block" \
	"UIDNEXT $next_then at the previous audit"
check_contains "came and went, with moves: the arithmetic" "$block" "5 messages arrived since; at least 3 of them are in no folder now"
check_contains "came and went, with moves: --check perfdata unseen_deleted=3" "$CHECK" "unseen_deleted=3;"
check_eq "came and went, with moves: nothing named as destroyed" "" "$(finding mail-destroyed)"
run s2b.ack --ack
check_contains "came and went, with moves: --ack acknowledges 3" "$OUT" "Acknowledged 3 lost messages"
run s2.after --report -
check_eq "came and went: after --ack nothing on record" "" "$(finding losses-unacknowledged)"
check_eq "came and went: after --ack WARNING only (inbox-drained), exit 1" 1 "$RC"
readonly_check "came and went"

check_eq "no sanitizer report from any mailaudit run" "" "$SAN_REPORTS"
tap_done
