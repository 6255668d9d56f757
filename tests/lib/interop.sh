# Cyrus IMAP and Courier-IMAP for tests, each in its own Debian 12 (bookworm)
# root built with mmdebstrap: their packages conflict with Dovecot's
# (Conflicts: imap-server), so they cannot be installed beside it. Source it
# from a bash test:
#     . "$(dirname "$0")/../lib/interop.sh"
#
# interop_build_root SERVER   (cyrus|courier) builds the cached root unless it
#   exists: ONE per machine and per MA_INTEROP_VERSION + package list, under
#   MA_INTEROP_CACHE (default /var/cache/mailaudit-tests, else
#   $XDG_CACHE_HOME/mailaudit-tests); about a minute each with network access to
#   MA_DEBIAN_MIRROR (default http://deb.debian.org/debian). Concurrent builds
#   wait for each other (flock). `make deps` runs it (tests/tools/interop_roots.sh).
#   Prints the root's path.
# interop_start SERVER
#   Makes a private copy of the cached root for this run (the root's /usr is
#   hard-linked, everything else copied: nothing a server writes reaches the
#   cache), writes the server's configuration with every listener on 127.0.0.1
#   at free ports, TLS from a CA made now (tests/tools/gencerts.sh), one user,
#   starts a syslog listener at ROOT/dev/log and the server under chroot, and
#   polls (<= 60 s) until every port answers. Fails (non-zero, reason on stderr)
#   when the cached root is missing: run make deps. Installs an EXIT trap that
#   stops every server this shell started.
# Exported after interop_start (names as dovecot.sh, so clients.sh works):
#   MA_TMP MA_HOST=127.0.0.1 MA_CA MA_CERTS MA_IMAP_PORT MA_IMAPS_PORT MA_POP3_PORT
#   MA_POP3S_PORT MA_USER=alice@example.test MA_PASS MA_PASSFILE MA_PASSCMD
#   MA_SEPARATOR=.  MA_FOLDER_PREFIX=INBOX.  (both servers put folders under INBOX)
#   MA_IOP_SERVER (cyrus|courier) MA_IOP_ROOT (this run's root) MA_IOP_LOG (syslog)
#   MA_IOP_MAIL  the directory holding the user's message files on the host
# interop_seed           seeds alice: INBOX 15, Sent 3, Trash 3, Archive 3 messages
#                        (tests/tools/seed.py), exports MA_SEED_INBOX ... MA_SEED_TOTAL.
#                        Courier: written into the Maildir; Cyrus: IMAP APPEND with
#                        the same flags and INTERNALDATE. Trash messages are dated
#                        now on disk (out of reach of Courier's IMAP_EMPTYTRASH=Trash:7).
#                        Courier's folders are then SELECTed once (see below).
# interop_snapshot       sorted "sha256  path" of every message file of the user
#                        (Cyrus: the numbered files, not cyrus.index/cache; Courier:
#                        the Maildir files with their flags in the name, not
#                        courierimap* state files)
# interop_stop           stops the current server: every process whose root is this
#                        run's root (TERM, <= 10 s, then KILL), the syslog listener;
#                        removes MA_TMP unless MA_KEEP_TMP is set.
# interop_stop_all       stops every server started by this shell.
# interop_log_tail [N]   last N (30) syslog lines of the current server.

MA_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$MA_LIB_DIR/wait.sh"
MA_SRC_TOOLS=$(cd "$MA_LIB_DIR/../tools" && pwd)

# Bump to rebuild every cached root (a change of packages or of the build).
MA_INTEROP_VERSION=${MA_INTEROP_VERSION:-1}
MA_DEBIAN_MIRROR=${MA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
MA_IOP_INSTANCES=${MA_IOP_INSTANCES:-}
MA_IOP_TRAP_SET=${MA_IOP_TRAP_SET:-}

_iop_err() { echo "interop.sh: $*" >&2; }

_iop_pkgs() {
	case "$1" in
	cyrus) echo "cyrus-imapd cyrus-pop3d cyrus-clients cyrus-admin sasl2-bin libsasl2-modules" ;;
	courier) echo "courier-imap courier-pop courier-authlib-userdb gamin" ;;
	*) return 1 ;;
	esac
}

_iop_cache() {
	if [ -n "${MA_INTEROP_CACHE:-}" ]; then
		echo "$MA_INTEROP_CACHE"
	elif [ "$(id -u)" = 0 ]; then
		echo /var/cache/mailaudit-tests
	else
		echo "${XDG_CACHE_HOME:-$HOME/.cache}/mailaudit-tests"
	fi
}

# The root's directory: its name carries a hash of everything it is built from.
interop_root_dir() { # SERVER
	local pkgs key
	pkgs=$(_iop_pkgs "$1") || { _iop_err "unknown server $1"; return 1; }
	key=$(printf '%s\n' "$MA_INTEROP_VERSION" bookworm "$pkgs" | sha256sum | cut -c1-12)
	echo "$(_iop_cache)/$1-bookworm-$key"
}

interop_build_root() { # SERVER
	local srv=$1 dir pkgs rc
	dir=$(interop_root_dir "$srv") || return 1
	[ -f "$dir/.mailaudit-complete" ] && { echo "$dir"; return 0; }
	[ "$(id -u)" = 0 ] || { _iop_err "building the $srv root needs root (mmdebstrap --mode=root, chroot)"; return 1; }
	command -v mmdebstrap >/dev/null 2>&1 || { _iop_err "missing dependency: mmdebstrap (run make deps)"; return 1; }
	pkgs=$(_iop_pkgs "$srv")
	mkdir -p "$(dirname "$dir")" || return 1
	(
		exec 9>"$dir.lock"
		flock 9 || exit 1
		[ -f "$dir/.mailaudit-complete" ] && exit 0
		rm -rf "$dir.tmp" "$dir"
		# mmdebstrap keeps the maintainer scripts from starting services.
		mmdebstrap --mode=root --variant=apt --include="${pkgs// /,}" \
			bookworm "$dir.tmp" "$MA_DEBIAN_MIRROR" >"$dir.build.log" 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			echo "interop.sh: mmdebstrap for $srv failed (exit $rc); log $dir.build.log:" >&2
			tail -n 15 "$dir.build.log" >&2
			rm -rf "$dir.tmp"
			exit 1
		fi
		chroot "$dir.tmp" dpkg-query -W $pkgs >"$dir.tmp/.mailaudit-versions" 2>/dev/null
		touch "$dir.tmp/.mailaudit-complete" && mv "$dir.tmp" "$dir"
	) || return 1
	echo "$dir"
}

# Prints N distinct free TCP ports on 127.0.0.1 (all bound at once, then released).
_iop_free_ports() {
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

# PIDs of every process whose root directory is $1 (a chroot of this run).
_iop_root_pids() {
	local p r want
	want=$(readlink -f "$1") || return 0
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		[ "$r" = "$want" ] && echo "${p#/proc/}"
	done
	return 0
}
_iop_no_pids() { [ -z "$(_iop_root_pids "$1")" ]; }

# The run's root: /usr hard-linked from the cache (never written by a server),
# the rest (etc, var, run, dev, home ... ~15 MB) copied.
_iop_copy_root() { # CACHED RUN
	local src=$1 dst=$2 e
	mkdir -p "$dst" || return 1
	for e in "$src"/* "$src"/.mailaudit-versions; do
		case "${e##*/}" in
		usr) cp -al "$e" "$dst/" || return 1 ;;
		proc | sys) mkdir -p "$dst/${e##*/}" ;;
		*) cp -a "$e" "$dst/" || return 1 ;;
		esac
	done
}

_iop_syslog_start() { # LOGFILE SOCKET
	python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[2])
os.chmod(sys.argv[2], 0o666)
with open(sys.argv[1], "ab", buffering=0) as f:
    while True:
        d = s.recv(65536)
        f.write(d.rstrip(b"\0\n") + b"\n")
' "$1" "$2" </dev/null >/dev/null 2>&1 &
	MA_IOP_SYSLOG_PID=$!
	# At once: interop_stop reads it from here, whenever a signal comes.
	echo "$MA_IOP_SYSLOG_PID" >"$MA_TMP/syslog.pid"
	ma_wait 20 test -S "$2" || { _iop_err "syslog listener did not bind $2"; return 1; }
}

_iop_ports_open() {
	local p
	for p in "$@"; do ma_port_open "$p" || return 1; done
}

interop_log_tail() {
	[ -n "${MA_IOP_LOG:-}" ] && [ -f "$MA_IOP_LOG" ] && tail -n "${1:-30}" "$MA_IOP_LOG"
	return 0
}

_iop_export_env() {
	local v
	: >"$MA_TMP/env.sh"
	for v in MA_TMP MA_HOST MA_CA MA_CERTS MA_IMAP_PORT MA_IMAPS_PORT MA_POP3_PORT MA_POP3S_PORT \
		MA_USER MA_PASS MA_PASSFILE MA_PASSCMD MA_SEPARATOR MA_FOLDER_PREFIX MA_IOP_SERVER MA_IOP_ROOT \
		MA_IOP_LOG MA_IOP_MAIL MA_IOP_SYSLOG_PID; do
		export "$v"
		printf 'export %s=%q\n' "$v" "${!v}" >>"$MA_TMP/env.sh"
	done
}

interop_use() { # MA_TMP
	[ -f "$1/env.sh" ] || { _iop_err "no instance in $1"; return 1; }
	. "$1/env.sh"
	[ -f "$1/seed.sh" ] && . "$1/seed.sh"
	return 0
}

_iop_cyrus_conf() {
	local r=$MA_IOP_ROOT
	mkdir -p "$r/etc/ma-tls"
	cp "$MA_CERTS/server.crt" "$MA_CERTS/server.key" "$r/etc/ma-tls/"
	chroot "$r" chown -R cyrus:mail /etc/ma-tls
	chmod 0750 "$r/etc/ma-tls"
	rm -f "$r/etc/imapd.conf" "$r/etc/cyrus.conf"
	# popminpoll 0: Debian's default 1 announces LOGIN-DELAY 60, which
	# mailaudit honours (do no harm) and which would lock fetchmail out
	# for a minute after mailaudit's POP3 look; t_interop.sh checks that
	# case on its own with popminpoll 1.
	cat >"$r/etc/imapd.conf" <<EOF
configdirectory: /var/lib/cyrus
proc_path: /run/cyrus/proc
mboxname_lockpath: /run/cyrus/lock
defaultpartition: default
partition-default: /var/spool/cyrus/mail
altnamespace: no
unixhierarchysep: no
popminpoll: ${MA_IOP_POPMINPOLL:-0}
autocreate_quota: 0
autocreate_inbox_folders: Sent|Trash|Archive
xlist-sent: Sent
xlist-trash: Trash
xlist-archive: Archive
specialuse_extra: \\Archive
umask: 077
hashimapspool: true
allowplaintext: yes
virtdomains: userid
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: /etc/sasldb2
sasl_mech_list: PLAIN LOGIN
tls_server_cert: /etc/ma-tls/server.crt
tls_server_key: /etc/ma-tls/server.key
tls_versions: tls1_2 tls1_3
lmtpsocket: /run/cyrus/socket/lmtp
idlesocket: /run/cyrus/socket/idle
notifysocket: /run/cyrus/socket/notify
syslog_prefix: cyrus
EOF
	cat >"$r/etc/cyrus.conf" <<EOF
START {
	recover cmd="/usr/sbin/cyrus ctl_cyrusdb -r"
}
SERVICES {
	imap cmd="imapd" listen="127.0.0.1:$MA_IMAP_PORT" prefork=0 maxchild=20
	imaps cmd="imapd -s" listen="127.0.0.1:$MA_IMAPS_PORT" prefork=0 maxchild=20
	pop3 cmd="pop3d" listen="127.0.0.1:$MA_POP3_PORT" prefork=0 maxchild=20
	pop3s cmd="pop3d -s" listen="127.0.0.1:$MA_POP3S_PORT" prefork=0 maxchild=20
	lmtpunix cmd="lmtpd" listen="/run/cyrus/socket/lmtp" prefork=0 maxchild=5
}
EVENTS {
}
DAEMON {
}
EOF
	mkdir -p "$r/run/cyrus/socket" "$r/run/cyrus/proc" "$r/run/cyrus/lock"
	chroot "$r" chown -R cyrus:mail /run/cyrus
	rm -f "$r/etc/sasldb2"
	printf '%s' "$MA_PASS" | chroot "$r" saslpasswd2 -p -c -u example.test alice || return 1
	chroot "$r" chown cyrus:mail /etc/sasldb2 && chmod 0640 "$r/etc/sasldb2"
	MA_IOP_MAIL=$r/var/spool/cyrus/mail
}

_iop_cyrus_launch() {
	local r=$MA_IOP_ROOT
	# Foreground master (no -d) as a child of this shell: stopped by PID
	# and by the root sweep of interop_stop.
	ma_real_clock setsid chroot "$r" /usr/lib/cyrus/bin/master -p /run/cyrus-master.pid \
		>"$MA_TMP/master.out" 2>&1 </dev/null &
	echo $! >"$MA_TMP/master.pid"
}

_iop_courier_conf() {
	local r=$MA_IOP_ROOT f
	cat "$MA_CERTS/server.key" "$MA_CERTS/server.crt" >"$MA_TMP/server.pem"
	for f in imapd.pem pop3d.pem; do
		rm -f "$r/etc/courier/$f"
		cp "$MA_TMP/server.pem" "$r/etc/courier/$f"
		chmod 0600 "$r/etc/courier/$f"
		chroot "$r" chown courier /etc/courier/$f
	done
	# The packages' files, with the addresses and ports of this run.
	sed -i -e "s/^ADDRESS=.*/ADDRESS=127.0.0.1/" -e "s/^PORT=.*/PORT=$MA_IMAP_PORT/" "$r/etc/courier/imapd"
	sed -i -e "s/^SSLADDRESS=.*/SSLADDRESS=127.0.0.1/" -e "s/^SSLPORT=.*/SSLPORT=$MA_IMAPS_PORT/" \
		"$r/etc/courier/imapd-ssl"
	sed -i -e "s/^ADDRESS=.*/ADDRESS=127.0.0.1/" -e "s/^PORT=.*/PORT=$MA_POP3_PORT/" "$r/etc/courier/pop3d"
	sed -i -e "s/^SSLADDRESS=.*/SSLADDRESS=127.0.0.1/" -e "s/^SSLPORT=.*/SSLPORT=$MA_POP3S_PORT/" \
		"$r/etc/courier/pop3d-ssl"
	sed -i -e 's/^authmodulelist=.*/authmodulelist="authuserdb"/' "$r/etc/courier/authdaemonrc"
	# A passwd entry for the mail uid: gamin, which Courier uses to watch
	# the Maildir, names its socket after the user (without one, every
	# IMAP command waits ~1.2 s for a server that never starts, and each
	# login says [ALERT] Filesystem notification initialization error).
	echo 'vmail:x:5000:5000:mail:/home/alice:/usr/sbin/nologin' >>"$r/etc/passwd"
	echo 'vmail:x:5000:' >>"$r/etc/group"
	mkdir -p "$r/home/alice"
	chown 5000:5000 "$r/home/alice"
	rm -rf "$r/etc/courier/userdb" "$r/etc/courier/userdb.dat"
	chroot "$r" userdb alice@example.test set home=/home/alice mail=/home/alice/Maildir uid=5000 gid=5000 ||
		return 1
	printf '%s\n%s\n' "$MA_PASS" "$MA_PASS" | chroot "$r" userdbpw -md5 2>/dev/null |
		chroot "$r" userdb alice@example.test set systempw || return 1
	chroot "$r" makeuserdb || return 1
	chroot "$r" setpriv --reuid=5000 --regid=5000 --clear-groups maildirmake /home/alice/Maildir || return 1
	MA_IOP_MAIL=$r/home/alice/Maildir
}

_iop_courier_launch() {
	local r=$MA_IOP_ROOT d
	# What the packages' tmpfiles.d make at boot.
	mkdir -p "$r/run/courier/authdaemon"
	chroot "$r" chown root:courier /run/courier && chmod 0775 "$r/run/courier"
	chroot "$r" chown courier:courier /run/courier/authdaemon && chmod 0750 "$r/run/courier/authdaemon"
	ma_real_clock chroot "$r" /usr/sbin/authdaemond start >"$MA_TMP/authdaemond.out" 2>&1 </dev/null || return 1
	ma_wait 30 test -S "$r/run/courier/authdaemon/socket" || { _iop_err "courier authdaemond did not start"; return 1; }
	for d in imapd imapd-ssl pop3d pop3d-ssl; do
		ma_real_clock chroot "$r" /usr/sbin/$d start >"$MA_TMP/$d.out" 2>&1 </dev/null ||
			{ _iop_err "courier $d start failed: $(cat "$MA_TMP/$d.out")"; return 1; }
	done
}

interop_start() { # SERVER
	local srv=${1:?interop_start cyrus|courier} cached c
	for c in python3 openssl sha256sum chroot setsid cp; do
		command -v "$c" >/dev/null 2>&1 || { _iop_err "missing dependency: $c (run make deps)"; return 1; }
	done
	[ "$(id -u)" = 0 ] || { _iop_err "the $srv server needs root (chroot)"; return 1; }
	cached=$(interop_root_dir "$srv") || return 1
	[ -f "$cached/.mailaudit-complete" ] ||
		{ _iop_err "no cached $srv root at $cached: run make deps (it builds it with mmdebstrap)"; return 1; }

	MA_TMP=$(mktemp -d /tmp/ma-interop.XXXXXX) || return 1
	chmod 0711 "$MA_TMP"
	MA_IOP_INSTANCES="$MA_IOP_INSTANCES $BASHPID:$MA_TMP"
	if [ "$MA_IOP_TRAP_SET" != "$BASHPID" ]; then
		local prev
		prev=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
		if [ -n "$prev" ] && [ "$BASHPID" = "$$" ]; then
			# shellcheck disable=SC2064
			trap "$prev; interop_stop_all" EXIT
		else
			trap 'interop_stop_all' EXIT
		fi
		trap 'exit 130' INT
		trap 'exit 143' TERM
		MA_IOP_TRAP_SET=$BASHPID
	fi
	MA_IOP_SERVER=$srv
	MA_IOP_ROOT=$MA_TMP/root
	MA_IOP_LOG=$MA_TMP/syslog.log
	MA_IOP_SYSLOG_PID=
	MA_IOP_MAIL=
	_iop_copy_root "$cached" "$MA_IOP_ROOT" || { _iop_err "cannot copy the $srv root"; return 1; }
	MA_HOST=127.0.0.1
	MA_CERTS=$MA_TMP/certs
	MA_CA=$MA_CERTS/ca.crt
	sh "$MA_SRC_TOOLS/gencerts.sh" "$MA_CERTS" || { _iop_err "gencerts.sh failed"; return 1; }
	MA_USER=alice@example.test
	MA_PASS='p4ss w0rd!x'
	MA_SEPARATOR=.
	MA_FOLDER_PREFIX=INBOX.
	MA_PASSFILE=$MA_TMP/passfile
	(umask 077 && printf '%s\n' "$MA_PASS" >"$MA_PASSFILE")
	MA_PASSCMD="cat $MA_PASSFILE"
	read -r MA_IMAP_PORT MA_IMAPS_PORT MA_POP3_PORT MA_POP3S_PORT < <(_iop_free_ports 4)
	[ -n "$MA_POP3S_PORT" ] || { _iop_err "could not find free ports"; return 1; }
	: >"$MA_IOP_LOG"
	rm -f "$MA_IOP_ROOT/dev/log"
	_iop_syslog_start "$MA_IOP_LOG" "$MA_IOP_ROOT/dev/log" || return 1
	_iop_export_env
	"_iop_${srv}_conf" || { _iop_err "cannot configure $srv"; return 1; }
	_iop_export_env
	"_iop_${srv}_launch" || { interop_log_tail >&2; return 1; }
	if ! ma_wait 60 _iop_ports_open "$MA_IMAP_PORT" "$MA_IMAPS_PORT" "$MA_POP3_PORT" "$MA_POP3S_PORT"; then
		_iop_err "$srv did not accept connections on $MA_IMAP_PORT $MA_IMAPS_PORT $MA_POP3_PORT $MA_POP3S_PORT within 60 s; log:"
		interop_log_tail >&2
		return 1
	fi
	return 0
}

interop_stop() { # [MA_TMP]
	local t=${1:-${MA_TMP:-}} r pids p spid
	[ -n "$t" ] && [ -d "$t" ] || return 0
	r=$t/root
	if [ -f "$t/env.sh" ] && grep -q 'MA_IOP_SERVER=courier' "$t/env.sh"; then
		for p in pop3d-ssl pop3d imapd-ssl imapd authdaemond; do
			ma_real_clock chroot "$r" /usr/sbin/$p stop >/dev/null 2>&1 </dev/null
		done
	fi
	pids=$(_iop_root_pids "$r")
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill -TERM $pids 2>/dev/null
	if ! ma_wait 10 _iop_no_pids "$r"; then
		pids=$(_iop_root_pids "$r")
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ma_wait 10 _iop_no_pids "$r" || _iop_err "processes left in $r: $(_iop_root_pids "$r")"
	fi
	p=$(cat "$t/master.pid" 2>/dev/null)
	[ -n "$p" ] && wait "$p" 2>/dev/null
	spid=$(cat "$t/syslog.pid" 2>/dev/null)
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
	fi
	[ -n "${MA_KEEP_TMP:-}" ] || rm -rf "$t"
}

interop_stop_all() {
	local e
	for e in $MA_IOP_INSTANCES; do
		[ "${e%%:*}" = "$BASHPID" ] || continue
		interop_stop "${e#*:}"
	done
}

interop_seed() {
	local src=$MA_TMP/seed f n
	rm -rf "$src"
	python3 "$MA_SRC_TOOLS/seed.py" --maildir "$src" --count 15 --seed 1 >/dev/null &&
		python3 "$MA_SRC_TOOLS/seed.py" --maildir "$src" --folder Sent --count 3 --seed 2 --first 16 >/dev/null &&
		python3 "$MA_SRC_TOOLS/seed.py" --maildir "$src" --folder Trash --count 3 --seed 3 --first 19 >/dev/null &&
		python3 "$MA_SRC_TOOLS/seed.py" --maildir "$src" --folder Archive --count 3 --seed 4 --first 22 >/dev/null ||
		{ _iop_err "seed.py failed"; return 1; }
	# Courier is to purge Trash messages older than 7 days
	# (IMAP_EMPTYTRASH=Trash:7, the package's default): dated now, the
	# seed's Trash stays whatever the purge looks at.
	for f in "$src"/.Trash/cur/*; do touch "$f"; done
	case $MA_IOP_SERVER in
	courier)
		for n in Sent Trash Archive; do
			mkdir -p "$MA_IOP_MAIL/.$n"
			cp -a "$src/.$n/." "$MA_IOP_MAIL/.$n/"
			touch "$MA_IOP_MAIL/.$n/maildirfolder"
		done
		cp -a "$src/cur/." "$MA_IOP_MAIL/cur/"
		chown -R 5000:5000 "$MA_IOP_MAIL"
		# Courier keeps a folder's UIDs (courierimapuiddb) only once a
		# session opened it read-write: until then every EXAMINE gives it a
		# new UIDVALIDITY, and a message copied in may take a UID below the
		# UIDNEXT seen before. The user's own program SELECTs its folders;
		# so does the seeding.
		python3 - <<'PY' || { _iop_err "SELECT on Courier failed"; return 1; }
import imaplib, os, ssl, sys
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx, timeout=30)
c.login(os.environ["MA_USER"], os.environ["MA_PASS"])
for f in ("INBOX", "INBOX.Sent", "INBOX.Trash", "INBOX.Archive"):
    if c.select(f)[0] != "OK":
        sys.exit(1)
    c.close()
c.logout()
PY
		;;
	cyrus)
		MA_IOP_SEED_SRC=$src python3 - <<'EOF' || { _iop_err "APPEND to Cyrus failed"; return 1; }
import imaplib, os, ssl, sys
src = os.environ["MA_IOP_SEED_SRC"]
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx, timeout=30)
c.login(os.environ["MA_USER"], os.environ["MA_PASS"])
fl = {"S": "\\Seen", "F": "\\Flagged", "R": "\\Answered", "D": "\\Draft"}
for folder, d in (("INBOX", src), ("INBOX.Sent", src + "/.Sent"), ("INBOX.Trash", src + "/.Trash"),
                  ("INBOX.Archive", src + "/.Archive")):
    names = sorted(os.listdir(d + "/cur"), key=lambda n: (int(n.split(".")[0]), n))
    for n in names:
        p = d + "/cur/" + n
        flags = " ".join(fl[ch] for ch in n.split(":2,")[1] if ch in fl)
        with open(p, "rb") as f:
            msg = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        r = c.append(folder, "(" + flags + ")" if flags else None,
                     imaplib.Time2Internaldate(os.stat(p).st_mtime), msg)
        if r[0] != "OK":
            sys.stderr.write("APPEND %s: %r\n" % (folder, r))
            sys.exit(1)
c.logout()
EOF
		;;
	esac
	cat >"$MA_TMP/seed.sh" <<EOF
export MA_SEED_INBOX=15 MA_SEED_SENT=3 MA_SEED_TRASH=3 MA_SEED_ARCHIVE=3 MA_SEED_TOTAL=24
EOF
	. "$MA_TMP/seed.sh"
}

interop_snapshot() {
	local d=${1:-$MA_IOP_MAIL}
	(cd "$d" && find . -type f \
		! -name 'cyrus.*' ! -name 'courierimap*' ! -name 'courierpop3dsizelist' ! -name 'maildirsize' \
		! -name 'maildirfolder' ! -path '*/tmp/*' -print0 | LC_ALL=C sort -z | xargs -0r sha256sum)
}
