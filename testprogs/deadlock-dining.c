/*
 * deadlock-dining: the dining philosophers, each of whom picks up the fork
 * on the left and then the one on the right; the notes' "a cycle of more
 * threads" case.
 *
 * EXPECTED DIAGNOSIS (lockgraph PID): a deadlock (exit status 1), one cycle
 * of N threads and N locks (N is 5 unless -n says otherwise):
 *
 *   "philo-0" holds forks[0] and waits for forks[1]
 *   "philo-1" holds forks[1] and waits for forks[2]
 *   ...
 *   "philo-<N-1>" holds forks[N-1] and waits for forks[0]
 *
 * The locks are default (normal) pthread mutexes, the elements of the
 * global array forks (64 of 40 bytes each, of which the first N are used),
 * so that the tool names them by symbol and offset: forks+0x28 for forks[1],
 * forks+0x50 for forks[2] and so on (forks[k] is forks+40*k).  Each
 * philosopher took its left fork in take_left_fork at the line marked
 * HOLD-LINE and waits for its right fork in take_right_fork at the line
 * marked WAIT-LINE: the stack is take_right_fork <- dine <- philo_main.
 * Each waiter sleeps in futex(FUTEX_WAIT_PRIVATE, val 2) on the first word
 * of the fork it wants, whose __owner is the TID of the philosopher on its
 * right.  The main thread is in pause(), not part of the cycle.
 *
 * The program prints "ready pid=<n>" once every philosopher sleeps in the
 * kernel on its right fork, then waits until it is killed.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "testprog.h"

#define MIN_PHILOS 2
#define MAX_PHILOS 64

struct opts {
	long nphilos;
};

struct philo {
	int id;
	int nphilos;
	pid_t tid;
	pthread_t thread;
};

/*
 * The locks of the cycle, one fork between each two philosophers.  The
 * array is not static so that it is a global data symbol (STB_GLOBAL,
 * STT_OBJECT) in the symbol table, the name lockgraph gives each fork.
 * All zeros is how glibc initializes a default mutex, and main still
 * initializes the ones it uses.
 */
pthread_mutex_t forks[MAX_PHILOS];

/* Every philosopher names itself and notes its TID, then meets main here. */
static pthread_barrier_t named;

/* Every philosopher holds its left fork before any reaches for its right. */
static pthread_barrier_t all_left;

static unsigned long meals[MAX_PHILOS];

static void usage(FILE *fp)
{
	fprintf(fp, "usage: deadlock-dining [-n N]\n");
	exit(fp == stdout ? 0 : 64);
}

/* Returning the fork after the call keeps each lock call from being a tail
 * call, so these functions keep their own frames even at -O2. */
__attribute__((noinline, noipa)) static int take_left_fork(int left)
{
	pthread_mutex_lock(&forks[left]); /* HOLD-LINE */
	return left;
}

__attribute__((noinline, noipa)) static int take_right_fork(int right)
{
	pthread_mutex_lock(&forks[right]); /* WAIT-LINE */
	return right;
}

/*
 * The bug: every philosopher takes the lower-numbered fork first except
 * the last, whose left fork is forks[N-1] and whose right is forks[0], so
 * the order of the forks goes round in a circle.
 */
__attribute__((noinline, noipa)) static void dine(int id, int nphilos)
{
	int left = id, right = (id + 1) % nphilos;

	take_left_fork(left);
	pthread_barrier_wait(&all_left);
	take_right_fork(right);
	meals[id]++;
	pthread_mutex_unlock(&forks[right]);
	pthread_mutex_unlock(&forks[left]);
}

static void *philo_main(void *arg)
{
	struct philo *p = arg;
	char name[16];

	snprintf(name, sizeof(name), "philo-%d", p->id);
	check_in(name, &p->tid, &named);
	dine(p->id, p->nphilos);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "philosophers", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts opts = { .nphilos = 5 };
	struct philo philos[MAX_PHILOS];
	int c, i, n;

	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			opts.nphilos = parse_num(optarg, MIN_PHILOS, MAX_PHILOS,
						 "number of philosophers");
			break;
		case 'h':
			usage(stdout);
			break;
		default:
			usage(stderr);
		}
	}
	no_operands(argc, argv);
	n = (int)opts.nphilos;

	for (i = 0; i < n; i++)
		pthread_mutex_init(&forks[i], NULL);
	pthread_barrier_init(&named, NULL, n + 1);
	pthread_barrier_init(&all_left, NULL, n);
	for (i = 0; i < n; i++) {
		philos[i].id = i;
		philos[i].nphilos = n;
		spawn(&philos[i].thread, philo_main, &philos[i]);
	}
	pthread_barrier_wait(&named);

	for (i = 0; i < n; i++)
		wait_blocked_on(philos[i].tid, &forks[(i + 1) % n],
				sizeof(forks[0]));

	say_ready();
	for (;;)
		pause();
}
