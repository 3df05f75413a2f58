/*
 * heap-shapes: a heap whose census is known block by block, to check a
 * census taken from the outside (leakwatch's, tests/unit/test_heap.c).
 * Not a sick program: it holds what it holds and waits.
 *
 * EXPECTED CENSUS (glibc 2.36, x86_64; chunk sizes are malloc's blocks,
 * headers included).  In use, held by the program:
 *
 *   main thread, main arena ([heap], brk):
 *     1000 blocks of malloc(232)      chunk 240    KEEP_COUNT
 *      500 blocks of malloc(5000)     chunk 5008   BIG_COUNT
 *       15 blocks of malloc(344)      chunk 352    (20 made, 5 freed)
 *       18 blocks of malloc(56)       chunk 64     (30 made, 12 freed)
 *        7 blocks of malloc(2000)     chunk 2016   (10 made, 3 freed)
 *       11 blocks of malloc(24)       chunk 32     (guards between those)
 *   mmapped, each its own mapping:
 *        3 blocks of malloc(300000)   chunk 303104 (74 pages)
 *   thread "arena-user", its own arena (a 64 MiB heap of its own):
 *      250 blocks of malloc(1000)     chunk 1008
 *
 * Freed, and so not in use: the 5 blocks of 352 bytes wait in the main
 * thread's tcache; of the 12 of 64 bytes, 7 fill the tcache and 5 go to a
 * fastbin; the 3 blocks of 2016 bytes (too big for the tcache, kept apart
 * by the guards) are in the unsorted bin.  So 5 + 12 blocks are "cached"
 * (freed but not given back: they look in use to a plain heap walk) and
 * 3 are free in the bins.  Each thread's tcache_perthread_struct (a chunk
 * of 656 bytes) is malloc's own.
 *
 * glibc and stdio make a few blocks of their own besides, of other sizes
 * than these: the thread's TLS vector (288); stdout's buffer is static.
 * The 64-byte blocks are made last: a large request (the 2000-byte and
 * mmapped ones) would have consolidated the fastbin into the bins.
 *
 * The program prints "ready pid=<n>" once all of it is in place, then
 * waits until killed; it has two threads.  Each SIGUSR1 makes it take one
 * more malloc(2000), an exact fit for a freed 2016-byte block.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testprog.h"

#define KEEP_COUNT 1000
#define BIG_COUNT 500

static void *kept[KEEP_COUNT + BIG_COUNT + 100];
static int nkept;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int thread_ready;
static volatile sig_atomic_t take_one;

static void on_usr1(int sig)
{
	(void)sig;
	take_one = 1;
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: heap-shapes\n");
	exit(fp == stdout ? 0 : 64);
}

/* A block the program holds; touched so that it is real memory. */
static void *keep(size_t n)
{
	void *p = malloc(n);

	if (!p)
		err(1, "cannot allocate %zu bytes", n);
	memset(p, 0x5a, n);
	if (nkept < (int)(sizeof(kept) / sizeof(kept[0])))
		kept[nkept++] = p;
	return p;
}

/* Made n, freed the first `freed` of them (most recently freed last). */
static void make_and_free(size_t size, int n, int freed)
{
	void *p[64];
	int i;

	for (i = 0; i < n; i++)
		p[i] = keep(size);
	for (i = 0; i < freed; i++)
		free(p[i]);
}

static void *arena_user(void *arg)
{
	static void *mine[250];
	int i;

	(void)arg;
	name_self("arena-user");
	for (i = 0; i < 250; i++) {
		mine[i] = malloc(1000);
		if (!mine[i])
			err(1, "cannot allocate");
		memset(mine[i], 0x33, 1000);
	}
	pthread_mutex_lock(&lock);
	thread_ready = 1;
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&lock);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	static void *held_bins[10];
	static char outbuf[BUFSIZ];
	pthread_t t;
	int i;

	parse_help_only(argc, argv);
	/* stdout's buffer is not malloc'd: its first use would have been a
	 * large request, after the fastbin was filled */
	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));
	for (i = 0; i < KEEP_COUNT; i++)
		keep(232);
	for (i = 0; i < BIG_COUNT; i++)
		keep(5000);
	make_and_free(344, 20, 5);
	/* Blocks too big for the tcache, each between two guards so that
	 * freeing one does not merge it with a neighbour. */
	keep(24);
	for (i = 0; i < 10; i++) {
		held_bins[i] = keep(2000);
		keep(24);
	}
	free(held_bins[1]);
	free(held_bins[4]);
	free(held_bins[7]);
	for (i = 0; i < 3; i++)
		keep(300000);
	spawn(&t, arena_user, NULL);
	pthread_mutex_lock(&lock);
	while (!thread_ready)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	/* Last: a request for a large block would consolidate the fastbin
	 * blocks into the bins. */
	make_and_free(56, 30, 12);
	signal(SIGUSR1, on_usr1);
	say_ready();
	for (;;) {
		pause();
		/* exactly the size of a freed 2016-byte block: glibc takes it
		 * from the middle of its bin, touching no arena field */
		if (take_one) {
			take_one = 0;
			keep(2000);
		}
	}
}
