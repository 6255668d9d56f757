#!/bin/bash
# Builds (once per machine, cached) the Debian 12 roots with Cyrus IMAP and
# Courier-IMAP that tests/integration/t_interop.sh runs (tests/lib/interop.sh):
# about a minute each, with network access to the Debian mirror. Run by
# `make deps`; a root already built for the current package list is kept.
set -u
. "$(dirname "$0")/../lib/interop.sh"
rc=0
for srv in cyrus courier; do
	dir=$(interop_root_dir "$srv") || exit 1
	# Roots built for an older package list or MA_INTEROP_VERSION go.
	for old in "$(dirname "$dir")/$srv"-bookworm-*; do
		case "$old" in "$dir" | "$dir".*) continue ;; esac
		[ -e "$old" ] && rm -rf "$old"
	done
	[ -f "$dir/.mailaudit-complete" ] && continue
	echo "building the $srv test root (mmdebstrap bookworm) in $dir ..."
	start=$(date +%s)
	interop_build_root "$srv" >/dev/null || { rc=1; continue; }
	echo "  done in $(($(date +%s) - start)) s: $(tr '\t\n' '= ' <"$dir/.mailaudit-versions")"
done
exit $rc
