/*
 * heap-million: the target of bench/leakwatch.sh's heap census, a process
 * that holds about a million blocks of about 1 KiB (1 GiB in all) in glibc
 * malloc's main arena, so that leakwatch's census and gdb's malloc_stats()
 * have a big heap to go through.  Built by bench/leakwatch.sh with cc, not
 * by the Makefile.
 *
 *   usage: heap-million [blocks [free_every]]
 *
 * blocks (default 1000000) blocks are made by malloc, the requests cycling
 * over seven sizes from 976 to 1100 bytes (chunks of 992 to 1120 bytes,
 * 1054 on average), every byte written so that the heap is resident; then
 * every free_every-th block (default 10; 0 frees none) is freed, so the
 * heap also holds free chunks: a few in the tcache, the rest in the
 * unsorted bin, each between two blocks in use (no merging).  Seven sizes,
 * so that the freed blocks are of every size.  All of it comes from the
 * main arena's brk heap ([heap]); the table of pointers is mmapped apart.
 *
 * EXPECTED CENSUS (glibc 2.36, x86_64): the program prints what it holds,
 * in chunk sizes (malloc_usable_size + 8, header included), as the census
 * counts them:
 *
 *   class chunk=<size> held=<n> freed=<n>     one line per chunk size
 *   held blocks=<n> bytes=<n>
 *   freed blocks=<n> bytes=<n>
 *
 * A census finds those held blocks and a few of glibc's own besides.  The
 * held blocks include the churn thread's ring (below), in an arena of its
 * own: "ring blocks=<n> bytes=<n>" says how many of them.
 *
 * A thread "churn" holds a ring of RING blocks of the same sizes, and
 * while churning (SIGUSR2 turns it on and off) frees the oldest and
 * makes a new one every millisecond: a busy heap whose tcache and arena
 * change all the time, so that a census cannot take a walk made while the
 * process ran.  Churning, the ring holds RING or RING - 1 blocks.  On
 * SIGUSR2 the program prints "churn on" or "churn off" once the thread
 * has taken it.
 *
 * A thread "gap-watch" sleeps 1 ms at a time and keeps the longest time
 * between two of its wake-ups: a tool that stops the process shows there
 * as a gap as long as the stop (plus a millisecond and the scheduler's
 * delay).  On SIGUSR1 the program prints
 *
 *   gap max_ms=<x.xxx> wakeups=<n>
 *
 * for the time since "ready" or since the previous SIGUSR1, and starts
 * over.  Do not send SIGUSR1 before "ready".
 *
 * It prints "ready pid=<n>" once all of it is in place, then waits for
 * signals until killed.  The main thread sleeps in sigwait(); it,
 * gap-watch and churn are its threads.  stdout's buffer is static, so
 * that no malloc runs after the frees but the churn's.
 */
#include <err.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BLOCKS 1000000L
#define DEFAULT_FREE_EVERY 10L
#define MAX_BLOCKS 100000000L
#define NSIZES 7
#define RING 64

/* Seven request sizes: coprime to the default free_every, so the freed
 * blocks fall on every size. */
static const size_t sizes[NSIZES] = { 976, 1000, 1024, 1040, 1064, 1080, 1100 };

static uint64_t gap_max_ns, wakeups;

static pthread_mutex_t churn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t churn_cond = PTHREAD_COND_INITIALIZER;
static int churn_want, churn_is, ring_ready;
static unsigned long long ring_bytes;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long number(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "heap-million: bad %s '%s': want %ld to %ld\n",
			what, s, min, max);
		fprintf(stderr, "usage: heap-million [blocks [free_every]]\n");
		exit(64);
	}
	return v;
}

/* Sleeps 1 ms at a time and keeps the longest gap between wake-ups. */
static void *gap_watch(void *arg)
{
	struct timespec ms = { 0, 1000000 };
	uint64_t prev = now_ns(), t, gap, seen;

	(void)arg;
	pthread_setname_np(pthread_self(), "gap-watch");
	for (;;) {
		nanosleep(&ms, NULL);
		t = now_ns();
		gap = t - prev;
		prev = t;
		seen = __atomic_load_n(&gap_max_ns, __ATOMIC_RELAXED);
		while (gap > seen &&
		       !__atomic_compare_exchange_n(&gap_max_ns, &seen, gap, 0,
						    __ATOMIC_RELAXED,
						    __ATOMIC_RELAXED))
			;
		__atomic_add_fetch(&wakeups, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* The chunk a block takes: its usable size and the size field. */
static size_t chunk_of(void *p)
{
	return malloc_usable_size(p) + sizeof(size_t);
}

static void *make_block(long i)
{
	size_t n = sizes[i % NSIZES];
	void *p = malloc(n);

	if (!p)
		err(1, "cannot allocate block %ld of %zu bytes", i, n);
	memset(p, (int)(0x41 + i % NSIZES), n);
	return p;
}

/* Holds RING blocks; while churning, replaces the oldest every 1 ms. */
static void *churn(void *arg)
{
	struct timespec ms = { 0, 1000000 };
	void *ring[RING];
	long i, next = 0;

	(void)arg;
	pthread_setname_np(pthread_self(), "churn");
	pthread_mutex_lock(&churn_lock);
	for (i = 0; i < RING; i++) {
		ring[i] = make_block(i);
		ring_bytes += chunk_of(ring[i]);
	}
	ring_ready = 1;
	pthread_cond_broadcast(&churn_cond);
	for (;;) {
		while (churn_is != churn_want || !churn_want) {
			churn_is = churn_want;
			pthread_cond_broadcast(&churn_cond);
			if (!churn_want)
				pthread_cond_wait(&churn_cond, &churn_lock);
		}
		pthread_mutex_unlock(&churn_lock);
		free(ring[next % RING]);
		ring[next % RING] = make_block(next);
		next++;
		nanosleep(&ms, NULL);
		pthread_mutex_lock(&churn_lock);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static char outbuf[BUFSIZ];
	size_t chunk[NSIZES];
	long held[NSIZES] = { 0 }, freed[NSIZES] = { 0 };
	long blocks = DEFAULT_BLOCKS, every = DEFAULT_FREE_EVERY, i, k;
	unsigned long long hb = 0, hn = 0, fb = 0, fn = 0;
	void **v;
	pthread_t t;
	sigset_t set;
	int sig, rc;

	if (argc > 3 || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
		fprintf(argc > 3 ? stderr : stdout,
			"usage: heap-million [blocks [free_every]]\n");
		return argc > 3 ? 64 : 0;
	}
	if (argc > 1)
		blocks = number(argv[1], 1, MAX_BLOCKS, "blocks");
	if (argc > 2)
		every = number(argv[2], 0, MAX_BLOCKS, "free_every");
	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));

	/* SIGUSR1 for sigwait in main only: blocked before the thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	rc = pthread_create(&t, NULL, gap_watch, NULL);
	if (!rc)
		rc = pthread_create(&t, NULL, churn, NULL);
	if (rc) {
		errno = rc;
		err(1, "cannot create thread");
	}
	pthread_mutex_lock(&churn_lock);
	while (!ring_ready)
		pthread_cond_wait(&churn_cond, &churn_lock);
	pthread_mutex_unlock(&churn_lock);

	/* The table apart from the heap: its own mapping. */
	v = mmap(NULL, (size_t)blocks * sizeof(*v), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		err(1, "cannot map a table of %ld pointers", blocks);
	for (i = 0; i < blocks; i++)
		v[i] = make_block(i);
	for (k = 0; k < NSIZES; k++)
		chunk[k] = chunk_of(v[k < blocks ? k : 0]);
	for (i = 0; i < blocks; i++) {
		k = i % NSIZES;
		if (every && i % every == every - 1) {
			free(v[i]);
			v[i] = NULL;
			freed[k]++;
			fn++;
			fb += chunk[k];
		} else {
			held[k]++;
			hn++;
			hb += chunk[k];
		}
	}
	for (k = 0; k < NSIZES && k < blocks; k++)
		printf("class chunk=%zu held=%ld freed=%ld\n", chunk[k],
		       held[k], freed[k]);
	printf("ring blocks=%d bytes=%llu\n", RING, ring_bytes);
	printf("held blocks=%llu bytes=%llu\n", hn + RING, hb + ring_bytes);
	printf("freed blocks=%llu bytes=%llu\n", fn, fb);
	__atomic_store_n(&gap_max_ns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&wakeups, 0, __ATOMIC_RELAXED);
	printf("ready pid=%d\n", (int)getpid());
	fflush(stdout);

	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGUSR2) {
			pthread_mutex_lock(&churn_lock);
			churn_want = !churn_want;
			pthread_cond_broadcast(&churn_cond);
			while (churn_is != churn_want)
				pthread_cond_wait(&churn_cond, &churn_lock);
			printf("churn %s\n", churn_want ? "on" : "off");
			pthread_mutex_unlock(&churn_lock);
			fflush(stdout);
			continue;
		}
		printf("gap max_ms=%.3f wakeups=%llu\n",
		       (double)__atomic_exchange_n(&gap_max_ns, 0,
						   __ATOMIC_RELAXED) /
			       1e6,
		       (unsigned long long)__atomic_exchange_n(
			       &wakeups, 0, __ATOMIC_RELAXED));
		fflush(stdout);
	}
	return 0;
}
