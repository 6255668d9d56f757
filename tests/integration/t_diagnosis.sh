#!/bin/bash
# The audit's own diagnosis (issue 16): a wrong port or security named the
# way the connection doctor would, against the private Dovecot (its IMAP,
# IMAPS, POP3, POP3S and submission ports are each the wrong port for
# something); STARTTLS refused with NO [UNAVAILABLE] (hostile server);
# /ssl as /tls; obsolete server names flagged by the audit (--report,
# --check, the full-screen results) and by the full-screen form as the
# name is typed; "~" in the accounts file's paths and in the export path.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/hostile.sh"
need dovecot python3 tmux timeout || tap_bail "missing dependencies"
bin=${MAILAUDIT:-$here/../../build/mailaudit}
[ -x "$bin" ] || tap_bail "mailaudit not built ($bin)"

SOCK=madiag$$
cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null
	hostile_stop_all
	dovecot_stop_all
}
trap cleanup EXIT

dovecot_start || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
H=127.0.0.1
W=$(mktemp -d "$MA_TMP/diag.XXXXXX")
ACC=(--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --no-history
	--state-dir "$W/state")

# audit NAME ARGS...: a --report run with a 30 s timeout (so the quick
# answers below are not the timeout's), its output in $W/NAME, its wall
# time in ms in $ms and its exit status in $rc.
audit() {
	local name=$1 t0
	shift
	t0=$(date +%s%N)
	timeout 120 "$bin" "${ACC[@]}" --timeout 30 "$@" --report - >"$W/$name" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
}
# One line: the report's words wrap at 78 columns.
flat() { tr '\n' ' ' <"$W/$1" | tr -s ' '; }
says() { # test-name output-name text
	check_contains "$1" "$(flat "$2")" "$3"
}

IMAP_WHERE="IMAP is on 993 (SSL/TLS) or 143 (STARTTLS)"
POP3_WHERE="POP3 is on 995 (SSL/TLS) or 110 (STARTTLS)"

# --- another protocol's port ---------------------------------------------------------
audit imap-on-pop3s --imap "$H:$MA_POP3S_PORT/tls"
says "--imap on the POP3S port: names POP3 and where IMAP is" imap-on-pop3s \
	"this port speaks POP3; $IMAP_WHERE"
check_not_contains "... not \"refused the connection in its greeting\"" "$(flat imap-on-pop3s)" \
	"refused the connection in its greeting"
says "... status wrong-port" imap-on-pop3s "Status: wrong-port"
check_eq "... exit UNKNOWN" 3 "$rc"

audit imap-on-pop3 --imap "$H:$MA_POP3_PORT/starttls"
says "--imap on the POP3 port with /starttls: names POP3" imap-on-pop3 "this port speaks POP3; $IMAP_WHERE"

audit pop3-on-imap --imap "$H:$MA_IMAPS_PORT/tls" --pop3 "$H:$MA_IMAP_PORT/starttls"
says "--pop3 on the IMAP port: names IMAP and where POP3 is" pop3-on-imap "this port speaks IMAP; $POP3_WHERE"
check_not_contains "... not \"(no reason given)\"" "$(flat pop3-on-imap)" "(no reason given)"

audit pop3-on-imaps --imap "$H:$MA_IMAPS_PORT/tls" --pop3 "$H:$MA_IMAPS_PORT/tls"
says "--pop3 on the IMAPS port: names IMAP" pop3-on-imaps "this port speaks IMAP; $POP3_WHERE"

if [ -n "${MA_SUBMISSION_PORT:-}" ]; then
	audit imap-on-smtp --imap "$H:$MA_SUBMISSION_PORT/starttls"
	says "--imap on the submission port: names SMTP" imap-on-smtp "this port speaks SMTP; $IMAP_WHERE"
fi

# --- /starttls on an implicit-TLS port: silence, recognised early --------------------
audit starttls-on-imaps --imap "$H:$MA_IMAPS_PORT/starttls"
says "/starttls on the IMAPS port: suggests /tls" starttls-on-imaps "use $H:$MA_IMAPS_PORT/tls"
says "... says the port expects TLS" starttls-on-imaps "expects SSL/TLS from the first byte"
check_not_contains "... does not blame a firewall" "$(flat starttls-on-imaps)" "firewall"
ok $((ms < 10000 ? 0 : 1)) "... within a few seconds, not --timeout 30 ($ms ms)"

audit starttls-on-pop3s --imap "$H:$MA_IMAPS_PORT/tls" --pop3 "$H:$MA_POP3S_PORT/starttls"
says "POP3 /starttls on the POP3S port: suggests /tls" starttls-on-pop3s "use $H:$MA_POP3S_PORT/tls"
ok $((ms < 10000 ? 0 : 1)) "... within a few seconds ($ms ms)"

audit starttls-imap-on-pop3s --imap "$H:$MA_POP3S_PORT/starttls"
says "IMAP /starttls on the POP3S port: POP3 over SSL/TLS, and where IMAP is" starttls-imap-on-pop3s \
	"this port speaks POP3 over SSL/TLS; $IMAP_WHERE"

audit plain-on-imaps --imap "$H:$MA_IMAPS_PORT/plain" --insecure
says "/plain on the IMAPS port: suggests /tls too" plain-on-imaps "so /plain cannot work here: use $H:$MA_IMAPS_PORT/tls"

# --- /tls on a plain-text port --------------------------------------------------------
audit tls-on-imap --imap "$H:$MA_IMAP_PORT/tls"
says "/tls on the IMAP STARTTLS port: names plain text and suggests /starttls" tls-on-imap \
	"this port speaks IMAP in plain text, not SSL/TLS: use $H:$MA_IMAP_PORT/starttls"
audit tls-on-pop3 --imap "$H:$MA_IMAPS_PORT/tls" --pop3 "$H:$MA_POP3_PORT/tls"
says "/tls on the POP3 port: the same for POP3" tls-on-pop3 \
	"this port speaks POP3 in plain text, not SSL/TLS: use $H:$MA_POP3_PORT/starttls"
audit tls-imap-on-pop3 --imap "$H:$MA_POP3_PORT/tls"
says "IMAP /tls on the POP3 port: POP3 in plain text, and where IMAP is" tls-imap-on-pop3 \
	"this port speaks POP3 in plain text, not SSL/TLS; $IMAP_WHERE"

# --- the --check line names it too --------------------------------------------------------
out=$(timeout 120 "$bin" "${ACC[@]}" --timeout 30 --imap "$H:$MA_POP3S_PORT/tls" --check 2>&1)
check_contains "--check names the wrong port" "$out" "this port speaks POP3"

# --- a well set account still works (no look at the port, no delay) -------------------------
audit right --imap "$H:$MA_IMAP_PORT/starttls" --pop3 "$H:$MA_POP3_PORT/starttls"
ok $((rc < 3 ? 0 : 1)) "/starttls on the right ports: the audit works (exit $rc)"
check_not_contains "... no wrong-port finding" "$(flat right)" "wrong-port"

# --- /ssl is /tls ----------------------------------------------------------------------------
audit ssl --imap "$H:$MA_IMAPS_PORT/ssl" --pop3 "$H:$MA_POP3S_PORT/SSL"
ok $((rc < 3 ? 0 : 1)) "/ssl is accepted as /tls (exit $rc)"
says "... and connects with SSL/TLS" ssl "$H:$MA_IMAPS_PORT, SSL/TLS"

# --- STARTTLS refused with NO [UNAVAILABLE] ------------------------------------------------
hostile_start imap-starttls-unavailable || tap_bail "hostile server did not start"
audit starttls-unavailable --imap "$H:$hport/starttls"
says "STARTTLS refused with NO [UNAVAILABLE]: the message says STARTTLS" starttls-unavailable \
	"refused STARTTLS: [UNAVAILABLE] TLS is not available right now"

# --- obsolete server names: the audit, reached or not -----------------------------------------
printf '%s\n' '127.0.0.# | wes1.imap.example.test | Test rule: this name is obsolete.' >"$W/rules"
export MA_RULES="$W/rules"
audit obsolete --imap "$H:$MA_IMAPS_PORT/tls" --pop3 "$H:$MA_POP3S_PORT/tls"
says "an obsolete IMAP and POP3 name: host-obsolete in the report" obsolete "127.0.0.1 is an obsolete server name"
says "... with what current names look like" obsolete "Current names look like: wes1.imap.example.test"
check_eq "... one finding for both protocols (one name)" 1 "$(grep -c '^WARNING  host-obsolete' "$W/obsolete")"
closed=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
audit obsolete-offline --imap "$H:$closed/tls"
says "... also when the server cannot be reached" obsolete-offline "127.0.0.1 is an obsolete server name"
out=$(timeout 120 "$bin" "${ACC[@]}" --timeout 30 --imap "$H:$MA_IMAPS_PORT/tls" --check 2>&1)
check_contains "--check of an obsolete name: a warning" "$out" "WARNING"
check_contains "... naming it" "$out" "obsolete server name"

# --- "~" in the accounts file ------------------------------------------------------------------
home=$W/home
mkdir -p "$home/.config/mailaudit"
cp "$MA_PASSFILE" "$home/pass" && chmod 600 "$home/pass"
cp "$MA_CA" "$home/ca.pem"
cat >"$home/.config/mailaudit/config" <<EOF
[account tilde]
address = $MA_USER
imap = $H:$MA_IMAPS_PORT/tls
password_file = ~/pass
ca_file = ~/ca.pem
EOF
out=$(cd / && HOME=$home XDG_CONFIG_HOME= timeout 120 "$bin" -a tilde --no-history --state-dir "$W/state" \
	--timeout 30 --report - 2>&1)
rc=$?
ok $((rc < 3 ? 0 : 1)) "password_file = ~/pass and ca_file = ~/ca.pem work (exit $rc)"
[ "$rc" -ge 3 ] && diag "$(printf '%s\n' "$out" | head -20)"

# --- the full-screen program ----------------------------------------------------------------------
T() { tmux -L "$SOCK" "$@"; }
screen() { T capture-pane -p -t d; }
shows() { screen | grep -qF -- "$1"; }
expect() { # name text
	if ma_wait 30 shows "$2"; then pass "$1"; else fail "$1" "waited for: $2" "$(screen)"; fi
}
T new-session -d -s d -x 100 -y 30 "env PS1='$ ' bash --norc --noprofile" || tap_bail "tmux failed"
T send-keys -t d -l "cd / && HOME=$home MA_RULES=$W/rules $(printf '%q ' "$bin") --no-history --ca-file $(printf '%q' "$MA_CA") --state-dir $(printf '%q' "$W/tui-state") --timeout 30 -c /dev/null"
T send-keys -t d Enter
expect "the form starts" "E-mail address:"
T send-keys -t d -l "$MA_USER"
T send-keys -t d Tab Tab C-u; T send-keys -t d -l "$H:$MA_IMAPS_PORT"
expect "the form flags an obsolete IMAP name as it is typed" "127.0.0.1 is an obsolete server name"
expect "... with what current names look like" "Current names look like: wes1.imap.example.test"
T send-keys -t d Tab C-u; T send-keys -t d -l "$H:$MA_POP3S_PORT"
T send-keys -t d Tab; T send-keys -t d -l "$MA_PASS"
T send-keys -t d Enter
expect "the audit runs" "Verdict:"
expect "the full-screen results show host-obsolete" "host-obsolete"
T send-keys -t d e
expect "e asks where to export" "Export to:"
T send-keys -t d C-u; T send-keys -t d -l "~/exported.txt"; T send-keys -t d Enter
expect "the export path's ~ is the home directory" "Report written to $home/exported.txt"
[ -s "$home/exported.txt" ]
ok $? "... and the report is there"
T send-keys -t d q

# Every run above, sanitizer builds included: no report of a leak or an error.
san=$(grep -l -e "Sanitizer" -e "runtime error:" "$W"/* 2>/dev/null)
check_eq "no sanitizer report in any run's output" "" "$san"
tap_done
