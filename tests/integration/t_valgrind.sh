#!/bin/bash
# A representative subset of the sessions suite under valgrind memcheck:
# session_probe against the private Dovecot on all four ports (IMAPS, IMAP
# STARTTLS, POP3S, POP3 STLS), one full `mailaudit --report` audit (IMAP and
# POP3, with history) and three hostile scenarios. Each run must end with no
# memcheck error and no definite leak (valgrind --error-exitcode=99), with
# suppressions only for library internals (tests/valgrind.supp).
#
# ASan binaries cannot run under valgrind: tests/run.sh runs this suite in
# the normal-build pass only, and given an ASan build it fails (it never
# reports a skip, which would look like a pass).
# `make valgrind` runs this suite alone against the normal build.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
top=$(cd "$here/../.." && pwd)
if nm "${MAILAUDIT:-$top/build/mailaudit}" 2>/dev/null | grep -q __asan_init; then
	tap_bail "valgrind cannot run an ASan build (${MAILAUDIT:-$top/build/mailaudit}): run this suite against the normal build"
fi
. "$here/../lib/dovecot.sh"
MAILAUDIT=${MAILAUDIT:-$top/build/mailaudit}
MA_TOOLS=${MA_TOOLS:-$top/build/tools}
probe="$MA_TOOLS/session_probe"
need valgrind dovecot openssl python3 || tap_bail "missing dependencies"
[ -x "$probe" ] || tap_bail "session_probe not built ($probe)"
[ -x "$MAILAUDIT" ] || tap_bail "mailaudit not built ($MAILAUDIT)"

VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
	--show-leak-kinds=definite --suppressions="$top/tests/valgrind.supp" --num-callers=30)

dovecot_start --no-submission || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
W=$(mktemp -d /tmp/ma-valgrind.XXXXXX)
MA_HOSTILE_DIR=$W
. "$here/../lib/hostile.sh"
trap 'hostile_stop_all; wait 2>/dev/null; rm -rf "$W"; dovecot_stop_all' EXIT
H=127.0.0.1
P=(--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10)

# vg NAME WANT-IN-STDOUT cmd...: runs cmd under valgrind
vg() {
	local name=$1 want=$2 rc t0
	shift 2
	t0=$(date +%s)
	"${VG[@]}" --log-file="$W/$name.vg" "$@" >"$W/$name.out" 2>"$W/$name.err"
	rc=$?
	if [ "$rc" -eq 99 ] || [ -s "$W/$name.vg" ]; then
		fail "valgrind $name: no memory error, no definite leak" "$(head -60 "$W/$name.vg")"
	else
		pass "valgrind $name: no memory error, no definite leak ($(($(date +%s) - t0)) s)"
	fi
	check_contains "valgrind $name: did its work (exit $rc)" "$(cat "$W/$name.out")" "$want"
}

# Control: the same valgrind settings do flag a definite leak.
printf '#include <stdlib.h>\nint main(void){ void *p = malloc(64); p = 0; return p != 0; }\n' >"$W/leak.c"
if cc -O0 -g -o "$W/leak" "$W/leak.c" 2>/dev/null; then
	"${VG[@]}" --log-file="$W/leak.vg" "$W/leak"
	check_eq "control: these valgrind settings fail a program with a definite leak" 99 "$?"
fi

vg imaps "imap ok" "$probe" --imap "$H:$MA_IMAPS_PORT/tls" --headers "${P[@]}"
vg imap-starttls "imap ok" "$probe" --imap "$H:$MA_IMAP_PORT/starttls" "${P[@]}"
vg pop3s "pop3 ok" "$probe" --pop3 "$H:$MA_POP3S_PORT/tls" "${P[@]}"
vg pop3-stls "pop3 ok" "$probe" --pop3 "$H:$MA_POP3_PORT/starttls" "${P[@]}"
vg mailaudit-report "Verdict:" "$MAILAUDIT" --report - --state-dir "$W/state" \
	--imap "$H:$MA_IMAPS_PORT/tls" --pop3 "$H:$MA_POP3S_PORT/tls" "${P[@]}"

printf 'secret-pw\n' >"$W/pw"
chmod 600 "$W/pw"
HP=(--user u@example.test --password-file "$W/pw" --insecure --timeout 2)
for c in imap-eof-fetch-literal:imap:closed imap-fetch-huge-literal:imap:too-large pop3-uidl-dup:pop3:protocol; do
	sc=${c%%:*} rest=${c#*:}
	proto=${rest%%:*} want=${rest#*:}
	hostile_start "$sc" || tap_bail "hostile server $sc did not start"
	vg "hostile-$sc" "$proto error $want" "$probe" --"$proto" "$H:$hport/plain" "${HP[@]}"
	hostile_stop "$hpid"
done

tap_done
