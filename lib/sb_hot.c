/* sb_hot.c: measure threads' CPU over a window and profile the hot ones. */
#include "sb_hot.h"
#include "sb_attach.h"
#include "sb_maps.h"
#include "sb_report.h"
#include "sb_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What each window reads of every thread: stat, schedstat, status. */
#define WINDOW_READS (SB_PROC_SCHEDSTAT | SB_PROC_CTXSW)

struct sb_hot {
	pid_t pid;
	struct sb_maps maps;
	struct sb_syms *syms;
	struct sb_unwinder *unw;
	struct sb_thread_list prev; /* the end of the last window */
	bool have_prev;
	pid_t *last_hot; /* hot in the last window */
	int no_stacks; /* -EACCES: we may not read its memory */
	int nlast_hot;
};

/* Stacks taken from one thread during a window. */
struct candidate {
	pid_t tid;
	int nsamples;
	struct sb_frame *frames; /* nsamples * max_depth */
	int *lens;
	enum sb_stack_end *ends;
	double stopped_ms, max_stop_ms;
};

int sb_hot_open(pid_t pid, struct sb_hot **out)
{
	struct sb_hot *h = calloc(1, sizeof(*h));
	struct sb_memsrc mem = sb_memsrc_live(pid);
	int err;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	h->pid = pid;
	err = sb_maps_read(pid, &h->maps);
	if (err == -EACCES || err == -EPERM) {
		/* Another user's process: its threads' CPU is public, its
		 * memory and stacks are not.  Measure what we may. */
		h->no_stacks = err;
		err = 0;
	}
	if (err)
		goto free_h;
	h->syms = sb_syms_new(pid, NULL);
	if (h->syms)
		sb_syms_set_lines(h->syms, SB_SYMS_LINES_PROGRAM);
	h->unw = sb_unwinder_new(&mem, &h->maps);
	if (!h->syms || !h->unw) {
		err = -ENOMEM;
		goto free_h;
	}
	*out = h;
	return 0;
free_h:
	sb_hot_close(h);
	return err;
}

void sb_hot_close(struct sb_hot *h)
{
	if (!h)
		return;
	sb_unwinder_free(h->unw);
	sb_syms_free(h->syms);
	sb_maps_free(&h->maps);
	sb_thread_list_free(&h->prev);
	free(h->last_hot);
	free(h);
}

static bool maps_equal(const struct sb_maps *a, const struct sb_maps *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->v[i].start != b->v[i].start ||
		    a->v[i].end != b->v[i].end ||
		    a->v[i].inode != b->v[i].inode || a->v[i].x != b->v[i].x)
			return false;
	return true;
}

/* dlopen and dlclose move code: pick up new maps, and only then forget
 * the unwinder's caches. */
static void refresh_maps(struct sb_hot *h)
{
	struct sb_maps fresh;

	if (h->no_stacks)
		return;
	if (sb_maps_read(h->pid, &fresh)) {
		sb_maps_free(&fresh);
		return;
	}
	if (maps_equal(&fresh, &h->maps)) {
		sb_maps_free(&fresh);
		return;
	}
	sb_maps_free(&h->maps);
	h->maps = fresh;
	sb_unwinder_set_maps(h->unw, &h->maps);
	sb_syms_flush(h->syms);
}

static bool default_wait(void *ctx, int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000 };

	(void)ctx;
	nanosleep(&ts, NULL);
	return false;
}

/* Wait until the monotonic time `until`; true if asked to stop. */
static bool wait_until(const struct sb_hot_opts *o, uint64_t until)
{
	uint64_t now = sb_now_ns();
	int ms;

	if (now >= until)
		return o->wait ? o->wait(o->wait_ctx, 0) : false;
	ms = (int)((until - now + 999999) / 1000000);
	return o->wait ? o->wait(o->wait_ctx, ms) : default_wait(NULL, ms);
}

static double oncpu_share(const struct sb_thread_stat *a,
			  const struct sb_thread_stat *b, double secs,
			  double hz)
{
	bool same = a && a->starttime == b->starttime;

	if (b->has_schedstat && (!a || a->has_schedstat))
		return (double)(b->oncpu_ns - (same ? a->oncpu_ns : 0)) / 1e9 /
		       secs * 100.0;
	return (double)(b->utime + b->stime -
			(same ? a->utime + a->stime : 0)) /
	       hz / secs * 100.0;
}

struct probe_share {
	pid_t tid;
	double cpu; /* % of the probe on a CPU */
	double wants; /* % on a CPU or waiting for one */
};

static int cmp_share(const void *x, const void *y)
{
	const struct probe_share *a = x, *b = y;

	return (a->cpu < b->cpu) - (a->cpu > b->cpu);
}

/*
 * Which threads to sample: those hot during a short probe at the start of
 * the window, and those hot in the last window.  When many more threads
 * want a CPU than there are CPUs, each gets a sliver and none looks hot:
 * then the busiest of those runnable threads are sampled, to show what
 * they all do.  Idle threads never are.
 */
static int pick_candidates(struct sb_hot *h, const struct sb_hot_opts *o,
			   const struct sb_thread_list *probe,
			   struct candidate **out)
{
	double secs = (double)(probe->when_ns - h->prev.when_ns) / 1e9;
	double hz = (double)sb_proc_clk_tck(), threshold = o->hot_pct;
	struct probe_share *share = calloc(probe->n + 1, sizeof(*share));
	struct candidate *c = calloc((size_t)o->max_hot * 2 + 1, sizeof(*c));
	int n = 0, i, j, contending = 0;
	size_t k;

	if (!share || !c) {
		free(share);
		free(c);
		return -ENOMEM;
	}
	for (k = 0; k < probe->n && secs > 0; k++) {
		const struct sb_thread_stat *a =
			sb_thread_list_find(&h->prev, probe->v[k].tid);
		const struct sb_thread_stat *b = &probe->v[k];
		bool same = a && a->starttime == b->starttime;

		share[k].tid = b->tid;
		share[k].cpu = oncpu_share(a, b, secs, hz);
		share[k].wants = share[k].cpu;
		if (b->has_schedstat && (!a || a->has_schedstat))
			share[k].wants += (double)(b->runwait_ns -
						   (same ? a->runwait_ns : 0)) /
					  1e9 / secs * 100.0;
		if (share[k].wants > 100.0)
			share[k].wants = 100.0;
		if (share[k].wants >= 50.0)
			contending++;
	}
	if (contending >= 2 * sb_proc_ncpu() && contending >= 4)
		threshold = 0.5;
	qsort(share, probe->n, sizeof(*share), cmp_share);
	for (k = 0; k < probe->n && n < o->max_hot; k++)
		if (share[k].cpu >= threshold &&
		    (threshold == o->hot_pct || share[k].wants >= 50.0))
			c[n++].tid = share[k].tid;
	/* Hot last time, and still busy: a thread gone to sleep since must
	 * not be stopped, which would also cut its sleep short (EINTR). */
	for (i = 0; i < h->nlast_hot && n < o->max_hot; i++) {
		const struct sb_thread_stat *b =
			sb_thread_list_find(probe, h->last_hot[i]);

		for (j = 0; j < n && c[j].tid != h->last_hot[i]; j++)
			;
		for (k = 0; k < probe->n && share[k].tid != h->last_hot[i]; k++)
			;
		if (j == n && b && k < probe->n &&
		    (share[k].cpu >= threshold ||
		     (b->state == 'R' && share[k].cpu >= 1.0)))
			c[n++].tid = h->last_hot[i];
	}
	/* A busy machine gives a spinner only a sliver of a short probe;
	 * runnable threads are the next best guess (idle ones never are). */
	for (k = 0; k < probe->n && n < o->max_hot; k++) {
		const struct sb_thread_stat *b =
			sb_thread_list_find(probe, share[k].tid);

		for (j = 0; j < n && c[j].tid != share[k].tid; j++)
			;
		if (j == n && b && b->state == 'R' && share[k].cpu >= 1.0)
			c[n++].tid = share[k].tid;
	}
	free(share);
	for (i = 0; i < n; i++) {
		c[i].frames = calloc((size_t)o->samples * (size_t)o->max_depth,
				     sizeof(*c[i].frames));
		c[i].lens = calloc((size_t)o->samples, sizeof(*c[i].lens));
		c[i].ends = calloc((size_t)o->samples, sizeof(*c[i].ends));
		if (!c[i].frames || !c[i].lens || !c[i].ends) {
			for (j = 0; j <= i; j++) {
				free(c[j].frames);
				free(c[j].lens);
				free(c[j].ends);
			}
			free(c);
			return -ENOMEM;
		}
	}
	*out = c;
	return n;
}

static void free_candidates(struct candidate *c, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(c[i].frames);
		free(c[i].lens);
		free(c[i].ends);
	}
	free(c);
}

/*
 * How long a thread was really stopped.  hotthread sees the stop only when
 * it is itself scheduled, and on a busy machine that can be a tick after
 * the thread stopped; counting from the interrupt instead would blame us
 * for time the thread spent waiting for a CPU anyway.  So: the wall time
 * from just before the interrupt to the release, less what the thread
 * waited in the run queue meanwhile (its schedstat, read before the
 * interrupt and while stopped).  Exact for a running thread; for one that
 * was waiting for a CPU the kernel books its whole wait on arrival, so
 * this errs short, never below what waitpid saw.
 */
static uint64_t stopped_for(const struct sb_stop *stop, uint64_t t_before,
			    const struct sb_thread_stat *before,
			    const struct sb_thread_stat *during)
{
	uint64_t span = stop->t_stop_ns + stop->stopped_ns - t_before, busy;

	if (!before->has_schedstat || !during->has_schedstat)
		return stop->stopped_ns;
	/* Only the run-queue wait: the thread runs for microseconds between
	 * the interrupt and its stop, and a running thread's on-CPU figure
	 * lags its current slice, which would be counted here wrongly. */
	busy = during->runwait_ns - before->runwait_ns;
	if (busy >= span || span - busy < stop->stopped_ns)
		return stop->stopped_ns;
	return span - busy;
}

/*
 * One sample: each candidate in turn is stopped, unwound and let go, so
 * that none waits while another is unwound; only raw addresses are taken
 * while a thread is stopped.  Returns 0, or -EPERM when ptrace is refused.
 */
static int take_sample(struct sb_hot *h, const struct sb_hot_opts *o,
		       struct candidate *c, int n, uint64_t deadline,
		       struct sb_hot_report *rep)
{
	int i, r, gone = 0;

	/* On a swamped machine each stop waits for the thread to get a CPU;
	 * past the window's end the rest of the sample is dropped. */
	for (i = 0; i < n && sb_now_ns() < deadline; i++) {
		struct candidate *ci = &c[i];
		struct sb_stop stop = { .tid = ci->tid };
		struct sb_thread_stat before = { 0 }, during = { 0 };
		enum sb_stack_end end = SB_STACK_END_ERROR;
		uint64_t t_before;
		double ms;
		int len = 0;

		sb_proc_thread_read(h->pid, ci->tid, SB_PROC_SCHEDSTAT,
				    &before);
		t_before = sb_now_ns();
		r = sb_attach_stop(&stop, 1, 200);
		if (r == -EPERM)
			return r;
		if (r == -ESRCH)
			gone++;
		if (stop.stopped) {
			len = sb_unwind_thread(
				h->unw, ci->tid,
				ci->frames + (size_t)ci->nsamples *
						     (size_t)o->max_depth,
				o->max_depth, &end);
			sb_proc_thread_read(h->pid, ci->tid, SB_PROC_SCHEDSTAT,
					    &during);
		}
		sb_attach_resume_all(&stop, 1);
		if (!stop.stopped_ns)
			continue;
		ms = (double)stopped_for(&stop, t_before, &before, &during) /
		     1e6;
		rep->target_stopped_ms += ms;
		ci->stopped_ms += ms;
		if (ms > ci->max_stop_ms)
			ci->max_stop_ms = ms;
		if (ms > rep->max_stop_ms)
			rep->max_stop_ms = ms;
		rep->stops++;
		if (len <= 0)
			continue;
		ci->lens[ci->nsamples] = len;
		ci->ends[ci->nsamples] = end;
		ci->nsamples++;
	}
	return gone == n ? -ESRCH : 0;
}

static void fill_thread(const struct sb_thread_stat *a,
			const struct sb_thread_stat *b, double secs, double hz,
			struct sb_hot_thread *t)
{
	bool same = a && a->starttime == b->starttime;
	uint64_t du, ds;

	t->tid = b->tid;
	memcpy(t->name, b->name, sizeof(t->name));
	t->state = b->state;
	t->processor = b->processor;
	t->born = !same;
	t->cpu_pct = oncpu_share(a, b, secs, hz);
	/* One thread runs on one CPU at a time: more is clock skew between
	 * our reads of the clock and of the counters. */
	if (t->cpu_pct > 100.0)
		t->cpu_pct = 100.0;
	du = b->utime - (same ? a->utime : 0);
	ds = b->stime - (same ? a->stime : 0);
	if (du + ds == 0) {
		/* Under a tick in the window: split as over its life. */
		du = b->utime;
		ds = b->stime;
	}
	if (du + ds == 0)
		du = 1;
	t->user_pct = t->cpu_pct * (double)du / (double)(du + ds);
	t->sys_pct = t->cpu_pct - t->user_pct;
	if (t->sys_pct < 0)
		t->sys_pct = 0;
	if (b->has_ctxsw && (!a || a->has_ctxsw)) {
		t->vcsw_per_s = (double)(b->vcsw - (same ? a->vcsw : 0)) / secs;
		t->ivcsw_per_s =
			(double)(b->ivcsw - (same ? a->ivcsw : 0)) / secs;
	}
	if (b->has_schedstat && (!a || a->has_schedstat))
		t->runwait_pct =
			(double)(b->runwait_ns - (same ? a->runwait_ns : 0)) /
			1e9 / secs * 100.0;
	/* The kernel adds a wait to run_delay when the wait ends, so one
	 * that began before the window can land in it whole. */
	if (t->runwait_pct > 100.0 - t->cpu_pct)
		t->runwait_pct = t->cpu_pct < 100.0 ? 100.0 - t->cpu_pct : 0;
}

static int cmp_cpu(const void *x, const void *y)
{
	const struct sb_hot_thread *a = x, *b = y;

	if (a->cpu_pct != b->cpu_pct)
		return (a->cpu_pct < b->cpu_pct) - (a->cpu_pct > b->cpu_pct);
	return (a->tid > b->tid) - (a->tid < b->tid);
}

static int cmp_group(const void *x, const void *y)
{
	const struct sb_hot_group *a = x, *b = y;

	return b->count - a->count;
}

/* Name every frame of a candidate's samples, and fold equal stacks. */
static int build_profile(struct sb_hot *h, const struct sb_hot_opts *o,
			 const struct candidate *c, struct sb_hot_thread *t)
{
	int s, i, g;

	t->nsamples = c->nsamples;
	t->stopped_ms = c->stopped_ms;
	t->max_stop_ms = c->max_stop_ms;
	if (!c->nsamples)
		return 0;
	t->groups = calloc((size_t)c->nsamples, sizeof(*t->groups));
	if (!t->groups)
		return -ENOMEM;
	for (s = 0; s < c->nsamples; s++) {
		const struct sb_frame *raw =
			c->frames + (size_t)s * (size_t)o->max_depth;
		int len = c->lens[s];
		struct sb_sym_frame *f = calloc((size_t)len, sizeof(*f));

		if (!f)
			return -ENOMEM;
		sb_syms_frames(h->syms, &h->maps, raw, len, f);
		for (g = 0; g < t->ngroups; g++) {
			struct sb_hot_group *gr = &t->groups[g];

			if (gr->nframes != len)
				continue;
			for (i = 0; i < len &&
				    sb_sym_frame_same(&gr->frames[i], &f[i]);
			     i++)
				;
			if (i == len)
				break;
		}
		if (g < t->ngroups) {
			t->groups[g].count++;
			free(f);
			continue;
		}
		t->groups[t->ngroups++] =
			(struct sb_hot_group){ .count = 1,
					       .nframes = len,
					       .frames = f,
					       .end = c->ends[s] };
	}
	qsort(t->groups, (size_t)t->ngroups, sizeof(*t->groups), cmp_group);
	return 0;
}

const struct sb_sym_frame *sb_hot_group_line_frame(const struct sb_hot_group *g)
{
	int i;

	for (i = 0; i < g->nframes; i++)
		if (g->frames[i].sym.file && g->frames[i].sym.line > 0)
			return &g->frames[i];
	return NULL;
}

static const char *cpu_kind(const struct sb_hot_thread *t, char *buf,
			    size_t size)
{
	if (t->user_pct >= 0.8 * t->cpu_pct)
		return "user";
	if (t->sys_pct >= 0.8 * t->cpu_pct)
		return "system";
	snprintf(buf, size, "user %.0f %%, system %.0f %%", t->user_pct,
		 t->sys_pct);
	return buf;
}

const struct sb_sym_frame *sb_hot_group_user_frame(const struct sb_hot_group *g)
{
	int i;

	for (i = 0; i < g->nframes; i++)
		if (g->frames[i].sym.line > 0 &&
		    !sb_syms_system_module(g->frames[i].sym.module))
			return &g->frames[i];
	return sb_hot_group_line_frame(g);
}

/*
 * "in spin_inner (spin-worker.c:31)", or "in read <- burn_in_kernel
 * (spin-syscall.c:101)": the innermost frame, and the program's own code
 * that led there.
 */
static void where_clause(const struct sb_hot_thread *t, const char *arrow,
			 char *buf, size_t size)
{
	const struct sb_hot_group *g;
	const struct sb_sym_frame *lf;
	char name[256], lname[256], fl[256];
	const char *leaf;

	if (!t->ngroups) {
		buf[0] = '\0';
		return;
	}
	g = &t->groups[0];
	lf = sb_hot_group_user_frame(g);
	/* A line deep in libc (start_thread) says nothing of the program. */
	if (lf && lf - g->frames > 1 && sb_syms_system_module(lf->sym.module))
		lf = NULL;
	leaf = sb_report_frame_name(&g->frames[0].sym, name, sizeof(name));
	if (!lf) {
		snprintf(buf, size, " in %s", leaf);
	} else if (lf == &g->frames[0]) {
		snprintf(buf, size, " in %s (%s)", leaf,
			 sb_report_file_line(&lf->sym, fl, sizeof(fl)));
	} else {
		bool next = lf == &g->frames[1];

		snprintf(buf, size, " in %s %s %s%s%s%s (%s)", leaf, arrow,
			 next ? "" : "... ", next ? "" : arrow, next ? "" : " ",
			 sb_report_frame_name(&lf->sym, lname, sizeof(lname)),
			 sb_report_file_line(&lf->sym, fl, sizeof(fl)));
	}
}

static void make_verdict(const struct sb_hot_opts *o, struct sb_hot_report *r)
{
	char *v = r->verdict, kind[64], where[600];
	size_t size = sizeof(r->verdict), len = 0;
	const struct sb_hot_thread *t;
	int i;

	v[0] = '\0';
	if (r->storm) {
		len += (size_t)snprintf(
			v + len, size - len,
			"too many threads: %d threads want to run on %ld CPUs; "
			"they wait %.0f %% of the time for a CPU and are "
			"switched out %.0f times/s (a pool of about %ld "
			"workers would do the same work)",
			r->ncontending, r->ncpu, r->storm_runwait_pct,
			r->storm_ivcsw_per_s, r->ncpu);
		for (i = 0; i < r->nthreads && len < size; i++) {
			t = &r->threads[i];
			if (!t->hot || !t->ngroups)
				continue;
			where_clause(t, o->arrow, where, sizeof(where));
			len += (size_t)snprintf(
				v + len, size - len,
				"; thread %d '%s' (%.0f %% CPU) "
				"runs%s",
				(int)t->tid, t->name, t->cpu_pct, where + 3);
			break;
		}
		return;
	}
	if (r->nhot) {
		int more = 0;

		for (i = 0; !r->threads[i].hot; i++)
			;
		t = &r->threads[i];
		where_clause(t, o->arrow, where, sizeof(where));
		len += (size_t)snprintf(
			v + len, size - len,
			"thread %d '%s' burns %.0f %% CPU (%s)%s", (int)t->tid,
			t->name, t->cpu_pct, cpu_kind(t, kind, sizeof(kind)),
			where);
		for (i++; i < r->nthreads && len < size; i++) {
			if (!r->threads[i].hot)
				continue;
			len += (size_t)snprintf(
				v + len, size - len, "%s %d '%s' %.0f %%",
				more++ ? "," : "; also hot:",
				(int)r->threads[i].tid, r->threads[i].name,
				r->threads[i].cpu_pct);
		}
	} else {
		snprintf(v, size,
			 "no hot thread: the process uses %.0f %% CPU in all, "
			 "%d threads, none above %.0f %%",
			 r->proc_cpu_pct, r->nthreads, o->hot_pct);
	}
}

/* Threads that want a CPU most of the window, and whether they fight. */
static void detect_storm(struct sb_hot_report *r)
{
	double ivcsw = 0, vcsw = 0, wait = 0;
	int i;

	r->ncontending = 0;
	for (i = 0; i < r->nthreads; i++) {
		const struct sb_hot_thread *t = &r->threads[i];

		if (t->state == 'R')
			r->nrunnable++;
		if (t->cpu_pct + t->runwait_pct < 50.0)
			continue;
		r->ncontending++;
		ivcsw += t->ivcsw_per_s;
		vcsw += t->vcsw_per_s;
		wait += t->runwait_pct;
	}
	if (r->ncontending >= 2 * r->ncpu && r->ncontending >= 4 &&
	    ivcsw > vcsw) {
		r->storm = true;
		r->storm_ivcsw_per_s = ivcsw;
		r->storm_runwait_pct = wait / r->ncontending;
	}
}

int sb_hot_measure(struct sb_hot *h, const struct sb_hot_opts *o,
		   struct sb_hot_report *rep)
{
	struct sb_thread_list probe = { 0 }, cur = { 0 };
	const struct sb_thread_list *end_list;
	struct candidate *cand = NULL;
	double hz = (double)sb_proc_clk_tck(), secs, probe_s;
	uint64_t t0, span, start;
	int ncand = 0, err, i, s, pass;
	uint64_t window_end;
	/* -k 0 turns stacks off, not the verdict. */
	int max_hot = o->max_hot > 0 ? o->max_hot : 3;
	size_t k;

	memset(rep, 0, sizeof(*rep));
	rep->pid = h->pid;
	rep->ncpu = sb_proc_ncpu();
	if (sb_proc_comm(h->pid, rep->comm, sizeof(rep->comm)))
		snprintf(rep->comm, sizeof(rep->comm), "?");
	if (!h->have_prev) {
		err = sb_proc_threads(h->pid, WINDOW_READS, &h->prev);
		if (err)
			return err;
		h->have_prev = true;
	}
	refresh_maps(h);
	t0 = h->prev.when_ns;
	window_end = t0 + (uint64_t)(o->interval_s * 1e9);

	/* A probe of a fifth of the window (at most 0.2 s) finds the
	 * threads to sample; the rest of the window is sampled. */
	probe_s = o->interval_s / 5 < 0.2 ? o->interval_s / 5 : 0.2;
	if (wait_until(o, t0 + (uint64_t)(probe_s * 1e9)))
		rep->interrupted = true;
	err = sb_proc_threads(h->pid, SB_PROC_SCHEDSTAT, &probe);
	if (err == -ESRCH) {
		rep->exited = true;
		goto finish;
	}
	rep->err_ptrace = h->no_stacks;
	rep->sampling_off = o->samples == 0 || o->max_hot == 0;
	if (!err && !rep->interrupted && !rep->sampling_off && !h->no_stacks) {
		ncand = pick_candidates(h, o, &probe, &cand);
		if (ncand < 0) {
			err = ncand;
			ncand = 0;
			goto out;
		}
	}
	start = sb_now_ns();
	span = t0 + (uint64_t)(o->interval_s * 1e9) > start ?
		       t0 + (uint64_t)(o->interval_s * 1e9) - start :
		       0;
	for (s = 0; ncand && s < o->samples && !rep->interrupted; s++) {
		uint64_t at = start + span * (2 * (uint64_t)s + 1) /
					      (2 * (uint64_t)o->samples);

		if (wait_until(o, at)) {
			rep->interrupted = true;
			break;
		}
		if (sb_now_ns() >= window_end)
			break;
		err = take_sample(h, o, cand, ncand, window_end, rep);
		if (err == -EPERM) {
			rep->err_ptrace = err;
			break;
		}
		if (err == -ESRCH && sb_proc_check(h->pid, NULL) == -ESRCH) {
			rep->exited = true;
			break;
		}
	}
	if (!rep->interrupted && !rep->exited &&
	    wait_until(o, t0 + (uint64_t)(o->interval_s * 1e9)))
		rep->interrupted = true;
finish:
	err = rep->exited ? -ESRCH :
			    sb_proc_threads(h->pid, WINDOW_READS, &cur);
	if (err == -ESRCH)
		rep->exited = true;
	else if (err)
		goto out;
	/* A process gone mid-window is still described up to the probe. */
	end_list = rep->exited ? &probe : &cur;
	if (!end_list->n) {
		err = -ESRCH;
		goto out;
	}
	secs = (double)(end_list->when_ns - t0) / 1e9;
	if (secs <= 0)
		secs = 1e-9;
	rep->interval_s = secs;
	rep->threads = calloc(end_list->n, sizeof(*rep->threads));
	if (!rep->threads) {
		err = -ENOMEM;
		goto out;
	}
	for (k = 0; k < end_list->n; k++) {
		const struct sb_thread_stat *b = &end_list->v[k];

		fill_thread(sb_thread_list_find(&h->prev, b->tid), b, secs, hz,
			    &rep->threads[k]);
		rep->proc_cpu_pct += rep->threads[k].cpu_pct;
	}
	rep->nthreads = (int)end_list->n;
	qsort(rep->threads, end_list->n, sizeof(*rep->threads), cmp_cpu);
	/*
	 * The hot threads: the busiest above the threshold, those sampled
	 * first (when many are equally busy, as in a thread storm, the ones
	 * we have stacks for are the ones worth showing).
	 */
	/* Each of our stops is a voluntary switch of the thread's (two for
	 * a sleeping one: woken to stop, back to sleep), not its doing. */
	for (s = 0; s < ncand; s++) {
		for (i = 0; i < rep->nthreads; i++) {
			struct sb_hot_thread *t = &rep->threads[i];

			if (t->tid != cand[s].tid)
				continue;
			t->vcsw_per_s -= (t->state == 'R' ? 1 : 2) *
					 cand[s].nsamples / secs;
			if (t->vcsw_per_s < 0)
				t->vcsw_per_s = 0;
		}
	}
	detect_storm(rep);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < rep->nthreads && rep->nhot < max_hot; i++) {
			struct sb_hot_thread *t = &rep->threads[i];
			struct candidate *c = NULL;

			/* In a storm every thread gets a sliver; those we
			 * sampled still show what they all do. */
			if (t->cpu_pct <
			    (rep->storm && pass == 0 ? 1.0 : o->hot_pct))
				break;
			for (s = 0; s < ncand && !c; s++)
				if (cand[s].tid == t->tid)
					c = &cand[s];
			if (t->hot || (pass == 0 && !(c && c->nsamples)))
				continue;
			t->hot = true;
			rep->nhot++;
			if (!c)
				continue;
			err = build_profile(h, o, c, t);
			if (err)
				goto out;
		}
	}
	make_verdict(o, rep);
	if (rep->exited)
		snprintf(rep->verdict, sizeof(rep->verdict),
			 "process %d exited during the measurement",
			 (int)h->pid);

	/* This window's end is the next one's start. */
	free(h->last_hot);
	h->last_hot = calloc((size_t)rep->nhot + 1, sizeof(*h->last_hot));
	h->nlast_hot = 0;
	for (i = 0; h->last_hot && i < rep->nthreads; i++)
		if (rep->threads[i].hot)
			h->last_hot[h->nlast_hot++] = rep->threads[i].tid;
	if (!rep->exited) {
		struct sb_thread_list tmp = h->prev;

		h->prev = cur;
		cur = tmp;
	}
	err = 0;
out:
	free_candidates(cand, ncand);
	sb_thread_list_free(&probe);
	sb_thread_list_free(&cur);
	return err;
}

void sb_hot_report_free(struct sb_hot_report *r)
{
	int i, g;

	for (i = 0; i < r->nthreads; i++) {
		for (g = 0; g < r->threads[i].ngroups; g++)
			free(r->threads[i].groups[g].frames);
		free(r->threads[i].groups);
	}
	free(r->threads);
	memset(r, 0, sizeof(*r));
}
