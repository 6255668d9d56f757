#!/bin/bash
# Issue 16's red-team list, each item as the user or a hostile server would
# meet it: the password prompt under signals (1), five first audits at once
# (3), a login refused with [LIMIT] (4), a FIFO as the password file (5),
# the history file as a link and too-open modes (7), C1 controls in paths
# from the accounts file (8), absurd message counts and repeated UIDs (9),
# bidi and zero-width characters (10), and the wording of two limits (11).
# Servers are tests/tools/hostile_server.py's; every run is bounded.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/report.sh"
top=$(cd "$here/../.." && pwd)
MAILAUDIT=${MAILAUDIT:-$top/build/mailaudit}
need python3 timeout dash stty mkfifo || tap_bail "missing dependencies"
[ -x "$MAILAUDIT" ] || tap_bail "mailaudit not built ($MAILAUDIT)"

W=$(mktemp -d /tmp/ma-redteam.XXXXXX)
MA_HOSTILE_DIR=$W
. "$here/../lib/hostile.sh"
cleanup() {
	hostile_stop_all
	[ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT
printf 'secret-pw\n' >"$W/pw"
chmod 600 "$W/pw"
H=127.0.0.1
ACC=(--user u@example.test --password-file "$W/pw" --insecure --timeout 3)

hostile() { hostile_start "$@" || tap_bail "hostile server $1 did not start"; }

# run KILL_S NAME args...: mailaudit with stdout in $W/NAME, stderr in
# $W/NAME.err; sets rc and ms
run() {
	local kill_s=$1 name=$2 t0 t1
	shift 2
	t0=$(_ma_now_ms)
	timeout -s KILL "$kill_s" "$MAILAUDIT" "$@" >"$W/$name" 2>"$W/$name.err"
	rc=$?
	t1=$(_ma_now_ms)
	ms=$((t1 - t0))
}
no_crash() { # name
	ok $((rc < 128 ? 0 : 1)) "$1: ends by itself, no crash (exit $rc, $ms ms)"
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/$1.err"; then
		fail "$1: sanitizer report" "$(head -20 "$W/$1.err")"
	fi
}
fetches() { grep -c '^FETCH-COMMAND' "$W/$1.err" 2>/dev/null; } # SCENARIO
flat() { tr '\n' ' ' <"$W/$1" | tr -s ' '; } # NAME: the output on one line

# --- 1: terminal echo after a signal at the password prompt --------------------
# dash does not restore the terminal after a program it ran was killed: the
# program must, before the signal takes its course. prompt_signals.py runs
# `dash -i` on a pty, mailaudit in it (no password source: it asks), and
# reports echo as `stty -a` shows it afterwards.
for sig in INT TERM HUP QUIT TSTP; do
	out=$(timeout -s KILL 120 python3 "$top/tests/tools/prompt_signals.py" dash "$sig" "$W" -- \
		"$MAILAUDIT" --report - --no-history --imap "$H:9/plain" --user u@example.test 2>&1)
	check_contains "prompt, SIG$sig: echo off while asking" "$out" "asking echo=off"
	check_contains "prompt, SIG$sig: echo on again afterwards (stty -a)" "$out" "after echo=on"
	if [ "$sig" = TSTP ]; then
		check_contains "prompt, SIGTSTP: echo on while stopped" "$out" "stopped echo=on"
		check_contains "prompt, SIGTSTP: after fg, asked again with echo off" "$out" \
			"resumed echo=off asked-again=yes"
		check_contains "prompt, SIGTSTP then Ctrl-C: ended by SIGINT" "$out" "status 130"
	else
		want=$(( $(kill -l "$sig") + 128 ))
		check_contains "prompt, SIG$sig: the program ended by that signal (status $want)" "$out" \
			"status $want"
	fi
done

# --- 5: a FIFO as the password file -----------------------------------------------
# open() of a FIFO waits for a writer, for ever: refused before that.
mkfifo "$W/fifo"
run 20 fifo-pw --check --no-history --imap "$H:9/plain" --user u@example.test --password-file "$W/fifo"
check_eq "FIFO password file: exit status 3" 3 "$rc"
ok $((ms < 5000 ? 0 : 1)) "FIFO password file: refused at once, not blocked ($ms ms)"
check_contains "FIFO password file: says what it is" "$(cat "$W/fifo-pw" "$W/fifo-pw.err")" \
	"is not a regular file but a named pipe (FIFO)"
# The accounts file too: -c FIFO is read before anything else.
run 20 fifo-conf -c "$W/fifo" --check
check_eq "FIFO accounts file: exit status 3" 3 "$rc"
ok $((ms < 5000 ? 0 : 1)) "FIFO accounts file: refused at once, not blocked ($ms ms)"
check_contains "FIFO accounts file: says what it is" "$(cat "$W/fifo-conf" "$W/fifo-conf.err")" \
	"is not a regular file but a named pipe (FIFO)"

# --- 8: C1 controls in paths from the accounts file ---------------------------------
# U+009B is CSI to many terminals, U+0085 a line break: never raw on stderr.
printf '[account a]\nlogin = u@example.test\nimap = %s:9/plain\npassword_file = %s/p\302\2330m\302\205x\n' \
	"$H" "$W" >"$W/c1-pw.conf"
printf '[account a]\nlogin = u@example.test\nimap = %s:9/tls\npassword_command = echo pw\nca_file = %s/ca\302\23331m\302\205y\n' \
	"$H" "$W" >"$W/c1-ca.conf"
has_c1() { python3 -c 'import re,sys; d=open(sys.argv[1],"rb").read().decode("utf-8","replace"); sys.exit(0 if re.search("[\x80-\x9f]", d) else 1)' "$1"; }
for c in c1-pw c1-ca; do
	for mode in --check --report; do
		name="$c${mode#-}"
		if [ "$mode" = --report ]; then
			run 20 "$name" -c "$W/$c.conf" -a a --no-history --report -
		else
			run 20 "$name" -c "$W/$c.conf" -a a --no-history --check
		fi
		check_eq "$c $mode: exit status 3" 3 "$rc"
		if has_c1 "$W/$name.err" || has_c1 "$W/$name"; then
			fail "$c $mode: no C1 control on stderr or stdout" "$(cat -v "$W/$name.err" "$W/$name" | head -5)"
		else
			pass "$c $mode: no C1 control on stderr or stdout"
		fi
	done
done
check_contains "c1-pw: the path is still named, the controls as ?" "$(cat "$W/c1-pw-check" "$W/c1-pw-check.err")" "/p??0m??x"

# --- 3: five first audits at once on a new state directory ---------------------------
# 20 rounds (or 40 s): every audit uses the history (none says the file is
# another program's, or that the history is unusable). The race this found
# (about one round in 30) is tested harder without the network, 150 rounds,
# by test_history's concurrent_first_opens_agree.
hostile imap-ok
okport=$hport
bad=0 rounds=0 end=$(($(_ma_now_ms) + 40000))
while [ "$rounds" -lt 20 ] && [ "$(_ma_now_ms)" -lt "$end" ]; do
	sd="$W/five.$rounds"
	pids=""
	for i in 1 2 3 4 5; do
		timeout -s KILL 60 "$MAILAUDIT" --check --state-dir "$sd" --imap "$H:$okport/plain" "${ACC[@]}" \
			>"$W/five.$rounds.$i" 2>&1 &
		pids="$pids $!"
	done
	wait $pids
	if grep -l -e 'History not usable' -e "another program" "$W/five.$rounds".* >/dev/null 2>&1; then
		bad=$((bad + 1))
		diag "round $rounds: $(grep -h -e 'History not usable' -e 'another program' "$W/five.$rounds".* | head -2)"
	fi
	rounds=$((rounds + 1))
done
check_eq "five first audits at once, $rounds rounds: every one used the history" 0 "$bad"
hist_ok=$(python3 - "$W/five.0/history.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute("PRAGMA integrity_check").fetchone()[0], c.execute("SELECT count(*) FROM audit").fetchone()[0])
PY
)
check_eq "five first audits at once: one sound file with five audits" "ok 5" "$hist_ok"

# --- 7: history.db as a link; too-open modes --------------------------------------
mkdir -m 700 "$W/s7" "$W/foreign"
: >"$W/foreign/empty"
ln -s "$W/foreign/empty" "$W/s7/history.db"
run 30 link --check --state-dir "$W/s7" --imap "$H:$okport/plain" "${ACC[@]}"
check_contains "history.db a link to an empty file: refused, said" "$(cat "$W/link")" "is a symbolic link"
check_eq "history.db a link: the target is still empty" 0 "$(stat -c %s "$W/foreign/empty")"
check_eq "history.db a link: nothing beside the target" "empty" "$(ls "$W/foreign")"
check_eq "history.db a link: no -wal/-shm beside the link" "history.db" "$(ls "$W/s7")"

mkdir -m 700 "$W/s7open"
chmod 777 "$W/s7open"
run 30 opendir --check --state-dir "$W/s7open" --imap "$H:$okport/plain" "${ACC[@]}"
check_contains "state directory writable by others: refused with the chmod to run" "$(cat "$W/opendir")" \
	"can be changed by other users (mode 0777), who could replace the history; run: chmod go-w"
check_eq "state directory writable by others: no history made in it" "" "$(ls "$W/s7open")"

chmod 644 "$W/five.1"/history.db*
run 30 tighten --check --state-dir "$W/five.1" --imap "$H:$okport/plain" "${ACC[@]}"
check_not_contains "history more open than 0600: used" "$(cat "$W/tighten")" "History not usable"
check_eq "history more open than 0600: made 0600, -wal and -shm too" "600 600 600" \
	"$(stat -c %a "$W/five.1/history.db" "$W/five.1/history.db-wal" "$W/five.1/history.db-shm" | tr '\n' ' ' | sed 's/ $//')"
mkdir -p "$W/xdg/mailaudit"
chmod 755 "$W/xdg/mailaudit"
XDG_STATE_HOME="$W/xdg" run 30 xdg-run --check --imap "$H:$okport/plain" "${ACC[@]}"
check_not_contains "default state directory 0755: used" "$(cat "$W/xdg-run")" "History not usable"
check_eq "default state directory 0755: made 0700" 700 "$(stat -c %a "$W/xdg/mailaudit")"
hostile_stop

# --- 4: a login refused with NO [LIMIT] -------------------------------------------
hostile imap-login-limit
run 20 limit --report - --no-history --imap "$H:$hport/plain" "${ACC[@]}"
hostile_stop
REPORT=$(cat "$W/limit")
block=$(finding imap-failed)
check_contains "NO [LIMIT]: named as too many connections" "$block" "too many connections"
check_contains "NO [LIMIT]: the code and the server's words are kept" "$block" \
	"with [LIMIT]: too many connections to this mailbox at once, or another limit of the server; it said: Too many connections from your IP address"
check_contains "NO [LIMIT]: status server-temp" "$block" "Status: server-temp"
check_not_contains "NO [LIMIT]: not called a wrong password" "$REPORT" "rejected the login name or password"
no_crash limit

# --- 9: absurd message counts, a repeated UID ------------------------------------------
# A count past UIDNEXT - 1 or 10,000,000 is refused before it decides the
# work; a FETCH by sequence number stops where the server's messages end.
hostile imap-exists-huge
run 20 huge --report - --no-history --imap "$H:$hport/plain" "${ACC[@]}"
hostile_stop
no_crash huge
check_contains "* 4294967295 EXISTS with UIDNEXT 2: refused as impossible" "$(flat huge)" \
	"holds 4294967295 messages (EXISTS), but their UIDs are all below 2 (UIDNEXT): that is not possible"
check_contains "* 4294967295 EXISTS with UIDNEXT 2: status protocol" "$(flat huge)" "Status: protocol"
check_eq "* 4294967295 EXISTS with UIDNEXT 2: no FETCH sent" 0 "$(fetches imap-exists-huge)"
if grep -qE '^ +INBOX +4294967295' "$W/huge"; then
	fail "* 4294967295 EXISTS: not reported as the folder's count" "$(grep -E '^ +INBOX' "$W/huge")"
else
	pass "* 4294967295 EXISTS: not reported as the folder's count"
fi
hostile imap-exists-huge-nouidnext
run 20 hugenn --report - --no-history --imap "$H:$hport/plain" "${ACC[@]}"
hostile_stop
no_crash hugenn
ok $((ms < 8000 ? 0 : 1)) "* 4294967295 EXISTS without UIDNEXT: done within 8 s ($ms ms)"
check_contains "* 4294967295 EXISTS without UIDNEXT: named as a limit" "$(flat hugenn)" \
	"holds 4294967295 messages (EXISTS); mailaudit reads at most 10,000,000 in one folder"
check_contains "* 4294967295 EXISTS without UIDNEXT: status too-large" "$(flat hugenn)" "Status: too-large"
check_eq "* 4294967295 EXISTS without UIDNEXT: no FETCH sent" 0 "$(fetches imap-exists-huge-nouidnext)"
hostile imap-exists-more
run 20 more --report - --no-history --imap "$H:$hport/plain" "${ACC[@]}"
hostile_stop
no_crash more
check_contains "* 20000 EXISTS of one message: the shortfall is named" "$(flat more)" \
	"said the folder holds 20000 messages (EXISTS) but sent none after message 1"
check_contains "* 20000 EXISTS of one message: status protocol" "$(flat more)" "Status: protocol"
n=$(fetches imap-exists-more)
ok $((n >= 1 && n <= 4 ? 0 : 1)) "* 20000 EXISTS of one message: at most the 4 FETCH commands in flight ($n, not 8)"
hostile imap-fetch-dup-uid
run 20 dup --report - --no-history --imap "$H:$hport/plain" "${ACC[@]}"
hostile_stop
no_crash dup
row=$(grep -E '^ +INBOX ' "$W/dup" | head -1)
diag "INBOX row: $row"
check_contains "two FETCH responses with UID 1: the size counted once (100 B)" "$row" " 100 B"

# --- 10: bidi controls and zero-width characters --------------------------------------
# A first audit records the message, a second finds it deleted and shows its
# sender and subject; a folder name and an alert carry them too. None may
# reach the report raw ("invoice <U+202E>gpj.exe" shows as "invoice exe.jpg").
# hidden FILE...: prints the lines holding a bidi or zero-width character
hidden() {
	python3 - "$@" <<'PY'
import re, sys
rx = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
bad = 0
for name in sys.argv[1:]:
    for n, line in enumerate(open(name, "rb").read().decode("utf-8", "replace").splitlines(), 1):
        if rx.search(line):
            print("%s:%d: %a" % (name, n, line))
            bad = 1
sys.exit(bad)
PY
}
MA_HOSTILE_GONE="$W/gone" hostile imap-bidi
bport=$hport
run 30 bidi1 --report - --state-dir "$W/sbidi" --now 1700000000 --imap "$H:$bport/plain" "${ACC[@]}"
no_crash bidi1
: >"$W/gone"
run 30 bidi2 --report - --state-dir "$W/sbidi" --now 1700000100 --imap "$H:$bport/plain" "${ACC[@]}"
check_eq "bidi: the second audit finds the message deleted (exit 2, CRITICAL)" 2 "$rc"
run 30 bidi3 --lost --state-dir "$W/sbidi" --imap "$H:$bport/plain" "${ACC[@]}"
hostile_stop
check_contains "bidi: the deleted message is reported with its subject neutralised" "$(flat bidi2)" \
	"invoice ?gpj.exe"
check_contains "bidi: the sender's zero-width space shown as ?" "$(flat bidi2)" "Bob? <bob@example.test>"
check_contains "bidi: --lost lists it the same way" "$(flat bidi3)" "invoice ?gpj.exe"
check_contains "bidi: the alert's isolates and override shown as ?" "$(flat bidi1)" \
	"pay ?here?: invoice ?gpj.exe"
check_contains "bidi: a folder name decoding to U+202E is shown as sent" "$(flat bidi1)" "&IC4-gpj.exe"
for f in bidi1 bidi2 bidi3; do
	check "bidi: no bidi or zero-width character in $f's output" hidden "$W/$f" "$W/$f.err"
done

# --- 11: more than 1,000,000 UIDL entries; a {104857600} literal ------------------------
hostile pop3-uidl-many
run 60 uidl --report - --no-history --pop3 "$H:$hport/plain" "${ACC[@]}"
hostile_stop
no_crash uidl
check_contains "1,000,001 UIDL entries: a size limit" "$(flat uidl)" \
	"lists more than 1,000,000 messages in its UIDL reply, the most mailaudit reads"
check_contains "1,000,001 UIDL entries: status too-large" "$(cat "$W/uidl")" "Status: too-large"
check_not_contains "1,000,001 UIDL entries: not called malformed" "$(cat "$W/uidl")" "malformed"
hostile imap-literal-100m
run 20 lit --report - --no-history --imap "$H:$hport/plain" "${ACC[@]}"
hostile_stop
no_crash lit
check_contains "{104857600}: the size as announced" "$(flat lit)" \
	"announced a literal of 104857600 bytes"

tap_done
