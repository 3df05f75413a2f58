/*
 * thread-storm: far more busy threads than CPUs, each one computing forever;
 * the notes' "too many threads" case (a pool would have used one thread per
 * CPU).
 *
 * EXPECTED DIAGNOSIS (hotthread PID): N threads "storm-0" ... "storm-<N-1>"
 * share the machine's C online CPUs, so each gets about C/N of a CPU (all
 * user time) and the process as a whole about C CPUs.  Every storm thread
 * switches context involuntarily (preempted) many times per second and
 * almost never voluntarily, and spends most of its time waiting on the run
 * queue.  Verdict: the threads fight over too few CPUs.  Each thread's stack
 * is crunch_numbers <- storm_main; the main thread sleeps in pause().
 *
 * N defaults to 8 times the online CPUs (sysconf), at least 16; -n N sets
 * it (1 to 4096).
 *
 * The program prints "ready pid=<n>" once every thread has named itself and
 * started computing, and the main thread sleeps; then it waits until it is
 * killed.  With many threads, "ready" can take seconds: each thread must
 * get a CPU once to start computing (on 2 shared, busy vCPUs here: 16
 * threads under 0.3 s, 256 about 1 s, 1024 about 4 s, 4096 up to 45 s).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testprog.h"

/* What /proc/.../syscall shows for a thread in pause(). */
#ifdef SYS_pause
#define PAUSE_SYSCALL SYS_pause
#else
#define PAUSE_SYSCALL SYS_rt_sigsuspend
#endif

#define MAX_THREADS 4096
#define STACK_SIZE (64 * 1024)

struct opts {
	long nthreads; /* 0: 8 per online CPU, at least 16 */
};

/* One cache line each, so that storing results causes no false sharing. */
struct storm {
	int index;
	pthread_t thread;
	volatile uint64_t result;
} __attribute__((aligned(64)));

/*
 * Every storm thread names itself, then meets the others here.  The main
 * thread is not a party: once the storm runs, a runnable main thread would
 * wait seconds for a CPU (with 4096 threads), so it goes to sleep in pause()
 * first and the last storm thread to start computing says "ready".
 */
static pthread_barrier_t named;
static int nthreads;
/* How many threads have entered crunch_numbers. */
static atomic_int crunching;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: thread-storm [-n THREADS]\n");
	exit(fp == stdout ? 0 : 64);
}

/*
 * Returns once the main thread sleeps in pause(), as its syscall file in
 * /proc shows; returns at once if that file cannot be read.
 */
static void wait_for_main_pause(void)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall",
		 (int)getpid());
	for (;;) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return;
		buf[n] = '\0';
		if (buf[0] >= '0' && buf[0] <= '9' &&
		    strtol(buf, NULL, 10) == PAUSE_SYSCALL)
			return;
		sleep_ms(1);
	}
}

/*
 * Pure computation: no system calls, no locks, no writes outside this
 * thread's own cache line, so the only reason a storm thread stops running
 * is preemption.  Before the loop, one sched_yield lets the threads that
 * have not started yet have a CPU now rather than after a full time slice
 * of every thread ahead of them (1024 threads here: "ready" 0.2 s after
 * the last one was created instead of 6 s).
 */
__attribute__((noinline, noipa)) static void crunch_numbers(struct storm *s)
{
	uint64_t x = (uint64_t)s->index + 1;

	if (atomic_fetch_add(&crunching, 1) + 1 == nthreads)
		say_ready();
	sched_yield();
	for (;;) {
		/* xorshift64 */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		s->result = x;
	}
}

static void *storm_main(void *arg)
{
	struct storm *s = arg;
	char name[16];

	snprintf(name, sizeof(name), "storm-%d", s->index);
	name_self(name);
	/* The main thread pauses right after creating the last thread. */
	if (s->index == nthreads - 1)
		wait_for_main_pause();
	pthread_barrier_wait(&named);
	crunch_numbers(s);
	return NULL;
}

static long default_threads(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	long n;

	if (cpus < 1)
		cpus = 1;
	n = 8 * cpus;
	if (n < 16)
		n = 16;
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	return n;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts opts = { .nthreads = 0 };
	struct storm *storms;
	pthread_attr_t attr;
	int c, i, rc;

	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			opts.nthreads =
				parse_num(optarg, 1, MAX_THREADS, "threads");
			break;
		case 'h':
			usage(stdout);
			break;
		default:
			usage(stderr);
		}
	}
	no_operands(argc, argv);
	if (opts.nthreads == 0)
		opts.nthreads = default_threads();
	nthreads = opts.nthreads;

	storms = aligned_alloc(64, opts.nthreads * sizeof(*storms));
	if (!storms)
		err(1, "cannot allocate %ld threads", opts.nthreads);
	memset(storms, 0, opts.nthreads * sizeof(*storms));
	/* Small stacks: the threads need almost none, and there are many. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	pthread_barrier_init(&named, NULL, opts.nthreads);
	for (i = 0; i < opts.nthreads; i++) {
		storms[i].index = i;
		rc = pthread_create(&storms[i].thread, &attr, storm_main,
				    &storms[i]);
		if (rc) {
			errno = rc;
			err(1, "cannot create thread %d of %ld", i + 1,
			    opts.nthreads);
		}
	}
	pthread_attr_destroy(&attr);
	for (;;)
		pause();
}
