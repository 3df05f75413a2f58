/* sb_mem.c: sample a process's memory, fit its trend, find its limit. */
#include "sb_mem.h"
#include "sb_maps.h"
#include "sb_util.h"

#include <errno.h>
#include <libproc2/pids.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static enum pids_item mem_items[] = { PIDS_VM_RSS, PIDS_VM_RSS_ANON,
				      PIDS_VM_DATA, PIDS_VM_SIZE };
enum { MEM_RSS, MEM_ANON, MEM_DATA, MEM_SIZE };

int sb_mem_sample(pid_t pid, struct sb_mem_sample *out)
{
	static struct pids_info *info;
	struct pids_fetch *f;
	unsigned upid = (unsigned)pid;
	char path[64], *text, *p;
	ssize_t r;
	int err;

	memset(out, 0, sizeof(*out));
	if (!info) {
		err = procps_pids_new(&info, mem_items,
				      SB_ARRAY_SIZE(mem_items));
		if (err < 0)
			return err;
	}
	f = procps_pids_select(info, &upid, 1, PIDS_SELECT_PID);
	if (!f || f->counts->total < 1)
		return -ESRCH;
	/* libproc2 gives these in KiB. */
	out->rss = (uint64_t)PIDS_VAL(MEM_RSS, ul_int, f->stacks[0], info)
		   << 10;
	out->anon = (uint64_t)PIDS_VAL(MEM_ANON, ul_int, f->stacks[0], info)
		    << 10;
	out->data = (uint64_t)PIDS_VAL(MEM_DATA, ul_int, f->stacks[0], info)
		    << 10;
	out->vsize = (uint64_t)PIDS_VAL(MEM_SIZE, ul_int, f->stacks[0], info)
		     << 10;
	/* libproc2 has no figure for the brk heap: its mapping's extent.
	 * Only the [heap] line is parsed: a process with thousands of
	 * mappings (thread stacks) must not cost a full parse a sample. */
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	r = sb_read_file_alloc(path, 64u << 20, &text);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : (int)r;
	for (p = text; (p = strstr(p, "[heap]")) != NULL; p++) {
		const char *line = p;
		unsigned long long a, b;

		while (line > text && line[-1] != '\n')
			line--;
		if (sscanf(line, "%llx-%llx", &a, &b) == 2 && b > a)
			out->heap += b - a;
	}
	free(text);
	return 0;
}

int sb_mem_regions(pid_t pid, struct sb_mem_regions *out)
{
	char path[64], *text, *line, *next;
	char kind = 0; /* of the mapping whose fields we are in */
	uint64_t start = 0, size = 0;
	ssize_t r;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	r = sb_read_file_alloc(path, 256u << 20, &text);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : (int)r;
	for (line = text; line && *line; line = next) {
		unsigned long long a, b, kb;
		char name[4096] = "";

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %4095s", &a, &b,
			   name) >= 2) {
			start = a;
			size = b - a;
			kind = strcmp(name, "[heap]") == 0  ? 'h' :
			       strcmp(name, "[stack]") == 0 ? 's' :
			       name[0] == '/'		    ? 'f' :
			       name[0] == '['		    ? 0 :
							      'a';
			continue;
		}
		if (sscanf(line, "Rss: %llu kB", &kb) != 1)
			continue;
		switch (kind) {
		case 'h':
			out->heap += kb << 10;
			break;
		case 's':
			out->stack += kb << 10;
			break;
		case 'f':
			out->file += kb << 10;
			break;
		case 'a': {
			size_t cap = (size_t)out->nanon;

			out->anon += kb << 10;
			if (!(out->nanon & 255)) {
				cap = (size_t)out->nanon + 256;
				out->anon_sizes =
					realloc(out->anon_sizes, cap * 8);
				out->anon_starts =
					realloc(out->anon_starts, cap * 8);
				if (!out->anon_sizes || !out->anon_starts) {
					free(text);
					return -ENOMEM;
				}
			}
			out->anon_sizes[out->nanon] = size;
			out->anon_starts[out->nanon++] = start;
			break;
		}
		}
	}
	free(text);
	return 0;
}

void sb_mem_regions_free(struct sb_mem_regions *r)
{
	free(r->anon_sizes);
	free(r->anon_starts);
	memset(r, 0, sizeof(*r));
}

uint64_t sb_mem_new_mapping_size(const struct sb_mem_regions *before,
				 const struct sb_mem_regions *after, int *count)
{
	uint64_t best = 0;
	int i, j, k, n, best_n = 0;

	for (i = 0; i < after->nanon; i++) {
		for (j = 0; j < before->nanon; j++)
			if (before->anon_starts[j] == after->anon_starts[i])
				break;
		if (j < before->nanon)
			continue; /* was there already */
		for (n = 0, k = 0; k < after->nanon; k++)
			n += after->anon_sizes[k] == after->anon_sizes[i];
		if (n > best_n) {
			best_n = n;
			best = after->anon_sizes[i];
		}
	}
	*count = best_n;
	return best;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

void sb_mem_trend(const double *t, const double *v, int n,
		  struct sb_mem_trend *out)
{
	double mt = 0, mv = 0, sxy = 0, sxx = 0, syy = 0, peak, lo, hi;
	double *slopes;
	int i, j, step, m = 0, k;

	memset(out, 0, sizeof(*out));
	if (n < 2)
		return;
	/* Theil-Sen over at most ~300 points: O(n^2) pairs stays cheap. */
	step = n > 300 ? n / 300 : 1;
	k = (n + step - 1) / step;
	slopes = malloc((size_t)k * (size_t)k / 2 * sizeof(*slopes) + 8);
	for (i = 0; slopes && i < n; i += step)
		for (j = i + step; j < n; j += step)
			if (t[j] > t[i])
				slopes[m++] = (v[j] - v[i]) / (t[j] - t[i]);
	if (m) {
		qsort(slopes, (size_t)m, sizeof(*slopes), cmp_double);
		out->slope = slopes[m / 2];
		out->slope_lo = slopes[m / 4];
		out->slope_hi = slopes[(3 * m) / 4];
	}
	free(slopes);
	for (i = 0; i < n; i++) {
		mt += t[i];
		mv += v[i];
	}
	mt /= n;
	mv /= n;
	for (i = 0; i < n; i++) {
		sxy += (t[i] - mt) * (v[i] - mv);
		sxx += (t[i] - mt) * (t[i] - mt);
		syy += (v[i] - mv) * (v[i] - mv);
	}
	out->r2 = sxx > 0 && syy > 0 ? sxy * sxy / (sxx * syy) : 0;
	peak = lo = hi = v[0];
	for (i = 0; i < n; i++) {
		if (v[i] > peak)
			peak = v[i];
		if (peak - v[i] > out->max_drop)
			out->max_drop = peak - v[i];
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	out->range = hi - lo;
}

const char *sb_mem_verdict_str(enum sb_mem_verdict v)
{
	return v == SB_MEM_LEAKING  ? "leaking" :
	       v == SB_MEM_SAWTOOTH ? "sawtooth" :
				      "stable";
}

enum sb_mem_verdict sb_mem_judge(const struct sb_mem_trend *t, double secs,
				 double start)
{
	double grown = t->slope * secs;
	/* Noise floor: page-granular counters and allocator slack. */
	double floor =
		256.0 * 1024 > start * 0.01 ? 256.0 * 1024 : start * 0.01;

	/* Gave back a good part of what it took: not a leak.  A busy
	 * allocator's arenas breathe by a few percent; that is no tooth. */
	double tooth =
		1024.0 * 1024 > start * 0.05 ? 1024.0 * 1024 : start * 0.05;

	if (t->range > tooth && t->max_drop > 0.3 * t->range)
		return SB_MEM_SAWTOOTH;
	if (grown > floor && t->r2 > 0.8 && t->slope_lo > 0 &&
	    t->max_drop < 0.1 * t->range + floor / 4)
		return SB_MEM_LEAKING;
	return SB_MEM_STABLE;
}

/* A value from /proc/PID/limits' row: "Max address space  unlimited ..." */
static uint64_t limits_row(const char *text, const char *row)
{
	const char *p = strstr(text, row);
	unsigned long long v;

	if (!p)
		return 0;
	p += strlen(row);
	while (*p == ' ')
		p++;
	if (strncmp(p, "unlimited", 9) == 0 || sscanf(p, "%llu", &v) != 1)
		return 0;
	return v;
}

static uint64_t file_number(const char *path)
{
	char buf[64];
	unsigned long long v;

	if (sb_read_file(path, buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%llu", &v) != 1)
		return 0; /* "max", or missing */
	return v;
}

static void consider(struct sb_mem_limit *out, uint64_t limit, uint64_t used,
		     const char *source)
{
	size_t len;

	if (!limit || used > limit)
		return;
	if (out->limit && limit - used >= out->limit - out->used)
		return;
	out->limit = limit;
	out->used = used;
	len = strlen(source);
	if (len >= sizeof(out->source))
		len = sizeof(out->source) - 1; /* a very deep cgroup path */
	memcpy(out->source, source, len);
	out->source[len] = '\0';
}

int sb_mem_limit(pid_t pid, struct sb_mem_limit *out)
{
	char path[4200], text[8192], cg[4096] = "", src[4400];
	struct sb_mem_sample s;
	unsigned long long avail = 0, swap = 0;
	char *p;
	int err;

	memset(out, 0, sizeof(*out));
	err = sb_mem_sample(pid, &s);
	if (err)
		return err;
	/* cgroup v2: "0::/app.slice/x"; every level up to the root limits. */
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	if (sb_read_file(path, text, sizeof(text)) > 0 &&
	    (p = strstr(text, "0::")) != NULL) {
		snprintf(cg, sizeof(cg), "%s", p + 3);
		cg[strcspn(cg, "\n")] = '\0';
	}
	while (cg[0] == '/') {
		uint64_t max, cur;

		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max", cg);
		max = file_number(path);
		snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.current",
			 cg);
		cur = file_number(path);
		snprintf(src, sizeof(src), "memory.max of cgroup %s", cg);
		consider(out, max, cur, src);
		p = strrchr(cg, '/');
		if (!p || p == cg)
			break;
		*p = '\0';
	}
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if (sb_read_file(path, text, sizeof(text)) > 0) {
		consider(out, limits_row(text, "Max address space"), s.vsize,
			 "RLIMIT_AS (ulimit -v)");
		consider(out, limits_row(text, "Max data size"), s.data,
			 "RLIMIT_DATA (ulimit -d)");
	}
	if (sb_read_file("/proc/meminfo", text, sizeof(text)) > 0) {
		p = strstr(text, "MemAvailable:");
		if (p)
			sscanf(p, "MemAvailable: %llu kB", &avail);
		p = strstr(text, "SwapFree:");
		if (p)
			sscanf(p, "SwapFree: %llu kB", &swap);
		/* What is left on the machine, as a limit on this process. */
		consider(out, ((avail + swap) << 10) + s.rss, s.rss,
			 "the machine's available memory and swap");
	}
	return 0;
}
