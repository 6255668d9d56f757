# Real mail clients and mail arrival against the private Dovecot of dovecot.sh.
# Source it after dovecot.sh, call the functions after dovecot_start:
#     . "$(dirname "$0")/../lib/dovecot.sh"
#     . "$(dirname "$0")/../lib/clients.sh"
#
# Every function returns 0 on success and non-zero with a diagnostic on stderr
# otherwise (a client's own log is shown with the password replaced by ********).
# USER PASS are optional and default to MA_USER / MA_PASS. The password never
# appears on a command line or on stdout/stderr: it goes into 0600 files of a
# private 0700 directory MA_TMP/clients/NAME.XXXXXX (one per call, kept until
# dovecot_stop removes MA_TMP) or into the environment of a python3 child.
# TLS is always verified against MA_CA (no system trust store where the client
# lets us say so), with the server name each client can match:
#   fetchmail  poll 127.0.0.1 + sslcertck sslcertfile MA_CA sslcommonname localhost
#              (fetchmail does not match IP addresses in subjectAltName)
#   getmail6   server = 127.0.0.1, ca_certs = MA_CA (getmail6 then requires a
#              verified chain and matches the IP SAN itself)
#   mpop       host 127.0.0.1, tls_trust_file MA_CA (GnuTLS matches the IP SAN)
#   mbsync     Host localhost, SystemCertificates no, CertificateFile MA_CA
#              (mbsync 1.4 matches DNS names only: with Host 127.0.0.1 it fails
#              "certificate owner does not match hostname 127.0.0.1")
#   python3    imaplib over IMAPS, ssl.create_default_context(cafile=MA_CA), 127.0.0.1
# Needs from dovecot_start: MA_TMP MA_CA MA_USER MA_PASS MA_POP3S_PORT MA_IMAPS_PORT
# MA_DOVECOT_CONF. Needs the commands each function names (see make deps).
#
# POP3 clients. Each call is a first run of that client (fresh state directory:
# no .fetchids / oldmail / uidls file from an earlier call). The messages they
# download are delivered to a throwaway maildir (fetchmail and getmail6 through
# a tiny MDA script that numbers the files, mpop with its own maildir delivery),
# and the function prints the Message-ID of every downloaded message, one per
# line, in download order (= POP3 message number order = UID order); a message
# without Message-ID prints nothing.
#
# client_fetchmail_delete [LIMIT [USER PASS]]
#   fetchmail over POP3S without `keep`: deletes every message it downloads.
#   LIMIT (digits; empty or 0 = no limit) becomes `fetchlimit LIMIT`. fetchmail's
#   exits 0, 1 (no mail) and 13 (fetchlimit reached) count as success.
# client_fetchmail_keep [USER PASS]
#   the same with `keep`: nothing is deleted, but fetchmail downloads with RETR,
#   so Dovecot marks every downloaded message \Seen at QUIT.
# client_getmail_delete [USER PASS]
#   getmail6 over POP3S (SimplePOP3SSLRetriever) with `delete = true` and
#   `read_all = true`. As root getmail6 refuses its Maildir destination ("refuse
#   to deliver mail as root"), hence MDA_external + allow_root_commands = true.
# client_mpop_delete [USER PASS]
#   mpop over POP3S (tls on, tls_starttls off) with mpop's own defaults about
#   deletion: no `keep` line. mpop 1.4.18's default is `keep off`, which deletes
#   every message successfully delivered (checked here: 30 messages downloaded,
#   POP3 box empty afterwards; man mpop: "The default behaviour is to delete
#   mails that have been successfully retrieved"). Delivery: `delivery maildir`.
#
# IMAP client.
# client_mbsync_expunge FOLDER N [USER PASS]
#   mbsync (isync 1.4) with one channel Far :remote:FOLDER <-> Near :local:box
#   (a private maildir), `Sync All` (the default), `Create Near`, `Expunge Both`;
#   FOLDER is given in UTF-8 and written into the config in modified UTF-7.
#   Syncs once; deletes the N oldest local messages (lowest mbsync UID = lowest
#   server UID); syncs again, which propagates the deletions: mbsync sends
#   `UID STORE uids +FLAGS.SILENT (\Deleted)`, CHECK, then CLOSE. With Expunge
#   Both (or Far) mbsync 1.4.4 ends EVERY session on the SELECTed folder with
#   CLOSE, the first pull-only sync too (with None/Near it just LOGOUTs), and
#   never UID EXPUNGE although Dovecot offers UIDPLUS: so it expunges every
#   \Deleted message of FOLDER, also ones another client flagged and mbsync
#   never pulled (a message already \Deleted on the server is not pulled).
#   Prints the Message-IDs of the N messages it deleted, oldest first. Fails
#   if FOLDER holds fewer than N messages after the first sync (whose CLOSE has
#   by then expunged whatever was already \Deleted there, see above).
#   The local maildir's cur/ and new/ are backdated by 2 s before the second
#   sync: mbsync otherwise sleeps 1 s ("sleeping due to recent directory
#   modification") when a maildir changed within the current second.
#
# Mail arrival.
# deliver N [FOLDER [USER [PASS]]]
#   Delivers N new messages to USER's FOLDER (default INBOX) with Dovecot's LDA
#   (dovecot-lda -c MA_DOVECOT_CONF -d USER -f SENDER -m FOLDER), the program an
#   MTA hands incoming mail to: the message lands in new/ as \Recent, indexes
#   updated, an open IMAP session sees EXISTS. PASS is accepted and ignored (the
#   LDA needs none). FOLDER must exist (checked with doveadm mailbox status: the
#   LDA itself would silently fall back to INBOX). Message K (K counts from 1 over
#   every deliver call of this Dovecot instance, kept in MA_TMP/clients/deliver.count)
#   has Message-ID <deliver.K@example.test>, From "Sender K <sender.K@example.org>",
#   Subject "Delivered message K" and Date = MA_DELIVER_BASE + K minutes, in
#   +0000 (MA_DELIVER_BASE: anything `date -u -d` reads; default 2026-03-01 00:00:00
#   UTC). Prints the N Message-IDs, one per line. Not fixed: INTERNALDATE (= the
#   file's mtime) is the real time of delivery. faketime does not change that
#   (tried: under `faketime '2026-03-01 09:01:00' dovecot-lda ...` the file's
#   name and mtime still carried the real time).
#
# IMAP helpers (python3 imaplib over IMAPS as USER; FOLDER in UTF-8, sent in
# modified UTF-7 and quoted). "First N" = the N lowest UIDs.
# imap_status FOLDER [USER PASS]       prints "MESSAGES n UIDNEXT n UIDVALIDITY n UNSEEN n"
# imap_count FOLDER [USER PASS]        prints MESSAGES of STATUS
# imap_message_ids FOLDER [USER PASS]  prints every Message-ID of FOLDER in UID order
# imap_move N FROM TO [USER PASS]      UID MOVE of the first N of FROM to TO (like a
#                                      user dragging mail to Trash); prints their Message-IDs
# imap_flag_deleted N FOLDER [USER PASS]  sets \Deleted on the first N, no expunge;
#                                      prints their Message-IDs
# imap_expunge FOLDER [USER PASS]      EXPUNGE (removes what is flagged \Deleted); prints
#                                      the Message-IDs it removed
# imap_expunge_all FOLDER [USER PASS]  flags every message \Deleted and expunges (a user
#                                      emptying Trash); prints the Message-IDs it removed
# imap_create_folder NAME [USER PASS]  CREATE
# imap_delete_folder NAME [USER PASS]  DELETE (Dovecot deletes a folder with its messages)
#
# maildir_count DIR                    number of messages in cur/ and new/ of a maildir
#                                      (e.g. "$MA_MAILDIR" for alice's INBOX)

_cl_err() { echo "clients.sh: $*" >&2; }

# The python3 for the helpers: Debian's own (the python3 package of make deps)
# when present: a python3 earlier on PATH may be a wrapper (pyenv's shim costs
# ~0.1 s a call, and the helpers run dozens of times a test).
if [ -x /usr/bin/python3 ]; then _CL_PY=/usr/bin/python3; else _CL_PY=python3; fi

_cl_env() { # fn: the variables every function needs
	local v
	for v in MA_TMP MA_CA MA_USER MA_PASS MA_POP3S_PORT MA_IMAPS_PORT MA_DOVECOT_CONF; do
		[ -n "${!v:-}" ] || { _cl_err "$1: $v is not set (call dovecot_start first)"; return 1; }
	done
}

_cl_need() { # fn cmd...
	local fn=$1 c
	shift
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { _cl_err "$fn: missing dependency: $c (run make deps)"; return 1; }
	done
}

# _cl_base: makes the private directory MA_TMP/clients (0700).
_cl_base() {
	(umask 077 && mkdir -p "$MA_TMP/clients") && chmod 0700 "$MA_TMP/clients"
}

# _cl_dir NAME: creates and prints a fresh private directory MA_TMP/clients/NAME.XXXXXX
_cl_dir() {
	_cl_base && mktemp -d "$MA_TMP/clients/$1.XXXXXX"
}

# _cl_log_fail FN LOGFILE PASS MESSAGE: MESSAGE and the log's last 30 lines on
# stderr, the password replaced.
_cl_log_fail() {
	local fn=$1 log=$2 pass=$3 line
	_cl_err "$fn: $4"
	[ -f "$log" ] || return 0
	tail -n 30 "$log" | while IFS= read -r line || [ -n "$line" ]; do
		[ -n "$pass" ] && line=${line//"$pass"/********}
		printf 'clients.sh:   %s\n' "$line" >&2
	done
}

# _cl_q STRING: STRING inside double quotes for fetchmail rc / mbsync config
# (backslash and double quote escaped).
_cl_q() {
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}

# _cl_mutf7 NAME: NAME (UTF-8) in IMAP modified UTF-7 (RFC 3501 5.1.3).
_cl_mutf7() {
	"$_CL_PY" - "$1" <<'EOF'
import base64, sys
out, buf = [], []
def flush():
    if buf:
        b = "".join(buf).encode("utf-16-be")
        out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
        buf.clear()
for ch in sys.argv[1]:
    if 0x20 <= ord(ch) <= 0x7E:
        flush()
        out.append("&-" if ch == "&" else ch)
    else:
        buf.append(ch)
flush()
print("".join(out))
EOF
}

# _cl_maildir DIR: makes DIR a maildir.
_cl_maildir() { mkdir -p "$1/cur" "$1/new" "$1/tmp"; }

# _cl_mda DIR: writes DIR/mda, an MDA that stores each message it reads on stdin
# as DIR/md/new/N (numbered in delivery order, counter in DIR/count).
_cl_mda() {
	_cl_maildir "$1/md" || return 1
	: >"$1/count" || return 1
	cat >"$1/mda" <<'EOF'
#!/bin/sh
# Throwaway MDA for tests/lib/clients.sh: one file per message, numbered in
# delivery order (shell builtins and one exec: it runs once per message).
d=${0%/*}
read -r n <"$d/count" || n=0
n=$((n + 1))
echo "$n" >"$d/count"
exec cat >"$d/md/new/$n"
EOF
	chmod 0700 "$1/mda"
}

# _cl_msgids FILE...: the Message-ID of each file, in the order given.
_cl_msgids() {
	[ $# -gt 0 ] || return 0
	"$_CL_PY" - "$@" <<'EOF'
import email.parser, sys
p = email.parser.BytesHeaderParser()
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        mid = p.parse(f).get("Message-ID")
    if mid:
        print(" ".join(str(mid).split()))
EOF
}

# _cl_maildir_files DIR: the message files of maildir DIR in delivery order: our
# MDA's numbered names, or mpop's <sec>.M<usec>P<pid>Q<counter>.<host>.
_cl_maildir_files() {
	"$_CL_PY" - "$1" <<'EOF'
import os, re, sys
d = sys.argv[1]
files = [os.path.join(d, s, n) for s in ("new", "cur") for n in os.listdir(os.path.join(d, s))]
def key(path):
    n = os.path.basename(path)
    m = re.match(r"(\d+)\.M(\d+)P(\d+)Q(\d+)\.", n)
    if m:
        return (int(m.group(1)), int(m.group(4)), n)
    m = re.match(r"(\d+)$", n)
    return (int(m.group(1)), 0, n) if m else (0, 0, n)
for p in sorted(files, key=key):
    print(p)
EOF
}

# _cl_downloaded DIR: Message-IDs of the maildir DIR in delivery order.
_cl_downloaded() {
	local files
	mapfile -t files < <(_cl_maildir_files "$1")
	_cl_msgids "${files[@]}"
}

maildir_count() { # DIR
	[ -d "$1/cur" ] && [ -d "$1/new" ] || { _cl_err "maildir_count: not a maildir: $1"; return 1; }
	find "$1/cur" "$1/new" -maxdepth 1 -type f | wc -l
}

# --- fetchmail -------------------------------------------------------------------

# _cl_fetchmail FN KEEP(0|1) LIMIT USER PASS
_cl_fetchmail() {
	local fn=$1 keep=$2 limit=$3 user=$4 pass=$5 d rc lines=""
	_cl_env "$fn" && _cl_need "$fn" fetchmail "$_CL_PY" || return 1
	d=$(_cl_dir fetchmail) && _cl_mda "$d" || { _cl_err "$fn: cannot make a private directory"; return 1; }
	[ "$keep" = 1 ] && lines="  keep"
	[ -n "$limit" ] && [ "$limit" != 0 ] && lines="$lines
  fetchlimit $limit"
	(umask 077 && cat >"$d/rc" <<RC
set no syslog
poll 127.0.0.1 service $MA_POP3S_PORT protocol pop3 auth password timeout 20
  user $(_cl_q "$user") password $(_cl_q "$pass")
  ssl sslcertck sslcertfile $(_cl_q "$MA_CA") sslcommonname localhost
  mda $(_cl_q "$d/mda")
$lines
RC
	) || { _cl_err "$fn: cannot write $d/rc"; return 1; }
	chmod 0600 "$d/rc"
	# --pidfile: as root fetchmail locks /var/run/fetchmail.pid whatever
	# FETCHMAILHOME says, and a second one at the same moment (another
	# suite, the demo) fails with "another foreground fetchmail is running".
	FETCHMAILHOME=$d fetchmail -f "$d/rc" --nodetach --pidfile "$d/fetchmail.pid" >"$d/log" 2>&1 </dev/null
	rc=$?
	case $rc in
	0 | 1 | 13) ;; # 1: no mail; 13: fetchlimit reached
	*) _cl_log_fail "$fn" "$d/log" "$pass" "fetchmail exited $rc; its log:"; return 1 ;;
	esac
	_cl_downloaded "$d/md"
}

client_fetchmail_delete() { # [LIMIT [USER PASS]]
	local limit=
	case "${1-}" in
	*[!0-9]*) ;;
	*) [ $# -gt 0 ] && { limit=$1; shift; } ;;
	esac
	_cl_fetchmail client_fetchmail_delete 0 "$limit" "${1:-${MA_USER:-}}" "${2:-${MA_PASS:-}}"
}

client_fetchmail_keep() { # [USER PASS]
	_cl_fetchmail client_fetchmail_keep 1 "" "${1:-${MA_USER:-}}" "${2:-${MA_PASS:-}}"
}

# --- getmail6 --------------------------------------------------------------------

client_getmail_delete() { # [USER PASS]
	local fn=client_getmail_delete user=${1:-${MA_USER:-}} pass=${2:-${MA_PASS:-}} d rc
	_cl_env $fn && _cl_need $fn getmail "$_CL_PY" || return 1
	d=$(_cl_dir getmail) && _cl_mda "$d" || { _cl_err "$fn: cannot make a private directory"; return 1; }
	case "$user$pass" in *$'\n'*) _cl_err "$fn: a newline in USER or PASS cannot go into getmailrc"; return 1 ;; esac
	# getmailrc is read by Python's configparser: a value runs to the end of
	# the line; '%' would start an interpolation, so it is doubled.
	(umask 077 && cat >"$d/getmailrc" <<RC
[retriever]
type = SimplePOP3SSLRetriever
server = 127.0.0.1
port = $MA_POP3S_PORT
username = ${user//%/%%}
password = ${pass//%/%%}
ca_certs = $MA_CA
[destination]
type = MDA_external
path = $d/mda
allow_root_commands = true
[options]
delete = true
read_all = true
RC
	) || { _cl_err "$fn: cannot write $d/getmailrc"; return 1; }
	chmod 0600 "$d/getmailrc"
	getmail --getmaildir "$d" --rcfile getmailrc >"$d/log" 2>&1 </dev/null
	rc=$?
	[ $rc -eq 0 ] || { _cl_log_fail $fn "$d/log" "$pass" "getmail exited $rc; its log:"; return 1; }
	_cl_downloaded "$d/md"
}

# --- mpop ------------------------------------------------------------------------

client_mpop_delete() { # [USER PASS]
	local fn=client_mpop_delete user=${1:-${MA_USER:-}} pass=${2:-${MA_PASS:-}} d rc
	_cl_env $fn && _cl_need $fn mpop "$_CL_PY" || return 1
	d=$(_cl_dir mpop) && _cl_maildir "$d/md" || { _cl_err "$fn: cannot make a private directory"; return 1; }
	(umask 077 && printf '%s\n' "$pass" >"$d/pass") || return 1
	chmod 0600 "$d/pass"
	# No `keep` line: mpop's default (keep off) deletes what it delivered.
	(umask 077 && cat >"$d/mpoprc" <<RC
account default
host 127.0.0.1
port $MA_POP3S_PORT
tls on
tls_starttls off
tls_trust_file $MA_CA
user $(_cl_q "$user")
passwordeval "cat $d/pass"
uidls_file $d/uidls
delivery maildir $d/md
RC
	) || { _cl_err "$fn: cannot write $d/mpoprc"; return 1; }
	chmod 0600 "$d/mpoprc"
	mpop -C "$d/mpoprc" -Q default >"$d/log" 2>&1 </dev/null
	rc=$?
	[ $rc -eq 0 ] || { _cl_log_fail $fn "$d/log" "$pass" "mpop exited $rc; its log:"; return 1; }
	_cl_downloaded "$d/md"
}

# --- mbsync ----------------------------------------------------------------------

client_mbsync_expunge() { # FOLDER N [USER PASS]
	local fn=client_mbsync_expunge folder=${1-} n=${2-} user=${3:-${MA_USER:-}} pass=${4:-${MA_PASS:-}}
	local d rc files have old far
	_cl_env $fn && _cl_need $fn mbsync "$_CL_PY" || return 1
	[ -n "$folder" ] || { _cl_err "$fn: usage: $fn FOLDER N [USER PASS]"; return 1; }
	case "$n" in '' | *[!0-9]*) _cl_err "$fn: N must be a number, not '$n'"; return 1 ;; esac
	# mbsync 1.4 sends the name as written: a UTF-8 name must be given in
	# modified UTF-7 ("Odeslaná pošta" fails to open, "Odeslan&AOE- po&AWE-ta" works).
	far=$(_cl_mutf7 "$folder") || return 1
	d=$(_cl_dir mbsync) || { _cl_err "$fn: cannot make a private directory"; return 1; }
	mkdir -p "$d/local" || return 1
	(umask 077 && printf '%s\n' "$pass" >"$d/pass") || return 1
	chmod 0600 "$d/pass"
	(umask 077 && cat >"$d/mbsyncrc" <<RC
IMAPAccount acct
Host localhost
Port $MA_IMAPS_PORT
User $(_cl_q "$user")
PassCmd $(_cl_q "cat $d/pass")
SSLType IMAPS
SystemCertificates no
CertificateFile $MA_CA
Timeout 20

IMAPStore remote
Account acct

MaildirStore local
Path $d/local/
Inbox $d/local/INBOX
SubFolders Verbatim

Channel ch
Far :remote:$(_cl_q "$far")
Near :local:box
Create Near
Expunge Both
SyncState *
RC
	) || { _cl_err "$fn: cannot write $d/mbsyncrc"; return 1; }
	chmod 0600 "$d/mbsyncrc"
	mbsync -c "$d/mbsyncrc" ch >"$d/log1" 2>&1 </dev/null
	rc=$?
	[ $rc -eq 0 ] || { _cl_log_fail $fn "$d/log1" "$pass" "first mbsync exited $rc; its log:"; return 1; }
	# Local files carry mbsync's UID as ",U=<uid>:2,<flags>"; oldest = lowest UID.
	mapfile -t files < <(find "$d/local/box/cur" "$d/local/box/new" -maxdepth 1 -type f -name '*,U=*' |
		sed 's/^\(.*,U=\([0-9]*\).*\)$/\2\t\1/' | sort -n | cut -f2-)
	have=${#files[@]}
	[ "$have" -ge "$n" ] || { _cl_err "$fn: $folder holds $have messages, fewer than $n"; return 1; }
	files=("${files[@]:0:$n}")
	_cl_msgids "${files[@]}" || return 1
	rm -f -- "${files[@]}" || return 1
	old=$(($(date +%s) - 2))
	touch -d "@$old" "$d/local/box/cur" "$d/local/box/new"
	mbsync -c "$d/mbsyncrc" ch >"$d/log2" 2>&1 </dev/null
	rc=$?
	[ $rc -eq 0 ] || { _cl_log_fail $fn "$d/log2" "$pass" "second mbsync exited $rc; its log:"; return 1; }
}

# --- arrival ---------------------------------------------------------------------

_cl_lda() {
	local p
	for p in "$(command -v dovecot-lda 2>/dev/null)" /usr/lib/dovecot/dovecot-lda /usr/libexec/dovecot/dovecot-lda; do
		[ -n "$p" ] && [ -x "$p" ] && { echo "$p"; return 0; }
	done
	return 1
}

deliver() { # N [FOLDER [USER [PASS]]]
	local fn=deliver n=${1-} folder=${2:-INBOX} user=${3:-${MA_USER:-}} lda base k first i ts date out rc
	_cl_env $fn && _cl_need $fn doveadm flock || return 1
	case "$n" in '' | *[!0-9]*) _cl_err "$fn: usage: deliver N [FOLDER [USER [PASS]]]"; return 1 ;; esac
	lda=$(_cl_lda) || { _cl_err "$fn: dovecot-lda not found (package dovecot-core)"; return 1; }
	base=$(LC_ALL=C date -u -d "${MA_DELIVER_BASE:-2026-03-01 00:00:00 UTC}" +%s) ||
		{ _cl_err "$fn: MA_DELIVER_BASE is no date: $MA_DELIVER_BASE"; return 1; }
	out=$(doveadm -c "$MA_DOVECOT_CONF" mailbox status -u "$user" messages "$folder" 2>&1) ||
		{ _cl_err "$fn: no folder '$folder' for $user: $out"; return 1; }
	_cl_base || { _cl_err "$fn: cannot make $MA_TMP/clients"; return 1; }
	# Reserve K = first .. first+n-1 under a lock (concurrent deliver calls).
	first=$(
		exec 9>>"$MA_TMP/clients/deliver.lock"
		flock 9 || exit 1
		k=$(cat "$MA_TMP/clients/deliver.count" 2>/dev/null)
		k=${k:-0}
		echo $((k + n)) >"$MA_TMP/clients/deliver.count" || exit 1
		echo $((k + 1))
	) || { _cl_err "$fn: cannot reserve message numbers"; return 1; }
	for ((i = 0; i < n; i++)); do
		k=$((first + i))
		ts=$((base + k * 60))
		date=$(LC_ALL=C date -u -d "@$ts" '+%a, %d %b %Y %H:%M:%S +0000')
		out=$(printf '%s\n' \
			"From: Sender $k <sender.$k@example.org>" \
			"To: <$user>" \
			"Date: $date" \
			"Subject: Delivered message $k" \
			"Message-ID: <deliver.$k@example.test>" \
			"MIME-Version: 1.0" \
			"Content-Type: text/plain; charset=us-ascii" \
			"" \
			"This is delivered message $k." |
			"$lda" -c "$MA_DOVECOT_CONF" -d "$user" -f "sender.$k@example.org" -m "$folder" 2>&1)
		rc=$?
		[ $rc -eq 0 ] || { _cl_err "$fn: dovecot-lda exited $rc for message $k: $out"; return 1; }
		echo "<deliver.$k@example.test>"
	done
}

# --- IMAP helpers ----------------------------------------------------------------

_CL_IMAPCTL='
import base64, email.parser, imaplib, os, ssl, sys

def mutf7(name):
    out, buf = [], []
    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()
    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)

def q(name):
    return "\"" + mutf7(name).replace("\\", "\\\\").replace("\"", "\\\"") + "\""

def ok(r, what):
    if r[0] != "OK":
        sys.stderr.write("%s: %s %r\n" % (what, r[0], r[1]))
        sys.exit(1)
    return r[1]

hp = email.parser.BytesHeaderParser()
try:
    ctx = ssl.create_default_context(cafile=os.environ["MA_CA"])
    c = imaplib.IMAP4_SSL("127.0.0.1", int(os.environ["MA_IMAPS_PORT"]), ssl_context=ctx, timeout=20)
    ok(c.login(os.environ["CL_USER"], os.environ["CL_PASS"]), "LOGIN")
except (imaplib.IMAP4.error, OSError) as e:
    sys.stderr.write("connect/login: %s: %s\n" % (type(e).__name__, e))
    sys.exit(1)

def ids(uids):
    """Message-IDs of uids (a list of bytes), in that order."""
    out = []
    if not uids:
        return out
    d = ok(c.uid("FETCH", b",".join(uids), "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"), "UID FETCH")
    by = {}
    for item in d:
        if isinstance(item, tuple):
            uid = item[0].split(b"UID ")[1].split()[0].rstrip(b")")
            by[uid] = hp.parsebytes(item[1]).get("Message-ID")
    for u in uids:
        if by.get(u):
            out.append(" ".join(str(by[u]).split()))
    return out

def all_uids(deleted=False):
    d = ok(c.uid("SEARCH", "DELETED" if deleted else "ALL"), "UID SEARCH")
    return sorted(d[0].split(), key=int)

cmd, args = sys.argv[1], sys.argv[2:]
if cmd in ("status", "count"):
    d = ok(c.status(q(args[0]), "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)"), "STATUS")
    st = d[0].decode().rsplit("(", 1)[1].rstrip(")").split()
    st = dict(zip(st[0::2], st[1::2]))
    if cmd == "count":
        print(st["MESSAGES"])
    else:
        print(" ".join("%s %s" % (k, st[k]) for k in ("MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN")))
elif cmd == "ids":
    ok(c.select(q(args[0]), readonly=True), "EXAMINE")
    for m in ids(all_uids()):
        print(m)
elif cmd == "move":                # move N FROM TO
    n = int(args[0])
    ok(c.select(q(args[1])), "SELECT")
    uids = all_uids()
    if len(uids) < n:
        sys.stderr.write("%s holds %d messages, fewer than %d\n" % (args[1], len(uids), n))
        sys.exit(1)
    uids = uids[:n]
    got = ids(uids)
    if uids:
        ok(c.uid("MOVE", b",".join(uids), q(args[2])), "UID MOVE")
    for m in got:
        print(m)
elif cmd == "flag_deleted":        # flag_deleted N FOLDER
    n = int(args[0])
    ok(c.select(q(args[1])), "SELECT")
    uids = all_uids()
    if len(uids) < n:
        sys.stderr.write("%s holds %d messages, fewer than %d\n" % (args[1], len(uids), n))
        sys.exit(1)
    uids = uids[:n]
    got = ids(uids)
    if uids:
        ok(c.uid("STORE", b",".join(uids), "+FLAGS.SILENT", "(\\Deleted)"), "UID STORE")
    for m in got:
        print(m)
elif cmd in ("expunge", "expunge_all"):
    ok(c.select(q(args[0])), "SELECT")
    if cmd == "expunge_all":
        uids = all_uids()
        if uids:
            ok(c.uid("STORE", "1:*", "+FLAGS.SILENT", "(\\Deleted)"), "UID STORE")
    uids = all_uids(deleted=True)
    got = ids(uids)
    ok(c.expunge(), "EXPUNGE")
    for m in got:
        print(m)
elif cmd == "create":
    ok(c.create(q(args[0])), "CREATE")
elif cmd == "delete":
    ok(c.delete(q(args[0])), "DELETE")
else:
    sys.stderr.write("unknown command %s\n" % cmd)
    sys.exit(2)
c.logout()
'

# _cl_imap FN NARGS ARGS... [USER PASS]: runs _CL_IMAPCTL with the first NARGS
# arguments; the two after them, if given, are USER PASS.
_cl_imap() {
	local fn=$1 cmd=$2 nargs=$3 err out rc user pass i
	shift 3
	_cl_env "$fn" && _cl_need "$fn" "$_CL_PY" || return 1
	[ $# -ge "$nargs" ] || { _cl_err "$fn: needs $nargs argument(s)"; return 1; }
	for ((i = 1; i <= nargs; i++)); do
		[ -n "${!i}" ] || { _cl_err "$fn: argument $i is empty"; return 1; }
	done
	i=$((nargs + 1))
	user=${!i:-$MA_USER}
	i=$((nargs + 2))
	pass=${!i:-$MA_PASS}
	_cl_base || return 1
	err=$MA_TMP/clients/imap.err.$BASHPID
	CL_USER=$user CL_PASS=$pass "$_CL_PY" -c "$_CL_IMAPCTL" "$cmd" "${@:1:$nargs}" 2>"$err"
	rc=$?
	out=$(cat "$err" 2>/dev/null)
	rm -f "$err"
	if [ $rc -ne 0 ]; then
		out=${out//"$pass"/********}
		_cl_err "$fn: failed (exit $rc): $out"
		return 1
	fi
}

imap_status() { _cl_imap imap_status status 1 "$@"; }
imap_count() { _cl_imap imap_count count 1 "$@"; }
imap_message_ids() { _cl_imap imap_message_ids ids 1 "$@"; }
imap_move() {
	case "${1-}" in '' | *[!0-9]*) _cl_err "imap_move: usage: imap_move N FROM TO [USER PASS]"; return 1 ;; esac
	_cl_imap imap_move move 3 "$@"
}
imap_flag_deleted() {
	case "${1-}" in '' | *[!0-9]*) _cl_err "imap_flag_deleted: usage: imap_flag_deleted N FOLDER [USER PASS]"; return 1 ;; esac
	_cl_imap imap_flag_deleted flag_deleted 2 "$@"
}
imap_expunge() { _cl_imap imap_expunge expunge 1 "$@"; }
imap_expunge_all() { _cl_imap imap_expunge_all expunge_all 1 "$@"; }
imap_create_folder() { _cl_imap imap_create_folder create 1 "$@"; }
imap_delete_folder() { _cl_imap imap_delete_folder delete 1 "$@"; }
