# Starting tests/tools/hostile_server.py from a bash test. Source after tap.sh.
#
#   hostile_start SCENARIO [--tls CERT KEY]
#       Starts the server in the background and waits (up to 60 s) until it
#       has printed its port, which it does after listen(): from then on
#       connections are accepted. (The test does not connect to check: some
#       scenarios count connections.) Sets hport and hpid, and adds hpid to hostile_pids.
#       Its stderr goes to $MA_HOSTILE_DIR/SCENARIO.err. Returns 1 with a
#       diagnostic if the server died or never answered.
#   hostile_stop [PID]       kills and reaps it (default: the last started)
#   hostile_stop_all         every server started by this shell (for an EXIT trap)
#
# MA_HOSTILE_DIR: where port and stderr files go (default: a new temp dir,
# removed by hostile_stop_all).

. "$(dirname "${BASH_SOURCE[0]}")/wait.sh"
MA_HOSTILE_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")/../tools" && pwd)/hostile_server.py
hostile_pids=""
_ma_hostile_own_dir=""

_ma_hostile_ready() { # portfile
	[ -n "$(head -1 "$1" 2>/dev/null)" ]
}
_ma_hostile_dead_or_ready() { _ma_hostile_ready "$1" || ma_pid_gone "$2"; }

hostile_start() { # scenario [--tls cert key]
	local sc=$1 pf
	if [ -z "${MA_HOSTILE_DIR:-}" ]; then
		MA_HOSTILE_DIR=$(mktemp -d /tmp/ma-hostile.XXXXXX)
		_ma_hostile_own_dir=$MA_HOSTILE_DIR
	fi
	pf="$MA_HOSTILE_DIR/$sc.$RANDOM.port"
	python3 "$MA_HOSTILE_PY" "$@" >"$pf" 2>"$MA_HOSTILE_DIR/$sc.err" &
	hpid=$!
	hostile_pids="$hostile_pids $hpid"
	hport=""
	ma_wait 60 _ma_hostile_dead_or_ready "$pf" "$hpid"
	if ! _ma_hostile_ready "$pf"; then
		diag "hostile server $sc did not start within 60 s: $(head -5 "$MA_HOSTILE_DIR/$sc.err")"
		return 1
	fi
	hport=$(head -1 "$pf")
}

hostile_stop() { # [pid]
	local p=${1:-${hpid:-}}
	[ -n "$p" ] || return 0
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

hostile_stop_all() {
	local p
	for p in $hostile_pids; do kill "$p" 2>/dev/null; done
	for p in $hostile_pids; do wait "$p" 2>/dev/null; done
	hostile_pids=""
	[ -n "$_ma_hostile_own_dir" ] && rm -rf "$_ma_hostile_own_dir"
	return 0
}
