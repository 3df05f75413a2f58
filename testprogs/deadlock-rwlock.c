/*
 * deadlock-rwlock: a writer holds a read-write lock and wants a mutex that
 * a reader holds while it waits to read; the notes' "locks taken in
 * different orders" case with a lock of another kind in the cycle.
 *
 * EXPECTED DIAGNOSIS (lockgraph PID): a deadlock (exit status 1), one cycle
 * of two threads and two locks of different types:
 *
 *   "writer"   holds table_lock (for writing) and waits for stats_lock
 *   "reporter" holds stats_lock and waits for table_lock (to read)
 *
 * table_lock is a pthread_rwlock_t (default attributes, which prefer
 * readers) and stats_lock a default (normal) pthread mutex, both global
 * data symbols.  "writer" took table_lock with pthread_rwlock_wrlock in
 * rebuild_table at the line marked HOLD-A and waits for stats_lock in
 * rebuild_table at WAIT-A, under writer_main; "reporter" took stats_lock in
 * report_stats at HOLD-B and waits in pthread_rwlock_rdlock in report_stats
 * at WAIT-B, under reporter_main.  "writer" sleeps in
 * futex(FUTEX_WAIT_PRIVATE, val 2) on the first word of stats_lock, whose
 * __owner is the reporter's TID.  "reporter" sleeps in futex() on a word
 * inside table_lock that is not its first: on glibc 2.36 a reader kept out
 * by a writer waits with op 0x189 (FUTEX_WAIT_BITSET_PRIVATE with
 * FUTEX_CLOCK_REALTIME) and val 3 on __wrphase_futex, table_lock+8.  An
 * rwlock has no owner field, but glibc keeps the TID of the writer that
 * holds it in __cur_writer, table_lock+24.  The main thread is in pause(),
 * not part of the cycle.
 *
 * The program prints "ready pid=<n>" once both threads sleep in the kernel
 * on the lock they want, then waits until it is killed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testprog.h"

/*
 * The locks of the cycle.  They are not static so that each is a global
 * data symbol (STB_GLOBAL, STT_OBJECT) in the symbol table, the name
 * lockgraph gives the lock.
 */
pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;

/* Both threads name themselves and note their TIDs, then meet main here. */
static pthread_barrier_t named;

/* Both threads hold their first lock before either asks for its second. */
static pthread_barrier_t both_hold;

static pid_t writer_tid, reporter_tid;

static long table_rows, rebuilds, reports;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: deadlock-rwlock\n");
	exit(fp == stdout ? 0 : 64);
}

/* The rebuild: the table for writing first, then the statistics. */
__attribute__((noinline, noipa)) static void rebuild_table(void)
{
	pthread_rwlock_wrlock(&table_lock); /* HOLD-A */
	table_rows = 0;
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&stats_lock); /* WAIT-A */
	rebuilds++;
	pthread_mutex_unlock(&stats_lock);
	pthread_rwlock_unlock(&table_lock);
}

/*
 * The bug: the report holds the statistics while it reads the table, the
 * other order.  A read lock does not help: a writer holds the table.
 */
__attribute__((noinline, noipa)) static long report_stats(void)
{
	long rows;

	pthread_mutex_lock(&stats_lock); /* HOLD-B */
	reports++;
	pthread_barrier_wait(&both_hold);
	pthread_rwlock_rdlock(&table_lock); /* WAIT-B */
	rows = table_rows;
	pthread_rwlock_unlock(&table_lock);
	pthread_mutex_unlock(&stats_lock);
	return rows;
}

static void *writer_main(void *arg)
{
	(void)arg;
	check_in("writer", &writer_tid, &named);
	rebuild_table();
	return NULL;
}

static void *reporter_main(void *arg)
{
	(void)arg;
	check_in("reporter", &reporter_tid, &named);
	report_stats();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t writer, reporter;

	parse_help_only(argc, argv);

	pthread_barrier_init(&named, NULL, 3);
	pthread_barrier_init(&both_hold, NULL, 2);
	spawn(&writer, writer_main, NULL);
	spawn(&reporter, reporter_main, NULL);
	pthread_barrier_wait(&named);

	wait_blocked_on(writer_tid, &stats_lock, sizeof(stats_lock));
	wait_blocked_on(reporter_tid, &table_lock, sizeof(table_lock));

	say_ready();
	for (;;)
		pause();
}
