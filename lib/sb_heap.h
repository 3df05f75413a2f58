/* sb_heap.h: a census of glibc malloc's heap, taken from the outside. */
#ifndef SB_HEAP_H
#define SB_HEAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sb_maps.h"
#include "sb_stack.h"
#include "sb_syms.h"

/*
 * Where glibc's allocator keeps its state in one process, and the layout
 * it uses.  Found once (sb_heap_locate) before any census: the symbol
 * work is slow and needs no stop.
 */
struct sb_heap_where {
	uint64_t main_arena; /* struct malloc_state of the main arena */
	uint64_t mp; /* struct malloc_par mp_, 0 when unknown */
	uint64_t sbrk_base; /* the main heap's start when mp_ is unknown */
	uint64_t tcache_key_addr; /* glibc's tcache_key, 0 when unknown */
	uint64_t heap_max; /* a thread arena's heap size and alignment */
	unsigned tcache_count; /* most blocks a tcache list holds */
	char glibc[16]; /* "2.36" */
	char found_by[48]; /* "libc's debug symbols", "its shape" */
};

/* In-use blocks of one size. */
struct sb_heap_class {
	uint64_t size; /* chunk size: what the block takes in the heap */
	uint64_t blocks;
	bool mmapped; /* each block its own mapping (large blocks) */
};

/* One census: every block of every arena, counted by size. */
struct sb_heap_census {
	struct sb_heap_class *v; /* in use, sorted by mmapped, size */
	size_t n, cap;
	uint64_t blocks, bytes; /* in use (what the program holds) */
	uint64_t free_blocks, free_bytes; /* in malloc's bins */
	/* freed blocks kept in tcache and fastbins: they look in use to a
	 * walk of the heap, and are taken out of the counts */
	uint64_t cached_blocks, cached_bytes;
	uint64_t top_bytes; /* the arenas' unused tails */
	uint64_t tcache_key; /* marks a block freed into a tcache */
	uint64_t mmapped_blocks, mmapped_bytes;
	int arenas, heaps, tcaches;
	/* A chunk or list that did not check out: the walk of that heap or
	 * list stopped there, and the counts are short of it. */
	bool partial;
	char problem[160];
	/* the stop: how long the process was held, and how many threads */
	uint64_t stopped_ns;
	int threads, threads_not_stopped;
	/* walked while the process ran, and found unchanged once stopped */
	bool walked_running;
	/* the allocator's state as the walk saw it (mp_, the arenas, the
	 * tcaches at tcache_at), to tell whether it moved meanwhile */
	uint64_t state;
	uint64_t *tcache_at;
	size_t ntcache_at, captcache_at;
	/* the size words after each free block of a large bin's size: a
	 * malloc that takes one from the middle of its bin changes no
	 * arena, only this word's PREV_INUSE */
	uint64_t *free_at;
	size_t nfree_at, capfree_at;
};

/*
 * Find glibc's allocator in the process: libc.so.6 in its maps, the
 * version from the library's banner (the layout is known for 2.36 only:
 * others are refused with -ENOTSUP), main_arena from the symbol tables
 * (libc's debug file) or, without them, by its shape in libc's data.
 * syms may be NULL: then by shape only.  On failure *why says what and
 * what to do.  0 or -errno.
 */
int sb_heap_locate(pid_t pid, struct sb_syms *syms, const struct sb_maps *maps,
		   const struct sb_memsrc *mem, struct sb_heap_where *out,
		   char *why, size_t whysize);

/*
 * Count the in-use blocks of every arena, reading memory through mem and
 * bounding every step by the maps: the main arena's heap up to its top,
 * each thread arena's heaps, the mmapped blocks; then freed blocks held
 * in tcache and fastbins are taken out.  A chunk that does not check out
 * ends the walk of its heap (out->partial).  The process must not run
 * meanwhile.  0, or -ENOMEM.
 */
int sb_heap_walk(const struct sb_memsrc *mem, const struct sb_maps *maps,
		 const struct sb_heap_where *where, struct sb_heap_census *out);

/*
 * Whether the allocator's state is what the census saw: mp_, every arena
 * (bins, fastbins, top, the ring) and every tcache.  A malloc or free
 * changes one of them, or takes a free block (see free_at, which the
 * caller checks), so with the process stopped now, a census walked while
 * it ran is then what a stopped walk would find (but for blocks taken and
 * given back meanwhile).  1 or 0.
 */
int sb_heap_unchanged(const struct sb_memsrc *mem,
		      const struct sb_heap_where *where,
		      const struct sb_heap_census *c);

/*
 * Whether the large free blocks of a census are still free in process
 * pid (the words at free_at); past 16384 of them, not checked (1).  1 or
 * 0.
 */
int sb_heap_free_unchanged(pid_t pid, const struct sb_heap_census *c);

/*
 * A census of a live process: stop all its threads (sb_attach), read its
 * maps, walk, resume.  out->stopped_ns says how long it was held.
 * 0, -ESRCH, -EPERM (any thread refused: no census) or -errno.
 */
int sb_heap_census(pid_t pid, const struct sb_heap_where *where,
		   struct sb_heap_census *out);

void sb_heap_census_free(struct sb_heap_census *c);

/* How the blocks of one size changed between two censuses. */
struct sb_heap_growth {
	uint64_t size;
	bool mmapped;
	int64_t blocks, bytes;
};

/*
 * The sizes whose blocks changed from a to b, the biggest growth in bytes
 * first.  Returns the count (*out malloc'd, may be NULL for 0) or -ENOMEM.
 */
int sb_heap_diff(const struct sb_heap_census *a, const struct sb_heap_census *b,
		 struct sb_heap_growth **out);

/* The malloc() sizes that get a block of this chunk size: [*lo, *hi]. */
void sb_heap_request_range(uint64_t size, bool mmapped, uint64_t *lo,
			   uint64_t *hi);

#endif
