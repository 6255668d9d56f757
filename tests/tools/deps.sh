#!/bin/sh
# Installs, with apt-get, every Debian package needed to build, test, demo and
# bench mailaudit, and only those that are missing. Not root: print the line.
set -u
PKGS="build-essential pkg-config libetpan-dev libncurses-dev libssl-dev libsqlite3-dev libcmocka-dev
 dovecot-imapd dovecot-pop3d dovecot-submissiond openssl tmux fetchmail getmail6 mpop isync faketime
 python3 procps locales tzdata gettext man-db groff-base
 mmdebstrap
 clang libclang-rt-14-dev dnsmasq-base"

# The Czech locale the terminal tests use (locales only ships the list).
LOCALE=cs_CZ.UTF-8
have_locale() { locale -a 2>/dev/null | grep -qix 'cs_CZ\.utf-\{0,1\}8'; }
make_locale() {
	have_locale && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "mailaudit's tests need the $LOCALE locale. Generate it with:" >&2
		echo "  sudo sed -i 's/^# *\\($LOCALE UTF-8\\)/\\1/' /etc/locale.gen && sudo locale-gen" >&2
		return 1
	fi
	grep -q "^ *$LOCALE UTF-8" /etc/locale.gen 2>/dev/null ||
		echo "$LOCALE UTF-8" >>/etc/locale.gen
	locale-gen >/dev/null && have_locale
}

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
# The Cyrus and Courier roots of the interop suite (tests/lib/interop.sh),
# built with mmdebstrap once the packages are there.
# `deps.sh --packages-only` (make demo, make bench) leaves them out.
roots() {
	[ "${1:-}" = --packages-only ] && return 0
	[ "$(id -u)" = 0 ] || { echo "the interop suite's server roots need root: sudo make deps" >&2; return 1; }
	bash "$(dirname "$0")/interop_roots.sh"
}
if [ -z "$missing" ]; then
	make_locale || exit 1
	roots "$@"
	exit
fi

if [ "$(id -u)" != 0 ]; then
	echo "mailaudit needs these packages:$missing" >&2
	echo "Install them with:" >&2
	echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || { echo "apt-get update failed" >&2; exit 1; }
# Debian's Dovecot packages try to start the system service; a policy-rc.d
# that forbids it keeps the machine's own Dovecot off (tests run a private one).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
fi
apt-get install -y -q --no-install-recommends $missing
rc=$?
[ "$made_policy" = 1 ] && rm -f "$policy"
[ "$rc" = 0 ] || exit $rc
make_locale || exit 1
roots "$@"
