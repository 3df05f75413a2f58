# sickbay: one top-level make for the library, the tools, the sick programs,
# the tests, the man pages and the benchmarks.
#
#   make            build everything (installs missing Debian packages first)
#   make demo       run each sick program and the tool that diagnoses it
#   make check      build, then every test under prove (TAP)
#   make bench      side-by-side timings against eu-stack and gdb
#   make install    PREFIX=/usr/local DESTDIR=...
#
# WERROR=1 turns warnings into errors; SANITIZE=address,undefined builds the
# library, tools and unit tests (never the sick programs) with sanitizers, in
# a build directory of its own so both builds can live side by side.

VERSION := 0.1.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DESTDIR ?=

CC ?= cc
SANITIZE ?=
WERROR ?=
BUILD ?= build$(if $(SANITIZE),-san)

# pkg-config names of what we link, and the Debian packages that carry them
# plus what the tests, demo and CI use.
PKGS := libunwind-generic libelf libdw libproc2 json-c ncursesw
DEB_PKGS := build-essential pkg-config libunwind-dev libelf-dev libdw-dev \
	libproc2-dev libjson-c-dev libncurses-dev libc6-dbg elfutils binutils \
	gdb jq mandoc perl procps clang-format

DEPS_OK := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wwrite-strings -Wvla -Wundef -Wcast-qual
ifeq ($(WERROR),1)
WARN += -Werror
endif
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer \
	-fno-sanitize-recover=all)

CFLAGS ?= -O2 -g
SB_CFLAGS := -std=gnu11 $(WARN) $(SAN_FLAGS) -D_GNU_SOURCE \
	-DSB_VERSION='"$(VERSION)"' -Ilib
ifeq ($(DEPS_OK),yes)
DEP_CFLAGS := $(shell pkg-config --cflags $(PKGS))
DEP_LIBS := $(shell pkg-config --libs $(PKGS))
endif
LDLIBS := $(DEP_LIBS) -lpthread -lm

LIB_SRCS := $(wildcard lib/sb_*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB_A := $(BUILD)/libsickbay.a
TOOLS := $(patsubst tools/%.c,%,$(wildcard tools/*.c))
TOOL_BINS := $(TOOLS:%=$(BUILD)/bin/%)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)

# The sick programs: plain ones are built the way STYLE.md asks (-O0, frame
# pointers, debug info); VARIANTS are -O2 builds stripped of symbols, named
# <prog>-O2-stripped, for the tools to prove they cope without names.
TP_SRCS := $(wildcard testprogs/*.c)
TP_NAMES := $(TP_SRCS:testprogs/%.c=%)
TP_VARIANTS := spin-worker spin-vdso crash-null crash-stack-overflow
TP_BINS := $(TP_NAMES:%=$(BUILD)/testprogs/%) \
	$(TP_VARIANTS:%=$(BUILD)/testprogs/%-O2-stripped)
TP_CFLAGS := -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -pthread

MANS := $(wildcard man/*.[1-8])

.PHONY: all build deps demo check check-unit check-e2e bench install \
	uninstall clean format format-check lint-man

ifeq ($(DEPS_OK),yes)
all: build
else
# pkg-config flags are read when make starts, so after installing the
# packages the build runs in a fresh make.
all:
	$(MAKE) deps
	$(MAKE) build
endif

build: $(TOOL_BINS) $(TP_BINS) $(UNIT_BINS)

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all packages present"; exit 0; fi; \
	echo "deps: installing:" $$missing; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "deps: not root; run this, then make again:" >&2; \
		echo "  sudo apt-get update && sudo apt-get install -y" $$missing >&2; \
		exit 1; \
	fi; \
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends $$missing

$(BUILD)/lib/%.o: lib/%.c lib/*.h
	@mkdir -p $(@D)
	$(CC) $(SB_CFLAGS) $(DEP_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/bin/%: tools/%.c $(LIB_A) lib/*.h
	@mkdir -p $(@D)
	$(CC) $(SB_CFLAGS) $(DEP_CFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c tests/tap.h $(LIB_A) lib/*.h
	@mkdir -p $(@D)
	$(CC) $(SB_CFLAGS) $(DEP_CFLAGS) $(CFLAGS) -Itests -o $@ $< $(LIB_A) \
		$(LDLIBS)

$(BUILD)/testprogs/%: testprogs/%.c testprogs/testprog.h
	@mkdir -p $(@D)
	$(CC) $(TP_CFLAGS) -O0 -g -fno-omit-frame-pointer -o $@ $<

$(BUILD)/testprogs/%-O2-stripped: testprogs/%.c testprogs/testprog.h
	@mkdir -p $(@D)
	$(CC) $(TP_CFLAGS) -O2 -g -o $@ $<
	strip $@

# Tests find what they run through these variables (tests/lib.sh).
TEST_ENV := LC_ALL=C SB_BIN=$(CURDIR)/$(BUILD)/bin \
	SB_TESTPROGS=$(CURDIR)/$(BUILD)/testprogs SB_TOP=$(CURDIR) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

check: all
	$(TEST_ENV) prove -f $(UNIT_BINS) tests/e2e/*.t

check-unit: all
	$(TEST_ENV) prove -f $(UNIT_BINS)

check-e2e: all
	$(TEST_ENV) prove -f tests/e2e/*.t

demo: all
	@$(TEST_ENV) bash tests/demo.sh

bench: all
	@$(TEST_ENV) bash bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man7
	install -m 755 $(TOOL_BINS) $(DESTDIR)$(BINDIR)
	install -m 644 $(filter %.1,$(MANS)) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(filter %.7,$(MANS)) $(DESTDIR)$(MANDIR)/man7

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(BINDIR)/%) \
		$(patsubst man/%,$(DESTDIR)$(MANDIR)/man1/%,$(filter %.1,$(MANS))) \
		$(patsubst man/%,$(DESTDIR)$(MANDIR)/man7/%,$(filter %.7,$(MANS)))

FORMAT_SRCS = $(wildcard lib/*.[ch] tools/*.c tests/*.h tests/unit/*.c)

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

lint-man:
	mandoc -T lint -W warning $(MANS)

clean:
	rm -rf build build-san
