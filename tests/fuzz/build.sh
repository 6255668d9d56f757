#!/bin/sh
# Builds every tests/fuzz/fuzz_*.c as a libFuzzer binary (ASan + UBSan).
#
#   tests/fuzz/build.sh [OUTDIR]        (default: build-fuzz at the top)
#
# Core is compiled once into OUTDIR/libcore.a with coverage instrumentation
# (-fsanitize=fuzzer-no-link); each target links against it, so only the
# objects it needs are pulled in. Up-to-date objects and targets are not
# rebuilt (a changed core/*/*.h rebuilds all of core). Prints nothing but
# errors unless V=1. Needs clang (libFuzzer ships with it).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build-fuzz}
case "$out" in /*) ;; *) out=$(pwd)/$out ;; esac
CC=${FUZZ_CC:-clang}
CFLAGS="-g -O1 -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -I$top/core -DMA_VERSION=\"fuzz\" -DMA_DATADIR=\"/nonexistent\""
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
LIBS="-letpan -lssl -lcrypto -lsqlite3 -lpthread -lresolv"

command -v "$CC" >/dev/null 2>&1 || { echo "build.sh: $CC not found" >&2; exit 2; }
mkdir -p "$out/obj"
# Two test runs in the same tree must not build into one directory at once.
if command -v flock >/dev/null 2>&1; then
	exec 9>"$out/.lock"
	flock 9
fi
say() { [ "${V:-0}" = 1 ] && echo "$@" || true; }

# newer A B...: true if any of B... is newer than A (or A is missing).
newer() {
	t=$1
	shift
	[ -e "$t" ] || return 0
	for f in "$@"; do
		[ "$f" -nt "$t" ] && return 0
	done
	return 1
}

# The newest core header: a change to any header rebuilds every object.
hdr_stamp="$out/obj/.headers"
if newer "$hdr_stamp" "$top"/core/*/*.h; then
	rm -f "$out"/obj/*.o
	touch "$hdr_stamp"
fi

changed=0
jobs=""
for src in "$top"/core/*/*.c; do
	obj="$out/obj/$(basename "$src" .c).o"
	if newer "$obj" "$src"; then
		say "CC $src"
		# Two at a time: the machine is shared.
		$CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$obj.tmp" &
		jobs="$jobs $!:$obj"
		changed=1
		if [ "$(echo "$jobs" | wc -w)" -ge 2 ]; then
			for j in $jobs; do
				wait "${j%%:*}" || { echo "build.sh: compiling ${j#*:} failed" >&2; exit 1; }
				mv "${j#*:}.tmp" "${j#*:}"
			done
			jobs=""
		fi
	fi
done
for j in $jobs; do
	wait "${j%%:*}" || { echo "build.sh: compiling ${j#*:} failed" >&2; exit 1; }
	mv "${j#*:}.tmp" "${j#*:}"
done
# Objects of removed core files must not linger in the archive.
for obj in "$out"/obj/*.o; do
	ls "$top"/core/*/"$(basename "$obj" .o).c" >/dev/null 2>&1 || { rm -f "$obj"; changed=1; }
done
if [ "$changed" = 1 ] || [ ! -e "$out/libcore.a" ]; then
	rm -f "$out/libcore.a"
	ar rcs "$out/libcore.a" "$out"/obj/*.o
fi

for src in "$top"/tests/fuzz/fuzz_*.c; do
	bin="$out/$(basename "$src" .c)"
	if newer "$bin" "$src" "$out/libcore.a" "$top"/core/*/*.h; then
		say "LD $bin"
		$CC $CFLAGS $SAN -fsanitize=fuzzer "$src" "$out/libcore.a" $LIBS -o "$bin.tmp"
		mv "$bin.tmp" "$bin"
	fi
done
