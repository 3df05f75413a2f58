/*
 * heap-smash: a heap damaged by a buffer overflow, which glibc has not
 * noticed yet: the program writes past the end of one block into the
 * header of the next and then calls malloc no more.
 *
 * EXPECTED DIAGNOSIS (leakwatch PID): the census is incomplete and says
 * where: "the chunk at 0x... claims 0x7fffffff0 bytes, past its heap's
 * end ...: the heap is damaged".  The blocks before the damage are
 * counted (among them 10 blocks of malloc(100), chunk 112), the walk
 * stops there, nothing is read out of bounds, and the watch goes on
 * (verdict stable).  The overflow is in smash_next_header at
 * heap-smash.c:N, the line marked OVERFLOW-LINE: a 24-byte copy into a
 * block of 24 bytes' use that goes 8 bytes on.
 *
 * The program prints "ready pid=<n>" once the damage is done, then waits
 * until killed (pause: no malloc, so glibc never finds out).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testprog.h"

static void *keep[16]; /* the blocks stay the program's */

static void usage(FILE *fp)
{
	fprintf(fp, "usage: heap-smash\n");
	exit(fp == stdout ? 0 : 64);
}

/* Writes a size word just past the block: the next chunk's header. */
__attribute__((noinline, noipa)) static void smash_next_header(char *block)
{
	uint64_t lie[4] = { 0, 0, 0, 0x7fffffff0 | 1 };

	/* block has 24 usable bytes; its neighbour's size word follows */
	memcpy(block + 8, lie + 1, 24); /* OVERFLOW-LINE */
}

int main(int argc, char **argv)
{
	static char outbuf[BUFSIZ];
	char *victim;
	int i;

	parse_help_only(argc, argv);
	setvbuf(stdout, outbuf, _IOLBF, sizeof(outbuf));
	for (i = 0; i < 10; i++)
		keep[i] = malloc(100);
	victim = malloc(24);
	keep[10] = malloc(200);
	keep[11] = malloc(200);
	smash_next_header(victim);
	say_ready();
	for (;;)
		pause();
}
