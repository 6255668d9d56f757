#!/bin/bash
# Incremental repeats (RFC 7162): where the server offers QRESYNC, a repeat
# asks only what changed since the HIGHESTMODSEQ the history recorded
# (CHANGEDSINCE, VANISHED (EARLIER)); its result must be the one a full look
# gives. Each round: changes by other clients (new mail delivered, flags set
# and cleared, expunges, a move, a folder whose UIDVALIDITY is reset), then
# two audits, one incremental and one forced full (MA_FORCE_FULL_LOOK=1,
# test-only), each with a state directory of its own (both copies of the
# first audit's), and a comparison of the reports, the ledgers and the
# recorded messages. Each round's audits run a day after the last round's,
# so a "last seen" taken from the wrong audit shows. The traces prove which
# path each audit took. The test changes the mailbox; mailaudit never does.
#
# POP3 likewise: the incremental audit writes its POP3 view as a delta
# against the last one (only new UIDLs, missing ones marked gone), the
# forced full one rewrites every UIDL (the incremental one also takes the
# sizes of known UIDLs from the history and asks `LIST n` only for new
# ones); rounds include deletions by a real
# POP3 client (fetchmail) and the recorded UIDLs must be the same. The
# incremental audit never lists every UIDL: it probes them (`UIDL n`,
# pipelined) against the UIDLs on record, with IMAP's count of what is new
# in INBOX; only where the server's UIDL format changed between audits
# (pop3_uidl_format) must the probe fail and the audit list them all.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/clients.sh"
need dovecot python3 sqlite3 doveadm fetchmail || tap_bail "missing dependency"
[ -x "${MAILAUDIT:-}" ] || tap_bail "mailaudit not built (MAILAUDIT=${MAILAUDIT:-})"

dovecot_start || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
	--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 20)
NOW=1780000000

cat >"$MA_TMP/ctl.py" <<'EOF'
import imaplib, os, ssl, sys, time
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx)
c.login(os.environ["MA_USER"], os.environ["MA_PASS"])
def uids(folder):
    typ, d = c.select(folder)
    assert typ == "OK", d
    return c.uid("SEARCH", "ALL")[1][0].split()
def ok(r):
    assert r[0] == "OK", r
cmd = sys.argv[1]
if cmd == "store":           # store FOLDER I +FLAGS|-FLAGS FLAG
    u = uids(sys.argv[2])[int(sys.argv[3])]
    ok(c.uid("STORE", u, sys.argv[4] + "FLAGS.SILENT", "(" + sys.argv[5] + ")"))
elif cmd == "expunge":       # expunge FOLDER I...
    us = uids(sys.argv[2])
    for i in sys.argv[3:]:
        ok(c.uid("STORE", us[int(i)], "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c.uid("EXPUNGE", b",".join(us[int(i)] for i in sys.argv[3:])))
elif cmd == "move":          # move FROM I TO
    ok(c.uid("MOVE", uids(sys.argv[2])[int(sys.argv[3])], sys.argv[4]))
elif cmd == "create":        # create FOLDER N: a folder with N messages
    ok(c.create(sys.argv[2]))
    for i in range(int(sys.argv[3])):
        msg = ("From: p@example.test\r\nSubject: project %d\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n"
               "Message-ID: <project-%d@example.test>\r\n\r\nbody\r\n" % (i, i)).encode()
        ok(c.append(sys.argv[2], None, imaplib.Time2Internaldate(1772445600 + i), msg))
elif cmd == "reset":         # reset FOLDER: same messages, new UIDVALIDITY
    f = sys.argv[2]
    ok(c.rename(f, f + "-old"))
    ok(c.create(f))
    uids(f + "-old")
    ok(c.uid("COPY", "1:*", f))
    c.close()
    ok(c.delete(f + "-old"))
c.logout()
EOF
export MA_IMAPS_PORT MA_CA MA_USER MA_PASS
ctl() { python3 "$MA_TMP/ctl.py" "$@"; }

# audit NAME STATE [ENV...]: an audit at the pinned time with a trace; sets RC.
audit() {
	local name=$1 state=$2
	shift 2
	env "$@" "$MAILAUDIT" --report "$MA_TMP/$name.txt" --trace "$MA_TMP/$name.trace" --state-dir "$state" \
		--now "$NOW" "${A[@]}" 2>"$MA_TMP/$name.err"
	RC=$?
}
# sent NAME WORD: client commands (both IMAP sessions) holding WORD.
sent() { grep -E '^imap2? C: ' "$MA_TMP/$1.trace" | grep -c -- "$2"; }
# rows STATE: what the history recorded of every message and folder, in an
# order that does not depend on which session read which folder first. Not
# last_audit: an incremental audit leaves the rows of unchanged messages.
rows() {
	sqlite3 "$1/history.db" "SELECT b.folder, b.uidvalidity, m.id & 4294967295, m.size, m.flags,
		m.first_audit, m.gone_audit, m.gone_to, m.renumbered, m.msgid_hash IS NULL
		FROM message m JOIN mailbox b ON m.id >> 32 = b.id ORDER BY 1, 2, 3;
		SELECT audit_id, name, uidvalidity, uidnext, messages, unseen, deleted, total_size, same_as,
		special FROM folder_state ORDER BY 1, 2;
		SELECT found_audit, kind, folder, role, count, size, sender, subject, uidnext_then,
		uidnext_now, acked FROM loss ORDER BY 1, 3, 7, 8, 6;
		SELECT uidl, size, first_audit, gone_audit FROM pop3_message ORDER BY 1;
		SELECT audit_id, stat_count, stat_size, uidl_complete, same_as FROM pop3_view ORDER BY 1;"
}

ctl create Projects 4
ok $? "a folder Projects with 4 messages"
"$MAILAUDIT" --check --no-history "${A[@]}" >/dev/null 2>&1   # warms Dovecot's indexes
STATE=$MA_TMP/state
audit first "$STATE"
SI=$MA_TMP/state-inc SF=$MA_TMP/state-full
cp -a "$STATE" "$SI" && cp -a "$STATE" "$SF"
check_eq "first audit: exit 0" 0 "$RC"
check "first audit: ENABLE QRESYNC sent" test "$(sent first 'ENABLE QRESYNC')" -gt 0
check_eq "first audit: nothing changed since anything yet" 0 "$(sent first CHANGEDSINCE)"
check "the history keeps each folder's HIGHESTMODSEQ" test \
	"$(sqlite3 "$STATE/history.db" 'SELECT count(*) FROM folder_state WHERE modseq > 0')" -ge 5

# pop3_delta STATE: whether the last audit wrote its POP3 view as a delta.
pop3_delta() { sqlite3 "$1/history.db" 'SELECT delta FROM pop3_view ORDER BY audit_id DESC LIMIT 1'; }

# round NAME [same|condstore]: an incremental audit on $SI and a full one on
# $SF, compared. same: nothing to fetch; condstore: the server offers
# CONDSTORE without QRESYNC.
round() {
	local name=$1 inc=$SI full=$SF
	NOW=$((NOW + 86400))
	audit "$name-inc" "$inc"
	local rc_inc=$RC
	audit "$name-full" "$full" MA_FORCE_FULL_LOOK=1
	check_eq "$name: both audits end alike (exit $rc_inc)" "$rc_inc" "$RC"
	check "$name: the reports are identical" cmp "$MA_TMP/$name-inc.txt" "$MA_TMP/$name-full.txt"
	"$MAILAUDIT" --lost --state-dir "$inc" "${A[@]}" >"$MA_TMP/$name-inc.lost" 2>&1
	"$MAILAUDIT" --lost --state-dir "$full" "${A[@]}" >"$MA_TMP/$name-full.lost" 2>&1
	check "$name: the ledgers are identical" cmp "$MA_TMP/$name-inc.lost" "$MA_TMP/$name-full.lost"
	rows "$inc" >"$MA_TMP/$name-inc.rows"
	rows "$full" >"$MA_TMP/$name-full.rows"
	check "$name: the recorded messages, folders and losses are identical" \
		cmp "$MA_TMP/$name-inc.rows" "$MA_TMP/$name-full.rows"
	check_eq "$name: the full audit wrote every POP3 UIDL" 0 "$(pop3_delta "$full")"
	if [ "${2:-}" = relist ] || [ "${3:-}" = relist ]; then
		check_eq "$name: the incremental audit fell back to a full UIDL listing" 1 \
			"$(grep -c '^pop3 C: UIDL$' "$MA_TMP/$name-inc.trace")"
	else
		check_eq "$name: the incremental audit probed the UIDLs, listed none" 0 \
			"$(grep -c '^pop3 C: UIDL$' "$MA_TMP/$name-inc.trace")"
		check "$name: ... with UIDL n" test "$(grep -c '^pop3 C: UIDL [0-9]' "$MA_TMP/$name-inc.trace")" -gt 0
	fi
	# Forced full, an unchanged INBOX still asks the two ends (that is
	# what proves its view the same), and lists if they differ.
	if [ "${2:-}" != same ]; then
		check_eq "$name: the full audit listed every UIDL" 1 "$(grep -c '^pop3 C: UIDL$' "$MA_TMP/$name-full.trace")"
	fi
	if [ "${2:-}" != same ] && [ "${2:-}" != relist ]; then
		check_eq "$name: the full audit probed nothing" 0 "$(grep -c '^pop3 C: UIDL [0-9]' "$MA_TMP/$name-full.trace")"
	fi
	if [ "${2:-}" = same ]; then
		check "$name: the POP3 view is the same as the last one" test \
			"$(sqlite3 "$inc/history.db" 'SELECT same_as FROM pop3_view ORDER BY audit_id DESC LIMIT 1')" -gt 0
	else
		check_eq "$name: the incremental audit wrote the POP3 view as a delta" 1 "$(pop3_delta "$inc")"
		# sizes of known UIDLs from the history: LIST only for new ones
		check_eq "$name: the incremental audit sent no LIST of every message" 0 \
			"$(grep -c '^pop3 C: LIST$' "$MA_TMP/$name-inc.trace")"
		check_eq "$name: the full audit sent LIST" 1 "$(grep -c '^pop3 C: LIST$' "$MA_TMP/$name-full.trace")"
	fi
	check_eq "$name: the full audit used no CONDSTORE/QRESYNC" 0 \
		"$(grep -E '^imap2? C: ' "$MA_TMP/$name-full.trace" | grep -ciE 'CHANGEDSINCE|QRESYNC|CONDSTORE')"
	if [ "${2:-}" = condstore ]; then
		check "$name: the incremental audit asked CHANGEDSINCE (no VANISHED without QRESYNC)" \
			test "$(grep -E '^imap2? C: ' "$MA_TMP/$name-inc.trace" | grep -c 'CHANGEDSINCE [0-9]*)$')" -gt 0
		check_eq "$name: no ENABLE QRESYNC, no VANISHED asked" 0 \
			"$(grep -E '^imap2? C: ' "$MA_TMP/$name-inc.trace" | grep -cE 'QRESYNC|VANISHED')"
		check "$name: expunges found by UID SEARCH ALL" test "$(sent "$name-inc" 'UID SEARCH ALL')" -gt 0
		check_eq "$name: the incremental audit fetched no flags of unchanged messages" 0 \
			"$(sent "$name-inc" 'UID FETCH .* (UID FLAGS)$')"
	elif [ "${2:-}" = same ] || [ "${2:-}" = relist ]; then
		# UIDNEXT and count unchanged: neither fetches (t_repeat.sh)
		check_eq "$name: the incremental audit fetched nothing" 0 "$(sent "$name-inc" FETCH)"
		check_eq "$name: the full audit fetched nothing" 0 "$(sent "$name-full" FETCH)"
	else
		check "$name: the incremental audit asked CHANGEDSINCE ... VANISHED" \
			test "$(grep -E '^imap2? C: ' "$MA_TMP/$name-inc.trace" | grep -c 'CHANGEDSINCE [0-9]* VANISHED')" -gt 0
		check_eq "$name: the incremental audit fetched no flags of unchanged messages" 0 \
			"$(sent "$name-inc" 'UID FETCH .* (UID FLAGS)$')"
		check "$name: the full audit fetched the flags of every known message" \
			test "$(sent "$name-full" 'UID FETCH .* (UID FLAGS)$')" -gt 0
	fi
}

# --- round 1: a bit of everything ------------------------------------------------
deliver 3 INBOX >/dev/null
ok $? "3 new messages delivered to INBOX (dovecot-lda)"
ctl store INBOX 2 + '\Seen' && ctl store INBOX 4 + '\Flagged' && ctl store INBOX 0 - '\Seen' &&
	ctl store Sent 1 + '\Deleted'
ok $? "another client set and cleared flags"
ctl expunge INBOX 6 9 && ctl expunge Archive 1
ok $? "another client expunged 3 messages"
ctl move INBOX 11 Archive
ok $? "another client moved one message to Archive"
ctl reset Projects
ok $? "Projects got a new UIDVALIDITY (same messages)"
round r1
check "r1: a destroyed message is reported" grep -q 'destroyed' "$MA_TMP/r1-inc.txt"
check_eq "r1: POP3 LIST asked for the 3 new messages only" 3 "$(grep -c '^pop3 C: LIST [0-9]' "$MA_TMP/r1-inc.trace")"

# --- round 2: from the modseqs an incremental audit recorded; INBOX rows it left ---
ctl store Archive 0 + '\Seen' && ctl store Projects 1 + '\Answered'
ok $? "flags changed in Archive and the reset Projects"
ctl expunge Trash 0 && ctl expunge INBOX 1 && ctl expunge Projects 2
ok $? "one message expunged from Trash, INBOX and Projects each"
round r2

# --- round 3: nothing but a flag: same UIDNEXT and count --------------------------
ctl store INBOX 3 + '\Deleted'
ok $? "a \\Deleted flag without expunge in INBOX"
round r3 same
check "r3: the pending expunge is reported" grep -q 'marked as deleted' "$MA_TMP/r3-inc.txt"

# --- round 4: after a round found a folder unchanged, its modseq is still
# the one its rows were written at: a flag change then must be seen ---------------
ctl store INBOX 3 - '\Deleted' && deliver 1 INBOX >/dev/null
ok $? "the \\Deleted flag cleared, one message delivered"
round r4

# --- round 4p: a POP3 client deletes what it downloads; the gone UIDLs' rows
# were last written two rounds before (round 3's view was the same, round 4's
# a delta), so "last seen" must come from the views that left them alone ----------
client_fetchmail_delete 2 >/dev/null 2>&1
ok $? "fetchmail downloaded and deleted 2 messages over POP3"
round r4p
check "r4p: the POP3 deletions are reported" grep -qi 'pop3' "$MA_TMP/r4p-inc.txt"
check_eq "r4p: two UIDLs found gone" 2 "$(sqlite3 "$SI/history.db" \
	'SELECT count(*) FROM pop3_message WHERE gone_audit = (SELECT max(audit_id) FROM pop3_view)')"

# --- round 4q: POP3 deletions and new mail together, same STAT count ---------------
client_fetchmail_delete 1 >/dev/null 2>&1 && deliver 1 INBOX >/dev/null
ok $? "fetchmail deleted 1 message, 1 delivered"
round r4q

# --- round 5: a server with CONDSTORE but no QRESYNC (as Gmail) -------------------
# The last list Dovecot sent: the login's reply carries it (mailaudit asks
# CAPABILITY only of servers that do not say).
caps=$(grep -E '^imap S: (\* CAPABILITY |[^ ]+ OK \[CAPABILITY )' "$MA_TMP/first.trace" | tail -n 1 |
	sed -E 's/^imap S: (\* CAPABILITY |[^ ]+ OK \[CAPABILITY )//; s/\].*//')
if printf '%s\n' $caps | grep -qx CONDSTORE && printf '%s\n' $caps | grep -qx QRESYNC; then
	printf 'imap_capability = %s\n' "$(printf '%s\n' $caps | grep -vx QRESYNC | tr '\n' ' ')" \
		>>"$MA_DOVECOT_CONF" && dovecot_reload
	ok $? "Dovecot now offers CONDSTORE without QRESYNC"
else
	ok 1 "Dovecot's capabilities after login name CONDSTORE and QRESYNC: $caps"
fi
deliver 2 INBOX >/dev/null && ctl store INBOX 7 + '\Flagged' && ctl expunge INBOX 2 4 && ctl expunge Archive 0 &&
	ctl store Archive 1 - '\Seen'
ok $? "new mail, flags changed, 3 messages expunged"
round r5 condstore

# --- round 6: deletions at both ends of INBOX and in its middle ---------------------
ctl expunge INBOX 0 1 12 -2 -1
ok $? "another client expunged the first two, the last two and one in the middle"
round r6 condstore
check "r6: the first UIDL was probed" grep -q '^pop3 C: UIDL 1$' "$MA_TMP/r6-inc.trace"

# --- round 7: deletions and arrivals in one gap: the last old messages go,
# new ones take their numbers; and a run of deletions in the middle ----------------
ctl expunge INBOX 5 6 7 -1 && deliver 2 INBOX >/dev/null
ok $? "4 expunged (a run of 3, and the last), 2 delivered"
round r7 condstore

# --- round 8: the server names its messages anew (pop3_uidl_format), and mail
# arrives: the probe must find the UIDLs strangers and list them all --------------
sed -i '/^pop3_uidl_format/d' "$MA_DOVECOT_CONF" &&
	printf 'pop3_uidl_format = %%08Xv%%08Xu\n' >>"$MA_DOVECOT_CONF" && dovecot_reload
ok $? "Dovecot's pop3_uidl_format is now %08Xv%08Xu"
deliver 1 INBOX >/dev/null
ok $? "one message delivered"
round r8 condstore relist
check "r8: every old UIDL is gone, every UIDL is new" test "$(sqlite3 "$SI/history.db" \
	'SELECT count(*) FROM pop3_message WHERE gone_audit IS NULL AND first_audit < (SELECT max(audit_id) FROM pop3_view)')" -eq 0

# --- round 9: the format changes again, nothing else: STAT and INBOX are
# as they were, yet UIDL 1 and UIDL n tell the UIDLs are not -----------------------
sed -i '/^pop3_uidl_format/d' "$MA_DOVECOT_CONF" &&
	printf 'pop3_uidl_format = %%08Xu%%08Xv\n' >>"$MA_DOVECOT_CONF" && dovecot_reload
ok $? "Dovecot's pop3_uidl_format is back to %08Xu%08Xv"
round r9 relist
check "r9: the first and last UIDL were asked" test "$(grep -cE '^pop3 C: UIDL [0-9]+$' "$MA_TMP/r9-inc.trace")" -ge 2

# --- round 10: nothing changed at all: the view is the last one's, after two
# probes -------------------------------------------------------------------------
round r10 same
check_eq "r10: two UIDLs asked, no more" 2 "$(grep -cE '^pop3 C: UIDL [0-9]+$' "$MA_TMP/r10-inc.trace")"

tap_done
