/*
 * deadlock-self: a thread locks a default mutex it already holds; the
 * notes' "a non-recursive Lock taken twice by one thread" case (an RLock,
 * a recursive mutex, would not deadlock).
 *
 * EXPECTED DIAGNOSIS (lockgraph PID): a deadlock (exit status 1), a cycle
 * of one thread and one lock: "reloader" holds config_lock and waits for
 * config_lock.  The lock is a default (normal, non-recursive) pthread
 * mutex, the global data symbol config_lock.  "reloader" took it in
 * reload_config at the line marked HOLD-LINE, then called apply_settings,
 * which waits for it at the line marked WAIT-LINE: the stack is
 * apply_settings <- reload_config <- reloader_main.  The waiter sleeps in
 * futex(FUTEX_WAIT_PRIVATE, val 2) on the first word of config_lock, whose
 * __owner is the waiter's own TID.  The main thread is in pause(), not part
 * of the cycle.
 *
 * The program prints "ready pid=<n>" once "reloader" sleeps in the kernel
 * on config_lock, then waits until it is killed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testprog.h"

/*
 * The lock of the cycle, a default mutex: PTHREAD_MUTEX_INITIALIZER makes
 * it neither recursive nor error-checking, so a second lock by its owner
 * sleeps for ever.  It is not static so that it is a global data symbol
 * (STB_GLOBAL, STT_OBJECT) in the symbol table, the name lockgraph gives
 * the lock.
 */
pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;

/* The reloader names itself and notes its TID, then meets main here. */
static pthread_barrier_t named;

static pid_t reloader_tid;

static int config_generation, settings_applied;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: deadlock-self\n");
	exit(fp == stdout ? 0 : 64);
}

/*
 * The bug: apply_settings guards the settings with config_lock, and its
 * caller reload_config already holds it.
 */
__attribute__((noinline, noipa)) static int apply_settings(int generation)
{
	pthread_mutex_lock(&config_lock); /* WAIT-LINE */
	settings_applied = generation;
	pthread_mutex_unlock(&config_lock);
	return 0;
}

/* Using the result after the call keeps it from being a tail call, so
 * reload_config keeps its own frame even at -O2. */
__attribute__((noinline, noipa)) static int reload_config(void)
{
	int rc;

	pthread_mutex_lock(&config_lock); /* HOLD-LINE */
	config_generation++;
	rc = apply_settings(config_generation);
	pthread_mutex_unlock(&config_lock);
	return rc;
}

static void *reloader_main(void *arg)
{
	(void)arg;
	check_in("reloader", &reloader_tid, &named);
	reload_config();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t reloader;

	parse_help_only(argc, argv);

	pthread_barrier_init(&named, NULL, 2);
	spawn(&reloader, reloader_main, NULL);
	pthread_barrier_wait(&named);

	wait_blocked_on(reloader_tid, &config_lock, sizeof(config_lock));

	say_ready();
	for (;;)
		pause();
}
