#!/bin/sh
# Runs every suite (cmocka unit tests, integration and terminal scripts) for
# each build directory given, and ends with one line
# "N passed, N failed, N skipped".
#
#   tests/run.sh BUILD [ASAN_BUILD] [PATTERN]
#
# Every suite speaks TAP ("ok ..." / "not ok ..."). A suite that exits non-zero
# without reporting a failure, or reports nothing at all, counts as one failure:
# a missing dependency must never look like a pass. A TAP "ok ... # SKIP" is
# counted as skipped, never as passed, and with CI set any skip fails the run.
#
# The suites' results must not depend on the date, the time zone or the
# machine's load: TZ and the language are pinned here (a test that needs another zone sets it),
# dates come from fixed seeds or --now, and waits poll with deadlines
# (tests/lib/wait.sh).
set -u
export TZ=UTC
# English texts, whatever the machine's language (a suite that tests Czech
# sets LC_ALL itself); UTF-8 so that the terminal suites see diacritics.
unset LANGUAGE LC_MESSAGES LC_CTYPE
export LANG=C.UTF-8 LC_ALL=C.UTF-8
top=$(cd "$(dirname "$0")/.." && pwd)
builds="$1"
[ -n "${2:-}" ] && builds="$builds $2"
pattern="${3:-}"
passed=0
failed=0
skipped=0
failures=""
skips=""
logdir=$(mktemp -d /tmp/mailaudit-tests.XXXXXX)

run_suite() { # name, command...
	name=$1
	shift
	if [ -n "$pattern" ] && ! echo "$name" | grep -q -- "$pattern"; then
		return
	fi
	log="$logdir/$(echo "$name" | tr '/ ' '__').log"
	start=$(date +%s)
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	s=$(grep -ciE '^ok .*# *skip' "$log")
	p=$(($(grep -c '^ok ' "$log") - s))
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		f=1
		echo "not ok - $name ran no test" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	secs=$(($(date +%s) - start))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name: $p passed, $f failed, $s skipped (${secs}s)"
		grep -E '^not ok|^#' "$log" | head -40 | sed 's/^/    /'
		failures="$failures $name"
	elif [ "$s" -gt 0 ]; then
		echo "SKIP $name: $p passed, $s skipped (${secs}s)"
		grep -iE '^ok .*# *skip' "$log" | head -10 | sed 's/^/    /'
		skips="$skips $name"
	else
		echo "ok   $name: $p passed (${secs}s)"
	fi
}

# Checks of the source itself (layering): once, not per build.
for t in "$top"/tests/static/t_*.sh; do
	[ -f "$t" ] || continue
	run_suite "static/$(basename "$t" .sh)" bash "$t"
done

first_build=${builds%% *}
for b in $builds; do
	case "$b" in /*) bdir=$b ;; *) bdir="$top/$b" ;; esac
	export MAILAUDIT="$bdir/mailaudit" MA_TOOLS="$bdir/tools" MA_BUILD="$bdir"
	# A case that only waits out a long timer (--check's 50 s deadline)
	# or checks file places runs in the first build's pass alone: the
	# sanitizers have nothing to find in it, and make test stays short.
	MA_FIRST_BUILD=0
	[ "$b" = "$first_build" ] && MA_FIRST_BUILD=1
	export MA_FIRST_BUILD
	export CMOCKA_MESSAGE_OUTPUT=TAP
	# The fast unwinder: the slow one (full stacks through libetpan, which
	# has no frame pointers) made some suites four times slower under ASan.
	# Its stacks end at libetpan's own frame, so tests/lsan.supp names the
	# libetpan allocator of the one leak it has, not its caller.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23:fast_unwind_on_malloc=1
	export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=24
	for t in "$bdir"/tests/test_*; do
		[ -x "$t" ] || continue
		run_suite "$b/unit/$(basename "$t")" "$t"
	done
	for t in "$top"/tests/integration/t_*.sh "$top"/tests/terminal/t_*.sh; do
		[ -f "$t" ] || continue
		# valgrind cannot run ASan binaries: memcheck runs in the first
		# (normal) build's pass only.
		# t_install checks where files go and are found, not memory.
		case "$(basename "$t")" in
		t_valgrind.sh | t_install.sh) [ "$b" != "$first_build" ] && continue ;;
		esac
		run_suite "$b/$(basename "$(dirname "$t")")/$(basename "$t" .sh)" bash "$t"
	done
done

if [ -n "$pattern" ] && [ $((passed + failed + skipped)) -eq 0 ]; then
	echo "no suite matches '$pattern'"
	failed=1
fi
echo "logs: $logdir"
[ -n "$failures" ] && echo "failed suites:$failures"
[ -n "$skips" ] && echo "suites with skipped tests:$skips"
rc=0
[ "$failed" -eq 0 ] || rc=1
if [ -n "${CI:-}" ] && [ "$skipped" -gt 0 ]; then
	echo "CI is set: a skipped test fails the run (install what it needs: make deps)"
	rc=1
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $rc
