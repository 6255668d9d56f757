#!/bin/bash
# Two IMAP sessions: the second looks at other folders while the first reads
# INBOX, and both share a large folder read for the first time by UID ranges
# (core/audit/look.c). Every message is read exactly once: the counts match the
# server's, a repeat audit finds the history complete (nothing fetched,
# nothing lost), one deletion is named once. A server that allows one
# session per user gets the whole audit through the first.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/report.sh"
need dovecot python3 sha256sum || tap_bail "missing dependency"
[ -x "${MAILAUDIT:-}" ] || tap_bail "mailaudit not built (MAILAUDIT=${MAILAUDIT:-})"

dovecot_start || tap_bail "dovecot did not start"
# INBOX well above the sharing threshold (SHARE_MIN, 10,000) and two small
# folders: the second session has read those long before the first is done
# with INBOX (80,000 messages take ~0.5 s), and then joins it.
N=80000
dovecot_seed --maildir "$MA_MAILDIR" --folder INBOX --seed 1 --count $N >/dev/null &&
	dovecot_seed --maildir "$MA_MAILDIR" --folder Archive --seed 2 --count 300 >/dev/null &&
	dovecot_seed --maildir "$MA_MAILDIR" --folder Sent --seed 3 --count 40 >/dev/null ||
	tap_bail "seeding failed"
STATE="$MA_TMP/state"
A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
	--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 30)

audit() { # NAME: report and trace into $MA_TMP/NAME.*; sets RC, REPORT, TRACE
	"$MAILAUDIT" --report "$MA_TMP/$1.txt" --trace "$MA_TMP/$1.trace" --state-dir "$STATE" \
		"${A[@]}" 2>"$MA_TMP/$1.err"
	RC=$?
	REPORT=$(cat "$MA_TMP/$1.txt" 2>/dev/null)
	TRACE=$(cat "$MA_TMP/$1.trace" 2>/dev/null)
}
fetches() { # SESSION: UID FETCH commands it sent
	printf '%s\n' "$TRACE" | grep -cE "^$1 C: [^ ]+ UID FETCH "
}
col() { # NAME FIELD: a column of NAME's line in the Folders table (2 messages, 3 unseen)
	printf '%s\n' "$REPORT" | awk -v n="$1" -v f="$2" '$1 == n && $2 ~ /^[0-9]+$/ { print $f; exit }'
}

cat >"$MA_TMP/imapctl.py" <<'EOF'
import imaplib, os, ssl, sys
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx)
c.login(os.environ["MA_USER"], os.environ["MA_PASS"])
cmd, folder = sys.argv[1], sys.argv[2]
if cmd == "counts":        # counts FOLDER: "MESSAGES UNSEEN"
    typ, d = c.status(folder, "(MESSAGES UNSEEN)")
    w = d[0].decode().replace("(", " ").replace(")", " ").split()
    print(w[w.index("MESSAGES") + 1], w[w.index("UNSEEN") + 1])
elif cmd == "drop":        # drop FOLDER: delete the folder
    typ, d = c.delete(folder)
    assert typ == "OK", d
elif cmd == "delete":      # delete FOLDER I: expunge the I-th message
    c.select(folder)
    u = c.uid("SEARCH", "ALL")[1][0].split()[int(sys.argv[3])]
    c.uid("STORE", u, "+FLAGS.SILENT", "(\\Deleted)")
    typ, d = c.uid("EXPUNGE", u)
    assert typ == "OK", d
c.logout()
EOF
export MA_IMAPS_PORT MA_CA MA_USER MA_PASS
imapctl() { python3 "$MA_TMP/imapctl.py" "$@"; }

# Warm Dovecot's indexes (see t_audit_history.sh).
"$MAILAUDIT" --check --no-history "${A[@]}" >/dev/null 2>&1
before=$(maildir_snapshot)

# --- the first audit: two sessions, INBOX shared -------------------------------
# Whether the second session is free before the first has handed out the
# last INBOX range is a race (its login against ~0.5 s of INBOX): up to
# three first audits, each with a history of its own, until one joins.
for try in 1 2 3; do
	STATE="$MA_TMP/state.$try"
	audit first
	[ "$(printf '%s\n' "$TRACE" | grep -cE '^imap2 C: [^ ]+ EXAMINE INBOX')" = 1 ] && break
done
diag "first audits until the second session joined INBOX: $try"
check_eq "first audit: exit 0" 0 "$RC"
check "the first session fetched by UID ranges" test "$(fetches imap)" -gt 0
check "the second session (imap2) read folders" \
	test "$(printf '%s\n' "$TRACE" | grep -cE '^imap2 C: [^ ]+ FETCH ')" -gt 0
check_eq "the second session joined INBOX" 1 \
	"$(printf '%s\n' "$TRACE" | grep -cE '^imap2 C: [^ ]+ EXAMINE INBOX')"
check "the second session read INBOX ranges" test "$(fetches imap2)" -gt 0
diag "UID FETCH ranges: imap $(fetches imap), imap2 $(fetches imap2)"
check_contains "the last range runs to the largest UID" "$TRACE" ":4294967295 (UID FLAGS"
read -r msgs unseen <<<"$(imapctl counts INBOX)"
check_eq "the server counts $N messages in INBOX" "$N" "$msgs"
check_eq "INBOX: every message counted once" "$N" "$(col INBOX 2)"
check_eq "INBOX: unseen as the server counts it" "$unseen" "$(col INBOX 3)"
check_eq "Archive counted" 300 "$(col Archive 2)"
check_eq "Sent counted" 40 "$(col Sent 2)"
check_contains "POP3 sees the same INBOX" "$REPORT" "$N"
check_not_contains "no POP3/IMAP mismatch" "$REPORT" "POP3 shows"
check_contains "the second session's login is redacted in the trace" \
	"$(grep '^imap2 C:' "$MA_TMP/first.trace")" "of credentials redacted"
check_not_contains "the password is in no trace line" "$TRACE" "$MA_PASS"

# --- the history holds every message once -------------------------------------
audit same
check_eq "unchanged repeat: exit 0" 0 "$RC"
check_eq "unchanged repeat: nothing fetched (the history has all $N UIDs)" 0 \
	"$(printf '%s\n' "$TRACE" | grep -cE '^imap2? C: [^ ]+ (UID )?FETCH ')"
check_not_contains "unchanged repeat: nothing destroyed" "$REPORT" "mail-destroyed"
check_eq "the audits changed nothing in the mailbox" "$before" "$(maildir_snapshot)"

imapctl delete INBOX 27000
ok $? "IMAP client expunged one INBOX message"
audit deleted
check_eq "after the delete: exit status 2" 2 "$RC"
check_eq "after the delete: exactly one message named" 1 "$(evidence_count mail-destroyed)"
check_eq "after the delete: INBOX one message less" $((N - 1)) "$(col INBOX 2)"

# --- INBOX alone: the second session starts when INBOX turns out large ------
imapctl drop Archive && imapctl drop Sent
ok $? "IMAP client deleted Archive and Sent"
for try in 1 2 3; do
	"$MAILAUDIT" --report "$MA_TMP/alone.txt" --trace "$MA_TMP/alone.trace" --no-history \
		"${A[@]}" 2>"$MA_TMP/alone.err"
	RC=$?
	REPORT=$(cat "$MA_TMP/alone.txt" 2>/dev/null)
	TRACE=$(cat "$MA_TMP/alone.trace" 2>/dev/null)
	[ "$(fetches imap2)" -gt 0 ] && break
done
# One INBOX message left the server (the expunge above) and the other
# folders are gone: the UIDs tell, so the verdict is never OK.
check_eq "INBOX alone: exit 1 (inbox-drained: 1 message left)" 1 "$RC"
check "INBOX alone: the second session read INBOX ranges" test "$(fetches imap2)" -gt 0
check_eq "INBOX alone: every message counted once" $((N - 1)) "$(col INBOX 2)"

# --- one session per user: the first reads everything -----------------------
printf 'protocol imap {\n  mail_max_userip_connections = 1\n}\n' >>"$MA_DOVECOT_CONF"
dovecot_reload || tap_bail "Dovecot did not reload with mail_max_userip_connections = 1"
"$MAILAUDIT" --report "$MA_TMP/single.txt" --trace "$MA_TMP/single.trace" --no-history \
	"${A[@]}" 2>"$MA_TMP/single.err"
RC=$?
REPORT=$(cat "$MA_TMP/single.txt" 2>/dev/null)
TRACE=$(cat "$MA_TMP/single.trace" 2>/dev/null)
check_eq "one session allowed: exit 1 (inbox-drained as above)" 1 "$RC"
check_contains "one session allowed: the second login was refused" \
	"$(grep '^imap2 S:' "$MA_TMP/single.trace")" "Maximum number of connections"
check_eq "one session allowed: imap2 fetched nothing" 0 "$(fetches imap2)"
check_eq "one session allowed: INBOX read whole" $((N - 1)) "$(col INBOX 2)"
check_not_contains "one session allowed: the refusal is no finding" "$REPORT" "Maximum number"

tap_done
