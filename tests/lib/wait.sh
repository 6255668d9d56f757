# Waiting with a deadline. Sourced by tap.sh and dovecot.sh (twice is fine).
#
#   ma_wait SECONDS cmd [args...]
#       Runs cmd until it exits 0 (returns 0) or SECONDS of wall-clock time
#       have passed (returns 1). The deadline is time, not a number of
#       tries, so a loaded machine gets as long as an idle one, and a ready
#       server is seen within about 50 ms. Never use a fixed sleep to wait
#       for readiness: poll what "ready" means (a port that answers, a log
#       line, a process that exists) with this.
#   ma_port_open PORT        a TCP connection to 127.0.0.1:PORT succeeds
#   ma_file_has FILE TEXT    FILE contains the fixed string TEXT
#   ma_nonempty FILE         FILE exists and is not empty
#   ma_pid_gone PID          no such process (or a zombie)
#   ma_real_clock CMD...     runs CMD without libfaketime: for programs whose
#                            own timers break on a faked clock (Dovecot's
#                            master, libFuzzer) and whose results hold no date
#
# Deadlines in the suites are generous (tens of seconds) because a 2-core
# machine under full load can take that long to start a Python server or
# a Dovecot; the common case returns at once.

[ -n "${MA_WAIT_SH:-}" ] && return 0
MA_WAIT_SH=1

_ma_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

ma_wait() { # seconds cmd...
	local limit=$1 end delay=0.02
	shift
	end=$(($(_ma_now_ms) + limit * 1000))
	while :; do
		"$@" && return 0
		[ "$(_ma_now_ms)" -ge "$end" ] && return 1
		sleep "$delay"
		delay=0.05
	done
}

ma_real_clock() {
	local pre=${LD_PRELOAD:-}
	case "$pre" in
	*faketime*) env -u FAKETIME -u FAKETIME_DONT_FAKE_MONOTONIC -u FAKETIME_NO_CACHE \
		LD_PRELOAD="$(printf '%s' "$pre" | tr ': ' '\n\n' | grep -v faketime | paste -sd:)" "$@" ;;
	*) "$@" ;;
	esac
}

ma_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ma_file_has() { grep -qF -- "$2" "$1" 2>/dev/null; }
ma_nonempty() { [ -s "$1" ]; }
ma_pid_gone() {
	local st
	kill -0 "$1" 2>/dev/null || return 0
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
}
