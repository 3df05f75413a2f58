/*
 * leak-connmgr: a server that registers every connection in a global
 * connection manager and never takes finished ones out; the notes' "memory
 * leak" case (an object held by a long-lived one).
 *
 * EXPECTED DIAGNOSIS (leakwatch PID): verdict leaking.  The heap grows at
 * 425 600 bytes/s (default), smoothly, in the main malloc arena, that is in
 * [heap] through brk; RSS grows at the same rate.  Thread "acceptor" opens
 * 100 connections a second, one every 10 ms, each in open_connection:
 *
 *   struct connection  malloc(136)   usable 136,   heap chunk 144 bytes
 *   its buffer         malloc(4096)  usable 4104,  heap chunk 4112 bytes
 *   one connection     asked 4232,   usable 4240,  heap 4256 bytes
 *
 * so 100 connections/s are 423 200 bytes/s asked for, 424 000 bytes/s of
 * malloc_usable_size and 425 600 bytes/s of heap.  The site that holds the
 * growth is open_connection at leak-connmgr.c:N, the line marked ALLOC-LINE
 * (the buffers, 97 % of it); the structs come from the line marked
 * CONN-STRUCT-LINE.  The stack is open_connection <- serve_forever <-
 * acceptor_main.  Every block stays reachable from the global
 * connection_manager (a list: head -> struct -> next ..., and each struct
 * -> its buffer), so none is "definitely lost": they are still reachable,
 * just never used again.
 *
 * --rate BYTES_PER_SEC sets the heap growth (connections per second are
 * rate / 4256; default 425600, i.e. 100/s).  --limit BYTES stops opening
 * connections once the next one would take the heap held by them over
 * BYTES (default 200 MiB = 209715200 bytes: 49 275 connections, after
 * 492.8 s at the default rate); after that the acceptor idles in
 * idle_forever and the memory stays where it is.
 *
 * The program prints "ready pid=<n>" before the first connection, so the
 * growth can be watched from its start, then runs until it is killed.  The
 * main thread sleeps in pause().
 */
#include <err.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testprog.h"

#define TICKS_PER_SEC 100
#define TICK_NS (1000000000L / TICKS_PER_SEC)
#define CONN_BUF_SIZE 4096
/* What one connection takes from the heap: both chunks, headers included. */
#define CONN_HEAP_BYTES 4256
#define DEFAULT_RATE (100L * CONN_HEAP_BYTES)
#define DEFAULT_LIMIT (200L * 1024 * 1024)

struct opts {
	long rate; /* heap bytes per second */
	long limit; /* heap bytes at most */
};

enum conn_state { CONN_OPEN, CONN_CLOSED };

struct connection {
	unsigned long id;
	int fd;
	enum conn_state state;
	struct timespec opened;
	struct timespec closed;
	char peer[48];
	size_t bytes_in;
	size_t bytes_out;
	char *buf;
	size_t buf_size;
	struct connection *next;
};

/* The sizes in the header comment hold only for this size (136 = 8 mod 16). */
_Static_assert(sizeof(struct connection) == 136, "struct connection size");

/*
 * The long-lived owner of every connection.  It should forget a connection
 * when it closes; it never does, so the list only grows.
 */
static struct connection_manager {
	pthread_mutex_t lock;
	struct connection *head;
	struct connection *tail;
	unsigned long count;
} connection_manager = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct opts opts = { .rate = DEFAULT_RATE, .limit = DEFAULT_LIMIT };
static pthread_barrier_t started;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: leak-connmgr [--rate BYTES_PER_SEC] "
		    "[--limit BYTES]\n");
	exit(fp == stdout ? 0 : 64);
}

__attribute__((noinline, noipa)) static void idle_forever(void)
{
	for (;;)
		pause();
}

__attribute__((noinline, noipa)) static void
register_connection(struct connection *c)
{
	pthread_mutex_lock(&connection_manager.lock);
	if (connection_manager.tail)
		connection_manager.tail->next = c;
	else
		connection_manager.head = c;
	connection_manager.tail = c;
	connection_manager.count++;
	pthread_mutex_unlock(&connection_manager.lock);
}

/* The allocation site: every connection and its buffer are made here. */
__attribute__((noinline, noipa)) static struct connection *
open_connection(unsigned long id)
{
	struct connection *c;

	c = malloc(sizeof(*c)); /* CONN-STRUCT-LINE */
	if (!c)
		err(1, "cannot allocate connection %lu", id);
	memset(c, 0, sizeof(*c));
	c->buf = malloc(CONN_BUF_SIZE); /* ALLOC-LINE */
	if (!c->buf)
		err(1, "cannot allocate buffer of connection %lu", id);
	c->buf_size = CONN_BUF_SIZE;
	c->id = id;
	c->fd = 1000 + (int)(id % 60000);
	c->state = CONN_OPEN;
	clock_gettime(CLOCK_REALTIME, &c->opened);
	snprintf(c->peer, sizeof(c->peer), "192.0.2.%lu:%lu", id % 254 + 1,
		 32768 + id % 28232);
	register_connection(c);
	return c;
}

/* The simulated request fills the whole buffer, so all of it is resident. */
__attribute__((noinline, noipa)) static void
handle_request(struct connection *c)
{
	memset(c->buf, 'a' + (int)(c->id % 26), c->buf_size);
	c->bytes_in = c->buf_size / 2;
	c->bytes_out = c->buf_size - c->bytes_in;
}

/*
 * The bug: closing marks the connection finished but leaves it, and its
 * buffer, registered in connection_manager for ever.
 */
__attribute__((noinline, noipa)) static void
close_connection(struct connection *c)
{
	c->state = CONN_CLOSED;
	clock_gettime(CLOCK_REALTIME, &c->closed);
}

/*
 * Opens as many connections as are due by each tick, so the heap grows at
 * opts.rate however the ticks fall, until the next one would pass
 * opts.limit.
 */
__attribute__((noinline, noipa)) static void serve_forever(void)
{
	unsigned long max_conns = opts.limit / CONN_HEAP_BYTES;
	unsigned long id = 0, due;
	unsigned long long tick = 0;
	struct timespec next;
	struct connection *c;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		tick++;
		wait_tick(&next, TICK_NS);
		due = (unsigned long)(tick * opts.rate /
				      (TICKS_PER_SEC * CONN_HEAP_BYTES));
		if (due > max_conns)
			due = max_conns;
		while (id < due) {
			c = open_connection(id++);
			handle_request(c);
			close_connection(c);
		}
		if (id == max_conns)
			return;
	}
}

static void *acceptor_main(void *arg)
{
	(void)arg;
	name_self("acceptor");
	pthread_barrier_wait(&started);
	serve_forever();
	idle_forever();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t acceptor;

	parse_rate_limit(argc, argv, &opts.rate, 1L << 30, &opts.limit, 0,
			 1L << 40);

	/*
	 * A thread's mallocs would otherwise go to an arena of its own,
	 * carved out of anonymous mmap'd memory; with one arena they all
	 * come from the main one, whose heap grows through brk as the
	 * diagnosis says.
	 */
	if (!mallopt(M_ARENA_MAX, 1))
		errx(1, "cannot limit malloc to one arena");

	pthread_barrier_init(&started, NULL, 2);
	spawn(&acceptor, acceptor_main, NULL);
	/* The acceptor has its name; its first connection is a tick away. */
	pthread_barrier_wait(&started);
	say_ready();
	for (;;)
		pause();
}
