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
#   ma_fake_clock OFFSET CMD...
#                            runs CMD under libfaketime at OFFSET ("+59d"),
#                            preloaded directly. Not the faketime wrapper: it
#                            makes /dev/shm/sem.faketime_sem_<its pid> with
#                            O_EXCL and gives up ("sem_open: File exists")
#                            when a name is left from an earlier run and the
#                            pid comes round. libfaketime 0.9.10 leaves that
#                            pair behind after a python3 (measured), so it is
#                            removed here by the pid that made it.
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

ma_fake_clock() { # offset cmd...
	local lib pid rc
	lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
	if [ -z "$lib" ]; then
		echo "ma_fake_clock: libfaketime.so.1 is not installed (make deps)" >&2
		return 127
	fi
	FAKETIME="$1" LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" "${@:2}" <&0 &
	pid=$!
	wait "$pid"
	rc=$?
	rm -f "/dev/shm/sem.faketime_sem_$pid" "/dev/shm/faketime_shm_$pid"
	return "$rc"
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
