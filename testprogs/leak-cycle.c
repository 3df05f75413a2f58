/*
 * leak-cycle: reference-counted nodes made in pairs that point at each
 * other, so that dropping the last outside reference frees nothing; the
 * notes' "reference cycle" case (counting alone cannot free a cycle, a
 * mark-and-sweep from the roots can see it is garbage).
 *
 * EXPECTED DIAGNOSIS (leakwatch PID): verdict leaking.  The heap grows at
 * 416 000 bytes/s (default), smoothly, in the main malloc arena, that is in
 * [heap] through brk; RSS grows at the same rate.  The main thread makes
 * 200 pairs a second, 2 pairs every 10 ms, in make_pair:
 *
 *   struct node  malloc(1024)  usable 1032, heap chunk 1040 bytes
 *   one pair     asked 2048,   usable 2064, heap 2080 bytes
 *
 * so 200 pairs/s are 409 600 bytes/s asked for, 412 800 bytes/s of
 * malloc_usable_size and 416 000 bytes/s of heap.  Every node comes from
 * node_new at leak-cycle.c:N, the line marked ALLOC-LINE, called from
 * make_pair <- build_pairs_forever <- main.  Nothing outside the pairs
 * points at them: each node's only reference is from its peer (a->peer ==
 * b, b->peer == a, refcount 1 each), so every one of them is "definitely
 * lost" (unreachable from globals, stacks and registers), except that the
 * newest pair or two may still be named by a stale stack slot or register.
 *
 * --rate BYTES_PER_SEC sets the heap growth (pairs per second are rate /
 * 2080; default 416000, i.e. 200/s).  --limit BYTES stops making pairs
 * once the next one would take the heap held by them over BYTES (default
 * 200 MiB = 209715200 bytes: 100 824 pairs, after 504.1 s at the default
 * rate); after that the main thread idles in idle_forever.
 *
 * The program prints "ready pid=<n>" before the first pair, so the growth
 * can be watched from its start, then runs until it is killed.  It has one
 * thread.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testprog.h"

#define TICKS_PER_SEC 100
#define TICK_NS (1000000000L / TICKS_PER_SEC)
#define NODE_SIZE 1024
/* What one pair takes from the heap: both chunks, headers included. */
#define PAIR_HEAP_BYTES 2080
#define DEFAULT_RATE (200L * PAIR_HEAP_BYTES)
#define DEFAULT_LIMIT (200L * 1024 * 1024)

struct opts {
	long rate; /* heap bytes per second */
	long limit; /* heap bytes at most */
};

struct node {
	long refcount;
	struct node *peer; /* holds a reference on the peer */
	unsigned long id;
	unsigned char payload[NODE_SIZE - 3 * sizeof(long)];
};

_Static_assert(sizeof(struct node) == NODE_SIZE, "struct node size");

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: leak-cycle [--rate BYTES_PER_SEC] [--limit BYTES]\n");
	exit(fp == stdout ? 0 : 64);
}

__attribute__((noinline, noipa)) static void idle_forever(void)
{
	for (;;)
		pause();
}

/* Returns a node with one reference, owned by the caller. */
__attribute__((noinline, noipa)) static struct node *node_new(unsigned long id)
{
	struct node *n;

	n = malloc(sizeof(*n)); /* ALLOC-LINE */
	if (!n)
		err(1, "cannot allocate node %lu", id);
	memset(n, 0, sizeof(*n));
	memset(n->payload, 'a' + (int)(id % 26), sizeof(n->payload));
	n->refcount = 1;
	n->id = id;
	return n;
}

__attribute__((noinline, noipa)) static struct node *node_get(struct node *n)
{
	n->refcount++;
	return n;
}

/*
 * Drops one reference and frees the node when none is left, after dropping
 * the reference it holds on its peer.  Inside a cycle the count never
 * reaches 0: the peer's reference keeps it at 1.
 */
__attribute__((noinline, noipa)) static void node_put(struct node *n)
{
	struct node *peer;

	if (--n->refcount > 0)
		return;
	peer = n->peer;
	n->peer = NULL;
	if (peer)
		node_put(peer);
	free(n);
}

/*
 * The bug: a and b each hold a reference on the other, so when make_pair
 * drops its own references both counts stay at 1 and neither is freed.
 */
__attribute__((noinline, noipa)) static void make_pair(unsigned long id)
{
	struct node *a, *b;

	a = node_new(2 * id);
	b = node_new(2 * id + 1);
	a->peer = node_get(b);
	b->peer = node_get(a);
	node_put(a);
	node_put(b);
}

/*
 * Makes as many pairs as are due by each tick, so the heap grows at
 * opts->rate however the ticks fall, until the next one would pass
 * opts->limit.
 */
__attribute__((noinline, noipa)) static void
build_pairs_forever(const struct opts *opts)
{
	unsigned long max_pairs = opts->limit / PAIR_HEAP_BYTES;
	unsigned long id = 0, due;
	unsigned long long tick = 0;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		tick++;
		wait_tick(&next, TICK_NS);
		due = (unsigned long)(tick * opts->rate /
				      (TICKS_PER_SEC * PAIR_HEAP_BYTES));
		if (due > max_pairs)
			due = max_pairs;
		while (id < due)
			make_pair(id++);
		if (id == max_pairs)
			return;
	}
}

int main(int argc, char **argv)
{
	struct opts opts = { .rate = DEFAULT_RATE, .limit = DEFAULT_LIMIT };

	parse_rate_limit(argc, argv, &opts.rate, 1L << 30, &opts.limit, 0,
			 1L << 40);

	say_ready();
	build_pairs_forever(&opts);
	idle_forever();
}
