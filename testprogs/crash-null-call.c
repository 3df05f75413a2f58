/*
 * crash-null-call: an event loop that calls the handler for an event nobody
 * registered one for; a call through a NULL function pointer.
 *
 * EXPECTED DIAGNOSIS (corepeek CORE): killed by SIGSEGV, si_code
 * SEGV_MAPERR, fault address 0, and the program counter is 0 too: the
 * process jumped to address 0, so frame 0 has no function and the message
 * names a call through a NULL function pointer.  The call instruction pushed
 * its return address and nothing ran since, so the caller comes from the
 * word at [rsp]: invoke_handler at crash-null-call.c:N, where N is the line
 * marked CRASH-LINE (the return address follows the call, so it is looked
 * up as address - 1).  Above it: dispatch_event <- main.  One thread, the
 * main thread.  The handlers for EV_OPEN and EV_READ ran before without
 * harm; the one for EV_WRITE is missing.
 *
 * The program prints "ready pid=<n>", then crashes by itself after --delay MS
 * milliseconds (default 200, 0 for at once).  Raise `ulimit -c` first to get
 * a core.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "testprog.h"

struct opts {
	long delay_ms;
};

enum event { EV_OPEN, EV_READ, EV_WRITE, EV_CLOSE, NEVENTS };

typedef int (*handler_fn)(int fd);

/* What the handlers did, so that they do something. */
static volatile int events_handled;

static int on_open(int fd)
{
	events_handled++;
	return fd;
}

static int on_read(int fd)
{
	events_handled++;
	return fd;
}

static int on_close(int fd)
{
	events_handled++;
	return fd;
}

/*
 * The bug: nobody registered a handler for EV_WRITE.  The entries are
 * volatile, so the compiler loads them when they are called and cannot turn
 * the call through NULL into a trap.
 */
static handler_fn volatile handlers[NEVENTS] = {
	[EV_OPEN] = on_open,
	[EV_READ] = on_read,
	[EV_CLOSE] = on_close,
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: crash-null-call [--delay MS]\n");
	exit(fp == stdout ? 0 : 64);
}

/* The check after the call keeps it a call, not a jump, even at -O2, so the
 * return address into this function is on the stack when pc is 0. */
__attribute__((noinline, noipa)) static int invoke_handler(enum event ev,
							   int fd)
{
	int rc;

	rc = handlers[ev](fd); /* CRASH-LINE */
	if (rc < 0)
		warnx("handler for event %d failed", (int)ev);
	return rc;
}

__attribute__((noinline, noipa)) static int dispatch_event(enum event ev,
							   int fd)
{
	if (ev >= NEVENTS)
		return -1;
	return invoke_handler(ev, fd) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct opts opts = { .delay_ms = 200 };

	opts.delay_ms = parse_delay(argc, argv, opts.delay_ms);

	say_ready();
	sleep_ms(opts.delay_ms);
	dispatch_event(EV_OPEN, 3);
	dispatch_event(EV_READ, 3);
	dispatch_event(EV_WRITE, 3);
	errx(1, "the missing handler was called without a crash");
}
