#!/bin/bash
# The session layer against a real private Dovecot and scripted hostile
# servers: happy paths on all four ports, read-only proof, and every failure
# named (see issue "Read-only IMAP and POP3 sessions").
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/dovecot.sh"
need dovecot openssl python3
probe="$MA_TOOLS/session_probe"
[ -x "$probe" ] || tap_bail "session_probe not built ($probe)"

pwfile() { # password -> file path
	local f
	f=$(mktemp "$MA_TMP/pw.XXXXXX")
	printf '%s\n' "$1" >"$f"
	chmod 600 "$f"
	echo "$f"
}

dovecot_start || tap_bail "dovecot did not start"
dovecot_seed_standard || tap_bail "seeding failed"
H=127.0.0.1
# Credentials of the instance running now (each start makes new files).
setP() { P=(--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 5); }
setP

# --- happy paths -----------------------------------------------------------
snap_before=$(maildir_snapshot)
out=$("$probe" --imap "$H:$MA_IMAPS_PORT/tls" --headers "${P[@]}" 2>&1)
check_contains "IMAPS: login and folders" "$out" "imap ok"
check_contains "IMAPS: INBOX count" "$out" "$(printf 'folder INBOX\t%s\t' "$MA_SEED_INBOX")"
check_contains "IMAPS: Sent count" "$out" "$(printf 'folder Sent\t%s\t' "$MA_SEED_SENT")"
check_contains "IMAPS: non-ASCII folder decoded" "$out" "$(printf 'folder Odeslaná pošta\t%s\t' "$MA_SEED_ODESLANA")"
check_contains "IMAPS: certificate verified" "$out" "imap cert verified=1"
inbox_line=$(echo "$out" | grep "^folder INBOX")
check_eq "IMAPS: every INBOX message fetched" "$MA_SEED_INBOX" "$(echo "$inbox_line" | cut -f4)"

out=$("$probe" --imap "$H:$MA_IMAP_PORT/starttls" "${P[@]}" 2>&1)
check_contains "IMAP STARTTLS: login and folders" "$out" "imap ok"
check_contains "IMAP STARTTLS: INBOX count" "$out" "$(printf 'folder INBOX\t%s\t' "$MA_SEED_INBOX")"

out=$("$probe" --pop3 "$H:$MA_POP3S_PORT/tls" "${P[@]}" 2>&1)
check_contains "POP3S: login and scan" "$out" "pop3 ok"
check_contains "POP3S: STAT equals seeded INBOX" "$out" "pop3 stat $MA_SEED_INBOX"
uidls=$(echo "$out" | grep -c '^pop3 uidl ')
check_eq "POP3S: one UIDL per message" "$MA_SEED_INBOX" "$uidls"

out=$("$probe" --pop3 "$H:$MA_POP3_PORT/starttls" "${P[@]}" 2>&1)
check_contains "POP3 STLS: login and scan" "$out" "pop3 stat $MA_SEED_INBOX"

# --- read-only proof ---------------------------------------------------------
trace="$MA_TMP/trace.txt"
out=$("$probe" --imap "$H:$MA_IMAPS_PORT/tls" --pop3 "$H:$MA_POP3S_PORT/tls" --headers --trace "$trace" "${P[@]}" 2>&1)
check_contains "full session ok" "$out" "pop3 ok"
# POP3 QUIT renames new/ to cur/ even without RETR; compare what the
# messages are, their contents and their flags after the first login.
snap_after=$(maildir_snapshot)
out2=$("$probe" --imap "$H:$MA_IMAPS_PORT/tls" --headers --pop3 "$H:$MA_POP3S_PORT/tls" "${P[@]}" 2>&1)
snap_after2=$(maildir_snapshot)
check_eq "Maildir unchanged by a full IMAP+POP3 session" "$snap_after" "$snap_after2"
unseen1=$(echo "$out" | grep '^folder' | cut -f1,3)
unseen2=$(echo "$out2" | grep '^folder' | cut -f1,3)
check_eq "IMAP UNSEEN unchanged by the audit" "$unseen1" "$unseen2"
contents_before=$(echo "$snap_before" | awk '{print $1}' | sort)
contents_after=$(echo "$snap_after2" | awk '{print $1}' | sort)
check_eq "message contents byte-for-byte unchanged" "$contents_before" "$contents_after"
flags_after=$(echo "$snap_after2" | grep -o ':2,[A-Za-z]*$' | sort | uniq -c)
flags_before=$(echo "$snap_before" | grep -o ':2,[A-Za-z]*$' | sort | uniq -c)
check_eq "no message gained or lost a flag" "$flags_before" "$flags_after"

# --- secrets in the trace ----------------------------------------------------
b64=$(printf '\0%s\0%s' "$MA_USER" "$MA_PASS" | base64 -w0)
check "trace file written" test -s "$trace"
check_not_contains "trace holds no password" "$(cat "$trace")" "$MA_PASS"
check_not_contains "trace holds no SASL PLAIN base64" "$(cat "$trace")" "$b64"
check_contains "trace notes the redaction" "$(cat "$trace")" "redacted"
check_eq "trace file is private (0600)" "600" "$(stat -c %a "$trace")"

# --- wrong password ----------------------------------------------------------
bad=$(pwfile "wrong password")
out=$("$probe" --imap "$H:$MA_IMAPS_PORT/tls" --user "$MA_USER" --password-file "$bad" --ca-file "$MA_CA" 2>&1)
check_contains "IMAP wrong password is a login failure" "$out" "imap error login:"
out=$("$probe" --pop3 "$H:$MA_POP3S_PORT/tls" --user "$MA_USER" --password-file "$bad" --ca-file "$MA_CA" 2>&1)
check_contains "POP3 wrong password is a login failure" "$out" "pop3 error login:"

# --- password over plain text ------------------------------------------------
out=$("$probe" --imap "$H:$MA_IMAP_PORT/plain" "${P[@]}" 2>&1)
check_contains "plain IMAP without --insecure: password not sent" "$out" "imap error unencrypted"
out=$("$probe" --imap "$H:$MA_IMAP_PORT/plain" --insecure --source 127.0.0.2 "${P[@]}" 2>&1)
check_contains "server refuses plaintext login from a non-local address" "$out" "imap error plaintext-refused"
out=$("$probe" --pop3 "$H:$MA_POP3_PORT/plain" --insecure --source 127.0.0.2 --trace "$MA_TMP/plain-pop3.trace" \
	"${P[@]}" 2>&1)
check_contains "POP3 server refuses plaintext login" "$out" "pop3 error plaintext-refused"
# Over TLS USER and PASS go in one write (pop3.c, login_pipelined); in plain
# text USER goes alone, and a server that refuses it never gets the PASS.
check_eq "POP3 in plain text: USER refused, PASS never sent" \
	"pop3 C: [$((${#MA_USER} + 7)) bytes of credentials redacted]" "$(grep '^pop3 C: \[' "$MA_TMP/plain-pop3.trace")"

# --- unknown CA (no --ca-file: the system store does not know our CA) --------
out=$("$probe" --imap "$H:$MA_IMAPS_PORT/tls" --user "$MA_USER" --password-file "$MA_PASSFILE" 2>&1)
check_contains "unknown CA is named" "$out" "imap error cert-untrusted"

# --- closed port -------------------------------------------------------------
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
out=$("$probe" --imap "$H:$closed/tls" "${P[@]}" 2>&1)
check_contains "closed port is named" "$out" "imap error refused"

# --- POP3 mailbox locked by another session ----------------------------------
dovecot_stop
dovecot_start --lock-session --no-starttls-imap-port || tap_bail "dovecot (lock) did not start"
setP
dovecot_seed_standard >/dev/null
python3 - "$MA_POP3S_PORT" "$MA_CA" "$MA_USER" "$MA_PASSFILE" >"$MA_TMP/holder.out" 2>&1 <<'EOF' &
import poplib, ssl, sys, time
port, ca, user, pwf = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
p = poplib.POP3_SSL("127.0.0.1", int(port), context=ctx)
p.user(user); p.pass_(open(pwf).read().rstrip("\n"))
print("holding", flush=True)
time.sleep(120)
EOF
holder=$!
ma_wait 60 ma_file_has "$MA_TMP/holder.out" holding || diag "the POP3 holder did not log in: $(cat "$MA_TMP/holder.out")"
out=$("$probe" --pop3 "$H:$MA_POP3S_PORT/tls" "${P[@]}" --timeout 20 2>&1)
check_contains "POP3 mailbox locked by another session" "$out" "pop3 error in-use"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# --- STARTTLS not offered: refused, no credentials sent ---------------------
log0=$(wc -l <"$MA_DOVECOT_LOG")
out=$("$probe" --imap "$H:$MA_IMAP_NOTLS_PORT/starttls" "${P[@]}" 2>&1)
check_contains "IMAP without STARTTLS is refused" "$out" "imap error starttls-missing"
out=$("$probe" --pop3 "$H:$MA_POP3_NOTLS_PORT/starttls" "${P[@]}" 2>&1)
check_contains "POP3 without STLS is refused" "$out" "pop3 error starttls-missing"
# Dovecot logs each connection's end; its log lines carry no port, so the
# two lines after log0 are those of the two refused sessions.
new_log() { tail -n "+$((log0 + 1))" "$MA_DOVECOT_LOG"; }
both_logged() { new_log | grep -q 'imap-login: .*Disconnected' && new_log | grep -q 'pop3-login: .*Disconnected'; }
ma_wait 30 both_logged
ok $? "Dovecot logged the end of both refused sessions"
check_eq "no login attempt reached the server without TLS" "" \
	"$(new_log | grep -E 'Login:|user=<[^>]|auth failed')"
dovecot_stop

# --- bad certificates --------------------------------------------------------
for c in expired:cert-expired wrongname:cert-name-mismatch selfsigned:cert-self-signed untrusted:cert-untrusted; do
	cert=${c%%:*} want=${c#*:}
	dovecot_start --cert "$cert" --no-submission || tap_bail "dovecot ($cert) did not start"
	setP
	out=$("$probe" --imap "$H:$MA_IMAPS_PORT/tls" "${P[@]}" 2>&1)
	check_contains "IMAPS with a $cert certificate: $want" "$out" "imap error $want"
	out=$("$probe" --pop3 "$H:$MA_POP3_PORT/starttls" "${P[@]}" 2>&1)
	check_contains "POP3 STLS with a $cert certificate: $want" "$out" "pop3 error $want"
	if [ "$cert" = wrongname ]; then
		check_contains "name mismatch says which names the certificate covers" "$out" "other.example"
	fi
	dovecot_stop
done

# --- hostile servers ---------------------------------------------------------
. "$here/../lib/hostile.sh"
hostile() { # scenario -> sets hport, hpid
	hostile_start "$1" || tap_bail "hostile server $1 did not start"
}
MA_HTMP=$(mktemp -d)
trap 'hostile_stop_all; rm -rf "$MA_HTMP"; dovecot_stop_all' EXIT
printf 'secret-pw\n' >"$MA_HTMP/pw"
chmod 600 "$MA_HTMP/pw"
HP=(--user u@example.test --password-file "$MA_HTMP/pw" --insecure --timeout 2)
run_hostile() { # name proto endpoint-suffix expected-status
	local name=$1 proto=$2 sec=$3 want=$4 t0 t1
	hostile "$name"
	t0=$(date +%s%N)
	out=$(timeout 20 "$probe" --"$proto" "$H:$hport/$sec" "${HP[@]}" 2>&1)
	rc=$?
	t1=$(date +%s%N)
	hostile_stop "$hpid"
	check_contains "hostile $name: $want" "$out" "$proto error $want"
	ok $(( rc < 124 ? 0 : 1 )) "hostile $name: no crash or hang (exit $rc)"
	ok $(( (t1 - t0) / 1000000 < 8000 ? 0 : 1 )) "hostile $name: ended within the timeout ($(( (t1 - t0) / 1000000 )) ms)"
}
run_hostile silent imap plain read-timeout
run_hostile garbage imap plain greeting
run_hostile imap-bye imap plain greeting
run_hostile imap-eof-after-login imap plain closed
run_hostile imap-literal-eof imap plain closed
run_hostile imap-huge-literal imap plain too-large
run_hostile imap-starttls-inject imap starttls starttls-injection
run_hostile imap-no-starttls imap starttls starttls-missing
run_hostile pop3-eof-after-pass pop3 plain closed
run_hostile pop3-list-zero pop3 plain protocol
run_hostile pop3-list-gap pop3 plain protocol
run_hostile pop3-list-huge pop3 plain protocol
run_hostile pop3-list-longline pop3 plain too-large
run_hostile pop3-starttls-inject pop3 starttls starttls-injection

tap_done
