#!/usr/bin/env python3
"""Seeds a Maildir++ mailbox directly on disk (no IMAP), fast and deterministic.

  seed.py --maildir ROOT --count N [--folder NAME] [--seed S] [--first K]
          [--start-date YYYY-MM-DD] [--days D] [--owner USER] [--list-ids]
  seed.py --standard ROOT [--owner USER]

ROOT is the user's Maildir (Dovecot `mail_location = maildir:~/Maildir`, Maildir++
layout): INBOX is ROOT itself, folder "A" is ROOT/.A, "A/B" is ROOT/.A.B, names on
disk in modified UTF-7 ("Odeslaná pošta" -> ".Odeslan&AOE- po&AWE-ta").

Messages: RFC 5322, LF line endings, files in cur/ named
  <unixtime>.M<k>P<seed>.mailaudit,S=<bytes>,W=<bytes with CRLF>:2,<flags>
with mtime = Date header (Dovecot's INTERNALDATE). Message-ID of message k is
<k.S@example.test> (k counts from --first, default 1). About 60 % carry \\Seen (S),
a few \\Flagged+\\Seen (FS). Sizes range ~500 B .. ~20 KB (mostly small).

Dates never depend on today: without --start-date the oldest message is dated
from FIXED_START (2026-03-02 UTC), so the same arguments write byte-identical
files on any day, in any time zone (a report snapshot compares sizes that
depend on the Date header's length).

--list-ids prints one Message-ID per line (in the order written = UID order).
--standard seeds the fixed set below (constants STANDARD) and prints, one per line,
shell assignments  MA_SEED_INBOX=30  MA_SEED_SENT=10 ... MA_SEED_TOTAL=56.
--owner chowns created directories and files to that user's uid/gid (e.g. mail).
"""
import argparse
import base64
import os
import pwd
import random
import sys
import time

# Default date of the oldest message (2026-03-02 00:00 UTC): fixed so that a
# seed is the same on every day.
FIXED_START = 1772409600

# (folder name, count, env suffix, seed). Tests rely on these numbers.
STANDARD = [
    ("INBOX", 30, "INBOX", 1),
    ("Sent", 10, "SENT", 2),
    ("Trash", 5, "TRASH", 3),
    ("Archive", 8, "ARCHIVE", 4),
    ("Odeslaná pošta", 3, "ODESLANA", 5),
]


def mutf7(name):
    """IMAP modified UTF-7 (RFC 3501 5.1.3)."""
    out = []
    buf = []

    def flush():
        if buf:
            b = "".join(buf).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            buf.clear()

    for ch in name:
        o = ord(ch)
        if 0x20 <= o <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def folder_dir(root, folder):
    if folder.upper() == "INBOX":
        return root
    return os.path.join(root, "." + mutf7(folder).replace("/", "."))


def enc_word(s):
    return "=?UTF-8?B?" + base64.b64encode(s.encode()).decode() + "?="


def enc_word_q(s):
    out = []
    for b in s.encode():
        c = chr(b)
        if c == " ":
            out.append("_")
        elif c.isalnum() and b < 128:
            out.append(c)
        else:
            out.append("=%02X" % b)
    return "=?UTF-8?Q?" + "".join(out) + "?="


NAMES = [
    ("Alice Example", False), ("Bob Builder", False), ("Carol Jones", False),
    ("Jiří Novák", True), ("Zoë Müller", True), ("François Dupont", True),
    ("Ærøskøbing Post", True), ("山田 太郎", True), ("Dave O'Brien", False),
    ("Eve", False), ("Newsletter Team", False), ("Łukasz Żółć", True),
]
SUBJECTS = [
    ("Meeting notes", False), ("Invoice 2024-%d", False), ("Re: your order", False),
    ("Příloha: faktura č. %d", True), ("Grüße aus München", True), ("Café tomorrow?", True),
    ("Weekly report #%d", False), ("Fwd: photos", False), ("Überweisung bestätigt", True),
]
WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et "
         "dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea "
         "commodo consequat duis aute irure in reprehenderit voluptate velit esse cillum eu fugiat nulla").split()
DOWS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def body_pool(rng):
    lines = []
    total = 0
    while total < 64 * 1024:
        n = rng.randint(6, 12)
        line = " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def rfc2822_date(ts, tzmin):
    t = time.gmtime(ts + tzmin * 60)
    sign = "+" if tzmin >= 0 else "-"
    return "%s, %d %s %04d %02d:%02d:%02d %s%02d%02d" % (
        DOWS[t.tm_wday], t.tm_mday, MONS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec,
        sign, abs(tzmin) // 60, abs(tzmin) % 60)


def pick_size(rng):
    r = rng.random()
    if r < 0.6:
        return rng.randint(500, 2000)
    if r < 0.9:
        return rng.randint(2000, 8000)
    return rng.randint(8000, 20000)


def make_message(rng, k, seed, ts, pool):
    name, nonascii = rng.choice(NAMES)
    local = "user%d" % rng.randint(1, 50)
    disp = (enc_word(name) if rng.random() < 0.5 else enc_word_q(name)) if nonascii else '"%s"' % name
    subj, sub_nonascii = rng.choice(SUBJECTS)
    if "%d" in subj:
        subj = subj % k
    if sub_nonascii:
        subj_h = enc_word(subj)
    elif k % 7 == 0:
        # long folded Subject line
        extra = " ".join(rng.choice(WORDS) for _ in range(30))
        subj_h = subj + " -- " + extra[:60] + "\n " + extra[60:] + "\n\tend of subject %d" % k
    else:
        subj_h = subj
    tz = rng.choice((0, 60, 120, -300, 330))
    hdr = ("Return-Path: <%s@example.org>\n"
           "Received: from mx.example.org by mail.example.test; %s\n"
           "Date: %s\n"
           "From: %s <%s@example.org>\n"
           "To: Alice <alice@example.test>\n"
           "Subject: %s\n"
           "Message-ID: <%d.%d@example.test>\n"
           "MIME-Version: 1.0\n"
           "Content-Type: text/plain; charset=utf-8\n"
           "Content-Transfer-Encoding: 8bit\n"
           "\n") % (local, rfc2822_date(ts, 0), rfc2822_date(ts, tz), disp, local, subj_h, k, seed)
    h = hdr.encode()
    want = max(pick_size(rng) - len(h), 40)
    off = rng.randint(0, len(pool) - want - 1)
    body = pool[off:off + want]
    # start and end on line boundaries
    nl = body.find(b"\n")
    if 0 <= nl < len(body) - 2:
        body = body[nl + 1:]
    if not body.endswith(b"\n"):
        body = body[:body.rfind(b"\n") + 1] or b"Hello.\n"
    return h + body


def ensure_dirs(d, owner, is_folder):
    made = []
    for p in (d, os.path.join(d, "cur"), os.path.join(d, "new"), os.path.join(d, "tmp")):
        if not os.path.isdir(p):
            os.makedirs(p, 0o700, exist_ok=True)
            made.append(p)
    if is_folder:
        mf = os.path.join(d, "maildirfolder")
        if not os.path.exists(mf):
            os.close(os.open(mf, os.O_CREAT | os.O_WRONLY, 0o600))
            made.append(mf)
    if owner:
        for p in made + [d]:
            os.chown(p, owner[0], owner[1])


def seed_folder(root, folder, count, seed, first=1, start_ts=None, days=180, owner=None, ids=None):
    rng = random.Random(seed * 1000003 + first)
    pool = body_pool(rng)
    if owner and not os.path.isdir(root):
        os.makedirs(root, 0o700, exist_ok=True)
        os.chown(root, owner[0], owner[1])
    d = folder_dir(root, folder)
    ensure_dirs(d, owner, d != root)
    cur = os.path.join(d, "cur")
    span = days * 86400
    if start_ts is None:
        start_ts = FIXED_START
    step = span / max(count, 1)
    flags_o = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    uid = gid = -1
    if owner:
        uid, gid = owner
    for i in range(count):
        k = first + i
        ts = int(start_ts + i * step + rng.random() * step * 0.9)
        msg = make_message(rng, k, seed, ts, pool)
        r = rng.random()
        fl = "S" if r < 0.55 else ("FS" if r < 0.6 else "")
        size = len(msg)
        vsize = size + msg.count(b"\n")
        name = "%d.M%dP%d.mailaudit,S=%d,W=%d:2,%s" % (ts, k, seed, size, vsize, fl)
        fd = os.open(os.path.join(cur, name), flags_o, 0o600)
        try:
            os.write(fd, msg)
            if owner:
                os.fchown(fd, uid, gid)
            os.utime(fd, (ts, ts))
        finally:
            os.close(fd)
        if ids is not None:
            ids.append("<%d.%d@example.test>" % (k, seed))
    return count


def parse_owner(name):
    if not name:
        return None
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        sys.exit("seed.py: no such user: %s" % name)
    return (pw.pw_uid, pw.pw_gid)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--maildir")
    ap.add_argument("--standard", metavar="ROOT")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--folder", default="INBOX")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--first", type=int, default=1, help="number of the first message (Message-ID <K.S@...>)")
    ap.add_argument("--start-date", help="YYYY-MM-DD (UTC) of the oldest message; default 2026-03-02")
    ap.add_argument("--days", type=int, default=180, help="span of the Date headers (default 180)")
    ap.add_argument("--owner", help="chown to this user (e.g. mail)")
    ap.add_argument("--list-ids", action="store_true", help="print the Message-IDs written")
    a = ap.parse_args()
    owner = parse_owner(a.owner)
    start_ts = None
    if a.start_date:
        import calendar
        start_ts = calendar.timegm(time.strptime(a.start_date, "%Y-%m-%d"))
    if a.standard:
        total = 0
        for folder, n, env, s in STANDARD:
            seed_folder(a.standard, folder, n, s, 1, start_ts, a.days, owner)
            print("MA_SEED_%s=%d" % (env, n))
            total += n
        print("MA_SEED_TOTAL=%d" % total)
        return
    if not a.maildir or a.count < 0:
        ap.error("--maildir ROOT --count N, or --standard ROOT")
    ids = [] if a.list_ids else None
    seed_folder(a.maildir, a.folder, a.count, a.seed, a.first, start_ts, a.days, owner, ids)
    if ids is not None:
        sys.stdout.write("\n".join(ids) + ("\n" if ids else ""))


if __name__ == "__main__":
    main()
