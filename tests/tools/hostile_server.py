#!/usr/bin/env python3
"""A misbehaving IMAP/POP3 server on 127.0.0.1 for the hostile-server tests.

    hostile_server.py SCENARIO [--tls CERT KEY]

Binds a free port, prints it on the first line of stdout, serves
connections with SCENARIO until killed. Each scenario is the smallest
dialogue that reaches the fault; every fault is one a real broken or
malicious server can produce.

Scenarios used by t_hostile.sh (besides the older ones used by t_sessions.sh):
  imap-ok                  a well-behaved IMAP server with INBOX of one message
  imap-eof-greeting        greeting cut mid-line, then EOF
  imap-eof-capability      CAPABILITY reply cut mid-line, then EOF
  imap-eof-list            LIST reply cut mid-line, then EOF
  imap-eof-status          STATUS reply cut mid-line, then EOF
  imap-eof-examine         EXAMINE reply cut mid-line, then EOF
  imap-eof-fetch           FETCH reply cut before its literal, then EOF
  imap-eof-fetch-literal   FETCH literal {200} cut after 20 bytes, then EOF
  imap-fetch-huge-literal  FETCH literal {1000000000} announced, nothing sent
  imap-fetch-no            one FETCH response, then a tagged NO to UID FETCH;
                           the session goes on normally afterwards
  imap-fetch-garbage       a FETCH response with junk inside its parentheses
  imap-fetch-unknown-tag   UID FETCH completed with a tag the client never sent
  imap-fetch-bye           "* BYE" between two FETCH responses, then EOF
  imap-drip / pop3-drip    an endless greeting, one byte per second
  imap-longline            10 MB LIST line without a line end, then silence
  imap-endless-line        300 MB LIST line at full speed, then silence
  imap-wrong-tag           tagged LIST completion with another command's tag
  imap-second-silent       the first connection as imap-ok with two folders;
                           every later one gets no greeting, for ever
  imap-bad-names           folder names with invalid UTF-8, control bytes and
                           invalid modified UTF-7; the rest of the audit works
  imap-folders-N           LIST of N folders (N-1 \\Noselect + INBOX), e.g. 100000
  pop3-uidl-dup            UIDL naming message 1 twice
  pop3-uidl-long           UIDL with a 71-character unique-id (RFC 1939: 1..70)

Scenarios used by t_redteam.sh (issue 16's red-team list):
  imap-login-limit         LOGIN answered "NO [LIMIT] Too many connections"
  imap-exists-huge         EXAMINE INBOX says "* 4294967295 EXISTS" with UIDNEXT 2
  imap-exists-huge-nouidnext  the same without UIDNEXT (in EXAMINE and STATUS)
  imap-exists-more         "* 20000 EXISTS", no UIDNEXT, one message: every
                           FETCH is answered with message 1 only
  imap-fetch-dup-uid       INBOX of two messages whose FETCH responses both say
                           UID 1 (100 bytes each)
  imap-literal-100m        a FETCH literal {104857600} announced, nothing sent
  pop3-uidl-many           UIDL of 1,000,001 entries
  imap-bidi                INBOX's one message has a From with U+200B and a
                           Subject "invoice <U+202E>gpj.exe" (RFC 2047); LIST
                           adds a folder "&IC4-gpj.exe" (U+202E in modified
                           UTF-7); LOGIN carries an [ALERT] with U+202E and
                           U+2066 raw. With MA_HOSTILE_GONE naming a file that
                           exists, INBOX is empty (the message was deleted).
The imap-exists-*, imap-fetch-dup-uid and imap-bidi scenarios write a line
FETCH-COMMAND to stderr for every FETCH or UID FETCH command received.

Scenarios for the loss ledger (server behaviours, not faults; the rest of the
dialogue is the well-behaved one of pop3_until / imap-ok, so an audit completes):
  pop3-login-delay         CAPA before login announces LOGIN-DELAY 60 (RFC 2449
                           6.5: at least 60 s between logins); logging in
                           anyway succeeds and the server writes the line
                           LOGGED-IN to its stderr (a test proves the client
                           did not log in by its absence)
  pop3-login-delay-err     CAPA announces RESP-CODES, no LOGIN-DELAY; PASS is
                           answered "-ERR [LOGIN-DELAY] wait a minute" (RFC 2449
                           8.1.1); STAT/UIDL/LIST/... then get "-ERR not logged in"
  pop3-in-use-err          the same with "-ERR [IN-USE] mailbox locked" (8.1.2)
  imap-starttls-unavailable  STARTTLS answered "NO [UNAVAILABLE] TLS is not
                           available right now" (t_diagnosis.sh)
  imap-alert               imap-ok, but the LOGIN reply is preceded by
                           "* OK [ALERT] Your mailbox is 95% full -- contact your
                           administrator" and EXAMINE INBOX carries
                           "* OK [ALERT] Maintenance tonight at 22:00" and
                           "* OK [ALERT] evil <ESC>[31m red" (an ESC byte inside,
                           to check sanitising)
"""
import base64
import os
import socket
import ssl
import sys
import threading
import time

IMAP_GREETING = b"* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] hostile ready\r\n"
POP3_GREETING = b"+OK hostile POP3 ready\r\n"


def lines(f):
    while True:
        line = f.readline(65536)
        if not line:
            return
        yield line


def tag_of(line):
    return line.split(b" ", 1)[0]


def imap_command(conn, f):
    """Yield whole client commands, answering '+' to synchronising literals.
    Each item is (line-with-literals-inlined, [mailbox-like literal args])."""
    for line in lines(f):
        lits = []
        while line.rstrip(b"\r\n").endswith(b"}") and b"{" in line:
            head, _, num = line.rstrip(b"\r\n").rpartition(b"{")
            num = num[:-1]
            plus = num.endswith(b"+")
            try:
                n = int(num.rstrip(b"+"))
            except ValueError:
                break
            if not plus:
                conn.sendall(b"+ go on\r\n")
            data = f.read(n)
            lits.append(data)
            rest = f.readline(65536)
            line = head + b"{%d}\r\n" % n + data + rest
        yield line, lits


# The INBOX every scenario serves. Attacks on UID FETCH serve one message
# more than imap-ok, so a repeat audit after a good one must fetch (an
# unchanged folder is skipped without any FETCH).
BOX = {"messages": 1, "uidnext": 2}   # uidnext None: never said
TWO_FOLDERS = False   # imap-second-silent: INBOX and Archive
EXTRA_FOLDERS = []    # more LIST entries (raw names)
CONNECTIONS = [0]
LOG_LOGIN = [False]   # pop3-login-delay: report a successful PASS on stderr
LOG_FETCH = [False]   # write FETCH-COMMAND to stderr for each FETCH command
DUP_UID = [False]     # imap-fetch-dup-uid: message 2 answers as UID 1 too
GONE_FILE = [None]    # imap-bidi: INBOX empty while this file exists
FETCH_ATTACKS = ("imap-eof-fetch", "imap-eof-fetch-literal", "imap-fetch-huge-literal",
                 "imap-fetch-no", "imap-fetch-garbage", "imap-fetch-unknown-tag", "imap-fetch-bye")


def status_reply(line, lits):
    """'* STATUS <mailbox as the client sent it> (...)'."""
    if lits:
        mbox = b"{%d}\r\n" % len(lits[0]) + lits[0]
    else:
        args = line.split(b" ", 2)[2] if line.count(b" ") >= 2 else b"INBOX"
        mbox = args.rsplit(b" (", 1)[0].strip()
    inbox = mbox.strip(b'"').upper() == b"INBOX"
    n = b"%d" % messages() if inbox else b"0"
    nxt = (b" UIDNEXT %d" % BOX["uidnext"] if BOX["uidnext"] is not None else b"") if inbox else b" UIDNEXT 1"
    return b"* STATUS " + mbox + b" (MESSAGES " + n + nxt + b" UIDVALIDITY 7 UNSEEN 0)\r\n"


def messages():
    """INBOX's message count now (imap-bidi: 0 once the message is gone)."""
    if GONE_FILE[0] and os.path.exists(GONE_FILE[0]):
        return 0
    return BOX["messages"]


FETCH_HDR = [b"Message-ID: <1@hostile>\r\nSubject: hi\r\n\r\n"]


def imap_until(conn, f, stop_cmd, extra=None):
    """Answer an IMAP client normally until it sends stop_cmd (a command word
    such as b"LIST", or b"UID FETCH"); return (tag, line).
    extra: {b"LOGIN": bytes, b"EXAMINE INBOX": bytes}, untagged responses sent
    just before that command's tagged OK."""
    extra = extra or {}
    for line, lits in imap_command(conn, f):
        tag = tag_of(line)
        words = line.split(b" ")
        cmd = words[1].strip().upper() if len(words) > 1 else b""
        cmd2 = cmd + b" " + words[2].strip().upper() if len(words) > 2 else cmd
        if cmd == b"FETCH":
            # A first look fetches by sequence number: the same attacks.
            cmd2 = b"UID FETCH"
        if cmd == stop_cmd or cmd2 == stop_cmd:
            return tag, line
        if cmd2 == b"UID FETCH":
            if LOG_FETCH[0]:
                sys.stderr.write("FETCH-COMMAND\n")
                sys.stderr.flush()
            if messages() == 0:
                conn.sendall(tag + b" OK done\r\n")
                continue
            body = b""
            if b"HEADER" in line.upper():
                hdr = FETCH_HDR[0]
                body = b" BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)] {%d}\r\n" % len(hdr) + hdr
            resp = b""
            for seq in ((1, 2) if DUP_UID[0] else (1,)):
                resp += (b'* %d FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE 100 INTERNALDATE "01-Jan-2024 00:00:00 +0000"' % seq +
                         body + b")\r\n")
            conn.sendall(resp + tag + b" OK done\r\n")
            continue
        if cmd == b"STATUS":
            conn.sendall(status_reply(line, lits) + tag + b" OK done\r\n")
            continue
        if cmd == b"CAPABILITY":
            conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
        elif cmd == b"LOGIN":
            conn.sendall(extra.get(b"LOGIN", b"") + tag + b" OK logged in\r\n")
        elif cmd == b"LIST":
            more = b'* LIST () "/" Archive\r\n' if TWO_FOLDERS else b""
            for name in EXTRA_FOLDERS:
                more += b'* LIST () "/" {%d}\r\n' % len(name) + name + b"\r\n"
            conn.sendall(b'* LIST () "/" INBOX\r\n' + more + tag + b" OK done\r\n")
        elif cmd == b"EXAMINE":
            mbox = lits[0] if lits else (words[2].strip() if len(words) > 2 else b"")
            more = extra.get(b"EXAMINE INBOX", b"") if mbox.strip(b'"').upper() == b"INBOX" else b""
            # Every folder examines as INBOX does (STATUS tells them apart).
            n = messages()
            nxt = BOX["uidnext"]
            conn.sendall(b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n" % n +
                         (b"* OK [UIDNEXT %d] x\r\n" % nxt if nxt is not None else b"") +
                         more + tag + b" OK [READ-ONLY] done\r\n")
        elif cmd == b"UID" and b"SEARCH" in line.upper():
            uids = b" ".join(b"%d" % u for u in range(1, min(messages(), 1000) + 1))
            if b"DELETED" in line.upper():
                uids = b""
            conn.sendall(b"* SEARCH" + (b" " + uids if uids else b"") + b"\r\n" + tag + b" OK done\r\n")
        elif cmd == b"LOGOUT":
            conn.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
            return None, None
        else:
            conn.sendall(tag + b" BAD unknown\r\n")
    return None, None


POP3_CAPA = b"+OK\r\nUSER\r\nUIDL\r\nSTLS\r\n.\r\n"


def pop3_until(conn, f, stop_cmd, uidl=b"+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n",
               capa=POP3_CAPA, pass_reply=b"+OK\r\n"):
    """Answer a POP3 client normally until it sends stop_cmd; return that line.
    capa: the CAPA reply; pass_reply: the reply to PASS. A PASS answered +OK
    writes LOGGED-IN to stderr when LOG_LOGIN is set. When PASS is refused
    (pass_reply -ERR), STAT/UIDL/LIST/TOP/RETR/DELE get -ERR: no login."""
    refused = not pass_reply.startswith(b"+OK")
    for line in lines(f):
        cmd = line.split(b" ")[0].strip().upper()
        if cmd == stop_cmd:
            return line
        if refused and cmd in (b"STAT", b"UIDL", b"LIST", b"TOP", b"RETR", b"DELE", b"NOOP", b"RSET"):
            conn.sendall(b"-ERR not logged in\r\n")
        elif cmd == b"CAPA":
            conn.sendall(capa)
        elif cmd == b"USER":
            conn.sendall(b"+OK\r\n")
        elif cmd == b"PASS":
            conn.sendall(pass_reply)
            if LOG_LOGIN[0] and pass_reply.startswith(b"+OK"):
                sys.stderr.write("LOGGED-IN\n")
                sys.stderr.flush()
        elif cmd == b"STAT":
            conn.sendall(b"+OK 2 300\r\n")
        elif cmd == b"UIDL":
            conn.sendall(uidl)
        elif cmd == b"LIST":
            conn.sendall(b"+OK\r\n1 100\r\n2 200\r\n.\r\n")
        elif cmd == b"QUIT":
            conn.sendall(b"+OK bye\r\n")
            return None
        else:
            conn.sendall(b"-ERR unknown\r\n")
    return None


def scenario(name, conn):
    f = conn.makefile("rb")
    if name == "silent":
        time.sleep(3600)
    elif name == "garbage":
        conn.sendall(b"\x00\xff\x16\x03 this is not a mail server\r\n" * 3)
        time.sleep(3600)
    elif name == "imap-bye":
        conn.sendall(b"* BYE [UNAVAILABLE] server is shutting down\r\n")
    elif name == "imap-eof-after-login":
        conn.sendall(IMAP_GREETING)
        imap_until(conn, f, b"LOGIN")
    elif name == "imap-literal-eof":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"UID")
        # Announce a 1000-byte literal, send 10 bytes, hang up.
        if tag:
            conn.sendall(b"* 1 FETCH (UID 1 RFC822.SIZE 5 BODY[HEADER.FIELDS (MESSAGE-ID)] {1000}\r\n0123456789")
    elif name == "imap-huge-literal":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"UID")
        if tag:
            conn.sendall(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (MESSAGE-ID)] {1000000000}\r\n")
            time.sleep(3600)
    elif name == "imap-starttls-inject":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"STARTTLS")
        if tag:
            conn.sendall(tag + b" OK begin TLS\r\n* OK injected\r\n")
            time.sleep(5)
    elif name == "imap-starttls-unavailable":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"STARTTLS")
        if tag:
            conn.sendall(tag + b" NO [UNAVAILABLE] TLS is not available right now\r\n")
            imap_until(conn, f, b"NEVER")
    elif name == "imap-no-starttls":
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here\r\n")
        imap_until(conn, f, b"NEVER")
    elif name == "pop3-eof-after-pass":
        conn.sendall(POP3_GREETING)
        pop3_until(conn, f, b"PASS")
    elif name == "pop3-starttls-inject":
        conn.sendall(POP3_GREETING)
        if pop3_until(conn, f, b"STLS"):
            conn.sendall(b"+OK begin TLS\r\n+OK injected\r\n")
            time.sleep(5)
    elif name.startswith("pop3-list-"):
        conn.sendall(POP3_GREETING)
        if pop3_until(conn, f, b"LIST") is None:
            return
        kind = name[len("pop3-list-"):]
        if kind == "zero":
            conn.sendall(b"+OK\r\n0 100\r\n.\r\n")
        elif kind == "gap":
            conn.sendall(b"+OK\r\n1 100\r\n3 200\r\n.\r\n")
        elif kind == "huge":
            conn.sendall(b"+OK\r\n1000000000000 100\r\n.\r\n")
        elif kind == "longline":
            conn.sendall(b"+OK\r\n1 ")
            chunk = b"9" * 65536
            try:
                for _ in range(1600):  # 100 MB, unless the client hangs up first
                    conn.sendall(chunk)
            except OSError:
                return
            conn.sendall(b"\r\n.\r\n")
        pop3_until(conn, f, b"NEVER")
    elif name == "imap-ok":
        conn.sendall(IMAP_GREETING)
        imap_until(conn, f, b"NEVER")
    elif name == "imap-second-silent":
        CONNECTIONS[0] += 1
        if CONNECTIONS[0] > 1:
            time.sleep(3600)
        conn.sendall(IMAP_GREETING)
        imap_until(conn, f, b"NEVER")
    elif name == "imap-eof-greeting":
        conn.sendall(b"* OK [CAPABILITY IMAP4rev1 AU")
    elif name == "imap-eof-capability":
        conn.sendall(b"* OK hostile ready\r\n")
        tag, _ = imap_until(conn, f, b"CAPABILITY")
        if tag:
            conn.sendall(b"* CAPABILITY IMAP4rev1 AUTH=PL")
    elif name == "imap-eof-list":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"LIST")
        if tag:
            conn.sendall(b'* LIST () "/" INBOX\r\n* LIST (\\HasNoChildren) "/" "Fol')
    elif name == "imap-eof-status":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"STATUS")
        if tag:
            conn.sendall(b"* STATUS INBOX (MESSAGES 1 UIDN")
    elif name == "imap-eof-examine":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"EXAMINE")
        if tag:
            conn.sendall(b"* FLAGS (\\Seen)\r\n* 1 EXI")
    elif name == "imap-eof-fetch":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"UID FETCH")
        if tag:
            conn.sendall(b"* 1 FETCH (UID 1 FLAGS (\\Se")
    elif name == "imap-eof-fetch-literal":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"UID FETCH")
        if tag:
            conn.sendall(b"* 1 FETCH (UID 1 RFC822.SIZE 5 BODY[HEADER.FIELDS (MESSAGE-ID)] {200}\r\n"
                         b"Message-ID: <abcdefg")
    elif name == "imap-fetch-huge-literal":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"UID FETCH")
        if tag:
            conn.sendall(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (MESSAGE-ID)] {1000000000}\r\n")
            time.sleep(3600)
    elif name in ("imap-fetch-no", "imap-fetch-garbage", "imap-fetch-unknown-tag", "imap-fetch-bye"):
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"UID FETCH")
        if not tag:
            return
        one = b'* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE 100 INTERNALDATE "01-Jan-2024 00:00:00 +0000")\r\n'
        if name == "imap-fetch-no":
            conn.sendall(one + tag + b" NO [SERVERBUG] Internal error occurred\r\n")
        elif name == "imap-fetch-garbage":
            conn.sendall(one + b'* 2 FETCH (UID 2 FLAGS (\\Seen) \x00\x1b[2J junk "unterminated)\r\n' +
                         tag + b" OK done\r\n")
        elif name == "imap-fetch-unknown-tag":
            conn.sendall(one + b"ZZZ99999 OK done\r\n")
        else:
            conn.sendall(one + b"* BYE [UNAVAILABLE] shutting down now\r\n")
            return
        imap_until(conn, f, b"NEVER")
    elif name in ("imap-drip", "pop3-drip"):
        conn.sendall(b"* OK " if name == "imap-drip" else b"+OK ")
        while True:  # an endless greeting: one byte a second, for ever
            conn.sendall(b"x")
            time.sleep(1)
    elif name == "imap-longline":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"LIST")
        if tag:
            conn.sendall(b'* LIST () "/" ')
            chunk = b"a" * 65536
            for _ in range(160):  # 10 MB, no line end
                conn.sendall(chunk)
            time.sleep(3600)
    elif name == "imap-endless-line":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"LIST")
        if tag:
            conn.sendall(b'* LIST () "/" ')
            chunk = b"a" * 65536
            for _ in range(4800):  # 300 MB at full speed, no line end
                conn.sendall(chunk)
            time.sleep(3600)
    elif name == "imap-wrong-tag":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"LIST")
        if tag:
            conn.sendall(b'* LIST () "/" INBOX\r\nZZZ99999 OK done\r\n')
            imap_until(conn, f, b"NEVER")
    elif name == "imap-bad-names":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"LIST")
        if tag:
            names = [b"INBOX",
                     b"bad\xff\xfeutf8",                 # invalid UTF-8
                     b"over\xc0\xaflong",                # overlong '/'
                     b"esc\x1b[31mred\x1b[0m",           # terminal escape (raw 8-bit/CTL)
                     b"&Jjo",                             # modified UTF-7 without '-'
                     b"&AGE",                             # unterminated, odd bits
                     b"&2D0-",                            # lone high surrogate U+D83D
                     b"&2D3eAA-",                         # valid pair: U+1F600
                     b"&AAA-",                            # U+0000 inside
                     b"&ZeVnLIqe-x&-y",                   # valid (Japanese) + '&-'
                     b"&AB sp&-ace"]
            out = b""
            for n in names:
                out += b'* LIST () "/" {%d}\r\n' % len(n) + n + b"\r\n"
            conn.sendall(out + tag + b" OK done\r\n")
            imap_until(conn, f, b"NEVER")
    elif name.startswith("imap-folders-"):
        count = int(name[len("imap-folders-"):])
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"LIST")
        if tag:
            conn.sendall(b'* LIST () "/" INBOX\r\n')
            batch = []
            for i in range(1, count):
                batch.append(b'* LIST (\\Noselect) "/" f%07d\r\n' % i)
                if len(batch) == 10000:
                    conn.sendall(b"".join(batch))
                    batch = []
            conn.sendall(b"".join(batch) + tag + b" OK done\r\n")
            imap_until(conn, f, b"NEVER")
    elif name == "pop3-uidl-dup":
        conn.sendall(POP3_GREETING)
        pop3_until(conn, f, b"NEVER", uidl=b"+OK\r\n1 aaa\r\n1 bbb\r\n2 ccc\r\n.\r\n")
    elif name == "pop3-uidl-long":
        conn.sendall(POP3_GREETING)
        pop3_until(conn, f, b"NEVER", uidl=b"+OK\r\n1 " + b"u" * 71 + b"\r\n2 bbb\r\n.\r\n")
    elif name == "pop3-login-delay":
        conn.sendall(POP3_GREETING)
        pop3_until(conn, f, b"NEVER", capa=b"+OK\r\nUSER\r\nUIDL\r\nSTLS\r\nLOGIN-DELAY 60\r\n.\r\n")
    elif name in ("pop3-login-delay-err", "pop3-in-use-err"):
        conn.sendall(POP3_GREETING)
        reply = (b"-ERR [LOGIN-DELAY] wait a minute\r\n" if name == "pop3-login-delay-err"
                 else b"-ERR [IN-USE] mailbox locked\r\n")
        pop3_until(conn, f, b"NEVER", capa=b"+OK\r\nUSER\r\nUIDL\r\nSTLS\r\nRESP-CODES\r\n.\r\n",
                   pass_reply=reply)
    elif name == "imap-login-limit":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"LOGIN")
        if tag:
            conn.sendall(tag + b" NO [LIMIT] Too many connections from your IP address\r\n")
            imap_until(conn, f, b"NEVER")
    elif name in ("imap-exists-huge", "imap-exists-huge-nouidnext", "imap-exists-more",
                  "imap-fetch-dup-uid"):
        conn.sendall(IMAP_GREETING)
        imap_until(conn, f, b"NEVER")
    elif name == "imap-literal-100m":
        conn.sendall(IMAP_GREETING)
        tag, _ = imap_until(conn, f, b"UID FETCH")
        if tag:
            conn.sendall(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (MESSAGE-ID)] {104857600}\r\n")
            time.sleep(3600)
    elif name == "pop3-uidl-many":
        conn.sendall(POP3_GREETING)
        many = b"+OK\r\n" + b"".join(b"%d u%d\r\n" % (i, i) for i in range(1, 1000002)) + b".\r\n"
        pop3_until(conn, f, b"NEVER", uidl=many)
    elif name == "imap-bidi":
        conn.sendall(IMAP_GREETING)
        imap_until(conn, f, b"NEVER", extra={
            b"LOGIN": "* OK [ALERT] pay \u2066here\u2069: invoice \u202egpj.exe\r\n".encode()})
    elif name == "imap-alert":
        conn.sendall(IMAP_GREETING)
        imap_until(conn, f, b"NEVER", extra={
            b"LOGIN": b"* OK [ALERT] Your mailbox is 95% full -- contact your administrator\r\n",
            b"EXAMINE INBOX": b"* OK [ALERT] Maintenance tonight at 22:00\r\n"
                              b"* OK [ALERT] evil \x1b[31m red\r\n"})
    else:
        sys.stderr.write("unknown scenario %s\n" % name)


def main():
    name = sys.argv[1]
    if name in FETCH_ATTACKS:
        BOX.update(messages=2, uidnext=3)
    if name == "imap-second-silent":
        global TWO_FOLDERS
        TWO_FOLDERS = True
    if name == "pop3-login-delay":
        LOG_LOGIN[0] = True
    if name in ("imap-exists-huge", "imap-exists-huge-nouidnext", "imap-exists-more",
                "imap-fetch-dup-uid", "imap-bidi"):
        LOG_FETCH[0] = True
    if name == "imap-exists-huge":
        BOX.update(messages=4294967295, uidnext=2)
    elif name == "imap-exists-huge-nouidnext":
        BOX.update(messages=4294967295, uidnext=None)
    elif name == "imap-exists-more":
        BOX.update(messages=20000, uidnext=None)
    elif name == "imap-fetch-dup-uid":
        BOX.update(messages=2, uidnext=3)
        DUP_UID[0] = True
    elif name == "imap-bidi":
        GONE_FILE[0] = os.environ.get("MA_HOSTILE_GONE")
        EXTRA_FOLDERS.append(b"&IC4-gpj.exe")
        FETCH_HDR[0] = ("Message-ID: <1@hostile>\r\nFrom: Bob\u200b <bob@example.test>\r\n"
                        "Subject: =?UTF-8?B?" + base64.b64encode("invoice \u202egpj.exe".encode()).decode() +
                        "?=\r\n\r\n").encode()
    tls = None
    if len(sys.argv) >= 5 and sys.argv[2] == "--tls":
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(sys.argv[3], sys.argv[4])
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    print(srv.getsockname()[1], flush=True)

    def serve(conn):
        try:
            if tls:
                conn = tls.wrap_socket(conn, server_side=True)
            scenario(name, conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
