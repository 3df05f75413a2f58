/* sb_lock.c: glibc 2.36's locks read from outside, and the wait-for graph. */
#include "sb_lock.h"
#include "sb_graph.h"
#include "sb_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYS_FUTEX 202
#define MAX_FRAMES 64
#define FUTEX_TID_MASK 0x3fffffffu

/*
 * glibc 2.36 on x86_64 (checked on this platform, PLATFORM.md section 5):
 * pthread_mutex_t: __lock 0, __count 4, __owner 8, __nusers 12, __kind 16.
 * pthread_rwlock_t: __readers 0, __writers 4, __wrphase_futex 8,
 *   __writers_futex 12, __cur_writer 24.
 * pthread_cond_t: the waiters' futex is __g_signals[], at 40 or 44.
 * pthread_join: the futex word is the joined thread's tid field.
 */
#define MUTEX_OWNER 8
#define MUTEX_KIND 16
#define MUTEX_KIND_PI 32
#define MUTEX_KIND_ROBUST 16
#define RWLOCK_CUR_WRITER 24

static const char *const type_names[] = {
	[SB_LOCK_NONE] = "none",
	[SB_LOCK_MUTEX] = "mutex",
	[SB_LOCK_RWLOCK_READ] = "rwlock (read)",
	[SB_LOCK_RWLOCK_WRITE] = "rwlock (write)",
	[SB_LOCK_CONDVAR] = "condition variable",
	[SB_LOCK_JOIN] = "thread join",
	[SB_LOCK_SEMAPHORE] = "semaphore",
	[SB_LOCK_BARRIER] = "barrier",
	[SB_LOCK_FUTEX] = "futex",
};

const char *sb_lock_type_str(enum sb_lock_type type)
{
	return type <= SB_LOCK_FUTEX ? type_names[type] : "?";
}

/* What the blocking function says the futex is: innermost match wins. */
static enum sb_lock_type type_from_stack(const struct sb_lock_wait *w)
{
	int i;

	for (i = 0; i < w->nframes && i < 12; i++) {
		const char *f = w->frames[i].sym.function;

		if (!f)
			continue;
		/* pthread_cond_wait taking its mutex back waits for the
		 * mutex, not the condition. */
		if (strstr(f, "mutex_cond_lock") || strstr(f, "mutex_lock") ||
		    strstr(f, "mutex_timedlock") ||
		    strstr(f, "mutex_clocklock"))
			return SB_LOCK_MUTEX;
		if (strstr(f, "rwlock_wrlock") ||
		    strstr(f, "rwlock_timedwrlock") ||
		    strstr(f, "rwlock_clockwrlock"))
			return SB_LOCK_RWLOCK_WRITE;
		if (strstr(f, "rwlock_rdlock") ||
		    strstr(f, "rwlock_timedrdlock") ||
		    strstr(f, "rwlock_clockrdlock"))
			return SB_LOCK_RWLOCK_READ;
		if (strstr(f, "cond_wait") || strstr(f, "cond_timedwait") ||
		    strstr(f, "cond_clockwait"))
			return SB_LOCK_CONDVAR;
		if (strstr(f, "join"))
			return SB_LOCK_JOIN;
		if (strstr(f, "sem_wait") || strstr(f, "sem_timedwait") ||
		    strstr(f, "sem_clockwait"))
			return SB_LOCK_SEMAPHORE;
		if (strstr(f, "barrier_wait"))
			return SB_LOCK_BARRIER;
	}
	return SB_LOCK_FUTEX;
}

/*
 * The bytes around one futex word, read at once: the word, the lock's kind
 * and its owner lie a few bytes apart, and each read of a live process is
 * a system call.  From the word's page only (the page before may not be
 * mapped); what falls outside is read on its own.
 */
#define NEAR_BEFORE 48 /* a condition's word is 40 or 44 bytes in */
#define NEAR_AFTER 32 /* the word and what follows, as compared */

struct near {
	uint64_t start;
	size_t len;
	unsigned char b[NEAR_BEFORE + NEAR_AFTER];
};

static void read_near(const struct sb_lock_input *in, uint64_t uaddr,
		      struct near *n)
{
	uint64_t page = uaddr & ~(uint64_t)4095;
	ssize_t r;

	n->start = uaddr - page >= NEAR_BEFORE ? uaddr - NEAR_BEFORE : page;
	r = in->mem.read(in->mem.ctx, n->start, n->b,
			 (size_t)(uaddr + NEAR_AFTER - n->start));
	n->len = r > 0 ? (size_t)r : 0;
}

static bool read_mem(const struct sb_lock_input *in, const struct near *n,
		     uint64_t addr, void *buf, size_t len)
{
	if (n && addr >= n->start && addr - n->start <= n->len &&
	    len <= n->len - (addr - n->start)) {
		memcpy(buf, n->b + (addr - n->start), len);
		return true;
	}
	return in->mem.read(in->mem.ctx, addr, buf, len) == (ssize_t)len;
}

static bool read32(const struct sb_lock_input *in, const struct near *n,
		   uint64_t addr, uint32_t *v)
{
	return read_mem(in, n, addr, v, 4);
}

/* Threads by tid: with a thousand, a walk for each lookup is quadratic. */
struct by_tid {
	pid_t tid;
	int i;
};

static int cmp_by_tid(const void *a, const void *b)
{
	const struct by_tid *x = a, *y = b;

	if (x->tid != y->tid)
		return (x->tid > y->tid) - (x->tid < y->tid);
	return (x->i > y->i) - (x->i < y->i);
}

/* tids[0..n) sorted with their indices; NULL on out-of-memory. */
static struct by_tid *index_tids(const pid_t *tids, int n)
{
	struct by_tid *x = calloc((size_t)n + 1, sizeof(*x));
	int i;

	if (!x)
		return NULL;
	for (i = 0; i < n; i++)
		x[i] = (struct by_tid){ tids[i], i };
	qsort(x, (size_t)n, sizeof(*x), cmp_by_tid);
	return x;
}

/* The first (or, with last, the last) index of tid; -1 if absent. */
static int find_tid(const struct by_tid *x, int n, pid_t tid, bool last)
{
	int lo = 0, hi = n;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (x[mid].tid < tid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n || x[lo].tid != tid)
		return -1;
	while (last && lo + 1 < n && x[lo + 1].tid == tid)
		lo++;
	return x[lo].i;
}

/*
 * Without a stack (no ptrace, or a core whose libraries are missing),
 * glibc's own habits tell the futex apart: a mutex waits with FUTEX_WAIT
 * for the value 2 (locked, with waiters); a join waits with FUTEX_WAIT
 * for the joined thread's tid, still in the word; a condition variable
 * waits with FUTEX_WAIT_BITSET.
 */
static enum sb_lock_type type_from_futex(const struct sb_lock_input *in,
					 const struct by_tid *tids,
					 const struct near *n,
					 const struct sb_lock_thread_in *t)
{
	unsigned cmd = (unsigned)t->args[1] & 0x7f;
	uint32_t word;

	if (!read32(in, n, t->args[0], &word))
		return SB_LOCK_FUTEX;
	/* A join, whatever the op (2.36 uses WAIT_BITSET): the word is
	 * still the joined thread's tid, and it is what is waited on. */
	if (word == t->args[2] && word > 2 && word <= INT32_MAX &&
	    find_tid(tids, in->nthreads, (pid_t)word, false) >= 0)
		return SB_LOCK_JOIN;
	if (cmd == 0 && t->args[2] == 2)
		return SB_LOCK_MUTEX;
	if (cmd == 9)
		return SB_LOCK_CONDVAR;
	return SB_LOCK_FUTEX;
}

/*
 * Name the object at *base: a global ("accounts_lock", or "forks+0x28" in
 * an array), the heap, a thread's stack.  A futex word a few bytes into a
 * global (an rwlock's, a condition's) moves *base back to the global.
 */
static void name_object(const struct sb_lock_input *in, uint64_t uaddr,
			uint64_t *base, char *buf, size_t size)
{
	const struct sb_map *m = sb_maps_find(in->maps, *base);
	const char *sym;
	uint64_t off;
	int i;

	/* Only for locks whose futex word is not their first (rwlock,
	 * condition): a mutex or join word is the object itself, and in an
	 * array (forks[5]) the symbol's start is another element. */
	if (*base != uaddr &&
	    sb_syms_data(in->syms, in->maps, uaddr, &sym, &off) == 0 &&
	    off <= 44) {
		*base = uaddr - off; /* the futex word of a single global */
		snprintf(buf, size, "%s", sym);
		return;
	}
	if (sb_syms_data(in->syms, in->maps, *base, &sym, &off) == 0) {
		if (off)
			snprintf(buf, size, "%s+0x%llx", sym,
				 (unsigned long long)off);
		else
			snprintf(buf, size, "%s", sym);
		return;
	}
	if (m && strcmp(m->path, "[heap]") == 0) {
		snprintf(buf, size, "heap object 0x%llx",
			 (unsigned long long)*base);
		return;
	}
	for (i = 0; m && i < in->nthreads; i++) {
		const struct sb_lock_thread_in *t = &in->threads[i];

		if (t->has_regs && t->regs.rsp >= m->start &&
		    t->regs.rsp < m->end) {
			snprintf(buf, size, "0x%llx on the stack of thread %d",
				 (unsigned long long)*base, (int)t->tid);
			return;
		}
	}
	snprintf(buf, size, "%s 0x%llx", m && m->path[0] ? m->path : "object",
		 (unsigned long long)*base);
}

/* Find the lock's owner, per type, from its memory. */
static void find_owner(const struct sb_lock_input *in, const struct near *n,
		       struct sb_lock_wait *w)
{
	uint32_t v, kind;

	switch (w->type) {
	case SB_LOCK_MUTEX:
		if (!read32(in, n, w->object + MUTEX_KIND, &kind))
			break;
		snprintf(w->kind, sizeof(w->kind), "%s%s%s mutex",
			 (kind & 3) == 1 ? "recursive" :
			 (kind & 3) == 2 ? "errorcheck" :
			 (kind & 3) == 3 ? "adaptive" :
					   "default",
			 kind & MUTEX_KIND_ROBUST ? ", robust" : "",
			 kind & MUTEX_KIND_PI ? ", priority-inheriting" : "");
		/* PI and robust mutexes keep the owner in the futex word. */
		if (kind & (MUTEX_KIND_PI | MUTEX_KIND_ROBUST)) {
			if (read32(in, n, w->object, &v))
				w->owner = (pid_t)(v & FUTEX_TID_MASK);
		} else if (read32(in, n, w->object + MUTEX_OWNER, &v)) {
			w->owner = (pid_t)v;
		}
		break;
	case SB_LOCK_RWLOCK_READ:
	case SB_LOCK_RWLOCK_WRITE:
		snprintf(w->kind, sizeof(w->kind), "rwlock");
		if (read32(in, n, w->object + RWLOCK_CUR_WRITER, &v))
			w->owner = (pid_t)v; /* a writer holds it */
		break;
	case SB_LOCK_JOIN:
		snprintf(w->kind, sizeof(w->kind), "thread");
		if (read32(in, n, w->uaddr, &v))
			w->owner = (pid_t)v; /* the tid of the joined */
		break;
	default:
		snprintf(w->kind, sizeof(w->kind), "%s",
			 sb_lock_type_str(w->type));
		break;
	}
	if (w->owner < 0)
		w->owner = 0;
}

/* Where the lock object starts, when no symbol says. */
static uint64_t guess_base(const struct sb_lock_wait *w)
{
	switch (w->type) {
	case SB_LOCK_RWLOCK_READ:
		return w->uaddr - 8;
	case SB_LOCK_RWLOCK_WRITE:
		return w->uaddr - 12;
	case SB_LOCK_CONDVAR:
		return w->uaddr - 40;
	default:
		return w->uaddr;
	}
}

static int examine(const struct sb_lock_input *in, const struct by_tid *tids,
		   int i, struct sb_unwinder *u, struct sb_lock_wait *w)
{
	const struct sb_lock_thread_in *t = &in->threads[i];
	struct near near;
	uint64_t base;

	memset(w, 0, sizeof(*w));
	w->tid = t->tid;
	memcpy(w->name, t->name, sizeof(w->name));
	w->unnamed = t->unnamed;
	w->state = t->state;
	w->owner_index = -1;
	if (t->has_regs && u) {
		struct sb_frame raw[MAX_FRAMES];
		enum sb_stack_end end;
		int n = sb_unwind_regs(u, &t->regs, raw, MAX_FRAMES, &end);

		w->frames = calloc((size_t)(n > 0 ? n : 1), sizeof(*w->frames));
		if (!w->frames)
			return -ENOMEM;
		sb_syms_frames(in->syms, in->maps, raw, n, w->frames);
		w->nframes = n;
		for (w->where = 0; w->where < n; w->where++)
			if (!sb_syms_system_module(
				    w->frames[w->where].sym.module) &&
			    w->frames[w->where].sym.function)
				break;
		if (w->where == n)
			w->where = 0;
	}
	if (t->nr != SYS_FUTEX)
		return 0;
	w->uaddr = t->args[0];
	read_near(in, w->uaddr, &near);
	w->type = type_from_stack(w);
	if (w->type == SB_LOCK_FUTEX)
		w->type = type_from_futex(in, tids, &near, t);
	base = guess_base(w);
	name_object(in, w->uaddr, &base, w->object_name,
		    sizeof(w->object_name));
	w->object = base;
	/* Read at the futex word, whatever the type turns out to be: the
	 * two looks must compare the same bytes. */
	w->word_ok = read_mem(in, &near, w->uaddr, w->word, sizeof(w->word));
	find_owner(in, &near, w);
	return 0;
}

/* A thread's name, read now if it was not. */
static const char *wait_name(const struct sb_lock_input *in,
			     struct sb_lock_wait *w)
{
	if (w->unnamed && in->name_of) {
		in->name_of(in->name_ctx, w->tid, w->name);
		w->name[sizeof(w->name) - 1] = '\0';
		w->unnamed = false;
	}
	return w->name;
}

/* The same wait in both looks (p, its thread in the last): same futex,
 * and its lock unchanged.  No last look: everything is the same. */
static bool unchanged(const struct sb_lock_report *prev,
		      const struct sb_lock_wait *p,
		      const struct sb_lock_wait *w)
{
	if (!prev)
		return true;
	return p && p->uaddr == w->uaddr && p->word_ok && w->word_ok &&
	       memcmp(p->word, w->word, sizeof(w->word)) == 0;
}

static void add_cycle(void *ctx, const int *edges, int n)
{
	struct sb_lock_report *r = ((void **)ctx)[0];
	const struct sb_graph *g = ((void **)ctx)[1];
	struct sb_lock_cycle *c;
	int i;

	if (r->ncycles >= (int)(sizeof(r->cycles) / sizeof(r->cycles[0])) ||
	    n > (int)(sizeof(c->thread) / sizeof(c->thread[0])))
		return;
	c = &r->cycles[r->ncycles++];
	c->len = n;
	for (i = 0; i < n; i++)
		c->thread[i] = g->edges[edges[i]].from;
}

static void where_text(const struct sb_lock_wait *w, char *buf, size_t size)
{
	char name[256], fl[256];

	if (!w->nframes) {
		buf[0] = '\0';
		return;
	}
	sb_report_file_line(&w->frames[w->where].sym, fl, sizeof(fl));
	snprintf(buf, size, " in %s%s%s%s",
		 sb_report_frame_name(&w->frames[w->where].sym, name,
				      sizeof(name)),
		 fl[0] ? " (" : "", fl, fl[0] ? ")" : "");
}

/* "2 threads wait on condition not_empty (x.c:40), 1 on join of 42". */
static void describe_hang(struct sb_lock_report *r, char *buf, size_t size)
{
	size_t len = 0;
	int i, j;

	for (i = 0; i < r->nthreads && len < size; i++) {
		const struct sb_lock_wait *w = &r->threads[i];
		char where[600];
		int count = 0;

		if (w->type == SB_LOCK_NONE)
			continue;
		for (j = 0; j < i; j++)
			if (r->threads[j].object == w->object &&
			    r->threads[j].type == w->type)
				break;
		if (j < i)
			continue; /* counted with the first */
		for (j = i; j < r->nthreads; j++)
			if (r->threads[j].object == w->object &&
			    r->threads[j].type == w->type)
				count++;
		where_text(w, where, sizeof(where));
		len += (size_t)snprintf(
			buf + len, size - len, "%s%d thread%s wait%s %s %s%s%s",
			len ? "; " : "", count, count == 1 ? "" : "s",
			count == 1 ? "s" : "",
			w->type == SB_LOCK_JOIN ? "to join" : "on",
			w->type == SB_LOCK_JOIN ? "" :
						  sb_lock_type_str(w->type),
			w->type == SB_LOCK_JOIN ? "" : " ", w->object_name);
		len += (size_t)snprintf(buf + len, size - len, "%s", where);
		if (len >= size)
			break; /* cut: no more room */
	}
}

int sb_lock_analyze(const struct sb_lock_input *in,
		    const struct sb_lock_report *prev, struct sb_lock_report *r)
{
	struct sb_unwinder *u = in->unwinder, *own = NULL;
	struct by_tid *tids = NULL, *prev_tids = NULL;
	const struct sb_lock_wait **was = NULL;
	pid_t *v = NULL;
	struct sb_graph g;
	void *ctx[2];
	int i, err = -ENOMEM, orphan_waiters = 0, moving = 0;
	int futex_waits = 0, may_wake = 0;
	const struct sb_lock_wait *orphan = NULL;

	memset(r, 0, sizeof(*r));
	r->threads = calloc((size_t)in->nthreads + 1, sizeof(*r->threads));
	v = calloc((size_t)in->nthreads + (prev ? (size_t)prev->nthreads : 0) +
			   1,
		   sizeof(*v));
	was = calloc((size_t)in->nthreads + 1, sizeof(*was));
	if (!r->threads || !v || !was)
		goto out;
	for (i = 0; i < in->nthreads; i++)
		v[i] = in->threads[i].tid;
	if (!(tids = index_tids(v, in->nthreads)))
		goto out;
	/* Each thread's wait in the last look, found once. */
	if (prev) {
		for (i = 0; i < prev->nthreads; i++)
			v[i] = prev->threads[i].tid;
		if (!(prev_tids = index_tids(v, prev->nthreads)))
			goto out;
	}
	/* An unwinder only for threads with registers (a first look of a
	 * live process has none): it costs a quarter megabyte of pages. */
	for (i = 0; !u && i < in->nthreads && !in->threads[i].has_regs; i++)
		;
	if (!u && i < in->nthreads &&
	    !(u = own = sb_unwinder_new(&in->mem, in->maps)))
		goto out;
	err = 0;
	for (i = 0; i < in->nthreads && !err; i++) {
		err = examine(in, tids, i, u, &r->threads[i]);
		r->nthreads = i + 1;
	}
	sb_unwinder_free(own);
	if (err)
		goto out;
	for (i = 0; prev && i < r->nthreads; i++) {
		int k = find_tid(prev_tids, prev->nthreads, r->threads[i].tid,
				 false);

		was[i] = k >= 0 ? &prev->threads[k] : NULL;
	}
	for (i = 0; i < r->nthreads; i++) {
		struct sb_lock_wait *w = &r->threads[i];

		if (w->state == 'R' || in->threads[i].nr < 0)
			r->nrunnable++;
		else
			r->nblocked++;
		/* Waits that only another thread can end: futex, pause,
		 * sigsuspend, waiting for a child.  A sleep, a read, a poll
		 * ends by itself or from outside: not a hang. */
		if (in->threads[i].nr == SYS_FUTEX)
			futex_waits++;
		else if (in->threads[i].nr >= 0 && in->threads[i].nr != 34 &&
			 in->threads[i].nr != 130 && in->threads[i].nr != 61 &&
			 in->threads[i].nr != 247)
			may_wake++;
		if (w->owner)
			w->owner_index =
				find_tid(tids, r->nthreads, w->owner, true);
		/* A join waits for a thread, not for memory. */
		if (w->type == SB_LOCK_JOIN && w->owner) {
			const char *n =
				w->owner_index >= 0 ?
					wait_name(in,
						  &r->threads[w->owner_index]) :
					"";

			snprintf(w->object_name, sizeof(w->object_name),
				 "thread %d%s%s%s", (int)w->owner,
				 n[0] ? " '" : "", n, n[0] ? "'" : "");
		}
	}
	/* The wait-for graph: thread -> the thread holding what it wants,
	 * for waits that have not moved since the last look. */
	if (sb_graph_init(&g, r->nthreads)) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < r->nthreads; i++) {
		const struct sb_lock_wait *w = &r->threads[i];
		bool same = unchanged(prev, was[i], w);

		if (w->owner_index >= 0 && same)
			sb_graph_add(&g, i, w->owner_index, i);
		else if (w->type != SB_LOCK_NONE && !same)
			moving++;
		if (w->owner && w->owner_index < 0 && same) {
			orphan = orphan ? orphan : w;
			if (w->object == orphan->object)
				orphan_waiters++;
		}
	}
	ctx[0] = r;
	ctx[1] = &g;
	sb_graph_cycles(&g, 16, 64, add_cycle, ctx);
	sb_graph_free(&g);
	r->deadlocked = r->ncycles > 0;

	if (r->deadlocked) {
		const struct sb_lock_cycle *c = &r->cycles[0];
		const struct sb_lock_wait *w = &r->threads[c->thread[0]];
		char where[600];

		where_text(w, where, sizeof(where));
		if (c->len == 1)
			snprintf(r->verdict, sizeof(r->verdict),
				 "DEADLOCK: thread %d '%s' waits for %s, which "
				 "it already holds (a %s is not recursive)%s",
				 (int)w->tid,
				 wait_name(in, &r->threads[c->thread[0]]),
				 w->object_name, w->kind, where);
		else
			snprintf(r->verdict, sizeof(r->verdict),
				 "DEADLOCK: %d threads wait for each other",
				 c->len);
	} else if (orphan) {
		r->hung = true;
		snprintf(r->verdict, sizeof(r->verdict),
			 "%s is held by thread %d, which has exited; %d "
			 "thread%s wait%s for it forever",
			 orphan->object_name, (int)orphan->owner,
			 orphan_waiters, orphan_waiters == 1 ? "" : "s",
			 orphan_waiters == 1 ? "s" : "");
	} else if (r->nrunnable == 0 && futex_waits > 0 && may_wake == 0 &&
		   moving == 0) {
		char what[900];

		r->hung = true;
		describe_hang(r, what, sizeof(what));
		snprintf(r->verdict, sizeof(r->verdict),
			 "hung: no thread can run; %s", what);
	} else {
		snprintf(r->verdict, sizeof(r->verdict),
			 "no deadlock: %d threads, %d blocked on contended "
			 "locks that are moving",
			 r->nthreads, moving);
	}
out:
	free(prev_tids);
	free(tids);
	free(was);
	free(v);
	if (err)
		sb_lock_report_free(r);
	return err;
}

void sb_lock_report_free(struct sb_lock_report *r)
{
	int i;

	for (i = 0; i < r->nthreads; i++)
		free(r->threads[i].frames);
	free(r->threads);
	memset(r, 0, sizeof(*r));
}
