/*
 * mem-sawtooth: memory that rises and falls in cycles and comes back to
 * where it started, like a batch job that builds a result and drops it; not
 * a leak, the case a leak detector must not cry wolf on.
 *
 * EXPECTED DIAGNOSIS (leakwatch PID): verdict sawtooth (not leaking).  RSS
 * climbs for 10 s, from the baseline to about 41 MiB above it, then falls
 * back to the baseline at once, and again, for ever: period 10 s, peak
 * 42 106 880 bytes above baseline, average slope while climbing 4 210 688
 * bytes/s (4 MiB/s of data plus the chunk header page of each block),
 * long-run growth 0.
 *
 * The memory is anonymous mmap'd blocks, not [heap]: 40 blocks of malloc
 * (1 MiB), each its own mapping of 1 MiB + 4 KiB (malloc_usable_size
 * 1 052 656 bytes), allocated one every 250 ms and filled at 4 MiB/s, 10 ms
 * at a time (41 943 or 41 944 bytes a tick), so RSS rises smoothly.  At the
 * peak all 40 are freed: glibc unmaps each, so RSS really falls.  The
 * blocks come from alloc_block at mem-sawtooth.c:N, the line marked
 * ALLOC-LINE, called from fill_batch <- run_batches_forever <- main, and
 * are freed by free_batch <- run_batches_forever.
 *
 * --rate BYTES_PER_SEC sets how fast the data grows (default 4194304) and
 * --limit BYTES the peak of the data (default 40 MiB = 41943040), so the
 * period is limit / rate seconds, rounded up to whole 10 ms ticks; blocks
 * stay 1 MiB (the last one of a cycle smaller if the limit is not whole
 * MiB, down to 128 KiB so that it is still mmap'd).
 *
 * The program prints "ready pid=<n>" before the first block, then runs
 * until it is killed.  It has one thread.
 */
#include <err.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testprog.h"

#define TICKS_PER_SEC 100
#define TICK_NS (1000000000L / TICKS_PER_SEC)
#define BLOCK_SIZE (1024L * 1024)
#define MMAP_THRESHOLD (128 * 1024)
#define DEFAULT_RATE (4L * 1024 * 1024)
#define DEFAULT_LIMIT (40L * 1024 * 1024)

struct opts {
	long rate; /* bytes per second */
	long limit; /* bytes at the peak */
};

/* The blocks of the cycle in progress; filled is the bytes written so far. */
struct batch {
	char **blocks;
	size_t *sizes;
	size_t nblocks;
	size_t maxblocks;
	size_t filled;
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: mem-sawtooth [--rate BYTES_PER_SEC] "
		    "[--limit BYTES]\n");
	exit(fp == stdout ? 0 : 64);
}

__attribute__((noinline, noipa)) static char *alloc_block(size_t size)
{
	char *p;

	p = malloc(size); /* ALLOC-LINE */
	if (!p)
		err(1, "cannot allocate block of %zu bytes", size);
	return p;
}

/* Writes the batch's data up to due bytes, taking new blocks as it goes. */
__attribute__((noinline, noipa)) static void
fill_batch(struct batch *b, size_t due, size_t limit)
{
	size_t start, end, off, len, size;

	while (b->filled < due) {
		start = b->nblocks ? (b->nblocks - 1) * BLOCK_SIZE : 0;
		end = b->nblocks ? start + b->sizes[b->nblocks - 1] : 0;
		if (b->filled == end) {
			size = limit - end < BLOCK_SIZE ? limit - end :
							  BLOCK_SIZE;
			if (size < MMAP_THRESHOLD)
				size = MMAP_THRESHOLD;
			b->blocks[b->nblocks] = alloc_block(size);
			b->sizes[b->nblocks] = size;
			b->nblocks++;
			start = end;
			end = start + size;
		}
		off = b->filled - start;
		len = (due < end ? due : end) - b->filled;
		memset(b->blocks[b->nblocks - 1] + off, 'x', len);
		b->filled += len;
	}
}

/* Frees every block of the batch: each is unmapped, so RSS falls. */
__attribute__((noinline, noipa)) static void free_batch(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->nblocks; i++)
		free(b->blocks[i]);
	b->nblocks = 0;
	b->filled = 0;
}

/*
 * Each cycle fills the batch at opts->rate up to opts->limit, then drops it
 * at the tick it is full, and the next cycle starts on the next tick.
 */
__attribute__((noinline, noipa)) static void
run_batches_forever(const struct opts *opts)
{
	unsigned long long tick = 0;
	struct batch b = { 0 };
	struct timespec next;
	size_t due;

	b.maxblocks = (opts->limit + BLOCK_SIZE - 1) / BLOCK_SIZE;
	b.blocks = calloc(b.maxblocks, sizeof(*b.blocks));
	b.sizes = calloc(b.maxblocks, sizeof(*b.sizes));
	if (!b.blocks || !b.sizes)
		err(1, "cannot allocate %zu block pointers", b.maxblocks);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		tick++;
		wait_tick(&next, TICK_NS);
		due = (size_t)(tick * opts->rate / TICKS_PER_SEC);
		if (due > (size_t)opts->limit)
			due = opts->limit;
		fill_batch(&b, due, opts->limit);
		if (due == (size_t)opts->limit) {
			free_batch(&b);
			tick = 0;
		}
	}
}

int main(int argc, char **argv)
{
	struct opts opts = { .rate = DEFAULT_RATE, .limit = DEFAULT_LIMIT };

	parse_rate_limit(argc, argv, &opts.rate, 1L << 32, &opts.limit, 1,
			 1L << 36);

	/*
	 * Setting the threshold fixes it.  Left alone, glibc raises it to
	 * the size of the first mmap'd block freed, and from the second cycle
	 * on the blocks would come from [heap] instead.
	 */
	if (!mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
		errx(1, "cannot set the mmap threshold");

	say_ready();
	run_batches_forever(&opts);
}
