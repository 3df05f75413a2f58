/*
 * spin-vdso: a thread that spins on clock_gettime(), so that a stop lands
 * inside the vDSO nearly every time; it tests unwinding out of the vDSO,
 * which has no file on disk (plain libunwind-ptrace cannot step out of it).
 *
 * EXPECTED DIAGNOSIS (hotthread PID): exactly one hot thread, "clockspin"
 * with its TID, at about 100 % of one CPU, nearly all of it user time.  Its
 * stack is [vdso] (__vdso_clock_gettime) <- clock_gettime <- poll_clock <-
 * clock_loop <- clockspin_main; the first frame in this program is
 * poll_clock at spin-vdso.c:N, where N is the line marked VDSO-LINE.  The
 * other threads use no CPU: "idler" in pthread_cond_wait under idle_wait,
 * the main thread in pause().
 *
 * The program prints "ready pid=<n>" once every thread has named itself and
 * reached its state, then waits until it is killed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testprog.h"

/* Every thread names itself, then meets the main thread here. */
static pthread_barrier_t named;

/* Nothing ever signals idle_cond. */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static int idle_sleepers;

static volatile unsigned long clock_polls;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: spin-vdso\n");
	exit(fp == stdout ? 0 : 64);
}

/*
 * Back-to-back clock reads: the loop around the call is a few instructions,
 * the call itself (libc wrapper, then the vDSO reading the TSC) is most of
 * each iteration, so a stop almost always finds the thread in the vDSO.
 */
__attribute__((noinline, noipa)) static void poll_clock(struct timespec *ts)
{
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, ts); /* VDSO-LINE */
		clock_polls++;
	}
}

__attribute__((noinline, noipa)) static int clock_loop(void)
{
	struct timespec ts;

	poll_clock(&ts);
	return 1;
}

static void *clockspin_main(void *arg)
{
	(void)arg;
	name_self("clockspin");
	pthread_barrier_wait(&named);
	clock_loop();
	return NULL;
}

__attribute__((noinline, noipa)) static void idle_wait(void)
{
	pthread_mutex_lock(&idle_lock);
	idle_sleepers++;
	for (;;)
		pthread_cond_wait(&idle_cond, &idle_lock);
}

static void *idler_main(void *arg)
{
	(void)arg;
	name_self("idler");
	pthread_barrier_wait(&named);
	idle_wait();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t clockspin, idler;

	parse_help_only(argc, argv);

	pthread_barrier_init(&named, NULL, 3);
	spawn(&clockspin, clockspin_main, NULL);
	spawn(&idler, idler_main, NULL);
	pthread_barrier_wait(&named);

	wait_for_sleepers(&idle_lock, &idle_sleepers, 1);
	while (clock_polls == 0)
		sleep_ms(1);

	say_ready();
	for (;;)
		pause();
}
