# Tiny TAP helpers for bash test scripts. Source it:  . "$(dirname "$0")/../lib/tap.sh"
#
#   ok STATUS "name"              ok when STATUS (an exit status) is 0:  some_cmd; ok $? "name"
#   pass "name"                   always ok
#   fail "name" [detail...]       always not ok; detail lines are printed as '# ' comments
#   check "name" cmd [args...]    runs cmd; ok when it exits 0, else not ok plus its output as '# ' lines
#   check_eq "name" expected actual
#   check_contains "name" haystack needle       (fixed string)
#   check_not_contains "name" haystack needle
#   diag text...                  prints '# text' lines
#   need CMD...                   not ok "missing dependency: CMD (run make deps)" per missing command;
#                                 returns 1 if any is missing (callers usually: need x y || tap_bail)
#   tap_bail [reason]             reports a failure (if none yet) and exits 1 at once
#   tap_done                      prints the plan; exits 1 if any test failed (or none ran), else 0
#
# Counters: TAP_RUN, TAP_FAILED.
# Waiting for readiness: ma_wait and friends from wait.sh (sourced here).

. "$(dirname "${BASH_SOURCE[0]}")/wait.sh"

TAP_RUN=0
TAP_FAILED=0

diag() {
	local line
	printf '%s\n' "$*" | while IFS= read -r line; do printf '# %s\n' "$line"; done
}

pass() {
	TAP_RUN=$((TAP_RUN + 1))
	printf 'ok %d - %s\n' "$TAP_RUN" "$1"
}

fail() {
	TAP_RUN=$((TAP_RUN + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_RUN" "$1"
	shift
	[ $# -gt 0 ] && diag "$@"
	return 0
}

ok() { # status name
	if [ "$1" -eq 0 ] 2>/dev/null; then pass "$2"; else fail "$2" "exit status: $1"; fi
}

check() { # name cmd...
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -eq 0 ]; then
		pass "$name"
	else
		fail "$name" "command: $* (exit $rc)" "$out"
	fi
	return $rc
}

check_eq() { # name expected actual
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "expected: $2" "actual:   $3"
		return 1
	fi
}

check_contains() { # name haystack needle
	case "$2" in
	*"$3"*) pass "$1" ;;
	*) fail "$1" "missing: $3" "in:" "$2"; return 1 ;;
	esac
}

check_not_contains() { # name haystack needle
	case "$2" in
	*"$3"*) fail "$1" "unexpected: $3" "in:" "$2"; return 1 ;;
	*) pass "$1" ;;
	esac
}

need() { # cmd...
	local c missing=0
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			fail "missing dependency: $c (run make deps)"
			missing=1
		fi
	done
	return $missing
}

tap_bail() {
	[ "$TAP_FAILED" -eq 0 ] && fail "${1:-bailed out}"
	[ -n "${1:-}" ] && diag "bail out: $1"
	printf '1..%d\n' "$TAP_RUN"
	exit 1
}

tap_done() {
	printf '1..%d\n' "$TAP_RUN"
	if [ "$TAP_RUN" -eq 0 ]; then
		echo "not ok - no test ran"
		exit 1
	fi
	[ "$TAP_FAILED" -eq 0 ] && exit 0
	diag "$TAP_FAILED of $TAP_RUN failed"
	exit 1
}
