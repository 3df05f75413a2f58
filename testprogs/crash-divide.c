/*
 * crash-divide: statistics that average over an interval with no samples in
 * it; an integer division by zero.
 *
 * EXPECTED DIAGNOSIS (corepeek CORE): killed by SIGFPE, si_code FPE_INTDIV,
 * fault address the address of the idiv instruction itself (equal to the
 * pc); the message names an integer division by zero.  The faulting
 * instruction is in compute_average at crash-divide.c:N, where N is the
 * line marked CRASH-LINE; above it: report_interval <- main.  One thread,
 * the main thread.  The sum is 1234 and the count 0.
 *
 * The program prints "ready pid=<n>", then crashes by itself after --delay MS
 * milliseconds (default 200, 0 for at once).  Raise `ulimit -c` first to get
 * a core.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "testprog.h"

struct opts {
	long delay_ms;
};

/*
 * count is volatile, so the compiler loads it at run time and emits a real
 * idiv for the division rather than folding it or trapping.
 */
struct interval_stats {
	int sum;
	volatile int count;
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: crash-divide [--delay MS]\n");
	exit(fp == stdout ? 0 : 64);
}

/* The bug: no check for an interval without samples. */
__attribute__((noinline, noipa)) static int
compute_average(const struct interval_stats *st)
{
	return st->sum / st->count; /* CRASH-LINE */
}

__attribute__((noinline, noipa)) static int
report_interval(struct interval_stats *st)
{
	int avg = compute_average(st);

	st->sum = 0;
	st->count = 0;
	return avg;
}

int main(int argc, char **argv)
{
	struct opts opts = { .delay_ms = 200 };
	/* The samples were counted, then the count was reset too early. */
	struct interval_stats st = { .sum = 1234, .count = 0 };

	opts.delay_ms = parse_delay(argc, argv, opts.delay_ms);

	say_ready();
	sleep_ms(opts.delay_ms);
	report_interval(&st);
	errx(1, "the division by zero did not trap");
}
