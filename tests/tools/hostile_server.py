#!/usr/bin/env python3
"""A misbehaving IMAP/POP3 server on 127.0.0.1 for the hostile-server tests.

    hostile_server.py SCENARIO [--tls CERT KEY]

Binds a free port, prints it on the first line of stdout, serves
connections with SCENARIO until killed. Each scenario is the smallest
dialogue that reaches the fault; every fault is one a real broken or
malicious server can produce.
"""
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


def imap_until(conn, f, stop_cmd):
    """Answer an IMAP client normally until it sends stop_cmd; return (tag, line)."""
    for line in lines(f):
        tag = tag_of(line)
        cmd = line.split(b" ")[1].strip().upper() if b" " in line else b""
        if cmd == stop_cmd:
            return tag, line
        if cmd == b"CAPABILITY":
            conn.sendall(b"* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN\r\n" + tag + b" OK done\r\n")
        elif cmd == b"LOGIN":
            conn.sendall(tag + b" OK logged in\r\n")
        elif cmd == b"LIST":
            conn.sendall(b'* LIST () "/" INBOX\r\n' + tag + b" OK done\r\n")
        elif cmd == b"STATUS":
            conn.sendall(b"* STATUS INBOX (MESSAGES 1 UIDNEXT 2 UIDVALIDITY 7 UNSEEN 0)\r\n" + tag + b" OK done\r\n")
        elif cmd == b"EXAMINE":
            conn.sendall(b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\n* OK [UIDNEXT 2] x\r\n" + tag +
                         b" OK [READ-ONLY] done\r\n")
        elif cmd == b"UID" and b"SEARCH" in line.upper():
            conn.sendall(b"* SEARCH 1\r\n" + tag + b" OK done\r\n")
        elif cmd == b"LOGOUT":
            conn.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
            return None, None
        else:
            conn.sendall(tag + b" BAD unknown\r\n")
    return None, None


def pop3_until(conn, f, stop_cmd):
    for line in lines(f):
        cmd = line.split(b" ")[0].strip().upper()
        if cmd == stop_cmd:
            return line
        if cmd == b"CAPA":
            conn.sendall(b"+OK\r\nUSER\r\nUIDL\r\nSTLS\r\n.\r\n")
        elif cmd in (b"USER", b"PASS"):
            conn.sendall(b"+OK\r\n")
        elif cmd == b"STAT":
            conn.sendall(b"+OK 2 300\r\n")
        elif cmd == b"UIDL":
            conn.sendall(b"+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n")
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
    else:
        sys.stderr.write("unknown scenario %s\n" % name)


def main():
    name = sys.argv[1]
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
