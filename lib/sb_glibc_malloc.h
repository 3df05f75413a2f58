/* sb_glibc_malloc.h: glibc 2.36's malloc structures on x86_64, as offsets. */
#ifndef SB_GLIBC_MALLOC_H
#define SB_GLIBC_MALLOC_H

#include <stdint.h>
#include <string.h>

/*
 * As `ptype /o` shows them in gdb with libc6-dbg (malloc/malloc.c,
 * malloc/arena.c).  sb_heap_locate checks the version before anything
 * reads memory with them.
 */
#define SB_GLIBC_MALLOC_VERSION "2.36"

#define MS_FASTBINS 16 /* struct malloc_state: fastbinsY[10] */
#define MS_NFASTBINS 10
#define MS_TOP 96
#define MS_BIN1 112 /* bins[0]: the unsorted bin's fd */
#define MS_NBINS 127 /* bin pairs (fd, bk) from MS_BIN1 */
#define MS_NEXT 2160
#define MS_SIZE 2200

#define MP_HP_PAGESIZE 48 /* struct malloc_par mp_ */
#define MP_SBRK_BASE 96
#define MP_TCACHE_COUNT 120
#define MP_SIZE 136

#define HI_PREV 8 /* heap_info: ar_ptr at 0 */
#define HI_SIZE 16
#define HI_SIZEOF 48
#define HEAP_MAX_DEFAULT (64ull << 20) /* 2 * DEFAULT_MMAP_THRESHOLD_MAX */

#define CHUNK_HDR 16 /* prev_size, size */
#define MINSIZE 32
#define MIN_LARGE_SIZE 1024 /* smaller blocks go to small bins */
#define PREV_INUSE 1
#define IS_MMAPPED 2
#define SIZE_BITS 7

#define TCACHE_CHUNK 0x290 /* chunk of a tcache_perthread_struct */
#define TCACHE_BINS 64
#define TCACHE_COUNTS 0 /* uint16_t counts[64] */
#define TCACHE_ENTRIES 128 /* tcache_entry *entries[64] */
#define TCACHE_STRUCT 640
#define TCACHE_MAX_CHUNK (MINSIZE + 16 * (TCACHE_BINS - 1))

/* A word of the target's memory, from a copy that need not be aligned. */
static inline uint64_t u64_at(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
