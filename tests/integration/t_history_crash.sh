#!/bin/bash
# The history file survives an audit killed halfway (kill -9 mid-transaction),
# and a file that is not ours is refused and left byte-for-byte untouched.
. "$(dirname "$0")/../lib/tap.sh"

tool="${MA_TOOLS:-build/tools}/history_crash"
[ -x "$tool" ] || tap_bail "missing $tool (run make all)"
need sha256sum || tap_bail

work=$(mktemp -d /tmp/ma-history-crash.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# ---- kill -9 in the middle of the second audit ----
n=2000
fifo="$work/out"
mkfifo "$fifo"
"$tool" --write "$work/state" "$n" >"$fifo" 2>"$work/write.err" &
pid=$!
ready=""
# The fifo closes on EOF if the tool dies first; 60 s covers a slow ASan run.
if read -r -t 60 ready <"$fifo" && [ "$ready" = READY ]; then
	pass "second audit is mid-transaction"
else
	fail "second audit is mid-transaction" "got: '$ready'" "$(cat "$work/write.err")"
fi
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=""

wal_size=$(stat -c %s "$work/state/history.db-wal" 2>/dev/null || echo 0)
diag "WAL left by the killed audit: $wal_size bytes"
check "history after kill -9 holds exactly the first audit, intact" \
	"$tool" --verify "$work/state" "$n"
# The recovered file must also work for the next audit's open.
check "history opens again after the crash" "$tool" --open "$work/state"

# ---- files that are not ours ----
refuse_untouched() { # name
	local name=$1 before after out rc
	before=$(sha256sum <"$work/bad/history.db")
	out=$("$tool" --open "$work/bad" 2>&1)
	rc=$?
	after=$(sha256sum <"$work/bad/history.db")
	if [ "$rc" -ne 0 ]; then pass "$name: refused"; else fail "$name: refused" "$out"; fi
	check_contains "$name: error names the file" "$out" "$work/bad/history.db"
	check_contains "$name: error says it is left untouched" "$out" "left untouched"
	check_eq "$name: bytes unchanged" "$before" "$after"
}

mkdir -p "$work/bad"
head -c 65536 /dev/urandom >"$work/bad/history.db"
refuse_untouched "random bytes"

rm -f "$work/bad/history.db"
"$tool" --foreign "$work/bad/history.db" || fail "make a foreign database"
refuse_untouched "another program's SQLite file"
check "no sidecar files left next to the foreign file" \
	test ! -s "$work/bad/history.db-journal" -a ! -s "$work/bad/history.db-wal"

tap_done
