/* test_heap.c: the heap census, on a live heap of known shape and on forged
 * memory that lies. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sb_glibc_malloc.h"
#include "sb_heap.h"
#include "sb_maps.h"
#include "sb_proc.h"
#include "sb_syms.h"
#include "sb_util.h"
#include "tap.h"

/* ---- forged memory: a few regions at chosen addresses ---- */

struct region {
	uint64_t base;
	unsigned char *buf;
	size_t len;
};

static struct region regions[4];
static int nregions;

static ssize_t forged_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	int i;

	(void)ctx;
	for (i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];

		if (addr >= r->base && addr < r->base + r->len) {
			size_t n = r->base + r->len - addr;

			n = n < len ? n : len;
			memcpy(buf, r->buf + (addr - r->base), n);
			return (ssize_t)n;
		}
	}
	return -EFAULT;
}

static unsigned char *region(uint64_t base, size_t len)
{
	struct region *r = &regions[nregions++];

	r->base = base;
	r->len = len;
	r->buf = calloc(1, len);
	return r->buf;
}

static void forget_regions(void)
{
	while (nregions)
		free(regions[--nregions].buf);
}

static void put64(unsigned char *buf, size_t off, uint64_t v)
{
	memcpy(buf + off, &v, sizeof(v));
}

#define ARENA 0x7f0000001000ull /* main_arena in "libc's data" */
#define HEAP 0x555500000000ull /* [heap] */
#define HEAP_LEN 0x10000

/*
 * A main arena with empty bins and a [heap] of chunks of the given sizes
 * (0 ends the list), all in use, then the top chunk.  Returns the heap.
 */
static unsigned char *forge(const uint64_t *sizes, struct sb_maps *maps,
			    struct sb_heap_where *w)
{
	unsigned char *arena = region(ARENA, 0x2000), *heap;
	uint64_t p = 0;
	char text[512];
	int i;

	heap = region(HEAP, HEAP_LEN);
	for (i = 0; i < MS_NBINS; i++) {
		put64(arena, MS_BIN1 + 16 * i, ARENA + MS_BIN1 + 16 * i - 16);
		put64(arena, MS_BIN1 + 16 * i + 8,
		      ARENA + MS_BIN1 + 16 * i - 16);
	}
	put64(arena, MS_NEXT, ARENA);
	for (i = 0; sizes[i]; i++) {
		put64(heap, p + 8, sizes[i] | PREV_INUSE);
		if (sizes[i] >= HEAP_LEN - p - 32) {
			/* a lie: the top chunk is where it should be */
			p = HEAP_LEN - 0x40;
			break;
		}
		p += sizes[i] & ~(uint64_t)SIZE_BITS;
	}
	put64(heap, p + 8, (HEAP_LEN - p) | PREV_INUSE);
	put64(arena, MS_TOP, HEAP + p);
	snprintf(text, sizeof(text),
		 "7f0000000000-7f0000001000 r--p 00000000 08:01 42 "
		 "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
		 "7f0000001000-7f0000003000 rw-p 00001000 08:01 42 "
		 "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
		 "%llx-%llx rw-p 00000000 00:00 0 [heap]\n",
		 (unsigned long long)HEAP,
		 (unsigned long long)(HEAP + HEAP_LEN));
	sb_maps_parse(text, maps);
	memset(w, 0, sizeof(*w));
	w->main_arena = ARENA;
	w->heap_max = HEAP_MAX_DEFAULT;
	w->tcache_count = 7;
	return heap;
}

static const struct sb_memsrc forged = { .read = forged_read };

static uint64_t blocks_of(const struct sb_heap_census *c, uint64_t size,
			  bool mmapped)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].size == size && c->v[i].mmapped == mmapped)
			return c->v[i].blocks;
	return 0;
}

static void test_forged_clean(void)
{
	const uint64_t sizes[] = { 0x30, 0x30, 0x1010, 0x20, 0 };
	struct sb_maps maps = { 0 };
	struct sb_heap_where w;
	struct sb_heap_census c;

	forge(sizes, &maps, &w);
	is_int(sb_heap_walk(&forged, &maps, &w, &c), 0, "forged: walks");
	ok(!c.partial, "forged: a sound heap is whole");
	is_int(blocks_of(&c, 0x30, false), 2, "forged: two blocks of 48");
	is_int(blocks_of(&c, 0x1010, false), 1, "forged: one of 4112");
	is_int(c.blocks, 4, "forged: four blocks in all");
	is_int(c.top_bytes, HEAP_LEN - 0x30 - 0x30 - 0x1010 - 0x20,
	       "forged: the rest is top");
	sb_heap_census_free(&c);
	sb_maps_free(&maps);
	forget_regions();
}

static void test_forged_lies(void)
{
	const uint64_t huge[] = { 0x30, 0x7fffffff0, 0 };
	const uint64_t zero[] = { 0x30, 0x30, 0 };
	struct sb_maps maps = { 0 };
	struct sb_heap_where w;
	struct sb_heap_census c;
	unsigned char *heap, *arena;

	/* a chunk that claims more than its heap holds */
	forge(huge, &maps, &w);
	is_int(sb_heap_walk(&forged, &maps, &w, &c), 0, "huge: no error");
	ok(c.partial && strstr(c.problem, "claims"),
	   "huge: the damaged chunk is named");
	is_int(blocks_of(&c, 0x30, false), 1, "huge: what came before counts");
	sb_heap_census_free(&c);
	sb_maps_free(&maps);
	forget_regions();

	/* a chunk of size 0 would loop for ever */
	heap = forge(zero, &maps, &w);
	put64(heap, 0x30 + 8, 0 | PREV_INUSE);
	is_int(sb_heap_walk(&forged, &maps, &w, &c), 0, "zero: no error");
	ok(c.partial, "zero: a size of 0 stops the walk");
	sb_heap_census_free(&c);
	sb_maps_free(&maps);
	forget_regions();

	/* a fastbin whose block points at itself */
	heap = forge(zero, &maps, &w);
	arena = regions[0].buf;
	put64(arena, MS_FASTBINS + 8, HEAP); /* fastbin of 48-byte blocks */
	put64(heap, 16, ((HEAP + 16) >> 12) ^ HEAP); /* safe-linked self */
	is_int(sb_heap_walk(&forged, &maps, &w, &c), 0, "loop: no error");
	ok(c.partial && strstr(c.problem, "fastbin"),
	   "loop: the fastbin loop is caught");
	is_int(blocks_of(&c, 0x30, false), 2,
	       "loop: nothing taken out on a bad list");
	sb_heap_census_free(&c);
	sb_maps_free(&maps);
	forget_regions();

	/* an arena ring that never comes back to main_arena */
	forge(zero, &maps, &w);
	arena = regions[0].buf;
	put64(arena, MS_NEXT, ARENA + 0x900);
	put64(arena, 0x900 + MS_NEXT, ARENA + 0x900);
	is_int(sb_heap_walk(&forged, &maps, &w, &c), 0, "ring: no error");
	ok(c.partial, "ring: an endless arena list is cut");
	sb_heap_census_free(&c);
	sb_maps_free(&maps);
	forget_regions();

	/* main_arena where nothing is mapped */
	forge(zero, &maps, &w);
	w.main_arena = 0x1000;
	is_int(sb_heap_walk(&forged, &maps, &w, &c), 0, "unmapped: no error");
	ok(c.partial && strstr(c.problem, "cannot read"), "unmapped: said so");
	is_int(c.blocks, 0, "unmapped: nothing counted");
	sb_heap_census_free(&c);
	sb_maps_free(&maps);
	forget_regions();
}

static void test_diff(void)
{
	struct sb_heap_class before[] = { { 48, 10, false },
					  { 4112, 5, false },
					  { 303104, 1, true } };
	struct sb_heap_class after[] = { { 48, 8, false },
					 { 1040, 3, false },
					 { 4112, 105, false } };
	struct sb_heap_census a = { .v = before, .n = 3 };
	struct sb_heap_census b = { .v = after, .n = 3 };
	struct sb_heap_growth *g;
	uint64_t lo, hi;
	int n = sb_heap_diff(&a, &b, &g);

	is_int(n, 4, "diff: four sizes changed");
	if (n == 4) {
		is_int(g[0].size, 4112, "diff: the biggest growth first");
		is_int(g[0].blocks, 100, "diff: +100 blocks");
		is_int(g[0].bytes, 411200, "diff: in bytes");
		is_int(g[1].size, 1040, "diff: a new size");
		is_int(g[3].size, 303104, "diff: the mmapped block last");
		ok(g[3].mmapped && g[3].blocks == -1, "diff: it went");
	}
	free(g);
	sb_heap_request_range(4112, false, &lo, &hi);
	ok(lo == 4089 && hi == 4104, "request range of 4112: 4089..4104");
	sb_heap_request_range(32, false, &lo, &hi);
	ok(lo == 0 && hi == 24, "request range of 32: 0..24");
}

/* ---- a live heap: testprogs/heap-shapes ---- */

static pid_t start_shapes(void)
{
	const char *dir = getenv("SB_TESTPROGS");
	char path[4096], line[64];
	int fd[2];
	pid_t pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/heap-shapes",
		 dir ? dir : "build/testprogs");
	if (pipe(fd))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	if (!f || !fgets(line, sizeof(line), f) ||
	    strncmp(line, "ready", 5) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	if (f)
		fclose(f);
	return pid;
}

static void check_shapes(const struct sb_heap_census *c, const char *how)
{
	static const struct {
		uint64_t size, blocks;
		bool mmapped;
	} want[] = {
		{ 32, 11, false },    { 64, 18, false },
		{ 240, 1000, false }, { 352, 15, false },
		{ 1008, 250, false }, { 2016, 7, false },
		{ 5008, 500, false }, { 303104, 3, true },
	};
	char name[128];
	size_t i;

	for (i = 0; i < SB_ARRAY_SIZE(want); i++) {
		snprintf(name, sizeof(name), "%s: %llu blocks of %llu%s", how,
			 (unsigned long long)want[i].blocks,
			 (unsigned long long)want[i].size,
			 want[i].mmapped ? " (mmapped)" : "");
		is_int(blocks_of(c, want[i].size, want[i].mmapped),
		       want[i].blocks, name);
	}
	snprintf(name, sizeof(name), "%s: 17 freed blocks cached", how);
	is_int(c->cached_blocks, 17, name);
	snprintf(name, sizeof(name), "%s: two arenas, two tcaches", how);
	ok(c->arenas == 2 && c->tcaches == 2, name);
	snprintf(name, sizeof(name), "%s: freed 2016-byte blocks in bins", how);
	ok(c->free_blocks >= 2, name);
	snprintf(name, sizeof(name), "%s: whole", how);
	if (!ok(!c->partial, name))
		printf("#   %s\n", c->problem);
	snprintf(name, sizeof(name), "%s: idle, so walked while running", how);
	ok(c->walked_running, name);
	snprintf(name, sizeof(name), "%s: both threads stopped", how);
	ok(c->threads == 2 && c->threads_not_stopped == 0 && c->stopped_ns,
	   name);
}

static void test_live(void)
{
	struct sb_heap_where w;
	struct sb_heap_census c;
	struct sb_maps maps = { 0 };
	struct sb_thread_stat st;
	struct sb_memsrc mem;
	struct sb_syms *syms;
	char why[256];
	int i;
	pid_t pid = start_shapes();

	if (!ok(pid > 0, "heap-shapes started"))
		return;
	mem = sb_memsrc_live(pid);
	syms = sb_syms_new(pid, NULL);
	sb_maps_read(pid, &maps);
	if (ok(sb_heap_locate(pid, syms, &maps, &mem, &w, why, sizeof(why)) ==
		       0,
	       "located glibc's malloc")) {
		is_str(w.glibc, "2.36", "its version");
		is_int(sb_heap_census(pid, &w, &c), 0, "census by symbols");
		check_shapes(&c, "symbols");
		sb_heap_census_free(&c);
	} else {
		printf("#   %s\n", why);
	}
	if (ok(sb_heap_locate(pid, NULL, &maps, &mem, &w, why, sizeof(why)) ==
		       0,
	       "located by shape, without symbols")) {
		is_str(w.found_by, "its shape in libc's data", "said how");
		is_int(sb_heap_census(pid, &w, &c), 0, "census by shape");
		check_shapes(&c, "shape");
		sb_heap_census_free(&c);
	}
	/* A malloc that takes a free block exactly changes no arena field:
	 * the word after the block says it. */
	if (sb_heap_locate(pid, syms, &maps, &mem, &w, why, sizeof(why)) == 0 &&
	    sb_heap_walk(&mem, &maps, &w, &c) == 0) {
		ok(c.nfree_at >= 2, "the large free blocks are remembered");
		ok(sb_heap_free_unchanged(pid, &c),
		   "free blocks: unchanged while nothing happens");
		kill(pid, SIGUSR1);
		for (i = 0; i < 200 && sb_heap_free_unchanged(pid, &c); i++)
			usleep(5000);
		ok(!sb_heap_free_unchanged(pid, &c),
		   "free blocks: a malloc that took one is seen");
		sb_heap_census_free(&c);
	}
	ok(sb_proc_thread_read(pid, pid, 0, &st) == 0 && st.state != 't' &&
		   st.state != 'T',
	   "the process runs on after the census");
	sb_syms_free(syms);
	sb_maps_free(&maps);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	test_forged_clean();
	test_forged_lies();
	test_diff();
	test_live();
	tap_plan(tap_count);
	return tap_done();
}
