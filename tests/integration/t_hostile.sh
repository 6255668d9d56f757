#!/bin/bash
# Hostile servers (tests/tools/hostile_server.py) against the session layer
# (session_probe) AND the real program (mailaudit --report -). For every
# scenario: a named error (the status name is printed by session_probe and
# shown as "Status: NAME" in the report), exit status < 128 (no signal, no
# crash), no sanitizer report on stderr, ended within the time bound, peak
# RSS (/usr/bin/time %M) printed as a diag and below 200 MB.
#
# One scenario also runs with a --state-dir holding a good earlier audit
# (from a server that behaves) and checks that history is intact after.
#
# The drip scenarios (one byte a second for ever) run concurrently to keep
# the suite short; each is killed after DRIP_KILL seconds if still running.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/report.sh"
top=$(cd "$here/../.." && pwd)
MAILAUDIT=${MAILAUDIT:-$top/build/mailaudit}
MA_TOOLS=${MA_TOOLS:-$top/build/tools}
probe="$MA_TOOLS/session_probe"
need python3 timeout || tap_bail "missing dependencies"
[ -x /usr/bin/time ] || tap_bail "/usr/bin/time missing (apt-get install time)"
[ -x "$probe" ] || tap_bail "session_probe not built ($probe)"
[ -x "$MAILAUDIT" ] || tap_bail "mailaudit not built ($MAILAUDIT)"

H=127.0.0.1
T=2                     # --timeout given to the programs
LIMIT_MS=8000           # every scenario must end within this (4 x timeout)
KILL_S=12               # outer safety net for a hang (then exit 137 -> not ok)
DRIP_KILL=9
MAX_RSS_KB=204800       # 200 MB

W=$(mktemp -d /tmp/ma-hostile.XXXXXX)
MA_HOSTILE_DIR=$W
. "$here/../lib/hostile.sh"
cleanup() {
	hostile_stop_all
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
printf 'secret-pw\n' >"$W/pw"
chmod 600 "$W/pw"
ACC=(--user u@example.test --password-file "$W/pw" --insecure --timeout "$T")

# hostile SCENARIO: starts a server, sets hport and hpid
hostile() { hostile_start "$1" || tap_bail "hostile server $1 did not start"; }
stop_hostile() { hostile_stop "$1"; }

# measure KILL_AFTER OUTFILE cmd...: runs cmd with stdout in OUTFILE, stderr in
# OUTFILE.err; sets rc, ms, rss_kb
measure() {
	local kill_after=$1 of=$2 t0 t1
	shift 2
	t0=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$of.rss" timeout -s KILL "$kill_after" "$@" >"$of" 2>"$of.err"
	rc=$?
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	rss_kb=$(tail -1 "$of.rss" 2>/dev/null)
	case "$rss_kb" in '' | *[!0-9]*) rss_kb=0 ;; esac
}

# common assertions after measure: label limit_ms
judge() {
	local label=$1 limit=$2 of=$3
	ok $(( rc < 128 ? 0 : 1 )) "$label: no crash, no hang (exit $rc)"
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|Aborted' "$of.err"; then
		fail "$label: sanitizer or crash report on stderr" "$(head -20 "$of.err")"
	else
		pass "$label: nothing from the sanitizers on stderr"
	fi
	ok $(( ms < limit ? 0 : 1 )) "$label: ended within $((limit / 1000)) s ($ms ms)"
	diag "$label: peak RSS $((rss_kb / 1024)) MB"
	ok $(( rss_kb > 0 && rss_kb < MAX_RSS_KB ? 0 : 1 )) "$label: peak RSS below 200 MB ($((rss_kb / 1024)) MB)"
}

# probe_case SCENARIO PROTO SEC WANT-REGEX [LIMIT_MS]
probe_case() {
	local sc=$1 proto=$2 sec=$3 want=$4 limit=${5:-$LIMIT_MS} of="$W/out.$1.$2"
	hostile "$sc"
	measure $((limit / 1000 + 4)) "$of" "$probe" --"$proto" "$H:$hport/$sec" "${ACC[@]}"
	stop_hostile "$hpid"
	if grep -qE "^$proto error ($want):" "$of"; then
		pass "probe $sc: $proto error $want"
	else
		fail "probe $sc: $proto error $want" "stdout: $(head -c 600 "$of")" "stderr: $(head -c 600 "$of.err")"
	fi
	judge "probe $sc" "$limit" "$of"
}

# audit_case SCENARIO PROTO SEC WANT-REGEX [LIMIT_MS] [extra mailaudit args...]
audit_case() {
	local sc=$1 proto=$2 sec=$3 want=$4 limit=${5:-$LIMIT_MS} of="$W/audit.$1.$2"
	shift 5 2>/dev/null || shift $#
	local extra=("$@")
	[ ${#extra[@]} -eq 0 ] && extra=(--no-history)
	hostile "$sc"
	measure $((limit / 1000 + 4)) "$of" "$MAILAUDIT" --report - "${extra[@]}" --"$proto" "$H:$hport/$sec" "${ACC[@]}"
	stop_hostile "$hpid"
	check_eq "mailaudit $sc: exit status 3 (UNKNOWN)" 3 "$rc"
	if grep -qE "Status: ($want)\$" "$of"; then
		pass "mailaudit $sc: report names $want"
	else
		fail "mailaudit $sc: report names $want" "report: $(grep -A3 '^Verdict' "$of" | head -5)" \
			"stderr: $(head -c 600 "$of.err")"
	fi
	judge "mailaudit $sc" "$limit" "$of"
}

both() { # SCENARIO PROTO WANT [LIMIT_MS]
	probe_case "$1" "$2" plain "$3" "${4:-$LIMIT_MS}"
	audit_case "$1" "$2" plain "$3" "${4:-$LIMIT_MS}"
}

# --- EOF at many points of the IMAP dialogue ---------------------------------
both imap-eof-greeting imap 'closed|greeting'
both imap-eof-capability imap closed
both imap-eof-after-login imap closed
both imap-eof-list imap closed
# The probe sends STATUS; an audit's first look at a folder does not (it
# reads the folder whole after EXAMINE).
probe_case imap-eof-status imap plain closed
both imap-eof-examine imap closed
both imap-eof-fetch imap closed
both imap-eof-fetch-literal imap closed

# --- a second connection that never answers -------------------------------------
# --report opens a second IMAP session once the folders are listed; a server
# (or a firewall) that lets the first in and leaves the second hanging must
# not hold the audit until the timeout: the first reads both folders, and
# the second, still waiting for its greeting, is abandoned (core/audit/look.c).
hostile imap-second-silent
measure 30 "$W/audit.second-silent" "$MAILAUDIT" --report - --no-history --imap "$H:$hport/plain" \
	"${ACC[@]}" --timeout 20
stop_hostile "$hpid"
ok $(( rc < 3 ? 0 : 1 )) "mailaudit imap-second-silent: the audit succeeds (exit $rc)"
check_contains "mailaudit imap-second-silent: Archive was read" "$(cat "$W/audit.second-silent")" "Archive"
judge "mailaudit imap-second-silent" 5000 "$W/audit.second-silent"

# --- our own UID FETCH reader: refusals, junk, foreign tags, BYE -------------
# A refusal or junk inside one folder's FETCH is a protocol error of that
# folder: the audit goes on (core/audit/look.c) and must only end cleanly.
probe_case imap-fetch-no imap plain protocol
check_contains "probe imap-fetch-no: the server's words are shown" "$(cat "$W/out.imap-fetch-no.imap")" \
	"refused UID FETCH: [SERVERBUG] Internal error occurred"
probe_case imap-fetch-garbage imap plain protocol
check_not_contains "probe imap-fetch-garbage: no control bytes in the error" \
	"$(LC_ALL=C tr -d '\n' <"$W/out.imap-fetch-garbage.imap")" "$(printf '\033')"
probe_case imap-fetch-unknown-tag imap plain protocol
probe_case imap-fetch-bye imap plain closed
check_contains "probe imap-fetch-bye: the BYE text is shown" "$(cat "$W/out.imap-fetch-bye.imap")" \
	"shutting down now"
audit_case imap-fetch-bye imap plain closed
for sc in imap-fetch-no imap-fetch-garbage imap-fetch-unknown-tag; do
	hostile "$sc"
	of="$W/audit.$sc"
	measure "$KILL_S" "$of" "$MAILAUDIT" --report - --no-history --imap "$H:$hport/plain" "${ACC[@]}"
	stop_hostile "$hpid"
	check_contains "mailaudit $sc: a report is written" "$(head -3 "$of")" "mailaudit"
	if [ "$sc" = imap-fetch-no ]; then
		# A folder-level error: the look goes on, and the report says which
		# folder was not read instead of counting it as checked.
		check_contains "mailaudit $sc: folder-unread names INBOX" "$(cat "$of")" \
			"folder-unread"$'\n'"  1 folder could not be read: INBOX"
		check_contains "mailaudit $sc: the server's words are the evidence" "$(cat "$of")" \
			"Internal error occurred"
		check_contains "mailaudit $sc: the Folders table says so" "$(cat "$of")" "could not be read"
		check_not_contains "mailaudit $sc: never OK" "$(cat "$of")" "Verdict: OK"
	fi
	judge "mailaudit $sc" "$LIMIT_MS" "$of"
done

# --- wrong tag, huge literal, 10 MB line -------------------------------------
both imap-wrong-tag imap 'protocol|read-timeout'
both imap-fetch-huge-literal imap too-large
both imap-longline imap 'too-large|read-timeout|protocol'

# --- POP3 UIDL: repeated message number, 71-character unique-id ---------------
both pop3-uidl-dup pop3 protocol
both pop3-uidl-long pop3 protocol

# --- folder names no terminal should see raw ----------------------------------
sc=imap-bad-names
hostile "$sc"
of="$W/out.$sc"
measure "$KILL_S" "$of" "$probe" --imap "$H:$hport/plain" "${ACC[@]}"
check_contains "probe $sc: the audit completes" "$(cat "$of")" "imap ok"
judge "probe $sc" "$LIMIT_MS" "$of"
of="$W/audit.$sc"
measure "$KILL_S" "$of" "$MAILAUDIT" --report - --no-history --imap "$H:$hport/plain" "${ACC[@]}"
stop_hostile "$hpid"
ok $(( rc < 3 ? 0 : 1 )) "mailaudit $sc: audit completes (exit $rc)"
judge "mailaudit $sc" "$LIMIT_MS" "$of"
check "mailaudit $sc: report is valid UTF-8" python3 -c 'import sys; open(sys.argv[1],"rb").read().decode("utf-8")' "$of"
if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$of" "$of.err"; then
	fail "mailaudit $sc: no control characters in the report or on stderr" \
		"$(LC_ALL=C grep -n "$(printf '[\001-\010\013-\037\177]')" "$of" "$of.err" | cat -v | head -5)"
else
	pass "mailaudit $sc: no control characters in the report or on stderr"
fi
check_contains "mailaudit $sc: valid modified UTF-7 still decoded" "$(cat "$of")" "日本語"
folders=$(sed -n '/^Folders/,/^IMAP INBOX/p' "$of")
diag "folders section as printed:" "$folders"
check_not_contains "mailaudit $sc: no raw 0xff in the report" "$(LC_ALL=C cat "$of")" "$(printf '\377')"

# --- 100,000 and 1,000,000 folders ----------------------------------------
# The IMAP code accepts up to 100,000 folders and names the error above that.
sc=imap-folders-100000
hostile "$sc"
of="$W/out.$sc"
measure 24 "$of" "$probe" --imap "$H:$hport/plain" "${ACC[@]}"
stop_hostile "$hpid"
check_contains "probe $sc: 100,000 folders accepted" "$(head -c 400 "$of")" "imap ok"
judge "probe $sc" 20000 "$of"
sc=imap-folders-1000000
probe_case "$sc" imap plain too-large 30000
check_contains "probe $sc: the error says which limit" "$(cat "$W/out.$sc.imap")" "one reply exceeded 8 MB"
audit_case "$sc" imap plain too-large 30000

# --- history survives a hostile server ----------------------------------------
# A good audit (hostile_server's well-behaved dialogue) is recorded; hostile
# audits with the same --state-dir must neither damage nor add to it.
SD="$W/state"
db="$SD/history.db"
hist() { # prints "integrity audits messages" of the history file
	python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute("PRAGMA integrity_check").fetchone()[0],
      c.execute("SELECT count(*) FROM audit").fetchone()[0],
      c.execute("SELECT count(*) FROM message").fetchone()[0])
PY
}
# One well-behaved server for both good audits: the history is kept per
# server (host and port), and a new one would start a history of its own.
hostile imap-ok; gport=$hport; gpid=$hpid
"$MAILAUDIT" --report - --state-dir "$SD" --now 1700000000 --imap "$H:$gport/plain" "${ACC[@]}" >"$W/good1" 2>&1
rc=$?
ok $(( rc < 3 ? 0 : 1 )) "history: a good audit of a well-behaved server (exit $rc)"
before=$(hist 2>&1)
check_eq "history: one audit, one message recorded" "ok 1 1" "$before"
for sc in imap-eof-fetch-literal imap-wrong-tag imap-fetch-huge-literal; do
	audit_case "$sc" imap plain "$(case $sc in imap-eof*) echo closed ;; imap-wrong-tag) echo 'protocol|read-timeout' ;; *) echo too-large ;; esac)" \
		"$LIMIT_MS" --state-dir "$SD" --now 1700000100 >/dev/null
	check_eq "history: intact and unchanged after $sc" "$before" "$(hist 2>&1)"
done
"$MAILAUDIT" --report - --state-dir "$SD" --now 1700000200 --imap "$H:$gport/plain" "${ACC[@]}" >"$W/good2" 2>&1
stop_hostile "$gpid"
check_contains "history: the next good audit still sees the first one" "$(sed -n '/^History/,$p' "$W/good2")" "2023-11-14"

# --- do no harm over POP3: LOGIN-DELAY and IN-USE --------------------------
# A server announcing LOGIN-DELAY n in CAPA would keep the user's own POP3
# program out for n s after any login: mailaudit must not log in (the
# server writes LOGGED-IN to its stderr on a successful PASS), must say
# why, and audits over IMAP alone. A login refused with [LOGIN-DELAY] or
# [IN-USE] is the same: POP3 left alone, nothing recorded for it.
pop3_alone() { # SCENARIO WANT-REGEX: a POP3-only audit
	local sc=$1 want=$2 of="$W/audit.$1.pop3only"
	hostile "$sc"
	measure "$KILL_S" "$of" "$MAILAUDIT" --report - --no-history --pop3 "$H:$hport/plain" "${ACC[@]}"
	stop_hostile "$hpid"
	check_eq "mailaudit $sc: POP3 alone was not audited: exit status 3 (UNKNOWN)" 3 "$rc"
	if grep -qiE "$want" "$of"; then
		pass "mailaudit $sc: the report says why ($want)"
	else
		fail "mailaudit $sc: the report says why ($want)" "report: $(head -c 1500 "$of")"
	fi
	[ "$sc" = pop3-login-delay ] &&
		check_not_contains "mailaudit $sc: no POP3 login" "$(cat "$W/$sc.err")" "LOGGED-IN"
	judge "mailaudit $sc" "$LIMIT_MS" "$of"
}
pop3_alone pop3-login-delay 'LOGIN-DELAY'
check_contains "mailaudit pop3-login-delay: the announced delay is named" \
	"$(tr '\n' ' ' <"$W/audit.pop3-login-delay.pop3only" | tr -s ' ')" "LOGIN-DELAY 60"
# The findings themselves: POP3 left alone on purpose is pop3-login-delay
# (INFO), never pop3-failed; a locked mailbox is pop3-in-use. Without an
# IMAP server nothing was audited over IMAP, and the finding must not say
# it was.
REPORT=$(cat "$W/audit.pop3-login-delay.pop3only")
block=$(finding pop3-login-delay)
check_contains "mailaudit pop3-login-delay: pop3-login-delay finding (INFO)" "$block" "INFO pop3-login-delay"
check_contains "mailaudit pop3-login-delay: the finding names the announced delay" "$block" "LOGIN-DELAY 60"
check_eq "mailaudit pop3-login-delay: not pop3-failed" "" "$(finding pop3-failed)"
check_not_contains "mailaudit pop3-login-delay without IMAP: the finding does not claim an IMAP audit" \
	"$block" "audited over IMAP alone"
pop3_alone pop3-login-delay-err 'LOGIN-DELAY'
REPORT=$(cat "$W/audit.pop3-login-delay-err.pop3only")
block=$(finding pop3-login-delay)
check_contains "mailaudit pop3-login-delay-err: pop3-login-delay finding with the server's words" "$block" \
	"[LOGIN-DELAY] wait a minute"
check_eq "mailaudit pop3-login-delay-err: not pop3-failed" "" "$(finding pop3-failed)"
check_not_contains "mailaudit pop3-login-delay-err without IMAP: the finding does not claim an IMAP audit" \
	"$block" "audited over IMAP alone"
pop3_alone pop3-in-use-err 'IN-USE|locked'
REPORT=$(cat "$W/audit.pop3-in-use-err.pop3only")
check_contains "mailaudit pop3-in-use-err: pop3-in-use with the server's words" "$(finding pop3-in-use)" \
	"[IN-USE] mailbox locked"
check_eq "mailaudit pop3-in-use-err: not pop3-failed" "" "$(finding pop3-failed)"

# With IMAP: the audit goes on over IMAP alone and records no POP3 view
# (an empty one would make the next audit see every POP3 message gone).
SD2="$W/state-pop3"
for sc in pop3-login-delay pop3-login-delay-err pop3-in-use-err; do
	hostile imap-ok; iport=$hport; ipid=$hpid
	hostile "$sc"; pport=$hport; ppid=$hpid
	of="$W/audit.$sc.both"
	measure "$KILL_S" "$of" "$MAILAUDIT" --report - --state-dir "$SD2" --imap "$H:$iport/plain" \
		--pop3 "$H:$pport/plain" "${ACC[@]}"
	stop_hostile "$ppid"
	stop_hostile "$ipid"
	ok $(( rc < 3 ? 0 : 1 )) "mailaudit $sc with IMAP: audited over IMAP alone (exit $rc)"
	grep -qE '^ +INBOX +1 ' "$of"
	ok $? "mailaudit $sc with IMAP: INBOX was read"
	[ "$sc" = pop3-login-delay ] &&
		check_not_contains "mailaudit $sc with IMAP: no POP3 login" "$(cat "$W/$sc.err")" "LOGGED-IN"
	REPORT=$(cat "$of")
	check_eq "mailaudit $sc with IMAP: not pop3-failed" "" "$(finding pop3-failed)"
	case $sc in
	pop3-login-delay)
		check_contains "mailaudit $sc with IMAP: pop3-login-delay names the delay" \
			"$(finding pop3-login-delay)" "announces LOGIN-DELAY 60" ;;
	pop3-login-delay-err)
		check_contains "mailaudit $sc with IMAP: pop3-login-delay with the server's words" \
			"$(finding pop3-login-delay)" "[LOGIN-DELAY] wait a minute" ;;
	pop3-in-use-err)
		check_contains "mailaudit $sc with IMAP: pop3-in-use with the server's words" \
			"$(finding pop3-in-use)" "WARNING pop3-in-use" ;;
	esac
	judge "mailaudit $sc with IMAP" "$LIMIT_MS" "$of"
done
views=$(python3 - "$SD2/history.db" <<'PY'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(c.execute("SELECT count(*) FROM audit").fetchone()[0], c.execute("SELECT count(*) FROM pop3_view").fetchone()[0])
PY
)
check_eq "history: three audits recorded, no POP3 view among them" "3 0" "$views"

# --pop3-despite-login-delay: the user's choice to log in anyway. POP3 is
# then audited (its STAT shown) and nothing says it was left alone.
sc=pop3-login-delay
hostile "$sc"
of="$W/audit.$sc.despite"
measure "$KILL_S" "$of" "$MAILAUDIT" --report - --no-history --pop3-despite-login-delay \
	--pop3 "$H:$hport/plain" "${ACC[@]}"
stop_hostile "$hpid"
check_contains "mailaudit $sc --pop3-despite-login-delay: logs in" "$(cat "$W/$sc.err")" "LOGGED-IN"
grep -qE '^  POP3 \(STAT\) +2 ' "$of"
ok $? "mailaudit $sc --pop3-despite-login-delay: POP3 audited (STAT 2 in the report)"
REPORT=$(cat "$of")
check_eq "mailaudit $sc --pop3-despite-login-delay: no pop3-login-delay finding" "" "$(finding pop3-login-delay)"
judge "mailaudit $sc --pop3-despite-login-delay" "$LIMIT_MS" "$of"
hostile imap-ok; iport=$hport; ipid=$hpid
hostile "$sc"; pport=$hport; ppid=$hpid
of="$W/audit.$sc.despite.both"
measure "$KILL_S" "$of" "$MAILAUDIT" --report - --no-history --pop3-despite-login-delay \
	--imap "$H:$iport/plain" --pop3 "$H:$pport/plain" "${ACC[@]}"
stop_hostile "$ppid"
stop_hostile "$ipid"
ok $(( rc < 3 ? 0 : 1 )) "mailaudit $sc --pop3-despite-login-delay with IMAP: the audit completes (exit $rc)"
check_contains "mailaudit $sc --pop3-despite-login-delay with IMAP: logs in" "$(cat "$W/$sc.err")" "LOGGED-IN"
grep -qE '^  POP3 \(STAT\) +2 ' "$of"
ok $? "mailaudit $sc --pop3-despite-login-delay with IMAP: POP3 audited (STAT 2 in the report)"
REPORT=$(cat "$of")
check_eq "mailaudit $sc --pop3-despite-login-delay with IMAP: no pop3-login-delay finding" "" \
	"$(finding pop3-login-delay)"
judge "mailaudit $sc --pop3-despite-login-delay with IMAP" "$LIMIT_MS" "$of"

# --- IMAP [ALERT] ----------------------------------------------------------
# RFC 3501 7.1: an [ALERT] must reach the user. The session keeps each text
# once (session_probe prints them with control bytes as \xNN), all of a
# response's: EXAMINE's reply carries two (libetpan alone keeps only the
# last; the transport finds them all).
sc=imap-alert
hostile "$sc"
of="$W/out.$sc"
measure "$KILL_S" "$of" "$probe" --imap "$H:$hport/plain" "${ACC[@]}"
check_contains "probe $sc: the audit completes" "$(cat "$of")" "imap ok"
check_contains "probe $sc: the LOGIN alert is kept" "$(cat "$of")" \
	"imap alert Your mailbox is 95% full -- contact your administrator"
check_contains "probe $sc: EXAMINE's first alert is kept" "$(cat "$of")" \
	"imap alert Maintenance tonight at 22:00"
check_contains "probe $sc: EXAMINE's second alert is kept, raw" "$(cat "$of")" 'imap alert evil \x1b[31m red'
check_eq "probe $sc: EXAMINE's alerts in the order sent" \
	"$(printf '%s\n' 'imap alert Maintenance tonight at 22:00' 'imap alert evil \x1b[31m red')" \
	"$(grep -e '^imap alert Maintenance' -e '^imap alert evil' "$of")"
check_eq "probe $sc: each text once" 1 "$(grep -c '^imap alert Your mailbox' "$of")"
diag "alerts kept: $(grep '^imap alert' "$of")"
judge "probe $sc" "$LIMIT_MS" "$of"
of="$W/audit.$sc"
measure "$KILL_S" "$of" "$MAILAUDIT" --report - --no-history --imap "$H:$hport/plain" "${ACC[@]}"
stop_hostile "$hpid"
ok $(( rc < 3 ? 0 : 1 )) "mailaudit $sc: audit completes (exit $rc)"
if LC_ALL=C grep -q "$(printf '[\001-\010\013-\037\177]')" "$of" "$of.err"; then
	fail "mailaudit $sc: no control characters in the report or on stderr" \
		"$(LC_ALL=C grep -n "$(printf '[\001-\010\013-\037\177]')" "$of" "$of.err" | cat -v | head -5)"
else
	pass "mailaudit $sc: no control characters in the report or on stderr"
fi
# The report shows the alerts: in the server-alert finding (WARNING) and
# near the top, each cleaned (the ESC byte shown as ?), both of EXAMINE's.
REPORT=$(cat "$of")
block=$(finding server-alert)
check_contains "mailaudit $sc: server-alert finding (WARNING)" "$block" "WARNING server-alert"
check_contains "mailaudit $sc: server-alert shows the LOGIN alert word for word" "$block" \
	"[ALERT] Your mailbox is 95% full -- contact your administrator"
check_contains "mailaudit $sc: server-alert shows EXAMINE's first alert" "$block" \
	"[ALERT] Maintenance tonight at 22:00"
check_contains "mailaudit $sc: server-alert shows EXAMINE's second alert, ESC replaced by ?" "$block" \
	"[ALERT] evil ?[31m red"
check_not_contains "mailaudit $sc: no ESC byte in the report" "$REPORT" "$(printf '\033')"
check_contains "mailaudit $sc: the alert near the top of the report" "$(head -12 "$of")" \
	"Alert:     Your mailbox is 95% full -- contact your administrator"
check_eq "mailaudit $sc: verdict WARNING (exit 1)" 1 "$rc"
judge "mailaudit $sc" "$LIMIT_MS" "$of"

# --- slow drip: one byte a second, for ever; an endless line -----------------
# --timeout is an idle timeout per read; a server that sends one byte per
# second never lets it expire. The session must still end: either a session
# deadline or a limit on how long one reply may take.
drip() { # label proto cmd...
	local label=$1 of="$W/drip.$1"
	shift
	measure "$DRIP_KILL" "$of" "$@"
	echo "$rc $ms $rss_kb" >"$of.res"
}
hostile imap-drip; dport_i=$hport; dpid_i=$hpid
hostile pop3-drip; dport_p=$hport; dpid_p=$hpid
drip probe-imap "$probe" --imap "$H:$dport_i/plain" "${ACC[@]}" &
j1=$!
drip probe-pop3 "$probe" --pop3 "$H:$dport_p/plain" "${ACC[@]}" &
j2=$!
drip mailaudit-imap "$MAILAUDIT" --report - --no-history --imap "$H:$dport_i/plain" "${ACC[@]}" &
j3=$!
# Meanwhile: an IMAP line that does not end (300 MB at full speed, then
# silence). Memory must stay bounded: a reply limit, not the idle timeout.
hostile imap-endless-line; eport=$hport; epid=$hpid
measure "$DRIP_KILL" "$W/endless" "$probe" --imap "$H:$eport/plain" "${ACC[@]}"
stop_hostile "$epid"
if grep -qE '^imap error (too-large|read-timeout|protocol):' "$W/endless"; then
	pass "probe imap-endless-line: named error ($(cut -d: -f1 "$W/endless"))"
else
	fail "probe imap-endless-line: named error" "$(head -c 300 "$W/endless")"
fi
judge "probe imap-endless-line" "$LIMIT_MS" "$W/endless"
wait $j1 $j2 $j3
stop_hostile "$dpid_i"
stop_hostile "$dpid_p"
for l in probe-imap probe-pop3 mailaudit-imap; do
	read -r rc ms rss_kb <"$W/drip.$l.res"
	of="$W/drip.$l"
	diag "drip $l: exit $rc after $ms ms; output: $(head -c 200 "$of") $(grep '^  Status' "$of")"
	ok $(( rc < 128 ? 0 : 1 )) "drip $l: ends by itself, not killed after ${DRIP_KILL} s (exit $rc, $ms ms)"
	ok $(( ms < LIMIT_MS ? 0 : 1 )) "drip $l: ended within $((LIMIT_MS / 1000)) s with --timeout $T ($ms ms)"
done

tap_done
