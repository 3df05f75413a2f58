/*
 * crash-assert: a bounded queue whose enqueue forgot the full check, caught
 * by an assertion; a failed assert(3).
 *
 * EXPECTED DIAGNOSIS (corepeek CORE): killed by SIGABRT that the process
 * sent itself (si_code SI_TKILL, si_pid its own pid), from abort() under
 * __assert_fail.  glibc's message, on stderr and in __abort_msg in the core,
 * is: "<prog>: <file>:N: check_invariants: Assertion `queue->count <=
 * queue->capacity && "queue overflow"' failed." on one line, where <prog> is
 * the program's name (crash-assert), <file> the source path the compiler was
 * given (testprogs/crash-assert.c from make) and N the line marked
 * CRASH-LINE.  The stack: the raise in libc (__pthread_kill_implementation)
 * <- raise <- abort <- __assert_fail_base <- __assert_fail <-
 * check_invariants at crash-assert.c:N <- process_batch <- main.  One
 * thread, the main thread.  The queue holds 17 items and has room for 16.
 *
 * The program prints "ready pid=<n>", then crashes by itself after --delay MS
 * milliseconds (default 200, 0 for at once).  Raise `ulimit -c` first to get
 * a core.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

/* The assertion is the point of this program: never compile it away. */
#undef NDEBUG
#include <assert.h>

#include "testprog.h"

#define QUEUE_CAPACITY 16
#define BATCH_SIZE 17

struct opts {
	long delay_ms;
};

struct queue {
	int count;
	int capacity;
	int items[QUEUE_CAPACITY + 8];
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: crash-assert [--delay MS]\n");
	exit(fp == stdout ? 0 : 64);
}

/* The bug: no check that the queue is full (the array has slack, so the
 * overflow stays in bounds and only the assertion sees it). */
__attribute__((noinline, noipa)) static void enqueue(struct queue *queue,
						     int item)
{
	queue->items[queue->count++] = item;
}

__attribute__((noinline, noipa)) static void
check_invariants(const struct queue *queue)
{
	/* clang-format off */
	assert(queue->count <= queue->capacity && "queue overflow"); /* CRASH-LINE */
	/* clang-format on */
}

__attribute__((noinline, noipa)) static int process_batch(struct queue *queue)
{
	int i;

	for (i = 0; i < BATCH_SIZE; i++)
		enqueue(queue, i);
	check_invariants(queue);
	return queue->count;
}

int main(int argc, char **argv)
{
	struct opts opts = { .delay_ms = 200 };
	static struct queue queue = { .count = 0, .capacity = QUEUE_CAPACITY };

	opts.delay_ms = parse_delay(argc, argv, opts.delay_ms);

	say_ready();
	sleep_ms(opts.delay_ms);
	process_batch(&queue);
	errx(1, "the overflowing queue passed its check");
}
