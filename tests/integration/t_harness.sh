#!/bin/bash
# The private Dovecot test harness itself (tests/lib/dovecot.sh, gencerts.sh, seed.py):
# starts, seeds, answers IMAP/POP3 over TLS and STARTTLS with the seeded counts,
# refuses wrong passwords, stays untouched by read-only commands, runs twice at
# once, and leaves no process behind.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
need dovecot openssl python3 sha256sum faketime || tap_bail "missing dependencies"
. "$here/../lib/dovecot.sh"

# python3 stdlib probes: py MODE ARGS... (host is 127.0.0.1 unless said otherwise)
PY='
import imaplib, poplib, socket, ssl, sys, os
mode, args = sys.argv[1], sys.argv[2:]
CA = os.environ["MA_CA"]
def ctx():
    c = ssl.create_default_context(cafile=CA)
    c.minimum_version = ssl.TLSVersion.TLSv1_2
    return c
class SrcIMAP(imaplib.IMAP4):
    src = None
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self.src, 0) if self.src else None)
def count(m, folder):
    typ, data = m.select(folder, readonly=True)   # readonly=True sends EXAMINE
    assert typ == "OK", (typ, data)
    assert m.is_readonly, "EXAMINE did not report READ-ONLY"
    return int(data[0])
if mode == "imaps_count":         # host port user pass folder
    host, port, user, pw, folder = args
    m = imaplib.IMAP4_SSL(host, int(port), ssl_context=ctx(), timeout=10)
    m.login(user, pw); print(count(m, folder)); m.logout()
elif mode == "imap_starttls_count":  # port user pass folder
    port, user, pw, folder = args
    m = imaplib.IMAP4("127.0.0.1", int(port), timeout=10)
    assert "STARTTLS" in m.capabilities, m.capabilities
    m.starttls(ssl_context=ctx())
    m.login(user, pw); print(count(m, folder)); m.logout()
elif mode == "imap_list":         # port user pass   (IMAPS)
    port, user, pw = args
    m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx(), timeout=10)
    m.login(user, pw)
    typ, data = m.list()
    for d in data: print(d.decode())
    m.logout()
elif mode == "imap_caps":         # port [source address]: capabilities before login, plain
    m = SrcIMAP.__new__(SrcIMAP)
    SrcIMAP.src = args[1] if len(args) > 1 else None
    SrcIMAP.__init__(m, "127.0.0.1", int(args[0]), timeout=10)
    print(" ".join(m.capabilities)); m.shutdown()
elif mode == "imaps_badlogin":    # port user pass: exit 0 iff refused with AUTHENTICATIONFAILED
    port, user, pw = args
    m = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx(), timeout=10)
    try:
        m.login(user, pw)
    except imaplib.IMAP4.error as e:
        print(e); sys.exit(0 if "AUTHENTICATIONFAILED" in str(e) else 3)
    print("login accepted"); sys.exit(1)
elif mode == "pop3s_stat":        # port user pass
    port, user, pw = args
    p = poplib.POP3_SSL("127.0.0.1", int(port), context=ctx(), timeout=10)
    p.user(user); p.pass_(pw); print(p.stat()[0]); p.quit()
elif mode == "pop3_stls_stat":    # port user pass
    port, user, pw = args
    p = poplib.POP3("127.0.0.1", int(port), timeout=10)
    assert "STLS" in p.capa(), p.capa()
    p.stls(ctx())
    p.user(user); p.pass_(pw); print(p.stat()[0]); p.quit()
elif mode == "pop3_capa":         # port
    p = poplib.POP3("127.0.0.1", int(args[0]), timeout=10)
    print(" ".join(sorted(p.capa()))); p.quit()
elif mode == "pop3s_badlogin":    # port user pass
    port, user, pw = args
    p = poplib.POP3_SSL("127.0.0.1", int(port), context=ctx(), timeout=10)
    p.user(user)
    try:
        p.pass_(pw)
    except poplib.error_proto as e:
        print(e); sys.exit(0 if "[AUTH]" in str(e) else 3)
    print("login accepted"); sys.exit(1)
elif mode == "smtp_ehlo":         # port: EHLO keywords of the submission port after STARTTLS
    import smtplib
    s = smtplib.SMTP("127.0.0.1", int(args[0]), timeout=10)
    s.ehlo(); assert s.has_extn("starttls"), s.esmtp_features
    s.starttls(context=ctx()); s.ehlo()
    print(" ".join(sorted(s.esmtp_features))); s.quit()
elif mode == "tls_verify_error":  # port: prints the verification error of an IMAPS handshake
    try:
        m = imaplib.IMAP4_SSL("127.0.0.1", int(args[0]), ssl_context=ctx(), timeout=10)
    except ssl.SSLCertVerificationError as e:
        print(e.verify_message); sys.exit(0)
    print("verified"); sys.exit(1)
else:
    sys.exit("unknown mode " + mode)
'
py() { python3 -c "$PY" "$@" 2>&1; }

t0=$(date +%s.%N)
errf=$(mktemp)
dovecot_start --no-starttls-imap-port 2>"$errf"
rc=$?
if [ $rc -ne 0 ]; then
	fail "dovecot_start starts a private Dovecot" "$(cat "$errf")"
	rm -f "$errf"
	tap_bail "cannot start Dovecot"
fi
rm -f "$errf"
pass "dovecot_start starts a private Dovecot"
A=$MA_TMP
check_contains "temp dir is private" "$MA_TMP" "/tmp/ma-dovecot."
confs=("$MA_DOVECOT_CONF" "$MA_TMP/etc/dovecot-notls.conf")
check_eq "config includes nothing (no /etc/dovecot)" 0 "$(cat "${confs[@]}" | grep -c '^[[:space:]]*!include')"
nport=$(cat "${confs[@]}" | grep -c '^ *port = [1-9]')
naddr=$(cat "${confs[@]}" | grep -c 'address = 127.0.0.1')
check_eq "every listener is on 127.0.0.1 (listeners: $nport)" "$nport" "$naddr"
ports="$MA_IMAP_PORT $MA_IMAPS_PORT $MA_POP3_PORT $MA_POP3S_PORT $MA_SUBMISSION_PORT $MA_IMAP_NOTLS_PORT $MA_POP3_NOTLS_PORT"
check_eq "7 distinct ports" 7 "$(printf '%s\n' $ports | sort -u | wc -l)"
check_eq "passfile is 0600" 600 "$(stat -c %a "$MA_PASSFILE")"
check_eq "MA_PASSCMD prints MA_PASS" "$MA_PASS" "$($MA_PASSCMD)"

dovecot_seed_standard
ok $? "dovecot_seed_standard"
check_eq "seed constants" "30 10 5 8 3 56" \
	"${MA_SEED_INBOX:-} ${MA_SEED_SENT:-} ${MA_SEED_TRASH:-} ${MA_SEED_ARCHIVE:-} ${MA_SEED_ODESLANA:-} ${MA_SEED_TOTAL:-}"
check_eq "INBOX files on disk" "$MA_SEED_INBOX" "$(ls "$MA_MAILDIR/cur" | wc -l)"
check_eq "seeded files belong to mail" "mail:mail" "$(stat -c %U:%G "$MA_MAILDIR/cur/$(ls "$MA_MAILDIR/cur" | head -1)")"

# The standard seed is the same on every day and in every time zone: file
# names, contents and mtimes (Dovecot's INTERNALDATE) of a seed written
# today, 38 and 59 days from now (libfaketime) and in another zone match.
seed_fingerprint() { # maildir -> "path sha256 mtime" per message file
	python3 - "$1" <<'EOF'
import hashlib, os, sys
root = sys.argv[1]
for d, _, files in sorted(os.walk(root)):
    if os.path.basename(d) != "cur":
        continue
    for f in sorted(files):
        p = os.path.join(d, f)
        h = hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]
        print(os.path.relpath(p, root), h, int(os.stat(p).st_mtime))
EOF
}
fp_today=$(d=$(mktemp -d) && python3 "$MA_SRC_TOOLS/seed.py" --standard "$d/M" >/dev/null &&
	seed_fingerprint "$d/M"; rm -rf "$d")
shift_s=$(( $(ma_fake_clock +59d python3 -c 'import time; print(int(time.time()))') - $(date +%s) ))
check "libfaketime moves python's clock by 59 days (moved ${shift_s} s)" \
	test "$shift_s" -gt $((59 * 86400 - 600)) -a "$shift_s" -lt $((59 * 86400 + 600))
for when in +38d +59d; do
	fp=$(d=$(mktemp -d) && ma_fake_clock "$when" python3 "$MA_SRC_TOOLS/seed.py" --standard "$d/M" >/dev/null &&
		seed_fingerprint "$d/M"; rm -rf "$d")
	check_eq "the standard seed written at $when is byte-identical to today's" "$fp_today" "$fp"
done
fp=$(d=$(mktemp -d) && TZ=America/St_Johns python3 "$MA_SRC_TOOLS/seed.py" --standard "$d/M" >/dev/null &&
	seed_fingerprint "$d/M"; rm -rf "$d")
check_eq "the standard seed written in another time zone is byte-identical" "$fp_today" "$fp"
check_eq "the standard seed holds 56 files" 56 "$(printf '%s\n' "$fp_today" | grep -c 'cur/')"

before=$(maildir_snapshot)
check_eq "snapshot lists every seeded message" "$MA_SEED_TOTAL" "$(printf '%s\n' "$before" | grep -c '/cur/')"

check_eq "IMAPS (verify 127.0.0.1) EXAMINE INBOX count" "$MA_SEED_INBOX" \
	"$(py imaps_count 127.0.0.1 "$MA_IMAPS_PORT" "$MA_USER" "$MA_PASS" INBOX)"
check_eq "IMAPS (verify localhost) EXAMINE INBOX count" "$MA_SEED_INBOX" \
	"$(py imaps_count localhost "$MA_IMAPS_PORT" "$MA_USER" "$MA_PASS" INBOX)"
check_eq "IMAP STARTTLS EXAMINE INBOX count" "$MA_SEED_INBOX" \
	"$(py imap_starttls_count "$MA_IMAP_PORT" "$MA_USER" "$MA_PASS" INBOX)"
check_eq "EXAMINE Sent count" "$MA_SEED_SENT" "$(py imap_starttls_count "$MA_IMAP_PORT" "$MA_USER" "$MA_PASS" Sent)"
check_eq "EXAMINE Odeslaná pošta count" "$MA_SEED_ODESLANA" \
	"$(py imap_starttls_count "$MA_IMAP_PORT" "$MA_USER" "$MA_PASS" '"Odeslan&AOE- po&AWE-ta"')"
check_eq "POP3S STAT count" "$MA_SEED_INBOX" "$(py pop3s_stat "$MA_POP3S_PORT" "$MA_USER" "$MA_PASS")"
check_eq "POP3 STLS STAT count" "$MA_SEED_INBOX" "$(py pop3_stls_stat "$MA_POP3_PORT" "$MA_USER" "$MA_PASS")"
check_eq "bob (password with \$ and #) logs in, empty INBOX" 0 \
	"$(py imaps_count 127.0.0.1 "$MA_IMAPS_PORT" "$MA_USER2" "$MA_PASS2" INBOX)"
check "IMAP wrong password refused (AUTHENTICATIONFAILED)" py imaps_badlogin "$MA_IMAPS_PORT" "$MA_USER" "wrong"
check "POP3 wrong password refused ([AUTH])" py pop3s_badlogin "$MA_POP3S_PORT" "$MA_USER" "$MA_PASS2"

list=$(py imap_list "$MA_IMAPS_PORT" "$MA_USER" "$MA_PASS")
for f in INBOX '\Sent) "/" Sent' '\Trash) "/" Trash' '\Archive) "/" Archive' '"Odeslan&AOE- po&AWE-ta"'; do
	check_contains "LIST shows $f" "$list" "$f"
done

caps=$(py imap_caps "$MA_IMAP_PORT")
check_contains "plain IMAP port offers STARTTLS" "$caps" STARTTLS
check_not_contains "from 127.0.0.1 login is allowed before TLS (loopback is secure)" "$caps" LOGINDISABLED
caps2=$(py imap_caps "$MA_IMAP_PORT" 127.0.0.2)
check_contains "from 127.0.0.2 LOGINDISABLED before STARTTLS" "$caps2" LOGINDISABLED
check_not_contains "no-TLS IMAP port offers no STARTTLS" "$(py imap_caps "$MA_IMAP_NOTLS_PORT")" STARTTLS
capa=$(py pop3_capa "$MA_POP3_NOTLS_PORT")
check_contains "no-TLS POP3 port answers CAPA" "$capa" UIDL
check_not_contains "no-TLS POP3 port offers no STLS" "$capa" STLS
check_eq "no-TLS IMAP port serves the same mail" "$MA_SEED_INBOX" \
	"$(py imap_caps "$MA_IMAP_NOTLS_PORT" >/dev/null; python3 -c "
import imaplib; m = imaplib.IMAP4('127.0.0.1', $MA_IMAP_NOTLS_PORT); m.login('$MA_USER', '$MA_PASS')
print(int(m.select('INBOX', readonly=True)[1][0])); m.logout()" 2>&1)"

check_contains "submission port: STARTTLS then AUTH offered" "$(py smtp_ehlo "$MA_SUBMISSION_PORT")" "auth"

after=$(maildir_snapshot)
if [ "$before" = "$after" ]; then
	pass "maildir_snapshot identical after read-only IMAP/POP3 sessions"
else
	fail "maildir_snapshot identical after read-only IMAP/POP3 sessions" "$(diff <(echo "$before") <(echo "$after") | head -20)"
fi
# ... and the snapshot does notice a change (flag rename)
f1=$(ls "$MA_MAILDIR/cur" | grep ':2,$' | head -1)
mv "$MA_MAILDIR/cur/$f1" "$MA_MAILDIR/cur/${f1}S"
[ "$(maildir_snapshot)" != "$after" ] && pass "maildir_snapshot differs after a flag change" ||
	fail "maildir_snapshot differs after a flag change"
mv "$MA_MAILDIR/cur/${f1}S" "$MA_MAILDIR/cur/$f1"

# A second instance at the same time, in the same shell (dovecot_use switches back).
dovecot_start --cert expired --lock-session --no-submission
rc=$?
B=$MA_TMP
ok $rc "second instance starts while the first runs (--cert expired --lock-session)"
[ "$A" != "$B" ] && pass "instances have different temp dirs" || fail "instances have different temp dirs"
bports="$MA_IMAP_PORT $MA_IMAPS_PORT $MA_POP3_PORT $MA_POP3S_PORT"
check_eq "instances have disjoint ports" 11 "$(printf '%s\n' $ports $bports | sort -u | wc -l)"
check_contains "second instance serves the expired cert" "$(py tls_verify_error "$MA_IMAPS_PORT")" "expired"
check_eq "second instance: POP3 STLS fails the certificate check too" 1 \
	"$(py pop3_stls_stat "$MA_POP3_PORT" "$MA_USER" "$MA_PASS" >/dev/null; echo $?)"
grep -q 'pop3_lock_session = yes' "$MA_DOVECOT_CONF" && pass "--lock-session sets pop3_lock_session" ||
	fail "--lock-session sets pop3_lock_session"
dovecot_use "$A"
check_eq "first instance still answers while the second runs" "$MA_SEED_INBOX" \
	"$(py pop3s_stat "$MA_POP3S_PORT" "$MA_USER" "$MA_PASS")"
bpids=$(dovecot_pids "$B")
dovecot_stop "$B"
left=; for p in $bpids; do _ma_pid_alive "$p" && left="$left $p"; done
check_eq "second instance stopped: no process left" "" "$left"
[ ! -e "$B" ] && pass "second instance temp dir removed" || fail "second instance temp dir removed"
check_eq "first instance survives the second's stop" "$MA_SEED_INBOX" \
	"$(py pop3s_stat "$MA_POP3S_PORT" "$MA_USER" "$MA_PASS")"

# A subshell's EXIT trap stops its own instance only.
C=$( (dovecot_start --no-submission >/dev/null 2>&1 && echo "$MA_TMP") )
[ -n "$C" ] && [ ! -e "$C" ] && pass "subshell instance cleaned up by its EXIT trap" ||
	fail "subshell instance cleaned up by its EXIT trap" "C=$C"
check_eq "first instance survives a subshell's EXIT trap" "$MA_SEED_INBOX" \
	"$(py pop3s_stat "$MA_POP3S_PORT" "$MA_USER" "$MA_PASS")"

apids=$(dovecot_pids "$A")
master=$(cat "$MA_DOVECOT_PIDFILE")
check_contains "master pid is among the instance's pids" "$apids" "$master"
dovecot_stop
left=; for p in $apids; do _ma_pid_alive "$p" && left="$left $p"; done
check_eq "dovecot_stop: no process left" "" "$left"
[ ! -e "$A" ] && pass "dovecot_stop removed the temp dir" || fail "dovecot_stop removed the temp dir"
left=$(pgrep -f -- "$A" | tr '\n' ' ')
check_eq "no process mentions the temp dir" "" "$left"
diag "harness test took $(python3 -c "import time; print(round(time.time() - $t0, 1))") s"
tap_done
