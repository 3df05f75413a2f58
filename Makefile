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
# --as-needed: each tool depends only on the libraries it calls, so
# lockgraph starts without libproc2 (and its libsystemd and libgcrypt).
LDLIBS := -Wl,--as-needed $(DEP_LIBS) -lpthread -lm

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
# Static builds: no LD_PRELOAD, no shared libraries (corepeek run copes).
TP_STATIC := crash-divide
TP_BINS := $(TP_NAMES:%=$(BUILD)/testprogs/%) \
	$(TP_VARIANTS:%=$(BUILD)/testprogs/%-O2-stripped) \
	$(TP_STATIC:%=$(BUILD)/testprogs/%-static)
TP_CFLAGS := -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -pthread

MANS := $(wildcard man/*.[1-8])

.PHONY: all build deps demo check check-unit check-e2e bench install \
	uninstall clean format format-check lint-man fuzz fuzz-heap fuzz-clang

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

$(BUILD)/bin/%: tools/%.c tools/*.h $(LIB_A) lib/*.h
	@mkdir -p $(@D)
	$(CC) $(SB_CFLAGS) $(DEP_CFLAGS) $(CFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c tests/tap.h $(LIB_A) lib/*.h
	@mkdir -p $(@D)
	$(CC) $(SB_CFLAGS) $(DEP_CFLAGS) $(CFLAGS) -Itests -o $@ $< $(LIB_A) \
		$(LDLIBS)

$(BUILD)/testprogs/%: testprogs/%.c testprogs/testprog.h
	@mkdir -p $(@D)
	$(CC) $(TP_CFLAGS) -O0 -g -fno-omit-frame-pointer -o $@ $<

$(BUILD)/testprogs/%-static: testprogs/%.c testprogs/testprog.h
	@mkdir -p $(@D)
	$(CC) $(TP_CFLAGS) -O0 -g -fno-omit-frame-pointer -static -o $@ $<

$(BUILD)/testprogs/%-O2-stripped: testprogs/%.c testprogs/testprog.h
	@mkdir -p $(@D)
	$(CC) $(TP_CFLAGS) -O2 -g -o $@ $<
	strip $@

# Tests find what they run through these variables (tests/lib.sh).
TEST_ENV := LC_ALL=C SB_BIN=$(CURDIR)/$(BUILD)/bin \
	SB_TESTPROGS=$(CURDIR)/$(BUILD)/testprogs SB_TOP=$(CURDIR) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:disable_coredump=0 \
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

FORMAT_SRCS = $(wildcard lib/*.[ch] tools/*.[ch] tests/*.h tests/unit/*.c)

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

lint-man:
	mandoc -T lint -W warning $(MANS)

# make fuzz: the core reader (lib/sb_core.c) under libFuzzer with ASan and
# UBSan, for FUZZ_SECONDS (60); not part of `make check`.  Needs clang with
# libFuzzer (installed here when missing and root).  The fuzzer is rebuilt
# every time (a few seconds), so FUZZ_CFLAGS always takes effect (e.g.
# FUZZ_CFLAGS=-fno-sanitize=nonnull-attribute to look past a known report).
# The seed corpus is made once by tests/fuzz/seeds.sh into
# $(BUILD)/fuzz/seeds; what the fuzzer finds grows $(BUILD)/fuzz/corpus, and
# a crash lands in $(BUILD)/fuzz/artifacts/.  Reproducers kept in
# tests/fuzz/crashes/ are replayed first: one that still fails is named and
# fails the target (after the fuzzing); one that passes joins the corpus as
# a regression seed.  FUZZ_FLAGS adds libFuzzer options (-jobs=2, -dict=...).
FUZZ_SECONDS ?= 60
FUZZ_FLAGS ?=
FUZZ_CFLAGS ?=
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_BIN := $(FUZZ_DIR)/fuzz_core
# sb_core.c and what it calls (sb_maps_*, sb_vec_reserve).
FUZZ_LIB_SRCS := lib/sb_core.c lib/sb_maps.c lib/sb_util.c
FUZZ_SEED_PROGS := $(addprefix $(BUILD)/testprogs/,crash-divide \
	crash-null-call crash-assert)

fuzz-clang:
	@command -v clang >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			echo "fuzz: installing clang"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends clang >/dev/null || \
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends \
				clang >/dev/null; }; \
		else \
			echo "fuzz: needs clang: sudo apt-get install clang" >&2; \
			exit 1; \
		fi; }

fuzz: fuzz-clang $(FUZZ_SEED_PROGS)
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts $(FUZZ_DIR)/replay
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
		-D_GNU_SOURCE -Ilib $$(pkg-config --cflags libelf) \
		$(FUZZ_CFLAGS) -o $(FUZZ_BIN) tests/fuzz/fuzz_core.c \
		$(FUZZ_LIB_SRCS) $$(pkg-config --libs libelf)
	@if [ ! -d $(FUZZ_DIR)/seeds ]; then \
		rm -rf $(FUZZ_DIR)/seeds.new && \
		SB_TESTPROGS=$(CURDIR)/$(BUILD)/testprogs \
			bash tests/fuzz/seeds.sh $(FUZZ_DIR)/seeds.new && \
		mv $(FUZZ_DIR)/seeds.new $(FUZZ_DIR)/seeds || exit 1; \
	fi
	@export UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1}"; \
	fail=0; \
	for f in tests/fuzz/crashes/*; do \
		[ -f "$$f" ] || continue; \
		log=$(FUZZ_DIR)/replay/$$(basename "$$f").log; \
		if $(FUZZ_BIN) -timeout=10 -rss_limit_mb=2048 "$$f" \
			>"$$log" 2>&1; then \
			cp "$$f" $(FUZZ_DIR)/corpus/; \
		else \
			echo "fuzz: $$f still fails:" \
				"$$(grep -m1 -E '^fuzz_core:|runtime error|== ERROR|^SUMMARY' "$$log")" \
				"(whole report: $$log)" >&2; \
			fail=1; \
		fi; \
	done; \
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/ $(FUZZ_FLAGS) \
		$(FUZZ_DIR)/corpus $(FUZZ_DIR)/seeds || fail=1; \
	exit $$fail

# make fuzz-heap: the heap census walk (lib/sb_heap.c) under libFuzzer, on
# forged process memory that lies (tests/fuzz/fuzz_heap.c), for
# FUZZ_SECONDS; its corpus grows in $(BUILD)/fuzz/heap-corpus.
fuzz-heap: fuzz-clang
	@mkdir -p $(FUZZ_DIR)/heap-corpus $(FUZZ_DIR)/artifacts
	clang -g -O1 -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -fno-omit-frame-pointer \
		-D_GNU_SOURCE -Ilib $(FUZZ_CFLAGS) -o $(FUZZ_DIR)/fuzz_heap \
		tests/fuzz/fuzz_heap.c lib/sb_heap.c lib/sb_maps.c lib/sb_util.c
	UBSAN_OPTIONS="$${UBSAN_OPTIONS:-print_stacktrace=1}" \
		$(FUZZ_DIR)/fuzz_heap -max_total_time=$(FUZZ_SECONDS) \
		-timeout=10 -max_len=4096 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/heap- $(FUZZ_FLAGS) \
		$(FUZZ_DIR)/heap-corpus

clean:
	rm -rf build build-san
