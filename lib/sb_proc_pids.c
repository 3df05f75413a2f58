/*
 * sb_proc_pids.c: the machine-wide process search, over libproc2's pids
 * interface.  Apart from sb_proc.c so that a tool that never searches
 * (lockgraph) does not link libproc2, whose libsystemd and libgcrypt cost
 * a millisecond at every start.
 */
#include "sb_proc.h"
#include "sb_util.h"

#include <errno.h>
#include <libproc2/pids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* libproc2 items for the machine-wide search; mirrors enum below. */
static enum pids_item top_items[] = { PIDS_ID_PID, PIDS_CMD,
				      PIDS_TICS_ALL_DELTA, PIDS_NLWP,
				      PIDS_FLAGS };
enum { TOP_PID, TOP_CMD, TOP_DELTA, TOP_NLWP, TOP_FLAGS };

/* A kernel thread has no user stack to show (PF_KTHREAD). */
#define SB_PF_KTHREAD 0x00200000ul

static int cmp_usage(const void *a, const void *b)
{
	const struct sb_proc_usage *x = a, *y = b;

	return (x->cpu_pct < y->cpu_pct) - (x->cpu_pct > y->cpu_pct);
}

int sb_proc_top(double seconds, struct sb_proc_usage **out)
{
	struct pids_info *info = NULL;
	struct pids_fetch *f;
	struct sb_proc_usage *v = NULL;
	struct timespec ts;
	uint64_t t0, t1;
	pid_t self = getpid();
	double hz = (double)sb_proc_clk_tck(), secs;
	int rc, i, n = 0;

	*out = NULL;
	rc = procps_pids_new(&info, top_items, SB_ARRAY_SIZE(top_items));
	if (rc < 0)
		return rc;
	/* The first reap makes TICS_ALL_DELTA the total; only the second
	 * one's delta covers the window. */
	t0 = sb_now_ns();
	if (!procps_pids_reap(info, PIDS_FETCH_TASKS_ONLY)) {
		rc = -errno ? -errno : -EIO;
		goto unref;
	}
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	f = procps_pids_reap(info, PIDS_FETCH_TASKS_ONLY);
	t1 = sb_now_ns();
	if (!f) {
		rc = -errno ? -errno : -EIO;
		goto unref;
	}
	secs = (double)(t1 - t0) / 1e9;
	v = calloc((size_t)f->counts->total + 1, sizeof(*v));
	if (!v) {
		rc = -ENOMEM;
		goto unref;
	}
	for (i = 0; i < f->counts->total; i++) {
		struct pids_stack *s = f->stacks[i];
		pid_t p = PIDS_VAL(TOP_PID, s_int, s, info);
		const char *cmd = PIDS_VAL(TOP_CMD, str, s, info);

		if (p == self ||
		    (PIDS_VAL(TOP_FLAGS, ul_int, s, info) & SB_PF_KTHREAD))
			continue;
		v[n].pid = p;
		snprintf(v[n].name, sizeof(v[n].name), "%s", cmd ? cmd : "?");
		v[n].cpu_pct = 100.0 *
			       (double)PIDS_VAL(TOP_DELTA, u_int, s, info) /
			       hz / secs;
		v[n].nthreads = PIDS_VAL(TOP_NLWP, s_int, s, info);
		n++;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_usage);
	*out = v;
	rc = n;
unref:
	procps_pids_unref(&info);
	return rc;
}

static enum pids_item name_items[] = { PIDS_ID_PID, PIDS_CMD, PIDS_CMDLINE_V };
enum { NAME_PID, NAME_CMD, NAME_ARGV };

int sb_proc_find_by_name(const char *name, pid_t *pids, int max)
{
	struct pids_info *info = NULL;
	struct pids_fetch *f;
	pid_t self = getpid();
	int rc, i, n = 0;

	rc = procps_pids_new(&info, name_items, SB_ARRAY_SIZE(name_items));
	if (rc < 0)
		return rc;
	f = procps_pids_reap(info, PIDS_FETCH_TASKS_ONLY);
	if (!f) {
		procps_pids_unref(&info);
		return -EIO;
	}
	for (i = 0; i < f->counts->total; i++) {
		struct pids_stack *s = f->stacks[i];
		pid_t p = PIDS_VAL(NAME_PID, s_int, s, info);
		const char *cmd = PIDS_VAL(NAME_CMD, str, s, info);
		char **argv = PIDS_VAL(NAME_ARGV, strv, s, info);
		const char *arg0 = argv && argv[0] ? argv[0] : "";
		const char *base = strrchr(arg0, '/');
		bool match;

		base = base ? base + 1 : arg0;
		match = (cmd && strcmp(cmd, name) == 0) ||
			strcmp(base, name) == 0;
		if (!match || p == self)
			continue;
		if (n < max)
			pids[n] = p;
		n++;
	}
	procps_pids_unref(&info);
	return n;
}
