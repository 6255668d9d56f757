#!/usr/bin/env python3
"""The layering of docs/architecture.md, checked against the code.

    layers.py [TOP]      prints TAP; exits 1 if any rule is broken

core/ is in layer folders; a file may include headers of its own layer and
of the layers listed for it in ALLOWED, never of a higher one. tui/ (the
full-screen program) and cli/ (the command line and main) sit on top:
core never includes them, never includes curses and never prints to the
terminal. libetpan's headers reach only the files that call libetpan:
<libetpan/...> and its bridge net/stream.h are included only in core/net/
and core/mail/, and no public header of core/mail/ includes them (the
doctor and the audit use the sessions without seeing libetpan). Includes are read as text: '#include "layer/name.h"' names the
layer; a same-folder '#include "name.h"' is the file's own layer.
"""
import os
import re
import sys

# Each layer and the layers it may include (its own included).
ALLOWED = {
    "base": {"base"},
    "net": {"base", "net"},
    "mail": {"base", "net", "mail"},
    "store": {"base", "net", "store"},
    "audit": {"base", "net", "mail", "store", "audit"},
    "doctor": {"base", "net", "mail", "store", "audit", "doctor"},
    "tui": {"base", "net", "mail", "store", "audit", "doctor", "tui"},
    "cli": {"base", "net", "mail", "store", "audit", "doctor", "tui", "cli"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]', re.M)
# The headers allowed to pass libetpan on to whoever includes them.
LIBETPAN_HEADERS = {"core/net/stream.h", "core/net/transport-internal.h", "core/mail/session_util.h"}
# Writing to the terminal: core reports through results and errors only.
PRINTS = re.compile(r'\b(printf|puts|perror|putchar)\s*\(|\bf(printf|puts|write)\s*\(\s*std(out|err)\b')

n = 0
failed = 0


def result(ok, name, detail=""):
    global n, failed
    n += 1
    if ok:
        print("ok %d - %s" % (n, name))
    else:
        failed += 1
        print("not ok %d - %s" % (n, name))
        for line in detail.splitlines():
            print("# " + line)


def sources(top):
    for base in ("core", "tui", "cli"):
        for d, _, files in os.walk(os.path.join(top, base)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, f), top)


def layer_of(path):
    parts = path.split(os.sep)
    if parts[0] == "core":
        return parts[1] if len(parts) == 3 else None
    return parts[0]


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    files = list(sources(top))
    misplaced = [f for f in files if layer_of(f) not in ALLOWED]
    result(not misplaced, "every source file of core/ is in a layer folder (%s)" %
           " ".join(k for k in ALLOWED if k not in ("tui", "cli")), "\n".join(misplaced))
    known = {}
    for f in files:
        known.setdefault(os.path.basename(f), set()).add(layer_of(f))
    wrong, prints, curses, etpan = [], [], [], []
    for f in files:
        layer = layer_of(f)
        if layer not in ALLOWED:
            continue
        text = open(os.path.join(top, f), encoding="utf-8", errors="replace").read()
        for kind, inc in INCLUDE.findall(text):
            if inc.startswith("libetpan/") or inc == "net/stream.h":
                if layer not in ("net", "mail"):
                    etpan.append("%s (%s) includes %s" % (f, layer, inc))
                elif f.endswith(".h") and f not in LIBETPAN_HEADERS and f != "core/net/stream.h":
                    etpan.append("%s: a header that passes libetpan on to its includers" % f)
            if kind == "<":
                if layer not in ("tui", "cli") and ("curses" in inc or inc == "term.h"):
                    curses.append("%s includes <%s>" % (f, inc))
                continue
            if "/" in inc:
                target = inc.split("/")[0]
            else:
                # Same folder: a header of the file's own layer.
                target = layer if inc in {os.path.basename(x) for x in files
                                          if os.path.dirname(x) == os.path.dirname(f)} else None
            if target is None or target not in ALLOWED:
                wrong.append("%s includes \"%s\": not a header of a known layer" % (f, inc))
            elif target not in ALLOWED[layer]:
                wrong.append("%s (%s) includes \"%s\" (%s): a lower layer must not use a higher one"
                             % (f, layer, inc, target))
        if f.startswith("core"):
            for i, line in enumerate(text.splitlines(), 1):
                code = line.split("//")[0]
                if PRINTS.search(code) and not code.lstrip().startswith(("*", "/*")):
                    prints.append("%s:%d: %s" % (f, i, line.strip()))
    result(not wrong, "every include goes to the same or a lower layer (%d files)" % len(files),
           "\n".join(wrong))
    result(not curses, "core and its layers never include curses", "\n".join(curses))
    result(not etpan, "libetpan reaches only net/ and mail/, through their private headers",
           "\n".join(etpan))
    result(not prints, "core never prints to the terminal", "\n".join(prints))
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
