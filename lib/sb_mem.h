/* sb_mem.h: a process's memory over time: growth, its trend, where, limits. */
#ifndef SB_MEM_H
#define SB_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* One look at the process's memory (bytes). */
struct sb_mem_sample {
	double t_s; /* seconds since the first sample */
	uint64_t rss, anon, data, vsize;
	uint64_t heap; /* size of the [heap] (brk) mapping */
};

/* Read one sample (libproc2 for the process figures, maps for the heap).
 * 0, -ESRCH when the process is gone, or -errno. */
int sb_mem_sample(pid_t pid, struct sb_mem_sample *out);

/* Resident memory per kind of mapping, from /proc/PID/smaps. */
struct sb_mem_regions {
	uint64_t heap; /* [heap]: the brk heap */
	uint64_t anon; /* anonymous mappings: large mallocs, arenas */
	uint64_t stack; /* [stack] */
	uint64_t file; /* file mappings */
	/* sizes of the anonymous mappings, to tell new ones apart */
	uint64_t *anon_sizes;
	uint64_t *anon_starts;
	int nanon;
};

int sb_mem_regions(pid_t pid, struct sb_mem_regions *out);
void sb_mem_regions_free(struct sb_mem_regions *r);

/*
 * The most common size of the anonymous mappings in `after` that were not
 * in `before` (the blocks a program maps for its large allocations), and
 * how many; 0 when there are none.
 */
uint64_t sb_mem_new_mapping_size(const struct sb_mem_regions *before,
				 const struct sb_mem_regions *after,
				 int *count);

/* The trend of a series: Theil-Sen slope, robust to spikes. */
struct sb_mem_trend {
	double slope; /* bytes per second */
	double slope_lo, slope_hi; /* quartiles of the pairwise slopes */
	double r2; /* least-squares fit quality, 0..1 */
	double max_drop; /* largest fall from a running peak, bytes */
	double range; /* max - min, bytes */
};

void sb_mem_trend(const double *t, const double *v, int n,
		  struct sb_mem_trend *out);

enum sb_mem_verdict {
	SB_MEM_STABLE,
	SB_MEM_LEAKING,
	SB_MEM_SAWTOOTH,
};

const char *sb_mem_verdict_str(enum sb_mem_verdict v);

/*
 * Judge a trend: leaking is sustained growth (a slope that holds across
 * the window and a good fit, memory never given back); a sawtooth grows
 * and gives back; otherwise stable.  start is the first value, for scale.
 */
enum sb_mem_verdict sb_mem_judge(const struct sb_mem_trend *t, double secs,
				 double start);

/* The tightest memory limit on the process, and what is left under it. */
struct sb_mem_limit {
	uint64_t limit; /* bytes; 0: none found */
	uint64_t used; /* what counts against it now */
	char source[256]; /* "memory.max of cgroup /app.slice/x", ... */
};

int sb_mem_limit(pid_t pid, struct sb_mem_limit *out);

#endif
