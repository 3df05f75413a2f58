/*
 * deadlock-join: the main thread holds a mutex while it joins a thread
 * that needs that mutex to finish; the notes' deadlock case where one edge
 * of the cycle is not a lock but a wait for a thread to end.
 *
 * EXPECTED DIAGNOSIS (lockgraph PID): a deadlock (exit status 1), one cycle
 * of two threads, one lock and one join:
 *
 *   the main thread ("deadlock-join", TID = pid) holds shutdown_lock and
 *     waits in pthread_join for "flusher" to exit
 *   "flusher" waits for shutdown_lock
 *
 * shutdown_lock is a default (normal) pthread mutex, a global data symbol.
 * The main thread took it in begin_shutdown at the line marked HOLD-A and
 * joins in wait_for_flusher at the line marked WAIT-A, under main; the
 * flusher waits for it in flush_and_exit at WAIT-B, under flusher_main.
 * "flusher" sleeps in futex(FUTEX_WAIT_PRIVATE, val 2) on the first word of
 * shutdown_lock, whose __owner is the main thread's TID.  The main thread
 * sleeps in futex() on the TID word of the flusher's struct pthread, which
 * holds the flusher's TID until the kernel clears it as the thread exits
 * (CLONE_CHILD_CLEARTID); glibc 2.36 waits there with a shared futex, op
 * 0x109 (FUTEX_WAIT_BITSET with FUTEX_CLOCK_REALTIME, no PRIVATE flag) and
 * val = the flusher's TID.
 *
 * A bystander, not part of the cycle: "watchdog", in pause() under
 * watchdog_main, which prints "ready pid=<n>" once the flusher sleeps in
 * the kernel on shutdown_lock and the main thread on the flusher's TID;
 * then the program waits until it is killed.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testprog.h"

/*
 * The lock of the cycle.  It is not static so that it is a global data
 * symbol (STB_GLOBAL, STT_OBJECT) in the symbol table, the name lockgraph
 * gives the lock.
 */
pthread_mutex_t shutdown_lock = PTHREAD_MUTEX_INITIALIZER;

/* The flusher and the watchdog name themselves, then meet main here. */
static pthread_barrier_t named;

static pid_t flusher_tid;

static bool shutting_down;
static long flushed;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: deadlock-join\n");
	exit(fp == stdout ? 0 : 64);
}

/* Stops new work from being queued, and keeps shutdown_lock to do so. */
__attribute__((noinline, noipa)) static void begin_shutdown(void)
{
	pthread_mutex_lock(&shutdown_lock); /* HOLD-A */
	shutting_down = true;
}

/*
 * The bug: the main thread waits for the flusher with shutdown_lock still
 * held, and the flusher must take it to see that it is time to stop.
 */
__attribute__((noinline, noipa)) static int wait_for_flusher(pthread_t t)
{
	int rc;

	rc = pthread_join(t, NULL); /* WAIT-A */
	pthread_mutex_unlock(&shutdown_lock);
	return rc;
}

__attribute__((noinline, noipa)) static void flush_and_exit(void)
{
	bool stop;

	do {
		pthread_mutex_lock(&shutdown_lock); /* WAIT-B */
		stop = shutting_down;
		flushed++;
		pthread_mutex_unlock(&shutdown_lock);
	} while (!stop);
}

static void *flusher_main(void *arg)
{
	(void)arg;
	check_in("flusher", &flusher_tid, &named);
	flush_and_exit();
	return NULL;
}

static void *watchdog_main(void *arg)
{
	(void)arg;
	name_self("watchdog");
	pthread_barrier_wait(&named);

	wait_blocked_on(flusher_tid, &shutdown_lock, sizeof(shutdown_lock));
	wait_joining(getpid(), flusher_tid);

	say_ready();
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t flusher, watchdog;

	parse_help_only(argc, argv);

	/* Taken before the flusher exists, so it must wait for it. */
	begin_shutdown();
	pthread_barrier_init(&named, NULL, 3);
	spawn(&flusher, flusher_main, NULL);
	spawn(&watchdog, watchdog_main, NULL);
	pthread_barrier_wait(&named);

	wait_for_flusher(flusher);
	return 0;
}
