#!/bin/bash
# make bench: how fast and how lean is a mailaudit audit, next to the floor
# (tests/bench/refclient.c: the same fetches, pipelined, nothing parsed) and
# to peers (Python imaplib/poplib, curl, fetchmail --check), against a private
# Dovecot on loopback with 10,000 and 100,000 message mailboxes.
#
#   bash tests/bench/bench.sh [MAILAUDIT]      (default build/mailaudit)
#
# Environment:
#   MA_BENCH_RUNS=5        measured runs per case (after one warm-up); median reported
#   MA_BENCH_SIZES="10000 100000"
#   MA_BENCH_HUGE=1        also 1,000,000 messages (needs >= 5 GB free in the cache)
#   MA_BENCH_CACHE=DIR     seeded mailboxes, kept between runs (default
#                          ${XDG_CACHE_HOME:-~/.cache}/mailaudit-bench, or
#                          /var/tmp/mailaudit-bench when the mail user cannot reach that)
#   MA_BENCH_OUT=DIR       tools and results (default build/bench)
#   MA_BENCH_DOC=0         do not rewrite the results section of docs/benchmarks.md
#   MA_BENCH_TUI=0         skip the TUI key latency case (100,000 box, needs tmux)
#   MA_BENCH_TUI_PRESSES=40  key presses timed during audits (and on the idle TUI)
#   MA_BENCH_TUI_GAP=0.1   seconds between presses during an audit
#   MA_BENCH_RTT_MS=20     also the repeats through tests/bench/delay_proxy.py, a relay
#                          that makes each round trip this much longer (0: skip)
#   MA_BENCH_WATCH=0       skip the watch (tests/bench/watch_bench.sh: CPU idle and
#                          per 1,000 events, RSS after 10,000 arrivals and deletions)
#
# Each case: wall time, CPU (user+sys) and peak RSS of the client process
# tree (tests/bench/measure.c, wait4), medians of the measured runs; bytes
# received from TCP (TLS wire bytes) from one extra untimed run under
# tests/bench/netcount.so. The bench changes only its own cached mailbox.
set -u -o pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
bin=${1:-$top/build/mailaudit}
RUNS=${MA_BENCH_RUNS:-5}
SIZES=${MA_BENCH_SIZES:-"10000 100000"}
RTT_MS=${MA_BENCH_RTT_MS:-20}
OUT=${MA_BENCH_OUT:-$top/build/bench}
DOC=$top/docs/benchmarks.md

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ -x "$bin" ] || die "no mailaudit binary at $bin (make first)"
[ "$(id -u)" = 0 ] || die "the private Dovecot needs root"
mkdir -p "$OUT" || die "cannot create $OUT"
OUT=$(cd "$OUT" && pwd)
# A private copy: others may rebuild build/mailaudit during the run.
cp "$bin" "$OUT/mailaudit" || die "cannot copy $bin"
MA=$OUT/mailaudit

say "building the reference client and the measuring tools"
cc -O2 -std=c11 -D_GNU_SOURCE "$here/refclient.c" -lssl -lcrypto -o "$OUT/refclient" &&
	cc -O2 -std=c11 -D_GNU_SOURCE "$here/measure.c" -o "$OUT/measure" &&
	cc -O2 -std=c11 -D_GNU_SOURCE -shared -fPIC "$here/netcount.c" -ldl -o "$OUT/netcount.so" ||
	die "cannot build the tools (cc, libssl-dev)"

# ---- the mailbox cache ---------------------------------------------------

# Dovecot reads the mailbox as the mail user, which must traverse every
# directory above it (root's home is usually 0700).
mail_can_reach() { setpriv --reuid=mail --regid=mail --clear-groups -- test -x "$1" 2>/dev/null; }
CACHE=${MA_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mailaudit-bench}
mkdir -p "$CACHE" && chmod 0711 "$CACHE" || die "cannot create $CACHE"
if [ -z "${MA_BENCH_CACHE:-}" ] && ! mail_can_reach "$CACHE"; then
	CACHE=/var/tmp/mailaudit-bench
	mkdir -p "$CACHE" && chmod 0711 "$CACHE" || die "cannot create $CACHE"
fi
mail_can_reach "$CACHE" || die "the mail user cannot reach $CACHE"
say "mailbox cache: $CACHE"

if [ "${MA_BENCH_HUGE:-}" = 1 ]; then
	free_kb=$(df -Pk "$CACHE" | awk 'NR == 2 { print $4 }')
	if [ -d "$CACHE/m1000000" ] || [ "${free_kb:-0}" -ge $((5 * 1024 * 1024)) ]; then
		case " $SIZES " in *" 1000000 "*) ;; *) SIZES="$SIZES 1000000" ;; esac
	else
		say "MA_BENCH_HUGE: skipping 1,000,000 messages: less than 5 GB free in $CACHE"
	fi
fi

# Folder split of an N-message box: INBOX (what POP3 sees) gets most.
split_inbox() { echo $(($1 * 8 / 10)); }
split_archive() { echo $(($1 * 15 / 100)); }
split_sent() { echo $(($1 - $1 * 8 / 10 - $1 * 15 / 100)); }

# Seeds $CACHE/mN once. The stamp file is written last, so a box is reused
# only if its seeding (or the bench's own last change to it) completed.
prepare_box() { # N
	local n=$1 d=$CACHE/m$1
	if [ -f "$d/stamp" ]; then
		say "reusing the $n message mailbox in $d"
		return 0
	fi
	say "seeding $n messages into $d (once; kept for later runs)"
	rm -rf -- "$d"
	mkdir -p "$d" && chown mail:mail "$d" && chmod 0700 "$d" || return 1
	local s=$SECONDS
	python3 "$top/tests/tools/seed.py" --owner mail --maildir "$d/Maildir" --folder INBOX --seed 1 \
		--count "$(split_inbox "$n")" &&
		python3 "$top/tests/tools/seed.py" --owner mail --maildir "$d/Maildir" --folder Archive --seed 2 \
			--count "$(split_archive "$n")" &&
		python3 "$top/tests/tools/seed.py" --owner mail --maildir "$d/Maildir" --folder Sent --seed 3 \
			--count "$(split_sent "$n")" || return 1
	echo 10000001 >"$d/next-first"
	echo "messages=$n seeded=$(date -u +%FT%TZ)" >"$d/stamp"
	say "seeded in $((SECONDS - s)) s"
}

# The bench's change to its own box: 100 new messages into INBOX (new
# Message-IDs via --first) and 100 old ones deleted straight from cur/, as
# the mail user. The box keeps its size. No stamp while it is half done.
change_box() { # N
	local d=$CACHE/m$1 first files
	rm -f "$d/stamp"
	first=$(cat "$d/next-first")
	python3 "$top/tests/tools/seed.py" --owner mail --maildir "$d/Maildir" --folder INBOX --seed 1 \
		--first "$first" --count 100 --days 1 || return 1
	echo $((first + 100)) >"$d/next-first"
	# 100 files spread evenly over the folder, not the newest ones
	files=$(find "$d/Maildir/cur" -type f -name '*.mailaudit,*' | LC_ALL=C sort |
		awk -v want=100 '{ f[NR] = $0 } END { step = int(NR / want); for (i = 1; i <= want; i++) print f[i * step] }')
	printf '%s\n' "$files" | setpriv --reuid=mail --regid=mail --clear-groups -- xargs -d '\n' rm -f -- ||
		return 1
	echo "messages=$1 changed=$(date -u +%FT%TZ)" >"$d/stamp"
}

# The same change made the way it reaches a server in service: the 100 new
# messages delivered through Dovecot (doveadm save, as its LDA or LMTP
# delivers) and the 100 old ones expunged by Dovecot (doveadm expunge, what
# a POP3 client's DELE and QUIT or an IMAP EXPUNGE come to). Dovecot's
# index and uidlist then know of both before the audit, which pays for no
# rescan of cur/ for what changed behind the server's back.
change_box_server() { # N
	local d=$CACHE/m$1 first uids tmp f
	rm -f "$d/stamp"
	first=$(cat "$d/next-first")
	tmp=$(mktemp -d "$OUT/deliver.XXXXXX") || return 1
	python3 "$top/tests/tools/seed.py" --maildir "$tmp" --folder INBOX --seed 1 \
		--first "$first" --count 100 --days 1 || return 1
	echo $((first + 100)) >"$d/next-first"
	for f in "$tmp"/cur/*; do
		doveadm -c "$MA_DOVECOT_CONF" save -u "$MA_USER" -m INBOX <"$f" || return 1
	done
	rm -rf -- "$tmp"
	# 100 UIDs spread evenly over the folder, not the newest ones
	uids=$(doveadm -c "$MA_DOVECOT_CONF" search -u "$MA_USER" mailbox INBOX all | awk '{ print $2 }' |
		awk -v want=100 '{ u[NR] = $0 } END { step = int(NR / want); for (i = 1; i <= want; i++) printf "%s%s", (i > 1 ? "," : ""), u[i * step] }')
	[ -n "$uids" ] && doveadm -c "$MA_DOVECOT_CONF" expunge -u "$MA_USER" mailbox INBOX uid "$uids" || return 1
	echo "messages=$1 changed=$(date -u +%FT%TZ)" >"$d/stamp"
}

# ---- the private Dovecot ---------------------------------------------------

. "$top/tests/lib/dovecot.sh"
dovecot_start --no-submission || die "cannot start the private Dovecot"
# Dovecot's default vsz_limit (256 MB) kills imap with "Out of memory" while
# it syncs the uidlist of an 800,000 message INBOX: raise it for the huge box
# only (a server limit, not the client's memory; the client's RSS is measured).
case " $SIZES " in
*" 1000000 "*)
	printf 'service imap {\n  vsz_limit = 2G\n}\nservice pop3 {\n  vsz_limit = 2G\n}\n' >>"$MA_DOVECOT_CONF" &&
		kill -HUP "$(cat "$MA_DOVECOT_PIDFILE")" && sleep 1 || die "cannot raise Dovecot's vsz_limit"
	;;
esac
WORK=$(mktemp -d "$OUT/run.XXXXXX") || die "mktemp failed"
chmod 0700 "$WORK"
RELAY=
# dovecot.sh's EXIT trap stops the server; keep it and drop our secrets too.
trap '[ -n "$RELAY" ] && kill "$RELAY" 2>/dev/null; dovecot_stop_all; rm -rf -- "$WORK"' EXIT

# Credentials for the peers, in 0600 files, never in argv.
qesc() { local s=${1//\\/\\\\}; printf '%s' "${s//\"/\\\"}"; }
(
	umask 077
	printf 'user = "%s:%s"\ncacert = "%s"\n' "$(qesc "$MA_USER")" "$(qesc "$MA_PASS")" "$MA_CA" >"$WORK/curl.cfg"
	# fetchmail checks the certificate against the poll name: the
	# certificate names localhost (and 127.0.0.1 only as an IP SAN).
	cat >"$WORK/fetchmailrc" <<EOF
set no syslog
set no bouncemail
poll imapbox via localhost protocol IMAP service $MA_IMAPS_PORT
  user "$(qesc "$MA_USER")" password "$(qesc "$MA_PASS")" ssl sslcertck sslcertfile "$MA_CA" keep
  folder INBOX,Archive,Sent
poll popbox via localhost protocol POP3 service $MA_POP3S_PORT
  user "$(qesc "$MA_USER")" password "$(qesc "$MA_PASS")" ssl sslcertck sslcertfile "$MA_CA" keep
EOF
	mkdir "$WORK/fetchmailhome"
)

STATE=$WORK/state
REF=("$OUT/refclient" --host "$MA_HOST" --imap-port "$MA_IMAPS_PORT" --pop3-port "$MA_POP3S_PORT"
	--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA")
AUDIT=("$MA" --report "$WORK/report.txt" --imap "$MA_HOST:$MA_IMAPS_PORT/tls"
	--pop3 "$MA_HOST:$MA_POP3S_PORT/tls" --user "$MA_USER" --password-file "$MA_PASSFILE"
	--ca-file "$MA_CA" --state-dir "$STATE")
# The same audit as over the internet: every byte through a relay that
# delays each direction by half of RTT_MS, so that round trips cost what
# they cost a user (on loopback they are all but free).
if [ "$RTT_MS" != 0 ]; then
	free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
	RIP=$(free_port) && RPP=$(free_port) || die "no free port for the relay"
	python3 "$here/delay_proxy.py" "$(awk -v r="$RTT_MS" 'BEGIN { print r / 2 }')" \
		"$RIP:$MA_IMAPS_PORT" "$RPP:$MA_POP3S_PORT" >"$WORK/relay.log" 2>&1 &
	RELAY=$!
	ma_wait 10 ma_file_has "$WORK/relay.log" ready || die "the delay relay did not start"
fi
AUDIT_RTT=("$MA" --report "$WORK/report.txt" --imap "$MA_HOST:${RIP:-0}/tls"
	--pop3 "$MA_HOST:${RPP:-0}/tls" --user "$MA_USER" --password-file "$MA_PASSFILE"
	--ca-file "$MA_CA" --state-dir "$STATE")
PY=(python3 "$here/py_peer.py" "$MA_HOST" "$MA_IMAPS_PORT" "$MA_POP3S_PORT" "$MA_USER" "$MA_PASSFILE" "$MA_CA")
CURL=(bash "$here/curl_peer.sh" "$MA_HOST" "$MA_IMAPS_PORT" "$MA_POP3S_PORT" "$WORK/curl.cfg")
FM=(env FETCHMAILHOME="$WORK/fetchmailhome" fetchmail --check --nosyslog -f "$WORK/fetchmailrc")

# Exit codes that mean "it worked": mailaudit 0-2 are verdicts (2 =
# CRITICAL, e.g. after the bench deleted mail), fetchmail --check 1 = "no mail".
ok_code() { # kind code
	case "$1:$2" in
	*:0 | mailaudit:1 | mailaudit:2 | fetchmail:1) return 0 ;;
	*) return 1 ;;
	esac
}

reset_state() { rm -rf -- "$STATE" && mkdir -p "$STATE"; }
audit_quiet() { "${AUDIT[@]}" >/dev/null 2>&1; ok_code mailaudit $?; }
sync_and_change() { audit_quiet && change_box "$N"; }
sync_and_change_server() { audit_quiet && change_box_server "$N"; }
# The same change some seconds before the audit, with another client's look
# at the box in between: what a server in service has when the audit comes
# (a phone's IDLE session syncs within Dovecot's mailbox_idle_check_interval).
# Dovecot rescans a Maildir directory whose mtime is less than a second old
# at every access, and records it as synced only once it is older, so the
# first access after the change that sees it settled is left to the other
# client here: 2 s of waiting model the time between a change and the
# audit, and the doveadm STATUS is that client. The rows above keep the
# audit as the first to look right after the change.
sync_and_change_settled() {
	sync_and_change_server || return 1
	sleep 2
	doveadm -c "$MA_DOVECOT_CONF" mailbox status -u "$MA_USER" messages INBOX >/dev/null
}
first_then() { reset_state && audit_quiet; }

median() { LC_ALL=C sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# run_case LABEL KIND SETUP -- COMMAND...: one warm-up, RUNS measured runs,
# one byte-counting run, each preceded by SETUP (a function or :). Appends
# "label|wall|cpu|rss_kb|bytes|status|note" to $ROWS.
run_case() {
	local label=$1 kind=$2 setup=$3 i code status=ok note='' bytes
	shift 4
	local m=$WORK/m
	: >"$m.all"
	say "$N: $label"
	for ((i = 0; i <= RUNS; i++)); do
		$setup || { status="setup failed"; break; }
		"$OUT/measure" "$m.one" "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"
		code=$(awk '{ print $4 }' "$m.one")
		if ! ok_code "$kind" "$code"; then
			status="exit $code"
			note=$(grep -v -e '^fetchmail: WARNING: Running as root' "$WORK/err.txt" | tail -n 1 | tr '|' '/')
		fi
		[ $i -gt 0 ] && cat "$m.one" >>"$m.all"
	done
	# bytes: one more run under the counting shim
	rm -f "$WORK/netcount"
	if $setup; then
		MA_NETCOUNT_FILE=$WORK/netcount LD_PRELOAD=$OUT/netcount.so "$@" >"$WORK/out.bytes" 2>/dev/null
	fi
	bytes=$(awk -F'[= ]' '{ s += $2 } END { print (NR ? s : "n/a") }' "$WORK/netcount" 2>/dev/null || echo n/a)
	[ -n "$bytes" ] || bytes=n/a
	[ -z "$note" ] && [ "$kind" != mailaudit ] && note=$(tr '\n' ' ' <"$WORK/out.txt" | cut -c1-80)
	printf '%s|%s|%s|%s|%s|%s|%s\n' "$label" \
		"$(awk '{ print $1 }' "$m.all" | median)" "$(awk '{ print $2 }' "$m.all" | median)" \
		"$(awk '{ print $3 }' "$m.all" | median)" "$bytes" "$status" "$note" >>"$ROWS"
}

# The floor and the first audit, in alternation: ref, audit, ref, audit...
# On a shared machine the speed drifts over seconds (other work, the
# hypervisor); measured in blocks, one case could catch a slow stretch the
# other did not, and their ratio, the target, would show the machine, not
# the program. Rows as run_case writes them, for both.
run_floor_and_first() {
	local i code r=$WORK/r a=$WORK/a rs=ok as=ok rn='' an='' rb ab
	: >"$r.all"
	: >"$a.all"
	say "$N: floor and first audit, alternating"
	for ((i = 0; i <= RUNS; i++)); do
		"$OUT/measure" "$r.one" "${REF[@]}" >"$WORK/out.txt" 2>"$WORK/err.txt"
		code=$(awk '{ print $4 }' "$r.one")
		ok_code ref "$code" || { rs="exit $code"; rn=$(tail -n 1 "$WORK/err.txt" | tr '|' '/'); }
		reset_state
		"$OUT/measure" "$a.one" "${AUDIT[@]}" >"$WORK/out.txt" 2>"$WORK/err.txt"
		code=$(awk '{ print $4 }' "$a.one")
		ok_code mailaudit "$code" || { as="exit $code"; an=$(tail -n 1 "$WORK/err.txt" | tr '|' '/'); }
		if [ $i -gt 0 ]; then
			cat "$r.one" >>"$r.all"
			cat "$a.one" >>"$a.all"
		fi
	done
	rm -f "$WORK/netcount"
	MA_NETCOUNT_FILE=$WORK/netcount LD_PRELOAD=$OUT/netcount.so "${REF[@]}" >/dev/null 2>&1
	rb=$(awk -F'[= ]' '{ s += $2 } END { print (NR ? s : "n/a") }' "$WORK/netcount" 2>/dev/null || echo n/a)
	rm -f "$WORK/netcount"
	reset_state
	MA_NETCOUNT_FILE=$WORK/netcount LD_PRELOAD=$OUT/netcount.so "${AUDIT[@]}" >/dev/null 2>&1
	ab=$(awk -F'[= ]' '{ s += $2 } END { print (NR ? s : "n/a") }' "$WORK/netcount" 2>/dev/null || echo n/a)
	row() { # label file status note bytes
		printf '%s|%s|%s|%s|%s|%s|%s\n' "$1" "$(awk '{ print $1 }' "$2" | median)" \
			"$(awk '{ print $2 }' "$2" | median)" "$(awk '{ print $3 }' "$2" | median)" \
			"${5:-n/a}" "$3" "$4" >>"$ROWS"
	}
	row "floor: refclient (C+OpenSSL, pipelined)" "$r.all" "$rs" "$rn" "$rb"
	row "mailaudit first audit" "$a.all" "$as" "$an" "$ab"
}

# history.db plus its WAL after a checkpoint into the main file: what a
# history store really occupies.
history_size() {
	local db=$STATE/history.db
	[ -f "$db" ] || { echo 0; return; }
	command -v sqlite3 >/dev/null && sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null 2>&1
	stat -c %s "$db" "$db-wal" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'
}

# ---- the cases -----------------------------------------------------------

RESULTS=$WORK/results.md
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"
	echo "$(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r),"
	echo "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), Dovecot $(dovecot --version | cut -d' ' -f1),"
	echo "$(openssl version | cut -d' ' -f1-2), $(python3 --version), $(curl --version | head -n1 | cut -d' ' -f1-2),"
	echo "fetchmail $(fetchmail --version 2>/dev/null | sed -n 's/^This is fetchmail release \([0-9.]*\).*/\1/p')."
	echo "mailaudit $("$MA" --version 2>/dev/null | head -n1 | awk '{ print $NF }')" \
		"(commit $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown), working tree as built)."
	echo "Date: $(date -u '+%F %H:%M UTC'). Runs: 1 warm-up + $RUNS measured, medians. Loopback only."
} >"$RESULTS"

for N in $SIZES; do
	prepare_box "$N" || die "seeding $N messages failed"
	# Point alice's home at the cached box (the harness made an empty one).
	rm -rf -- "$MA_MAILDIR" && ln -s "$CACHE/m$N/Maildir" "$MA_MAILDIR" || die "cannot link the mailbox"
	ROWS=$WORK/rows.$N
	: >"$ROWS"

	run_floor_and_first
	# The checkpoint that moves the first audit's rows from the WAL into the
	# file is left to the next audit (docs/architecture.md): shown here.
	run_case "mailaudit second audit (checkpoints the first)" mailaudit first_then -- "${AUDIT[@]}"
	# the repeat series starts from one first audit; history grows over it
	# The second audit is measured apart: it is where the store grows once
	# (see docs/benchmarks.md), the steady growth is what repeats add after.
	reset_state && audit_quiet || say "first audit before the repeats failed"
	h0=$(history_size)
	audit_quiet || say "second audit before the repeats failed"
	h1=$(history_size)
	run_case "mailaudit repeat, unchanged" mailaudit : -- "${AUDIT[@]}"
	h2=$(history_size)
	growth=$(((h2 - h1) / (RUNS + 2)))
	run_case "mailaudit repeat, +100 new -100 deleted" mailaudit sync_and_change -- "${AUDIT[@]}"
	# The same repeat by the method used where a server lacks QRESYNC
	# (flags of every known UID; MA_FORCE_FULL_LOOK is test-only): side by
	# side in one run, since this machine's speed drifts between runs.
	run_case "mailaudit repeat, +100/-100, full method" mailaudit sync_and_change -- \
		env MA_FORCE_FULL_LOOK=1 "${AUDIT[@]}"
	run_case "mailaudit repeat, +100/-100 through the server" mailaudit sync_and_change_server -- "${AUDIT[@]}"
	run_case "mailaudit repeat, +100/-100 through the server, settled" mailaudit sync_and_change_settled -- \
		"${AUDIT[@]}"
	if [ -n "$RELAY" ]; then
		run_case "mailaudit repeat, unchanged, $RTT_MS ms round trip" mailaudit : -- "${AUDIT_RTT[@]}"
		run_case "mailaudit repeat, +100/-100 settled, $RTT_MS ms round trip" mailaudit \
			sync_and_change_settled -- "${AUDIT_RTT[@]}"
	fi
	run_case "python3 imaplib+poplib (same fetches)" py : -- "${PY[@]}"
	if command -v curl >/dev/null; then
		run_case "curl: UID/size listing + UIDL/LIST" curl : -- "${CURL[@]}"
	fi
	if command -v fetchmail >/dev/null; then
		run_case "fetchmail --check (IMAP 3 folders + POP3)" fetchmail : -- "${FM[@]}"
	fi

	# The table. Ratios are to the floor (first row).
	{
		echo
		echo "### $N messages (INBOX $(split_inbox "$N"), Archive $(split_archive "$N"), Sent $(split_sent "$N"))"
		echo
		echo "| client | wall s | CPU s | peak RSS MB | received MB | wall / floor | bytes / floor | |"
		echo "|---|---:|---:|---:|---:|---:|---:|---|"
		awk -F'|' 'NR == 1 { fw = $2; fb = $5 }
		{
			mb = ($5 == "n/a") ? "n/a" : sprintf("%.2f", $5 / 1e6)
			rb = ($5 == "n/a" || fb == "n/a" || fb == 0) ? "n/a" : sprintf("%.2f", $5 / fb)
			st = ($6 == "ok") ? "" : $6 ($7 != "" ? ": " $7 : "")
			printf "| %s | %.3f | %.3f | %.1f | %s | %.2f | %s | %s |\n", $1, $2, $3, $4 / 1024, mb, $2 / fw, rb, st
		}' "$ROWS"
		echo
		echo "History store (history.db + WAL after a checkpoint): $h0 bytes after the first audit,"
		echo "$h1 after the second (a one-time step of $((h1 - h0)) bytes), $h2 after $((RUNS + 2)) more"
		echo "unchanged repeats: $growth bytes per unchanged repeat."
	} >>"$RESULTS"

	# Targets, judged from the numbers above (never assumed).
	val() { awk -F'|' -v l="$1" -v c="$2" '$1 == l { print $c }' "$ROWS"; }
	fw=$(val "floor: refclient (C+OpenSSL, pipelined)" 2)
	aw=$(val "mailaudit first audit" 2) ab=$(val "mailaudit first audit" 5) ar=$(val "mailaudit first audit" 4)
	rw=$(val "mailaudit repeat, unchanged" 2) rb=$(val "mailaudit repeat, unchanged" 5)
	rr=$(val "mailaudit repeat, unchanged" 4)
	cw=$(val "mailaudit repeat, +100 new -100 deleted" 2) cb=$(val "mailaudit repeat, +100 new -100 deleted" 5)
	sw=$(val "mailaudit repeat, +100/-100 through the server" 2)
	tw=$(val "mailaudit repeat, +100/-100 through the server, settled" 2)
	fb=$(val "floor: refclient (C+OpenSSL, pipelined)" 5)
	judge() { awk "BEGIN { exit !($1) }" 2>/dev/null && echo met || echo "NOT met"; }
	{
		echo
		if [ "$N" = 100000 ]; then
			echo "Targets (the issue sets them at 100,000 messages):"
		else
			echo "The same limits at $N messages (for reference: the targets are set at 100,000):"
		fi
		echo
		echo "- first audit <= 0.9 x floor wall: $(awk -v a="$aw" -v f="$fw" 'BEGIN { printf "%.2f x", a / f }') -> $(judge "$aw <= 0.9 * $fw")"
		echo "- repeat (unchanged) <= 0.4 x first audit wall: $(awk -v a="$rw" -v f="$aw" 'BEGIN { printf "%.2f x", a / f }') -> $(judge "$rw <= 0.4 * $aw")"
		if [ "$rb" != n/a ] && [ "$ab" != n/a ]; then
			echo "- repeat bytes < 5 % of first audit bytes: $(awk -v a="$rb" -v f="$ab" 'BEGIN { printf "%.1f %%", 100 * a / f }') -> $(judge "$rb < 0.05 * $ab")"
		else
			echo "- repeat bytes < 5 % of first audit bytes: not measured (n/a)"
		fi
		echo "- repeat +100/-100 <= 0.15 x floor wall: $(awk -v a="$cw" -v f="$fw" 'BEGIN { printf "%.2f x", a / f }') -> $(judge "$cw <= 0.15 * $fw")"
		[ -n "$sw" ] && echo "- the same, deleted through the server: $(awk -v a="$sw" -v f="$fw" 'BEGIN { printf "%.2f x", a / f }') -> $(judge "$sw <= 0.15 * $fw")"
		[ -n "$tw" ] && echo "- the same, through the server and settled: $(awk -v a="$tw" -v f="$fw" 'BEGIN { printf "%.2f x", a / f }') -> $(judge "$tw <= 0.15 * $fw")"
		if [ "$cb" != n/a ] && [ "$fb" != n/a ]; then
			echo "- repeat +100/-100 bytes < 2 % of the floor's: $(awk -v a="$cb" -v f="$fb" 'BEGIN { printf "%.1f %%", 100 * a / f }') -> $(judge "$cb < 0.02 * $fb")"
		fi
		echo "- peak RSS first audit < 64 MB: $(awk -v r="$ar" 'BEGIN { printf "%.1f MB", r / 1024 }') -> $(judge "$ar < 65536")"
		echo "- peak RSS repeat < 32 MB: $(awk -v r="$rr" 'BEGIN { printf "%.1f MB", r / 1024 }') -> $(judge "$rr < 32768")"
		echo "- history growth per unchanged repeat < 4 KB: $growth bytes -> $(judge "$growth < 4096")" \
			"(steady state; plus the one-time step of $((h1 - h0)) bytes at the second audit)"
	} >>"$RESULTS"

	# TUI responsiveness: key presses through tmux while the full-screen
	# program runs a first audit of this box (tests/bench/tui_latency.py).
	if [ "$N" = 100000 ] && [ "${MA_BENCH_TUI:-1}" != 0 ]; then
		if command -v tmux >/dev/null; then
			say "$N: TUI key latency (tmux)"
			TUI=("$MA" --imap "$MA_HOST:$MA_IMAPS_PORT/tls" --pop3 "$MA_HOST:$MA_POP3S_PORT/tls"
				--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA")
			if python3 "$here/tui_latency.py" "$WORK/tui.txt" "${MA_BENCH_TUI_PRESSES:-40}" \
				"$WORK/tuistate" -- "${TUI[@]}" >"$WORK/tui.sum" 2>"$WORK/tui.err"; then
				stat_of() { # mode: "median max n capture"
					awk -v m="$1" '$1 == m { print $2, $3 }' "$WORK/tui.txt" | LC_ALL=C sort -g |
						awk '{ v[NR] = $1; c += $2 } END { if (!NR) { print "nan nan 0 nan"; exit }
							med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
							printf "%.1f %.1f %d %.1f\n", med, v[NR], NR, c / NR }'
				}
				read -r am ax an ac <<<"$(stat_of audit)"
				read -r im ix i_n ic <<<"$(stat_of idle)"
				rounds=$(sed -n 's/^rounds: //p' "$WORK/tui.sum")
				steps=$(sed -n 's/^steps: //p' "$WORK/tui.sum")
				{
					echo
					echo "TUI key latency during a 100k audit (tmux 80x24, '?' opens/closes help while the"
					echo "progress screen shows; send-keys until capture-pane shows the change):"
					echo "median $am ms, max $ax ms over $an presses in $rounds first audit(s), one press per"
					echo "${MA_BENCH_TUI_GAP:-0.1} s; running step at the opening presses: $steps"
					echo "($ac capture-pane polls per press on average; 1 = the first poll already showed it)."
					echo "Idle baseline, the same presses on the results screen: median $im ms, max $ix ms"
					echo "over $i_n presses ($ic polls per press)."
					echo "- every key press answered within 50 ms (max, tmux overhead included): $ax ms -> $(judge "$ax <= 50")"
				} >>"$RESULTS"
			else
				{ echo; echo "TUI key latency during a 100k audit: measurement failed: $(tail -n 1 "$WORK/tui.err")"; } >>"$RESULTS"
			fi
		else
			{ echo; echo "TUI key latency during a 100k audit: not measured (no tmux)"; } >>"$RESULTS"
		fi
	fi
done
# Scale: how time and memory grow with the mailbox (target: linear or
# better). Each step compares a size with the one before it; 15 % slack for
# a shared machine's noise.
set -- $SIZES
if [ $# -ge 2 ]; then
	{
		echo
		echo "### Scale"
		echo
		echo "| messages | first audit s | us / message | first RSS MB | repeat s | repeat RSS MB | floor s |"
		echo "|---:|---:|---:|---:|---:|---:|---:|"
		for N in $SIZES; do
			awk -F'|' -v n="$N" '
				$1 == "floor: refclient (C+OpenSSL, pipelined)" { fw = $2 }
				$1 == "mailaudit first audit" { aw = $2; ar = $4 }
				$1 == "mailaudit repeat, unchanged" { rw = $2; rr = $4 }
				END { printf "| %d | %.3f | %.1f | %.1f | %.3f | %.1f | %.3f |\n", n, aw, aw * 1e6 / n, ar / 1024, rw, rr / 1024, fw }' \
				"$WORK/rows.$N"
		done
		echo
		prev=''
		for N in $SIZES; do
			if [ -n "$prev" ]; then
				awk -F'|' -v n="$N" -v p="$prev" -v fp="$WORK/rows.$prev" '
					function get(file, label, col,   l, f) {
						while ((getline l < file) > 0) { split(l, f, "|"); if (f[1] == label) { close(file); return f[col] } }
						close(file); return 0 }
					BEGIN {
						k = n / p
						aw1 = get(fp, "mailaudit first audit", 2); ar1 = get(fp, "mailaudit first audit", 4)
						rw1 = get(fp, "mailaudit repeat, unchanged", 2); rr1 = get(fp, "mailaudit repeat, unchanged", 4)
					}
					$1 == "mailaudit first audit" { aw2 = $2; ar2 = $4 }
					$1 == "mailaudit repeat, unchanged" { rw2 = $2; rr2 = $4 }
					END {
						printf "- %d -> %d messages (x%g): first audit time x%.2f, RSS x%.2f; repeat time x%.2f, RSS x%.2f -> %s\n",
							p, n, k, aw2 / aw1, ar2 / ar1, rw2 / rw1, rr2 / rr1,
							(aw2 / aw1 <= k * 1.15 && ar2 / ar1 <= k * 1.15 && rw2 / rw1 <= k * 1.15 && rr2 / rr1 <= k * 1.15) ? "linear or better" : "NOT linear"
					}' "$WORK/rows.$N"
			fi
			prev=$N
		done
	} >>"$RESULTS"
fi
if [ "${MA_BENCH_WATCH:-1}" != 0 ]; then
	bash "$here/watch_bench.sh" "$MA" >>"$RESULTS" || say "the watch bench failed"
fi
echo >>"$RESULTS"
echo "Load average before: $load_start; after: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: other work ran too)." >>"$RESULTS"

cp "$RESULTS" "$OUT/results.md"
cat "$RESULTS"
say "results in $OUT/results.md"

# Replace what lies between the markers in docs/benchmarks.md.
if [ "${MA_BENCH_DOC:-1}" != 0 ] && [ -f "$DOC" ] && grep -q '^<!-- bench:begin -->$' "$DOC"; then
	awk -v res="$RESULTS" '
		/^<!-- bench:begin -->$/ { print; while ((getline l < res) > 0) print l; skip = 1; next }
		/^<!-- bench:end -->$/ { skip = 0 }
		!skip' "$DOC" >"$WORK/doc.new" && cat "$WORK/doc.new" >"$DOC" && say "updated $DOC"
fi
