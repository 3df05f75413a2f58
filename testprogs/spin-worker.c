/*
 * spin-worker: a small server whose thread "worker-2" is stuck in a dead
 * loop three calls deep while every other thread idles; the notes' "CPU
 * usage too high" case.
 *
 * EXPECTED DIAGNOSIS (hotthread PID): exactly one hot thread, "worker-2"
 * with its TID, at about 100 % of one CPU, nearly all of it user time.  It
 * spins in spin_inner <- spin_middle <- spin_outer <- worker_main, and the
 * hot spot is spin_inner at spin-worker.c:N, where N is the line marked
 * SPIN-LINE.  Every other thread uses no CPU: "acceptor" in
 * pthread_cond_wait under wait_for_connection, "logger" in nanosleep under
 * flush_logs_periodically, "worker-1" and "worker-3" in pthread_cond_wait
 * under wait_for_job, and the main thread in pause().
 *
 * With --churn, a thread "churner" creates and joins short-lived threads
 * named "ephemeral" (about 1 ms each) over and over, so threads appear and
 * vanish while the tool samples.  The diagnosis must not change; churner
 * itself shows a few % of CPU, mostly system time.
 *
 * With --exit-after MS, the process exits with status 0 MS milliseconds
 * after it printed "ready", so the target vanishes while the tool samples.
 * The tool must say that the process went away (no crash, no hang, nothing
 * left stopped).
 *
 * The program prints "ready pid=<n>" once every thread has named itself and
 * reached its state, then waits until it is killed.
 */
#include <err.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "testprog.h"

#define NWORKERS 3
/* The worker that received the job whose retry loop never ends. */
#define HOT_WORKER 2

struct opts {
	bool churn;
	long exit_after_ms; /* 0: never */
};

struct worker {
	int id;
	pthread_t thread;
};

/* Every thread names itself, then meets the main thread here. */
static pthread_barrier_t named;

/* No client ever connects: conn_ready is never signalled. */
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conn_ready = PTHREAD_COND_INITIALIZER;
static int conn_sleepers;

/* No job is ever queued for the idle workers: job_ready is never signalled. */
static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_ready = PTHREAD_COND_INITIALIZER;
static int job_sleepers;

/* Volatile, so that even -O2 keeps the dead loop a real loop. */
static volatile unsigned long spin_counter;
static volatile unsigned long log_flushes;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: spin-worker [--churn] [--exit-after MS]\n");
	exit(fp == stdout ? 0 : 64);
}

__attribute__((noinline, noipa)) static void wait_for_connection(void)
{
	pthread_mutex_lock(&conn_lock);
	conn_sleepers++;
	for (;;)
		pthread_cond_wait(&conn_ready, &conn_lock);
}

__attribute__((noinline, noipa)) static void flush_logs_periodically(void)
{
	struct timespec period;

	for (;;) {
		period.tv_sec = 0;
		period.tv_nsec = 100 * 1000000L;
		nanosleep(&period, NULL);
		log_flushes++;
	}
}

__attribute__((noinline, noipa)) static void wait_for_job(void)
{
	pthread_mutex_lock(&job_lock);
	job_sleepers++;
	for (;;)
		pthread_cond_wait(&job_ready, &job_lock);
}

/*
 * The bug: a retry loop whose exit condition can never become true.  The
 * loop is kept on one line so that every instruction of it has the same
 * file:line, which the tests look up by its marker.
 */
__attribute__((noinline, noipa)) static void spin_inner(void)
{
	/* clang-format off */
	for (;;) spin_counter++; /* SPIN-LINE */
	/* clang-format on */
}

/* Returning a value computed after the call keeps it from being a tail call,
 * so each function keeps its own frame even at -O2. */
__attribute__((noinline, noipa)) static int spin_middle(void)
{
	spin_inner();
	return 2;
}

__attribute__((noinline, noipa)) static int spin_outer(void)
{
	return spin_middle() + 1;
}

static void *acceptor_main(void *arg)
{
	(void)arg;
	name_self("acceptor");
	pthread_barrier_wait(&named);
	wait_for_connection();
	return NULL;
}

static void *logger_main(void *arg)
{
	(void)arg;
	name_self("logger");
	pthread_barrier_wait(&named);
	flush_logs_periodically();
	return NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16];

	snprintf(name, sizeof(name), "worker-%d", w->id);
	name_self(name);
	pthread_barrier_wait(&named);
	if (w->id == HOT_WORKER)
		spin_outer();
	else
		wait_for_job();
	return NULL;
}

static void *ephemeral_main(void *arg)
{
	(void)arg;
	name_self("ephemeral");
	usleep(1000);
	return NULL;
}

__attribute__((noinline, noipa)) static void churn_threads(void)
{
	pthread_t t;

	for (;;) {
		spawn(&t, ephemeral_main, NULL);
		/*
		 * The new thread starts as "churner" and may wait for a CPU
		 * before it can rename itself; naming it from here too keeps
		 * that window short.  It may already be gone: ignore errors.
		 */
		pthread_setname_np(t, "ephemeral");
		pthread_join(t, NULL);
	}
}

static void *churner_main(void *arg)
{
	(void)arg;
	name_self("churner");
	pthread_barrier_wait(&named);
	churn_threads();
	return NULL;
}

/* stdout was flushed at "ready", so _exit loses nothing and is safe here. */
static void on_alarm(int sig)
{
	(void)sig;
	_exit(0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "churn", no_argument, NULL, 'c' },
		{ "exit-after", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts opts = { .churn = false, .exit_after_ms = 0 };
	struct worker workers[NWORKERS];
	pthread_t acceptor, logger, churner;
	struct sigaction sa;
	sigset_t alarm_set;
	int c, i, nthreads;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.churn = true;
			break;
		case 'x':
			opts.exit_after_ms =
				parse_num(optarg, 1, 3600000, "exit-after");
			break;
		case 'h':
			usage(stdout);
			break;
		default:
			usage(stderr);
		}
	}
	no_operands(argc, argv);

	/* Only the main thread takes SIGALRM: the others inherit the block. */
	sigemptyset(&alarm_set);
	sigaddset(&alarm_set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm_set, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	nthreads = 2 + NWORKERS + (opts.churn ? 1 : 0);
	pthread_barrier_init(&named, NULL, nthreads + 1);
	spawn(&acceptor, acceptor_main, NULL);
	spawn(&logger, logger_main, NULL);
	for (i = 0; i < NWORKERS; i++) {
		workers[i].id = i + 1;
		spawn(&workers[i].thread, worker_main, &workers[i]);
	}
	if (opts.churn)
		spawn(&churner, churner_main, NULL);
	pthread_barrier_wait(&named);

	wait_for_sleepers(&conn_lock, &conn_sleepers, 1);
	wait_for_sleepers(&job_lock, &job_sleepers, NWORKERS - 1);
	while (spin_counter == 0)
		sleep_ms(1);

	say_ready();

	if (opts.exit_after_ms) {
		struct itimerval it = {
			.it_value = { opts.exit_after_ms / 1000,
				      (opts.exit_after_ms % 1000) * 1000 },
		};

		setitimer(ITIMER_REAL, &it, NULL);
		pthread_sigmask(SIG_UNBLOCK, &alarm_set, NULL);
	}
	for (;;)
		pause();
}
