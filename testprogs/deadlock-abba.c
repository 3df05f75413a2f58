/*
 * deadlock-abba: two threads take the same two mutexes in opposite orders;
 * the notes' "threads that take several locks in different orders" case.
 *
 * EXPECTED DIAGNOSIS (lockgraph PID): a deadlock (exit status 1), one cycle
 * of two threads and two locks:
 *
 *   "transfer" holds accounts_lock and waits for ledger_lock
 *   "audit"    holds ledger_lock   and waits for accounts_lock
 *
 * Both locks are default (normal) pthread mutexes, global data symbols
 * named accounts_lock and ledger_lock.  "transfer" took accounts_lock in
 * transfer_funds at the line marked HOLD-A and waits in transfer_funds at
 * the line marked WAIT-A, under transfer_main; "audit" took ledger_lock in
 * audit_ledger at HOLD-B and waits in audit_ledger at WAIT-B, under
 * audit_main.  Each waiter sleeps in futex(FUTEX_WAIT_PRIVATE, val 2) on
 * the first word of the mutex it wants, whose __owner is the other
 * thread's TID.
 *
 * Bystanders, not part of the cycle: "idle-1" and "idle-2" sleep in
 * pthread_cond_wait on idle_cond under idle_wait, and the main thread is in
 * pause().
 *
 * The program prints "ready pid=<n>" once both threads sleep in the kernel
 * on the mutex they want and both idle threads sleep on idle_cond, then
 * waits until it is killed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testprog.h"

#define NIDLE 2

struct idler {
	int id;
	pid_t tid;
	pthread_t thread;
};

/*
 * The two locks of the cycle.  They are not static so that each is a
 * global data symbol (STB_GLOBAL, STT_OBJECT) in the symbol table, the
 * name lockgraph gives the lock.
 */
pthread_mutex_t accounts_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;

/* Every thread names itself and notes its TID, then meets main here. */
static pthread_barrier_t named;

/* Both threads hold their first lock before either asks for its second. */
static pthread_barrier_t both_hold;

static pid_t transfer_tid, audit_tid;

/* Nothing ever signals idle_cond. */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static int idle_sleepers;

static long balance, entries;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: deadlock-abba\n");
	exit(fp == stdout ? 0 : 64);
}

/* The transfer path: the account first, then the ledger. */
__attribute__((noinline, noipa)) static void transfer_funds(long amount)
{
	pthread_mutex_lock(&accounts_lock); /* HOLD-A */
	balance -= amount;
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&ledger_lock); /* WAIT-A */
	entries++;
	pthread_mutex_unlock(&ledger_lock);
	pthread_mutex_unlock(&accounts_lock);
}

/* The bug: the audit takes the same two locks the other way round. */
__attribute__((noinline, noipa)) static long audit_ledger(void)
{
	long seen;

	pthread_mutex_lock(&ledger_lock); /* HOLD-B */
	seen = entries;
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&accounts_lock); /* WAIT-B */
	seen += balance;
	pthread_mutex_unlock(&accounts_lock);
	pthread_mutex_unlock(&ledger_lock);
	return seen;
}

__attribute__((noinline, noipa)) static void idle_wait(void)
{
	pthread_mutex_lock(&idle_lock);
	idle_sleepers++;
	for (;;)
		pthread_cond_wait(&idle_cond, &idle_lock);
}

static void *transfer_main(void *arg)
{
	(void)arg;
	check_in("transfer", &transfer_tid, &named);
	transfer_funds(100);
	return NULL;
}

static void *audit_main(void *arg)
{
	(void)arg;
	check_in("audit", &audit_tid, &named);
	audit_ledger();
	return NULL;
}

static void *idle_main(void *arg)
{
	struct idler *idler = arg;
	char name[16];

	snprintf(name, sizeof(name), "idle-%d", idler->id);
	check_in(name, &idler->tid, &named);
	idle_wait();
	return NULL;
}

int main(int argc, char **argv)
{
	struct idler idlers[NIDLE];
	pthread_t transfer, audit;
	int i;

	parse_help_only(argc, argv);

	pthread_barrier_init(&named, NULL, 2 + NIDLE + 1);
	pthread_barrier_init(&both_hold, NULL, 2);
	spawn(&transfer, transfer_main, NULL);
	spawn(&audit, audit_main, NULL);
	for (i = 0; i < NIDLE; i++) {
		idlers[i].id = i + 1;
		spawn(&idlers[i].thread, idle_main, &idlers[i]);
	}
	pthread_barrier_wait(&named);

	wait_for_sleepers(&idle_lock, &idle_sleepers, NIDLE);
	for (i = 0; i < NIDLE; i++)
		wait_blocked_on(idlers[i].tid, &idle_cond, sizeof(idle_cond));
	wait_blocked_on(transfer_tid, &ledger_lock, sizeof(ledger_lock));
	wait_blocked_on(audit_tid, &accounts_lock, sizeof(accounts_lock));

	say_ready();
	for (;;)
		pause();
}
