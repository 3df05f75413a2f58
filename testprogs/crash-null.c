/*
 * crash-null: a request parser that writes through a NULL header pointer in
 * one of fifty threads; the notes' "segfault in a worker thread" case, where
 * the tool must single out the thread that crashed.
 *
 * EXPECTED DIAGNOSIS (corepeek CORE): killed by SIGSEGV, si_code
 * SEGV_MAPERR, fault address 0x10: a write through a NULL pointer to the
 * member at offset 0x10 (length in struct request_header), so the message
 * names a NULL pointer dereference although the address is not 0.  The
 * crashing thread is the parser, not the main thread (its TID is not the
 * pid; the kernel writes its notes first); its stack is read_field <-
 * parse_header <- parse_request <- parser_main, and the faulting instruction
 * (a store) is in read_field at crash-null.c:N, where N is the line marked
 * CRASH-LINE.  The other 50 threads are bystanders: 49 pool threads in
 * pthread_cond_wait under wait_for_work, and the main thread in pthread_join
 * (__pthread_clockjoin_ex in libc).  51 threads in all.
 *
 * The threads are named "parser" and "pool-1" ... "pool-49", but only the
 * live process shows that: an ELF core keeps no thread names, and its
 * NT_PRPSINFO names the main thread's comm ("crash-null").
 *
 * The program prints "ready pid=<n>" once every thread has named itself and
 * reached its state; then the parser crashes by itself after --delay MS
 * milliseconds (default 200, 0 for at once).  Raise `ulimit -c` first to get
 * a core.  The pool threads run on 64 KiB stacks so that the core stays
 * small (13 MB, about 1 MB of it on disk; the rest are holes).
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testprog.h"

#define NPOOL 49
#define POOL_STACK_SIZE (64 * 1024)

struct opts {
	long delay_ms;
};

/* A request's header as it comes off the wire. */
struct request_header {
	uint32_t magic;
	uint32_t version;
	uint64_t flags;
	uint64_t length;
};

/* The fault address the diagnosis states is this offset. */
_Static_assert(offsetof(struct request_header, length) == 0x10,
	       "length must sit at offset 0x10");

struct request {
	const char *text;
	struct request_header *hdr;
};

/*
 * The bug: the code that should have allocated the header for this request
 * never ran, so hdr is NULL.  The functions below are noipa, so the
 * compiler cannot see that and turn the store into a trap.
 */
static struct request incoming = {
	.text = "Content-Length: 4096",
	.hdr = NULL,
};

/* No work is ever queued for the pool: work_ready is never signalled. */
static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_ready = PTHREAD_COND_INITIALIZER;
static int work_sleepers;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: crash-null [--delay MS]\n");
	exit(fp == stdout ? 0 : 64);
}

__attribute__((noinline, noipa)) static void wait_for_work(void)
{
	pthread_mutex_lock(&work_lock);
	work_sleepers++;
	for (;;)
		pthread_cond_wait(&work_ready, &work_lock);
}

/* The store below is the crash: hdr is NULL and length is at 0x10. */
__attribute__((noinline, noipa)) static int
read_field(struct request_header *hdr, const char *text)
{
	const char *colon = strchr(text, ':');
	uint64_t n;

	if (!colon)
		return -1;
	n = strtoull(colon + 1, NULL, 10);
	hdr->length = n; /* CRASH-LINE */
	return 0;
}

/* Using each result after the call keeps these from being tail calls, so
 * every function keeps its own frame even at -O2. */
__attribute__((noinline, noipa)) static int parse_header(struct request *req)
{
	return read_field(req->hdr, req->text) < 0 ? -1 : 1;
}

__attribute__((noinline, noipa)) static int parse_request(struct request *req)
{
	return parse_header(req) + 1;
}

/*
 * Returns once the main thread sleeps in pthread_join, a futex wait in its
 * syscall file in /proc: once the parser runs, main has nothing else to wait
 * for (testprog.h reads the file).
 */
static void wait_for_main_join(void)
{
	while (!futex_wait_word(getpid()))
		sleep_ms(1);
}

static void *pool_main(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "pool-%d", (int)(intptr_t)arg);
	name_self(name);
	wait_for_work();
	return NULL;
}

/*
 * The parser, started last, says "ready" itself: only it can know when the
 * pool sleeps and main has reached pthread_join, and the delay is its own.
 */
static void *parser_main(void *arg)
{
	const struct opts *opts = arg;

	name_self("parser");
	wait_for_sleepers(&work_lock, &work_sleepers, NPOOL);
	wait_for_main_join();
	say_ready();
	sleep_ms(opts->delay_ms);
	parse_request(&incoming);
	return NULL;
}

int main(int argc, char **argv)
{
	struct opts opts = { .delay_ms = 200 };
	pthread_t pool[NPOOL], parser;
	pthread_attr_t pool_attr;
	int i, rc;

	opts.delay_ms = parse_delay(argc, argv, opts.delay_ms);

	pthread_attr_init(&pool_attr);
	rc = pthread_attr_setstacksize(&pool_attr, POOL_STACK_SIZE);
	if (rc) {
		errno = rc;
		err(1, "cannot set the pool's stack size");
	}
	for (i = 0; i < NPOOL; i++)
		spawn_attr(&pool[i], &pool_attr, pool_main,
			   (void *)(intptr_t)(i + 1));
	pthread_attr_destroy(&pool_attr);
	spawn(&parser, parser_main, &opts);
	pthread_join(parser, NULL);
	errx(1, "the parser returned instead of crashing");
}
