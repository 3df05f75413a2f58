/*
 * mem-steady: threads that allocate and free all the time while the memory
 * they hold stays the same; not a leak, the busy but healthy program a
 * leak detector must call stable.
 *
 * EXPECTED DIAGNOSIS (leakwatch PID): verdict stable.  RSS rises for a
 * warm-up of about 5 s (the working set is full after 0.1 s and RSS near
 * its level after 1 s; the arenas take a few seconds more to settle), then
 * stays flat for ever at about 43 MiB, within 1 MiB either way as the
 * arenas trim and refill: a least-squares slope over minutes is under
 * 5 000 bytes/s, that is growth 0, although the program makes 40 000
 * mallocs and 40 000 frees a second.
 *
 * Four threads "churn-1" ... "churn-4" each keep 1000 live blocks.  Every
 * 10 ms each thread replaces 100 of them picked at random: free the old
 * block, malloc a new one of a random size and write all of it.  Sizes are
 * log-uniform from 16 B to 64 KiB (as many from 16 B to 256 B as from 4 KiB
 * to 64 KiB; mean 8 190 bytes), so 8.2 MB are live per thread and 32.8 MB
 * (31 MiB) in all; the rest of RSS is malloc's headers and free holes.
 * All sizes are below glibc's 128 KiB mmap threshold, so each thread's
 * blocks come from its own malloc arena: anonymous mmap'd memory (64 MiB
 * reserved per arena heap, about 11 MiB of it mapped read-write), not
 * [heap].  The random numbers come from a fixed seed per thread, so every
 * run does the same.  The blocks come from alloc_block at mem-steady.c:N,
 * the line marked ALLOC-LINE, called from churn_forever <- churn_main, and
 * all but the live ones are freed again by churn_forever.
 *
 * --ops N sets the replacements per second per thread (default 10000) and
 * --blocks N the live blocks per thread (default 1000).  The first N
 * allocations fill the working set, at the same pace.
 *
 * The program prints "ready pid=<n>" once the threads have their names,
 * before the first allocation, then runs until it is killed.  The main
 * thread sleeps in pause().
 */
#include <err.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testprog.h"

#define TICKS_PER_SEC 100
#define TICK_NS (1000000000L / TICKS_PER_SEC)
#define NTHREADS 4
#define MIN_SIZE 16
/* log2(64 KiB / 16 B): sizes span 12 doublings. */
#define SIZE_DOUBLINGS 12
#define DEFAULT_OPS 10000
#define DEFAULT_BLOCKS 1000

struct opts {
	long ops; /* replacements per second per thread */
	long blocks; /* live blocks per thread */
};

struct churner {
	int id;
	pthread_t thread;
	uint64_t rng;
	void **slots;
};

static struct opts opts = { .ops = DEFAULT_OPS, .blocks = DEFAULT_BLOCKS };
static pthread_barrier_t started;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: mem-steady [--ops N] [--blocks N]\n");
	exit(fp == stdout ? 0 : 64);
}

/* xorshift64*: small, and the same sequence on every run. */
static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* 16 B << (12 * u) for u uniform in [0, 1): log-uniform up to 64 KiB. */
static size_t random_size(uint64_t *state)
{
	uint64_t r = next_random(state);
	unsigned int doubling = (r >> 32) % SIZE_DOUBLINGS;
	size_t base = (size_t)MIN_SIZE << doubling;

	return base + (size_t)(r & 0xffffffff) % base;
}

__attribute__((noinline, noipa)) static void *alloc_block(size_t size)
{
	void *p;

	p = malloc(size); /* ALLOC-LINE */
	if (!p)
		err(1, "cannot allocate block of %zu bytes", size);
	memset(p, 0x5a, size);
	return p;
}

/*
 * Each tick replaces as many blocks as are due by then: the first
 * opts.blocks fill the empty slots in order, the rest replace random ones.
 */
__attribute__((noinline, noipa)) static void churn_forever(struct churner *c)
{
	unsigned long long tick = 0, done = 0, due;
	struct timespec next;
	size_t slot;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		tick++;
		wait_tick(&next, TICK_NS);
		due = tick * opts.ops / TICKS_PER_SEC;
		for (; done < due; done++) {
			if (done < (unsigned long long)opts.blocks)
				slot = done;
			else
				slot = next_random(&c->rng) % opts.blocks;
			free(c->slots[slot]);
			c->slots[slot] = alloc_block(random_size(&c->rng));
		}
	}
}

static void *churn_main(void *arg)
{
	struct churner *c = arg;
	char name[16];

	snprintf(name, sizeof(name), "churn-%d", c->id);
	name_self(name);
	pthread_barrier_wait(&started);
	churn_forever(c);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ops", required_argument, NULL, 'o' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct churner churners[NTHREADS];
	int c, i;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			opts.ops = parse_num(optarg, 1, 1000000, "ops");
			break;
		case 'b':
			opts.blocks = parse_num(optarg, 1, 1000000, "blocks");
			break;
		case 'h':
			usage(stdout);
			break;
		default:
			usage(stderr);
		}
	}
	no_operands(argc, argv);

	pthread_barrier_init(&started, NULL, NTHREADS + 1);
	for (i = 0; i < NTHREADS; i++) {
		churners[i].id = i + 1;
		churners[i].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		churners[i].slots = calloc(opts.blocks, sizeof(void *));
		if (!churners[i].slots)
			err(1, "cannot allocate %ld slots", opts.blocks);
		spawn(&churners[i].thread, churn_main, &churners[i]);
	}
	/* Every thread has its name; its first allocation is a tick away. */
	pthread_barrier_wait(&started);
	say_ready();
	for (;;)
		pause();
}
