#!/bin/bash
# Monitoring conventions (issue 16): --check prints exactly one status line
# on standard output for every outcome, in the monitoring-plugins format,
# with the exit status that goes with it:
#   OK, WARNING, CRITICAL from audits of the private Dovecot; UNKNOWN for an
#   audit that failed, for every setup error (no password source, a bad
#   accounts file, a bad option) and for a deadline that passed (a silent
#   server, a dripping POP3 server, a history locked by another program);
#   perfdata with units (sizes in B, time= in s).
# The accounts file: -c FILE is read and checked without -a; its only
# account is used; with several, --all audits each (alice and bob of the
# private Dovecot) and the worst verdict wins, and without --all the message
# names them. Also: -V, --user over 255 bytes, --now abc, an unknown short
# option in a cluster after a password command, a --trace file that cannot
# be written, a POP3-only account with an untrusted POP3 certificate, and
# --probe --report leaving the default history alone.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
need dovecot python3 timeout setsid || tap_bail "missing dependency"
[ -x "${MAILAUDIT:-}" ] || tap_bail "mailaudit not built (MAILAUDIT=${MAILAUDIT:-})"

dovecot_start --no-submission || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
dovecot_seed --maildir "$MA_MAILDIR2" --count 5 >/dev/null || tap_bail "seeding bob failed"
W=$MA_TMP/mon
mkdir -p "$W"
MA_HOSTILE_DIR=$W
. "$here/../lib/hostile.sh"
LOCKER=""
cleanup_mon() {
	hostile_stop_all
	[ -n "$LOCKER" ] && kill "$LOCKER" 2>/dev/null
	return 0
}
trap 'cleanup_mon; dovecot_stop_all' EXIT
PW2=$W/pass2
(umask 077 && printf '%s\n' "$MA_PASS2" >"$PW2")
SECRET='hunter2-Mon-S3cret'
CLOSED=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

ALICE=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
	--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10)

# mon NAME ARGS...: mailaudit (bounded, no terminal: setsid), stdout in OUT,
# stderr in ERR, exit status in RC, seconds taken in SECS.
SAN=""
mon() {
	local name=$1 t0
	shift
	t0=$(_ma_now_ms)
	setsid -w timeout -s KILL 120 "$MAILAUDIT" "$@" >"$W/$name.out" 2>"$W/$name.err" </dev/null
	RC=$?
	SECS=$(( ($(_ma_now_ms) - t0) / 1000 ))
	OUT=$(cat "$W/$name.out")
	ERR=$(cat "$W/$name.err")
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/$name.err" && SAN="$SAN $name"
	return 0
}

# The one status line: MAILAUDIT STATE - text [| perfdata], every value
# label=value[UOM];warn;crit;min;max with a unit the guidelines know.
PERF="[A-Za-z0-9_.-]+=[0-9]+(\.[0-9]+)?(B|s)?;;;0"
FORMAT="^MAILAUDIT (OK|WARNING|CRITICAL|UNKNOWN) - [^|]+( \| $PERF( $PERF)*)?\$"

# status_line NAME WANT-RC PREFIX: after mon, exactly one line on stdout in
# the format, starting with PREFIX, nothing on stderr, exit status WANT-RC.
status_line() {
	local name=$1 want=$2 prefix=$3 lines
	diag "$name: $OUT"
	lines=$(printf '%s' "$OUT" | grep -c '')
	if [ "$lines" = 1 ] && printf '%s\n' "$OUT" | grep -Eq "$FORMAT"; then
		pass "$name: one monitoring line on stdout"
	else
		fail "$name: one monitoring line on stdout" "$lines lines:" "$OUT"
	fi
	case "$OUT" in
	"$prefix"*) pass "$name: the line starts \"$prefix\"" ;;
	*) fail "$name: the line starts \"$prefix\"" "$OUT" ;;
	esac
	check_eq "$name: exit status $want" "$want" "$RC"
	check_eq "$name: nothing on stderr" "" "$ERR"
}

# --check's default deadline against a silent server: 50 s of waiting, so
# in the first build's pass only (tests/run.sh), and in the background while
# the other cases run (a server of its own); judged at the end.
DEFAULT_PID=""
if [ "${MA_FIRST_BUILD:-1}" = 1 ]; then
	hostile_start silent || tap_bail "hostile server silent did not start"
	SILENT_PORT=$hport
	( SAN=""
	  mon deadline-default --check --imap "127.0.0.1:$SILENT_PORT/plain" --insecure --user u@x.test --password-file "$MA_PASSFILE" --no-history --timeout 3600
	  printf '%s %s %s\n' "$RC" "$SECS" "$SAN" >"$W/deadline-default.result" ) &
	DEFAULT_PID=$!
fi

# --- the exit paths of an audit ------------------------------------------------

S1=$W/state-alice
mon ok --check "${ALICE[@]}" --state-dir "$S1"
status_line "OK" 0 "MAILAUDIT OK - "
check_contains "OK: perfdata inbox count" "$OUT" " | inbox=$MA_SEED_INBOX;;;0 inbox_size="
check_contains "OK: perfdata POP3 count" "$OUT" " pop3=$MA_SEED_INBOX;;;0 pop3_size="
printf '%s\n' "$OUT" | grep -Eq ' inbox_size=[0-9]+B;;;0 ' && pass "OK: the INBOX size in bytes (B)" ||
	fail "OK: the INBOX size in bytes (B)" "$OUT"
printf '%s\n' "$OUT" | grep -Eq ' time=[0-9]+\.[0-9]{3}s;;;0$' && pass "OK: time= in seconds, last" ||
	fail "OK: time= in seconds, last" "$OUT"

# Two messages of alice's INBOX deleted, as a POP3 program would.
ls "$MA_MAILDIR/cur" | sort | head -2 | while read -r f; do rm -f "$MA_MAILDIR/cur/$f"; done
mon critical --check "${ALICE[@]}" --state-dir "$S1"
status_line "CRITICAL" 2 "MAILAUDIT CRITICAL - 2 messages were deleted"
check_contains "CRITICAL: perfdata destroyed=2" "$OUT" " destroyed=2;;;0 "

mon warning --check "${ALICE[@]}" --pop3 "127.0.0.1:$CLOSED/tls" --no-history
status_line "WARNING (POP3 refused, IMAP fine)" 1 "MAILAUDIT WARNING - POP3 could not be audited"

mon unknown-audit --check "${ALICE[@]}" --imap "127.0.0.1:$CLOSED/tls" --no-history
status_line "UNKNOWN (IMAP refused)" 3 "MAILAUDIT UNKNOWN - IMAP could not be audited"

# A POP3-only account whose POP3 certificate this computer does not trust:
# the line says so, not only that no IMAP server is configured.
mon pop3-cert --check --pop3 "127.0.0.1:$MA_POP3S_PORT/tls" --user "$MA_USER" \
	--password-file "$MA_PASSFILE" --no-history --timeout 10
status_line "POP3-only, untrusted POP3 certificate" 3 "MAILAUDIT UNKNOWN - No IMAP server is configured, and POP3 could not be audited"
check_contains "POP3-only: the line names the certificate" "$OUT" "certificate"

# --- setup errors: the same one line, UNKNOWN ---------------------------------------

mon no-password --check --imap "127.0.0.1:$MA_IMAPS_PORT/tls" --user "$MA_USER" --no-history
status_line "no password source" 3 "MAILAUDIT UNKNOWN - no password source"
mon no-server --check --user "$MA_USER" --password-file "$MA_PASSFILE"
status_line "no server" 3 "MAILAUDIT UNKNOWN - no server given"
mon pw-fails --check --imap "127.0.0.1:$MA_IMAPS_PORT/tls" --user "$MA_USER" --password-command "exit 1" \
	--no-history
status_line "password command fails" 3 "MAILAUDIT UNKNOWN - password: "
mon bad-ca --check "${ALICE[@]}" --ca-file "$W/nope.pem" --no-history
status_line "CA file missing" 3 "MAILAUDIT UNKNOWN - "
check_contains "CA file missing: named" "$OUT" "$W/nope.pem"
mon bad-timeout --check "${ALICE[@]}" --timeout soon
status_line "--timeout soon" 3 "MAILAUDIT UNKNOWN - --timeout wants a number"
mon now-abc --check "${ALICE[@]}" --now abc --no-history
status_line "--now abc refused" 3 "MAILAUDIT UNKNOWN - --now wants a time in seconds since 1970"
mon long-user --check "${ALICE[@]}" --user "$(printf 'u%.0s' $(seq 300))@example.test" --no-history
status_line "--user over 255 bytes refused" 3 "MAILAUDIT UNKNOWN - --user is longer than 255 bytes"
mon report-long-user --report - "${ALICE[@]}" --user "$(printf 'u%.0s' $(seq 300))@example.test" --no-history
check_eq "--report: --user over 255 bytes: exit 3" 3 "$RC"
check_contains "--report: --user over 255 bytes: said on stderr" "$ERR" "--user is longer than 255 bytes"
check_eq "--report: --user over 255 bytes: no report" "" "$OUT"

# An unknown short option inside a cluster, right after a password command:
# the option is named by its letter, the command never shown.
mon cluster --check --no-history --imap "127.0.0.1:$CLOSED/plain" --user u@x.test \
	--password-command "printf $SECRET" -xq
status_line "unknown short option in a cluster" 3 "MAILAUDIT UNKNOWN - unknown option '-x'"
check_not_contains "cluster: the password command is not shown" "$OUT$ERR" "$SECRET"
mon cluster-report --report - --no-history --password-command "printf $SECRET" -qx
check_eq "cluster (--report): exit 3" 3 "$RC"
check_contains "cluster (--report): stderr names -q" "$ERR" "unknown option '-q'"
check_not_contains "cluster (--report): the password command is not shown" "$OUT$ERR" "$SECRET"

mon version -V
check_eq "-V: exit 0" 0 "$RC"
check_eq "-V prints what --version prints" "$("$MAILAUDIT" --version)" "$OUT"

# --- the accounts file ------------------------------------------------------------

acct() { # NAME USER PASSWORD-FILE
	printf '[account %s]\nlogin = %s\nimap = 127.0.0.1:%s/tls\npop3 = 127.0.0.1:%s/tls\npassword_file = %s\nca_file = %s\n\n' \
		"$1" "$2" "$MA_IMAPS_PORT" "$MA_POP3S_PORT" "$3" "$MA_CA"
}
printf '[account a]\nlogin = u@x.test\nimapp = h\n' >"$W/bad.conf"
mon bad-conf --check -c "$W/bad.conf"
status_line "-c bad.conf, no -a" 3 "MAILAUDIT UNKNOWN - "
check_contains "-c bad.conf: file and line named" "$OUT" "bad.conf:3: unknown key \"imapp\""
mon bad-conf-report --report - -c "$W/bad.conf" --imap "127.0.0.1:$MA_IMAPS_PORT/tls" --user u@x.test
check_eq "-c bad.conf with --imap (--report): exit 3" 3 "$RC"
check_contains "-c bad.conf with --imap (--report): file and line on stderr" "$ERR" "bad.conf:3:"
mon missing-conf --check -c "$W/missing.conf"
status_line "-c of a missing file" 3 "MAILAUDIT UNKNOWN - "
check_contains "-c of a missing file: named" "$OUT" "missing.conf"
: >"$W/empty.conf"
mon empty-conf --check -c "$W/empty.conf"
status_line "-c of a file without accounts" 3 "MAILAUDIT UNKNOWN - "
check_contains "-c of a file without accounts: said" "$OUT" "has no [account NAME] section"

acct alice "$MA_USER" "$MA_PASSFILE" >"$W/one.conf"
mon one-conf --check -c "$W/one.conf" --state-dir "$S1" --timeout 10
status_line "-c with one account: it is audited" 2 "MAILAUDIT CRITICAL - "

{ acct alice "$MA_USER" "$MA_PASSFILE"; acct bob "$MA_USER2" "$PW2"; } >"$W/two.conf"
mon two-conf --check -c "$W/two.conf" --state-dir "$W/state-all"
status_line "-c with two accounts, no --all" 3 "MAILAUDIT UNKNOWN - "
check_contains "two accounts: both named, -a and --all suggested" "$OUT" "has 2 accounts (alice, bob): choose one with -a NAME, or audit each with --all"

SA=$W/state-all
mon all-ok --check --all -c "$W/two.conf" --state-dir "$SA" --timeout 10
check_eq "--all, both OK: exit 0" 0 "$RC"
check_eq "--all, both OK: nothing on stderr" "" "$ERR"
first=$(printf '%s\n' "$OUT" | head -1)
printf '%s\n' "$first" | grep -Eq "$FORMAT" && pass "--all: the first line is a status line" ||
	fail "--all: the first line is a status line" "$first"
check_contains "--all, both OK: the first line" "$first" "MAILAUDIT OK - 2 accounts: 2 OK | "
check_contains "--all: alice's numbers" "$first" " alice_inbox=$((MA_SEED_INBOX - 2));;;0 "
check_contains "--all: bob's numbers" "$first" " bob_inbox=5;;;0 "
printf '%s\n' "$first" | grep -Eq ' time=[0-9]+\.[0-9]{3}s;;;0$' && pass "--all: the run's time= last" ||
	fail "--all: the run's time= last" "$first"
check_eq "--all: one line per account after it" "alice: OK - ;bob: OK - " \
	"$(printf '%s\n' "$OUT" | tail -n +2 | sed -E 's/^([a-z]+: [A-Z]+ - ).*/\1/' | paste -sd';')"

# One of bob's messages deleted: bob CRITICAL, alice still OK, the worst wins.
ls "$MA_MAILDIR2/cur" | sort | head -1 | while read -r f; do rm -f "$MA_MAILDIR2/cur/$f"; done
cp -a "$SA" "$SA.copy"
mon all-crit --check --all -c "$W/two.conf" --state-dir "$SA" --timeout 10
check_eq "--all, bob lost mail: exit 2" 2 "$RC"
check_contains "--all, bob lost mail: the worst named on the first line" "$(printf '%s\n' "$OUT" | head -1)" \
	"MAILAUDIT CRITICAL - 2 accounts: 1 CRITICAL, 1 OK; worst bob: 1 message was deleted"
check_contains "--all, bob lost mail: alice's line" "$OUT" $'\nalice: OK - '
check_contains "--all, bob lost mail: bob's line" "$OUT" $'\nbob: CRITICAL - 1 message was deleted'
mon all-report --report - --all -c "$W/two.conf" --state-dir "$SA.copy" --timeout 10
check_eq "--report --all: exit 2" 2 "$RC"
check_contains "--report --all: the worst verdict" "$OUT" "Worst verdict: CRITICAL"
check_contains "--report --all: alice's report" "$OUT" $'Account alice\n-------------'
check_contains "--report --all: bob's report" "$OUT" $'Account bob\n-----------'
check_contains "--report --all: bob's verdict" "$OUT" "Verdict: CRITICAL"
long=$(printf '%s\n' "$OUT" | python3 -c 'import sys; print(sum(len(l.rstrip("\n")) > 78 for l in sys.stdin))')
check_eq "--report --all: no line wider than 78 columns" 0 "$long"

# An account that cannot be audited is UNKNOWN; the others still are.
{ acct alice "$MA_USER" "$MA_PASSFILE"; acct bob "$MA_USER2" "$W/no-such-file"; } >"$W/badbob.conf"
mon all-badbob --check --all -c "$W/badbob.conf" --no-history --timeout 10
check_eq "--all, bob's password file missing: exit 3" 3 "$RC"
check_contains "--all, bob's password file missing: first line" "$(printf '%s\n' "$OUT" | head -1)" \
	"MAILAUDIT UNKNOWN - 2 accounts: 1 UNKNOWN, 1 OK; worst bob: password: "
check_contains "--all, bob's password file missing: alice still audited" "$OUT" $'\nalice: OK - '
mon all-a --check --all -a alice -c "$W/two.conf"
status_line "--all with -a" 3 "MAILAUDIT UNKNOWN - --all audits every account of the accounts file"

# --- the deadline ---------------------------------------------------------------------

HOST_ACC=(--insecure --user u@x.test --password-file "$MA_PASSFILE" --no-history)
hostile_start silent || tap_bail "hostile server silent did not start"
mon deadline --check --imap "127.0.0.1:$hport/plain" "${HOST_ACC[@]}" --timeout 30 --deadline 2
status_line "--deadline 2, silent IMAP server" 3 "MAILAUDIT UNKNOWN - The audit did not finish within --deadline 2 s"
ok $(( SECS <= 6 ? 0 : 1 )) "--deadline 2, silent IMAP server: returned after ${SECS} s (--timeout 30)"
mon deadline-report --report - --imap "127.0.0.1:$hport/plain" "${HOST_ACC[@]}" --timeout 30 --deadline 2
check_eq "--report --deadline 2: exit 3" 3 "$RC"
check_contains "--report --deadline 2: the report names it" "$OUT" "WARNING: the audit did not finish within --deadline 2 s"
# The doctor of --probe --report too: after the deadline it begins nothing,
# and says the test was cut short rather than "Nothing works".
mon deadline-probe --probe --report - --imap "127.0.0.1:$hport/plain" --pop3 "127.0.0.1:$hport/plain" \
	"${HOST_ACC[@]}" --timeout 30 --deadline 2
check_eq "--probe --report --deadline 2: exit 3" 3 "$RC"
ok $(( SECS <= 6 ? 0 : 1 )) "--probe --report --deadline 2: returned after ${SECS} s (--timeout 30)"
check_contains "--probe --report --deadline 2: probe-deadline" "$OUT" "[UNKNOWN] probe-deadline: The test did not finish within --deadline"
check_not_contains "--probe --report --deadline 2: never 'Nothing works'" "$OUT" "Nothing works"

# IMAP fine, POP3 dripping its greeting: a POP3 failure alone is a WARNING,
# but one the deadline caused is UNKNOWN.
hostile_start pop3-drip || tap_bail "hostile server pop3-drip did not start"
mon deadline-pop3 --check "${ALICE[@]}" --pop3 "127.0.0.1:$hport/plain" --insecure --no-history --timeout 30 --deadline 4
status_line "--deadline 4, POP3 dripping" 3 "MAILAUDIT UNKNOWN - The audit did not finish within --deadline 4 s (POP3 server"
ok $(( SECS <= 8 ? 0 : 1 )) "--deadline 4, POP3 dripping: returned after ${SECS} s"

# The history held by another program: waiting for it ends at the deadline.
python3 - "$S1/history.db" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(60)
PY
LOCKER=$!
sleep 1
mon deadline-history --check "${ALICE[@]}" --state-dir "$S1" --deadline 4
kill "$LOCKER" 2>/dev/null
wait "$LOCKER" 2>/dev/null
LOCKER=""
status_line "--deadline 4, history locked by another program" 3 "MAILAUDIT UNKNOWN - The audit did not finish within --deadline 4 s"
check_contains "history locked: the history file named" "$OUT" "history.db"
ok $(( SECS <= 8 ? 0 : 1 )) "history locked: returned after ${SECS} s (a lock wait alone is 10 s)"

mon deadline-alone --probe --imap "127.0.0.1:$CLOSED/plain" --deadline 5
check_eq "--deadline without an audit: refused (exit 3)" 3 "$RC"
check_contains "--deadline without an audit: said" "$ERR" "--deadline bounds an audit"

# --- --trace that cannot be written -------------------------------------------------
mode_before=$(stat -c %a /dev/full)
mon trace-full --check "${ALICE[@]}" --no-history --trace /dev/full
status_line "--trace /dev/full" 3 "MAILAUDIT UNKNOWN - The --trace file could not be written (/dev/full: No space left on device); the audit itself: OK"
mon trace-full-report --report - "${ALICE[@]}" --no-history --trace /dev/full
check_eq "--trace /dev/full (--report): exit 3" 3 "$RC"
check_contains "--trace /dev/full (--report): stderr says so" "$ERR" "the --trace file could not be written"
check_contains "--trace /dev/full (--report): the report says so" "$OUT" "WARNING: the --trace file could not be written"
mode_after=$(stat -c %a /dev/full)
check_eq "--trace /dev/full: the device's mode is left alone" "$mode_before" "$mode_after"
[ "$mode_before" = "$mode_after" ] || chmod "$mode_before" /dev/full

# --- --probe --report: the default history stays untouched ------------------------------
H=$W/home
mkdir -p "$H"
HOME=$H XDG_STATE_HOME='' mon probe-report --probe --report "$W/probe.txt" "${ALICE[@]}" --timeout 5
check_contains "--probe --report: the report has the doctor's matrix" "$(cat "$W/probe.txt" 2>/dev/null)" "Connection doctor (--probe)"
if [ -e "$H/.local/state/mailaudit/history.db" ]; then
	fail "--probe --report writes no audit into the default history" "$(ls -la "$H/.local/state/mailaudit")"
else
	pass "--probe --report writes no audit into the default history"
fi

if [ -n "$DEFAULT_PID" ]; then
	wait "$DEFAULT_PID"
	read -r RC SECS san <"$W/deadline-default.result"
	SAN="$SAN${san:+ $san}"
	OUT=$(cat "$W/deadline-default.out")
	ERR=$(cat "$W/deadline-default.err")
	status_line "--check's default deadline, silent server, --timeout 3600" 3 "MAILAUDIT UNKNOWN - The audit did not finish within --deadline 50 s"
	ok $(( SECS >= 49 && SECS <= 56 ? 0 : 1 )) "--check's default deadline ends the audit at 50 s (${SECS} s), inside a 60 s service check"
fi

check_eq "no sanitizer report in any run" "" "$SAN"
tap_done
