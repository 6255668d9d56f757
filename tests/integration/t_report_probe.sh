#!/bin/bash
# The full report: --report with --probe adds the connection doctor's matrix
# to the audit's report; the exit status stays the audit's verdict.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
need dovecot || tap_bail
dovecot_start --no-submission || tap_bail "dovecot did not start"
dovecot_seed_standard >/dev/null || tap_bail "seeding failed"
out="$MA_TMP/report.txt"
"$MAILAUDIT" --report "$out" --probe --imap "127.0.0.1:$MA_IMAPS_PORT/tls" \
	--pop3 "127.0.0.1:$MA_POP3S_PORT/tls" --user "$MA_USER" --password-file "$MA_PASSFILE" \
	--ca-file "$MA_CA" --state-dir "$MA_TMP/state" --timeout 5 2>"$MA_TMP/err"
rc=$?
check_eq "exit status is the audit's verdict (first audit: OK)" 0 "$rc"
text=$(cat "$out")
check_contains "the audit's verdict is in the report" "$text" "Verdict: OK"
check_contains "the doctor's section follows" "$text" "Connection doctor (--probe)"
check_contains "the IMAP cell on the audited port works" "$text" "IMAP $MA_IMAPS_PORT SSL/TLS"
check_contains "the doctor names the best settings" "$text" "best-settings"
check_not_contains "no password in the report" "$text" "$MA_PASS"
long=$(python3 -c 'import sys; print(sum(len(l.rstrip("\n")) > 78 for l in open(sys.argv[1], encoding="utf-8")))' "$out")
check_eq "no line wider than 78 columns" 0 "$long"
tap_done
