/*
 * oom-slurp: reads its whole input into one buffer instead of processing it
 * a piece at a time, and so grows until memory runs out; the notes' "out of
 * memory" case (read a huge file at once where chunks would do).
 *
 * EXPECTED DIAGNOSIS (leakwatch PID): verdict leaking, or rather growing
 * without bound: RSS grows at 2 097 152 bytes/s (2 MiB/s, default),
 * smoothly, and the time left until a memory limit L is (L - RSS) / that
 * rate.  The memory is one anonymous mmap'd block, not [heap]: the buffer
 * is at least 1 MiB from the start, above glibc's 128 KiB mmap threshold,
 * and grows by realloc 1 MiB at a time, which glibc does with mremap.  The
 * mapping is k MiB + 4 KiB for a buffer of k MiB (malloc_usable_size k MiB
 * + 4080 bytes); the data is read into it every 10 ms (20 971 or 20 972
 * bytes a tick), so its pages become resident smoothly while the mapping
 * grows in 1 MiB steps.  The growth is made by grow_input_buffer at
 * oom-slurp.c:N, the line marked ALLOC-LINE, called from slurp_whole_input
 * <- main; the buffer stays reachable (main holds it).
 *
 * The input is /dev/zero, read(2) into the buffer, so the test needs no
 * big file; a read writes every byte it returns, which makes it resident.
 *
 * --rate BYTES_PER_SEC sets the growth (default 2097152).  --limit BYTES
 * stops reading once the buffer holds BYTES (default 256 MiB = 268435456
 * bytes, after 128 s at the default rate); then the program idles in
 * idle_forever, holding it, or with --fail-at-limit it says so and exits
 * with status 3, as a program stopped by a memory limit would fail.  If a
 * realloc fails first (ulimit -v) it exits with status 1.
 *
 * The program prints "ready pid=<n>" before reading anything, so the
 * growth can be watched from its start, then runs until it is killed.  It
 * has one thread.
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testprog.h"

#define TICKS_PER_SEC 100
#define TICK_NS (1000000000L / TICKS_PER_SEC)
#define GROW_STEP (1024L * 1024)
#define DEFAULT_RATE (2L * 1024 * 1024)
#define DEFAULT_LIMIT (256L * 1024 * 1024)
#define INPUT_PATH "/dev/zero"

struct opts {
	long rate; /* bytes per second */
	long limit; /* bytes at most */
	bool fail_at_limit;
};

/* The whole input, which the program means to process once it has it all. */
struct input {
	char *data;
	size_t len;
	size_t cap;
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: oom-slurp [--rate BYTES_PER_SEC] [--limit BYTES] "
		    "[--fail-at-limit]\n");
	exit(fp == stdout ? 0 : 64);
}

__attribute__((noinline, noipa)) static void idle_forever(void)
{
	for (;;)
		pause();
}

/* Makes room for GROW_STEP more bytes: glibc moves the mapping by mremap. */
__attribute__((noinline, noipa)) static void grow_input_buffer(struct input *in)
{
	size_t cap = in->cap + GROW_STEP;
	char *data;

	data = realloc(in->data, cap); /* ALLOC-LINE */
	if (!data)
		err(1, "cannot grow input buffer to %zu bytes", cap);
	in->data = data;
	in->cap = cap;
}

/*
 * The bug: the whole input is kept before any of it is used.  Each tick
 * reads what is due by then, so the buffer fills at opts->rate, up to
 * opts->limit.
 */
__attribute__((noinline, noipa)) static void
slurp_whole_input(struct input *in, const struct opts *opts)
{
	unsigned long long tick = 0;
	struct timespec next;
	size_t due, want;
	ssize_t n;
	int fd;

	fd = open(INPUT_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err(1, "cannot open '%s'", INPUT_PATH);
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (in->len < (size_t)opts->limit) {
		tick++;
		wait_tick(&next, TICK_NS);
		due = (size_t)(tick * opts->rate / TICKS_PER_SEC);
		if (due > (size_t)opts->limit)
			due = opts->limit;
		while (in->len < due) {
			if (in->len == in->cap)
				grow_input_buffer(in);
			want = due - in->len;
			if (want > in->cap - in->len)
				want = in->cap - in->len;
			n = read(fd, in->data + in->len, want);
			if (n < 0)
				err(1, "cannot read '%s'", INPUT_PATH);
			if (n == 0)
				errx(1, "cannot read '%s': unexpected end",
				     INPUT_PATH);
			in->len += n;
		}
	}
	close(fd);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'l' },
		{ "fail-at-limit", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts opts = {
		.rate = DEFAULT_RATE,
		.limit = DEFAULT_LIMIT,
		.fail_at_limit = false,
	};
	struct input in = { NULL, 0, 0 };
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			opts.rate = parse_num(optarg, 1, 1L << 32, "rate");
			break;
		case 'l':
			opts.limit = parse_num(optarg, 0, 1L << 40, "limit");
			break;
		case 'f':
			opts.fail_at_limit = true;
			break;
		case 'h':
			usage(stdout);
			break;
		default:
			usage(stderr);
		}
	}
	no_operands(argc, argv);

	say_ready();
	slurp_whole_input(&in, &opts);
	if (opts.fail_at_limit)
		errx(3, "input buffer reached the limit of %ld bytes",
		     opts.limit);
	idle_forever();
}
