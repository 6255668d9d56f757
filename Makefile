# mailaudit: hand-written Makefile. `make help` lists the targets.

PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man/man1
# Translated man pages: docs/mailaudit.LANG.1 -> $(PREFIX)/share/man/LANG/man1/mailaudit.1
MANBASE  = $(PREFIX)/share/man
DATADIR  = $(PREFIX)/share/mailaudit
LOCALEDIR = $(PREFIX)/share/locale

VERSION := 0.1.0
BUILD   ?= build
CC      ?= cc
PKG_CONFIG ?= pkg-config

WARN    = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
ifneq ($(CI),)
WARN   += -Werror
endif
# Debian's libetpan.pc leaks -specs=no-pie-link.specs and over-links
# gnutls/db/sasl, so take nothing from it but plain -letpan.
PKGS    = ncursesw openssl sqlite3
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

OPT     ?= -O2 -g
SAN     ?=
CPPFLAGS += -Icore -I. -DMA_VERSION='"$(VERSION)"' -DMA_DATADIR='"$(DATADIR)"' -DMA_LOCALEDIR='"$(LOCALEDIR)"' -D_GNU_SOURCE
CFLAGS  ?=
ALL_CFLAGS = -std=c11 $(OPT) $(SAN) $(WARN) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
LDLIBS  = $(PKG_LIBS) -letpan -lresolv -lpthread
ALL_LDFLAGS = $(SAN) $(LDFLAGS)

# core/ in layers, lowest first (docs/architecture.md; tests/static/t_layers.sh
# fails when a lower layer includes a higher one).
LAYERS    := base net mail store audit doctor
CORE_SRC  := $(sort $(foreach l,$(LAYERS),$(wildcard core/$(l)/*.c)))
TUI_SRC   := $(sort $(wildcard tui/*.c) $(wildcard cli/*.c))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
TOOL_SRC  := $(sort $(wildcard tests/tools/*.c))

CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/%.o)
TUI_OBJ   := $(TUI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
CORE_LIB  := $(BUILD)/libmailaudit.a
# Message catalogues: po/LANG.po compiled into the build's own locale tree,
# which an uninstalled program reads (core/base/i18n.c).
PO_FILES  := $(sort $(wildcard po/*.po))
MO_FILES  := $(PO_FILES:po/%.po=$(BUILD)/locale/%/LC_MESSAGES/mailaudit.mo)

.SECONDARY:
.PHONY: all test test-only demo deps deps-packages bench install clean asan fuzz valgrind help pot

all: $(BUILD)/mailaudit $(UNIT_BIN) $(TOOL_BIN) $(MO_FILES)
	@ln -sf $(BUILD)/mailaudit mailaudit

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/locale/%/LC_MESSAGES/mailaudit.mo: po/%.po
	@mkdir -p $(dir $@)
	msgfmt -c -o $@ $<

# For translators: po/mailaudit.pot from every marked text (_, N_, P_),
# then `msgmerge -U po/cs.po po/mailaudit.pot`.
# findings.c goes through the preprocessor first (MA_POT keeps N_ as it is),
# since the findings table builds its texts from macros.
XGETTEXT = xgettext --from-code=UTF-8 --language=C --keyword=_ --keyword=N_ --keyword=P_:1,2 \
	--add-comments=TRANSLATORS: --package-name=mailaudit --package-version=$(VERSION)
pot:
	@mkdir -p $(BUILD)/pot
	$(XGETTEXT) -o $(BUILD)/pot/sources.pot $(filter-out core/audit/findings.c,$(CORE_SRC)) \
		$(TUI_SRC) $(wildcard core/*/*.h tui/*.h)
	$(CC) -E -P $(CPPFLAGS) -DMA_POT $(PKG_CFLAGS) core/audit/findings.c -o $(BUILD)/pot/findings.c
	$(XGETTEXT) -o $(BUILD)/pot/findings.pot $(BUILD)/pot/findings.c
	msgcat --use-first -o po/mailaudit.pot $(BUILD)/pot/sources.pot $(BUILD)/pot/findings.pot

$(CORE_LIB): $(CORE_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/mailaudit: $(TUI_OBJ) $(CORE_LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TUI_OBJ) $(CORE_LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(CORE_LIB) $(CMOCKA_LIBS) $(LDLIBS)

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -c $< -o $@

$(BUILD)/tools/%: $(BUILD)/tests/tools/%.o $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(CORE_LIB) $(LDLIBS)

# Everything the README's two commands need, installed only when missing.
deps:
	@sh tests/tools/deps.sh

# The packages alone, without the interop suite's server roots (which need
# root and a minute each): what the demo and the benchmark use.
deps-packages:
	@sh tests/tools/deps.sh --packages-only

# The whole suite: normal build, then the same tests under ASan+UBSan.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=undefined' all
	@sh tests/run.sh build build-asan

# Tests only, no deps check (for quick iteration): make test-only [T=pattern]
test-only: all
	@sh tests/run.sh build "" '$(T)'

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT='-O1 -g -fno-omit-frame-pointer' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=undefined' all

demo: deps-packages
	@$(MAKE) --no-print-directory all
	@bash tests/tools/demo.sh $(BUILD)/mailaudit

bench: deps-packages
	@$(MAKE) --no-print-directory all
	@bash tests/bench/bench.sh $(BUILD)/mailaudit

# Every libFuzzer target for FUZZ_SECONDS each (default 60), after its corpus.
fuzz:
	@bash tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

# The sessions subset under valgrind memcheck (normal build only; see
# tests/integration/t_valgrind.sh, which make test also runs).
valgrind: all
	@MA_BUILD=$(CURDIR)/$(BUILD) MAILAUDIT=$(CURDIR)/$(BUILD)/mailaudit MA_TOOLS=$(CURDIR)/$(BUILD)/tools \
		bash tests/integration/t_valgrind.sh

install: $(BUILD)/mailaudit $(MO_FILES)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DATADIR)
	install -m 0755 $(BUILD)/mailaudit $(DESTDIR)$(BINDIR)/mailaudit
	install -m 0644 docs/mailaudit.1 $(DESTDIR)$(MANDIR)/mailaudit.1
	@for page in $(wildcard docs/mailaudit.*.1); do \
		l=$${page#docs/mailaudit.}; l=$${l%.1}; \
		echo install -D -m 0644 $$page $(DESTDIR)$(MANBASE)/$$l/man1/mailaudit.1; \
		install -D -m 0644 $$page $(DESTDIR)$(MANBASE)/$$l/man1/mailaudit.1 || exit 1; \
	done
	install -m 0644 data/providers.rules $(DESTDIR)$(DATADIR)/providers.rules
	@for mo in $(MO_FILES); do \
		l=$${mo#$(BUILD)/locale/}; l=$${l%%/*}; \
		echo install -D -m 0644 $$mo $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/mailaudit.mo; \
		install -D -m 0644 $$mo $(DESTDIR)$(LOCALEDIR)/$$l/LC_MESSAGES/mailaudit.mo || exit 1; \
	done

clean:
	rm -rf build build-asan build-fuzz mailaudit

help:
	@echo "targets: all test demo deps bench install clean asan fuzz valgrind test-only pot"

-include $(CORE_OBJ:.o=.d) $(TUI_OBJ:.o=.d) $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.d) $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%.d)
