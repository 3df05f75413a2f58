/*
 * crash-double-free: a connection's buffer freed twice, once by the normal
 * path and again by the cleanup; a double free that glibc's allocator
 * catches.
 *
 * EXPECTED DIAGNOSIS (corepeek CORE): killed by SIGABRT that the process
 * sent itself (si_code SI_TKILL, si_pid its own pid), from abort() under
 * malloc_printerr.  glibc's message, on stderr and in __abort_msg in the
 * core: "free(): double free detected in tcache 2" (a 64-byte block, so it
 * was in the tcache).  The stack: the raise in libc
 * (__pthread_kill_implementation) <- raise <- abort <- __libc_message <-
 * malloc_printerr <- _int_free <- free <- release_buffer at
 * crash-double-free.c:N, where N is the line marked CRASH-LINE (the second
 * free) <- close_connection <- main.  One thread, the main thread.
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

#define BUF_SIZE 64

struct opts {
	long delay_ms;
};

/*
 * The buffer pointer is volatile, so each free() gets the value loaded
 * afresh: the compiler can neither merge nor drop the second call, nor warn
 * about it, and both reach glibc at -O0 and -O2.
 */
struct connection {
	int fd;
	char *volatile buf;
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: crash-double-free [--delay MS]\n");
	exit(fp == stdout ? 0 : 64);
}

/*
 * The bug: the pointer is cleared only after the cleanup has freed it a
 * second time.  That late store also keeps the second free a call rather
 * than a tail jump at -O2, so release_buffer stays on the stack.
 */
__attribute__((noinline, noipa)) static void
release_buffer(struct connection *conn)
{
	free(conn->buf);
	free(conn->buf); /* CRASH-LINE */
	conn->buf = NULL;
}

__attribute__((noinline, noipa)) static int
close_connection(struct connection *conn)
{
	release_buffer(conn);
	conn->fd = -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts opts = { .delay_ms = 200 };
	struct connection conn = { .fd = 3, .buf = NULL };

	opts.delay_ms = parse_delay(argc, argv, opts.delay_ms);

	conn.buf = malloc(BUF_SIZE);
	if (!conn.buf)
		err(1, "cannot allocate the connection's buffer");
	snprintf(conn.buf, BUF_SIZE, "GET /index.html HTTP/1.1");

	say_ready();
	sleep_ms(opts.delay_ms);
	close_connection(&conn);
	errx(1, "the buffer was freed twice without a crash");
}
