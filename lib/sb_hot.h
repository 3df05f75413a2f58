/* sb_hot.h: which threads burn CPU, and a sampled profile of what they do. */
#ifndef SB_HOT_H
#define SB_HOT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sb_proc.h"
#include "sb_stack.h"
#include "sb_syms.h"

struct sb_hot_opts {
	double interval_s; /* measuring window */
	int max_hot; /* how many hot threads to profile (-k) */
	double hot_pct; /* a thread is hot above this CPU % */
	int samples; /* stacks per hot thread per window (-s) */
	int max_depth; /* frames per stack */
	const char
		*arrow; /* between caller and callee: "<-" or a UTF-8 arrow */
	/* Called between samples; returning true ends the window early
	 * (Ctrl-C, or q in the live view).  ms is how long to wait. */
	bool (*wait)(void *ctx, int ms);
	void *wait_ctx;
};

#define SB_HOT_OPTS_DEFAULT                                      \
	{                                                        \
		.interval_s = 1.0, .max_hot = 3, .hot_pct = 5.0, \
		.samples = 20, .max_depth = 128, .arrow = "<-"   \
	}

/* Identical stacks (same functions, frame by frame), with a count. */
struct sb_hot_group {
	int count;
	int nframes;
	struct sb_sym_frame *frames; /* innermost first */
	enum sb_stack_end end;
};

struct sb_hot_thread {
	pid_t tid;
	char name[16];
	char state;
	int processor;
	bool born; /* appeared during the window */
	double cpu_pct, user_pct, sys_pct;
	double vcsw_per_s, ivcsw_per_s;
	double runwait_pct; /* of the window spent waiting for a CPU */
	bool hot;
	/* The profile, for hot threads that were sampled. */
	int nsamples;
	int ngroups;
	struct sb_hot_group *groups; /* most frequent first */
	double stopped_ms; /* total, over its samples */
	double max_stop_ms; /* longest single stop */
};

struct sb_hot_report {
	pid_t pid;
	char comm[64];
	long ncpu;
	double interval_s; /* measured, not asked for */
	double proc_cpu_pct; /* all threads together */
	int nthreads, nhot, nrunnable, ncontending;
	struct sb_hot_thread *threads; /* by CPU, descending */
	double target_stopped_ms; /* wall time any thread was stopped */
	double max_stop_ms;
	int stops;
	bool storm; /* more runnable threads than CPUs can serve */
	double storm_ivcsw_per_s, storm_runwait_pct;
	char verdict[768];
	/* Trouble met on the way: the report is then incomplete. */
	/* -EPERM: ptrace refused; -EACCES: its memory is not ours to read */
	int err_ptrace;
	bool exited; /* the process exited during the window */
	bool interrupted; /* the window was cut short */
	bool sampling_off; /* -s 0 or -k 0: no stacks asked for */
};

struct sb_hot;

/*
 * A session on one process: maps, symbolizer and unwinder kept across
 * windows (their caches make later windows cheap).  Returns 0 or -errno
 * (-ESRCH: no such process).
 */
int sb_hot_open(pid_t pid, struct sb_hot **out);

/*
 * Measure one window and fill report (free with sb_hot_report_free).
 * Threads are stopped only while being sampled, each as briefly as an
 * unwind takes, and only those found hot.  Returns 0 (report may still
 * carry err_ptrace or exited), -ESRCH when the process is gone before
 * anything was measured, or -errno.
 */
int sb_hot_measure(struct sb_hot *h, const struct sb_hot_opts *opts,
		   struct sb_hot_report *report);

void sb_hot_report_free(struct sb_hot_report *report);

void sb_hot_close(struct sb_hot *h);

/* The innermost frame with a known source line in a group, or NULL. */
const struct sb_sym_frame *
sb_hot_group_line_frame(const struct sb_hot_group *g);

/*
 * The innermost frame with a source line in the program's own code (not
 * in a system library or the vDSO); else as sb_hot_group_line_frame.
 */
const struct sb_sym_frame *
sb_hot_group_user_frame(const struct sb_hot_group *g);

#endif
