#!/bin/bash
# Czech: the full-screen program's main screens under LC_ALL=cs_CZ.UTF-8 at
# 80x24 and 40x12 (Czech text shown, every line within the terminal), the
# live watch view (w) with a delivered message's row, the help, the form's
# server suggestions (a private dnsmasq as resolver), --help, --report - with
# Czech headings, and the monitoring line
# (--check) that stays English. English stays the default (the C locale).
# Needs the cs_CZ.UTF-8 locale (make deps) and the build's catalogue: a
# missing one fails, never skips.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
. "$here/../lib/clients.sh"
need tmux dovecot doveadm python3 locale dnsmasq || tap_bail "missing dependencies"
MAILAUDIT=${MAILAUDIT:-$here/../../build/mailaudit}
[ -x "$MAILAUDIT" ] || tap_bail "no binary at $MAILAUDIT"
locale -a 2>/dev/null | grep -qix 'cs_CZ\.utf-\{0,1\}8' ||
	tap_bail "no cs_CZ.UTF-8 locale: run make deps (it generates it)"
CS="LC_ALL=cs_CZ.UTF-8 LANG=cs_CZ.UTF-8"

dovecot_start || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"

W=$(mktemp -d "$MA_TMP/czech.XXXXXX")
export XDG_CONFIG_HOME="$W/none" XDG_STATE_HOME="$W/state" HOME="$W"
SOCK=macz$$
T() { tmux -L "$SOCK" "$@"; }
DNS_PID=
cleanup() {
	T kill-server 2>/dev/null
	[ -n "$DNS_PID" ] && kill "$DNS_PID" 2>/dev/null
	dovecot_stop_all
}
trap cleanup EXIT

ACCT=(--imap "127.0.0.1:$MA_IMAPS_PORT" --pop3 "127.0.0.1:$MA_POP3S_PORT" --user "$MA_USER"
	--password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10)
quote() { printf '%q ' "$@"; }

screen() { T capture-pane -p -t cz; }
shows() { screen | grep -qF -- "$1"; }
expect() { # NAME TEXT
	if ma_wait 20 shows "$2"; then pass "$1"; else fail "$1" "waited for: $2" "$(screen)"; fi
}
# fits NAME COLS: every line of the screen within COLS columns (wide
# letters counted as such), and no replacement character for a letter the
# terminal could not show.
fits() {
	local out
	out=$(screen | python3 -c '
import sys, unicodedata
cols = int(sys.argv[1])
for n, line in enumerate(sys.stdin.read().split("\n"), 1):
    w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
    if w > cols or "\ufffd" in line or "?" * 2 in line:
        print("line %d (%d columns): %s" % (n, w, line))
' "$2")
	if [ -z "$out" ]; then pass "$1"; else fail "$1" "$out" "$(screen)"; fi
}
# A session of its own keeps the tmux server up while the program's
# session is replaced (the last session's end would stop the server, and a
# new session could race with its exit).
T new-session -d -s keep "sleep 3600" || tap_bail "tmux failed"
start() { # COLS ROWS command line: a new pane running it
	T kill-session -t cz 2>/dev/null
	T new-session -d -s cz -x "$1" -y "$2" "$3; sleep 600" || tap_bail "tmux failed"
}

# --- the start screen ------------------------------------------------------------------
start 80 24 "env $CS TERM=xterm-256color $(quote "$MAILAUDIT" --state-dir "$W/s0")"
expect "start screen: the question in Czech" "Kterou schránku zkontrolovat?"
expect "start screen: the field labels in Czech" "Heslo:"
expect "start screen: the hint bar in Czech" "Tab: další pole"
fits "start screen 80x24: every line fits" 80
T send-keys -t cz F1
expect "help: in Czech" "Klávesy"
expect "help: the key descriptions in Czech" "O stránku dolů"
fits "help 80x24: every line fits" 80
T send-keys -t cz Escape

# --- the results at 80x24 --------------------------------------------------------------
start 80 24 "env $CS TERM=xterm-256color $(quote "$MAILAUDIT" "${ACCT[@]}" --state-dir "$W/s1")"
expect "results: the verdict line in Czech" "Výsledek:"
expect "results: the tabs name every view in Czech" "1 Nálezy"
check_contains "results: the tabs in full at 80 columns" "$(screen)" "6 Protokol"
check_contains "results: the status line in Czech" "$(screen)" "Kontrola je hotová."
fits "results 80x24: every line fits" 80
T send-keys -t cz 2
expect "view 2: the folder table's columns in Czech" "Složka"
expect "view 2: the hint bar in Czech" "q konec  ? nápověda"
check_contains "view 2: folder names as the server names them" "$(screen)" "Odeslaná pošta"
check_contains "view 2: INBOX stays INBOX" "$(screen)" "INBOX"
fits "view 2 80x24: every line fits" 80
T send-keys -t cz 4
expect "view 4: the connection in Czech" "Stiskem p otestujete"
fits "view 4 80x24: every line fits" 80
T send-keys -t cz 5
expect "view 5: the history in Czech" "Začátek"
T send-keys -t cz 6
expect "view 6: the report in Czech" "je pošta v této schránce v bezpečí?"
fits "view 6 80x24: every line fits" 80

# --- the live watch view at 80x24 ------------------------------------------------------
T send-keys -t cz w
expect "watch: the header in Czech" "mailaudit: sleduji $MA_USER"
expect "watch: the state line in Czech" "Sleduji INBOX:"
check_contains "watch: the counts in Czech" "$(screen)" \
	"Přišlo: 0   Přesunuto: 0   Zničeno: 0   Zmizelo: 0   Obnovení spojení: 0"
check_contains "watch: no rhythm yet, its plural in Czech" "$(screen)" \
	"Rytmus: zatím žádný (ukáže se po 3 zničených zprávách)"
check_contains "watch: the watching event's row, its kind in Czech" "$(screen)" "  sledování INBOX  "
check_contains "watch: the hint bar in Czech" "$(screen)" "Esc/q: ukončit sledování   Nahoru/Dolů: posun"
fits "watch 80x24: every line fits" 80
deliver 1 || fail "deliver 1 message"
# The row: "2026-12-06 21:03 CET  přišla    INBOX  Sender 1 <...>  Subject"
arrived_row() { screen | grep -E "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{5} [A-Z+0-9:]+  přišla +INBOX  "; }
if ma_wait 20 arrived_row >/dev/null; then pass "watch: a delivered message's row, its kind in Czech"; else
	fail "watch: a delivered message's row, its kind in Czech" "$(screen)"; fi
check_contains "watch: the kind column padded by columns, not bytes" "$(arrived_row)" "  přišla    INBOX  "
expect "watch: the count of arrivals" "Přišlo: 1 "
fits "watch 80x24 with a row: every line fits" 80
T send-keys -t cz F1
expect "watch: the help in Czech" "Klávesy"
check_contains "help: the key names in Czech, padded by columns" "$(screen)" "Dolů, j        Dolů ("
T send-keys -t cz Escape
expect "watch: Esc closes the help, the watch goes on" "Sleduji INBOX:"
T send-keys -t cz Escape
expect "watch: Esc stops it, the status line in Czech" \
	"Sledování zastaveno. Přišlo: 1, přesunuto: 0, zničeno: 0, zmizelo: 0."
T send-keys -t cz q
expect "q: the shell's sleep remains, the program ended" ""

# --- 40x12 -----------------------------------------------------------------------------
start 40 12 "env $CS TERM=xterm-256color $(quote "$MAILAUDIT" "${ACCT[@]}" --state-dir "$W/s2")"
expect "40x12: the verdict line in Czech" "Výsledek:"
expect "40x12: the views by their short Czech names" "1 Nál 2 Slož 3 POP3 4 Spoj 5 Hist 6 Prot"
fits "40x12 results: every line fits" 40
T send-keys -t cz 2
expect "40x12 view 2: Czech column names" "Složka"
fits "40x12 view 2: every line fits" 40
T send-keys -t cz '?'
expect "40x12 help: in Czech" "Klávesy"
fits "40x12 help: every line fits" 40
T send-keys -t cz Escape
T send-keys -t cz w
expect "40x12 watch: the state line in Czech" "Sleduji INBOX:"
expect "40x12 watch: the counts closer together" "Přišlo: 0 Přesunuto: 0 Zničeno: 0"
fits "40x12 watch: every line fits" 40
T send-keys -t cz Escape
expect "40x12 watch: Esc stops it" "Sledování zastaveno."
fits "40x12 results after the watch: every line fits" 40
start 40 12 "env $CS TERM=xterm-256color $(quote "$MAILAUDIT" --state-dir "$W/s3")"
expect "40x12 start screen: the question in Czech" "Kterou schránku"
fits "40x12 start screen: every line fits" 40

# --- the form's server suggestions ---------------------------------------------------------
# A private dnsmasq: firma.test's mail goes to WEDOS (the mx rule of
# data/providers.rules), whose names hold the customer's number.
DNS_PORT=$(python3 -c "import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")
dnsmasq --no-daemon --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --local=/test/ --mx-host=firma.test,mx1.wedos.net,10 \
	--log-facility=- >"$W/dnsmasq.log" 2>&1 &
DNS_PID=$!
ma_wait 20 ma_file_has "$W/dnsmasq.log" started || tap_bail "dnsmasq did not start: $(cat "$W/dnsmasq.log")"
for size in "80 24" "40 12"; do
	set -- $size
	start "$1" "$2" "env $CS TERM=xterm-256color MA_RESOLVER=127.0.0.1:$DNS_PORT $(quote "$MAILAUDIT" --state-dir "$W/s3s")"
	expect "$1x$2 suggestions: the form" "Heslo:"
	T send-keys -t cz -l "jana@firma.test"; T send-keys -t cz Tab
	# 40x12 has no room under the form: the name with X in the field stays.
	expect "$1x$2 suggestions: the name with X, no number" "Server IMAP:    wesX.imap.wedos.net"
	[ "$1" = 80 ] && expect "80x24 suggestions: the provider in Czech" "Poštu domény firma.test přijímá WEDOS"
	fits "$1x$2 suggestions: every line fits" "$1"
done

# --- text output -------------------------------------------------------------------------
help=$(env LC_ALL=cs_CZ.UTF-8 "$MAILAUDIT" --help)
check_contains "--help in Czech" "$help" "Použití: mailaudit [VOLBY]"
help=$(env LC_ALL=C "$MAILAUDIT" --help)
check_contains "--help in English under C" "$help" "Usage: mailaudit [OPTIONS]"
err=$(env LC_ALL=cs_CZ.UTF-8 "$MAILAUDIT" --bogus 2>&1)
check_contains "an error on the command line in Czech" "$err" "neznámá volba"

report=$(env LC_ALL=cs_CZ.UTF-8 "$MAILAUDIT" --report - "${ACCT[@]}" --state-dir "$W/s4")
check_contains "--report -: the title in Czech" "$report" "je pošta v této schránce v bezpečí?"
check_contains "--report -: the verdict in Czech" "$report" "Výsledek: "
for h in "Nálezy" "Zaznamenaná ztracená pošta" "Složky" "IMAP INBOX a POP3" "Spojení a certifikáty" \
	"Historie (nejnovější první)" "Doporučené nastavení (od poskytovatele)"; do
	if echo "$report" | grep -qx -- "$h"; then pass "--report -: heading \"$h\""; else
		fail "--report -: heading \"$h\"" "$report"; fi
done
check_contains "--report -: folder names as the server names them" "$report" "Odeslaná pošta"
check_not_contains "--report -: no English heading left" "$report" "Lost mail on record"

# --- the connection doctor, the watch, the accounts file -------------------------------
probe=$(env LC_ALL=cs_CZ.UTF-8 "$MAILAUDIT" --probe "${ACCT[@]}" --timeout 5)
check_contains "--probe: the header in Czech" "$probe" "Diagnostika spojení pro $MA_USER"
check_contains "--probe: a working cell in Czech" "$probe" "v pořádku: TLS"
check_contains "--probe: how a server was found in Czech" "$probe" "(zadáno)"
check_contains "--probe: a finding's severity in Czech" "$probe" "[INFO] best-settings: Funkční nastavení:"
check_contains "--probe: why, in Czech" "$probe" "    Proč: "
check_contains "--probe: what to do, in Czech" "$probe" "    Náprava: "
for en in "Connection doctor" "certificate valid" "Why:" "Fix:" "(given)"; do
	check_not_contains "--probe: no English \"$en\" left" "$probe" "$en"
done

env LC_ALL=cs_CZ.UTF-8 "$MAILAUDIT" --imap "127.0.0.1:$MA_IMAPS_PORT" --user "$MA_USER" \
	--password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10 --state-dir "$W/s7" \
	--watch --deadline 3 --interval 1 >"$W/watch.out" 2>"$W/watch.err" </dev/null
watch=$(cat "$W/watch.out")
if echo "$watch" | grep -qE '^20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8} [+-][0-9]{4}  sledování  INBOX  [0-9]+ zpráv[ay]?; čekám s IDLE, ostatní složky vždy po 1 s'; then
	pass "--watch: the event line in Czech, its time stamp as in English"
else
	fail "--watch: the event line in Czech, its time stamp as in English" "$watch" "$(cat "$W/watch.err")"
fi
check_not_contains "--watch: no English left" "$watch" "waiting with IDLE"

printf '[account prace]\nimap = 127.0.0.1\nheslo = tajne\n' >"$W/ucty"
err=$(env LC_ALL=cs_CZ.UTF-8 "$MAILAUDIT" -c "$W/ucty" -a prace 2>&1)
check_contains "an accounts-file error in Czech" "$err" "ucty:3: neznámý klíč „heslo“"
check_contains "the accounts-file error names the keys there are" "$err" "(známé: address, login"

line=$(env LC_ALL=cs_CZ.UTF-8 "$MAILAUDIT" --check "${ACCT[@]}" --state-dir "$W/s5")
if echo "$line" | grep -qE '^MAILAUDIT (OK|WARNING|CRITICAL|UNKNOWN) - '; then
	pass "--check under Czech: the monitoring line's status word in English"
else
	fail "--check under Czech: the monitoring line's status word in English" "$line"
fi
check_eq "--check under Czech: the line as under C" \
	"$(env LC_ALL=C.UTF-8 "$MAILAUDIT" --check "${ACCT[@]}" --state-dir "$W/s6" | sed 's/time=[0-9.]*s/time/')" \
	"$(echo "$line" | sed 's/time=[0-9.]*s/time/')"
line=$(env LC_ALL=cs_CZ.UTF-8 "$MAILAUDIT" --check --bogus)
check_contains "--check under Czech: an error on the command line in English" "$line" \
	"MAILAUDIT UNKNOWN - unknown option '--bogus'"

tap_done
