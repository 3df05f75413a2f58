/* sb_heap.c: count glibc malloc's blocks by size, walking its arenas in the
 * target's memory and checking every chunk before following it. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sb_glibc_malloc.h"
#include "sb_heap.h"
#include "sb_util.h"

#define SMALL_LIMIT (128 * 1024) /* block sizes counted in an array */
#define WINDOW (256 * 1024) /* read at once while walking a heap */
#define PAGE 4096
#define CACHE_PAGES 64 /* for list walks: entries are near each other */
#define MAX_ARENAS 4096
#define MAX_HEAPS 65536

struct range {
	uint64_t start, end;
};

struct arena {
	uint64_t addr, top;
	uint64_t fast[MS_NFASTBINS];
};

struct cached_page {
	uint64_t addr;
	size_t len;
	unsigned char data[PAGE];
};

struct walker {
	const struct sb_memsrc *mem;
	const struct sb_maps *maps;
	const struct sb_heap_where *where;
	struct sb_heap_census *out;
	unsigned char *win; /* the window over the heap being walked */
	uint64_t win_base;
	size_t win_len;
	struct cached_page *cache;
	uint64_t *small; /* in-use blocks per size / 16, below SMALL_LIMIT */
	uint64_t *big, *mm; /* sizes of bigger and of mmapped blocks */
	size_t nbig, capbig, nmm, capmm;
	struct range *walked; /* chunk areas walked */
	size_t nwalked, capwalked;
	struct range *reserved; /* whole thread heaps, mapped or not */
	size_t nreserved, capreserved;
	struct arena *arenas;
	size_t narenas, caparenas;
	uint64_t *list; /* scratch for a free list */
	size_t caplist;
};

static void problem(struct walker *k, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Keep the first problem: later ones often follow from it. */
static void problem(struct walker *k, const char *fmt, ...)
{
	va_list ap;

	if (k->out->partial)
		return;
	k->out->partial = true;
	va_start(ap, fmt);
	vsnprintf(k->out->problem, sizeof(k->out->problem), fmt, ap);
	va_end(ap);
}

/* FNV-1a, to tell whether the allocator's state moved. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

#define HASH_SEED 0xcbf29ce484222325ull

/*
 * n bytes at addr from the window, refilled from addr (reading up to
 * limit, at most WINDOW) when they are not in it.  NULL when unreadable.
 * The pointer is good until the next call.
 */
static const unsigned char *view(struct walker *k, uint64_t addr, size_t n,
				 uint64_t limit)
{
	size_t want;
	ssize_t r;

	if (addr > UINT64_MAX - n)
		return NULL;
	if (addr >= k->win_base && addr - k->win_base <= k->win_len &&
	    k->win_len - (addr - k->win_base) >= n)
		return k->win + (addr - k->win_base);
	if (limit < addr + n)
		limit = addr + n;
	want = limit - addr > WINDOW ? WINDOW : (size_t)(limit - addr);
	r = k->mem->read(k->mem->ctx, addr, k->win, want);
	if (r < (ssize_t)n) {
		k->win_len = 0;
		return NULL;
	}
	k->win_base = addr;
	k->win_len = (size_t)r;
	return k->win;
}

/* n bytes at addr through a small page cache (free-list walks).  0 or
 * -EFAULT. */
static int peek(struct walker *k, uint64_t addr, void *buf, size_t n)
{
	unsigned char *out = buf;

	if (addr > UINT64_MAX - n)
		return -EFAULT;
	while (n) {
		uint64_t pa = addr & ~(uint64_t)(PAGE - 1);
		size_t off = (size_t)(addr - pa);
		size_t c = PAGE - off < n ? PAGE - off : n;
		struct cached_page *p = &k->cache[(pa / PAGE) % CACHE_PAGES];

		if (p->addr != pa) {
			ssize_t r =
				k->mem->read(k->mem->ctx, pa, p->data, PAGE);

			p->addr = UINT64_MAX;
			if (r <= 0)
				return -EFAULT;
			p->addr = pa;
			p->len = (size_t)r;
		}
		if (off + c > p->len)
			return -EFAULT;
		memcpy(out, p->data + off, c);
		out += c;
		addr += c;
		n -= c;
	}
	return 0;
}

/* The first chunk at or after addr whose user memory is 16-aligned. */
static uint64_t chunk_align(uint64_t addr)
{
	return ((addr + CHUNK_HDR + 15) & ~(uint64_t)15) - CHUNK_HDR;
}

static bool in_ranges(const struct range *r, size_t n, uint64_t addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (addr >= r[i].start && addr < r[i].end)
			return true;
	return false;
}

static bool overlaps(const struct range *r, size_t n, uint64_t start,
		     uint64_t end)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (start < r[i].end && r[i].start < end)
			return true;
	return false;
}

static int add_range(struct range **v, size_t *n, size_t *cap, uint64_t start,
		     uint64_t end)
{
	if (sb_vec_reserve((void **)v, cap, *n + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = (struct range){ start, end };
	return 0;
}

static int push_size(uint64_t **v, size_t *n, size_t *cap, uint64_t size)
{
	if (sb_vec_reserve((void **)v, cap, *n + 1, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = size;
	return 0;
}

static int count_block(struct walker *k, uint64_t size)
{
	if (size < SMALL_LIMIT) {
		k->small[size / 16]++;
		return 0;
	}
	return push_size(&k->big, &k->nbig, &k->capbig, size);
}

/*
 * Whether 640 bytes look like a tcache_perthread_struct: each count within
 * the limit, a list head exactly where a count is, heads 16-aligned.  An
 * application block of zeros looks like an empty one, so an empty one is
 * taken only where glibc puts a thread's first: a heap's first chunk.
 */
static bool tcache_shaped(const struct walker *k, const unsigned char *d,
			  bool heap_start)
{
	bool any = false;
	int i;

	for (i = 0; i < TCACHE_BINS; i++) {
		uint16_t c;
		uint64_t e = u64_at(d + TCACHE_ENTRIES + 8 * i);

		memcpy(&c, d + TCACHE_COUNTS + 2 * i, sizeof(c));
		if (c > k->where->tcache_count || (c == 0) != (e == 0) ||
		    (e & 15))
			return false;
		any |= c != 0;
	}
	return any || heap_start;
}

/*
 * Walk the chunks of one heap from first up to its top chunk, or to end
 * for an older heap of a thread arena (closed by fenceposts).  A chunk's
 * size must keep its successor's header inside the heap; the successor's
 * PREV_INUSE bit says whether the chunk is in use.
 */
static int walk_heap(struct walker *k, uint64_t first, uint64_t end,
		     uint64_t top)
{
	uint64_t p = first;
	int err;

	k->out->heaps++;
	if ((err = add_range(&k->walked, &k->nwalked, &k->capwalked, first,
			     end)))
		return err;
	while (p < end && end - p >= CHUNK_HDR) {
		const unsigned char *h;
		uint64_t size, key = 0;
		bool tail = end - p < 32;

		h = view(k, p, tail ? CHUNK_HDR : 32, end);
		if (!h) {
			problem(k, "cannot read the chunk at %#" PRIx64, p);
			return 0;
		}
		size = u64_at(h + 8) & ~(uint64_t)SIZE_BITS;
		if (!tail)
			key = u64_at(h + 24);
		if (p == top) {
			k->out->top_bytes += size < end - p ? size : end - p;
			return 0;
		}
		/* An old heap of a thread arena ends in two fenceposts. */
		if (!top && size < MINSIZE && end - p <= 48)
			return 0;
		if (size < MINSIZE || size % 16 || size > end - p - CHUNK_HDR) {
			problem(k,
				"the chunk at %#" PRIx64 " claims %#" PRIx64
				" bytes, past its heap's end %#" PRIx64
				": the heap is damaged",
				p, size, end);
			return 0;
		}
		h = view(k, p + size, CHUNK_HDR, end);
		if (!h) {
			problem(k, "cannot read the chunk at %#" PRIx64,
				p + size);
			return 0;
		}
		if (!(u64_at(h + 8) & PREV_INUSE)) {
			k->out->free_blocks++;
			k->out->free_bytes += size;
			/* where a malloc of it from the middle of a large
			 * bin, which changes no arena, sets PREV_INUSE */
			if (size >= MIN_LARGE_SIZE &&
			    push_size(&k->out->free_at, &k->out->nfree_at,
				      &k->out->capfree_at, p + size + 8))
				return -ENOMEM;
		} else if (k->out->tcache_key && size <= TCACHE_MAX_CHUNK &&
			   key == k->out->tcache_key) {
			/* freed into a thread's tcache: tcache_put marks it */
			k->out->cached_blocks++;
			k->out->cached_bytes += size;
		} else if (size == TCACHE_CHUNK &&
			   (h = view(k, p + CHUNK_HDR, TCACHE_STRUCT,
				     p + size)) &&
			   tcache_shaped(k, h, p == first)) {
			/* malloc's own; remembered, to see it move */
			k->out->tcaches++;
			k->out->state =
				hash_bytes(k->out->state, h, TCACHE_STRUCT);
			if (push_size(&k->out->tcache_at, &k->out->ntcache_at,
				      &k->out->captcache_at, p + CHUNK_HDR))
				return -ENOMEM;
		} else if ((err = count_block(k, size))) {
			return err;
		}
		p += size;
	}
	if (top)
		problem(k,
			"the heap %#" PRIx64 "..%#" PRIx64
			" ends before its top chunk %#" PRIx64,
			first, end, top);
	return 0;
}

static int read_arena(struct walker *k, uint64_t addr, uint64_t *next)
{
	unsigned char ms[MS_SIZE];
	struct arena *a;
	int i;

	if (peek(k, addr, ms, sizeof(ms)))
		return -EFAULT;
	k->out->state = hash_bytes(k->out->state, ms, sizeof(ms));
	if (sb_vec_reserve((void **)&k->arenas, &k->caparenas, k->narenas + 1,
			   sizeof(*k->arenas)))
		return -ENOMEM;
	a = &k->arenas[k->narenas++];
	a->addr = addr;
	a->top = u64_at(ms + MS_TOP);
	for (i = 0; i < MS_NFASTBINS; i++)
		a->fast[i] = u64_at(ms + MS_FASTBINS + 8 * i);
	*next = u64_at(ms + MS_NEXT);
	return 0;
}

/* The arenas, main first, along main_arena.next (a ring). */
static int find_arenas(struct walker *k)
{
	uint64_t next, addr = k->where->main_arena;
	int err;

	while (k->narenas < MAX_ARENAS) {
		err = read_arena(k, addr, &next);
		if (err == -ENOMEM)
			return err;
		if (err) {
			problem(k, "cannot read the arena at %#" PRIx64, addr);
			return 0;
		}
		if (next == k->where->main_arena)
			return 0;
		addr = next;
	}
	problem(k, "more than %d arenas: the arena list is damaged",
		MAX_ARENAS);
	return 0;
}

/* Where the main arena's heap starts: mp_.sbrk_base, else [heap]. */
static uint64_t main_heap_start(struct walker *k, uint64_t top)
{
	uint64_t base = k->where->sbrk_base;
	size_t i;

	if (k->where->mp &&
	    peek(k, k->where->mp + MP_SBRK_BASE, &base, sizeof(base)))
		base = 0;
	if (base)
		return base;
	for (i = 0; i < k->maps->n; i++)
		if (strcmp(k->maps->v[i].path, "[heap]") == 0)
			return k->maps->v[i].start;
	return top;
}

static int walk_main_heap(struct walker *k)
{
	const struct arena *a = &k->arenas[0];
	const struct sb_map *m;
	uint64_t first;

	/* Before the first malloc, top is the unsorted bin itself. */
	if (!a->top || a->top == a->addr + MS_BIN1 - CHUNK_HDR)
		return 0;
	first = chunk_align(main_heap_start(k, a->top));
	m = sb_maps_find(k->maps, first);
	if (!m || !m->w) {
		problem(k, "the main heap at %#" PRIx64 " is not mapped",
			first);
		return 0;
	}
	if (add_range(&k->reserved, &k->nreserved, &k->capreserved, m->start,
		      m->end))
		return -ENOMEM;
	if (a->top < first || a->top >= m->end) {
		problem(k,
			"the main arena is not contiguous (top %#" PRIx64
			" outside %#" PRIx64 "..%#" PRIx64
			"): its other parts are not counted",
			a->top, first, m->end);
		return walk_heap(k, first, m->end, 0);
	}
	return walk_heap(k, first, m->end, a->top);
}

/*
 * A thread arena lives in heaps aligned to heap_max: the one holding its
 * top, then the older ones along heap_info.prev.
 */
static int walk_thread_arena(struct walker *k, const struct arena *a)
{
	uint64_t hmax = k->where->heap_max, h = a->top & ~(hmax - 1);
	int n, err;

	for (n = 0; h && n < MAX_HEAPS; n++) {
		unsigned char hi[HI_SIZEOF];
		const struct sb_map *m;
		uint64_t ar, prev, size, first, end;

		if (peek(k, h, hi, sizeof(hi))) {
			problem(k,
				"cannot read the heap at %#" PRIx64
				" of the arena at %#" PRIx64,
				h, a->addr);
			return 0;
		}
		ar = u64_at(hi);
		prev = u64_at(hi + HI_PREV);
		size = u64_at(hi + HI_SIZE);
		if (ar != a->addr || size > hmax ||
		    size < HI_SIZEOF + MINSIZE || (prev & (hmax - 1))) {
			problem(k,
				"the heap at %#" PRIx64
				" does not belong to the arena at %#" PRIx64
				": damaged, or another layout",
				h, a->addr);
			return 0;
		}
		end = h + size;
		m = sb_maps_find(k->maps, h);
		if (!m || !m->w || m->end < end) {
			problem(k,
				"the heap %#" PRIx64 "..%#" PRIx64
				" is not mapped writable",
				h, end);
			return 0;
		}
		if ((err = add_range(&k->reserved, &k->nreserved,
				     &k->capreserved, h, h + hmax)))
			return err;
		first = h + HI_SIZEOF;
		if (a->addr == first)
			first += MS_SIZE; /* the arena's first heap holds it */
		first = chunk_align(first);
		err = walk_heap(k, first, end,
				a->top >= h && a->top < end ? a->top : 0);
		if (err)
			return err;
		h = prev;
	}
	return 0;
}

/*
 * Learn the tcache key (the random value glibc writes into every block it
 * keeps in a tcache) from its variable, or from the first list entry of
 * a thread's tcache where glibc puts it: a heap's first chunk.
 */
static void learn_tcache_key(struct walker *k)
{
	size_t i;

	if (k->where->tcache_key_addr) {
		if (peek(k, k->where->tcache_key_addr, &k->out->tcache_key,
			 sizeof(k->out->tcache_key)))
			k->out->tcache_key = 0;
		return;
	}
	for (i = 0; i < k->narenas && !k->out->tcache_key; i++) {
		unsigned char d[CHUNK_HDR + TCACHE_STRUCT], e[24];
		uint64_t p;
		int b;

		if (i == 0)
			p = chunk_align(main_heap_start(k, k->arenas[0].top));
		else
			p = chunk_align(k->arenas[i].addr + MS_SIZE);
		if (peek(k, p, d, sizeof(d)) ||
		    (u64_at(d + 8) & ~(uint64_t)SIZE_BITS) != TCACHE_CHUNK ||
		    !tcache_shaped(k, d + CHUNK_HDR, true))
			continue;
		for (b = 0; b < TCACHE_BINS; b++) {
			uint64_t entry =
				u64_at(d + CHUNK_HDR + TCACHE_ENTRIES + 8 * b);

			if (!entry || peek(k, entry - 8, e, sizeof(e)) ||
			    (u64_at(e) & ~(uint64_t)SIZE_BITS) !=
				    (uint64_t)(MINSIZE + 16 * b))
				continue;
			k->out->tcache_key = u64_at(e + 16);
			break;
		}
	}
}

/*
 * Take out the blocks of a fastbin: they were counted in use.  The list
 * is safe-linked (each next pointer xor'ed with its own address >> 12)
 * and can be no longer than the blocks of its size: a loop stops there.
 */
static int take_fastbin(struct walker *k, uint64_t head, uint64_t size)
{
	uint64_t p = head, limit = k->small[size / 16];
	size_t n = 0, i;

	while (p) {
		unsigned char c[32];

		if (n >= limit || (p & 15) ||
		    !in_ranges(k->walked, k->nwalked, p) ||
		    peek(k, p, c, sizeof(c)) ||
		    (u64_at(c + 8) & ~(uint64_t)SIZE_BITS) != size) {
			problem(k,
				"the fastbin of %" PRIu64
				"-byte blocks is damaged at %#" PRIx64
				": its blocks are counted in use",
				size, p);
			return 0;
		}
		if (sb_vec_reserve((void **)&k->list, &k->caplist, n + 1,
				   sizeof(*k->list)))
			return -ENOMEM;
		/* a block marked with the tcache key was taken out already */
		k->list[n++] =
			k->out->tcache_key &&
					u64_at(c + 24) == k->out->tcache_key ?
				0 :
				p;
		p = ((p + CHUNK_HDR) >> 12) ^ u64_at(c + 16);
	}
	for (i = 0; i < n; i++)
		if (k->list[i]) {
			k->small[size / 16]--;
			k->out->cached_blocks++;
			k->out->cached_bytes += size;
		}
	return 0;
}

/*
 * Large blocks are mmapped one by one: a chunk at the start of an
 * anonymous mapping, prev_size 0, IS_MMAPPED alone in its flags, a size in
 * whole pages that fits.  Neighbouring ones may share a mapping (the
 * kernel merges them), so each mapping is walked.
 */
static int find_mmapped(struct walker *k)
{
	size_t i;
	int err;

	for (i = 0; i < k->maps->n; i++) {
		const struct sb_map *m = &k->maps->v[i];
		uint64_t p = m->start;

		if (m->path[0] || !m->r || !m->w || m->shared ||
		    overlaps(k->reserved, k->nreserved, m->start, m->end))
			continue;
		while (m->end - p >= CHUNK_HDR) {
			const unsigned char *h =
				view(k, p, CHUNK_HDR, p + CHUNK_HDR);
			uint64_t head, size;

			if (!h)
				break;
			head = u64_at(h + 8);
			size = head & ~(uint64_t)SIZE_BITS;
			if (u64_at(h) != 0 ||
			    (head & SIZE_BITS) != IS_MMAPPED || size < PAGE ||
			    size % PAGE || size > m->end - p)
				break;
			if ((err = push_size(&k->mm, &k->nmm, &k->capmm, size)))
				return err;
			p += size;
		}
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int add_class(struct sb_heap_census *c, uint64_t size, uint64_t blocks,
		     bool mmapped)
{
	if (!blocks)
		return 0;
	if (sb_vec_reserve((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v)))
		return -ENOMEM;
	c->v[c->n++] = (struct sb_heap_class){ size, blocks, mmapped };
	c->blocks += blocks;
	c->bytes += size * blocks;
	if (mmapped) {
		c->mmapped_blocks += blocks;
		c->mmapped_bytes += size * blocks;
	}
	return 0;
}

/* Run-length classes of a sorted list of sizes. */
static int add_sizes(struct sb_heap_census *c, uint64_t *v, size_t n,
		     bool mmapped)
{
	size_t i, j;
	int err;

	if (n)
		qsort(v, n, sizeof(*v), cmp_u64);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && v[j] == v[i]; j++)
			;
		if ((err = add_class(c, v[i], j - i, mmapped)))
			return err;
	}
	return 0;
}

static int tally(struct walker *k)
{
	size_t i;
	int err;

	for (i = 0; i < SMALL_LIMIT / 16; i++)
		if ((err = add_class(k->out, i * 16, k->small[i], false)))
			return err;
	if ((err = add_sizes(k->out, k->big, k->nbig, false)))
		return err;
	return add_sizes(k->out, k->mm, k->nmm, true);
}

static int walk(struct walker *k)
{
	unsigned char mp[MP_SIZE];
	size_t i;
	int err, b;

	k->out->state = HASH_SEED;
	if (k->where->mp && peek(k, k->where->mp, mp, sizeof(mp)) == 0)
		k->out->state = hash_bytes(k->out->state, mp, sizeof(mp));
	if ((err = find_arenas(k)))
		return err;
	k->out->arenas = (int)k->narenas;
	if (!k->narenas)
		return 0;
	learn_tcache_key(k);
	if ((err = walk_main_heap(k)))
		return err;
	for (i = 1; i < k->narenas; i++)
		if ((err = walk_thread_arena(k, &k->arenas[i])))
			return err;
	for (i = 0; i < k->narenas; i++)
		for (b = 0; b < MS_NFASTBINS; b++)
			if (k->arenas[i].fast[b] &&
			    (err = take_fastbin(k, k->arenas[i].fast[b],
						(uint64_t)(MINSIZE + 16 * b))))
				return err;
	if ((err = find_mmapped(k)))
		return err;
	return tally(k);
}

int sb_heap_walk(const struct sb_memsrc *mem, const struct sb_maps *maps,
		 const struct sb_heap_where *where, struct sb_heap_census *out)
{
	struct walker k = {
		.mem = mem, .maps = maps, .where = where, .out = out
	};
	int err = -ENOMEM, i;

	memset(out, 0, sizeof(*out));
	k.win = malloc(WINDOW);
	k.cache = malloc(CACHE_PAGES * sizeof(*k.cache));
	k.small = calloc(SMALL_LIMIT / 16, sizeof(*k.small));
	if (!k.win || !k.cache || !k.small)
		goto out_free;
	for (i = 0; i < CACHE_PAGES; i++)
		k.cache[i].addr = UINT64_MAX;
	err = walk(&k);
out_free:
	free(k.list);
	free(k.arenas);
	free(k.reserved);
	free(k.walked);
	free(k.mm);
	free(k.big);
	free(k.small);
	free(k.cache);
	free(k.win);
	return err;
}

int sb_heap_unchanged(const struct sb_memsrc *mem,
		      const struct sb_heap_where *where,
		      const struct sb_heap_census *c)
{
	struct sb_heap_census now = { 0 };
	struct walker k = { .mem = mem, .where = where, .out = &now };
	unsigned char mp[MP_SIZE], t[TCACHE_STRUCT];
	uint64_t next, addr = where->main_arena;
	int same = 0, i;
	size_t n;

	k.cache = malloc(CACHE_PAGES * sizeof(*k.cache));
	if (!k.cache)
		return 0;
	for (i = 0; i < CACHE_PAGES; i++)
		k.cache[i].addr = UINT64_MAX;
	now.state = HASH_SEED;
	if (where->mp && peek(&k, where->mp, mp, sizeof(mp)) == 0)
		now.state = hash_bytes(now.state, mp, sizeof(mp));
	/* the arenas again, as find_arenas read them */
	while (k.narenas < MAX_ARENAS && !read_arena(&k, addr, &next) &&
	       next != where->main_arena)
		addr = next;
	for (n = 0; n < c->ntcache_at; n++) {
		if (peek(&k, c->tcache_at[n], t, sizeof(t)))
			goto out;
		now.state = hash_bytes(now.state, t, sizeof(t));
	}
	same = now.state == c->state;
out:
	free(k.arenas);
	free(k.cache);
	return same;
}

void sb_heap_census_free(struct sb_heap_census *c)
{
	free(c->v);
	free(c->tcache_at);
	free(c->free_at);
	c->tcache_at = c->free_at = NULL;
	c->nfree_at = c->capfree_at = 0;
	c->ntcache_at = c->captcache_at = 0;
	c->v = NULL;
	c->n = c->cap = 0;
}

static int cmp_class(const struct sb_heap_class *a,
		     const struct sb_heap_class *b)
{
	if (a->mmapped != b->mmapped)
		return a->mmapped ? 1 : -1;
	return a->size < b->size ? -1 : a->size > b->size;
}

static int cmp_growth(const void *pa, const void *pb)
{
	const struct sb_heap_growth *a = pa, *b = pb;

	if (a->bytes != b->bytes)
		return a->bytes > b->bytes ? -1 : 1;
	return a->size < b->size ? -1 : a->size > b->size;
}

int sb_heap_diff(const struct sb_heap_census *a, const struct sb_heap_census *b,
		 struct sb_heap_growth **out)
{
	struct sb_heap_growth *g = NULL;
	size_t i = 0, j = 0, n = 0, cap = 0;

	while (i < a->n || j < b->n) {
		const struct sb_heap_class *x = i < a->n ? &a->v[i] : NULL;
		const struct sb_heap_class *y = j < b->n ? &b->v[j] : NULL;
		int c = !x ? 1 : !y ? -1 : cmp_class(x, y);
		const struct sb_heap_class *k = c <= 0 ? x : y;
		int64_t d = (int64_t)(c >= 0 ? y->blocks : 0) -
			    (int64_t)(c <= 0 ? x->blocks : 0);

		i += c <= 0;
		j += c >= 0;
		if (!d)
			continue;
		if (sb_vec_reserve((void **)&g, &cap, n + 1, sizeof(*g))) {
			free(g);
			return -ENOMEM;
		}
		g[n++] = (struct sb_heap_growth){ k->size, k->mmapped, d,
						  d * (int64_t)k->size };
	}
	if (n)
		qsort(g, n, sizeof(*g), cmp_growth);
	*out = g;
	return (int)n;
}

void sb_heap_request_range(uint64_t size, bool mmapped, uint64_t *lo,
			   uint64_t *hi)
{
	/* malloc(n) takes (n + 8 + 15) & ~15 bytes, at least 32; an mmapped
	 * block that, plus 8, in whole pages */
	if (mmapped) {
		*lo = size > PAGE + 23 ? size - PAGE - 23 : 0;
		*hi = size >= 24 ? size - 24 : 0;
		return;
	}
	*lo = size <= MINSIZE ? 0 : size - 23;
	*hi = size >= 8 ? size - 8 : 0;
}
