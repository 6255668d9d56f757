# Shared by tests/fuzz/run.sh and tests/integration/t_fuzz.sh. Source it.
#
#   fuzz_targets OUTDIR            the built fuzz_* binaries, one per line
#   fuzz_corpus NAME               tests/fuzz/corpus/NAME (NAME: session, parse, ...)
#   fuzz_regress BIN NAME LOG      every corpus input once (-runs=0); exit status;
#                                  a reproducer goes beside LOG
#   fuzz_run BIN NAME SECS WORK LOG
#                                  fuzzes for SECS seconds; new inputs go to
#                                  WORK/new (never into the repository), crash,
#                                  leak, timeout and OOM reproducers to WORK/
#   fuzz_execs LOG                 executions reported by -print_final_stats
#   fuzz_artifact DIR              the first reproducer written in DIR, or nothing
#   fuzz_reproducer LOG            the reproducer a failing run named in LOG
#
# Limits per input: 10 s (-timeout) and 512 MB (-rss_limit_mb, which also
# bounds a single malloc). Leaks count as failures (LeakSanitizer is on).

FUZZ_TOP=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/../.." && pwd)

fuzz_targets() {
	for b in "$1"/fuzz_*; do
		[ -x "$b" ] && [ -f "$b" ] && echo "$b"
	done
}

fuzz_corpus() { echo "$FUZZ_TOP/tests/fuzz/corpus/$1"; }

# Longest input worth trying: parsers get single fields, sessions and config
# files whole dialogues.
fuzz_max_len() {
	case "$1" in
	parse) echo 4096 ;;
	*) echo 16384 ;;
	esac
}

# A failing input is written again beside the log, not into the directory
# the suite runs in (the repository's top: one such copy was once committed).
fuzz_regress() { # bin name log
	"$1" -runs=0 -timeout=10 -rss_limit_mb=512 -artifact_prefix="$(dirname "$3")/" \
		"$(fuzz_corpus "$2")" >"$3" 2>&1
}

fuzz_run() { # bin name secs work log
	mkdir -p "$4/new"
	"$1" -max_total_time="$3" -timeout=10 -rss_limit_mb=512 -max_len="$(fuzz_max_len "$2")" \
		-print_final_stats=1 -artifact_prefix="$4/" "$4/new" "$(fuzz_corpus "$2")" >"$5" 2>&1
}

fuzz_execs() {
	sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$1" | tail -1
}

fuzz_artifact() {
	for f in "$1"/crash-* "$1"/leak-* "$1"/timeout-* "$1"/oom-*; do
		[ -f "$f" ] && { echo "$f"; return; }
	done
}

fuzz_reproducer() {
	sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$1" | tail -1
}
