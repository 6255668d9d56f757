#!/bin/bash
# Local input the user writes by hand or the machine gets wrong: the accounts
# file, -a, password files and commands, the state directory, a full disk
# and the report path. Every case: the documented exit status (3 = could not
# audit; a history that cannot be written is the history-failed finding,
# verdict at least WARNING, docs/findings.md), a message naming the problem,
# no crash, and never the password in any output.
#
# The disk-full cases mount a small tmpfs (needs root, as the whole suite
# does for Dovecot); where mount is refused they are reported as TAP SKIP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
top=$(cd "$here/../.." && pwd)
MAILAUDIT=${MAILAUDIT:-$top/build/mailaudit}
need python3 timeout || tap_bail "missing dependencies"
[ -x "$MAILAUDIT" ] || tap_bail "mailaudit not built ($MAILAUDIT)"

W=$(mktemp -d /tmp/ma-local.XXXXXX)
MNT="$W/full"
MA_HOSTILE_DIR=$W
. "$here/../lib/hostile.sh"
cleanup() {
	hostile_stop_all
	mountpoint -q "$MNT" 2>/dev/null && umount "$MNT"
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || tap_bail "no temp dir"

SECRET='Zq7-local-S3cret-pw'
printf '%s\n' "$SECRET" >pw
chmod 600 pw
ALL_OUT="$W/all-output"
: >"$ALL_OUT"

# run NAME args...: runs mailaudit (bounded), sets rc, out, err
run() {
	local name=$1
	shift
	timeout -s KILL 20 "$MAILAUDIT" "$@" >"$W/o.$name" 2>"$W/e.$name"
	rc=$?
	out=$(cat "$W/o.$name")
	err=$(cat "$W/e.$name")
	cat "$W/o.$name" "$W/e.$name" >>"$ALL_OUT"
}
# expect NAME WANT-RC STDERR-NEEDLE args...
expect() {
	local name=$1 want=$2 needle=$3
	shift 3
	run "$name" "$@"
	check_eq "$name: exit status $want" "$want" "$rc"
	check_contains "$name: stderr says so" "$err" "$needle"
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/e.$name"; then
		fail "$name: sanitizer report" "$(head -20 "$W/e.$name")"
	fi
}

# --- the accounts file -------------------------------------------------------
cfg() { printf "$2" >"$W/$1.conf"; }
NOSRV=(--report - --no-history)
cfg unknown '[account a]\nlogin = u@x.test\nimapp = h\n'
expect "config: unknown key" 3 'unknown.conf:3: unknown key "imapp"' "${NOSRV[@]}" -a a -c unknown.conf
cfg before '# top\nimap = h\n[account a]\n'
expect "config: key before section" 3 'before.conf:2: "imap" before any [account NAME] line' "${NOSRV[@]}" -a a -c before.conf
cfg endpoint '[account a]\nlogin = u@x.test\nimap = h:99999/tls\n'
expect "config: bad endpoint" 3 'endpoint.conf:3: imap: The port "99999"' "${NOSRV[@]}" -a a -c endpoint.conf
cfg badsec '[account a]\nlogin = u@x.test\nimap = h/tsl\n'
expect "config: bad security word" 3 'badsec.conf:3: imap:' "${NOSRV[@]}" -a a -c badsec.conf
cfg dup '[account work]\nlogin = u@x.test\nimap = h\n\n[account Work]\nimap = h\n'
expect "config: duplicate account (case-insensitive)" 3 'dup.conf:5: account "' "${NOSRV[@]}" -a work -c dup.conf
check_contains "config: duplicate account names the first line" "$err" "already defined on line 1"
cfg dupkey '[account a]\nimap = h\nimap = h2\n'
expect "config: duplicate key" 3 'dupkey.conf:3: "imap" is already set for account "a" on line 2' "${NOSRV[@]}" -a a -c dupkey.conf
cfg nosrv '[account a]\nlogin = u@x.test\n'
expect "config: account without a server" 3 'nosrv.conf:1: account "a" has neither imap nor pop3' "${NOSRV[@]}" -a a -c nosrv.conf
cfg both '[account a]\nlogin = u\nimap = h\npassword_file = /x\npassword_command = cat /x\n'
expect "config: two password sources" 3 'both.conf:5:' "${NOSRV[@]}" -a a -c both.conf
# a password written into the file, or pasted as a line: never echoed
cfg pwkey "[account a]\nlogin = u\nimap = h\npassword = $SECRET\n"
expect "config: password key refused" 3 'pwkey.conf:4: unknown key "password": passwords are not kept in this file' "${NOSRV[@]}" -a a -c pwkey.conf
cfg pasted "[account a]\nlogin = u\n$SECRET\nimap = h\n"
expect "config: pasted line not repeated" 3 'pasted.conf:3: expected "key = value"' "${NOSRV[@]}" -a a -c pasted.conf
cfg ctl '[account a]\nlogin = u\x1b[2J\nimap = h\n'
expect "config: control character in a value" 3 'ctl.conf:2: the value of "login" contains a control character' "${NOSRV[@]}" -a a -c ctl.conf
printf '[account a]\nlogin = u\nimap = h\n%05000d\n' 0 >"$W/long.conf"
expect "config: over-long line" 3 'long.conf:4: the line is longer than 4096 bytes' "${NOSRV[@]}" -a a -c long.conf
printf '[account a]\nlogin = u\0\nimap = h\n' >"$W/nul.conf"
expect "config: NUL byte" 3 'nul.conf:2: the line contains a NUL byte' "${NOSRV[@]}" -a a -c nul.conf
head -c 1100000 /dev/zero | tr '\0' '#' >"$W/big.conf"
expect "config: file over 1 MiB" 3 'larger than 1 MiB' "${NOSRV[@]}" -a a -c big.conf
expect "config: missing -c file" 3 'cannot open the config file' "${NOSRV[@]}" -a a -c "$W/missing.conf"
expect "config: -c names a directory" 3 'is a directory' "${NOSRV[@]}" -a a -c "$W"
cfg good '[account a]\nlogin = u@x.test\nimap = 127.0.0.1:1/plain\n'
expect "-a of an account not in the file" 3 'no account "nobody" in the accounts file' "${NOSRV[@]}" -a nobody -c good.conf

# --- the password --------------------------------------------------------------
SRV=(--report - --no-history --imap 127.0.0.1:1/plain --user u@x.test --timeout 2)
expect "password file missing" 3 "cannot read the password file $W/nope" "${SRV[@]}" --password-file "$W/nope"
: >"$W/plainfile"
expect "password file unreadable (path through a regular file)" 3 "cannot read the password file $W/plainfile/pw: Not a directory" \
	"${SRV[@]}" --password-file "$W/plainfile/pw"
expect "password file is a directory" 3 "is not a regular file" "${SRV[@]}" --password-file "$W"
cp pw pw644
chmod 644 pw644
expect "password file mode 0644 refused" 3 "can be read by other users (mode 644); run: chmod 600 $W/pw644" \
	"${SRV[@]}" --password-file "$W/pw644"
: >"$W/pwempty"
chmod 600 "$W/pwempty"
expect "password file empty" 3 "the password file gave an empty password" "${SRV[@]}" --password-file "$W/pwempty"
expect "password command fails (exit 1)" 3 "the password command failed (exit status 1)" \
	"${SRV[@]}" --password-command "echo oops >&2; exit 1"
expect "password command prints nothing" 3 "the password command gave an empty password" \
	"${SRV[@]}" --password-command "true"
marker="sleep 100.$$"
t0=$(date +%s%N)
expect "password command hangs: killed at --timeout" 3 "the password command did not answer within 2 seconds" \
	"${SRV[@]}" --password-command "$marker; echo late"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
ok $(( ms < 5000 ? 0 : 1 )) "password command hangs: mailaudit returned after $ms ms (--timeout 2)"
# The group was killed before mailaudit returned; give the kernel a moment
# (polled) to take the processes away.
no_proc() { ! pgrep -f "$1" >/dev/null; }
ma_wait 10 no_proc "$marker"
if pgrep -f "$marker" >/dev/null; then
	fail "password command hangs: its process group was killed" "$(pgrep -af "$marker")"
	pkill -KILL -f "^$marker\$" 2>/dev/null # only the exact command this test started
else
	pass "password command hangs: its process group was killed"
fi
expect "password command: background child holding stdout, killed at --timeout" 3 "did not answer within 2 seconds" \
	"${SRV[@]}" --password-command "sleep 100.1$$ & exit 0"
ma_wait 10 no_proc "sleep 100.1$$"
if pgrep -f "sleep 100.1$$" >/dev/null; then fail "background child of the password command killed"; else
	pass "background child of the password command killed"; fi
expect "password on the command line refused, not repeated" 3 "a password is never given on the command line" \
	"${SRV[@]}" --password-file pw "$SECRET"
expect "unknown option: its value is not repeated" 3 "unknown option '--password'" \
	"${SRV[@]}" --password-file pw "--password=$SECRET"

# --- a server that behaves, for the local-output cases -----------------------
hostile_start imap-ok || tap_bail "hostile_server imap-ok did not start"
port=$hport
A=(--imap "127.0.0.1:$port/plain" --insecure --user u@x.test --password-file "$W/pw" --timeout 2)

# --- the state directory ---------------------------------------------------------
run "state dir under a regular file" --report - --state-dir "$W/plainfile/state" "${A[@]}"
check_eq "state dir under a regular file: exit 1 (history-failed makes it WARNING)" 1 "$rc"
check_contains "state dir under a regular file: finding history-failed" "$out" "history-failed"
check_contains "state dir under a regular file: the path and reason are named" "$out" "$W/plainfile/state"
mkdir -p "$W/ro" && chmod 0500 "$W/ro"
run "state dir is a file" --report - --state-dir "$W/plainfile" "${A[@]}"
check_eq "state dir is a file: exit 1" 1 "$rc"
check_contains "state dir is a file: history-failed" "$out" "history-failed"

# --- the report path -----------------------------------------------------------
mkdir -p "$W/repdir"
expect "report path is a directory" 3 "cannot write the report to $W/repdir: it is a directory" \
	--report "$W/repdir" --no-history "${A[@]}"
check_eq "report path is a directory: directory left empty" "" "$(ls -A "$W/repdir")"
expect "report path under a regular file" 3 "cannot write the report to $W/plainfile/r.txt" \
	--report "$W/plainfile/r.txt" --no-history "${A[@]}"

# --- disk full: report and history -------------------------------------------
mkdir -p "$MNT"
if mount -t tmpfs -o size=256k,mode=0700 tmpfs "$MNT" 2>"$W/mount.err"; then
	fill() { # fills MNT to the last block
		dd if=/dev/zero of="$MNT/fill.$1" bs=4k 2>/dev/null
		dd if=/dev/zero of="$MNT/fill.$1b" bs=512 2>/dev/null
		return 0
	}
	# Report: an old report must survive a failed rewrite, no temp file left.
	printf 'OLD REPORT\n' >"$MNT/report.txt"
	fill 1
	expect "disk full while writing the report" 3 "$MNT/report.txt" --report "$MNT/report.txt" --no-history "${A[@]}"
	check_eq "disk full: the old report is intact" "OLD REPORT" "$(cat "$MNT/report.txt")"
	check_eq "disk full: no temporary or partial file left" "fill.1 fill.1b report.txt" "$(ls -A "$MNT" | tr '\n' ' ' | sed 's/ $//')"
	rm -f "$MNT"/fill.* "$MNT/report.txt"

	# History: a good audit on the normal disk, copied into the tmpfs, the
	# rest filled; the next audit fails to record but the old one stays.
	run "history: good first audit" --report - --state-dir "$W/state" --now 1700000000 "${A[@]}"
	ok $(( rc < 3 ? 0 : 1 )) "history: good first audit recorded (exit $rc)"
	mkdir -m 0700 "$MNT/state"
	cp -a "$W/state/." "$MNT/state/"
	# mailaudit leaves the WAL checkpoint to the next audit, which would
	# then write into the WAL's space already taken: checkpoint the copy
	# (a plain connection also removes the WAL), so the next audit needs
	# new space.
	python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("PRAGMA wal_checkpoint(TRUNCATE)"); c.close()' \
		"$MNT/state/history.db"
	hist() {
		python3 - "$1" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute("PRAGMA integrity_check").fetchone()[0], c.execute("SELECT count(*) FROM audit").fetchone()[0])
PY
	}
	check_eq "history: copy readable before" "ok 1" "$(hist "$MNT/state/history.db" 2>&1)"
	fill 2
	run "history: disk full" --report - --state-dir "$MNT/state" --now 1700000100 "${A[@]}"
	diag "disk-full audit: exit $rc; $(grep -m1 -A1 'history-failed' "$W/o.history: disk full")"
	ok $(( rc >= 1 && rc < 128 ? 0 : 1 )) "history: disk full is not OK and not a crash (exit $rc)"
	check_contains "history: disk full is the history-failed finding" "$out" "history-failed"
	rm -f "$MNT"/fill.*
	check_eq "history: the previous audit is intact after the disk-full run" "ok 1" "$(hist "$MNT/state/history.db" 2>&1)"
	run "history: after space is back" --report - --state-dir "$MNT/state" --now 1700000200 "${A[@]}"
	check_contains "history: the next audit sees the first" "$(sed -n '/^History/,$p' "$W/o.history: after space is back")" "2023-11-14"
	umount "$MNT"
else
	pass "disk full cases # SKIP cannot mount a tmpfs: $(head -1 "$W/mount.err")"
fi

# --- the password never shows ------------------------------------------------
check_not_contains "the password appears in no output of any case" "$(cat "$ALL_OUT")" "$SECRET"

tap_done
