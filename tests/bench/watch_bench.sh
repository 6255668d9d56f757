#!/bin/bash
# make bench, the watch (mailaudit --watch, issue 15): its CPU while idle,
# its CPU per 1,000 events, and its RSS after a soak of 10,000 arrivals and
# 10,000 deletions, against a private Dovecot of its own. Prints a Markdown
# section on stdout (bench.sh appends it to the results).
#
#   bash tests/bench/watch_bench.sh [MAILAUDIT]
#
# Environment: MA_BENCH_WATCH_IDLE_S=30 (how long the idle CPU is measured).
# The events: rounds of 2,000 messages seeded into the maildir (Dovecot
# reports them in IDLE) and expunged by doveadm; the watch fetches each
# arrival's headers and records each deletion in its history.
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${1:-$top/build/mailaudit}
IDLE_S=${MA_BENCH_WATCH_IDLE_S:-30}
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "watch: $*"; exit 1; }
[ -x "$bin" ] || die "no mailaudit binary at $bin"

. "$top/tests/lib/dovecot.sh"
dovecot_start --no-submission || die "cannot start the private Dovecot"
dovecot_seed --maildir "$MA_MAILDIR" --count 1000 >/dev/null || die "seeding failed"
W=$MA_TMP/watchbench
mkdir -p "$W"
"$bin" --imap "127.0.0.1:$MA_IMAPS_PORT/tls" --user "$MA_USER" --password-file "$MA_PASSFILE" \
	--ca-file "$MA_CA" --state-dir "$W/state" --watch --deadline 3600 >"$W/out" 2>"$W/err" </dev/null &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; dovecot_stop_all' EXIT
ma_wait 30 ma_file_has "$W/out" "watching  INBOX" || die "the watch did not start: $(cat "$W/err")"

tck=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$tck" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000 / t }' "/proc/$pid/stat"; }
kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
count() { grep -c -F -- "  $1  " "$W/out"; }

say "watch: idle CPU over $IDLE_S s"
c0=$(cpu_ms)
sleep "$IDLE_S" # a measurement over a period, not a wait for readiness
c1=$(cpu_ms)
idle_per_min=$(awk -v a="$c0" -v b="$c1" -v s="$IDLE_S" 'BEGIN { printf "%.1f", (b - a) * 60 / s }')

say "watch: 5 rounds of 2,000 arrivals and 2,000 deletions"
c0=$(cpu_ms)
hwm1=
for r in 1 2 3 4 5; do
	dovecot_seed --maildir "$MA_MAILDIR" --count 2000 --first $((100000 + r * 2000)) >/dev/null || die "seeding failed"
	ma_wait 120 eval '[ "$(count arrived)" -ge '$((r * 2000))' ]' || die "round $r: arrivals not all seen"
	doveadm -c "$MA_DOVECOT_CONF" expunge -u "$MA_USER" mailbox INBOX all || die "doveadm expunge failed"
	ma_wait 120 eval '[ "$(count destroyed)" -ge '$((1000 + r * 2000))' ]' || die "round $r: deletions not all seen"
	[ $r = 1 ] && hwm1=$(kb VmHWM)
done
c1=$(cpu_ms)
events=$(($(count arrived) + $(count destroyed)))
per_k=$(awk -v a="$c0" -v b="$c1" -v e="$events" 'BEGIN { printf "%.1f", (b - a) * 1000 / e }')
hwm=$(kb VmHWM)
rss=$(kb VmRSS)
kill -TERM "$pid"
ma_wait 20 ma_pid_gone "$pid" || die "the watch did not end"

echo
echo "### Watch (--watch)"
echo
echo "INBOX of 1,000 messages at the start, waiting with IDLE, other folders every 60 s;"
echo "events: $events ($(count arrived) arrivals, each one's headers fetched, and"
echo "$(count destroyed) deletions, each named and recorded in the history)."
echo
echo "| case | value |"
echo "|---|---:|"
echo "| CPU while idle | $idle_per_min ms per minute |"
echo "| CPU per 1,000 events | $per_k ms |"
awk -v a="$hwm1" -v b="$hwm" -v r="$rss" 'BEGIN {
	printf "| peak RSS after the first 2,000 arrivals and deletions | %.1f MB |\n", a / 1024
	printf "| peak RSS after 10,000 arrivals and deletions | %.1f MB (growth %d kB) |\n", b / 1024, b - a
	printf "| RSS at the end | %.1f MB |\n", r / 1024 }'
