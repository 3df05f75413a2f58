/*
 * idle: the control case, a process where nothing is wrong; every thread
 * sleeps in a different way and the process uses no CPU.
 *
 * EXPECTED DIAGNOSIS (hotthread PID): no hot thread; every thread at 0 %
 * CPU (about 1 wake-up per second in "idle-sleep"), and the verdict that
 * nothing burns CPU (exit status 0).  The threads: "idle-cond" in
 * pthread_cond_wait under idle_wait_cond, "idle-sleep" in nanosleep under
 * idle_sleep_loop, "idle-pipe" in read() under idle_read_pipe, and the main
 * thread in pause().
 *
 * The program prints "ready pid=<n>" once every thread has named itself and
 * reached its state, then waits until it is killed.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
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

/* Nobody writes to this pipe, and its write end stays open, so read()
 * blocks forever instead of returning end-of-file. */
static int idle_pipe[2];

static volatile unsigned long naps;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: idle\n");
	exit(fp == stdout ? 0 : 64);
}

__attribute__((noinline, noipa)) static void idle_wait_cond(void)
{
	pthread_mutex_lock(&idle_lock);
	idle_sleepers++;
	for (;;)
		pthread_cond_wait(&idle_cond, &idle_lock);
}

__attribute__((noinline, noipa)) static void idle_sleep_loop(void)
{
	struct timespec second;

	for (;;) {
		second.tv_sec = 1;
		second.tv_nsec = 0;
		nanosleep(&second, NULL);
		naps++;
	}
}

__attribute__((noinline, noipa)) static void idle_read_pipe(int fd)
{
	char c;

	for (;;) {
		if (read(fd, &c, 1) < 0 && errno != EINTR)
			err(1, "cannot read pipe");
	}
}

static void *idle_cond_main(void *arg)
{
	(void)arg;
	name_self("idle-cond");
	pthread_barrier_wait(&named);
	idle_wait_cond();
	return NULL;
}

static void *idle_sleep_main(void *arg)
{
	(void)arg;
	name_self("idle-sleep");
	pthread_barrier_wait(&named);
	idle_sleep_loop();
	return NULL;
}

static void *idle_pipe_main(void *arg)
{
	(void)arg;
	name_self("idle-pipe");
	pthread_barrier_wait(&named);
	idle_read_pipe(idle_pipe[0]);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t cond_thread, sleep_thread, pipe_thread;

	parse_help_only(argc, argv);

	if (pipe2(idle_pipe, O_CLOEXEC))
		err(1, "cannot create pipe");

	pthread_barrier_init(&named, NULL, 4);
	spawn(&cond_thread, idle_cond_main, NULL);
	spawn(&sleep_thread, idle_sleep_main, NULL);
	spawn(&pipe_thread, idle_pipe_main, NULL);
	pthread_barrier_wait(&named);

	wait_for_sleepers(&idle_lock, &idle_sleepers, 1);

	say_ready();
	for (;;)
		pause();
}
