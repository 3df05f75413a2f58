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
#include <fcntl.h>
#include <getopt.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
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
 * How a thread that main watches starts: it takes its name, notes its TID
 * in *tid for the waits below, and meets main at barrier.  Main reads *tid
 * only once it is past the same barrier, which orders the write before the
 * read, so the TID needs no atomics.
 */
static inline void check_in(const char *name, pid_t *tid,
			    pthread_barrier_t *barrier)
{
	name_self(name);
	*tid = gettid();
	pthread_barrier_wait(barrier);
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

/*
 * The lockgraph programs say "ready" only once every thread sleeps where the
 * diagnosis says, or a test could look while a thread is still on its way
 * to the lock.  They see it where lockgraph does, in each thread's syscall
 * file; this and the three waits after it serve them.
 *
 * The futex word that thread tid sleeps on, from its syscall file in /proc
 * ("202 uaddr op val ..." while it waits in futex()), or 0 while it runs
 * or sleeps anywhere else.
 */
static inline uintptr_t futex_wait_word(pid_t tid)
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
	/* glibc sleeps with FUTEX_WAIT or FUTEX_WAIT_BITSET; a wake is not
	 * a wait. */
	op &= FUTEX_CMD_MASK;
	if (op != FUTEX_WAIT && op != FUTEX_WAIT_BITSET)
		return 0;
	return uaddr;
}

/*
 * Returns once thread tid sleeps in futex() on a word inside the size bytes
 * at obj (a mutex, rwlock or condition variable: glibc may sleep on a word
 * that is not the first).  Seeing futex alone would not do: a thread may
 * still sleep in the barrier it just passed.
 */
static inline void wait_blocked_on(pid_t tid, const void *obj, size_t size)
{
	uintptr_t lo = (uintptr_t)obj, w;

	for (;;) {
		w = futex_wait_word(tid);
		if (w >= lo && w - lo < size)
			return;
		sleep_ms(1);
	}
}

/*
 * Returns once thread tid waits in pthread_join for the thread whose TID
 * is target: it sleeps in futex() on a word that holds target.  The word
 * is in the joined thread's struct pthread, whose layout is glibc's own,
 * so its value is what identifies it.
 */
static inline void wait_joining(pid_t tid, pid_t target)
{
	uintptr_t w;

	for (;;) {
		w = futex_wait_word(tid);
		if (w && *(volatile pid_t *)w == target)
			return;
		sleep_ms(1);
	}
}

/* Returns once thread tid has left the process entirely. */
static inline void wait_gone(pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	while (access(path, F_OK) == 0)
		sleep_ms(1);
	if (errno != ENOENT)
		err(1, "cannot look for '%s'", path);
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
 * Waits for the next tick, tick_ns after *next, and moves *next on:
 * absolute deadlines on CLOCK_MONOTONIC, so a late wake-up does not
 * drift the rate the programs promise.
 */
static inline void wait_tick(struct timespec *next, long tick_ns)
{
	next->tv_nsec += tick_ns;
	while (next->tv_nsec >= 1000000000L) {
		next->tv_nsec -= 1000000000L;
		next->tv_sec++;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL))
		;
}

/* The crash programs' one option: --delay MS after "ready" (0 to an hour). */
static inline long parse_delay(int argc, char **argv, long delay_ms)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'd')
			delay_ms = parse_num(optarg, 0, 3600000, "delay");
		else
			usage(c == 'h' ? stdout : stderr);
	}
	no_operands(argc, argv);
	return delay_ms;
}

/*
 * The memory programs' options: --rate BYTES_PER_SEC (1 to rate_max) and
 * --limit BYTES (limit_min to limit_max); *rate and *limit hold defaults.
 */
static inline void parse_rate_limit(int argc, char **argv, long *rate,
				    long rate_max, long *limit, long limit_min,
				    long limit_max)
{
	static const struct option longopts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'r')
			*rate = parse_num(optarg, 1, rate_max, "rate");
		else if (c == 'l')
			*limit = parse_num(optarg, limit_min, limit_max,
					   "limit");
		else
			usage(c == 'h' ? stdout : stderr);
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
