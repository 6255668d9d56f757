#!/usr/bin/env python3
"""The shape of the C code: how long its functions are and how many
parameters they take, for keeping an eye on both (docs/architecture.md).

    function_profile.py [DIR...]       (default: core tui cli)

A function is counted from the first line of its definition to its closing
brace in column 0 (the house style: definitions start in column 0, the
opening brace on a line of its own). Prototypes are not definitions. Reads
text only; prints a summary and the longest functions.
"""
import os
import re
import sys

DEF_START = re.compile(r"^[A-Za-z_][A-Za-z0-9_ \t\*]*\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    i = 0
    while i < len(lines):
        m = DEF_START.match(lines[i])
        if not m or lines[i].startswith(("typedef", "struct ", "#", "static const", "enum ")) \
                and "(" not in lines[i].split("=")[0]:
            i += 1
            continue
        # The signature runs until "{" alone at column 0; a ";" first
        # means a prototype or a declaration.
        sig, j = lines[i], i
        while j + 1 < len(lines) and not lines[j + 1].startswith("{") and ";" not in sig \
                and j - i < 12:
            j += 1
            sig += " " + lines[j].strip()
        if ";" in sig or j + 1 >= len(lines) or not lines[j + 1].startswith("{"):
            i += 1
            continue
        k = j + 1
        while k < len(lines) and not lines[k].startswith("}"):
            k += 1
        inner = sig[sig.find("(") + 1:sig.rfind(")")].strip()
        nparams = 0 if inner in ("", "void") else inner.count(",") + 1
        yield m.group(1), k - i + 1, nparams
        i = k + 1


def main():
    dirs = sys.argv[1:] or ["core", "tui", "cli"]
    found = []
    for top in dirs:
        for d, _, files in sorted(os.walk(top)):
            for f in sorted(files):
                if f.endswith(".c"):
                    p = os.path.join(d, f)
                    found += [(n, ln, np, p) for n, ln, np in functions(p)]
    print("functions: %d in %s" % (len(found), " ".join(dirs)))
    for limit in (40, 60, 80, 120):
        print("over %3d lines: %d" % (limit, sum(1 for f in found if f[1] > limit)))
    print("7 or more parameters: %d" % sum(1 for f in found if f[2] >= 7))
    print("longest:")
    for name, length, np, path in sorted(found, key=lambda f: -f[1])[:10]:
        print("  %4d  %s:%s (%d parameters)" % (length, path, name, np))


if __name__ == "__main__":
    main()
