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
	[ -f "$dir/.mailaudit-complete" ] && continue
	echo "building the $srv test root (mmdebstrap bookworm) in $dir ..."
	start=$(date +%s)
	interop_build_root "$srv" >/dev/null || { rc=1; continue; }
	echo "  done in $(($(date +%s) - start)) s: $(tr '\t\n' '= ' <"$dir/.mailaudit-versions")"
done
exit $rc
