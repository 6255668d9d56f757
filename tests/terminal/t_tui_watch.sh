#!/bin/bash
# The full-screen program's live view (w, issue 15), driven through a
# detached tmux against the private Dovecot: w on the results starts the
# watch; a delivered message shows as arrived, fetchmail (no keep) deleting
# it as destroyed with the count at 1; keys are answered while the watch
# waits in IDLE; a resize is drawn; a Dovecot killed and started again is
# counted down to and reconnected; Esc stops the watch and returns to the
# results; a refused password ends a watch with the reason; q ends the
# program with the verdict as exit status, the terminal sane and nothing on
# stderr. Every wait polls with a deadline.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/clients.sh"
need tmux dovecot doveadm python3 fetchmail || tap_bail "missing dependencies"
MAILAUDIT=${MAILAUDIT:-$here/../../build/mailaudit}
[ -x "$MAILAUDIT" ] || tap_bail "no binary at $MAILAUDIT"

dovecot_start || tap_bail "dovecot did not start"

W=$(mktemp -d "$MA_TMP/tuiwatch.XXXXXX")
mkdir -p "$W/config"
export XDG_CONFIG_HOME="$W/config" XDG_STATE_HOME="$W/state" HOME="$W"
SOCK=mawatch$$
T() { tmux -L "$SOCK" "$@"; }
cleanup() {
	T kill-server 2>/dev/null
	dovecot_stop_all
}
trap cleanup EXIT

# A password file of the test's own: a later w reads it again.
cp "$MA_PASSFILE" "$W/pass" && chmod 600 "$W/pass" || tap_bail "cannot copy the password file"
ACCT=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --user "$MA_USER" --password-file "$W/pass"
	--ca-file "$MA_CA" --timeout 10 --state-dir "$W/s")

screen() { T capture-pane -p -t tui; }
shows() { screen | grep -qF -- "$1"; }
hides() { ! shows "$1"; }
# As t_tui.sh: deadlines of at least 20 s for a loaded machine; a screen
# that is right returns at once.
wait_for() {
	local s=${2:-20}
	[ "$s" -lt 20 ] && s=20
	ma_wait "$s" shows "$1"
}
expect() {
	if wait_for "$2" "${3:-20}"; then pass "$1"; else fail "$1" "waited for: $2" "$(screen)"; fi
}
gone() {
	if ma_wait 20 hides "$2"; then pass "$1"; else fail "$1" "still shown: $2" "$(screen)"; fi
}
# The event rows: "2026-12-06 21:03 UTC  destroyed    INBOX  From  Subject"
row() { screen | grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} [A-Z+0-9:]+  $1 "; }
has_row() { row "$1" >/dev/null; }
expect_row() {
	if ma_wait 20 has_row "$2"; then pass "$1"; else fail "$1" "waited for a row: $2" "$(screen)"; fi
}

T new-session -d -s tui -x 80 -y 24 "env PS1='$ ' bash --norc --noprofile" || tap_bail "tmux failed"
quote() { printf '%q ' "$@"; }
T send-keys -t tui -l "clear; $(quote "$MAILAUDIT" "${ACCT[@]}") 2>>$W/stderr.log; echo \$? >$W/status"
T send-keys -t tui Enter

if wait_for "Verdict:" 30; then pass "the audit's results"; else tap_bail "no results screen: $(screen)"; fi
# The status line stands where the hints go until a view is chosen.
T send-keys -t tui 1
expect "the results' hint bar offers w" "w watch"

T send-keys -t tui w
expect "w: the live view, watching with IDLE" "Watching INBOX: 0 messages; waiting with IDLE"
check_contains "the counts start at 0" "$(screen)" "Arrived: 0   Moved: 0   Destroyed: 0   Vanished: 0"
check_contains "no rhythm before 3 destroyed" "$(screen)" "Rhythm: none yet (after 3 destroyed messages)"
check_contains "the hint bar says how to stop" "$(screen)" "Esc/q: stop watching"

deliver 1 || fail "deliver 1 message"
expect_row "a delivered message arrives" "arrived     "
check_contains "the arrival is named: From (cut to make room) and Subject" "$(row arrived)" \
	"INBOX  Sender 1 <sen"
check_contains "the arrival's Subject is whole at 80 columns" "$(row arrived)" "  Delivered message 1"
check_contains "the count of arrivals" "$(screen)" "Arrived: 1 "

# A key while the watch waits in IDLE: the help opens and closes.
T send-keys -t tui '?'
expect "a key is answered while watching: ?" "mailaudit: help"
T send-keys -t tui G
expect "the help lists w" "Watch the mailbox live"
T send-keys -t tui Escape
expect "Esc closes the help, the watch goes on" "Watching INBOX:"

# Run as root, fetchmail locks one file for the machine: a suite of
# another build running beside this one makes it exit 8 ("another
# foreground fetchmail is running"). Only that is tried again.
fetch_rc=1
fetch_delete() {
	client_fetchmail_delete >"$W/fetched.txt" 2>"$W/fetch.err" && { fetch_rc=0; return 0; }
	! grep -q "another foreground fetchmail is running" "$W/fetch.err"
}
ma_wait 30 fetch_delete
if [ "$fetch_rc" = 0 ]; then pass "fetchmail downloads and deletes"; else
	fail "fetchmail downloads and deletes" "$(cat "$W/fetch.err")"; fi
expect_row "fetchmail's deletion shows as destroyed" "destroyed   "
check_contains "the destroyed message is named" "$(row destroyed)" "Delivered message 1"
expect "the destroyed count is 1" "Destroyed: 1   Vanished: 0"
first=$(screen | grep -oE "  (arrived|destroyed) " | head -n1 | tr -d ' ')
check_eq "newest first: the destroyed row is on top" "destroyed" "$first"

# Scrolling keys answer too (two rows: nothing to scroll, nothing breaks).
T send-keys -t tui j k G g
expect "scroll keys keep the view" "Watching INBOX:"

T resize-window -t tui -x 100 -y 30
expect "a resize is drawn in the live view: the rule spans 100 columns" "$(printf '%0.s-' $(seq 100))"
T resize-window -t tui -x 80 -y 24

# Dovecot stopped hard (as a crash would): the header counts down to the
# next try; started again: watching, one reconnect.
pids=$(dovecot_pids)
# shellcheck disable=SC2086
kill -KILL $pids 2>/dev/null
all_gone() { local p; for p in $pids; do ma_pid_gone "$p" || return 1; done; }
ma_wait 10 all_gone || diag "dovecot did not stop"
rm -f -- "$MA_TMP/run/master.pid"
expect "a dropped connection: reconnecting in N s" "Reconnecting in "
_ma_launch "$MA_DOVECOT_CONF" "$MA_TMP/run" "$MA_IMAPS_PORT" "$MA_POP3S_PORT" || diag "dovecot did not start again"
expect "reconnected: watching again, one reconnect" "Reconnects: 1"
expect "reconnected: the header says so" "Watching INBOX:"
expect_row "reconnected: the event is listed" "reconnected "

T send-keys -t tui Escape
expect "Esc stops the watch and returns to the results" "Watch stopped: 1 arrived, 0 moved, 1 destroyed, 0 vanished."
check_contains "the results are shown again" "$(screen)" "Verdict:"
# A password the server refuses: the watch ends at once, saying why, and
# does not retry.
printf 'wrong-password\n' >"$W/pass"
T send-keys -t tui w
expect "a refused login ends the watch with the reason" "Ended: "
check_contains "the reason is the login" "$(screen | grep -F 'Ended: ')" "ogin"
diag "$(screen | sed -n 2,3p)"
T send-keys -t tui q
expect "q leaves an ended watch for the results" "Watch stopped: 0 arrived"
verdict=$(screen | grep -oE '^Verdict: [A-Z]+' | head -n1 | cut -d' ' -f2)
case $verdict in OK) want=0 ;; WARNING) want=1 ;; CRITICAL) want=2 ;; *) want=3 ;; esac

T send-keys -t tui q
if ma_wait 20 test -s "$W/status"; then pass "q ends the program"; else fail "q ends the program" "$(screen)"; fi
check_eq "the exit status is the verdict shown ($verdict)" "$want" "$(cat "$W/status" 2>/dev/null)"
T send-keys -t tui -l "clear; stty -a | tr ' ;' '\n\n' | grep -x -e icanon -e echo | sort | tr '\n' ' '; echo END"
T send-keys -t tui Enter
expect "the terminal is sane afterwards" "echo icanon END"
check_eq "nothing on stderr" "" "$(cat "$W/stderr.log" 2>/dev/null)"

tap_done
