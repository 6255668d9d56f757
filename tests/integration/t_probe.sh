#!/bin/bash
# The connection doctor (core/doctor/probe.c) against private Dovecots and a private
# dnsmasq on loopback, through tests/tools/probe_run: working cells, SRV
# discovery, CNAME chains, closed and silent ports, STARTTLS missing, wrong
# CA, name mismatch, expired certificate, wrong password, login without '@',
# unknown and obsolete names, and the matrix's parallelism. Then the system's
# resolver (MA_RESOLVER unset: /etc/hosts, resolv.conf's nameserver, search
# list) and mailaudit --probe's exit status for every outcome: 0 working,
# 1 a warning, 2 nothing working (a wrong password included), 3 no resolver
# answering.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
need dovecot openssl python3 dnsmasq unshare mount || tap_bail "missing dependencies"
run="$MA_TOOLS/probe_run"
[ -x "$run" ] || tap_bail "probe_run not built ($run)"
export MA_RULES="$here/../../data/providers.rules"

dns_pid=
silent_pid=
sysdns_pid=
mute_pid=
cleanup() {
	[ -n "$dns_pid" ] && kill "$dns_pid" 2>/dev/null
	[ -n "$silent_pid" ] && kill "$silent_pid" 2>/dev/null
	[ -n "$sysdns_pid" ] && kill "$sysdns_pid" 2>/dev/null
	[ -n "$mute_pid" ] && kill "$mute_pid" 2>/dev/null
	dovecot_stop_all
}
trap cleanup EXIT

free_port() { # udp|tcp
	python3 -c "import socket,sys
t=socket.SOCK_DGRAM if sys.argv[1]=='udp' else socket.SOCK_STREAM
s=socket.socket(socket.AF_INET,t); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" "$1"
}

# --- servers ---------------------------------------------------------------
dovecot_start --cert expired --no-submission || tap_bail "dovecot (expired) did not start"
EXPIRED_IMAPS=$MA_IMAPS_PORT
EXPIRED_CA=$MA_CA  # every instance has its own test CA
dovecot_start --cert wrongname --no-submission || tap_bail "dovecot (wrongname) did not start"
WRONG_IMAPS=$MA_IMAPS_PORT
WRONG_CA=$MA_CA
dovecot_start --no-starttls-imap-port || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
CLOSED=$(free_port tcp)

# Two ports that accept and never say a word.
read -r S1 S2 < <(python3 -c "import socket
a=[socket.socket() for _ in range(2)]
[s.bind(('127.0.0.1',0)) for s in a]
print(*(s.getsockname()[1] for s in a))")
python3 - "$S1" "$S2" <<'EOF' &
import socket, sys, time, select
socks = []
for p in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(p)))
    s.listen(16)
    socks.append(s)
held = []
end = time.time() + 120
while time.time() < end:
    r, _, _ = select.select(socks, [], [], 1)
    for s in r:
        held.append(s.accept()[0])
EOF
silent_pid=$!

DNS_PORT=$(free_port udp)
dnsmasq --no-daemon --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --local=/test/ --local=/net/ \
	--host-record=localhost,127.0.0.1 \
	--cname=mail.alias.test,mid.alias.test --cname=mid.alias.test,localhost \
	--srv-host=_imaps._tcp.example.test,localhost,"$MA_IMAPS_PORT" \
	--srv-host=_pop3s._tcp.example.test,localhost,"$MA_POP3S_PORT" \
	--srv-host=_submission._tcp.example.test,localhost,"$MA_SUBMISSION_PORT" \
	--address=/smtp-12345.m67.wedos.net/127.0.0.1 \
	--log-facility=- >"$MA_TMP/dnsmasq.log" 2>&1 &
dns_pid=$!
export MA_RESOLVER=127.0.0.1:$DNS_PORT
ma_wait 60 ma_file_has "$MA_TMP/dnsmasq.log" started
kill -0 "$dns_pid" 2>/dev/null || tap_bail "dnsmasq did not start: $(cat "$MA_TMP/dnsmasq.log")"

probe() { "$run" --ca "$MA_CA" --timeout 3 "$@" 2>&1; }
cell() { # output slot -> "status login=... alt=..."
	printf '%s\n' "$1" | awk -v s="$2" '$1 == "CELL" && $2 == s { print $4, $5, $6 }'
}

# --- SRV discovery, working cells, read-only -------------------------------
snap=$(maildir_snapshot)
out=$(probe --address "$MA_USER" --password-file "$MA_PASSFILE" --only imaps,pop3s,submission)
check_eq "SRV: IMAPS found, login ok" "ok login=ok alt=no" "$(cell "$out" imaps)"
check_eq "SRV: POP3S found, login ok" "ok login=ok alt=no" "$(cell "$out" pop3s)"
check_eq "SRV: submission (STARTTLS + AUTH PLAIN) login ok" "ok login=ok alt=no" "$(cell "$out" submission)"
check_contains "SRV: names the record" "$out" "SRV _imaps._tcp.example.test"
check_contains "best-settings lists all three" "$out" "FINDING best-settings OK"
check_contains "best-settings table: IMAP" "$out" "IMAP: localhost port $MA_IMAPS_PORT SSL/TLS, login ok"
check_not_contains "password never printed" "$out" "$MA_PASS"
check_eq "probe changed no mail" "$snap" "$(maildir_snapshot)"
long=$(printf '%s\n' "$out" | grep -v '^CELL\|^FINDING' | awk 'length > 78')
check_eq "text fits 78 columns" "" "$long"

# --- STARTTLS cells on given names, login without '@' ----------------------
out=$(probe --address "$MA_USER" --login alice --password-file "$MA_PASSFILE" --imap-host localhost \
	--port imap="$MA_IMAP_PORT" --port pop3="$MA_POP3_PORT" --only imap,pop3)
check_eq "IMAP STARTTLS: 'alice' refused, full address works" "login login=refused alt=ok" "$(cell "$out" imap)"
check_eq "POP3 STLS uses the IMAP name" "login login=refused alt=ok" "$(cell "$out" pop3)"
check_contains "login-not-full-address" "$out" "FINDING login-not-full-address WARNING"
check_contains "says which login works" "$out" "\"alice@example.test\" was accepted"

# --- wrong password ---------------------------------------------------------
bad=$MA_TMP/badpw
printf 'wrong\n' >"$bad"
out=$(probe --address "$MA_USER" --password-file "$bad" --imap-host localhost --smtp-host localhost \
	--port imaps="$MA_IMAPS_PORT" --port submission="$MA_SUBMISSION_PORT" --only imaps,submission)
check_eq "wrong password: IMAP" "login login=refused alt=no" "$(cell "$out" imaps)"
check_eq "wrong password: SMTP" "login login=refused alt=no" "$(cell "$out" submission)"
check_contains "login-rejected" "$out" "FINDING login-rejected CRITICAL"
check_contains "login-rejected: 15 minutes hint" "$out" "15 minutes"

# --- STARTTLS not offered, closed port --------------------------------------
out=$(probe --address "$MA_USER" --password-file "$MA_PASSFILE" --imap-host localhost --smtp-host localhost \
	--port imap="$MA_IMAP_NOTLS_PORT" --port pop3="$MA_POP3_NOTLS_PORT" --port smtps="$CLOSED" \
	--only imap,pop3,smtps)
check_eq "no STARTTLS: IMAP, nothing sent" "starttls-missing login=no alt=no" "$(cell "$out" imap)"
check_eq "no STLS: POP3" "starttls-missing login=no alt=no" "$(cell "$out" pop3)"
check_contains "starttls-missing finding" "$out" "FINDING starttls-missing WARNING"
check_eq "closed port" "refused login=no alt=no" "$(cell "$out" smtps)"
check_contains "port-closed finding" "$out" "FINDING port-closed"

# --- wrong CA: looked at, no login ------------------------------------------
out=$("$run" --ca "$MA_CERTS/untrusted-ca.crt" --timeout 3 --address "$MA_USER" --password-file "$MA_PASSFILE" \
	--imap-host localhost --port imaps="$MA_IMAPS_PORT" --port imap="$MA_IMAP_PORT" --only imaps,imap 2>&1)
check_eq "wrong CA: IMAPS untrusted, no login" "cert-untrusted login=no alt=no" "$(cell "$out" imaps)"
check_eq "wrong CA: STARTTLS untrusted, no login" "cert-untrusted login=no alt=no" "$(cell "$out" imap)"
check_contains "cert-untrusted finding" "$out" "FINDING cert-untrusted CRITICAL"
check_contains "capabilities still shown" "$out" "caps: IMAP4rev1"

# --- name mismatch through a CNAME chain ------------------------------------
out=$(probe --address "$MA_USER" --password-file "$MA_PASSFILE" --imap-host mail.alias.test \
	--port imaps="$MA_IMAPS_PORT" --only imaps)
check_eq "alias name: mismatch, no login" "cert-name-mismatch login=no alt=no" "$(cell "$out" imaps)"
check_contains "CNAME chain shown" "$out" "-> mid.alias.test -> localhost = 127.0.0.1"
check_contains "advice: the alias's target is covered" "$out" "alias (CNAME) of localhost"
check_contains "advice: use that name" "$out" "covers: use localhost"

out=$("$run" --ca "$WRONG_CA" --timeout 3 --address "$MA_USER" --imap-host localhost --port imaps="$WRONG_IMAPS" \
	--only imaps 2>&1)
check_eq "wrongname certificate" "cert-name-mismatch login=no alt=no" "$(cell "$out" imaps)"
check_contains "covered names listed" "$out" "DNS:other.example"

out=$("$run" --ca "$EXPIRED_CA" --timeout 3 --address "$MA_USER" --password-file "$MA_PASSFILE" \
	--imap-host localhost --port imaps="$EXPIRED_IMAPS" --only imaps 2>&1)
check_eq "expired certificate, no login" "cert-expired login=no alt=no" "$(cell "$out" imaps)"
check_contains "cert-expired finding" "$out" "FINDING cert-expired CRITICAL"

# --- unknown and obsolete names ---------------------------------------------
out=$(probe --address "$MA_USER" --imap-host nosuch.example.test --only imaps)
check_eq "unknown name" "host-unknown login=no alt=no" "$(cell "$out" imaps)"
check_contains "host-unknown finding" "$out" "FINDING host-unknown CRITICAL"

out=$(probe --address "$MA_USER" --smtp-host smtp-12345.m67.wedos.net --port submission="$MA_SUBMISSION_PORT" \
	--only submission)
check_contains "host-obsolete finding" "$out" "FINDING host-obsolete WARNING"
check_contains "host-obsolete: current name hint" "$out" "wesX.smtp.wedos.net"

# --- silence: two silent ports cost one timeout, not two ---------------------
# The probe's own clock: under ASan process start and exit cost seconds.
out=$(probe --timeout 2 --address "$MA_USER" --imap-host localhost --port imaps="$S1" --port imap="$S2" \
	--only imaps,imap)
ms=$(printf '%s\n' "$out" | sed -n 's/^TOTAL ms=//p')
check_eq "silent IMAPS times out" "read-timeout login=no alt=no" "$(cell "$out" imaps)"
check_eq "silent IMAP times out" "read-timeout login=no alt=no" "$(cell "$out" imap)"
check_contains "all-ports-silent finding" "$out" "FINDING all-ports-silent CRITICAL"
if [ "${ms:-0}" -ge 1900 ] && [ "$ms" -lt 3500 ]; then
	pass "two silent cells ran in parallel (${ms} ms for a 2 s timeout)"
else
	fail "two silent cells ran in parallel" "took ${ms} ms for a 2 s timeout"
fi

# --- the system's resolver (MA_RESOLVER unset) ------------------------------
# The doctor resolves as the audit does (getaddrinfo), so /etc/hosts answers
# for localhost; it used to send its own queries to resolv.conf's nameserver
# and call localhost NXDOMAIN.
good=$MA_PASSFILE
bad=$MA_TMP/badpw
printf 'wrong\n' >"$bad"
chmod 600 "$bad"
mainst() { # args...: mailaudit --probe; sets out and rc
	out=$("$MAILAUDIT" --probe --ca-file "$MA_CA" --timeout 3 "$@" 2>&1 </dev/null)
	rc=$?
}
unwrapped() { printf '%s\n' "$out" | tr '\n' ' ' | tr -s ' '; }

out=$(env -u MA_RESOLVER "$MAILAUDIT" --probe --ca-file "$MA_CA" --timeout 3 --imap "localhost:$MA_IMAPS_PORT/tls" \
	--user "$MA_USER" --password-file "$good" 2>&1 </dev/null)
check_eq "MA_RESOLVER unset: localhost through /etc/hosts (exit 0)" 0 "$?"
check_not_contains "MA_RESOLVER unset: localhost is not called unknown" "$out" "does not exist"
check_contains "MA_RESOLVER unset: the IMAP cell works" "$out" \
	"IMAP: localhost port $MA_IMAPS_PORT SSL/TLS, login ok"

# The rest of this section makes the system's resolver ours: a private mount
# namespace in which /etc/resolv.conf names a dnsmasq on a loopback address
# of its own (resolv.conf has no port, so it listens on 53), or a socket
# there that never answers.
free_ip53() { # [not this one]: a loopback address whose UDP port 53 is free
	local ip
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		ip=127.53.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
		[ "$ip" = "${1:-}" ] && continue
		if python3 -c "import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((sys.argv[1],53))" \
			"$ip" 2>/dev/null; then
			echo "$ip"
			return 0
		fi
	done
	return 1
}
sys_ip=$(free_ip53) || tap_bail "no free loopback address for a resolver on port 53"
mute_ip=$(free_ip53 "$sys_ip") || tap_bail "no free loopback address for a silent resolver on port 53"
# A resolver that never answers: a UDP socket at mute_ip:53 and one on a free
# port of 127.0.0.1 (for MA_RESOLVER), both read by nobody.
MUTE_PORT=$(free_port udp)
python3 - "$mute_ip" "$MUTE_PORT" "$MA_TMP/mute.ready" <<'EOF2' &
import socket, sys, time
a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
a.bind((sys.argv[1], 53))
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
b.bind(("127.0.0.1", int(sys.argv[2])))
open(sys.argv[3], "w").write("ready\n")
time.sleep(120)
EOF2
mute_pid=$!
ma_wait 30 ma_file_has "$MA_TMP/mute.ready" ready || tap_bail "the silent resolver did not start"
dnsmasq --no-daemon --port=53 --listen-address="$sys_ip" --bind-interfaces \
	--no-resolv --no-hosts --local=/test/ --local=/invalid/ \
	--host-record=target.alias.test,127.0.0.1 \
	--cname=mail.alias.test,mid.alias.test --cname=mid.alias.test,target.alias.test \
	--log-facility=- >"$MA_TMP/sysdns.log" 2>&1 &
sysdns_pid=$!
ma_wait 60 ma_file_has "$MA_TMP/sysdns.log" started
kill -0 "$sysdns_pid" 2>/dev/null || tap_bail "dnsmasq (system) did not start: $(cat "$MA_TMP/sysdns.log")"
printf 'nameserver %s\nsearch alias.test\n' "$sys_ip" >"$MA_TMP/resolv.ours"
printf 'nameserver %s\n' "$mute_ip" >"$MA_TMP/resolv.mute"
sysres() { # resolv.conf command...: runs command with that file as the system's, MA_RESOLVER unset
	env -u MA_RESOLVER unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$@"
}
sysres "$MA_TMP/resolv.ours" true || tap_bail "cannot give a command its own /etc/resolv.conf (unshare -m, mount --bind)"

out=$(sysres "$MA_TMP/resolv.ours" "$run" --ca "$MA_CA" --timeout 3 --address "$MA_USER" --imap-host localhost \
	--port imaps="$MA_IMAPS_PORT" --only imaps 2>&1)
check_eq "system resolver without localhost: /etc/hosts answers" "ok login=no alt=no" "$(cell "$out" imaps)"

out=$(sysres "$MA_TMP/resolv.ours" "$run" --ca "$MA_CA" --timeout 3 --address "$MA_USER" --imap-host mail \
	--port imaps="$MA_IMAPS_PORT" --only imaps 2>&1)
check_eq "system resolver: resolv.conf's search list applies" "cert-name-mismatch login=no alt=no" "$(cell "$out" imaps)"
check_contains "system resolver: CNAME chain through libresolv" "$out" \
	"-> mid.alias.test -> target.alias.test = 127.0.0.1"

out=$(sysres "$MA_TMP/resolv.ours" "$run" --timeout 3 --address "$MA_USER" --imap-host nosuch.example.test --only imaps 2>&1)
check_eq "system resolver: an unknown name" "host-unknown login=no alt=no" "$(cell "$out" imaps)"
check_contains "system resolver: NXDOMAIN is 'does not exist'" "$out" \
	"nosuch.example.test does not exist (the system's resolver says so)"

# A name from /etc/hosts under another name (an alias there): the chain is
# asked of DNS too, but a silent DNS server holds the cell up for half the
# timeout at most, and the alias is still shown.
printf '127.0.0.1 target.hosts.test hostalias\n' >"$MA_TMP/hosts.alias"
out=$(env -u MA_RESOLVER unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && mount --bind "$1" /etc/hosts &&
	shift && exec "$@"' "$MA_TMP/resolv.mute" "$MA_TMP/hosts.alias" \
	"$run" --ca "$MA_CA" --timeout 4 --address "$MA_USER" --imap-host hostalias --port imaps="$MA_IMAPS_PORT" \
	--only imaps 2>&1)
check_eq "hosts alias, silent DNS: the cell still runs" "cert-name-mismatch login=no alt=no" "$(cell "$out" imaps)"
check_contains "hosts alias, silent DNS: where the name points" "$out" "-> target.hosts.test = 127.0.0.1"
ms=$(printf '%s\n' "$out" | awk '$1 == "CELL" && $2 == "imaps" { sub("ms=", "", $7); print $7 }')
if [ "${ms:-0}" -ge 1500 ] && [ "$ms" -lt 3500 ]; then
	pass "hosts alias, silent DNS: the chain waited half the timeout (${ms} ms of 4 s)"
else
	fail "hosts alias, silent DNS: the chain waited half the timeout" "the cell took ${ms:-?} ms for a 4 s timeout"
fi

# --- exit status and wording when nothing works ------------------------------
sysres "$MA_TMP/resolv.ours" "$MAILAUDIT" --probe --ca-file "$MA_CA" --timeout 3 --imap nosuch.example.test/tls \
	>"$MA_TMP/out" 2>&1 </dev/null
rc=$?
out=$(cat "$MA_TMP/out")
check_eq "--probe, unknown name, MA_RESOLVER unset: CRITICAL (exit 2)" 2 "$rc"
check_contains "--probe, unknown name: host-unknown says so" "$out" \
	"[CRITICAL] host-unknown: The server name nosuch.example.test does not exist"

mainst --imap "localhost:$MA_IMAPS_PORT/tls" --pop3 "localhost:$MA_POP3S_PORT/tls" \
	--smtp "localhost:$MA_SUBMISSION_PORT/starttls" --user "$MA_USER" --password-file "$good"
check_eq "--probe, everything works: exit 0" 0 "$rc"
check_contains "--probe, everything works: [OK] best-settings" "$out" "[OK] best-settings"

mainst --imap "localhost:$MA_IMAPS_PORT/tls" --pop3 "localhost:$MA_POP3_NOTLS_PORT/starttls" \
	--user "$MA_USER" --password-file "$good"
check_eq "--probe, IMAP works, POP3 without STARTTLS: WARNING (exit 1)" 1 "$rc"
check_contains "--probe, warning: starttls-missing" "$out" "[WARNING] starttls-missing"

mainst --imap "localhost:$CLOSED/tls" --pop3 "localhost:$CLOSED/tls" --smtp "localhost:$CLOSED/tls"
check_eq "--probe, every port closed: CRITICAL (exit 2)" 2 "$rc"
check_contains "--probe, nothing works: best-settings says so" "$(unwrapped)" \
	"[CRITICAL] best-settings: Nothing works: no protocol has a working setting (0 of 3)"

mainst --imap "localhost:$MA_IMAPS_PORT/tls" --pop3 "localhost:$MA_POP3S_PORT/tls" \
	--smtp "localhost:$MA_SUBMISSION_PORT/starttls" --user "$MA_USER" --password-file "$bad"
check_eq "--probe, wrong password: CRITICAL (exit 2)" 2 "$rc"
check_not_contains "--probe, wrong password: never [OK] best-settings" "$out" "[OK] best-settings"
check_not_contains "--probe, wrong password: never 'login refused' as a working setting" "$out" "login refused"
check_not_contains "--probe, wrong password: no 'login failed: login'" "$out" "login failed: login"
check_contains "--probe, wrong password: the cell says what failed" "$(unwrapped)" \
	"login failed: the server rejected the login name or password"
check_contains "--probe, wrong password: best-settings says why IMAP does not work" "$(unwrapped)" \
	"IMAP: no working combination; localhost port $MA_IMAPS_PORT SSL/TLS connects, but the server refused the login name or password"
check_contains "--probe, wrong password: login-rejected" "$out" "[CRITICAL] login-rejected"

# A resolver that answers nothing: UNKNOWN, within about one timeout (SRV
# discovery no longer waits again per cell).
# (--ca: the system's trust store alone costs seconds under ASan.)
out=$(MA_RESOLVER=127.0.0.1:$MUTE_PORT "$run" --ca "$MA_CA" --timeout 2 --address "$MA_USER" 2>&1)
ms=$(printf '%s\n' "$out" | sed -n 's/^TOTAL ms=//p')
check_contains "silent MA_RESOLVER: dns-failed is UNKNOWN" "$out" "FINDING dns-failed UNKNOWN"
check_not_contains "silent MA_RESOLVER: nothing called unknown" "$out" "host-unknown"
check_contains "silent MA_RESOLVER: best-settings is not critical" "$out" "FINDING best-settings INFO"
if [ "${ms:-0}" -ge 1900 ] && [ "$ms" -lt 3800 ]; then
	pass "silent MA_RESOLVER: discovery gave up after one timeout (${ms} ms for 2 s)"
else
	fail "silent MA_RESOLVER: discovery gave up after one timeout" "took ${ms:-?} ms for a 2 s timeout"
fi
MA_RESOLVER=127.0.0.1:$MUTE_PORT "$MAILAUDIT" --probe --timeout 2 --address "$MA_USER" >"$MA_TMP/out" 2>&1 </dev/null
check_eq "--probe, silent MA_RESOLVER: UNKNOWN (exit 3)" 3 "$?"
MA_RESOLVER=127.0.0.1:$MUTE_PORT "$MAILAUDIT" --probe --timeout 2 --imap mail.example.test/tls \
	>"$MA_TMP/out" 2>&1 </dev/null
check_eq "--probe, silent MA_RESOLVER, given name: UNKNOWN (exit 3)" 3 "$?"
check_contains "--probe, silent resolver: says no answer" "$(cat "$MA_TMP/out")" "[UNKNOWN] dns-failed"
sysres "$MA_TMP/resolv.mute" "$MAILAUDIT" --probe --timeout 2 --imap mail.example.test/tls \
	>"$MA_TMP/out" 2>&1 </dev/null
check_eq "--probe, silent system resolver: UNKNOWN (exit 3)" 3 "$?"
check_not_contains "--probe, silent system resolver: not 'does not exist'" "$(cat "$MA_TMP/out")" "does not exist"

tap_done
