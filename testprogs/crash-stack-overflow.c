/*
 * crash-stack-overflow: a recursive tree walk that never reaches a leaf,
 * because a node was linked as its own child; unbounded recursion until the
 * stack runs out.
 *
 * EXPECTED DIAGNOSIS (corepeek CORE): killed by SIGSEGV with the fault
 * address less than 100 bytes below the lowest mapped byte of the crashing
 * thread's stack and within 64 bytes of its stack pointer; the message names
 * a stack overflow.  Nearly every frame on that stack is walk_tree (one
 * return address repeated) above run_walk <- main (<- walker_main with
 * --thread), and the faulting instruction is in walk_tree at
 * crash-stack-overflow.c:N, where N is the line marked CRASH-LINE.
 * walk_tree's whole body sits on that line, so whichever of its
 * instructions first touches the page past the end (the call, a spill in
 * the prologue, the store to path[]) has that line.  Each frame is 96 bytes
 * at -O0 and 80 at -O2 (no frame pointer).  At -O0 the innermost frame's n
 * and depth may be unreadable (or 0, read from the guard page): the fault
 * came before they were spilled.
 *
 * By default the main thread overflows its 8 MiB stack (`ulimit -s` 8192):
 * si_code SEGV_MAPERR, the address is in the gap below the [stack] mapping,
 * which the kernel would not grow past the limit.  Depth: about 87 300
 * walk_tree frames at -O0, 104 800 at -O2 (8 MiB / 96 or 80 bytes, less the
 * environment, the auxiliary vector and main's frames; it varies by some
 * tens of frames from run to run with the random stack offset).  With
 * --thread, a thread with a 1 MiB stack overflows instead while the main
 * thread sleeps in pthread_join: si_code SEGV_ACCERR, the address is in the
 * PROT_NONE guard page glibc put below that stack; depth about 10 900 frames
 * at -O0, 13 050 at -O2.  That thread is named "walker", which only the live
 * process shows: an ELF core keeps no thread names.
 *
 * The program prints "ready pid=<n>", then starts the walk by itself after
 * --delay MS milliseconds (default 200, 0 for at once); the walk itself
 * takes a few milliseconds.  Raise `ulimit -c` first to get a core: about
 * 8.7 MB by default (nearly all on disk: the stack is full), 1.7 MB with
 * --thread.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testprog.h"

#define WALKER_STACK_SIZE (1024 * 1024)

struct opts {
	bool thread;
	long delay_ms;
};

struct node {
	struct node *child;
};

/* The bug: the tree's root was linked as its own child. */
static struct node root = { .child = &root };

static void usage(FILE *fp)
{
	fprintf(fp, "usage: crash-stack-overflow [--thread] [--delay MS]\n");
	exit(fp == stdout ? 0 : 64);
}

/*
 * path[] is volatile and read back after the recursive call, so every frame
 * keeps its 64 bytes and the call stays a call (no loop, no tail call) even
 * at -O2.  The body is on one line for the reason the header gives.
 */
/* clang-format off */
__attribute__((noinline, noipa)) static long walk_tree(const struct node *n, long depth)
{ volatile char path[64]; path[depth & 63] = 1; return n ? walk_tree(n->child, depth + 1) + path[depth & 63] : depth; } /* CRASH-LINE */
/* clang-format on */

__attribute__((noinline, noipa)) static long run_walk(const struct opts *opts)
{
	sleep_ms(opts->delay_ms);
	return walk_tree(&root, 1) + 1;
}

/*
 * Returns once the main thread sleeps in pthread_join, a futex wait in its
 * syscall file in /proc: once the walker runs, main has nothing else to wait
 * for (testprog.h reads the file).
 */
static void wait_for_main_join(void)
{
	while (!futex_wait_word(getpid()))
		sleep_ms(1);
}

static void *walker_main(void *arg)
{
	name_self("walker");
	wait_for_main_join();
	say_ready();
	run_walk(arg);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "delay", required_argument, NULL, 'd' },
		{ "thread", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts opts = { .thread = false, .delay_ms = 200 };
	pthread_attr_t attr;
	pthread_t walker;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			opts.delay_ms = parse_num(optarg, 0, 3600000, "delay");
			break;
		case 't':
			opts.thread = true;
			break;
		case 'h':
			usage(stdout);
			break;
		default:
			usage(stderr);
		}
	}
	no_operands(argc, argv);

	if (!opts.thread) {
		say_ready();
		run_walk(&opts);
		errx(1, "the walk ended without a crash");
	}

	pthread_attr_init(&attr);
	rc = pthread_attr_setstacksize(&attr, WALKER_STACK_SIZE);
	if (rc) {
		errno = rc;
		err(1, "cannot set the walker's stack size");
	}
	spawn_attr(&walker, &attr, walker_main, &opts);
	pthread_attr_destroy(&attr);
	pthread_join(walker, NULL);
	errx(1, "the walk ended without a crash");
}
