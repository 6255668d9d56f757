#!/bin/bash
# The scenarios of t_audit_clients.sh and t_ledger.sh against Cyrus IMAP 3.6
# and Courier-IMAP 5.0 / courier-pop 1.0 (Debian 12), each in its own bookworm
# root (tests/lib/interop.sh; `make deps` builds the roots once per machine):
#   - the first audit is OK
#   - fetchmail downloads and DELEs 5 messages over POP3: CRITICAL, naming those 5
#   - an IMAP client COPYs 3 messages to INBOX.Archive and EXPUNGEs them: moved
#   - Trash emptied by an IMAP client: trash-emptied, a warning, not a loss
#   - --probe on every port (IMAPS, IMAP+STARTTLS, POP3S, POP3+STLS)
#   - Courier purging old mail from Trash itself (IMAP_EMPTYTRASH): named as the
#     server's policy (trash-purge-policy), not as a device that emptied Trash
#   - read-only: after every mailaudit run the server's message files are the
#     same, byte for byte, and every message has the same flags
# Server facts the suite relies on (docs/compatibility.md): both name folders
# INBOX.X; Cyrus runs with popminpoll 0 (Debian's 1 announces LOGIN-DELAY 60,
# checked on its own at the end); Courier announces LOGIN-DELAY 10 whatever its
# configuration, so the audits pass --pop3-despite-login-delay there (checked
# first without). Courier watches the Maildir with gamin: the root has it and a
# passwd entry for the mail uid (without, every IMAP command took 1.2 s and each
# login said [ALERT] Filesystem notification initialization error).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/interop.sh"
. "$here/../lib/clients.sh"
. "$here/../lib/report.sh"
need python3 fetchmail chroot sha256sum || tap_bail "missing dependency"
[ -x "${MAILAUDIT:-}" ] || tap_bail "mailaudit not built (MAILAUDIT=${MAILAUDIT:-})"

# IMAP as the user's own program would use it.
#   subjects FOLDER          "Message-ID<TAB>subject" of every message (EXAMINE)
#   dates FOLDER             "Message-ID<TAB>INTERNALDATE" (seconds) of every message
#   flags                    "folder uid flags" of every message of every folder
#                            (EXAMINE, BODY not fetched; \Recent left out)
#   copy-expunge N FROM TO   UID COPY the first N messages, flag them \Deleted,
#                            EXPUNGE; prints their Message-IDs
#   expunge-all FOLDER       flag every message \Deleted, EXPUNGE; prints Message-IDs
IMAPX=$(mktemp /tmp/ma-interop-imapx.XXXXXX.py)
trap 'rm -f "$IMAPX"' EXIT
cat >"$IMAPX" <<'EOF'
import email.header, email.parser, imaplib, os, re, ssl, sys, time
ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx, timeout=30)
def ok(r, what):
    if r[0] != "OK":
        sys.stderr.write("%s: %s %r\n" % (what, r[0], r[1]))
        sys.exit(1)
    return r[1]
ok(c.login(os.environ["MA_USER"], os.environ["MA_PASS"]), "LOGIN")
hp = email.parser.BytesHeaderParser()
def uids():
    return ok(c.uid("SEARCH", "ALL"), "SEARCH")[0].split()
def headers(us):
    out = []
    for u in us:
        d = ok(c.uid("FETCH", u, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID SUBJECT)])"), "FETCH")
        h = hp.parsebytes(d[0][1])
        s = str(email.header.make_header(email.header.decode_header(h["Subject"] or "")))
        out.append((" ".join(str(h["Message-ID"] or "").split()), " ".join(s.split())[:25]))
    return out
cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "subjects":
    ok(c.select(args[0], readonly=True), "EXAMINE")
    for m, s in headers(uids()):
        print("%s\t%s" % (m, s))
elif cmd == "dates":
    ok(c.select(args[0], readonly=True), "EXAMINE")
    us = uids()
    for (m, _), u in zip(headers(us), us):
        d = ok(c.uid("FETCH", u, "(INTERNALDATE)"), "FETCH")
        print("%s\t%d" % (m, int(time.mktime(imaplib.Internaldate2tuple(d[0])))))
elif cmd == "flags":
    for line in ok(c.list(), "LIST"):
        name = line.decode().rsplit(" ", 1)[1].strip('"')
        ok(c.select('"%s"' % name, readonly=True), "EXAMINE")
        us = uids()
        if not us:
            continue
        for item in ok(c.uid("FETCH", b"1:*", "(UID FLAGS)"), "FETCH"):
            item = item.decode() if isinstance(item, bytes) else item[0].decode()
            uid = re.search(r"UID (\d+)", item).group(1)
            fl = sorted(f for f in re.search(r"FLAGS \(([^)]*)\)", item).group(1).split() if f != "\\Recent")
            print(name, uid, " ".join(fl))
elif cmd in ("copy-expunge", "expunge-all"):
    if cmd == "copy-expunge":
        n, src, dst = int(args[0]), args[1], args[2]
    else:
        src = args[0]
    ok(c.select(src), "SELECT")
    us = uids()
    if cmd == "copy-expunge":
        if len(us) < n:
            sys.stderr.write("%s holds %d messages, fewer than %d\n" % (src, len(us), n))
            sys.exit(1)
        us = us[:n]
    hs = headers(us)
    if us:
        if cmd == "copy-expunge":
            ok(c.uid("COPY", b",".join(us), dst), "UID COPY")
        ok(c.uid("STORE", b",".join(us), "+FLAGS.SILENT", "(\\Deleted)"), "UID STORE")
        ok(c.expunge(), "EXPUNGE")
    for m, s in hs:
        print(m)
else:
    sys.exit(2)
c.logout()
EOF
imapx() { MA_CA=$MA_CA MA_IMAPS_PORT=$MA_IMAPS_PORT MA_USER=$MA_USER MA_PASS=$MA_PASS python3 "$IMAPX" "$@"; }

verdict() { printf '%s\n' "$REPORT" | sed -n 's/^Verdict: \([A-Z]*\).*/\1/p'; }
# each_named LABEL BLOCK FILE: every line of FILE (at least one) appears in BLOCK.
each_named() {
	local s missing=""
	grep -q . "$3" 2>/dev/null || { fail "$1" "nothing to look for in $3"; return; }
	while IFS= read -r s; do
		[ -n "$s" ] || continue
		case "$2" in *"$s"*) ;; *) missing="$missing [$s]" ;; esac
	done <"$3"
	check_eq "$1" "" "$missing"
}
# subjects_of IDS_FILE TABLE_FILE: the subjects of those Message-IDs.
subjects_of() {
	local id
	while IFS= read -r id; do
		[ -n "$id" ] && grep -F "$id	" "$2" | head -1 | cut -f2
	done <"$1"
}

# audit NAME [ARGS...]: mailaudit --report - into REPORT, RC; the message
# files and every flag compared before and after (RO_CHANGED names the runs
# that changed something).
RO_CHANGED=""
SAN_REPORTS=""
audit() {
	local name=$1 before after fbefore fafter
	shift
	before=$(interop_snapshot)
	fbefore=$(imapx flags)
	"$MAILAUDIT" --report - "${A[@]}" --state-dir "$STATE" --trace "$W/$name.trace" "$@" >"$W/$name.out" 2>"$W/$name.err" </dev/null
	RC=$?
	REPORT=$(cat "$W/$name.out")
	grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/$name.err" && SAN_REPORTS="$SAN_REPORTS $MA_IOP_SERVER:$name"
	after=$(interop_snapshot)
	fafter=$(imapx flags)
	if [ -z "$before" ] || [ -z "$fbefore" ]; then
		RO_CHANGED="$RO_CHANGED $name(no-snapshot)"
	elif [ "$before" != "$after" ] || [ "$fbefore" != "$fafter" ]; then
		RO_CHANGED="$RO_CHANGED $name"
		diff <(printf '%s\n' "$before" "$fbefore") <(printf '%s\n' "$after" "$fafter") >"$W/$name.rodiff"
	fi
}
readonly_check() {
	local n d=""
	for n in $RO_CHANGED; do d="$d$(head -5 "$W/$n.rodiff" 2>/dev/null)"$'\n'; done
	if [ -z "$RO_CHANGED" ]; then
		pass "$1: mailaudit changed no message file and no flag (snapshots before and after each run)"
	else
		fail "$1: mailaudit changed no message file and no flag" "changed during:$RO_CHANGED" "$d"
	fi
	RO_CHANGED=""
}

scenarios() { # SERVER
	local S=$1 t0 extra=()
	t0=$(date +%s)
	interop_start "$S" || { fail "$S: the server starts (interop_start $S)"; return; }
	pass "$S: the server starts: $(tr '\t\n' '= ' <"$MA_IOP_ROOT/.mailaudit-versions")"
	interop_seed || { fail "$S: seeding"; interop_stop; return; }
	W=$MA_TMP/w
	STATE=$MA_TMP/state
	mkdir -p "$W"
	# Courier announces LOGIN-DELAY 10 on every POP3 port (hard-coded in
	# courierpop3login), and mailaudit would leave POP3 alone: checked once
	# first, then the user's choice to look anyway.
	if [ "$S" = courier ]; then
		A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
			--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10)
		audit delay --no-history
		check_contains "$S: LOGIN-DELAY 10 is honoured: POP3 left alone" "$(finding pop3-login-delay)" \
			"announces LOGIN-DELAY 10"
		extra=(--pop3-despite-login-delay)
	fi
	A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
		--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10 "${extra[@]}")

	# --- first audit ---------------------------------------------------------------
	audit first
	check_eq "$S: first audit: exit status 0" 0 "$RC"
	check_eq "$S: first audit: verdict OK" OK "$(verdict)"
	check_contains "$S: first audit: first-audit finding" "$REPORT" "INFO  first-audit"
	check_contains "$S: first audit: every message counted" "$REPORT" \
		"$MA_SEED_TOTAL messages in 4 folders"
	check_contains "$S: first audit: folders named INBOX.X" "$REPORT" "INBOX.Archive"
	check_contains "$S: first audit: POP3 STAT seen" "$(printf '%s\n' "$REPORT" | grep 'POP3 (STAT)')" \
		"$MA_SEED_INBOX"

	# --- POP3 DELE of 5 by fetchmail ------------------------------------------------------
	imapx subjects INBOX >"$W/inbox.table"
	MA_DOVECOT_CONF=/dev/null client_fetchmail_delete 5 >"$W/fetchmail.ids"
	ok $? "$S: fetchmail (no keep, fetchlimit 5) ran"
	check_eq "$S: fetchmail downloaded 5 messages" 5 "$(grep -c . "$W/fetchmail.ids")"
	subjects_of "$W/fetchmail.ids" "$W/inbox.table" >"$W/fetchmail.subjects"
	audit fetchmail
	check_eq "$S: after fetchmail: exit status 2" 2 "$RC"
	check_eq "$S: after fetchmail: verdict CRITICAL" CRITICAL "$(verdict)"
	block=$(finding mail-destroyed)
	check_contains "$S: after fetchmail: 5 messages deleted" "$block" "5 messages were deleted from the server"
	check_eq "$S: after fetchmail: exactly 5 listed" 5 "$(evidence_count mail-destroyed)"
	each_named "$S: after fetchmail: each deleted message named by its subject" "$block" "$W/fetchmail.subjects"
	check_not_contains "$S: after fetchmail: nothing counted as moved" "$REPORT" "mail-moved"
	out=$("$MAILAUDIT" --ack --state-dir "$STATE" "${A[@]}" 2>&1)
	check_contains "$S: --ack acknowledges the 5" "$out" "Acknowledged 5 lost message"

	# --- COPY + EXPUNGE of 3 to another folder -------------------------------------------
	imapx copy-expunge 3 INBOX INBOX.Archive >"$W/moved.ids"
	ok $? "$S: an IMAP client copied 3 messages to INBOX.Archive and expunged them from INBOX"
	subjects_of "$W/moved.ids" "$W/inbox.table" >"$W/moved.subjects"
	audit moved
	block=$(finding mail-moved)
	check_contains "$S: after the move: mail-moved" "$block" "mail-moved"
	check_contains "$S: after the move: to INBOX.Archive" "$block" "INBOX.Archive"
	check_not_contains "$S: after the move: nothing destroyed" "$REPORT" "mail-destroyed"
	[ "$RC" -ne 2 ]
	ok $? "$S: after the move: not CRITICAL (exit $RC)"

	# --- Trash emptied ---------------------------------------------------------------------
	imapx subjects INBOX.Trash >"$W/trash.table"
	imapx expunge-all INBOX.Trash >"$W/trash.ids"
	ok $? "$S: an IMAP client emptied INBOX.Trash"
	subjects_of "$W/trash.ids" "$W/trash.table" >"$W/trash.subjects"
	audit emptied
	check_eq "$S: after emptying Trash: exit status 1 (WARNING)" 1 "$RC"
	check_eq "$S: after emptying Trash: not mail-destroyed" "" "$(finding mail-destroyed)"
	block=$(finding trash-emptied)
	check_contains "$S: after emptying Trash: trash-emptied" "$block" \
		"Trash emptied: $MA_SEED_TRASH messages deleted for good"
	each_named "$S: after emptying Trash: each message named" "$block" "$W/trash.subjects"

	# --- the doctor on every port ---------------------------------------------------------------
	local spec
	for spec in "imap $MA_IMAPS_PORT/tls" "imap $MA_IMAP_PORT/starttls" "pop3 $MA_POP3S_PORT/tls" \
		"pop3 $MA_POP3_PORT/starttls"; do
		set -- $spec
		out=$("$MAILAUDIT" --probe --ca-file "$MA_CA" --timeout 5 --"$1" "localhost:$2" --user "$MA_USER" \
			--password-file "$MA_PASSFILE" 2>&1 </dev/null)
		rc=$?
		printf '%s\n' "$out" >"$W/probe.$1.${2%/*}"
		check_contains "$S: --probe $1 $2: login ok" "$(printf '%s\n' "$out" | tr -s ' \n' '  ')" \
			"port ${2%/*} $(case $2 in */tls) echo SSL/TLS ;; *) echo STARTTLS ;; esac), login ok"
	done

	readonly_check "$S"
	local secs=$(($(date +%s) - t0))
	diag "$S: $secs s"
	interop_stop
}

# Cyrus as Debian configures it (popminpoll: 1): CAPA announces LOGIN-DELAY 60
# and a second POP3 login within the minute is refused. mailaudit leaves POP3
# alone, so the user's own POP3 program still gets in right after the audit.
login_delay() {
	MA_IOP_POPMINPOLL=1 interop_start cyrus || { fail "cyrus (popminpoll 1): the server starts"; return; }
	interop_seed || { fail "cyrus (popminpoll 1): seeding"; interop_stop; return; }
	W=$MA_TMP/w
	STATE=$MA_TMP/state
	mkdir -p "$W"
	A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
		--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10)
	audit delay
	check_contains "cyrus (popminpoll 1): LOGIN-DELAY 60 honoured, POP3 left alone" "$(finding pop3-login-delay)" \
		"announces LOGIN-DELAY 60"
	check_eq "cyrus (popminpoll 1): the first audit is still OK" OK "$(verdict)"
	MA_DOVECOT_CONF=/dev/null client_fetchmail_keep >/dev/null
	ok $? "cyrus (popminpoll 1): fetchmail logs in over POP3 right after the audit"
	readonly_check "cyrus (popminpoll 1)"
	interop_stop
}

# Courier's own Trash purge (IMAP_EMPTYTRASH=Trash:7, the package's default):
# at every login and logout imapd unlinks the Trash files whose ctime (when
# the message was put in Trash) is more than 7 days old (courier-libs
# imap/imapd.c emptytrash(), maildir/maildirpurgetmp.c maildir_purge()). Two
# of the seeded Trash messages are dated 20 days back (mtime, which Courier
# gives as INTERNALDATE) and put in Trash at second A (ctime), the third is
# dated 2 days back and put there at a later second B. One login to an imapd
# whose clock reads B + 7 days (libfaketime, imapd alone: its file times stay
# real, NO_FAKE_STAT) purges the two and keeps the third; that session then
# ends with Courier's own "Clock skew detected" (a file it creates is 7 days
# older than its clock), after the purge. mailaudit then names the server's
# policy, not a device that emptied Trash.
# Against the kernel's clock, which stamps ctimes: a suite run under
# libfaketime (a check that no result depends on the date) has another.
# young_later FILE MTIME CTIME: FILE touched to MTIME has a ctime past CTIME.
# A file's ctime comes from the kernel's coarse clock, which can still read
# the old second a few milliseconds after date(1) reads the next one (seen
# in CI: both ctimes the same second): so the touch is what is polled.
young_later() { touch -d "@$2" "$1" && [ "$(stat -c %Z "$1")" -gt "$3" ]; }
port_closed() { ! ma_port_open "$1"; }
trash_purge() {
	local S="courier (Trash purge)" T f files now ta tb fake libft
	libft=$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -1)
	[ -n "$libft" ] || { fail "$S: libfaketime.so.1 is installed (make deps)"; return; }
	interop_start courier || { fail "$S: the server starts"; return; }
	interop_seed || { fail "$S: seeding"; interop_stop; return; }
	W=$MA_TMP/w
	STATE=$MA_TMP/state
	mkdir -p "$W"
	A=(--imap "127.0.0.1:$MA_IMAPS_PORT/tls" --pop3 "127.0.0.1:$MA_POP3S_PORT/tls"
		--user "$MA_USER" --password-file "$MA_PASSFILE" --ca-file "$MA_CA" --timeout 10
		--pop3-despite-login-delay)
	T=$MA_IOP_MAIL/.Trash/cur
	mapfile -t files < <(ls "$T")
	check_eq "$S: Trash seeded with 3 message files" 3 "${#files[@]}"
	now=$(date +%s)
	touch -d "@$((now - 20 * 86400))" "$T/${files[0]}" "$T/${files[1]}"
	ta=$(stat -c %Z "$T/${files[1]}")
	# The young one put in Trash (ctime) a second later than the old ones:
	# the clock is polled, not slept on.
	ma_wait 5 young_later "$T/${files[2]}" "$((now - 2 * 86400))" "$ta" ||
		{ fail "$S: the clock moves on"; interop_stop; return; }
	tb=$(stat -c %Z "$T/${files[2]}")
	[ "$tb" -gt "$(stat -c %Z "$T/${files[0]}")" ]
	ok $? "$S: the young message went to Trash (ctime $tb) after the old ones ($ta)"
	imapx subjects INBOX.Trash >"$W/trash.before"
	check_eq "$S: before: Trash holds 3 messages (IMAP)" 3 "$(grep -c . "$W/trash.before")"

	audit purge-first
	check_eq "$S: first audit: verdict OK" OK "$(verdict)"
	# An old message deleted today: an IMAP client moves it from INBOX to
	# Trash (Courier keeps its INTERNALDATE, the seed's, months back). It
	# stays through the purge (put in Trash after second B), and mailaudit
	# must see it as new in Trash by its UID, not as old by its date.
	imapx copy-expunge 1 INBOX INBOX.Trash >"$W/trashed.ids"
	ok $? "$S: an IMAP client moved an old message from INBOX to Trash"
	imapx dates INBOX.Trash >"$W/trash.dates"
	local trashed_date
	trashed_date=$(grep -F "$(cat "$W/trashed.ids")	" "$W/trash.dates" | cut -f2)
	[ -n "$trashed_date" ] && [ "$trashed_date" -lt $((now - 20 * 86400)) ]
	ok $? "$S: it kept its INTERNALDATE ($trashed_date), older than the messages to be purged"
	audit purge-moved
	check_contains "$S: the move seen (mail-moved)" "$(finding mail-moved)" "INBOX.Trash"
	imapx subjects INBOX.Trash >"$W/trash.before"
	check_eq "$S: before the purge: Trash holds 4 messages (IMAP)" 4 "$(grep -c . "$W/trash.before")"

	# imapd with its clock at B + 7 days, on the plain IMAP port only.
	fake=$(TZ=UTC date -d "@$((tb + 7 * 86400))" '+%Y-%m-%d %H:%M:%S')
	mkdir -p "$MA_IOP_ROOT/opt/faketime"
	cp "$libft" "$MA_IOP_ROOT/opt/faketime/libfaketime.so.1"
	chmod 1777 "$MA_IOP_ROOT/dev/shm"
	cat >"$MA_IOP_ROOT/opt/faketime/imapd" <<EOT
#!/bin/sh
LD_PRELOAD=/opt/faketime/libfaketime.so.1 FAKETIME="$fake" NO_FAKE_STAT=1 TZ=UTC exec /usr/bin/imapd "\$@"
EOT
	chmod 0755 "$MA_IOP_ROOT/opt/faketime/imapd"
	sed 's#/usr/bin/imapd \${MAILDIRPATH}#/opt/faketime/imapd ${MAILDIRPATH}#' \
		"$MA_IOP_ROOT/usr/lib/courier/imapd" >"$MA_IOP_ROOT/opt/faketime/imapd.rc"
	ma_real_clock chroot "$MA_IOP_ROOT" /usr/sbin/imapd stop >/dev/null 2>&1 </dev/null
	ma_wait 10 port_closed "$MA_IMAP_PORT"
	ma_real_clock chroot "$MA_IOP_ROOT" /bin/sh /opt/faketime/imapd.rc start >"$W/faked.out" 2>&1 </dev/null
	ma_wait 10 ma_port_open "$MA_IMAP_PORT"
	ok $? "$S: imapd with its clock 7 days on listens on the plain port"
	out=$(MA_PORT=$MA_IMAP_PORT MA_USER=$MA_USER MA_PASS=$MA_PASS python3 - <<'PY' 2>&1
import imaplib, os
c = imaplib.IMAP4("127.0.0.1", int(os.environ["MA_PORT"]), timeout=30)
try:
    c.login(os.environ["MA_USER"], os.environ["MA_PASS"])
    c.logout()
    print("login ok")
except Exception as e:
    print("session ended:", e)
PY
)
	check_contains "$S: that login ends in Courier's clock-skew check (after the purge)" "$out" "Clock skew"
	ma_real_clock chroot "$MA_IOP_ROOT" /usr/sbin/imapd stop >/dev/null 2>&1 </dev/null
	ma_wait 10 port_closed "$MA_IMAP_PORT"
	ma_real_clock chroot "$MA_IOP_ROOT" /usr/sbin/imapd start >/dev/null 2>&1 </dev/null
	imapx subjects INBOX.Trash >"$W/trash.after"
	check_eq "$S: after: Trash holds 2 messages (IMAP)" 2 "$(grep -c . "$W/trash.after")"
	check_eq "$S: after: the young one and the one moved today stayed" \
		"$( (sed -n 's/^[Mm]essage-[Ii][Dd]: *//p' "$T/${files[2]}" | head -1 | tr -d '\r'
			cat "$W/trashed.ids") | sort)" \
		"$(cut -f1 "$W/trash.after" | sort)"
	check_eq "$S: after: the old ones' files unlinked, the young one's kept" "gone gone kept" \
		"$(for f in "${files[@]}"; do [ -e "$T/$f" ] && echo kept || echo gone; done | paste -sd' ')"
	grep -vxF -f "$W/trash.after" "$W/trash.before" | cut -f2 >"$W/purged.subjects"
	check_eq "$S: the purge removed the 2 old ones" 2 "$(grep -c . "$W/purged.subjects")"

	audit purged
	# Mail left the server: a WARNING, never an OK, with no device blamed.
	check_eq "$S: after the purge: exit status 1" 1 "$RC"
	check_eq "$S: after the purge: verdict WARNING" WARNING "$(verdict)"
	block=$(finding trash-purge-policy)
	check_contains "$S: after the purge: the server's policy named" "$block" \
		"WARNING trash-purge-policy The server purged INBOX.Trash: it removed 2 messages older than 20 days and kept the newer ones"
	check_contains "$S: after the purge: what stayed" "$block" \
		"Stayed: 2 messages that an earlier audit saw there"
	each_named "$S: after the purge: each purged message named" "$block" "$W/purged.subjects"
	check_eq "$S: after the purge: not trash-emptied" "" "$(finding trash-emptied)"
	check_eq "$S: after the purge: no device blamed" "" "$(finding mail-destroyed)$(finding folder-mail-destroyed)"

	audit purge-again
	check_eq "$S: the next audit: verdict OK" OK "$(verdict)"
	check_eq "$S: the next audit: the purge not named again" "" "$(finding trash-purge-policy)"
	check_contains "$S: the next audit: the purged mail on record until --ack" "$REPORT" \
		"2 lost messages, found by 1 audit, not acknowledged yet"
	out=$("$MAILAUDIT" --lost --state-dir "$STATE" "${A[@]}" 2>&1)
	each_named "$S: --lost lists what the server purged" "$out" "$W/purged.subjects"
	out=$("$MAILAUDIT" --ack --state-dir "$STATE" "${A[@]}" 2>&1)
	check_contains "$S: --ack acknowledges the 2 purged" "$out" "Acknowledged 2 lost message"
	audit purge-acked
	check_contains "$S: after --ack: nothing waits" "$REPORT" "None: no loss found"
	readonly_check "$S"
	interop_stop
}

# MA_INTEROP_SERVERS (default both) narrows the run while debugging.
for srv in ${MA_INTEROP_SERVERS:-cyrus courier}; do
	scenarios "$srv"
done
case " ${MA_INTEROP_SERVERS:-cyrus} " in *" cyrus "*) login_delay ;; esac
case " ${MA_INTEROP_SERVERS:-courier} " in *" courier "*) trash_purge ;; esac
check_eq "no sanitizer report from any audit" "" "$SAN_REPORTS"
tap_done
