#!/bin/bash
# Installed data files are found (issue 16): `make install` with PREFIX (and
# DESTDIR) puts the program, the man page (and the Czech one under
# share/man/cs, issue 18), providers.rules and the message catalogues in
# place, and
# the installed program, run from another directory, reads the rules of its
# own prefix; an uninstalled build reads the repository's data/; a missing
# rules file is said (the audit's rules-missing note, and --probe's), never
# silently ignored.
#
# No network: the audits go to a closed port on 127.0.0.1, and the obsolete
# name is 127.0.0.1 itself, through a rule added to the installed copy only
# (so a finding proves which file was read). The install never rebuilds the
# program under test (make -o).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/../lib/tap.sh"
need make python3 || tap_bail "missing dependencies"
bin=${MAILAUDIT:-$top/build/mailaudit}
bdir=${MA_BUILD:-$top/build}
[ -x "$bin" ] || tap_bail "mailaudit not built ($bin)"

tmp=$(mktemp -d /tmp/ma-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
elsewhere=$tmp/elsewhere
mkdir -p "$elsewhere"
closed=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])")

install_to() { # make install arguments...
	make -s -C "$top" --no-print-directory BUILD="$bdir" -o "$bdir/mailaudit" install "$@" 2>&1
}

# An audit of 127.0.0.1 (nothing listens: the IMAP look fails at once),
# run from $elsewhere with no MA_RULES, its report on stdout.
audit_with() { # program
	(cd "$elsewhere" && env -u MA_RULES "$1" --imap "127.0.0.1:$closed/tls" --user u@example.test \
		--password-command 'echo x' --no-history --state-dir "$tmp/state" --timeout 5 \
		--report - 2>&1)
}

add_marker_rule() { # rules file
	printf '%s\n' '127.0.0.# | a current name | This test rule marks the installed copy.' >>"$1"
}

# --- PREFIX ------------------------------------------------------------------
out=$(install_to PREFIX="$tmp/prefix")
ok $? "make install PREFIX=$tmp/prefix"
[ -n "$out" ] && diag "$out"
for f in bin/mailaudit share/man/man1/mailaudit.1 share/man/cs/man1/mailaudit.1 \
	share/mailaudit/providers.rules share/locale/cs/LC_MESSAGES/mailaudit.mo; do
	[ -f "$tmp/prefix/$f" ]
	ok $? "installed $f"
done
check_eq "the Czech man page is docs/mailaudit.cs.1" "" \
	"$(cmp "$top/docs/mailaudit.cs.1" "$tmp/prefix/share/man/cs/man1/mailaudit.1" 2>&1)"
check_eq "the English man page is docs/mailaudit.1" "" \
	"$(cmp "$top/docs/mailaudit.1" "$tmp/prefix/share/man/man1/mailaudit.1" 2>&1)"
# man finds the Czech page for a Czech reader, the English one otherwise.
if command -v man >/dev/null 2>&1; then
	check_eq "man under cs_CZ.UTF-8 finds the Czech page" "$tmp/prefix/share/man/cs/man1/mailaudit.1" \
		"$(LC_ALL=cs_CZ.UTF-8 LANG=cs_CZ.UTF-8 LANGUAGE= MANPATH="$tmp/prefix/share/man" man -w mailaudit 2>&1)"
	check_eq "man under C.UTF-8 finds the English page" "$tmp/prefix/share/man/man1/mailaudit.1" \
		"$(LC_ALL=C.UTF-8 LANG=C.UTF-8 LANGUAGE= MANPATH="$tmp/prefix/share/man" man -w mailaudit 2>&1)"
else
	diag "man not installed: which page man finds is not checked"
fi
# The Czech catalogue of its own prefix (the build's locale/ is not beside it).
help=$(cd "$elsewhere" && env -u MA_LOCALEDIR LC_ALL=cs_CZ.UTF-8 "$tmp/prefix/bin/mailaudit" --help)
check_contains "the installed program, run elsewhere, reads its prefix's Czech catalogue" "$help" \
	"Použití: mailaudit"
add_marker_rule "$tmp/prefix/share/mailaudit/providers.rules"
rep=$(audit_with "$tmp/prefix/bin/mailaudit")
check_contains "the installed program, run elsewhere, reads its prefix's rules" "$rep" "host-obsolete"
check_not_contains "... and says nothing is missing" "$rep" "rules-missing"

# A link to it (as in /usr/local/bin) still finds the prefix it was installed in.
ln -s "$tmp/prefix/bin/mailaudit" "$tmp/link-mailaudit"
rep=$(audit_with "$tmp/link-mailaudit")
check_contains "a symbolic link to the installed program finds its rules" "$rep" "host-obsolete"

# --- DESTDIR (a staged install, run from the staging tree) -------------------
out=$(install_to DESTDIR="$tmp/stage" PREFIX=/opt/x)
ok $? "make install DESTDIR=$tmp/stage PREFIX=/opt/x"
[ -f "$tmp/stage/opt/x/share/mailaudit/providers.rules" ]
ok $? "installed DESTDIR/opt/x/share/mailaudit/providers.rules"
[ -f "$tmp/stage/opt/x/share/man/cs/man1/mailaudit.1" ]
ok $? "installed DESTDIR/opt/x/share/man/cs/man1/mailaudit.1"
add_marker_rule "$tmp/stage/opt/x/share/mailaudit/providers.rules"
rep=$(audit_with "$tmp/stage/opt/x/bin/mailaudit")
check_contains "the staged program reads the staged rules" "$rep" "host-obsolete"

# --- missing -----------------------------------------------------------------
rm "$tmp/prefix/share/mailaudit/providers.rules"
if [ -e /usr/local/share/mailaudit/providers.rules ]; then
	diag "/usr/local/share/mailaudit/providers.rules exists (the compiled-in default): missing file not checked"
else
	rep=$(audit_with "$tmp/prefix/bin/mailaudit")
	check_contains "a missing rules file is a note in the audit's findings" "$rep" "rules-missing"
	check_contains "... naming where it was looked for" "$(printf '%s' "$rep" | tr -d '\n ')" \
		"$(printf '%s' "$tmp/prefix/share/mailaudit/providers.rules" | tr -d ' ')"
	probe=$(cd "$elsewhere" && env -u MA_RULES "$tmp/prefix/bin/mailaudit" --probe \
		--imap "127.0.0.1:$closed/tls" --pop3 "127.0.0.1:$closed/tls" --timeout 5 2>&1)
	check_contains "... and in --probe's output" "$probe" "rules-missing"
fi

# A broken rules file is said too (not taken for no rules).
printf 'no bars on this line\n' >"$tmp/prefix/share/mailaudit/providers.rules"
rep=$(audit_with "$tmp/prefix/bin/mailaudit")
check_contains "an unreadable rules file is a note naming the line" "$rep" "line 1"

# --- the uninstalled build -----------------------------------------------------
rep=$(audit_with "$bin")
check_not_contains "the build, run elsewhere, finds the repository's data/providers.rules" "$rep" \
	"rules-missing"
tap_done
