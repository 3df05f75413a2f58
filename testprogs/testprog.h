/* testprog.h: the helpers that every sick program in testprogs/ shares. */
#ifndef TESTPROG_H
#define TESTPROG_H

/*
 * Each program is built from its one .c file (plain at -O0 and, for some,
 * stripped at -O2), so the helpers live here rather than in a library they
 * would all have to link.  They are static inline so that a program which
 * leaves one unused gets no warning for it.  None of them is where a thread
 * sits once "ready" is printed, so the diagnoses and the file:line the tests
 * look for stay in each program's own .c file.
 */

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/*
 * Every program defines this: it prints the program's synopsis to fp and
 * exits, 0 for stdout (--help) and 64 otherwise.  The option parsers below
 * call it on bad input.
 */
static void usage(FILE *fp);

/* Sleeps the whole time even when a signal cuts nanosleep short. */
static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * A thread that cannot be started would leave the program in a state its
 * expected diagnosis does not describe, so that is fatal.
 */
static inline void spawn_attr(pthread_t *t, const pthread_attr_t *attr,
			      void *(*fn)(void *), void *arg)
{
	int rc = pthread_create(t, attr, fn, arg);

	if (rc) {
		errno = rc;
		err(1, "cannot create thread");
	}
}

static inline void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	spawn_attr(t, NULL, fn, arg);
}

/*
 * The tools and the tests find threads by name, so a thread that cannot
 * take its name is fatal too.
 */
static inline void name_self(const char *name)
{
	int rc = pthread_setname_np(pthread_self(), name);

	if (rc) {
		errno = rc;
		err(1, "cannot name thread '%s'", name);
	}
}

/*
 * Returns once want threads sleep on a condition variable guarded by lock.
 * Each of them counts itself with the lock held and drops the lock only
 * inside pthread_cond_wait, so a count seen under the lock proves it.
 */
static inline void wait_for_sleepers(pthread_mutex_t *lock, const int *count,
				     int want)
{
	int n;

	for (;;) {
		pthread_mutex_lock(lock);
		n = *count;
		pthread_mutex_unlock(lock);
		if (n >= want)
			return;
		sleep_ms(1);
	}
}

/* A whole decimal number from min to max, or usage(stderr) naming what. */
static inline long parse_num(const char *s, long min, long max,
			     const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		warnx("invalid %s '%s': expected %ld to %ld", what, s, min,
		      max);
		usage(stderr);
	}
	return v;
}

/* After getopt: the programs that take no operands refuse any left over. */
static inline void no_operands(int argc, char **argv)
{
	if (optind != argc) {
		warnx("unexpected argument '%s'", argv[optind]);
		usage(stderr);
	}
}

/* For the programs that take no options and no arguments, only -h/--help. */
static inline void parse_help_only(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h')
			usage(stdout);
		usage(stderr);
	}
	no_operands(argc, argv);
}

/*
 * The one line tests/lib.sh waits for (start_prog).  It is flushed at once
 * because stdout is a pipe or a file there, and so that a program may leave
 * with _exit afterwards without losing it.
 */
static inline void say_ready(void)
{
	printf("ready pid=%d\n", (int)getpid());
	if (fflush(stdout) == EOF)
		err(1, "cannot write to stdout");
}

#endif /* TESTPROG_H */
