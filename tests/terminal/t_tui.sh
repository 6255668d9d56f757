#!/bin/bash
# The full-screen program, driven through a detached tmux (private socket)
# against the private Dovecot: screens, views, keys, export, resize, colour
# and locale fallbacks, and the terminal left sane on every way out.
# Waits poll the screen (bounded); nothing relies on fixed sleeps.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
need tmux dovecot python3 dnsmasq || tap_bail "missing dependencies"
MAILAUDIT=${MAILAUDIT:-$here/../../build/mailaudit}
[ -x "$MAILAUDIT" ] || tap_bail "no binary at $MAILAUDIT"

dovecot_start || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"

W=$(mktemp -d "$MA_TMP/tui.XXXXXX")
mkdir -p "$W/config"
export XDG_CONFIG_HOME="$W/config" XDG_STATE_HOME="$W/state" HOME="$W"
SOCK=matest$$
T() { tmux -L "$SOCK" "$@"; }
HANG_PID=
DNS_PID=
MUTE_PID=
cleanup() {
	T kill-server 2>/dev/null
	[ -n "$HANG_PID" ] && kill "$HANG_PID" 2>/dev/null
	[ -n "$DNS_PID" ] && kill "$DNS_PID" 2>/dev/null
	[ -n "$MUTE_PID" ] && kill "$MUTE_PID" 2>/dev/null
	dovecot_stop_all
}
trap cleanup EXIT

ACCT=(--imap "127.0.0.1:$MA_IMAPS_PORT" --pop3 "127.0.0.1:$MA_POP3S_PORT" --user "$MA_USER"
	--password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10)

screen() { T capture-pane -p -t tui; }

# Every wait polls the screen against a wall-clock deadline (tests/lib/wait.sh).
# Deadlines are at least 20 s: on a loaded 2-core machine an audit or a
# tmux round trip takes far longer than on an idle one; a screen that is
# right returns at once.
shows() { screen | grep -qF -- "$1"; }
hides() { ! shows "$1"; }
# wait_for TEXT [SECONDS]: until the screen shows TEXT (fixed string).
wait_for() {
	local s=${2:-20}
	[ "$s" -lt 20 ] && s=20
	ma_wait "$s" shows "$1"
}
# expect NAME TEXT: a test that the screen shows TEXT, with the screen on failure.
expect() {
	if wait_for "$2" "${3:-20}"; then pass "$1"; else fail "$1" "waited for: $2" "$(screen)"; fi
}
# gone NAME TEXT: the screen stops showing TEXT.
gone() {
	if ma_wait 20 hides "$2"; then pass "$1"; else fail "$1" "still shown: $2" "$(screen)"; fi
}

# A shell in an 80x24 pane; each run is typed into it, so after the program
# ends the same terminal can be inspected with stty.
T new-session -d -s tui -x 80 -y 24 "env PS1='$ ' bash --norc --noprofile" || tap_bail "tmux failed"
run=0
shell_cmd() { # command line for the pane's shell; waits until it has finished
	run=$((run + 1))
	T send-keys -t tui -l "clear; $1; echo END-$run"
	T send-keys -t tui Enter
}
# Each program's stderr (sanitizer reports) and exit status go to files
# checked at the end: the pane shows neither once the screen is cleared.
in_pane() { # command line; the program is left running
	T send-keys -t tui -l "clear; $1 2>>$W/stderr.log; echo \$? >>$W/status.log"
	T send-keys -t tui Enter
}
no_child() { ! pgrep -P "$1" >/dev/null; }
prog_gone() { # NAME: no program left under the pane's shell
	local sp
	sp=$(T display -p -t tui '#{pane_pid}')
	if ma_wait 20 no_child "$sp"; then pass "$1"; else fail "$1" "still running: $(pgrep -a -P "$sp")"; fi
}
quote() { printf '%q ' "$@"; }
sane_tty() { # NAME
	shell_cmd "stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e echo | sort | tr '\n' ' '"
	expect "$1" "echo icanon END-$run" 5
}

hist_audits() { # state dir -> number of recorded audits (0 without a file or table)
	local db=$1/history.db
	[ -f "$db" ] || { echo 0; return; }
	if command -v sqlite3 >/dev/null 2>&1; then
		sqlite3 "$db" "select count(*) from audit" 2>/dev/null || echo 0
		return
	fi
	python3 - "$db" <<'PY'
import sqlite3, sys
try:
    print(sqlite3.connect(sys.argv[1]).execute("select count(*) from audit").fetchone()[0])
except sqlite3.OperationalError:
    print(0)
PY
}

# --- a full account on the command line starts at once -----------------------------
S1="$W/s1"
in_pane "$(quote "$MAILAUDIT" "${ACCT[@]}" --state-dir "$S1")"
if wait_for "Verdict:" 15; then
	pass "verdict appears"
else
	fail "verdict appears" "$(screen)"
	tap_bail "no results screen"
fi
line=$(screen | grep "^Verdict:")
if echo "$line" | grep -qE '^Verdict: (OK|WARNING|CRITICAL|UNKNOWN)( - |$)'; then
	pass "verdict in words"
else
	fail "verdict in words" "$line"
fi
check_eq "a finished audit records history (control)" "1" "$(hist_audits "$S1")"
check_contains "80x24: the verdict wraps rather than being cut" "$(screen | sed -n 2,3p)" "  the next audit on)"
check_contains "tabs name every view" "$(screen)" "1 Findings   2 Folders   3 IMAP vs POP3   4 Connection   5 History   6 Report"

# --- each view -------------------------------------------------------------------------
T send-keys -t tui 2; expect "view 2: folders table" "Odeslaná pošta"
check_contains "view 2: columns" "$(screen)" "Messages  Unseen"
check_contains "view 2: total" "$(screen)" "Total"
T send-keys -t tui 3; expect "view 3: IMAP vs POP3" "POP3 (STAT)"
T send-keys -t tui 4; expect "view 4: connection" "Verified:   yes"
T send-keys -t tui G; wait_for "Received in all:"
if screen | grep -qE "Received in all: [0-9.]+ (KB|MB)"; then
	pass "view 4: what was received, counted"
else
	fail "view 4: what was received, counted" "$(screen | grep 'Received in all')"
fi
T send-keys -t tui g
T send-keys -t tui 5; expect "view 5: history" "Started    "
check_contains "view 5: bar chart" "$(screen)" "|####"
T send-keys -t tui 6; expect "view 6: report" "Account:   $MA_USER"
T send-keys -t tui 1; expect "view 1: findings detail" "Why it matters:"
T send-keys -t tui Tab; expect "Tab: next view" "Folder  "
T send-keys -t tui BTab; expect "Shift-Tab: previous view" "What to do:"
T send-keys -t tui j; expect "j moves to the next finding" "OK (all-clear)"

# --- p: the connection test -------------------------------------------------------------
# Account ports replace the standard ones of the cell with that security;
# the other cells try the standard ports on 127.0.0.1, closed here. SMTP
# has no server of its own, so it is tried on the IMAP host.
T send-keys -t tui 4; expect "view 4 before a test: says how" "Press p to test every port and security combination"
T send-keys -t tui p; expect "p: the test finishes" "Connection test done in" 20
row() { # NAME REGEX: a matrix row on the screen
	if screen | grep -qE -- "$2"; then pass "$1"; else fail "$1" "no line matching: $2" "$(screen)"; fi
}
row "probe: IMAP SSL/TLS works, login accepted" "^IMAP +$MA_IMAPS_PORT +SSL/TLS +works, login accepted"
row "probe: POP3 SSL/TLS works, login accepted" "^POP3 +$MA_POP3S_PORT +SSL/TLS +works, login accepted"
row "probe: IMAP 143 closed" "^IMAP +143 +STARTTLS +closed"
row "probe: POP3 110 closed" "^POP3 +110 +STARTTLS +closed"
row "probe: SMTP 465 closed, in words" "^SMTP +465 +SSL/TLS +closed \\(nothing listens on this port\\)"
row "probe: SMTP 587 closed, in words" "^SMTP +587 +STARTTLS +closed \\(nothing listens on this port\\)"
check_contains "probe: says where SMTP was tried" "$(screen)" "SMTP: no server configured, tried on the IMAP server."
T send-keys -t tui /; T send-keys -t tui -l "closed or silent"; T send-keys -t tui Enter
expect "probe: findings are searchable" 'Found "closed or silent"'
check_contains "probe: a finding says why it matters" "$(screen)" "Why it matters:"
check_contains "probe: and what to do" "$(screen)" "What to do:"
T send-keys -t tui /; T send-keys -t tui -l "Why it matters"; T send-keys -t tui Enter
T send-keys -t tui n; expect "probe: n goes on to the next finding" "These are the combinations that worked"
T send-keys -t tui /; T send-keys -t tui -l "The audit's connection"; T send-keys -t tui Enter
expect "probe: the audit's part follows" "Found \"The audit's connection\""
check_contains "probe: with its certificates" "$(screen)" "Verified:   yes"
T send-keys -t tui 1

# --- help and search ----------------------------------------------------------------------
T send-keys -t tui '?'; expect "? shows help" "Export the report to a file"
T send-keys -t tui G; expect "help scrolls to its end" "Ctrl-L"
T send-keys -t tui Escape; gone "Esc closes help" "Export the report to a file"
T send-keys -t tui 2 /; expect "/ opens the search prompt" "Search:"
T send-keys -t tui -l Archive; T send-keys -t tui Enter
expect "search finds a folder" 'Found "Archive"'
T send-keys -t tui / ; T send-keys -t tui -l "ODESLANÁ POŠTA"; T send-keys -t tui Enter
expect "search ignores the case of every letter" 'Found "ODESLANÁ POŠTA"'
T send-keys -t tui / ; T send-keys -t tui -l nosuchfolder; T send-keys -t tui Enter
expect "search says when nothing matches" 'Not found: "nosuchfolder"'

# --- export equals the batch report of the same history state ----------------------------------
T send-keys -t tui e
expect "e proposes a file name" "Export to: ./mailaudit-$MA_USER-"
if screen | grep -qE "Export to: \./mailaudit-$MA_USER-[0-9]{8}-[0-9]{4}\.txt"; then
	pass "default name has date and time"
else
	fail "default name has date and time" "$(screen | tail -1)"
fi
T send-keys -t tui C-u; T send-keys -t tui -l "$W/export.txt"; T send-keys -t tui Enter
expect "export says where" "Report written to $W/export.txt"
"$MAILAUDIT" --report - "${ACCT[@]}" --state-dir "$W/s1-batch" >"$W/batch.txt" 2>"$W/batch.err"
notime() { grep -vE '[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}' "$1"; }
if [ -s "$W/export.txt" ] && diff <(notime "$W/export.txt") <(notime "$W/batch.txt") >"$W/diff.txt"; then
	pass "exported file equals the --report output"
else
	fail "exported file equals the --report output" "$(head -20 "$W/diff.txt")"
fi
# An existing file: asked first; n leaves it, y replaces it. ~ is the home.
echo "precious" >"$W/mine.txt"
T send-keys -t tui e; T send-keys -t tui C-u; T send-keys -t tui -l "~/mine.txt"; T send-keys -t tui Enter
expect "export asks before replacing a file" "$W/mine.txt exists. Replace it? (y/n)"
T send-keys -t tui n
expect "n: not exported" "Not exported: $W/mine.txt is left as it was."
check_eq "n: the file is untouched" "precious" "$(cat "$W/mine.txt")"
T send-keys -t tui e; T send-keys -t tui C-u; T send-keys -t tui -l "~/mine.txt"; T send-keys -t tui Enter
expect "asked again" "Replace it? (y/n)"
T send-keys -t tui y
expect "y: replaced" "Report written to $W/mine.txt"
check_eq "y: the file is the report" "$(head -1 "$W/export.txt")" "$(head -1 "$W/mine.txt")"
T send-keys -t tui e; T send-keys -t tui C-u; T send-keys -t tui -l "$W/no/such/dir/x.txt"
T send-keys -t tui Enter
expect "a failed export says why" "Not exported:"

# --- resize -------------------------------------------------------------------------------------
T resize-window -t tui -x 50 -y 15
expect "50x15: still usable" "1 Find 2 Fold"
check_contains "50x15: verdict kept" "$(screen)" "Verdict:"
T resize-window -t tui -x 40 -y 12
expect "40x12: usable" "1 Find 2 Fold"
if screen | grep -q "^Verdict: .*…$"; then
	pass "40x12: the cut verdict ends in an ellipsis"
else
	fail "40x12: the cut verdict ends in an ellipsis" "$(screen)"
fi
T send-keys -t tui 2
if screen | grep -qE "^ *Odeslan[^ ]*… "; then pass "40x12: a cut folder name ends in an ellipsis"; else fail "40x12: a cut folder name ends in an ellipsis" "$(screen)"; fi
T send-keys -t tui 1
T resize-window -t tui -x 30 -y 8
expect "30x8: too small" "terminal too small"
check_contains "30x8: says what is needed" "$(screen)" "need 40x12"
T resize-window -t tui -x 80 -y 24
expect "back to 80x24" "1 Findings   2 Folders"

# --- Ctrl-Z and back -------------------------------------------------------------------------------
T send-keys -t tui C-z
expect "Ctrl-Z suspends to the shell" "Stopped"
T send-keys -t tui -l "fg"; T send-keys -t tui Enter
expect "fg brings the screen back" "Verdict:"

# --- colour ------------------------------------------------------------------------------------------
if T capture-pane -e -p -t tui | grep -q $'\e\\[[0-9;]*3[1-5][;m]'; then
	pass "colour when the terminal has it"
else
	fail "colour when the terminal has it" "no colour escape in the pane"
fi

# --- q quits; the terminal is sane -------------------------------------------------------------------
T send-keys -t tui q
gone "q quits" "Verdict:"
sane_tty "after q: icanon and echo are on"

# --- NO_COLOR, LANG=C, TERM=vt100 ------------------------------------------------------------------------
in_pane "env NO_COLOR=1 LANG=C LC_ALL=C TERM=vt100 $(quote "$MAILAUDIT" "${ACCT[@]}" --state-dir "$W/s2")"
expect "NO_COLOR LANG=C TERM=vt100: renders" "Verdict:" 15
T send-keys -t tui 2
expect "LANG=C: letters with diacritics in ASCII, not ?" "Odeslana posta"
T send-keys -t tui 6
expect "LANG=C: the em dash of the verdict as -" "Verdict: OK - No sign"
T send-keys -t tui 2
if T capture-pane -e -p -t tui | grep -q $'\e\\[[0-9;]*3[1-7][;m]'; then
	fail "NO_COLOR: no colour" "$(T capture-pane -e -p -t tui | grep $'\e\\[[0-9;]*3[1-7][;m]' | head -3 | cat -v)"
else
	pass "NO_COLOR: no colour"
fi
T send-keys -t tui C-c
prog_gone "Ctrl-C quits"
sane_tty "after Ctrl-C: icanon and echo are on"

in_pane "$(quote "$MAILAUDIT" "${ACCT[@]}" --state-dir "$W/s3" --no-color)"
expect "--no-color renders" "Verdict:" 15
if T capture-pane -e -p -t tui | grep -q $'\e\\[[0-9;]*3[1-7][;m]'; then
	fail "--no-color: no colour"
else
	pass "--no-color: no colour"
fi
T send-keys -t tui q; gone "q quits again" "Verdict:"

# --- a --trace file that cannot be written is said, as by --report ---------------------------------------
in_pane "$(quote "$MAILAUDIT" "${ACCT[@]}" --state-dir "$W/s3t" --trace /dev/full)"
expect "--trace /dev/full: the verdict is UNKNOWN" "Verdict: UNKNOWN" 15
check_contains "--trace /dev/full: the screen names the trace file" "$(screen)" "/dev/full"
T send-keys -t tui q; gone "q quits the trace run" "Verdict:"

# --- the start screen form -----------------------------------------------------------------------------
in_pane "$(quote "$MAILAUDIT" --ca-file "$MA_CA" --state-dir "$W/s4" --timeout 10)"
expect "no account: the start form" "E-mail address:"
T send-keys -t tui -l "$MA_USER"
expect "login follows the address" "Login:          $MA_USER"
check_contains "IMAP server prefilled" "$(screen)" "imap.example.test"
check_contains "POP3 on the IMAP server, as the provider advises" "$(screen)" "POP3 server:    imap.example.test"
check_contains "the form says the server names are a guess" "$(screen)" "Server names guessed from the address"
T send-keys -t tui Tab Tab C-u; T send-keys -t tui -l "127.0.0.1:$MA_IMAPS_PORT"
expect "POP3 follows the IMAP server typed" "POP3 server:    127.0.0.1"
check_not_contains "POP3 follows the host, not the IMAP port" "$(screen)" "POP3 server:    127.0.0.1:"
T send-keys -t tui Tab C-u; T send-keys -t tui -l "127.0.0.1:$MA_POP3S_PORT"
T send-keys -t tui Tab; T send-keys -t tui -l "$MA_PASS"
check_not_contains "typed servers are no guess" "$(screen)" "Server names guessed"
expect "password shown as stars" "Password:       ${MA_PASS//?/*}"
check_not_contains "password never shown" "$(screen)" "$MA_PASS"
T send-keys -t tui Enter
expect "Enter starts the audit" "Verdict:" 15
check_eq "the typed audit is recorded" "1" "$(hist_audits "$W/s4")"
T send-keys -t tui r
if ma_wait 30 eval '[ "$(hist_audits "$W/s4")" = 2 ]'; then
	pass "r audits again with the password typed in this run"
else
	fail "r audits again with the password typed in this run" "$(screen)"
fi
expect "r: the results again" "Verdict:"
check_not_contains "r did not ask for the password" "$(screen)" "Type the password"
T send-keys -t tui Escape; expect "Esc goes back to the form" "E-mail address:"
T send-keys -t tui Escape; expect "Esc on the form goes back to the results" "Verdict:"
T send-keys -t tui q; gone "q quits the form run" "Verdict:"

# --- the form's server suggestions from the domain's DNS -------------------------------------
# A private dnsmasq is the resolver (MA_RESOLVER, as the doctor's tests do):
# srv.test publishes RFC 6186 SRV records, firma.test's mail goes to WEDOS
# (its MX matches the "mx *.wedos.net" rule of data/providers.rules), and
# nothing.test has nothing. A silent UDP port stands for a dead resolver.
free_udp() {
	python3 -c "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"
}
DNS_PORT=$(free_udp)
dnsmasq --no-daemon --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --local=/test/ \
	--srv-host=_imaps._tcp.srv.test,mail.srv.test,993 \
	--srv-host=_pop3s._tcp.srv.test,pop.srv.test,995 \
	--srv-host=_imap._tcp.imaponly.test,mail.imaponly.test,143 \
	--srv-host=_pop3s._tcp.imaponly.test --srv-host=_pop3._tcp.imaponly.test \
	--mx-host=firma.test,mx1.wedos.net,10 \
	--mx-host=nothing.test,mail.nothing.test,10 \
	--log-facility=- >"$W/dnsmasq.log" 2>&1 &
DNS_PID=$!
MUTE_PORT=$(free_udp)
python3 -c "import socket,sys,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',int(sys.argv[1]))); time.sleep(300)" "$MUTE_PORT" &
MUTE_PID=$!
ma_wait 20 ma_file_has "$W/dnsmasq.log" started || tap_bail "dnsmasq did not start: $(cat "$W/dnsmasq.log")"
form_run() { # resolver port: the form, nothing else on the command line
	in_pane "MA_RESOLVER=127.0.0.1:$1 $(quote "$MAILAUDIT" --ca-file "$MA_CA" --state-dir "$W/s4d")"
	expect "suggestions: the start form" "E-mail address:"
}
field() { screen | grep "^  $1" | sed "s/^  $1 *//; s/ *\$//"; }

form_run "$DNS_PORT"
T send-keys -t tui -l "u@srv.test"; T send-keys -t tui Tab
expect "SRV: the IMAP server as the domain publishes it" "IMAP server:    mail.srv.test:993/tls"
expect "SRV: the POP3 server as the domain publishes it" "POP3 server:    pop.srv.test:995/tls"
check_contains "SRV: the form says where they come from" "$(screen)" "from your domain's DNS (RFC 6186)"
check_not_contains "SRV: no guess" "$(screen)" "Server names guessed"
T send-keys -t tui Escape; prog_gone "SRV: Esc quits the form"

# STARTTLS published, POP3 said not to be offered (SRV target "."): no
# POP3 server, and the form says why.
form_run "$DNS_PORT"
T send-keys -t tui -l "u@imaponly.test"; T send-keys -t tui Tab
expect "SRV: STARTTLS as published" "IMAP server:    mail.imaponly.test:143/starttls"
expect "SRV: a service not offered is said" "Your domain's DNS says it offers no POP3 server."
check_eq "SRV: no POP3 server where none is offered" "" "$(field 'POP3 server:')"
T send-keys -t tui Escape; prog_gone "SRV (no POP3): Esc quits the form"

form_run "$DNS_PORT"
T send-keys -t tui -l "u@firma.test"
# No Tab: the pause after typing starts the lookup too.
expect "WEDOS MX: the provider is named" "The mail of firma.test goes to WEDOS"
check_contains "WEDOS MX: the name's pattern is shown" "$(screen)" "wesX.imap.wedos.net"
check_contains "WEDOS MX: X is not invented" "$(screen)" "X is a number of your own"
check_contains "WEDOS MX: where to find the number" "$(screen | tr -s ' \n' '  ')" "Service Addresses table"
check_eq "WEDOS MX: the IMAP field is left to the user" "wesX.imap.wedos.net" "$(field 'IMAP server:')"
if screen | grep -qE 'wes[0-9]|imap\.firma\.test'; then
	fail "WEDOS MX: no invented number, no imap. guess" "$(screen)"
else
	pass "WEDOS MX: no invented number, no imap. guess"
fi
check_not_contains "WEDOS MX: no guess warning" "$(screen)" "Server names guessed"
T send-keys -t tui Tab Tab; T send-keys -t tui -l "wes7.imap.wedos.net"
expect "WEDOS MX: POP3 follows the IMAP name typed" "POP3 server:    wes7.imap.wedos.net"
check_not_contains "WEDOS MX: the provider's POP3 name is no guess" "$(screen)" "Server names guessed"
T send-keys -t tui Escape; prog_gone "WEDOS MX: Esc quits the form"

form_run "$DNS_PORT"
T send-keys -t tui -l "u@nothing.test"; T send-keys -t tui Tab
gone "unknown domain: the lookup ends" "Looking up"
check_eq "unknown domain: the old imap. guess" "imap.nothing.test" "$(field 'IMAP server:')"
check_contains "unknown domain: marked as a guess" "$(screen)" "Server names guessed from the address"
check_not_contains "unknown domain: the resolver did answer" "$(screen)" "No DNS answer"
T send-keys -t tui Escape; prog_gone "unknown domain: Esc quits the form"

# A server typed before the address is never overwritten by a suggestion.
form_run "$DNS_PORT"
T send-keys -t tui Tab Tab; T send-keys -t tui -l "mine.example:993"
T send-keys -t tui Up Up; T send-keys -t tui -l "u@srv.test"; T send-keys -t tui Tab
expect "typed: the untyped POP3 field gets the SRV record" "POP3 server:    pop.srv.test:995/tls"
check_eq "typed: the IMAP server typed stays" "mine.example:993" "$(field 'IMAP server:')"
T send-keys -t tui Escape; prog_gone "typed: Esc quits the form"

# A resolver that never answers: the screen stays live, Esc works during
# the lookup, and a lookup that got nothing leaves the marked guess.
form_run "$MUTE_PORT"
T send-keys -t tui -l "u@dead.test"; T send-keys -t tui Tab
expect "dead resolver: the lookup is shown" "Looking up the mail servers of dead.test"
gone "dead resolver: the lookup gives up" "Looking up"
check_eq "dead resolver: the guess stands" "imap.dead.test" "$(field 'IMAP server:')"
check_contains "dead resolver: marked as a guess" "$(screen)" "Server names guessed from the address"
check_contains "dead resolver: the silence is said" "$(screen)" "No DNS answer in time for dead.test."
T send-keys -t tui BTab; T send-keys -t tui -l "x"; T send-keys -t tui Tab
expect "dead resolver: a changed domain is looked up again" "Looking up the mail servers of dead.testx"
T send-keys -t tui -l "z"
expect "dead resolver: typing goes on while it looks" "Login:          u@dead.testxz"
T send-keys -t tui Escape; prog_gone "dead resolver: Esc quits during the lookup"

# --- accounts from the accounts file -----------------------------------------------------------------------
mkdir -p "$W/config/mailaudit"
cat >"$W/config/mailaudit/config" <<CFG
[account shop]
address = $MA_USER
imap = 127.0.0.1:$MA_IMAPS_PORT/tls
pop3 = 127.0.0.1:$MA_POP3S_PORT/tls
password_file = $MA_PASSFILE
ca_file = $MA_CA

[account typed]
address = $MA_USER
imap = 127.0.0.1:$MA_IMAPS_PORT/tls
ca_file = $MA_CA

[account starttls]
address = $MA_USER
imap = 127.0.0.1:$MA_IMAP_PORT/starttls
pop3 = 127.0.0.1:$MA_POP3_PORT/starttls
password_file = $MA_PASSFILE
ca_file = $MA_CA
CFG
in_pane "$(quote "$MAILAUDIT" --state-dir "$W/s7")"
expect "start screen lists the accounts" "> shop"
check_contains "second account listed" "$(screen)" "typed"
T send-keys -t tui j Enter
expect "an account without a password source asks for it" "Type the password for $MA_USER"
T send-keys -t tui -l "$MA_PASS"; T send-keys -t tui Enter
expect "typed password audits the chosen account" "Verdict:" 15
check_contains "IMAP only: POP3 view says so" "$(T send-keys -t tui 3; wait_for 'not audited'; screen)" "POP3 was not audited"
T send-keys -t tui p; expect "typed password: the test runs" "Connection test done in" 20
check_not_contains "typed password: the test logs in with it" "$(screen)" "Login not tested"
row "typed password: IMAP works, login accepted" "^IMAP +$MA_IMAPS_PORT +SSL/TLS +works, login accepted"
check_contains "IMAP only: POP3 tried on the IMAP server" "$(screen)" "POP3: no server configured, tried on the IMAP server."
T send-keys -t tui Escape; expect "Esc goes back to the start screen" "> "
T send-keys -t tui k Enter
expect "an account with password_file starts at once" "Verdict:" 15
T send-keys -t tui q; gone "q quits the account run" "Verdict:"
in_pane "$(quote "$MAILAUDIT" -a shop --state-dir "$W/s8")"
expect "-a NAME skips the start screen" "Verdict:" 15
T send-keys -t tui q; gone "q quits the -a run" "Verdict:"

# The STARTTLS ports: with the run of the first account, every IMAP and
# POP3 combination has been seen working.
in_pane "$(quote "$MAILAUDIT" -a starttls --state-dir "$W/s9")"
expect "STARTTLS account audited" "Verdict:" 15
T send-keys -t tui p; expect "STARTTLS account: the test finishes" "Connection test done in" 20
row "probe: IMAP STARTTLS works, login accepted" "^IMAP +$MA_IMAP_PORT +STARTTLS +works, login accepted"
row "probe: POP3 STARTTLS works, login accepted" "^POP3 +$MA_POP3_PORT +STARTTLS +works, login accepted"
row "probe: IMAP 993 closed" "^IMAP +993 +SSL/TLS +closed"
row "probe: POP3 995 closed" "^POP3 +995 +SSL/TLS +closed"
T send-keys -t tui q; gone "q quits the STARTTLS run" "Verdict:"

# --- Home/End/PgUp/PgDn as PuTTY, rxvt, xterm and screen/tmux send them --------------------
# Sent as raw bytes (send-keys -H), whatever TERM says: under xterm's entry
# ESC[1~ and ESC[4~ are no keys curses knows, and ESC[4~ (PuTTY's End) used
# to be Esc (back to the start screen) and "[4~" typed into the form.
raw() { # "ESC[4~" style: sends the bytes, ESC written as \e
	T send-keys -t tui -H $(printf "$1" | od -An -tx1)
}
TOP="Account:   $MA_USER" BOTTOM="After a password change wait"
in_pane "env TERM=xterm-256color TZ=Europe/Prague $(quote "$MAILAUDIT" "${ACCT[@]}" --state-dir "$W/s12")"
expect "keys: the audit under TERM=xterm-256color" "Verdict:" 15
# The same run in Prague: times are local and name their zone.
T send-keys -t tui 5; expect "TZ=Europe/Prague: the History view" "Started  "
if screen | grep -qE '^ *[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} CES?T  '; then
	pass "TZ=Europe/Prague: audit times local, with their zone"
else
	fail "TZ=Europe/Prague: audit times local, with their zone" "$(screen)"
fi
T send-keys -t tui 6; expect "keys: the Report view" "$TOP"
for end in '\e[4~' '\e[8~' '\e[F' '\eOF'; do
	raw "$end"; expect "keys: End as $end shows the report's end" "$BOTTOM"
	check_contains "keys: $end stays in the Report view" "$(screen)" "Verdict:"
	T send-keys -t tui g; gone "keys: g goes back to the top (after $end)" "$BOTTOM"
done
for home in '\e[1~' '\e[7~' '\e[H' '\eOH'; do
	T send-keys -t tui G; expect "keys: G goes to the end (before $home)" "$BOTTOM"
	raw "$home"; expect "keys: Home as $home shows the report's top" "$TOP"
done
raw '\e[6~'; gone "keys: PgDn as \\e[6~ scrolls a page" "$TOP"
raw '\e[5~'; expect "keys: PgUp as \\e[5~ scrolls back" "$TOP"
# Unknown sequences (Insert, Delete, F5, Ctrl-Right) do nothing.
raw '\e[2~\e[3~\e[15~\e[1;5C'
check_contains "keys: unknown sequences leave the view alone" "$(screen)" "$TOP"
T send-keys -t tui '?'; expect "keys: help" "Export the report to a file"
raw '\e[4~'; expect "keys: End in the help" "Ctrl-L"
raw '\e[1~'; gone "keys: Home in the help" "Ctrl-L"
T send-keys -t tui Escape; gone "keys: Esc still closes the help" "Export the report to a file"
T send-keys -t tui Escape; expect "keys: Esc still leads back to the form" "E-mail address:"
raw '\e[2~\e[3~\e[15~\e[1;5C\e[1;2P'
T send-keys -t tui -l "x"
typed_x() { screen | grep -q "E-mail address: *$MA_USER"x; }
if ma_wait 20 typed_x; then
	pass "keys: no sequence is typed into a field"
else
	fail "keys: no sequence is typed into a field" "$(screen)"
fi
check_not_contains "keys: no [ in the form" "$(screen | grep 'E-mail address:')" "["
T send-keys -t tui BSpace
raw '\e[4~'; T send-keys -t tui -l "x"
expect "keys: End on the form goes to the last field" "Password:       *"
T send-keys -t tui BSpace
raw '\e[1~'; expect "keys: Home on the form goes to the first account" "> shop"
T send-keys -t tui Escape; expect "keys: Esc on the form goes back to the results" "Verdict:"
T send-keys -t tui q; gone "keys: q quits" "Verdict:"

# Under vt100's entry curses knows none of these: they reach next_key as
# ESC and bytes, which must be read whole and dropped.
in_pane "env TERM=vt100 XDG_CONFIG_HOME=$W/none $(quote "$MAILAUDIT" --state-dir "$W/s16")"
expect "keys (vt100): the start form" "E-mail address:"
raw '\e[2~\e[3~\e[15~\e[1;5C\e[17~\e[1;2D\eOQ'
T send-keys -t tui -l "y@z"
expect "keys (vt100): only the typed text is in the field" "E-mail address: y@z"
check_not_contains "keys (vt100): no [ typed" "$(screen | grep 'E-mail address:')" "["
raw '\e[4~'; T send-keys -t tui -l "p"
expect "keys (vt100): End (PuTTY) goes to the password" "Password:       *"
T send-keys -t tui Escape; prog_gone "keys (vt100): Esc quits"

# --- TERM=dumb: says so and exits 3 before any audit -----------------------------------------
shell_cmd "env TERM=dumb $(quote "$MAILAUDIT" "${ACCT[@]}" --state-dir "$W/s13") 2>$W/dumb.out; echo \$? >$W/dumb.rc"
if ma_wait 20 ma_nonempty "$W/dumb.rc"; then pass "TERM=dumb: the program ends"; else fail "TERM=dumb: the program ends" "$(screen)"; fi
check_eq "TERM=dumb: exit status 3" "3" "$(cat "$W/dumb.rc")"
check_contains "TERM=dumb: points at --report -" "$(cat "$W/dumb.out")" "use --report -"
check_eq "TERM=dumb: nothing audited" "0" "$(hist_audits "$W/s13")"

# --- --report - on a terminal without UTF-8: ASCII forms, not bytes it cannot show ----------
shell_cmd "env LC_ALL=C LANG=C $(quote "$MAILAUDIT" --report - "${ACCT[@]}" --state-dir "$W/s15"); echo \$? >$W/c.rc"
if ma_wait 30 ma_nonempty "$W/c.rc"; then pass "LANG=C --report -: ends"; else fail "LANG=C --report -: ends" "$(screen)"; fi
scrollback=$(T capture-pane -p -S -300 -t tui)
check_contains "LANG=C --report - on a terminal: folder names in ASCII" "$scrollback" "Odeslana posta"
check_contains "LANG=C --report - on a terminal: the dash in ASCII" "$scrollback" "Verdict: OK - No sign"
check_not_contains "LANG=C --report - on a terminal: no UTF-8 byte" "$scrollback" "Odeslan"$'\xc3'

# --- a hanging POP3 server: cancel, quit prompt, SIGHUP ----------------------------------------------------
python3 - "$W/hang.port" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
held = []
while True:
    held.append(s.accept()[0])   # accept, never answer
PY
HANG_PID=$!
ma_wait 60 ma_nonempty "$W/hang.port" || tap_bail "the hanging POP3 port did not start"
HP=$(cat "$W/hang.port")
HANG=(--imap "127.0.0.1:$MA_IMAPS_PORT" --pop3 "127.0.0.1:$HP" --user "$MA_USER"
	--password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 20)

# The audit reports its POP3 step once the IMAP look has returned, so the
# Esc below cancels an audit whose IMAP side is done: only the cancel can
# keep it from being recorded.
in_pane "$(quote "$MAILAUDIT" "${HANG[@]}" --state-dir "$W/s5")"
expect "progress screen while auditing" "[>] POP3"
check_contains "progress shows elapsed time" "$(screen)" "Elapsed:"
expect "progress estimates the time left after a few seconds" " left" 20
pct() { screen | grep -oE '[0-9]+%' | tail -1 | tr -d '%'; }
p1=$(pct)
if [ -n "$p1" ] && [ "$p1" -ge 80 ]; then
	pass "progress: IMAP done is most of the audit ($p1 %)"
else
	fail "progress: IMAP done is most of the audit" "$(screen)"
fi
T send-keys -t tui q
expect "q during an audit asks first" "Quit anyway? (y/n)"
T send-keys -t tui n
gone "n keeps auditing" "Quit anyway?"
check_contains "still on the progress screen" "$(screen)" "[>] POP3"
T send-keys -t tui Escape
expect "Esc cancels the audit within seconds" "Audit cancelled." 5
check_eq "a cancelled audit records no history" "0" "$(hist_audits "$W/s5")"
T send-keys -t tui Escape
gone "Esc on the start screen quits" "E-mail address:"
sane_tty "after cancel: icanon and echo are on"

# A silent IMAP server: the Connect step counts down to its timeout.
in_pane "$(quote "$MAILAUDIT" --imap "127.0.0.1:$HP/tls" --user "$MA_USER" --password-file "$MA_PASSFILE" \
	--ca-file "$MA_CA" --timeout 20 --state-dir "$W/s14")"
expect "connecting: the seconds left before the timeout" "(gives up in 1"
T send-keys -t tui Escape
expect "Esc cancels the connecting audit" "Audit cancelled."
T send-keys -t tui Escape
gone "Esc on the start screen quits (connecting run)" "E-mail address:"

in_pane "$(quote "$MAILAUDIT" "${HANG[@]}" --state-dir "$W/s6")"
expect "second hanging audit running" "[>] POP3"
shell_pid=$(T display -p -t tui '#{pane_pid}')
pid=$(pgrep -P "$shell_pid" -f mailaudit | head -1)
if [ -n "$pid" ]; then
	kill -HUP "$pid"
	ma_wait 20 ma_pid_gone "$pid"
	if ! ma_pid_gone "$pid"; then fail "SIGHUP ends the program" "pid $pid alive"; else pass "SIGHUP ends the program"; fi
	check_eq "SIGHUP leaves no child processes" "" "$(pgrep -P "$pid")"
else
	fail "SIGHUP ends the program" "no mailaudit process under the pane's shell"
fi
check_eq "SIGHUP leaves no partial history" "0" "$(hist_audits "$W/s6")"
sane_tty "after SIGHUP: icanon and echo are on"

# --- Esc cancels a connection test: SMTP on the silent port ----------------------------------------
in_pane "$(quote "$MAILAUDIT" --imap "127.0.0.1:$MA_IMAPS_PORT" --smtp "127.0.0.1:$HP/tls" --user "$MA_USER" \
	--password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 20 --state-dir "$W/s10")"
expect "audit before a hanging test" "Verdict:" 15
T send-keys -t tui p
expect "a running test says so in view 4" "Testing every port and security combination"
expect "a running test shows its time" "Testing ports: 1 s" 5
T send-keys -t tui 1; expect "other views stay usable during the test" "Why it matters:"
T send-keys -t tui Escape
expect "Esc cancels the test within seconds" "Connection test cancelled." 5
check_contains "still on the results" "$(screen)" "Verdict:"
T send-keys -t tui 4; expect "cancelled: no result shown" "Press p to test every port"
T send-keys -t tui p; expect "a second test runs" "Testing ports:"
T send-keys -t tui q; gone "q during a test quits without asking" "Verdict:"
sane_tty "after a cancelled test: icanon and echo are on"

# The shell records 148 when the first run is stopped by Ctrl-Z; then
# Ctrl-C (130), q (the verdict OK: 0, as --report's), q after --trace /dev/full
# (UNKNOWN: 3), q (0), Esc on the suggestions' forms six times (3), q, q, q,
# q (0), Esc on the start screen without a verdict (3, UNKNOWN) three times,
# SIGHUP (129), q.
check_eq "exit statuses" "148 130 0 3 0 3 3 3 3 3 3 0 0 0 0 3 3 3 129 0" "$(tr '\n' ' ' <"$W/status.log" | sed 's/ $//')"
if [ -s "$W/stderr.log" ]; then
	fail "nothing on stderr (no sanitizer report)" "$(head -30 "$W/stderr.log")"
else
	pass "nothing on stderr (no sanitizer report)"
fi

# --- the loss ledger: A acknowledges, History rows open (issue 14) -------------------------------
# A real loss: fetchmail without `keep` downloads and deletes 3 INBOX messages
# between two audits. It runs last: it changes the mailbox the runs above use.
ledger_runs() {
	local L="$W/s11" errs out
	errs=$(wc -l <"$W/stderr.log" 2>/dev/null || echo 0)
	"$MAILAUDIT" --check "${ACCT[@]}" --state-dir "$L" >"$W/ledger-first.txt" 2>&1
	check_eq "ledger: the first audit records the mailbox" "1" "$(hist_audits "$L")"
	if ! client_fetchmail_delete 3 >"$W/fetched.txt"; then
		fail "ledger: fetchmail downloads and deletes 3 messages"
		return
	fi
	check_eq "ledger: fetchmail deleted 3 messages" "3" "$(grep -c . "$W/fetched.txt")"

	in_pane "$(quote "$MAILAUDIT" "${ACCT[@]}" --state-dir "$L")"
	expect "ledger: the deleted mail makes the verdict CRITICAL" "Verdict: CRITICAL" 15
	check_contains "ledger: the finding counts them" "$(screen)" "3 messages were deleted from the server"
	# The status line ("Audit finished...") stands where the hints go until
	# the next key.
	T send-keys -t tui 1
	expect "ledger: the hint bar offers A" "A acknowledge"
	T send-keys -t tui A
	expect "A asks before acknowledging" "Acknowledge 3 lost messages found since"
	T send-keys -t tui n
	expect "n does not acknowledge" "Not acknowledged."
	check_contains "after n: still CRITICAL" "$(screen)" "Verdict: CRITICAL"
	# Switching views clears the status line, so the next answer shows anew.
	T send-keys -t tui 2 1; gone "the status line is cleared" "Not acknowledged."
	T send-keys -t tui A; expect "A asks again" "Acknowledge 3 lost messages"
	T send-keys -t tui Escape
	expect "Esc does not acknowledge" "Not acknowledged."

	# History: the audit shown is the first row; the first audit found nothing.
	T send-keys -t tui 5; expect "History: rows open with Enter" "Enter: what the selected audit found"
	T send-keys -t tui Enter
	expect "Enter opens what that audit found" "It found 3 lost messages, not acknowledged yet:"
	local rows
	rows=$(screen | grep -cE '^ *[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} UTC +INBOX ')
	check_eq "the drill-down lists the 3 messages" "3" "$rows"
	T send-keys -t tui Escape; expect "Esc goes back to the list of audits" "Started    "
	T send-keys -t tui j Enter; expect "the first audit found no lost mail" "It found no lost mail."
	T send-keys -t tui q; expect "q in the drill-down goes back, not out" "Started    "
	check_contains "the program is still running" "$(screen)" "Verdict: CRITICAL"
	T send-keys -t tui A; expect "A outside Findings says where it works" "press 1, then A"

	T send-keys -t tui 1 A; expect "A in Findings asks" "Acknowledge 3 lost messages found since"
	T send-keys -t tui y
	expect "y acknowledges" "Acknowledged 3 lost messages; later audits report only new losses."
	gone "the shown verdict follows at once" "Verdict: CRITICAL"
	T send-keys -t tui A; expect "nothing is left to acknowledge" "Nothing to acknowledge."
	T send-keys -t tui 5 k Enter
	expect "the audit's losses are now marked" "[acknowledged]"
	T send-keys -t tui Escape q
	gone "q quits the ledger run" "Verdict:"

	out=$("$MAILAUDIT" --lost "${ACCT[@]}" --state-dir "$L" 2>&1)
	check_eq "--lost lists the 3, acknowledged" "3" "$(printf '%s\n' "$out" | grep -c '\[acknowledged\]')"
	out=$("$MAILAUDIT" --check "${ACCT[@]}" --state-dir "$L" 2>&1)
	check_contains "the next audit has nothing unacknowledged" "$out" "unacknowledged=0;;;"
	check_not_contains "the next audit is not CRITICAL" "$out" "MAILAUDIT CRITICAL"
	check_eq "ledger runs: nothing on stderr" "$errs" "$(wc -l <"$W/stderr.log" 2>/dev/null || echo 0)"
}
if ! . "$here/../lib/clients.sh" || ! command -v fetchmail >/dev/null 2>&1; then
	fail "the loss ledger in the full-screen program" "needs tests/lib/clients.sh and fetchmail (make deps)"
else
	ledger_runs
fi

tap_done
