#!/bin/bash
# Builds the fuzz targets (tests/fuzz/build.sh) and runs each one: first over
# its corpus once (regression), then for SECONDS of fuzzing. New interesting
# inputs go to a temporary directory, never into the repository; copy the
# ones worth keeping into tests/fuzz/corpus/NAME yourself.
#
#   tests/fuzz/run.sh [SECONDS]        (default 20; 0 = regression only)
#   FUZZ_BUILD=dir                     build directory (default build-fuzz)
#   FUZZ_TARGETS="session parse"       only these targets
#
# One fuzzing process at a time (the machine is shared). Exits non-zero on
# any crash, leak, timeout or out-of-memory, naming the reproducer.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
secs=${1:-20}
out=${FUZZ_BUILD:-$FUZZ_TOP/build-fuzz}
work=$(mktemp -d /tmp/mailaudit-fuzz.XXXXXX)
failed=0

sh "$here/build.sh" "$out" || { echo "build failed"; exit 1; }
for bin in $(fuzz_targets "$out"); do
	name=${bin##*/fuzz_}
	if [ -n "${FUZZ_TARGETS:-}" ] && ! echo " $FUZZ_TARGETS " | grep -q " $name "; then
		continue
	fi
	mkdir -p "$work/$name"
	n=$(ls "$(fuzz_corpus "$name")" 2>/dev/null | wc -l)
	if fuzz_regress "$bin" "$name" "$work/$name/regress.log"; then
		echo "ok   $name: corpus of $n inputs"
	else
		failed=1
		echo "FAIL $name: corpus regression (log $work/$name/regress.log)"
		grep -E 'ERROR|SUMMARY|runtime error' "$work/$name/regress.log" | head -5 | sed 's/^/     /'
		r=$(fuzz_reproducer "$work/$name/regress.log")
		[ -n "$r" ] && echo "     reproducer: $r"
		continue
	fi
	[ "$secs" -gt 0 ] || continue
	fuzz_run "$bin" "$name" "$secs" "$work/$name" "$work/$name/fuzz.log"
	rc=$?
	execs=$(fuzz_execs "$work/$name/fuzz.log")
	new=$(ls "$work/$name/new" | wc -l)
	art=$(fuzz_artifact "$work/$name")
	if [ "$rc" -eq 0 ] && [ -z "$art" ]; then
		echo "ok   $name: ${execs:-?} executions in ${secs}s, $new new inputs in $work/$name/new"
	else
		failed=1
		echo "FAIL $name: exit $rc after ${execs:-?} executions (log $work/$name/fuzz.log)"
		grep -E 'ERROR|SUMMARY|runtime error' "$work/$name/fuzz.log" | head -5 | sed 's/^/     /'
		echo "     reproducer: ${art:-$(fuzz_reproducer "$work/$name/fuzz.log")}"
		echo "     replay: $bin REPRODUCER"
	fi
done
echo "work dir: $work"
exit $failed
