#!/bin/bash
# The libFuzzer targets (tests/fuzz/fuzz_*.c): each builds, passes its whole
# corpus (every crash ever found stays there as a regression test), and
# survives a short fuzzing run.
#
#   MA_FUZZ_SECONDS   fuzzing time per target (default 10; 0 = corpus only)
#
# tests/run.sh runs every suite twice (normal and ASan builds). The fuzz
# binaries carry their own sanitizers, so the second pass (MA_BUILD ending in
# build-asan) reruns only the corpus, against the same up-to-date build.
. "$(dirname "$0")/../lib/tap.sh"
# libFuzzer times each input by the clock: under libfaketime its timeout
# fires at once ("timeout after -5097599 seconds"). Fuzzing holds no dates,
# so it runs on the real clock.
case "${LD_PRELOAD:-}" in
*faketime*) ma_real_clock bash "$0" "$@"; exit $? ;;
esac
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/tests/fuzz/lib.sh"

need clang || tap_bail "clang is needed for libFuzzer"

out=$top/build-fuzz
secs=${MA_FUZZ_SECONDS:-10}
case "${MA_BUILD:-}" in
*build-asan | *build-asan/) secs=0 ;;
esac

work=$(mktemp -d /tmp/ma-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

check "fuzz targets build (tests/fuzz/build.sh)" sh "$top/tests/fuzz/build.sh" "$out" || tap_bail "build failed"

targets=$(fuzz_targets "$out")
[ -n "$targets" ] || tap_bail "no fuzz target in $out"
for bin in $targets; do
	name=${bin##*/fuzz_}
	corpus=$(fuzz_corpus "$name")
	if [ ! -d "$corpus" ]; then
		fail "fuzz_$name has a corpus" "missing $corpus"
		continue
	fi
	n=$(ls "$corpus" | wc -l)
	if fuzz_regress "$bin" "$name" "$work/$name-regress.log"; then
		pass "fuzz_$name: corpus of $n inputs"
	else
		fail "fuzz_$name: corpus of $n inputs" \
			"reproducer: $(fuzz_reproducer "$work/$name-regress.log")" \
			"$(grep -E 'ERROR|SUMMARY|runtime error|fuzz_session:' "$work/$name-regress.log" | head -5)"
	fi
done

if [ "$secs" -gt 0 ]; then
	for bin in $targets; do
		name=${bin##*/fuzz_}
		[ -d "$(fuzz_corpus "$name")" ] || continue
		mkdir -p "$work/$name"
		fuzz_run "$bin" "$name" "$secs" "$work/$name" "$work/$name/fuzz.log"
		rc=$?
		art=$(fuzz_artifact "$work/$name")
		execs=$(fuzz_execs "$work/$name/fuzz.log")
		if [ "$rc" -eq 0 ] && [ -z "$art" ]; then
			pass "fuzz_$name: ${secs} s of fuzzing"
			diag "fuzz_$name: ${execs:-?} executions in ${secs} s"
		else
			# Keep the reproducer: the work dir is removed on exit.
			keep=""
			if [ -n "$art" ]; then
				keep=/tmp/ma-fuzz-$name-$(basename "$art")
				cp "$art" "$keep"
			fi
			fail "fuzz_$name: ${secs} s of fuzzing" \
				"exit $rc after ${execs:-?} executions; reproducer: ${keep:-none}" \
				"replay: $bin ${keep:-REPRODUCER}" \
				"$(grep -E 'ERROR|SUMMARY|runtime error|fuzz_session:' "$work/$name/fuzz.log" | head -5)"
		fi
	done
fi

tap_done
