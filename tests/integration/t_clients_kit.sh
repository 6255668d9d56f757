#!/bin/bash
# The client kit of tests/lib/clients.sh against a private Dovecot: every
# function does to the server what its comment claims, shown by IMAP STATUS,
# the Message-IDs left in the folder and alice's Maildir on disk. No mailaudit
# here: this proves the tools the loss-ledger tests stand on.
#   deliver                 N messages arrive (dovecot-lda), fixed Message-ID/Date
#   client_fetchmail_delete downloads LIMIT messages and deletes exactly those
#   client_fetchmail_keep   downloads everything, deletes nothing, marks \Seen
#   client_getmail_delete   deletes everything it downloads
#   client_mpop_delete      mpop's defaults delete everything downloaded (also as bob)
#   client_mbsync_expunge   N local deletions become N server expunges (+ CLOSE
#                           also expunges what another client had flagged)
#   imap_*                  move, flag, expunge, empty, create, delete folders
# and: TLS is verified (a chain from an unrelated CA and a certificate for
# another name are refused by every client, nothing deleted), config files are
# 0600, no password is printed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/clients.sh"
need dovecot doveadm python3 flock fetchmail getmail mpop mbsync || tap_bail "missing dependency"
_cl_lda >/dev/null || { fail "missing dependency: dovecot-lda (run make deps)"; tap_bail "missing dependency"; }

dovecot_start || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
ERR=$MA_TMP/kit.stderr # every function's stderr: checked for the password at the end
: >"$ERR"

# lines TEXT: number of non-empty lines
lines() { printf '%s\n' "$1" | grep -c .; }
# minus A B: lines of A not in B, in A's order
minus() { grep -vxF -f <(printf '%s\n' "$2" | grep .) <(printf '%s\n' "$1") || true; }
# first N TEXT
first() { printf '%s\n' "$2" | head -n "$1"; }
# msgfile ID: alice's message file holding Message-ID ID (any folder)
msgfile() { grep -rlF -- "Message-ID: $1" "$MA_MAILDIR" 2>/dev/null | grep -v '/dovecot' | head -1; }

# --- deliver -------------------------------------------------------------------------
out=$(deliver 3 2>>"$ERR")
ok $? "deliver 3: exit 0"
check_eq "deliver 3: the three Message-IDs" \
	"$(printf '<deliver.%d@example.test>\n' 1 2 3)" "$out"
check_eq "deliver 3: INBOX holds 30 + 3" 33 "$(imap_count INBOX 2>>"$ERR")"
check_eq "deliver 3: the three are the last of INBOX" "$out" "$(imap_message_ids INBOX 2>>"$ERR" | tail -n 3)"
check_eq "deliver 3: they arrived in new/ (as an MTA delivers)" 3 \
	"$(find "$MA_MAILDIR/new" -type f | wc -l)"
f=$(msgfile '<deliver.2@example.test>')
check_contains "deliver: message 2 has the fixed Date (base + 2 min)" "$(cat "$f" 2>/dev/null)" \
	"Date: Sun, 01 Mar 2026 00:02:00 +0000"
check_contains "deliver: message 2 has its Subject" "$(cat "$f" 2>/dev/null)" "Subject: Delivered message 2"
out=$(deliver 2 Archive 2>>"$ERR")
check_eq "deliver 2 Archive: numbering goes on" \
	"$(printf '<deliver.%d@example.test>\n' 4 5)" "$out"
check_eq "deliver 2 Archive: Archive holds 8 + 2" 10 "$(imap_count Archive 2>>"$ERR")"
out=$(MA_DELIVER_BASE="2030-01-01 12:00 UTC" deliver 1 "Odeslaná pošta" 2>>"$ERR")
check_eq "deliver to a UTF-8 folder" "<deliver.6@example.test>" "$out"
check_contains "deliver: MA_DELIVER_BASE moves the Date" "$(cat "$(msgfile '<deliver.6@example.test>')" 2>/dev/null)" \
	"Date: Tue, 01 Jan 2030 12:06:00 +0000"
deliver 1 NoSuchFolder >/dev/null 2>"$MA_TMP/nofolder.err"
rc=$?
cat "$MA_TMP/nofolder.err" >>"$ERR"
[ $rc -ne 0 ]
ok $? "deliver to a missing folder fails (exit $rc)"
check_contains "deliver to a missing folder: says why" "$(cat "$MA_TMP/nofolder.err")" "no folder 'NoSuchFolder'"
check_eq "deliver to a missing folder: nothing lands in INBOX" 33 "$(maildir_count "$MA_MAILDIR")"

# --- fetchmail without keep, fetchlimit 5 ----------------------------------------------
before=$(imap_message_ids INBOX 2>>"$ERR")
out=$(client_fetchmail_delete 5 2>>"$ERR")
ok $? "client_fetchmail_delete 5: exit 0"
check_eq "fetchmail: downloaded the first 5 messages of INBOX" "$(first 5 "$before")" "$out"
check_eq "fetchmail: exactly the downloaded ones are gone" "$(minus "$before" "$out")" \
	"$(imap_message_ids INBOX 2>>"$ERR")"
check_eq "fetchmail: INBOX 33 -> 28 on disk" 28 "$(maildir_count "$MA_MAILDIR")"

# --- fetchmail with keep ---------------------------------------------------------------
before=$(imap_message_ids INBOX 2>>"$ERR")
st=$(imap_status INBOX 2>>"$ERR")
check_contains "imap_status: MESSAGES 28" "$st" "MESSAGES 28 "
unseen_before=${st##*UNSEEN }
[ "$unseen_before" -gt 0 ]
ok $? "before fetchmail keep: $unseen_before unseen messages"
out=$(client_fetchmail_keep 2>>"$ERR")
ok $? "client_fetchmail_keep: exit 0"
check_eq "fetchmail keep: downloaded all 28" "$before" "$out"
check_eq "fetchmail keep: nothing deleted" "$before" "$(imap_message_ids INBOX 2>>"$ERR")"
check_contains "fetchmail keep: RETR left every message \\Seen" "$(imap_status INBOX 2>>"$ERR")" "UNSEEN 0"

# --- getmail6 with delete = true ------------------------------------------------------------
before=$(imap_message_ids INBOX 2>>"$ERR")
out=$(client_getmail_delete 2>>"$ERR")
ok $? "client_getmail_delete: exit 0"
check_eq "getmail6: downloaded all 28" "$before" "$out"
check_eq "getmail6: INBOX empty (on disk)" 0 "$(maildir_count "$MA_MAILDIR")"

# --- mpop with its defaults, as bob (USER PASS) then as alice ----------------------------------
delivered=$(deliver 4 INBOX "$MA_USER2" 2>>"$ERR")
check_eq "deliver 4 INBOX bob: 4 messages for bob" 4 "$(imap_count INBOX "$MA_USER2" "$MA_PASS2" 2>>"$ERR")"
out=$(client_mpop_delete "$MA_USER2" "$MA_PASS2" 2>>"$ERR")
ok $? "client_mpop_delete USER PASS (bob): exit 0"
check_eq "mpop (bob): downloaded his 4" "$delivered" "$out"
check_eq "mpop (bob, default keep off): his INBOX is empty" 0 "$(maildir_count "$MA_MAILDIR2")"
delivered=$(deliver 4 2>>"$ERR")
check_eq "4 new messages for alice" 4 "$(maildir_count "$MA_MAILDIR")"
out=$(client_mpop_delete 2>>"$ERR")
ok $? "client_mpop_delete: exit 0"
check_eq "mpop: downloaded the 4 delivered messages" "$delivered" "$out"
check_eq "mpop (default keep off): INBOX empty (on disk)" 0 "$(maildir_count "$MA_MAILDIR")"
out=$(client_mpop_delete 2>>"$ERR")
ok $? "client_mpop_delete on an empty INBOX: exit 0"
check_eq "client_mpop_delete on an empty INBOX: prints nothing" "" "$out"

# --- mbsync, Expunge Both ------------------------------------------------------------------
before=$(imap_message_ids Archive 2>>"$ERR")
out=$(client_mbsync_expunge Archive 3 2>>"$ERR")
ok $? "client_mbsync_expunge Archive 3: exit 0"
check_eq "mbsync: deleted the 3 oldest" "$(first 3 "$before")" "$out"
check_eq "mbsync: exactly those are gone from the server" "$(minus "$before" "$out")" \
	"$(imap_message_ids Archive 2>>"$ERR")"
check_eq "mbsync: Archive 10 -> 7 on disk" 7 "$(maildir_count "$MA_MAILDIR/.Archive")"
# Another client flags the oldest message of a folder \Deleted and does not
# expunge; mbsync deletes one message of its own, and its CLOSE takes both.
before=$(imap_message_ids "Odeslaná pošta" 2>>"$ERR")
flagged=$(imap_flag_deleted 1 "Odeslaná pošta" 2>>"$ERR")
check_eq "imap_flag_deleted 1: the oldest" "$(first 1 "$before")" "$flagged"
check_eq "imap_flag_deleted: still there (not expunged)" 4 "$(imap_count "Odeslaná pošta" 2>>"$ERR")"
out=$(client_mbsync_expunge "Odeslaná pošta" 1 2>>"$ERR")
ok $? "client_mbsync_expunge on a UTF-8 folder: exit 0"
check_eq "mbsync: its oldest local message is the second (a \\Deleted one is not pulled)" \
	"$(printf '%s\n' "$before" | sed -n 2p)" "$out"
check_eq "mbsync: its CLOSE also expunged the message flagged by the other client" \
	"$(minus "$before" "$(printf '%s\n%s\n' "$flagged" "$out")")" "$(imap_message_ids "Odeslaná pošta" 2>>"$ERR")"
client_mbsync_expunge Archive 8 >/dev/null 2>"$MA_TMP/toomany.err"
rc=$?
cat "$MA_TMP/toomany.err" >>"$ERR"
[ $rc -ne 0 ]
ok $? "client_mbsync_expunge asking for more than the folder holds fails"
check_eq "... and deletes nothing" 7 "$(maildir_count "$MA_MAILDIR/.Archive")"

# --- IMAP helpers ---------------------------------------------------------------------------
delivered=$(deliver 3 2>>"$ERR")
trash_before=$(imap_message_ids Trash 2>>"$ERR")
out=$(imap_move 2 INBOX Trash 2>>"$ERR")
ok $? "imap_move 2 INBOX Trash: exit 0"
check_eq "imap_move: the first two" "$(first 2 "$delivered")" "$out"
check_eq "imap_move: INBOX 3 -> 1" 1 "$(maildir_count "$MA_MAILDIR")"
check_eq "imap_move: Trash gained them" "$(printf '%s\n%s\n' "$trash_before" "$out" | grep .)" \
	"$(imap_message_ids Trash 2>>"$ERR")"
flagged=$(imap_flag_deleted 1 INBOX 2>>"$ERR")
out=$(imap_expunge INBOX 2>>"$ERR")
check_eq "imap_flag_deleted + imap_expunge: that one is expunged" "$flagged" "$out"
check_eq "imap_expunge: INBOX empty" 0 "$(maildir_count "$MA_MAILDIR")"
out=$(imap_expunge_all Trash 2>>"$ERR")
ok $? "imap_expunge_all Trash: exit 0"
check_eq "imap_expunge_all: names all 7 it removed" 7 "$(lines "$out")"
check_eq "imap_expunge_all: Trash empty (on disk)" 0 "$(maildir_count "$MA_MAILDIR/.Trash")"
imap_create_folder "Projekt & Co" 2>>"$ERR"
ok $? "imap_create_folder with & and a space"
deliver 2 "Projekt & Co" >/dev/null 2>>"$ERR"
check_eq "the new folder receives mail" 2 "$(imap_count "Projekt & Co" 2>>"$ERR")"
imap_delete_folder "Projekt & Co" 2>>"$ERR"
ok $? "imap_delete_folder: exit 0"
imap_count "Projekt & Co" >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "imap_delete_folder: the folder is gone"

# --- private files ------------------------------------------------------------------------
check_eq "MA_TMP/clients is 0700" 700 "$(stat -c %a "$MA_TMP/clients")"
bad=$(find "$MA_TMP/clients" -type f \( -name rc -o -name getmailrc -o -name mpoprc -o -name mbsyncrc \
	-o -name pass \) ! -perm 600)
check_eq "every client config and password file is 0600" "" "$bad"
check_eq "a config file for each run: fetchmail 2, getmail 1, mpop 3, mbsync 3" 9 \
	"$(find "$MA_TMP/clients" -type f \( -name rc -o -name getmailrc -o -name mpoprc -o -name mbsyncrc \) | wc -l)"

# --- TLS is verified: a chain from another CA, a certificate for another name --------------------
# The same server, but the clients trust only an unrelated CA.
deliver 2 >/dev/null 2>>"$ERR"
for c in "client_fetchmail_delete" "client_fetchmail_keep" "client_getmail_delete" "client_mpop_delete" \
	"client_mbsync_expunge INBOX 1" "imap_count INBOX"; do
	MA_CA=$MA_CERTS/untrusted-ca.crt $c >/dev/null 2>"$MA_TMP/tls.err"
	rc=$?
	cat "$MA_TMP/tls.err" >>"$ERR"
	[ $rc -ne 0 ]
	ok $? "CA file of an unrelated CA: ${c%% *} refuses (exit $rc)"
done
check_eq "CA file of an unrelated CA: nothing was deleted" 2 "$(maildir_count "$MA_MAILDIR")"
check_eq "MA_CA is back to the test CA" "$MA_CERTS/ca.crt" "$MA_CA"
first_tmp=$MA_TMP
dovecot_start --cert wrongname || tap_bail "second dovecot did not start"
deliver 2 >/dev/null 2>>"$ERR" || fail "deliver to the wrongname instance"
for c in "client_fetchmail_delete" "client_fetchmail_keep" "client_getmail_delete" "client_mpop_delete" \
	"client_mbsync_expunge INBOX 1" "imap_count INBOX"; do
	$c >/dev/null 2>"$MA_TMP/tls.err"
	rc=$?
	cat "$MA_TMP/tls.err" >>"$ERR"
	[ $rc -ne 0 ]
	ok $? "certificate for other.example: ${c%% *} refuses (exit $rc)"
done
check_eq "certificate for other.example: nothing was deleted" 2 "$(maildir_count "$MA_MAILDIR")"
dovecot_stop
dovecot_use "$first_tmp"

# --- no password in anything the functions printed ------------------------------------------
grep -qF -- "$MA_PASS" "$ERR"
[ $? -ne 0 ]
ok $? "no password on stderr ($(grep -c . "$ERR") lines of diagnostics checked)"
grep -qF -- "$MA_PASS2" "$ERR"
[ $? -ne 0 ]
ok $? "no password of bob on stderr"

tap_done
