/*
 * lock-contention: the control case for lockgraph, eight threads that fight
 * over two mutexes all the time but always take them in the same order, so
 * they are slow and never deadlocked.
 *
 * EXPECTED DIAGNOSIS (lockgraph PID): no deadlock and no hang (exit status
 * 0).  Threads "busy-1" ... "busy-8" loop for ever under busy_main.  Each
 * round, update_hot_counters takes hot_lock_a at the line marked LOCK-A and
 * then, still holding it, hot_lock_b at the line marked LOCK-B; then
 * tally_hot_counter takes hot_lock_b alone at the line marked LOCK-B-ONLY.
 * The critical sections are short.  Both locks are default (normal)
 * pthread mutexes, global data symbols.  At any moment several threads may
 * sleep in futex(FUTEX_WAIT_PRIVATE, val 2) on hot_lock_a or hot_lock_b,
 * and a snapshot may show a chain (waiters on hot_lock_a, whose owner
 * waits for hot_lock_b, whose owner runs), but the chain always ends in a
 * thread that is running or runnable, the owners change from one look to
 * the next, and there is no cycle: in the lock-order graph the only edge
 * is hot_lock_a -> hot_lock_b.  The main thread is in pause().  The
 * process keeps every CPU busy (8 threads, user and futex system time).
 *
 * The program prints "ready pid=<n>" once every busy thread has been
 * through its loop at least once, then runs until it is killed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testprog.h"

#define NBUSY 8
/* Steps of work done with both locks held: enough that others must wait. */
#define CRITICAL_STEPS 200

struct busy {
	int id;
	unsigned long rounds; /* atomic: read by main */
	pthread_t thread;
};

/*
 * The contended locks, always taken a then b.  They are not static so that
 * each is a global data symbol (STB_GLOBAL, STT_OBJECT) in the symbol
 * table, the name lockgraph gives the lock.
 */
pthread_mutex_t hot_lock_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t hot_lock_b = PTHREAD_MUTEX_INITIALIZER;

/* Every thread names itself, then meets main here. */
static pthread_barrier_t named;

/* Guarded by hot_lock_a and hot_lock_b.  Volatile, so that even -O2 does
 * the work inside the critical section. */
static volatile unsigned long hot_counter_a, hot_counter_b;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: lock-contention\n");
	exit(fp == stdout ? 0 : 64);
}

/* Both locks, in the one order every thread uses. */
__attribute__((noinline, noipa)) static void update_hot_counters(void)
{
	int i;

	pthread_mutex_lock(&hot_lock_a); /* LOCK-A */
	hot_counter_a++;
	pthread_mutex_lock(&hot_lock_b); /* LOCK-B */
	for (i = 0; i < CRITICAL_STEPS; i++)
		hot_counter_b++;
	pthread_mutex_unlock(&hot_lock_b);
	pthread_mutex_unlock(&hot_lock_a);
}

/* hot_lock_b alone, so that it has waiters of its own too. */
__attribute__((noinline, noipa)) static void tally_hot_counter(void)
{
	int i;

	pthread_mutex_lock(&hot_lock_b); /* LOCK-B-ONLY */
	for (i = 0; i < CRITICAL_STEPS; i++)
		hot_counter_b++;
	pthread_mutex_unlock(&hot_lock_b);
}

static void *busy_main(void *arg)
{
	struct busy *b = arg;
	char name[16];

	snprintf(name, sizeof(name), "busy-%d", b->id);
	name_self(name);
	pthread_barrier_wait(&named);
	for (;;) {
		update_hot_counters();
		tally_hot_counter();
		__atomic_fetch_add(&b->rounds, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct busy busy[NBUSY];
	int i;

	parse_help_only(argc, argv);

	pthread_barrier_init(&named, NULL, NBUSY + 1);
	for (i = 0; i < NBUSY; i++) {
		busy[i].id = i + 1;
		busy[i].rounds = 0;
		spawn(&busy[i].thread, busy_main, &busy[i]);
	}
	pthread_barrier_wait(&named);

	for (i = 0; i < NBUSY; i++) {
		while (__atomic_load_n(&busy[i].rounds, __ATOMIC_RELAXED) == 0)
			sleep_ms(1);
	}

	say_ready();
	for (;;)
		pause();
}
