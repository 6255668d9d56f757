#!/bin/bash
# The progress of a first audit (issue 18): before the look, the messages
# of every folder are counted by STATUS (only when a progress bar is shown,
# only without history), and the reports carry the messages read over all
# folders against that count, so that the full-screen program's bar moves
# by messages, not by folders. Driven through tests/tools/progress_run,
# which runs the audit with a progress callback as the program does. An
# audit with history counts nothing before its look.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
need dovecot python3 || tap_bail "missing dependency"
run="${MA_TOOLS:-}/progress_run"
[ -x "$run" ] || tap_bail "progress_run not built ($run)"

dovecot_start || tap_bail "dovecot did not start"
# Two folders above the 500 messages between two reports, one below.
dovecot_seed --maildir "$MA_MAILDIR" --folder INBOX --seed 1 --count 1200 >/dev/null &&
	dovecot_seed --maildir "$MA_MAILDIR" --folder Archive --seed 2 --count 700 >/dev/null &&
	dovecot_seed --maildir "$MA_MAILDIR" --folder Sent --seed 3 --count 40 >/dev/null ||
	tap_bail "seeding failed"
ALL=1940
A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --user "$MA_USER" --password-file "$MA_PASSFILE"
	--ca-file "$MA_CA")

audit() { # NAME ARGS...: progress lines into OUT, exit status into RC
	local name=$1
	shift
	"$run" "${A[@]}" "$@" >"$MA_TMP/$name.out" 2>"$MA_TMP/$name.err"
	RC=$?
	OUT=$(cat "$MA_TMP/$name.out")
}
# Fields of the lines "progress STEP DONE TOTAL ALL_DONE ALL_TOTAL";
# steps: 2 folders, 3 messages (enum ma_step).
lines() { printf '%s\n' "$OUT" | awk -v s="$1" '$1 == "progress" && (s == "" || $2 == s)'; }

# --- a first audit ---------------------------------------------------------------------
audit first --state-dir "$MA_TMP/s1"
check_eq "first audit: runs" "0" "$RC"
check_eq "first audit: the result counts every message" "result $ALL 3" "$(printf '%s\n' "$OUT" | grep '^result ')"
check_eq "first audit: the first folder's report already has the count over all folders" "$ALL" \
	"$(lines 2 | head -n1 | awk '{ print $6 }')"
check_eq "first audit: every report of the look carries that count" "" \
	"$( (lines 2; lines 3) | awk -v a=$ALL '$6 != a')"
check_eq "first audit: no report reads more messages than counted" "" \
	"$( (lines 2; lines 3) | awk '$5 > $6')"
check_eq "first audit: the messages' reports at 500 and 1000 of INBOX, 500 of Archive" "3" \
	"$(lines 3 | wc -l)"
# Whichever of "INBOX at 1000" and "Archive at 500" comes last, the other
# folder has by then passed its mark: messages over all folders, not one.
check "first audit: the count goes over all folders (at least 1500 reached)" \
	test "$( (lines 2; lines 3) | awk 'BEGIN { m = 0 } $5 > m { m = $5 } END { print m }')" -ge 1500
check_eq "first audit: nothing before the look in the other steps" "" \
	"$(lines "" | awk '$2 != 2 && $2 != 3 && ($5 || $6)')"
check_eq "first audit: nothing on stderr" "" "$(cat "$MA_TMP/first.err")"

# --- a repeat: the history knows the folders, nothing is counted before the look ------------
audit repeat --state-dir "$MA_TMP/s1"
check_eq "repeat: runs" "0" "$RC"
check_eq "repeat: no count over all folders (STATUS is per known folder)" "" \
	"$(lines "" | awk '$6 != 0')"

# --- without history every folder is read whole: counted again -------------------------------
audit nohist --state-dir "$MA_TMP/s1" --no-history
check_eq "--no-history: runs" "0" "$RC"
check_eq "--no-history: the count over all folders" "$ALL" "$(lines 2 | head -n1 | awk '{ print $6 }')"

tap_done
