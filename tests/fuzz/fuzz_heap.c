/*
 * fuzz_heap.c: a libFuzzer target for the heap census walk (lib/sb_heap.c),
 * whose input is the memory of a hostile process.
 *
 * Each input patches a sound heap: a main arena in "libc's data", a
 * [heap] of chunks, a thread arena's heap aligned to 64 MiB and an mmapped
 * block, all laid out as glibc 2.36 lays them out.  The input's first
 * bytes choose the chunk sizes; the rest is a list of (offset, 8 bytes)
 * patches anywhere in that memory: sizes, flags, list pointers, arena
 * links, heap_info headers.  The walk must end, read nothing outside the
 * forged regions (the reader traps on a read the maps do not cover), and
 * keep its counts consistent.
 *
 * Built and run by `make fuzz` with fuzz_core (not part of `make check`):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
 *       tests/fuzz/fuzz_heap.c lib/sb_heap.c lib/sb_maps.c lib/sb_util.c
 */
#include "sb_glibc_malloc.h"
#include "sb_heap.h"
#include "sb_maps.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BASE 0x7f0000001000ull /* libc's data */
#define ARENA_LEN 0x2000
#define MAIN_ARENA (ARENA_BASE + 0x100)
#define HEAP_BASE 0x555500000000ull /* [heap] */
#define HEAP_LEN 0x8000
#define THREAD_HEAP 0x7e0004000000ull /* 64 MiB aligned */
#define THREAD_LEN 0x8000
#define MMAP_BASE 0x7e0100000000ull
#define MMAP_LEN 0x3000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct region {
	uint64_t base;
	size_t len;
	unsigned char *mem;
};

static unsigned char arena_mem[ARENA_LEN], heap_mem[HEAP_LEN],
	thread_mem[THREAD_LEN], mmap_mem[MMAP_LEN];
static struct region regions[] = {
	{ ARENA_BASE, ARENA_LEN, arena_mem },
	{ HEAP_BASE, HEAP_LEN, heap_mem },
	{ THREAD_HEAP, THREAD_LEN, thread_mem },
	{ MMAP_BASE, MMAP_LEN, mmap_mem },
};
#define NREGIONS (sizeof(regions) / sizeof(regions[0]))

static ssize_t forged_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < NREGIONS; i++) {
		const struct region *r = &regions[i];

		if (addr >= r->base && addr < r->base + r->len) {
			size_t n = r->base + r->len - addr;

			n = n < len ? n : len;
			memcpy(buf, r->mem + (addr - r->base), n);
			return (ssize_t)n;
		}
	}
	return -14; /* -EFAULT: like process_vm_readv on a hole */
}

static void put(unsigned char *m, size_t off, uint64_t v)
{
	memcpy(m + off, &v, sizeof(v));
}

static void init_arena(uint64_t addr, unsigned char *m, uint64_t top,
		       uint64_t next)
{
	int i;

	for (i = 0; i < MS_NBINS; i++) {
		uint64_t self = addr + MS_BIN1 + 16 * i - CHUNK_HDR;

		put(m, MS_BIN1 + 16 * i, self);
		put(m, MS_BIN1 + 16 * i + 8, self);
	}
	put(m, MS_TOP, top);
	put(m, MS_NEXT, next);
}

/* A chain of chunks of the chosen sizes, then the top chunk. */
static uint64_t lay_chunks(unsigned char *m, size_t first, size_t len,
			   const uint8_t *sizes, size_t n)
{
	size_t p = first, i;

	for (i = 0; i < n && p + 0x200 < len; i++) {
		size_t size = MINSIZE + 16 * (sizes[i] % 16);

		put(m, p + 8, size | PREV_INUSE | (sizes[i] & 0x40 ? 4 : 0));
		p += size;
	}
	put(m, p + 8, (len - p) | PREV_INUSE);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char maps_text[] =
		"555500000000-555500008000 rw-p 00000000 00:00 0 [heap]\n"
		"7e0004000000-7e0004008000 rw-p 00000000 00:00 0 \n"
		"7e0100000000-7e0100003000 rw-p 00000000 00:00 0 \n"
		"7f0000000000-7f0000001000 r--p 00000000 08:01 42 "
		"/usr/lib/x86_64-linux-gnu/libc.so.6\n"
		"7f0000001000-7f0000003000 rw-p 00001000 08:01 42 "
		"/usr/lib/x86_64-linux-gnu/libc.so.6\n";
	struct sb_memsrc mem = { .read = forged_read };
	struct sb_heap_where where = { .main_arena = MAIN_ARENA,
				       .heap_max = HEAP_MAX_DEFAULT,
				       .tcache_count = 7,
				       .sbrk_base = HEAP_BASE };
	struct sb_maps maps = { 0 };
	struct sb_heap_census c;
	uint64_t top, ttop, thread_arena = THREAD_HEAP + HI_SIZEOF, sum = 0;
	const uint8_t *sizes;
	size_t hdr, nsizes, i;

	memset(arena_mem, 0, sizeof(arena_mem));
	memset(heap_mem, 0, sizeof(heap_mem));
	memset(thread_mem, 0, sizeof(thread_mem));
	memset(mmap_mem, 0, sizeof(mmap_mem));
	/* the first 32 bytes: chunk sizes, 16 for each heap */
	hdr = size < 32 ? size : 32;
	sizes = data;
	data += hdr;
	size -= hdr;
	nsizes = hdr < 16 ? hdr : 16;
	top = HEAP_BASE + lay_chunks(heap_mem, 0, HEAP_LEN, sizes, nsizes);
	/* the thread arena: heap_info, malloc_state, then chunks */
	put(thread_mem, 0, thread_arena);
	put(thread_mem, HI_SIZE, THREAD_LEN);
	ttop = THREAD_HEAP + lay_chunks(thread_mem, HI_SIZEOF + MS_SIZE + 8,
					THREAD_LEN, sizes + nsizes,
					hdr - nsizes);
	init_arena(thread_arena, thread_mem + HI_SIZEOF, ttop, MAIN_ARENA);
	init_arena(MAIN_ARENA, arena_mem + (MAIN_ARENA - ARENA_BASE), top,
		   thread_arena);
	put(mmap_mem, 8, 0x2000 | IS_MMAPPED);
	/* the patches: 2 bytes of offset into all the memory, 8 of value */
	while (size >= 10) {
		uint16_t off;
		uint64_t v;
		size_t at, r;

		memcpy(&off, data, 2);
		memcpy(&v, data + 2, 8);
		data += 10;
		size -= 10;
		at = (size_t)off * 8;
		for (r = 0; r < NREGIONS; r++) {
			if (at + 8 <= regions[r].len) {
				put(regions[r].mem, at, v);
				break;
			}
			at -= regions[r].len < at ? regions[r].len : at;
		}
	}
	if (sb_maps_parse(maps_text, &maps))
		abort();
	if (sb_heap_walk(&mem, &maps, &where, &c) == 0) {
		for (i = 0; i < c.n; i++) {
			if (!c.v[i].blocks || c.v[i].size % 16)
				abort(); /* a class of nothing, or no size */
			sum += c.v[i].blocks;
		}
		if (sum != c.blocks)
			abort();
	}
	sb_heap_census_free(&c);
	sb_maps_free(&maps);
	return 0;
}
