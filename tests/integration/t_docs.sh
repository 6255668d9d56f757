#!/bin/bash
# The documentation tells the truth about the program: every option the
# program accepts is in the man page and in --help, every finding code has
# its section in docs/findings.md, the Czech man page (docs/mailaudit.cs.1)
# names every option too and renders without warnings, the README names the two commands, and
# `make demo`'s script runs end to end without a terminal, shows a CRITICAL
# verdict and leaves no server running.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/../lib/tap.sh"
bin=${MAILAUDIT:-$top/build/mailaudit}
man=$top/docs/mailaudit.1
man_cs=$top/docs/mailaudit.cs.1
[ -x "$bin" ] || tap_bail "mailaudit not built ($bin)"
[ -f "$man" ] || tap_bail "no man page ($man)"
[ -f "$man_cs" ] || tap_bail "no Czech man page ($man_cs)"

# --- options -------------------------------------------------------------
# The long options of the getopt_long table in cli/main.c.
longs=$(sed -n '/struct option longopts\[\]/,/^[[:space:]]*};/p' "$top/cli/main.c" |
	grep -o '{ *"[a-z0-9-]*"' | grep -o '[a-z0-9-]*' | sort -u)
n=$(printf '%s\n' "$longs" | grep -c .)
[ "$n" -ge 10 ] || fail "found the long options in cli/main.c" "only $n found: $longs"
shorts=$(grep -o 'getopt_long([^;]*"[^"]*"' "$top/cli/main.c" | sed 's/.*"\([^"]*\)"$/\1/' | tr -d ':')

# The man page with roff's \- turned into plain hyphens.
mantext=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$man")
help=$("$bin" --help 2>&1)
missing_man=""
missing_help=""
for o in $longs; do
	printf '%s\n' "$mantext" | grep -Eq -- "--$o([^a-z0-9-]|\$)" || missing_man="$missing_man --$o"
	printf '%s\n' "$help" | grep -Eq -- "--$o([^a-z0-9-]|\$)" || missing_help="$missing_help --$o"
done
for s in $(printf '%s' "$shorts" | fold -w1); do
	printf '%s\n' "$mantext" | grep -Eq -- "(^|[^a-z0-9-])-$s([^a-z0-9-]|\$)" || missing_man="$missing_man -$s"
done
if [ -z "$missing_man" ]; then
	pass "every option of cli/main.c ($n long) is in docs/mailaudit.1"
else
	fail "every option of cli/main.c is in docs/mailaudit.1" "missing:$missing_man"
fi
if [ -z "$missing_help" ]; then
	pass "every long option of cli/main.c is in mailaudit --help"
else
	fail "every long option of cli/main.c is in mailaudit --help" "missing:$missing_help"
fi

# The Czech page: every option as well (its translation may not drop one).
mantext=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$man_cs")
missing_man=""
for o in $longs; do
	printf '%s\n' "$mantext" | grep -Eq -- "--$o([^a-z0-9-]|\$)" || missing_man="$missing_man --$o"
done
for s in $(printf '%s' "$shorts" | fold -w1); do
	printf '%s\n' "$mantext" | grep -Eq -- "(^|[^a-z0-9-])-$s([^a-z0-9-]|\$)" || missing_man="$missing_man -$s"
done
if [ -z "$missing_man" ]; then
	pass "every option of cli/main.c ($n long) is in docs/mailaudit.cs.1"
else
	fail "every option of cli/main.c is in docs/mailaudit.cs.1" "missing:$missing_man"
fi
for h in "JMÉNO" "POUŽITÍ" "VOLBY" "NÁVRATOVÝ KÓD" "SOUBORY" "PŘÍKLADY"; do
	if grep -qx -- ".SH $h" "$man_cs"; then pass "docs/mailaudit.cs.1 has the section $h"; else
		fail "docs/mailaudit.cs.1 has the section $h" "$(grep '^\.SH' "$man_cs")"; fi
done
check_contains "docs/mailaudit.cs.1 declares its encoding (for man's preconv)" "$(head -n1 "$man_cs")" \
	"coding: UTF-8"

# The man pages render without warnings (-k: the Czech page through
# preconv, as man runs it). man on the real clock: under libfaketime (a run
# that checks no result depends on the date) man-db's sandbox refuses the
# library's semaphore and the pipeline dies.
if need groff man; then
	warn=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
	check_eq "docs/mailaudit.1 renders without groff warnings" "" "$warn"
	warn=$(LC_ALL=C.UTF-8 groff -k -man -Tutf8 -ww -z "$man_cs" 2>&1)
	check_eq "docs/mailaudit.cs.1 renders without groff warnings" "" "$warn"
	warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' ma_real_clock man --warnings -l "$man_cs" 2>&1 >/dev/null)
	check_eq "man -l docs/mailaudit.cs.1 renders without warnings" "" "$warn"
	page=$(LC_ALL=C.UTF-8 MANWIDTH=80 ma_real_clock man -l "$man_cs" 2>/dev/null)
	check_contains "man -l docs/mailaudit.cs.1: the Czech text comes out whole" "$page" "NÁVRATOVÝ KÓD"
fi

# --- findings ------------------------------------------------------------
codes=$(grep -oE '^[[:space:]]*X\(MA_K_[A-Z0-9_]+, *"[a-z0-9-]+"' "$top/core/audit/finding_kinds.h" |
	grep -oE '"[a-z0-9-]+"' | tr -d '"')
n=$(printf '%s\n' "$codes" | grep -c .)
[ "$n" -ge 5 ] || fail "found the finding codes in core/audit/finding_kinds.h" "only $n found"
missing=""
for c in $codes; do
	grep -qx "## $c" "$top/docs/findings.md" || missing="$missing $c"
done
if [ -z "$missing" ]; then
	pass "every finding code of core/audit/finding_kinds.h ($n) is a heading in docs/findings.md"
else
	fail "every finding code of core/audit/finding_kinds.h is a heading in docs/findings.md" "missing:$missing"
fi

# --- README --------------------------------------------------------------
readme=$(cat "$top/README.md" 2>/dev/null)
check_contains "README mentions make demo" "$readme" "make demo"
check_contains "README mentions make test" "$readme" "make test"

# --- the demo ------------------------------------------------------------
need dovecot fetchmail python3 timeout || tap_done
state=$(mktemp /tmp/ma-demo-state.XXXXXX)
out=$(mktemp /tmp/ma-demo-out.XXXXXX)
start=$(date +%s)
MA_DEMO_STATE_FILE=$state timeout 60 bash "$top/tests/tools/demo.sh" "$bin" >"$out" 2>&1 </dev/null
rc=$?
secs=$(($(date +%s) - start))
if [ $rc -eq 0 ]; then
	pass "demo.sh runs without a terminal and exits 0 (${secs}s)"
else
	fail "demo.sh runs without a terminal and exits 0" "exit $rc after ${secs}s (124 = over 60 s); output tail:" "$(tail -30 "$out")"
fi
text=$(cat "$out")
check_contains "demo output shows the CRITICAL verdict" "$text" "Verdict: CRITICAL"
check_contains "demo output names the destroyed mail" "$text" "mail-destroyed"

# Nothing of the demo's server is left: its processes and its directory.
demo_tmp=$(sed -n 's/^tmp //p' "$state")
pids=$(sed -n 's/^pid //p' "$state")
if [ -z "$demo_tmp" ] || [ -z "$pids" ]; then
	fail "demo reported its server (MA_DEMO_STATE_FILE)" "$(cat "$state")"
else
	none_alive() { # sets alive to the demo's processes still running
		alive=""
		for p in $pids; do
			[ -r "/proc/$p/cmdline" ] || continue
			ma_pid_gone "$p" && continue
			tr '\0' ' ' <"/proc/$p/cmdline" | grep -q dovecot && alive="$alive $p"
		done
		for pp in $(pgrep -f -- "$demo_tmp/"); do alive="$alive $pp"; done
		[ -z "$alive" ]
	}
	ma_wait 30 none_alive
	if [ -z "$alive" ]; then
		pass "no Dovecot process of the demo is left ($(echo "$pids" | wc -w) were running)"
	else
		fail "no Dovecot process of the demo is left" "still running:$alive" \
			"$(ps -o pid,ppid,args -p "$(echo "$alive" | sed 's/^ //' | tr ' ' ,)" 2>&1)"
	fi
	if [ -e "$demo_tmp" ]; then
		fail "demo removed its temporary directory" "$demo_tmp still exists"
	else
		pass "demo removed its temporary directory"
	fi
fi
rm -f "$state" "$out"
tap_done
