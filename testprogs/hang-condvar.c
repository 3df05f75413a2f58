/*
 * hang-condvar: a bounded buffer whose producer leaves without the wake-up
 * that ends the stream, so its consumers wait on the condition variable
 * for ever; the notes' producer/consumer case.
 *
 * EXPECTED DIAGNOSIS (lockgraph PID): a hang with no cycle (exit status
 * 1): every thread sleeps and none can run, but no lock is held.
 *
 *   "consumer-1" and "consumer-2" wait on not_empty (queue_lock released)
 *   the main thread ("hang-condvar", TID = pid) waits in pthread_join for
 *     "consumer-1"
 *
 * queue_lock is a default (normal) pthread mutex, free (__lock 0, __owner
 * 0); not_empty and not_full are pthread_cond_t, all three global data
 * symbols.  Both consumers wait in pthread_cond_wait(&not_empty,
 * &queue_lock) in take_item at the line marked WAIT-LINE, under
 * consumer_main, while the queue is empty; nobody waits on not_full.  On
 * glibc 2.36 each sleeps in futex() with op 0x189 (FUTEX_WAIT_BITSET_PRIVATE
 * with FUTEX_CLOCK_REALTIME) and val 0 on not_empty+0x28 (__g_signals[0]).
 * The main thread joins in wait_for_consumers at the line marked JOIN-LINE,
 * sleeping in futex() on the TID word of consumer-1's struct pthread (op
 * 0x109, val = consumer-1's TID).  The thread "producer" has exited: it
 * found no jobs, so produce_items returned early and skipped close_queue,
 * the broadcast on not_empty that would have ended the stream.
 *
 * A bystander: "watchdog", in pause() under watchdog_main, which prints
 * "ready pid=<n>" once the producer is gone, both consumers sleep in the
 * kernel on not_empty and the main thread on consumer-1's TID; then the
 * program waits until it is killed.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testprog.h"

#define NCONSUMERS 2
#define QUEUE_SIZE 8

struct consumer {
	int id;
	pid_t tid;
	pthread_t thread;
};

/*
 * The bounded buffer's lock and conditions.  They are not static so that
 * each is a global data symbol (STB_GLOBAL, STT_OBJECT) in the symbol
 * table, the name lockgraph gives it.
 */
pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;

/* The buffer, guarded by queue_lock.  closed means no more items. */
static struct {
	int items[QUEUE_SIZE];
	int head, count;
	bool closed;
} queue;

/* The jobs the producer was handed: none. */
static int pending_jobs;

/* Every thread names itself and notes its TID, then meets main here. */
static pthread_barrier_t named;

static struct consumer consumers[NCONSUMERS];
static pthread_t producer;
static pid_t producer_tid;

static long consumed;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: hang-condvar\n");
	exit(fp == stdout ? 0 : 64);
}

__attribute__((noinline, noipa)) static void put_item(int item)
{
	pthread_mutex_lock(&queue_lock);
	while (queue.count == QUEUE_SIZE)
		pthread_cond_wait(&not_full, &queue_lock);
	queue.items[(queue.head + queue.count) % QUEUE_SIZE] = item;
	queue.count++;
	pthread_cond_signal(&not_empty);
	pthread_mutex_unlock(&queue_lock);
}

/* Returns the next item, or -1 once the queue is closed and empty. */
__attribute__((noinline, noipa)) static int take_item(void)
{
	int item = -1;

	pthread_mutex_lock(&queue_lock);
	while (queue.count == 0 && !queue.closed)
		pthread_cond_wait(&not_empty, &queue_lock); /* WAIT-LINE */
	if (queue.count > 0) {
		item = queue.items[queue.head];
		queue.head = (queue.head + 1) % QUEUE_SIZE;
		queue.count--;
		pthread_cond_signal(&not_full);
	}
	pthread_mutex_unlock(&queue_lock);
	return item;
}

/* The end of the stream: wakes every consumer to see it. */
__attribute__((noinline, noipa)) static void close_queue(void)
{
	pthread_mutex_lock(&queue_lock);
	queue.closed = true;
	pthread_cond_broadcast(&not_empty);
	pthread_mutex_unlock(&queue_lock);
}

/*
 * The bug: with nothing to produce, the producer returns at once and
 * skips close_queue, so no consumer is ever woken to see the end.
 */
__attribute__((noinline, noipa)) static int produce_items(int n)
{
	int i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		put_item(i);
	close_queue();
	return n;
}

static void *consumer_main(void *arg)
{
	struct consumer *c = arg;
	char name[16];

	snprintf(name, sizeof(name), "consumer-%d", c->id);
	check_in(name, &c->tid, &named);
	while (take_item() >= 0)
		consumed++;
	return NULL;
}

static void *producer_main(void *arg)
{
	(void)arg;
	check_in("producer", &producer_tid, &named);
	produce_items(pending_jobs);
	return NULL;
}

static void *watchdog_main(void *arg)
{
	int i;

	(void)arg;
	name_self("watchdog");
	pthread_barrier_wait(&named);

	/* The producer must be gone, not merely on its way out. */
	pthread_join(producer, NULL);
	wait_gone(producer_tid);
	for (i = 0; i < NCONSUMERS; i++)
		wait_blocked_on(consumers[i].tid, &not_empty,
				sizeof(not_empty));
	wait_joining(getpid(), consumers[0].tid);

	say_ready();
	for (;;)
		pause();
	return NULL;
}

/* Using the count after the calls keeps the last join from being a tail
 * call, so this function keeps its own frame even at -O2. */
__attribute__((noinline, noipa)) static int wait_for_consumers(void)
{
	int i, joined = 0;

	for (i = 0; i < NCONSUMERS; i++) {
		pthread_join(consumers[i].thread, NULL); /* JOIN-LINE */
		joined++;
	}
	return joined;
}

int main(int argc, char **argv)
{
	pthread_t watchdog;
	int i;

	parse_help_only(argc, argv);

	pthread_barrier_init(&named, NULL, NCONSUMERS + 3);
	for (i = 0; i < NCONSUMERS; i++) {
		consumers[i].id = i + 1;
		spawn(&consumers[i].thread, consumer_main, &consumers[i]);
	}
	spawn(&producer, producer_main, NULL);
	spawn(&watchdog, watchdog_main, NULL);
	pthread_barrier_wait(&named);

	wait_for_consumers();
	return 0;
}
