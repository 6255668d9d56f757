#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_session (tests/fuzz/corpus/session/).

Each seed is one mode byte (see fuzz_session.c) followed by the bytes a
server sends. The IMAP and POP3 dialogues were captured from the private
Dovecot 2.3 of tests/lib/dovecot.sh (session_probe --trace, then the "S:"
lines with CRLF); the trace summarizes message data, so the FETCH replies
are written by hand in Dovecot's layout, with literals. Names, addresses and
ids are made up.

    python3 tests/fuzz/make_session_seeds.py [DIR]
"""
import os
import sys

IMAP, POP3 = 0, 1
STARTTLS, HEADERS, TRACE, PW8BIT = 2, 4, 8, 16


def stop_after(n):
    return (n & 7) << 5


def crlf(lines):
    return b"".join(l.encode("utf-8") if isinstance(l, str) else l for l in
                    (x + ("\r\n" if isinstance(x, str) else b"\r\n") for x in lines))


CAPS_PRE = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS "
            "AUTH=PLAIN AUTH=LOGIN")
CAPS_POST = ("IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "
             "THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL "
             "CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 "
             "CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS "
             "BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE "
             "LITERAL+ NOTIFY SPECIAL-USE")


def imap_head(tag_login="2"):
    return [
        f"* OK [CAPABILITY {CAPS_PRE}] Dovecot ready.",
        f"* CAPABILITY {CAPS_PRE}",
        "1 OK Pre-login capabilities listed, post-login capabilities have more.",
        f"* CAPABILITY {CAPS_POST}",
        f"{tag_login} OK Logged in",
        f"* CAPABILITY {CAPS_POST}",
        "3 OK Capability completed (0.001 + 0.000 secs).",
    ]


def fetch_reply(seq, uid, flags, size, date, hdrs):
    body = hdrs.encode("utf-8") if isinstance(hdrs, str) else hdrs
    head = (f"* {seq} FETCH (UID {uid} FLAGS ({flags}) RFC822.SIZE {size} "
            f"INTERNALDATE \"{date}\" BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)] "
            f"{{{len(body)}}}").encode()
    return head + b"\r\n" + body + b")"


def msg_headers(n, subject="Hello", folded=False):
    s = (f"Message-ID: <{n}.fuzz@example.test>\r\n"
         f"Date: Wed, 26 Nov 2025 12:{n:02d}:00 +0100\r\n"
         f"From: Alice Example <alice@example.test>\r\n")
    if folded:
        s += f"Subject: {subject}\r\n =?UTF-8?Q?p=C5=99=C3=ADli=C5=A1?=\r\n"
    else:
        s += f"Subject: {subject}\r\n"
    return s + "\r\n"


def imap_folder(tag, raw, count, uidvalidity, fetch=True, closed=True, headers=True, ftag=1):
    """STATUS, EXAMINE and UID SEARCH take libetpan's numeric tags tag..tag+2;
    UID FETCH is sent by our own reader with tag F<ftag> (core/mail/imap.c)."""
    t = tag
    out = [
        f"* STATUS {raw} (MESSAGES {count} UIDNEXT {count + 1} UIDVALIDITY {uidvalidity} UNSEEN 1)",
        f"{t} OK Status completed (0.001 + 0.000 secs).",
    ]
    if closed:
        out.append("* OK [CLOSED] Previous mailbox closed.")
    out += [
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        "* OK [PERMANENTFLAGS ()] Read-only mailbox.",
        f"* {count} EXISTS",
        f"* {count} RECENT",
        "* OK [UNSEEN 1] First unseen.",
        f"* OK [UIDVALIDITY {uidvalidity}] UIDs valid",
        f"* OK [UIDNEXT {count + 1}] Predicted next UID",
        f"{t + 1} OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).",
        "* SEARCH" + "".join(f" {i}" for i in range(1, count + 1)),
        f"{t + 2} OK Search completed (0.001 + 0.000 secs).",
    ]
    if fetch:
        for i in range(1, count + 1):
            hdr = msg_headers(i, folded=(i == 2)) if headers else None
            if headers:
                out.append(fetch_reply(i, i, "\\Seen" if i % 2 else "", 1000 + i,
                                       f"26-Nov-2025 12:{i:02d}:00 +0100", hdr))
            else:
                out.append(f"* {i} FETCH (UID {i} FLAGS (\\Seen) RFC822.SIZE {1000 + i} "
                           f"INTERNALDATE \"26-Nov-2025 12:00:00 +0000\")")
        out.append(f"F{ftag} OK Fetch completed (0.001 + 0.000 secs).")
    return out


def imap_full():
    lines = imap_head() + [
        '* LIST (\\HasNoChildren) "/" "Odeslan&AOE- po&AWE-ta"',
        '* LIST (\\HasNoChildren \\Trash) "/" Trash',
        '* LIST (\\HasNoChildren) "/" INBOX',
        "4 OK List completed (0.007 + 0.000 + 0.006 secs).",
    ]
    lines += imap_folder(5, "INBOX", 3, 1795696734, closed=False, ftag=1)
    lines += imap_folder(8, '"Odeslan&AOE- po&AWE-ta"', 2, 1795696733, ftag=2)
    lines += imap_folder(11, "Trash", 0, 1795696735, fetch=False)
    lines += ["* BYE Logging out", "14 OK Logout completed."]
    return crlf(lines)


def imap_bad_login():
    return crlf([
        f"* OK [CAPABILITY {CAPS_PRE}] Dovecot ready.",
        f"* CAPABILITY {CAPS_PRE}",
        "1 OK Pre-login capabilities listed, post-login capabilities have more.",
        "2 NO [AUTHENTICATIONFAILED] Authentication failed.",
        "* BYE Logging out",
        "3 OK Logout completed.",
    ])


def imap_starttls():
    return crlf([
        f"* OK [CAPABILITY {CAPS_PRE}] Dovecot ready.",
        f"* CAPABILITY {CAPS_PRE}",
        "1 OK Pre-login capabilities listed, post-login capabilities have more.",
        "2 OK Begin TLS negotiation now.",
    ])


def imap_starttls_injection():
    return crlf([
        "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready.",
        "* CAPABILITY IMAP4rev1 STARTTLS",
        "1 OK done",
        "2 OK Begin TLS negotiation now.",
        "* CAPABILITY IMAP4rev1 AUTH=PLAIN",
    ])


def imap_sasl():
    # 8-bit password: AUTHENTICATE PLAIN with SASL-IR.
    lines = imap_head() + [
        '* LIST (\\HasNoChildren) "/" INBOX',
        "4 OK List completed.",
    ]
    lines += imap_folder(5, "INBOX", 1, 42, closed=False)
    return crlf(lines)


def imap_odd():
    # Odd but legal (and some less legal) server talk after a PREAUTH
    # greeting (no LOGIN is sent). libetpan checks tags: they count up from
    # 1 per command of its own (UID FETCH is ours: F1, F2, ...). Folders are
    # visited sorted: INBOX, "ab?cd", "bad&AAA",
    # then the UTF-7 one; "#public" and "gone" are not selectable.
    lines = [
        "* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] ready, logged in as u",
        "* CAPABILITY IMAP4rev1 LITERAL+",
        "1 OK done",
        '* LIST (\\Noselect \\HasChildren) "." "#public"',
        b'* LIST () NIL {5}\r\nab\x01cd',
        '* LIST (\\NonExistent) "/" "gone"',
        '* LIST () "/" "&Jjo-&ZeVnLIqe-"',
        '* LIST () "/" "bad&AAA"',
        '* LIST () "/" INBOX',
        "2 OK done",
        # INBOX
        "* STATUS INBOX (MESSAGES 2 UIDNEXT 10 UIDVALIDITY 7 UNSEEN 0)",
        "3 OK s",
        "* 2 EXISTS",
        "* OK [UIDVALIDITY 7] x",
        "4 OK [READ-ONLY] x",
        "* SEARCH 9 3",
        "5 OK s",
        "* 1 FETCH (FLAGS (\\Seen))",
        fetch_reply(1, 3, "\\Seen \\Flagged \\Answered \\Deleted \\Draft \\Recent $Junk", 5,
                    "01-Jan-1970 00:00:00 -1200",
                    b"Subject: =?ISO-8859-2?Q?P=F8=EDli=B9?= \x1b[31mred\r\n"
                    b"From: \"Bob\" <bob@x>\r\nMessage-ID: bare@id.example\r\n\r\n"),
        "* 2 FETCH (UID 9 RFC822.SIZE 0 INTERNALDATE \"31-Dec-2099 23:59:59 +1400\" "
        "BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)] \"\")",
        "* 1 EXPUNGE",
        "F1 OK f",
        # "ab\x01cd" (sent as a literal)
        "6 NO [NONEXISTENT] no such folder",
        "7 NO [NONEXISTENT] no such folder",
        # "bad&AAA"
        "* STATUS \"bad&AAA\" ()",
        "8 OK s",
        "9 NO [UNAVAILABLE] try later",
        # the UTF-7 one
        "* BYE server shutting down",
    ]
    return crlf(lines)


def imap_bye_greeting():
    return crlf(["* BYE [UNAVAILABLE] Too many connections"])


def imap_logindisabled():
    return crlf([
        "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready.",
        "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED",
        "1 OK done",
    ])


def pop3_head(stls=True):
    capa = ["CAPA", "TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"]
    if stls:
        capa.append("STLS")
    capa += ["USER", "SASL PLAIN LOGIN"]
    return ["+OK Dovecot ready.", "+OK"] + capa + ["."]


def pop3_full():
    lines = pop3_head() + ["+OK", "+OK Logged in.", "+OK 3 4530"]
    lines += ["+OK", "1 000000016b08285e", "2 000000026b08285e", "3 000000036b08285e", "."]
    lines += ["+OK 3 messages:", "1 1285", "2 578", "3 2667", "."]
    lines += ["+OK 3 4530", "+OK Logging out."]
    return crlf(lines)


def pop3_bad_login():
    return crlf(pop3_head() + ["+OK", "-ERR [AUTH] Authentication failed.", "+OK Logging out"])


def pop3_in_use():
    return crlf(pop3_head() + ["+OK", "-ERR [IN-USE] Mailbox is locked by another POP3 session.",
                               "+OK Logging out"])


def pop3_no_uidl():
    lines = ["+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
             "-ERR unknown command", "+OK", "+OK maildrop locked and ready",
             "+OK 2 320", "-ERR UIDL not supported", "+OK",
             "1 120", "2 200 extra tokens", ".", "+OK 2 320", "+OK bye"]
    return crlf(lines)


def pop3_stls():
    return crlf(pop3_head() + ["+OK Begin TLS negotiation"])


def pop3_hostile():
    # The LIST shapes that crash libetpan's own parser (0, a gap, huge).
    lines = pop3_head(stls=False) + ["+OK", "+OK Logged in.", "+OK 3 30"]
    lines += ["+OK", "0 zero", "1 a", "3 c", "..dotted", "4294967295 huge", "."]
    lines += ["+OK", "1 10", "3 10", "4294967295 10", "."]
    lines += ["+OK 3 30", "+OK"]
    return crlf(lines)


def imap_no_with_data():
    # libetpan hands over LIST, STATUS and SEARCH data even with a NO.
    return crlf([
        "* OK [CAPABILITY IMAP4rev1] ready.",
        "* CAPABILITY IMAP4rev1",
        "1 OK done",
        "2 OK in",
        "* CAPABILITY IMAP4rev1",
        "3 OK done",
        '* LIST () "/" INBOX',
        "4 NO [UNAVAILABLE] list failed half-way",
    ])


def imap_status_search_no():
    return crlf([
        "* PREAUTH ready",
        "* CAPABILITY IMAP4rev1",
        "1 OK done",
        '* LIST () "/" INBOX',
        "2 OK done",
        "* STATUS INBOX (MESSAGES 1)",
        "3 NO status failed",
        "* 1 EXISTS",
        "4 OK [READ-ONLY] x",
        "* SEARCH 1 2",
        "5 NO search failed",
    ])


# ---- our own UID FETCH reader (core/mail/imap.c) ----

def imap_two_folders(first_fetch, second_fetch=None):
    """PREAUTH, LIST of INBOX and Sent; INBOX (tags 2-4) answered with
    first_fetch lines, Sent (tags 5-7) with second_fetch (or a normal fetch
    of one message, F2)."""
    lines = [
        "* PREAUTH [CAPABILITY IMAP4rev1] ready",
        "* CAPABILITY IMAP4rev1",
        "1 OK done",
        '* LIST () "/" INBOX',
        '* LIST () "/" Sent',
        "2 OK done",
        "* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 7 UNSEEN 1)",
        "3 OK s",
        "* 3 EXISTS",
        "4 OK [READ-ONLY] x",
        "* SEARCH 1 2 3",
        "5 OK s",
    ] + first_fetch
    if second_fetch is None:
        second_fetch = [fetch_reply(1, 5, "\\Seen", 10, "01-Jan-2024 00:00:00 +0000", msg_headers(5)),
                        "F2 OK done"]
    lines += [
        "* STATUS Sent (MESSAGES 1 UIDNEXT 6 UIDVALIDITY 8 UNSEEN 0)",
        "6 OK s",
        "* 1 EXISTS",
        "7 OK [READ-ONLY] x",
        "* SEARCH 5",
        "8 OK s",
    ] + second_fetch + ["* BYE bye", "9 OK bye"]
    return lines


def imap_fetch_mixed():
    # Everything a server may put between FETCH responses, and FETCH
    # responses in every shape our parser accepts.
    return crlf(imap_two_folders([
        "* 4 EXISTS",
        "* 4 RECENT",
        "* OK [ALERT] the server says hello",
        "* NO [OVERQUOTA] nearly full",
        "* BAD stray",
        "* FLAGS (\\Answered \\Seen $Junk)",
        "* 2 FETCH (FLAGS (\\Seen))",
        b"* 1 FETCH (MODSEQ (77) UID 1 X-GM-LABELS (\"\\\\Inbox\" {3}\r\na b) FLAGS (\\sEEN \\flagged kw) "
        b"RFC822.SIZE 12 INTERNALDATE \" 1-Feb-2024 09:08:07 +0130\" "
        b"BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)]<0> \"Subject: quoted \\\"hi\\\"\")",
        "* 2 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID DATE FROM SUBJECT)] NIL UID 2 RFC822.SIZE 0)",
        "* 1 EXPUNGE",
        fetch_reply(2, 3, "", 99, "31-Dec-2099 23:59:59 -1200", msg_headers(3, folded=True)),
        "F1 OK done",
    ]))


def imap_fetch_no():
    # A refused FETCH in one folder; the session goes on with the next.
    return crlf(imap_two_folders([
        fetch_reply(1, 1, "\\Seen", 10, "01-Jan-2024 00:00:00 +0000", msg_headers(1)),
        "F1 NO [SERVERBUG] Internal error occurred.",
    ]))


def imap_fetch_bad_tag():
    return crlf(imap_two_folders([
        fetch_reply(1, 1, "\\Seen", 10, "01-Jan-2024 00:00:00 +0000", msg_headers(1)),
        "F2 OK done",
    ]))


def imap_fetch_bye():
    return crlf(imap_two_folders([
        fetch_reply(1, 1, "\\Seen", 10, "01-Jan-2024 00:00:00 +0000", msg_headers(1)),
        "* BYE [UNAVAILABLE] shutting down",
    ]))


def imap_fetch_garbage():
    return crlf(imap_two_folders([
        "* 1 FETCH (UID 1 FLAGS (\\Seen) \x1b[2J junk \"open)",
        "F1 OK done",
    ]))


def imap_fetch_window():
    # 2501 UIDs: two chunk commands (F1, F2) written before any reply.
    lines = [
        "* PREAUTH ready",
        "* CAPABILITY IMAP4rev1",
        "1 OK done",
        '* LIST () "/" INBOX',
        "2 OK done",
        "* STATUS INBOX (MESSAGES 2501 UIDNEXT 2502 UIDVALIDITY 7 UNSEEN 0)",
        "3 OK s",
        "* 2501 EXISTS",
        "4 OK [READ-ONLY] x",
        "* SEARCH" + "".join(f" {i}" for i in range(1, 2502)),
        "5 OK s",
        "* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 1 INTERNALDATE \"01-Jan-2024 00:00:00 +0000\")",
        "F1 OK done",
        "* 2501 FETCH (UID 2501 FLAGS (\\Deleted) RFC822.SIZE 2 INTERNALDATE \"01-Jan-2024 00:00:00 +0000\")",
        "F2 OK done",
        "* BYE bye",
        "6 OK bye",
    ]
    return crlf(lines)


SEEDS = {
    "imap_list_no": (IMAP, imap_no_with_data),
    "imap_status_search_no": (IMAP, imap_status_search_no),
    "imap_dovecot": (IMAP | HEADERS | TRACE, imap_full),
    "imap_dovecot_notrace": (IMAP | HEADERS, imap_full),
    "imap_dovecot_noheaders_stop": (IMAP | stop_after(2), imap_full),
    "imap_bad_login": (IMAP | TRACE, imap_bad_login),
    "imap_starttls": (IMAP | STARTTLS | HEADERS, imap_starttls),
    "imap_starttls_injection": (IMAP | STARTTLS, imap_starttls_injection),
    "imap_sasl_8bit": (IMAP | HEADERS | PW8BIT | TRACE, imap_sasl),
    "imap_odd": (IMAP | HEADERS | TRACE, imap_odd),
    "imap_bye_greeting": (IMAP, imap_bye_greeting),
    "imap_logindisabled": (IMAP, imap_logindisabled),
    "imap_fetch_mixed": (IMAP | HEADERS | TRACE, imap_fetch_mixed),
    "imap_fetch_no": (IMAP | HEADERS, imap_fetch_no),
    "imap_fetch_bad_tag": (IMAP | HEADERS, imap_fetch_bad_tag),
    "imap_fetch_bye": (IMAP | HEADERS, imap_fetch_bye),
    "imap_fetch_garbage": (IMAP | HEADERS, imap_fetch_garbage),
    "imap_fetch_window": (IMAP, imap_fetch_window),
    "imap_fetch_window_stop": (IMAP | stop_after(1), imap_fetch_window),
    "pop3_dovecot": (POP3 | TRACE, pop3_full),
    "pop3_bad_login": (POP3, pop3_bad_login),
    "pop3_in_use": (POP3 | TRACE, pop3_in_use),
    "pop3_no_uidl": (POP3, pop3_no_uidl),
    "pop3_stls": (POP3 | STARTTLS, pop3_stls),
    "pop3_hostile_list": (POP3 | TRACE, pop3_hostile),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus", "session")
    os.makedirs(out, exist_ok=True)
    for name, (mode, fn) in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([mode]) + fn())


if __name__ == "__main__":
    main()
