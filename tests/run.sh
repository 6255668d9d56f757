#!/bin/sh
# Runs every suite (cmocka unit tests, integration and terminal scripts) for
# each build directory given, and ends with one line "N passed, N failed".
#
#   tests/run.sh BUILD [ASAN_BUILD] [PATTERN]
#
# Every suite speaks TAP ("ok ..." / "not ok ..."). A suite that exits non-zero
# without reporting a failure, or reports nothing at all, counts as one failure:
# a missing dependency must never look like a pass.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
builds="$1"
[ -n "${2:-}" ] && builds="$builds $2"
pattern="${3:-}"
passed=0
failed=0
failures=""
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
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name ran no test" >>"$log"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	secs=$(($(date +%s) - start))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name: $p passed, $f failed (${secs}s)"
		grep -E '^not ok|^#' "$log" | head -40 | sed 's/^/    /'
		failures="$failures $name"
	else
		echo "ok   $name: $p passed (${secs}s)"
	fi
}

for b in $builds; do
	case "$b" in /*) bdir=$b ;; *) bdir="$top/$b" ;; esac
	export MAILAUDIT="$bdir/mailaudit" MA_TOOLS="$bdir/tools" MA_BUILD="$bdir"
	export CMOCKA_MESSAGE_OUTPUT=TAP
	# Full malloc stacks (slow unwinder) so the suppressions can name the
	# libetpan function that leaks, rather than hiding all of libetpan.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23:fast_unwind_on_malloc=0
	export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=24
	for t in "$bdir"/tests/test_*; do
		[ -x "$t" ] || continue
		run_suite "$b/unit/$(basename "$t")" "$t"
	done
	for t in "$top"/tests/integration/t_*.sh "$top"/tests/terminal/t_*.sh; do
		[ -f "$t" ] || continue
		run_suite "$b/$(basename "$(dirname "$t")")/$(basename "$t" .sh)" bash "$t"
	done
done

echo "logs: $logdir"
[ -n "$failures" ] && echo "failed suites:$failures"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
