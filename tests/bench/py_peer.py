#!/usr/bin/env python3
"""Benchmark peer: the fetches of a first mailaudit audit with nothing but
Python's standard imaplib and poplib (one command at a time, as those
libraries work), IMAP then POP3.

  py_peer.py HOST IMAPS_PORT POP3S_PORT USER PASSWORD_FILE CA_FILE

The password comes from a file, never argv. Prints the counts it saw.
"""
import imaplib
import poplib
import re
import ssl
import sys

# imaplib refuses lines over 1 MB by default; allow what the benchmark's
# largest box needs.
imaplib._MAXLINE = 64 * 1024 * 1024

LIST_RE = re.compile(rb'^\((?P<flags>[^)]*)\) (?:"[^"]*"|NIL) (?P<name>.+)$')


def mailbox_name(raw):
    m = LIST_RE.match(raw)
    if not m or b"\\Noselect" in m.group("flags") or b"\\NonExistent" in m.group("flags"):
        return None
    name = m.group("name")
    if name.startswith(b'"'):
        name = re.sub(rb'\\(.)', rb'\1', name[1:-1])
    return name.decode()


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    host, iport, pport, user, passfile, ca = sys.argv[1:7]
    with open(passfile, encoding="utf-8") as f:
        password = f.readline().rstrip("\r\n")
    ctx = ssl.create_default_context(cafile=ca)

    im = imaplib.IMAP4_SSL(host, int(iport), ssl_context=ctx)
    im.login(user, password)
    typ, lines = im.list('""', '"*"')
    folders = [n for n in (mailbox_name(l) for l in lines if isinstance(l, bytes)) if n]
    fetched = 0
    for name in folders:
        im.status(quote(name), "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")
        im.select(quote(name), readonly=True)  # readonly: EXAMINE
        typ, data = im.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE "
                           "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)])")
        # a message with a literal comes back as a tuple, closing ")" as bytes
        fetched += sum(1 for d in data if isinstance(d, tuple))
    im.logout()

    pop = poplib.POP3_SSL(host, int(pport), context=ctx)
    pop.user(user)
    pop.pass_(password)
    pop.stat()
    uidl = len(pop.uidl()[1])
    pop.list()
    pop.quit()
    print("folders=%d fetched=%d uidl=%d" % (len(folders), fetched, uidl))


if __name__ == "__main__":
    main()
