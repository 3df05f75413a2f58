/*
 * spin-syscall: a thread that burns CPU in the kernel rather than in user
 * space, reading /dev/zero in a tight loop.
 *
 * EXPECTED DIAGNOSIS (hotthread PID): exactly one hot thread, "syscaller"
 * with its TID, at about 100 % of one CPU, most of it SYSTEM time (the
 * kernel zeroes 64 KiB per call; well over 70 % of the thread's time is
 * stime).  Its stack is read <- burn_in_kernel <- syscall_loop <-
 * syscaller_main, with burn_in_kernel at spin-syscall.c:N, where N is the
 * line marked SYSCALL-LINE.  The other threads use no CPU: "idler" in
 * pthread_cond_wait under idle_wait, the main thread in pause().
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
#include <unistd.h>

#include "testprog.h"

#define READ_SIZE (64 * 1024)

/* Every thread names itself, then meets the main thread here. */
static pthread_barrier_t named;

/* Nothing ever signals idle_cond. */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cond = PTHREAD_COND_INITIALIZER;
static int idle_sleepers;

static char zero_buf[READ_SIZE];
static volatile unsigned long reads_done;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: spin-syscall\n");
	exit(fp == stdout ? 0 : 64);
}

/*
 * Each read makes the kernel clear 64 KiB of our buffer, so nearly all of
 * the time goes to system time; the loop around it costs next to nothing.
 */
__attribute__((noinline, noipa)) static void burn_in_kernel(int fd)
{
	ssize_t n;

	for (;;) {
		n = read(fd, zero_buf, sizeof(zero_buf)); /* SYSCALL-LINE */
		if (n < 0 && errno != EINTR)
			err(1, "cannot read '/dev/zero'");
		reads_done++;
	}
}

__attribute__((noinline, noipa)) static int syscall_loop(int fd)
{
	burn_in_kernel(fd);
	return 1;
}

static void *syscaller_main(void *arg)
{
	int fd = *(int *)arg;

	name_self("syscaller");
	pthread_barrier_wait(&named);
	syscall_loop(fd);
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
	pthread_t syscaller, idler;
	int fd;

	parse_help_only(argc, argv);

	fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err(1, "cannot open '/dev/zero'");

	pthread_barrier_init(&named, NULL, 3);
	spawn(&syscaller, syscaller_main, &fd);
	spawn(&idler, idler_main, NULL);
	pthread_barrier_wait(&named);

	wait_for_sleepers(&idle_lock, &idle_sleepers, 1);
	while (reads_done == 0)
		sleep_ms(1);

	say_ready();
	for (;;)
		pause();
}
