/*
 * crash-readonly: a program that patches its built-in default settings in
 * place, but they are a const table the linker put in read-only memory.
 *
 * EXPECTED DIAGNOSIS (corepeek CORE): killed by SIGSEGV, si_code
 * SEGV_ACCERR (the page is mapped, but not writable), fault address
 * &default_config[3], inside the executable's .rodata (its read-only
 * PT_LOAD segment, r--); the message names a write to read-only memory.
 * The faulting instruction is a store in patch_config at
 * crash-readonly.c:N, where N is the line marked CRASH-LINE; above it:
 * enable_debug_logging <- main.  One thread, the main thread.
 *
 * The program prints "ready pid=<n>", then crashes by itself after --delay MS
 * milliseconds (default 200, 0 for at once).  Raise `ulimit -c` first to get
 * a core.
 */
#include <err.h>
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "testprog.h"

/* Where the log level digit sits in default_config. */
#define LEVEL_POS 3

struct opts {
	long delay_ms;
};

/* The settings compiled in; const, so they live in .rodata. */
static const char default_config[] = "lvl0;retries=3;timeout=30";

static void usage(FILE *fp)
{
	fprintf(fp, "usage: crash-readonly [--delay MS]\n");
	exit(fp == stdout ? 0 : 64);
}

/*
 * The bug: the const is cast away to edit the table in place.  The pointer
 * goes through a volatile variable, so the compiler cannot see that it
 * points to a const object and drop or trap the store.
 */
__attribute__((noinline, noipa)) static void patch_config(size_t pos, char c)
{
	char *volatile text = (char *)(uintptr_t)default_config;

	text[pos] = c; /* CRASH-LINE */
}

__attribute__((noinline, noipa)) static int enable_debug_logging(void)
{
	patch_config(LEVEL_POS, '2');
	return default_config[LEVEL_POS] == '2' ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts opts = { .delay_ms = 200 };

	opts.delay_ms = parse_delay(argc, argv, opts.delay_ms);

	say_ready();
	sleep_ms(opts.delay_ms);
	enable_debug_logging();
	errx(1, "the read-only table was written without a crash");
}
