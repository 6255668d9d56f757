# Private Dovecot 2.3 for tests. Source it from a bash test:
#     . "$(dirname "$0")/../lib/dovecot.sh"
#
# dovecot_start [--lock-session] [--no-starttls-imap-port] [--cert NAME] [--no-submission]
#   Starts a private Dovecot (own config, never /etc/dovecot, never the system
#   service) in a fresh temp dir, every listener on 127.0.0.1 at free ports, and
#   waits (<= 60 s, polled) until every port accepts. Returns non-zero with the log tail on
#   stderr if it cannot. Installs an EXIT trap that stops every instance this
#   shell started (a subshell gets its own trap).
#     --lock-session           pop3_lock_session = yes
#     --no-starttls-imap-port  also run a SECOND Dovecot instance (ssl = no, same
#                              users and mail) whose IMAP and POP3 ports offer no
#                              STARTTLS/STLS: MA_IMAP_NOTLS_PORT, MA_POP3_NOTLS_PORT.
#                              (Dovecot 2.3 advertises STARTTLS on every plain
#                              listener whenever global ssl != no: a per-listener
#                              switch does not exist, hence the second instance.)
#     --cert NAME              serve DIR/NAME.crt/.key from tests/tools/gencerts.sh
#                              (server [default], expired, wrongname, selfsigned, untrusted)
#     --no-submission          do not run the submission service
#
# Exported after dovecot_start:
#   MA_TMP            temp dir of this instance (removed by dovecot_stop unless MA_KEEP_TMP is set)
#   MA_HOST=127.0.0.1
#   MA_CA             CA certificate that signed server/expired/wrongname (MA_CERTS: dir of all certs)
#   MA_IMAP_PORT MA_IMAPS_PORT MA_POP3_PORT MA_POP3S_PORT [MA_SUBMISSION_PORT]
#   MA_IMAP_NOTLS_PORT MA_POP3_NOTLS_PORT   (only with --no-starttls-imap-port, else empty)
#   MA_DOVECOT_LOG    log file (both instances)
#   MA_DOVECOT_CONF   config file; MA_DOVECOT_PIDFILE master.pid
#   MA_MAILDIR_ROOT   directory holding every user's home (what maildir_snapshot covers)
#   MA_MAILDIR MA_MAILDIR2  alice's and bob's Maildir (Maildir++; INBOX = the root, folder X = .X)
#   MA_USER=alice@example.test MA_PASS='p4ss w0rd!x'
#   MA_USER2=bob@example.test  MA_PASS2='b0b $ecret #2'
#   MA_PASSFILE       0600 file holding MA_PASS followed by one newline; MA_PASSCMD="cat $MA_PASSFILE"
#   MA_SEPARATOR=/    IMAP hierarchy separator
# Config facts: auth_failure_delay = 0 (Dovecot still answers a failure after ~0.5 s),
# anvil auth penalty disabled (repeated failures are not slowed down), disable_plaintext_auth = yes (but 127.0.0.1 ->
# 127.0.0.1 counts as secure: connect from 127.0.0.2 to see LOGINDISABLED), ssl = yes,
# ssl_min_protocol = TLSv1.2, mail owned by `mail` (uid 8), special-use Sent/Trash/Archive/Drafts/Junk
# (declared, not created: a folder exists only once seeded or created, so LIST shows it then).
#
# dovecot_seed_standard   seeds alice (tests/tools/seed.py --standard) and exports
#                         MA_SEED_INBOX=30 MA_SEED_SENT=10 MA_SEED_TRASH=5 MA_SEED_ARCHIVE=8
#                         MA_SEED_ODESLANA=3 MA_SEED_TOTAL=56
# dovecot_seed ARGS...    runs seed.py --owner mail ARGS (e.g. --maildir "$MA_MAILDIR" --count 1000)
# dovecot_reload          the current instance reads MA_DOVECOT_CONF again (after a test
#                         appended to it); returns once new connections get the new config
# dovecot_stop [MA_TMP]   stops that instance (default: current) by the PID in its
#                         master.pid (TERM, wait <= 10 s, then KILL), waits for its
#                         children, removes the temp dir unless MA_KEEP_TMP is set.
# dovecot_use MA_TMP      makes an already started instance current again (re-exports its variables)
# dovecot_stop_all        stops every instance started by this shell
# dovecot_pids [MA_TMP]   prints the PIDs of the master and its children (empty once stopped)
# dovecot_log_tail [N]    last N (20) log lines
# maildir_snapshot [DIR]  sorted "sha256  relative/path" of every file under DIR (default
#                         MA_MAILDIR_ROOT), excluding Dovecot's own index/cache/uidlist/... files.
#                         File names carry the flags, so a flag change shows up too.

MA_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$MA_LIB_DIR/wait.sh"
MA_SRC_TOOLS=$(cd "$MA_LIB_DIR/../tools" && pwd)
MA_DOVECOT_INSTANCES=${MA_DOVECOT_INSTANCES:-}
MA_DOVECOT_TRAP_SET=${MA_DOVECOT_TRAP_SET:-}

_ma_err() { echo "dovecot.sh: $*" >&2; }

# Prints N distinct free TCP ports on 127.0.0.1 (all bound at once, then released).
_ma_free_ports() {
	python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

_ma_port_open() { # port
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Alive = exists and is not a zombie (a killed child stays a zombie until reaped).
_ma_pid_alive() {
	local st
	[ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# Direct children of PID $1, from /proc/*/stat ("pid (comm) state ppid ...").
_ma_children() {
	local f st rest
	if command -v ps >/dev/null 2>&1; then
		ps -o pid= --ppid "$1" | tr -d ' '
		return 0
	fi
	for f in /proc/[0-9]*/stat; do
		st=$(cat "$f" 2>/dev/null) || continue
		rest=${st##*) }
		rest=${rest#* }
		[ "${rest%% *}" = "$1" ] && { f=${f#/proc/}; echo "${f%/stat}"; }
	done
	return 0
}

dovecot_pids() { # [MA_TMP]
	local t=${1:-${MA_TMP:-}} pf pid
	[ -n "$t" ] || return 0
	for pf in "$t/run/master.pid" "$t/run-notls/master.pid"; do
		[ -s "$pf" ] || continue
		pid=$(cat "$pf")
		_ma_pid_alive "$pid" || continue
		echo "$pid"
		_ma_children "$pid"
	done
}

dovecot_log_tail() {
	local n=${1:-20}
	[ -n "${MA_DOVECOT_LOG:-}" ] && [ -f "$MA_DOVECOT_LOG" ] && tail -n "$n" "$MA_DOVECOT_LOG"
	return 0
}

# _ma_write_conf FILE BASEDIR NAME SSL(yes|no) PROTOCOLS LISTENERS...
_ma_write_conf() {
	local file=$1 base=$2 name=$3 ssl=$4 protocols=$5
	{
		cat <<EOF
# Private test Dovecot generated by tests/lib/dovecot.sh (no include of /etc/dovecot).
instance_name = $name
base_dir = $base
state_dir = $base-state
log_path = $MA_DOVECOT_LOG
protocols = $protocols
listen = 127.0.0.1
hostname = localhost
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = mail
mail_gid = mail
first_valid_uid = 8
last_valid_uid = 8
first_valid_gid = 8
last_valid_gid = 8
mail_location = maildir:~/Maildir
auth_failure_delay = 0
auth_mechanisms = plain login
disable_plaintext_auth = yes
login_greeting = Dovecot ready.
shutdown_clients = yes
ssl = $ssl
EOF
		if [ "$ssl" != no ]; then
			cat <<EOF
ssl_cert = <$MA_CERTS/$_ma_cert.crt
ssl_key = <$MA_CERTS/$_ma_cert.key
ssl_min_protocol = TLSv1.2
EOF
		fi
		cat <<EOF
pop3_lock_session = $_ma_lock
submission_relay_host = 127.0.0.1
submission_relay_port = 9
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $MA_TMP/etc/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u $MA_TMP/etc/passwd
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
  }
  mailbox Trash {
    special_use = \\Trash
  }
  mailbox Archive {
    special_use = \\Archive
  }
  mailbox Drafts {
    special_use = \\Drafts
  }
  mailbox Junk {
    special_use = \\Junk
  }
}
# mode 0 on anvil-auth-penalty disables the auth penalty (otherwise every failed
# login from an IP delays the next attempt from it by 2 s, 4 s, ... up to 15 s).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
		shift 5
		printf '%s\n' "$@"
	} >"$file"
}

# _ma_launch CONF BASEDIR PORTS... : start master, wait for ports; 0 ok, 1 fatal, 2 port in use
_ma_launch() {
	local conf=$1 base=$2 out pid i p all rc
	shift 2
	# Output to a file, not a pipe: the daemon's children keep inherited stdio open.
	# Dovecot runs on the machine's real clock even when the test runs under
	# libfaketime: its master clears the environment of every process it
	# starts, so a faked master would see its children's real clock as time
	# going backwards and stop launching services for 180 s. mailaudit and
	# the test scripts keep the faked clock.
	ma_real_clock dovecot -c "$conf" >"$base.start.out" 2>&1 </dev/null
	rc=$?
	out=$(cat "$base.start.out" 2>/dev/null)
	if [ $rc -ne 0 ]; then
		case "$out" in *"in use"*) return 2 ;; esac
		_ma_err "dovecot -c $conf failed: $out"
		return 1
	fi
	# Ready when every port answers; failed when the master is gone. Both
	# are polled against a wall-clock deadline generous enough for a 2-core
	# machine under full load (an idle one takes ~0.05 s).
	local start_ms
	start_ms=$(_ma_now_ms)
	while :; do
		pid=$(cat "$base/master.pid" 2>/dev/null)
		all=1
		if _ma_pid_alive "$pid"; then
			for p in "$@"; do _ma_port_open "$p" || { all=0; break; }; done
			[ $all = 1 ] && return 0
		elif [ -n "$pid" ] || [ $(($(_ma_now_ms) - start_ms)) -gt 10000 ]; then
			grep -q 'in use' "$MA_DOVECOT_LOG" 2>/dev/null && return 2
			_ma_err "dovecot master is not running"
			return 1
		fi
		if [ $(($(_ma_now_ms) - start_ms)) -gt 60000 ]; then
			_ma_err "dovecot did not accept connections on ports $* within 60 s"
			return 1
		fi
		sleep 0.05
	done
}

_ma_export_env() {
	local v
	: >"$MA_TMP/env.sh"
	for v in MA_TMP MA_HOST MA_CA MA_CERTS MA_IMAP_PORT MA_IMAPS_PORT MA_POP3_PORT MA_POP3S_PORT \
		MA_SUBMISSION_PORT MA_IMAP_NOTLS_PORT MA_POP3_NOTLS_PORT MA_DOVECOT_LOG MA_DOVECOT_CONF \
		MA_DOVECOT_PIDFILE MA_MAILDIR_ROOT MA_MAILDIR MA_MAILDIR2 MA_USER MA_PASS MA_USER2 MA_PASS2 \
		MA_PASSFILE MA_PASSCMD MA_SEPARATOR; do
		export "$v"
		printf 'export %s=%q\n' "$v" "${!v}" >>"$MA_TMP/env.sh"
	done
}

dovecot_use() { # MA_TMP
	[ -f "$1/env.sh" ] || { _ma_err "no instance in $1"; return 1; }
	. "$1/env.sh"
	[ -f "$1/seed.sh" ] && . "$1/seed.sh"
	return 0
}

dovecot_start() {
	local notls=0 sub=1 attempt rc conf2
	_ma_lock=no
	_ma_cert=server
	while [ $# -gt 0 ]; do
		case "$1" in
		--lock-session) _ma_lock=yes ;;
		--no-starttls-imap-port | --no-starttls) notls=1 ;;
		--cert) _ma_cert=${2:?--cert NAME}; shift ;;
		--cert=*) _ma_cert=${1#--cert=} ;;
		--no-submission) sub=0 ;;
		*) _ma_err "dovecot_start: unknown option $1"; return 1 ;;
		esac
		shift
	done
	local c
	for c in dovecot openssl python3 sha256sum; do
		command -v "$c" >/dev/null 2>&1 || { _ma_err "missing dependency: $c (run make deps)"; return 1; }
	done
	id mail >/dev/null 2>&1 && id dovecot >/dev/null 2>&1 && id dovenull >/dev/null 2>&1 ||
		{ _ma_err "users mail/dovecot/dovenull missing (run make deps)"; return 1; }
	[ "$(id -u)" = 0 ] || { _ma_err "the private Dovecot needs root (mail_uid = mail)"; return 1; }

	MA_TMP=$(mktemp -d /tmp/ma-dovecot.XXXXXX) || return 1
	chmod 0711 "$MA_TMP"
	MA_DOVECOT_INSTANCES="$MA_DOVECOT_INSTANCES $BASHPID:$MA_TMP"
	if [ -z "$MA_DOVECOT_TRAP_SET" ] || [ "$MA_DOVECOT_TRAP_SET" != "$BASHPID" ]; then
		# Keep the test's own EXIT trap (its dnsmasq, its servers): run
		# it, then stop Dovecot. A subshell inherits no trap of its own.
		local prev
		prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
		if [ -n "$prev" ] && [ "$BASHPID" = "$$" ]; then
			# shellcheck disable=SC2064
			trap "$prev; dovecot_stop_all" EXIT
		else
			trap 'dovecot_stop_all' EXIT
		fi
		trap 'exit 130' INT
		trap 'exit 143' TERM
		MA_DOVECOT_TRAP_SET=$BASHPID
	fi

	MA_HOST=127.0.0.1
	MA_CERTS=$MA_TMP/certs
	MA_CA=$MA_CERTS/ca.crt
	sh "$MA_SRC_TOOLS/gencerts.sh" "$MA_CERTS" || { _ma_err "gencerts.sh failed"; return 1; }
	[ -f "$MA_CERTS/$_ma_cert.crt" ] || { _ma_err "no certificate named $_ma_cert"; return 1; }

	MA_USER=alice@example.test
	MA_PASS='p4ss w0rd!x'
	MA_USER2=bob@example.test
	MA_PASS2='b0b $ecret #2'
	MA_SEPARATOR=/
	MA_MAILDIR_ROOT=$MA_TMP/mail
	MA_MAILDIR=$MA_MAILDIR_ROOT/alice/Maildir
	MA_MAILDIR2=$MA_MAILDIR_ROOT/bob/Maildir
	mkdir -p "$MA_TMP/etc" "$MA_MAILDIR" "$MA_MAILDIR2"
	(cd "$MA_MAILDIR" && mkdir -p cur new tmp) && (cd "$MA_MAILDIR2" && mkdir -p cur new tmp)
	chown -R mail:mail "$MA_MAILDIR_ROOT"
	chmod -R go-rwx "$MA_MAILDIR_ROOT"
	chmod 0711 "$MA_MAILDIR_ROOT"
	# passwd-file: user:password:uid:gid:gecos:home:shell (uid/gid empty: mail_uid applies)
	printf '%s:{PLAIN}%s:::%s:%s::\n' \
		"$MA_USER" "$MA_PASS" "" "$MA_MAILDIR_ROOT/alice" \
		"$MA_USER2" "$MA_PASS2" "" "$MA_MAILDIR_ROOT/bob" >"$MA_TMP/etc/passwd"
	chgrp dovecot "$MA_TMP/etc/passwd" && chmod 0640 "$MA_TMP/etc/passwd"
	chmod 0755 "$MA_TMP/etc"
	MA_PASSFILE=$MA_TMP/passfile
	(umask 077 && printf '%s\n' "$MA_PASS" >"$MA_PASSFILE")
	chmod 0600 "$MA_PASSFILE"
	MA_PASSCMD="cat $MA_PASSFILE"
	MA_DOVECOT_LOG=$MA_TMP/dovecot.log
	MA_DOVECOT_CONF=$MA_TMP/etc/dovecot.conf
	MA_DOVECOT_PIDFILE=$MA_TMP/run/master.pid
	MA_SUBMISSION_PORT=
	MA_IMAP_NOTLS_PORT=
	MA_POP3_NOTLS_PORT=
	local name=mailaudit-${MA_TMP##*.}

	for attempt in 1 2 3 4 5; do
		: >"$MA_DOVECOT_LOG"
		read -r MA_IMAP_PORT MA_IMAPS_PORT MA_POP3_PORT MA_POP3S_PORT MA_SUBMISSION_PORT \
			MA_IMAP_NOTLS_PORT MA_POP3_NOTLS_PORT < <(_ma_free_ports 7)
		[ -n "$MA_POP3_NOTLS_PORT" ] || { _ma_err "could not find free ports"; return 1; }
		local protocols="imap pop3"
		local sublis="service submission-login {
  inet_listener submission {
    port = 0
  }
}"
		if [ $sub = 1 ]; then
			protocols="imap pop3 submission"
			sublis="service submission-login {
  inet_listener submission {
    address = 127.0.0.1
    port = $MA_SUBMISSION_PORT
  }
}"
		fi
		_ma_write_conf "$MA_DOVECOT_CONF" "$MA_TMP/run" "$name" yes "$protocols" \
			"service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $MA_IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $MA_IMAPS_PORT
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $MA_POP3_PORT
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $MA_POP3S_PORT
    ssl = yes
  }
}" "$sublis"
		local wait_ports="$MA_IMAP_PORT $MA_IMAPS_PORT $MA_POP3_PORT $MA_POP3S_PORT"
		[ $sub = 1 ] && wait_ports="$wait_ports $MA_SUBMISSION_PORT"
		# shellcheck disable=SC2086
		_ma_launch "$MA_DOVECOT_CONF" "$MA_TMP/run" $wait_ports
		rc=$?
		if [ $rc = 0 ] && [ $notls = 1 ]; then
			conf2=$MA_TMP/etc/dovecot-notls.conf
			_ma_write_conf "$conf2" "$MA_TMP/run-notls" "$name-notls" no "imap pop3" \
				"service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $MA_IMAP_NOTLS_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $MA_POP3_NOTLS_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}"
			_ma_launch "$conf2" "$MA_TMP/run-notls" "$MA_IMAP_NOTLS_PORT" "$MA_POP3_NOTLS_PORT"
			rc=$?
		fi
		[ $rc = 0 ] && break
		if [ $rc = 2 ] && [ $attempt -lt 5 ]; then
			_ma_stop_masters "$MA_TMP"
			continue
		fi
		_ma_err "could not start the private Dovecot (config $MA_DOVECOT_CONF). Log tail:"
		dovecot_log_tail 30 >&2
		return 1
	done
	[ $notls = 1 ] || { MA_IMAP_NOTLS_PORT=; MA_POP3_NOTLS_PORT=; }
	[ $sub = 1 ] || MA_SUBMISSION_PORT=
	_ma_export_env
	return 0
}

# dovecot_reload: makes the current instance read MA_DOVECOT_CONF again
# (after a test appended a setting) and returns once new connections get the
# new config. Dovecot logs nothing when a SIGHUP reload has taken effect, so
# each reload also sets a new login_greeting and waits until the IMAP port
# greets with it. Returns non-zero (log tail on stderr) if the config is
# refused or the greeting never changes within 60 s.
MA_RELOADS=0
_ma_greets_with() { # port text
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	read -r -t 5 line <&3
	exec 3<&- 3>&-
	case "$line" in *"$2"*) return 0 ;; esac
	return 1
}
dovecot_reload() {
	local mark pid
	MA_RELOADS=$((MA_RELOADS + 1))
	mark="mailaudit-test-dovecot-reload-$MA_RELOADS"
	sed -i '/^login_greeting = /d' "$MA_DOVECOT_CONF"
	printf 'login_greeting = %s\n' "$mark" >>"$MA_DOVECOT_CONF"
	pid=$(cat "$MA_DOVECOT_PIDFILE" 2>/dev/null)
	MA_RELOAD_LOG0=$(wc -l <"$MA_DOVECOT_LOG")
	_ma_pid_alive "$pid" && kill -HUP "$pid" || { _ma_err "dovecot_reload: no running master"; return 1; }
	ma_wait 60 _ma_reloaded "$mark"
	if _ma_reload_refused; then
		_ma_err "dovecot_reload: Dovecot refused the config:"
		tail -n "+$((MA_RELOAD_LOG0 + 1))" "$MA_DOVECOT_LOG" | grep -E 'Fatal|Error' >&2
		return 1
	fi
	_ma_greets_with "$MA_IMAP_PORT" "$mark" && return 0
	_ma_err "dovecot_reload: the new config did not take effect within 60 s. Log tail:"
	dovecot_log_tail 20 >&2
	return 1
}
_ma_reload_refused() {
	tail -n "+$((MA_RELOAD_LOG0 + 1))" "$MA_DOVECOT_LOG" | grep -qE 'Error in configuration|Error reading configuration'
}
_ma_reloaded() { _ma_reload_refused || _ma_greets_with "$MA_IMAP_PORT" "$1"; }

# Stops the masters of instance dir $1 and waits for them and their children.
# Dovecot's master lingers 1-3 s after its children are gone; once only it and
# its log process remain, they get 0.3 s more and then SIGKILL (nothing is left
# to clean but our temp dir; the log may miss its last lines).
# MA_DOVECOT_GENTLE_STOP=1 waits for it instead (bounded at 10 s like the rest).
_ma_stop_masters() {
	local t=$1 pids masters="" pf pid i left kids
	pids=$(dovecot_pids "$t")
	[ -n "$pids" ] || return 0
	for pf in "$t/run/master.pid" "$t/run-notls/master.pid"; do
		[ -s "$pf" ] || continue
		pid=$(cat "$pf")
		_ma_pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null && masters="$masters $pid"
	done
	local grace=-1
	for i in $(seq 1 200); do
		left=
		kids=
		for pid in $pids; do
			_ma_pid_alive "$pid" || continue
			left="$left $pid"
			# the master's log process stays until the master is gone
			case " $masters " in *" $pid "*) ;; *) [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = log ] || kids=1 ;; esac
		done
		[ -z "$left" ] && return 0
		if [ -z "$kids" ] && [ -z "${MA_DOVECOT_GENTLE_STOP:-}" ]; then
			[ $grace -lt 0 ] && grace=$((i + 6))
			if [ $i -ge $grace ]; then
				# shellcheck disable=SC2086
				kill -KILL $left 2>/dev/null
			fi
		fi
		sleep 0.05
	done
	_ma_err "Dovecot processes still alive after 10 s, killing:$left"
	# shellcheck disable=SC2086
	kill -KILL $left 2>/dev/null
	for i in $(seq 1 40); do
		left=
		for pid in $pids; do _ma_pid_alive "$pid" && left="$left $pid"; done
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	_ma_err "could not stop:$left"
	return 1
}

dovecot_stop() { # [MA_TMP]
	local t=${1:-${MA_TMP:-}}
	[ -n "$t" ] || return 0
	case "$t" in /tmp/ma-dovecot.*) ;; *) _ma_err "refusing to stop/remove $t"; return 1 ;; esac
	_ma_stop_masters "$t"
	local e keep=
	for e in $MA_DOVECOT_INSTANCES; do [ "${e#*:}" = "$t" ] || keep="$keep $e"; done
	MA_DOVECOT_INSTANCES=$keep
	if [ -z "${MA_KEEP_TMP:-}" ]; then
		rm -rf -- "$t"
	else
		_ma_err "kept $t"
	fi
	return 0
}

dovecot_stop_all() {
	local e
	for e in $MA_DOVECOT_INSTANCES; do
		# only instances this very (sub)shell started: a subshell inherits the
		# parent's list but must not stop the parent's instances
		[ "${e%%:*}" = "$BASHPID" ] && dovecot_stop "${e#*:}"
	done
	return 0
}

dovecot_seed() {
	python3 "$MA_SRC_TOOLS/seed.py" --owner mail "$@"
}

dovecot_seed_standard() {
	local out
	out=$(python3 "$MA_SRC_TOOLS/seed.py" --owner mail --standard "$MA_MAILDIR") || {
		_ma_err "seed.py --standard failed"
		return 1
	}
	printf '%s\n' "$out" | sed 's/^/export /' >"$MA_TMP/seed.sh"
	. "$MA_TMP/seed.sh"
}

maildir_snapshot() { # [DIR]
	local d=${1:-$MA_MAILDIR_ROOT}
	[ -d "$d" ] || { _ma_err "maildir_snapshot: no directory $d"; return 1; }
	(cd "$d" && find . -type f \
		! -name 'dovecot*' ! -name '.dovecot*' ! -name 'dovecot-uidlist*' ! -name 'dovecot-keywords' \
		-print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum --)
}
