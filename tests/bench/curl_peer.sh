#!/bin/bash
# Benchmark peer: curl's IMAP and POP3 support fetching the UID/size listing
# (not the headers: one custom command per URL cannot EXAMINE and FETCH
# headers in one go). IMAP then POP3, one curl process each; the URLs go
# through --next so curl reuses its connection.
#
#   curl_peer.sh HOST IMAPS_PORT POP3S_PORT CURL_CONFIG
#
# CURL_CONFIG is a 0600 curl config file with user = "login:password" and
# cacert: credentials never appear in argv. curl SELECTs (not EXAMINEs) the
# folder of an URL; a UID FETCH of sizes changes nothing in it.
#
# Known limit, recorded by the benchmark rather than worked around: curl
# 7.88 counts untagged IMAP replies as "response headers", apparently
# re-counting its buffer on every read, and aborts past 300 KB of them
# ("(56) Too large response headers") after only ~100-300 FETCH lines.
# Chunking does not help short of one process per ~100 messages.
# Prints imap_fetched=N pop3_lines=N; exits 1 when a transfer aborted.
set -u -o pipefail
host=$1 iport=$2 pport=$3 cfg=$4
rc=0

# RFC 3986 percent-encoding for a mailbox name (modified UTF-7: ASCII).
urlenc() {
	local s=$1 out='' c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case "$c" in
		[A-Za-z0-9._~/-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# An URL without a mailbox makes curl send LIST "" *.
list=$(curl -sS -K "$cfg" "imaps://$host:$iport/") || exit 1
args=()
while IFS= read -r line; do
	line=${line%$'\r'}
	case "$line" in *'\Noselect'* | *'\NonExistent'*) continue ;; esac
	# * LIST (flags) "/" name: quoted (always, when it has a space) or an atom
	name=$(printf '%s' "$line" | sed -E 's/^\* LIST \([^)]*\) ("[^"]*"|NIL) //; s/^"(.*)"$/\1/; s/\\(.)/\1/g')
	[ ${#args[@]} -gt 0 ] && args+=(--next)
	args+=(-sS -K "$cfg" "imaps://$host:$iport/$(urlenc "$name")" -X 'UID FETCH 1:* (UID RFC822.SIZE)')
done < <(printf '%s\n' "$list" | grep '^\* LIST ')
n=$(curl "${args[@]}" | grep -c ' FETCH ') || rc=1
echo "imap_fetched=$n"
# A bare POP3 URL lists (LIST); -X UIDL replaces the command.
n=$(curl -sS -K "$cfg" -X UIDL "pop3s://$host:$pport/" --next -sS -K "$cfg" "pop3s://$host:$pport/" | wc -l) || rc=1
echo "pop3_lines=$n"
exit $rc
