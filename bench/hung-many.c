/*
 * hung-many: the target of bench/lockgraph.sh, a hung process of N threads
 * (main included) with one ABBA deadlock in it, like
 * testprogs/deadlock-abba, and many bystanders, so that lockgraph and gdb
 * have many threads' owners to read.  Built by bench/lockgraph.sh with cc,
 * not by the Makefile.
 *
 *   usage: hung-many N      (N >= 3, total threads of the process)
 *
 * EXPECTED DIAGNOSIS (lockgraph -p PID): a deadlock (exit status 1), one
 * cycle of two threads and two locks:
 *
 *   "transfer" holds accounts_lock and waits for ledger_lock
 *   "audit"    holds ledger_lock   and waits for accounts_lock
 *
 * Of the other N - 3 threads, the first half (rounded down), "acct-K",
 * wait in pthread_mutex_lock on accounts_lock too (owner: transfer), and
 * the rest, "idle-K", sleep in pthread_cond_wait on idle_cond, which
 * nothing signals.  The main thread sleeps in pause().  Every thread but
 * main has a 64 KiB stack.
 *
 * It prints "transfer tid=T audit tid=A acct=M idle=I" and then
 * "ready pid=P" once every thread but main sleeps in futex() on the
 * object it is meant to wait on (checked in /proc/self/task/TID/syscall,
 * "202 uaddr ..."), then waits until it is killed.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define STACK_SIZE (64 * 1024)

/* Global data symbols, so that both tools can name them. */
pthread_mutex_t accounts_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;

static pthread_barrier_t both_hold;
static int idle_sleepers;
static long balance, entries;

struct worker {
	int id;
	pid_t tid;
	pthread_t thread;
};

static pid_t transfer_tid, audit_tid;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void name_self(const char *name)
{
	int rc = pthread_setname_np(pthread_self(), name);

	if (rc) {
		errno = rc;
		err(1, "cannot name thread '%s'", name);
	}
}

/* The futex word thread tid sleeps on, or 0 when it is not in a wait. */
static uintptr_t futex_wait_word(pid_t tid)
{
	char path[64], buf[256];
	unsigned long nr, uaddr, op;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err(1, "cannot open '%s'", path);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		err(1, "cannot read '%s'", path);
	close(fd);
	buf[n] = '\0';
	if (sscanf(buf, "%lu %lx %lx", &nr, &uaddr, &op) != 3 ||
	    nr != SYS_futex)
		return 0;
	op &= FUTEX_CMD_MASK;
	if (op != FUTEX_WAIT && op != FUTEX_WAIT_BITSET)
		return 0;
	return uaddr;
}

/* Returns once thread tid sleeps in futex() on a word of obj. */
static void wait_blocked_on(pid_t tid, const void *obj, size_t size)
{
	uintptr_t lo = (uintptr_t)obj, w;

	for (;;) {
		w = futex_wait_word(tid);
		if (w >= lo && w - lo < size)
			return;
		sleep_ms(1);
	}
}

static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int rc;

	pthread_attr_init(&attr);
	rc = pthread_attr_setstacksize(&attr, STACK_SIZE);
	if (!rc)
		rc = pthread_create(t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc) {
		errno = rc;
		err(1, "cannot create thread");
	}
}

__attribute__((noinline)) static void transfer_funds(long amount)
{
	pthread_mutex_lock(&accounts_lock); /* HOLD-A */
	balance -= amount;
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&ledger_lock); /* WAIT-A */
	entries++;
	pthread_mutex_unlock(&ledger_lock);
	pthread_mutex_unlock(&accounts_lock);
}

__attribute__((noinline)) static long audit_ledger(void)
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

static void *transfer_main(void *arg)
{
	(void)arg;
	name_self("transfer");
	__atomic_store_n(&transfer_tid, gettid(), __ATOMIC_SEQ_CST);
	transfer_funds(100);
	return NULL;
}

static void *audit_main(void *arg)
{
	(void)arg;
	name_self("audit");
	__atomic_store_n(&audit_tid, gettid(), __ATOMIC_SEQ_CST);
	audit_ledger();
	return NULL;
}

/* Waits on accounts_lock, held by transfer, forever. */
__attribute__((noinline)) static void post_entry(void)
{
	pthread_mutex_lock(&accounts_lock);
	balance++;
	pthread_mutex_unlock(&accounts_lock);
}

static void *acct_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	snprintf(name, sizeof(name), "acct-%d", w->id);
	name_self(name);
	__atomic_store_n(&w->tid, gettid(), __ATOMIC_SEQ_CST);
	post_entry();
	return NULL;
}

__attribute__((noinline)) static void idle_wait(void)
{
	pthread_mutex_lock(&idle_lock);
	idle_sleepers++;
	for (;;)
		pthread_cond_wait(&idle_cond, &idle_lock);
}

static void *idle_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	snprintf(name, sizeof(name), "idle-%d", w->id);
	name_self(name);
	__atomic_store_n(&w->tid, gettid(), __ATOMIC_SEQ_CST);
	idle_wait();
	return NULL;
}

static pid_t tid_of(pid_t *p)
{
	pid_t t;

	while (!(t = __atomic_load_n(p, __ATOMIC_SEQ_CST)))
		sleep_ms(1);
	return t;
}

int main(int argc, char **argv)
{
	pthread_t transfer, audit;
	struct worker *acct, *idle;
	long n, nacct, nidle, i;
	char *end;
	int c;

	if (argc != 2) {
		fprintf(stderr, "usage: hung-many N\n");
		return 64;
	}
	errno = 0;
	n = strtol(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || n < 3 || n > 100000) {
		fprintf(stderr, "hung-many: N must be 3 to 100000\n");
		return 64;
	}
	nacct = (n - 3) / 2;
	nidle = n - 3 - nacct;
	acct = calloc((size_t)nacct + 1, sizeof(*acct));
	idle = calloc((size_t)nidle + 1, sizeof(*idle));
	if (!acct || !idle)
		err(1, "out of memory");

	/* First the deadlock, so that no bystander takes accounts_lock. */
	pthread_barrier_init(&both_hold, NULL, 2);
	spawn(&transfer, transfer_main, NULL);
	spawn(&audit, audit_main, NULL);
	wait_blocked_on(tid_of(&transfer_tid), &ledger_lock,
			sizeof(ledger_lock));
	wait_blocked_on(tid_of(&audit_tid), &accounts_lock,
			sizeof(accounts_lock));

	for (i = 0; i < nacct; i++) {
		acct[i].id = (int)i + 1;
		spawn(&acct[i].thread, acct_main, &acct[i]);
	}
	for (i = 0; i < nidle; i++) {
		idle[i].id = (int)i + 1;
		spawn(&idle[i].thread, idle_main, &idle[i]);
	}
	for (;;) {
		pthread_mutex_lock(&idle_lock);
		c = idle_sleepers;
		pthread_mutex_unlock(&idle_lock);
		if (c >= nidle)
			break;
		sleep_ms(1);
	}
	for (i = 0; i < nacct; i++)
		wait_blocked_on(tid_of(&acct[i].tid), &accounts_lock,
				sizeof(accounts_lock));
	for (i = 0; i < nidle; i++)
		wait_blocked_on(tid_of(&idle[i].tid), &idle_cond,
				sizeof(idle_cond));
	/* And the two of the cycle still where they were. */
	wait_blocked_on(transfer_tid, &ledger_lock, sizeof(ledger_lock));
	wait_blocked_on(audit_tid, &accounts_lock, sizeof(accounts_lock));

	printf("transfer tid=%d audit tid=%d acct=%ld idle=%ld\n",
	       (int)transfer_tid, (int)audit_tid, nacct, nidle);
	printf("ready pid=%d\n", (int)getpid());
	if (fflush(stdout) == EOF)
		err(1, "cannot write to stdout");
	for (;;)
		pause();
}
