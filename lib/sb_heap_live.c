/* sb_heap_live.c: find glibc's allocator in a live process, and take a heap
 * census while its threads are stopped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sb_attach.h"
#include "sb_glibc_malloc.h"
#include "sb_heap.h"
#include "sb_util.h"

#define SCAN_MAX (4u << 20) /* libc's data and bss, read to find main_arena */
#define STOP_TIMEOUT_MS 500
#define STOP_ROUNDS 3 /* re-list threads made while we stopped the others */

static bool is_libc(const struct sb_map *m)
{
	const char *slash = strrchr(m->path, '/');

	return slash && strncmp(slash + 1, "libc.so", 7) == 0;
}

static bool is_loader(const struct sb_map *m)
{
	const char *slash = strrchr(m->path, '/');

	return slash && strncmp(slash + 1, "ld-linux", 8) == 0;
}

/* "2.36" from the banner glibc carries ("... release version 2.36."). */
static int glibc_version(pid_t pid, const char *path, char *buf, size_t size)
{
	static const char mark[] = "release version ";
	char root[4096];
	const char *p, *end;
	struct stat st;
	void *image;
	size_t n = 0;
	int fd;

	snprintf(root, sizeof(root), "/proc/%d/root%s", (int)pid, path);
	fd = open(root, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size <= 0) {
		close(fd);
		return -EINVAL;
	}
	image = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (image == MAP_FAILED)
		return -errno;
	end = (const char *)image + st.st_size;
	p = memmem(image, (size_t)st.st_size, mark, sizeof(mark) - 1);
	if (p) {
		p += sizeof(mark) - 1;
		while (p + n < end && n + 1 < size &&
		       ((p[n] >= '0' && p[n] <= '9') ||
			(p[n] == '.' && p + n + 1 < end && p[n + 1] >= '0' &&
			 p[n + 1] <= '9')))
			n++;
		memcpy(buf, p, n);
	}
	buf[n] = '\0';
	munmap(image, (size_t)st.st_size);
	return n ? 0 : -ENOENT;
}

/*
 * Whether a malloc_state could start at buf (address addr): every bin
 * either empty, pointing at itself as glibc sets it up, or holding
 * chunk pointers; most of them empty; next is the arena itself or a
 * thread arena's place in its heap.
 */
static bool arena_shaped(const unsigned char *buf, uint64_t addr)
{
	uint64_t next = u64_at(buf + MS_NEXT);
	int i, empty = 0;

	if (next != addr && (next & (HEAP_MAX_DEFAULT - 1)) != HI_SIZEOF)
		return false;
	for (i = 0; i < MS_NBINS; i++) {
		uint64_t fd = u64_at(buf + MS_BIN1 + 16 * i);
		uint64_t bk = u64_at(buf + MS_BIN1 + 16 * i + 8);
		uint64_t self = addr + MS_BIN1 + 16 * i - CHUNK_HDR;

		if (fd == self && bk == self)
			empty++;
		else if (!fd || !bk || (fd & 15) || (bk & 15))
			return false;
	}
	return empty >= MS_NBINS / 2;
}

/*
 * main_arena without symbols: glibc's writable data (its own mappings and
 * the bss after them), searched for the one malloc_state whose bins point
 * at themselves.  0 when not found (or before the first malloc).
 */
static uint64_t find_arena_by_shape(const struct sb_maps *maps,
				    const struct sb_memsrc *mem,
				    const struct sb_map *libc)
{
	uint64_t start = 0, end = 0, found = 0, off;
	unsigned char *buf;
	size_t i;
	ssize_t r;

	for (i = 0; i < maps->n; i++) {
		const struct sb_map *m = &maps->v[i];

		if (m->w && sb_map_same_file(m, libc)) {
			start = start ? start : m->start;
			end = m->end;
		} else if (end && m->start == end && !m->path[0] && m->w) {
			end = m->end; /* its bss */
		} else if (end) {
			break;
		}
	}
	if (!end || end - start > SCAN_MAX || !(buf = malloc(end - start)))
		return 0;
	r = mem->read(mem->ctx, start, buf, end - start);
	for (off = 0; r > 0 && off + MS_SIZE <= (uint64_t)r; off += 8) {
		uint64_t fd = u64_at(buf + off + MS_BIN1);

		/* the cheap test first: the unsorted bin's fd */
		if (fd != start + off + MS_BIN1 - CHUNK_HDR &&
		    (!fd || (fd & 15)))
			continue;
		if (arena_shaped(buf + off, start + off)) {
			found = start + off;
			break;
		}
	}
	free(buf);
	return found;
}

/* A module other than glibc that defines malloc: jemalloc, tcmalloc... */
static const char *other_allocator(struct sb_syms *syms,
				   const struct sb_maps *maps)
{
	size_t i;

	for (i = 0; i < maps->n; i++) {
		const struct sb_map *m = &maps->v[i];
		const char *slash = strrchr(m->path, '/');
		uint64_t addr;

		if (m->offset || !slash || is_libc(m) || is_loader(m))
			continue;
		if (sb_syms_find(syms, maps, slash + 1, "malloc", &addr) == 0)
			return m->path;
	}
	return NULL;
}

int sb_heap_locate(pid_t pid, struct sb_syms *syms, const struct sb_maps *maps,
		   const struct sb_memsrc *mem, struct sb_heap_where *out,
		   char *why, size_t whysize)
{
	const struct sb_map *libc = NULL;
	const char *other;
	uint64_t v;
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < maps->n && !libc; i++)
		if (maps->v[i].offset == 0 && is_libc(&maps->v[i]))
			libc = &maps->v[i];
	if (!libc) {
		snprintf(why, whysize,
			 "no libc.so in process %d (statically linked, or "
			 "another C library): the census reads glibc's "
			 "malloc only",
			 (int)pid);
		return -ENOENT;
	}
	if (syms && (other = other_allocator(syms, maps))) {
		snprintf(why, whysize,
			 "malloc in process %d is %s's, not glibc's: the "
			 "census reads glibc's malloc only",
			 (int)pid, other);
		return -ENOTSUP;
	}
	err = glibc_version(pid, libc->path, out->glibc, sizeof(out->glibc));
	if (err) {
		snprintf(why, whysize,
			 "cannot tell the glibc version of %s: %s", libc->path,
			 strerror(-err));
		return err;
	}
	if (strcmp(out->glibc, SB_GLIBC_MALLOC_VERSION) != 0) {
		snprintf(why, whysize,
			 "process %d runs glibc %s: the census knows the "
			 "malloc layout of glibc " SB_GLIBC_MALLOC_VERSION
			 " only",
			 (int)pid, out->glibc);
		return -ENOTSUP;
	}
	if (syms && sb_syms_find(syms, maps, "libc.so", "main_arena",
				 &out->main_arena) == 0) {
		snprintf(out->found_by, sizeof(out->found_by),
			 "libc's symbols");
		if (sb_syms_find(syms, maps, "libc.so", "mp_", &out->mp))
			out->mp = 0;
		if (sb_syms_find(syms, maps, "libc.so", "tcache_key",
				 &out->tcache_key_addr))
			out->tcache_key_addr = 0;
	} else if ((out->main_arena = find_arena_by_shape(maps, mem, libc))) {
		snprintf(out->found_by, sizeof(out->found_by),
			 "its shape in libc's data");
	} else {
		snprintf(why, whysize,
			 "cannot find glibc's main arena in process %d: no "
			 "symbols for %s (install libc6-dbg), and nothing "
			 "shaped like it (malloc not used yet?)",
			 (int)pid, libc->path);
		return -ENOENT;
	}
	out->heap_max = HEAP_MAX_DEFAULT;
	out->tcache_count = 65535; /* the tunable's ceiling */
	if (out->mp) {
		/* glibc.malloc.hugetlb makes heaps 4 huge pages */
		if (mem->read(mem->ctx, out->mp + MP_HP_PAGESIZE, &v,
			      sizeof(v)) == sizeof(v) &&
		    v && !(v & (v - 1)) && v <= (1ull << 30))
			out->heap_max = 4 * v;
		if (mem->read(mem->ctx, out->mp + MP_TCACHE_COUNT, &v,
			      sizeof(v)) == sizeof(v) &&
		    v <= 65535)
			out->tcache_count = (unsigned)v;
	}
	return 0;
}

/* Append the threads of pid not yet in t[0..n).  The new count, or
 * -errno. */
static int list_threads(pid_t pid, struct sb_stop **t, size_t *n, size_t *cap)
{
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(d))) {
		long tid = strtol(de->d_name, NULL, 10);
		size_t i;

		if (tid <= 0)
			continue;
		for (i = 0; i < *n && (*t)[i].tid != tid; i++)
			;
		if (i < *n)
			continue;
		if (sb_vec_reserve((void **)t, cap, *n + 1, sizeof(**t))) {
			closedir(d);
			return -ENOMEM;
		}
		memset(&(*t)[*n], 0, sizeof(**t));
		(*t)[(*n)++].tid = (pid_t)tid;
	}
	closedir(d);
	return (int)*n;
}

#define WORDS_PER_CALL 1024 /* IOV_MAX */
/* Words read in the check, at most: about 12 ms stopped. */
#define FREE_CHECK_MAX 16384

/*
 * Whether every large free block the census saw is still free: the size
 * word after it still has PREV_INUSE clear.  1024 scattered words a call
 * (0.8 us each), not a copy of the heap.  Past FREE_CHECK_MAX blocks the
 * check is left out, and the stop kept short: a malloc that took one of
 * them exactly, from the middle of its bin, while the walk ran, is then
 * counted as free.
 */
int sb_heap_free_unchanged(pid_t pid, const struct sb_heap_census *c)
{
	struct iovec local[WORDS_PER_CALL], remote[WORDS_PER_CALL];
	uint64_t words[WORDS_PER_CALL];
	size_t i, j, n;

	if (c->nfree_at > FREE_CHECK_MAX)
		return 1;
	for (i = 0; i < c->nfree_at; i += n) {
		n = c->nfree_at - i < WORDS_PER_CALL ? c->nfree_at - i :
						       WORDS_PER_CALL;
		for (j = 0; j < n; j++) {
			local[j] =
				(struct iovec){ &words[j], sizeof(words[j]) };
			remote[j] = (struct iovec){
				(void *)(uintptr_t)c->free_at[i + j],
				sizeof(words[j])
			};
		}
		if (process_vm_readv(pid, local, n, remote, n, 0) !=
		    (ssize_t)(n * sizeof(words[0])))
			return 0;
		for (j = 0; j < n; j++)
			if (words[j] & PREV_INUSE)
				return 0;
	}
	return 1;
}

/* Whether two reads of the maps show the same mappings. */
static bool same_maps(const struct sb_maps *a, const struct sb_maps *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->v[i].start != b->v[i].start ||
		    a->v[i].end != b->v[i].end || a->v[i].w != b->v[i].w ||
		    a->v[i].r != b->v[i].r)
			return false;
	return true;
}

int sb_heap_census(pid_t pid, const struct sb_heap_where *where,
		   struct sb_heap_census *out)
{
	struct sb_heap_census running = { 0 };
	struct sb_maps before = { 0 };
	bool walked = false;
	struct sb_stop *t = NULL;
	size_t n = 0, cap = 0, done = 0, batch[STOP_ROUNDS + 1];
	struct sb_maps maps = { 0 };
	struct sb_memsrc mem = sb_memsrc_live(pid);
	uint64_t first = UINT64_MAX, last = 0;
	int err = 0, rounds = 0, stopped = 0, r, i;
	size_t k;

	/*
	 * Walk first while the process runs: copying a big heap is most of
	 * the work (a gigabyte is 0.2 s).  If, once stopped, no arena, tcache
	 * or mapping moved, that walk stands and the stop is only the check;
	 * otherwise the heap is walked again, stopped.
	 */
	if (sb_maps_read(pid, &before) == 0 &&
	    sb_heap_walk(&mem, &before, where, &running) == 0 &&
	    !running.partial)
		walked = true;
	/* Threads made while the others were being stopped are stopped in
	 * another round, so that no thread mallocs during the walk. */
	while (rounds < STOP_ROUNDS) {
		r = list_threads(pid, &t, &n, &cap);
		if (r < 0) {
			err = r;
			break;
		}
		if (n == done)
			break;
		batch[rounds++] = done;
		r = sb_attach_stop(t + done, (int)(n - done), STOP_TIMEOUT_MS);
		done = n;
		if (r < 0 && !stopped) {
			err = r;
			break;
		}
		stopped += r > 0 ? r : 0;
	}
	batch[rounds] = done;
	if (!err && !stopped)
		err = -ESRCH;
	/* One thread refused (another tracer has it) would malloc on while
	 * the others are walked: no census rather than a wrong one. */
	for (k = 0; !err && k < n; k++)
		if (t[k].error == -EPERM)
			err = -EPERM;
	if (!err)
		err = sb_maps_read(pid, &maps);
	if (!err && walked && same_maps(&before, &maps) &&
	    sb_heap_unchanged(&mem, where, &running) &&
	    sb_heap_free_unchanged(pid, &running)) {
		*out = running;
		memset(&running, 0, sizeof(running));
		out->walked_running = true;
	} else if (!err) {
		err = sb_heap_walk(&mem, &maps, where, out);
	} else {
		memset(out, 0, sizeof(*out));
	}
	for (i = rounds - 1; i >= 0; i--)
		sb_attach_resume_all(t + batch[i],
				     (int)(batch[i + 1] - batch[i]));
	/* Stopped together: from the first stop to the last release. */
	for (k = 0; k < n; k++) {
		if (!t[k].t_stop_ns || !t[k].stopped_ns)
			continue;
		first = t[k].t_stop_ns < first ? t[k].t_stop_ns : first;
		if (t[k].t_stop_ns + t[k].stopped_ns > last)
			last = t[k].t_stop_ns + t[k].stopped_ns;
		out->threads++;
	}
	out->stopped_ns = last > first ? last - first : 0;
	for (k = 0; k < n; k++)
		if (!t[k].gone && !t[k].stopped_ns)
			out->threads_not_stopped++;
	sb_heap_census_free(&running);
	sb_maps_free(&before);
	sb_maps_free(&maps);
	free(t);
	return err;
}
