/*
 * spin-many: the benchmark target; many threads (1001 tasks by default),
 * a few of which spin, each spinner measuring how long it was stopped, so a
 * benchmark can tell how long a tool paused the threads it looked at.
 *
 * EXPECTED DIAGNOSIS (hotthread PID): the hot threads are the spinners
 * "hotspin-0" ... "hotspin-<S-1>", sharing the CPUs (3 spinners on 2 CPUs:
 * about 67 % each, all user time), each in spin_inner <- spin_middle <-
 * spin_outer <- spinner_main (a stop now and then, a few % of them, finds
 * a spinner reading its clocks in check_clocks under spin_inner).  Every
 * other thread uses no CPU: the blocked threads, every 50th named
 * "waiter-<k>" and the others "blocked", sit in pthread_cond_wait under
 * blocked_wait; "reporter" sits in sigwait under wait_for_report; the main
 * thread in pause().
 *
 * Usage: spin-many [total [spinners]].  total counts the threads besides
 * the main thread (default 1000, so 1001 tasks): spinners of them spin
 * (default 3), one is the reporter, and the rest block.
 *
 * Each spinner measures the time it was STOPPED, neither running nor
 * runnable (a ptrace or SIGSTOP stop), as
 *   delta wall clock (CLOCK_MONOTONIC)
 *   - delta own CPU time (CLOCK_THREAD_CPUTIME_ID)
 *   - delta run-queue wait (2nd field of /proc/thread-self/schedstat).
 * A spinner never sleeps, so CPU contention shows up as run-queue wait and
 * not as a stop.  The spinner reads these clocks itself, at least every
 * 20 ms (it glances at the wall clock every 2^20 iterations, about 1 ms),
 * and publishes through atomics the running sum and the longest single gap
 * between two readings.  Time the hypervisor steals from the virtual CPU
 * while the spinner runs counts as stopped too (the kernel leaves it out of
 * the thread's CPU time).
 *
 * On SIGUSR1 (taken by the reporter thread with sigwait; every other thread
 * blocks it) the program prints one line per spinner to stdout,
 *   spinner <k> tid=<tid> stopped_ms=<x.xxx> max_stop_ms=<y.yyy>
 * covering the time since "ready" or since the previous SIGUSR1, then starts
 * the next period.  The reporter first asks each spinner for fresh readings
 * and waits up to 1 s for them, so a stop that ended just before the signal
 * is counted.  Do not send SIGUSR1 before "ready".
 *
 * The program prints "ready pid=<n>" once every thread has named itself and
 * reached its state, then waits until it is killed.
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testprog.h"

#define DEFAULT_TOTAL 1000
#define DEFAULT_SPINNERS 3
#define MAX_TOTAL 32768
#define STACK_SIZE (64 * 1024)
#define CHECK_EVERY (1UL << 20)
#define READ_EVERY_NS (20 * 1000000LL)
#define WAITER_EVERY 50
#define REPORT_TIMEOUT_NS 1000000000LL

struct opts {
	long total;
	long spinners;
};

/* One per spinner, on cache lines of its own. */
struct spinner {
	int index;
	pid_t tid;
	int schedstat_fd;
	pthread_t thread;
	volatile unsigned long iterations;
	/* The spinner's previous readings, in ns. */
	int64_t last_wall, last_cpu, last_run_delay;
	/* Published by the spinner. */
	_Atomic int64_t stopped_ns; /* sum of all gaps since it started */
	_Atomic int64_t max_stop_ns; /* longest gap since the last report */
	_Atomic unsigned long answered; /* last request its readings cover */
	/* The reporter's own: stopped_ns at the previous report. */
	int64_t stopped_at_report;
} __attribute__((aligned(64)));

/* Every thread names itself, then meets the main thread here. */
static pthread_barrier_t named;

/* Nothing ever signals block_cond. */
static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cond = PTHREAD_COND_INITIALIZER;
static int block_sleepers;

static struct spinner *spinners;
static int nspinners;
/* Raised by the reporter to ask every spinner for fresh readings. */
static _Atomic unsigned long report_request;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: spin-many [total [spinners]]\n");
	exit(fp == stdout ? 0 : 64);
}

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The run-queue wait of the calling spinner, from its own schedstat. */
static int64_t run_delay_ns(const struct spinner *sp)
{
	char buf[128], *p;
	ssize_t n;

	n = pread(sp->schedstat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		err(1, "cannot read '/proc/thread-self/schedstat'");
	buf[n] = '\0';
	/* "<on-cpu ns> <run-queue ns> <timeslices>" */
	p = strchr(buf, ' ');
	if (!p)
		errx(1, "cannot parse '/proc/thread-self/schedstat': '%s'",
		     buf);
	return strtoll(p + 1, NULL, 10);
}

/*
 * Reads the three clocks as one snapshot.  The run-queue wait grows only
 * when the thread gets a CPU back, so if it changed while the clocks were
 * read the thread was preempted in between and the snapshot is taken again;
 * otherwise that wait would count against this gap and for the next one.
 */
static void read_clocks(const struct spinner *sp, int64_t *wall, int64_t *cpu,
			int64_t *run_delay)
{
	int64_t before;

	do {
		before = run_delay_ns(sp);
		*wall = clock_ns(CLOCK_MONOTONIC);
		*cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		*run_delay = run_delay_ns(sp);
	} while (*run_delay != before);
}

static void start_clocks(struct spinner *sp)
{
	unsigned long req = atomic_load(&report_request);

	read_clocks(sp, &sp->last_wall, &sp->last_cpu, &sp->last_run_delay);
	atomic_store(&sp->answered, req);
}

/*
 * The time since the previous check that the spinner was neither on a CPU
 * nor waiting for one.  The request number is read before the clocks, so
 * answering it promises readings taken after it was made.
 */
__attribute__((noinline, noipa)) static void check_clocks(struct spinner *sp)
{
	unsigned long req = atomic_load(&report_request);
	int64_t wall, cpu, run_delay, gap, max;

	read_clocks(sp, &wall, &cpu, &run_delay);
	gap = (wall - sp->last_wall) - (cpu - sp->last_cpu) -
	      (run_delay - sp->last_run_delay);
	sp->last_wall = wall;
	sp->last_cpu = cpu;
	sp->last_run_delay = run_delay;

	/* Only this thread writes stopped_ns; the reporter only reads it. */
	atomic_store(&sp->stopped_ns, atomic_load(&sp->stopped_ns) + gap);
	/* The reporter swaps max_stop_ns to 0 at each report. */
	max = atomic_load(&sp->max_stop_ns);
	while (gap > max &&
	       !atomic_compare_exchange_weak(&sp->max_stop_ns, &max, gap))
		;
	atomic_store(&sp->answered, req);
}

__attribute__((noinline, noipa)) static void spin_inner(struct spinner *sp)
{
	unsigned long i;

	start_clocks(sp);
	for (;;) {
		for (i = 0; i < CHECK_EVERY; i++)
			sp->iterations++;
		/*
		 * Only a glance at the vDSO clock and the request number,
		 * which enter no system call: the CPU-time clock does, and
		 * the scheduler preempts a thread whose time slice ran out
		 * at such calls, so reading it every time would leave most
		 * preempted spinners, and most stacks a tool takes of them,
		 * in clock_gettime instead of in this loop.
		 */
		if (atomic_load(&report_request) !=
			    atomic_load(&sp->answered) ||
		    clock_ns(CLOCK_MONOTONIC) - sp->last_wall >= READ_EVERY_NS)
			check_clocks(sp);
	}
}

/* Returning a value computed after the call keeps it from being a tail call,
 * so each function keeps its own frame even at -O2. */
__attribute__((noinline, noipa)) static int spin_middle(struct spinner *sp)
{
	spin_inner(sp);
	return 2;
}

__attribute__((noinline, noipa)) static int spin_outer(struct spinner *sp)
{
	return spin_middle(sp) + 1;
}

static void *spinner_main(void *arg)
{
	struct spinner *sp = arg;
	char name[16];

	snprintf(name, sizeof(name), "hotspin-%d", sp->index);
	name_self(name);
	sp->tid = gettid();
	sp->schedstat_fd =
		open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (sp->schedstat_fd < 0)
		err(1, "cannot open '/proc/thread-self/schedstat'");
	pthread_barrier_wait(&named);
	spin_outer(sp);
	return NULL;
}

__attribute__((noinline, noipa)) static void blocked_wait(void)
{
	pthread_mutex_lock(&block_lock);
	block_sleepers++;
	for (;;)
		pthread_cond_wait(&block_cond, &block_lock);
}

static void *blocked_main(void *arg)
{
	long index = (long)arg;
	char name[16];

	if (index % WAITER_EVERY == 0)
		snprintf(name, sizeof(name), "waiter-%ld", index);
	else
		snprintf(name, sizeof(name), "blocked");
	name_self(name);
	pthread_barrier_wait(&named);
	blocked_wait();
	return NULL;
}

static void print_period(int k, pid_t tid, int64_t stopped, int64_t max)
{
	printf("spinner %d tid=%d stopped_ms=%.3f max_stop_ms=%.3f\n", k,
	       (int)tid, stopped / 1e6, max / 1e6);
}

/*
 * Ends one measuring period: asks every spinner for fresh readings, waits
 * for them (forever if timeout_ns is 0), then prints, if asked to, what
 * each spinner measured since the previous period ended.
 */
static void take_report(bool print, int64_t timeout_ns)
{
	unsigned long req = atomic_fetch_add(&report_request, 1) + 1;
	int64_t deadline = clock_ns(CLOCK_MONOTONIC) + timeout_ns;
	int64_t total, stopped, max;
	struct spinner *sp;
	int k;

	for (k = 0; k < nspinners; k++) {
		sp = &spinners[k];
		while (atomic_load(&sp->answered) < req) {
			if (timeout_ns && clock_ns(CLOCK_MONOTONIC) > deadline)
				break;
			sleep_ms(1);
		}
	}
	for (k = 0; k < nspinners; k++) {
		sp = &spinners[k];
		total = atomic_load(&sp->stopped_ns);
		max = atomic_exchange(&sp->max_stop_ns, 0);
		stopped = total - sp->stopped_at_report;
		sp->stopped_at_report = total;
		/* Clock jitter can leave a few ns below zero. */
		if (stopped < 0)
			stopped = 0;
		if (print)
			print_period(k, sp->tid, stopped, max);
	}
	if (print && fflush(stdout) == EOF)
		err(1, "cannot write to stdout");
}

__attribute__((noinline, noipa)) static void wait_for_report(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		if (sigwait(&set, &sig) == 0 && sig == SIGUSR1)
			take_report(true, REPORT_TIMEOUT_NS);
	}
}

static void *reporter_main(void *arg)
{
	(void)arg;
	name_self("reporter");
	pthread_barrier_wait(&named);
	wait_for_report();
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts opts = { .total = DEFAULT_TOTAL,
			     .spinners = DEFAULT_SPINNERS };
	pthread_t reporter, blocked;
	pthread_attr_t attr;
	sigset_t usr1;
	long k, nblocked;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h')
			usage(stdout);
		usage(stderr);
	}
	if (argc - optind > 2) {
		warnx("unexpected argument '%s'", argv[optind + 2]);
		usage(stderr);
	}
	if (optind < argc)
		opts.total = parse_num(argv[optind], 1, MAX_TOTAL, "total");
	if (optind + 1 < argc)
		opts.spinners = parse_num(argv[optind + 1], 0, opts.total - 1,
					  "spinners");
	else if (opts.spinners > opts.total - 1)
		opts.spinners = opts.total - 1;
	nspinners = opts.spinners;
	nblocked = opts.total - opts.spinners - 1;

	/* Only the reporter takes SIGUSR1: every thread inherits the block. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);

	spinners = aligned_alloc(64, (nspinners + 1) * sizeof(*spinners));
	if (!spinners)
		err(1, "cannot allocate %d spinners", nspinners);
	memset(spinners, 0, (nspinners + 1) * sizeof(*spinners));

	/* Small stacks, so that a thousand threads stay cheap. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_barrier_init(&named, NULL, opts.total + 1);
	for (k = 0; k < nspinners; k++) {
		spinners[k].index = k;
		spawn_attr(&spinners[k].thread, &attr, spinner_main,
			   &spinners[k]);
	}
	for (k = 0; k < nblocked; k++)
		spawn_attr(&blocked, &attr, blocked_main, (void *)k);
	spawn_attr(&reporter, &attr, reporter_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_barrier_wait(&named);

	wait_for_sleepers(&block_lock, &block_sleepers, nblocked);
	/* Waits for every spinner to spin, and starts the first period. */
	take_report(false, 0);

	say_ready();
	for (;;)
		pause();
}
