/*
 * hang-orphan: a thread exits while it holds a mutex, and every thread that
 * wants the mutex afterwards waits for ever; the notes' deadlock section,
 * where the holder that should unlock is not blocked but gone.
 *
 * EXPECTED DIAGNOSIS (lockgraph PID): a hang with no cycle (exit status
 * 1): three threads wait for a lock whose owner no longer exists.
 *
 *   "pool-user-1", "pool-user-2" and "pool-user-3" wait for pool_lock
 *   pool_lock is held by TID T, the thread "pool-owner", which has exited
 *
 * pool_lock is a default (normal, not robust) pthread mutex, a global data
 * symbol.  "pool-owner" took it in grab_pool at the line marked HOLD-LINE
 * and left with pthread_exit on grab_pool's error path without unlocking.
 * glibc does not notice: __owner still reads T, the dead thread's TID, and
 * /proc/PID/task/T no longer exists (the tool should say the owner exited
 * rather than name a thread).  The users wait in use_pool at the line
 * marked WAIT-LINE, under pool_user_main, each sleeping in
 * futex(FUTEX_WAIT_PRIVATE, val 2) on the first word of pool_lock.  The
 * main thread is in pause(), not part of the hang.
 *
 * The program prints "ready pid=<n>" once "pool-owner" is gone and the
 * three users sleep in the kernel on pool_lock, then waits until it is
 * killed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testprog.h"

#define NUSERS 3

struct pool_user {
	int id;
	pid_t tid;
	pthread_t thread;
};

/*
 * The orphaned lock.  It is not static so that it is a global data symbol
 * (STB_GLOBAL, STT_OBJECT) in the symbol table, the name lockgraph gives
 * the lock.
 */
pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;

/* The users name themselves and note their TIDs, then meet main here. */
static pthread_barrier_t named;

static pid_t owner_tid;

/* The pool is empty, which sends grab_pool down its error path. */
static int pool_free;
static long pool_uses;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: hang-orphan\n");
	exit(fp == stdout ? 0 : 64);
}

/*
 * The bug: when the pool is empty, the thread gives up with pthread_exit
 * and leaves pool_lock locked behind it.
 */
__attribute__((noinline, noipa)) static int grab_pool(void)
{
	pthread_mutex_lock(&pool_lock); /* HOLD-LINE */
	if (pool_free == 0)
		pthread_exit(NULL);
	pool_free--;
	pthread_mutex_unlock(&pool_lock);
	return 0;
}

__attribute__((noinline, noipa)) static void use_pool(void)
{
	pthread_mutex_lock(&pool_lock); /* WAIT-LINE */
	pool_uses++;
	pthread_mutex_unlock(&pool_lock);
}

static void *pool_owner_main(void *arg)
{
	(void)arg;
	name_self("pool-owner");
	owner_tid = gettid();
	grab_pool();
	return NULL;
}

static void *pool_user_main(void *arg)
{
	struct pool_user *u = arg;
	char name[16];

	snprintf(name, sizeof(name), "pool-user-%d", u->id);
	check_in(name, &u->tid, &named);
	use_pool();
	return NULL;
}

int main(int argc, char **argv)
{
	struct pool_user users[NUSERS];
	pthread_t owner;
	int i;

	parse_help_only(argc, argv);

	/* The owner is gone, lock and all, before the first user starts. */
	spawn(&owner, pool_owner_main, NULL);
	pthread_join(owner, NULL);
	wait_gone(owner_tid);

	pthread_barrier_init(&named, NULL, NUSERS + 1);
	for (i = 0; i < NUSERS; i++) {
		users[i].id = i + 1;
		spawn(&users[i].thread, pool_user_main, &users[i]);
	}
	pthread_barrier_wait(&named);

	for (i = 0; i < NUSERS; i++)
		wait_blocked_on(users[i].tid, &pool_lock, sizeof(pool_lock));

	say_ready();
	for (;;)
		pause();
}
