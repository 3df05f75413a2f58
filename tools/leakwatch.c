/* leakwatch: is it leaking, how fast, in which memory, and when will it die. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sb_attach.h"
#include "sb_heap.h"
#include "sb_maps.h"
#include "sb_mem.h"
#include "sb_proc.h"
#include "sb_syms.h"
#include "sb_util.h"

#include "options.h"

#define EXIT_FOUND 1
#define EXIT_TROUBLE 2
#define CHART_ROWS 8
#define CHART_COLS 60
#define TEXT_SIZES 5 /* block sizes in the text report */
#define JSON_SIZES 20

struct opts {
	bool json;
	bool census; /* stop the process twice to count its heap blocks */
	double interval_s;
	double duration_s;
	long count; /* 0: until -t, or Ctrl-C */
	pid_t pid;
	char **argv; /* run: the program */
};

static volatile int interrupted;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: leakwatch [-jC] [-d seconds] [-n count] [-t seconds] "
		"-p pid\n"
		"       leakwatch [-jC] [-d seconds] [-t seconds] run -- program "
		"[args...]\n"
		"\n"
		"Is a process leaking memory, how fast, where, and when will it "
		"hit its limit.\n"
		"\n"
		"  -p, --pid pid          the process to watch\n"
		"  -d, --delay seconds    between samples (default 1)\n"
		"  -t, --time seconds     how long to watch (default 30)\n"
		"  -n, --count count      how many samples (instead of -t)\n"
		"  -j, --json             a JSON object per sample, then a "
		"summary\n"
		"  -C, --no-census        no heap census: never stop the "
		"process\n"
		"  -h, --help             this help\n"
		"  -V, --version          the version\n");
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-census", no_argument, NULL, 'C' },
		{ "delay", required_argument, NULL, 'd' },
		{ "time", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+jCd:t:n:p:hV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'C':
			o->census = false;
			break;
		case 'd':
			o->interval_s =
				option_number(optarg, 0.05, 3600, "delay");
			break;
		case 't':
			o->duration_s = option_number(optarg, 0.1, 1e7, "time");
			break;
		case 'n':
			o->count = option_whole(optarg, 2, 10000000, "count");
			break;
		case 'p':
			o->pid = (pid_t)option_whole(optarg, 1, 1 << 22, "pid");
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("leakwatch (sickbay) %s\n", SB_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc && strcmp(argv[optind], "run") == 0) {
		optind++;
		if (optind < argc && strcmp(argv[optind], "--") == 0)
			optind++;
		if (optind == argc || o->pid) {
			warnx(o->pid ? "run and -p: give one" :
				       "run: no program given");
			usage(stderr);
			exit(EXIT_USAGE);
		}
		o->argv = argv + optind;
		return;
	}
	if (optind < argc || !o->pid) {
		warnx(o->pid ? "unexpected argument '%s'" :
			       "no process given: "
			       "-p pid or run -- program",
		      argv[optind]);
		usage(stderr);
		exit(EXIT_USAGE);
	}
}

/* "12.3 MiB", with a sign when asked. */
static const char *bytes(double v, bool sign, char *buf, size_t size)
{
	const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double a = fabs(v);
	int u = 0;

	while (a >= 1024 && u < 4) {
		a /= 1024;
		u++;
	}
	snprintf(buf, size, "%s%.*f %s", sign ? (v < 0 ? "-" : "+") : "",
		 u ? 1 : 0, a, unit[u]);
	return buf;
}

static void duration(double s, char *buf, size_t size)
{
	if (s < 90)
		snprintf(buf, size, "%.0f s", s);
	else if (s < 5400)
		snprintf(buf, size, "%.0f min %.0f s", floor(s / 60),
			 fmod(s, 60));
	else if (s < 2 * 86400)
		snprintf(buf, size, "%.1f hours", s / 3600);
	else
		snprintf(buf, size, "%.1f days", s / 86400);
}

/* A small chart of the series, for a terminal or a log. */
static void chart(FILE *f, const double *v, int n)
{
	double lo = v[0], hi = v[0];
	int row, col, cols = n < CHART_COLS ? n : CHART_COLS;
	char buf[32];

	for (col = 0; col < n; col++) {
		lo = v[col] < lo ? v[col] : lo;
		hi = v[col] > hi ? v[col] : hi;
	}
	if (hi - lo < 1)
		hi = lo + 1;
	for (row = CHART_ROWS - 1; row >= 0; row--) {
		double level = lo + (hi - lo) * (row + 0.5) / CHART_ROWS;

		fprintf(f, "%11s |",
			row == CHART_ROWS - 1 ?
				bytes(hi, false, buf, sizeof(buf)) :
			row == 0 ? bytes(lo, false, buf, sizeof(buf)) :
				   "");
		for (col = 0; col < cols; col++) {
			double x = v[(long)col * (n - 1) /
				     (cols > 1 ? cols - 1 : 1)];

			fputc(x >= level ? '#' : ' ', f);
		}
		fputc('\n', f);
	}
	fprintf(f, "%11s +%.*s\n", "", cols,
		"------------------------------------------------------------");
}

/* A JSON number with so many decimals, not json-c's 17 digits. */
static json_object *jnum(double v, int decimals)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_object_new_double_s(v, buf);
}

/* Start the program; return once it has exec'd (or failed to). */
static pid_t start_program(char **argv, bool json)
{
	int fd[2], e = 0;
	pid_t pid;

	if (pipe2(fd, O_CLOEXEC))
		err(EXIT_TROUBLE, "cannot make a pipe");
	pid = fork();
	if (pid < 0)
		err(EXIT_TROUBLE, "cannot fork");
	if (pid == 0) {
		close(fd[0]);
		/* standard output is for our JSON alone */
		if (json && dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		e = errno;
		if (write(fd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(fd[1]);
	/* The close-on-exec pipe closes at the exec: the first sample is
	 * then the program's, not a copy of ours. */
	if (read(fd[0], &e, sizeof(e)) == sizeof(e)) {
		waitpid(pid, NULL, 0);
		errx(127, "cannot run '%s': %s", argv[0], strerror(e));
	}
	close(fd[0]);
	/* Let the dynamic loader map the libraries first: its jump is not
	 * the program's growth, and would spoil the fit of a short watch. */
	{
		struct timespec ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
	}
	return pid;
}

static bool wait_interval(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };

	/* A signal ends the wait at once (no SA_RESTART); one that came
	 * while a sample was read must not wait a whole interval. */
	if (interrupted)
		return true;
	nanosleep(&ts, NULL);
	return interrupted != 0;
}

/* What one watch saw, for the report. */
struct watch {
	pid_t pid;
	bool ran, gone;
	char comm[64];
	double *t, *v; /* seconds, RSS */
	long n;
	struct sb_mem_regions before, after;
	struct sb_mem_trend trend;
	enum sb_mem_verdict verdict;
	double secs, rate, ttl; /* ttl < 0: not growing, or no limit */
	struct sb_mem_limit limit;
	uint64_t newsize; /* most common size of new anonymous mappings */
	int newcount;
	/* the heap census, at the first and the last sample */
	bool census_wanted, located;
	struct sb_heap_where where;
	struct sb_heap_census census[2];
	bool counted[2];
	char census_why[320];
	struct sb_heap_growth *growth;
	int ngrowth;
};

/* "12 000": digits in groups of three, as the man page prints them. */
static const char *grouped(int64_t v, bool sign, char *buf, size_t size)
{
	char digits[32];
	uint64_t a = v < 0 ? (uint64_t)-v : (uint64_t)v;
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, a), i, o = 0;

	if (sign || v < 0)
		buf[o++] = v < 0 ? '-' : '+';
	for (i = 0; i < n && (size_t)o + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ' ';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

/*
 * Find glibc's allocator before the first census: the symbol work is the
 * slow part and needs no stop.
 */
static void census_prepare(struct watch *w)
{
	struct sb_memsrc mem = sb_memsrc_live(w->pid);
	struct sb_maps maps = { 0 };
	struct sb_syms *syms = sb_syms_new(w->pid, NULL);
	int err = sb_maps_read(w->pid, &maps);

	if (err || !syms)
		snprintf(w->census_why, sizeof(w->census_why),
			 "cannot read the mappings of process %d: %s",
			 (int)w->pid, strerror(err ? -err : ENOMEM));
	else
		w->located = sb_heap_locate(w->pid, syms, &maps, &mem,
					    &w->where, w->census_why,
					    sizeof(w->census_why)) == 0;
	if (syms)
		sb_syms_free(syms);
	sb_maps_free(&maps);
}

static void census_take(struct watch *w, int which)
{
	int err;

	if (!w->located)
		return;
	err = sb_heap_census(w->pid, &w->where, &w->census[which]);
	if (!err) {
		w->counted[which] = true;
		return;
	}
	if (err == -EPERM)
		snprintf(w->census_why, sizeof(w->census_why),
			 "permission denied: %s", sb_attach_explain(w->pid));
	else if (err != -ESRCH || which == 0)
		snprintf(w->census_why, sizeof(w->census_why),
			 "cannot stop process %d for the census: %s",
			 (int)w->pid, strerror(-err));
}

static void print_sample_json(const struct watch *w,
			      const struct sb_mem_sample *s)
{
	json_object *j = json_object_new_object();

	json_object_object_add(j, "tool", json_object_new_string("leakwatch"));
	json_object_object_add(j, "version",
			       json_object_new_string(SB_VERSION));
	json_object_object_add(j, "pid", json_object_new_int(w->pid));
	json_object_object_add(j, "t_s", jnum(s->t_s, 3));
	json_object_object_add(j, "rss_bytes",
			       json_object_new_int64((int64_t)s->rss));
	json_object_object_add(j, "anon_bytes",
			       json_object_new_int64((int64_t)s->anon));
	json_object_object_add(j, "heap_bytes",
			       json_object_new_int64((int64_t)s->heap));
	json_object_object_add(j, "data_bytes",
			       json_object_new_int64((int64_t)s->data));
	printf("%s\n",
	       json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
}

static void print_sample_text(const struct watch *w)
{
	long n = w->n;
	char b1[32], b2[32], b3[32] = "";

	if (n && w->t[n] > w->t[n - 1]) {
		bytes((w->v[n] - w->v[n - 1]) / (w->t[n] - w->t[n - 1]), true,
		      b3, sizeof(b3) - 4);
		strcat(b3, "/s");
	}
	printf("%8.1fs %12s %13s %14s\n", w->t[n],
	       bytes(w->v[n], false, b1, sizeof(b1)),
	       n ? bytes(w->v[n] - w->v[n - 1], true, b2, sizeof(b2)) : "", b3);
}

/* Sample until -t, -n, Ctrl-C or the end of the process. */
static void watch_loop(const struct opts *o, struct watch *w,
		       struct sb_mem_sample *s, long max)
{
	uint64_t t0 = sb_now_ns();
	int status;

	for (;;) {
		s->t_s = (double)(sb_now_ns() - t0) / 1e9;
		w->t[w->n] = s->t_s;
		w->v[w->n] = (double)s->rss;
		if (o->json)
			print_sample_json(w, s);
		else
			print_sample_text(w);
		fflush(stdout);
		w->n++;
		if (w->n >= max || wait_interval(o->interval_s))
			break;
		/* leakwatch run: reap the program if it ended. */
		if (w->ran && waitpid(w->pid, &status, WNOHANG) == w->pid) {
			w->gone = true;
			return;
		}
		if (sb_mem_sample(w->pid, s)) {
			w->gone = true;
			return;
		}
	}
	/* The program of leakwatch run may have just ended (the same Ctrl-C
	 * reached it): reap it, so that it is not taken for alive. */
	if (w->ran) {
		struct timespec ts = { 0, 100000000 };

		nanosleep(&ts, NULL);
		if (waitpid(w->pid, &status, WNOHANG) == w->pid)
			w->gone = true;
	}
}

/* The verdict, where the memory went, the limit and the time to it. */
static void judge(struct watch *w)
{
	w->secs = w->t[w->n - 1] - w->t[0];
	sb_mem_trend(w->t, w->v, (int)w->n, &w->trend);
	w->verdict = w->n >= 3 ? sb_mem_judge(&w->trend, w->secs, w->v[0]) :
				 SB_MEM_STABLE;
	w->rate = w->verdict == SB_MEM_LEAKING ? w->trend.slope : 0;
	w->ttl = -1;
	sb_mem_limit(w->pid, &w->limit);
	if (w->rate > 0 && w->limit.limit > w->limit.used)
		w->ttl = (double)(w->limit.limit - w->limit.used) / w->rate;
	w->newsize =
		sb_mem_new_mapping_size(&w->before, &w->after, &w->newcount);
	if (w->counted[0] && w->counted[1]) {
		w->ngrowth =
			sb_heap_diff(&w->census[0], &w->census[1], &w->growth);
		if (w->ngrowth < 0)
			w->ngrowth = 0;
	}
}

static json_object *census_json(const struct sb_heap_census *c)
{
	json_object *j = json_object_new_object();

	json_object_object_add(j, "blocks",
			       json_object_new_int64((int64_t)c->blocks));
	json_object_object_add(j, "bytes",
			       json_object_new_int64((int64_t)c->bytes));
	json_object_object_add(
		j, "mmapped_blocks",
		json_object_new_int64((int64_t)c->mmapped_blocks));
	json_object_object_add(
		j, "cached_blocks",
		json_object_new_int64((int64_t)c->cached_blocks));
	json_object_object_add(j, "free_bytes",
			       json_object_new_int64((int64_t)c->free_bytes));
	json_object_object_add(j, "arenas", json_object_new_int(c->arenas));
	json_object_object_add(j, "stopped_ms",
			       jnum((double)c->stopped_ns / 1e6, 3));
	json_object_object_add(j, "threads", json_object_new_int(c->threads));
	json_object_object_add(j, "threads_not_stopped",
			       json_object_new_int(c->threads_not_stopped));
	json_object_object_add(j, "walked_running",
			       json_object_new_boolean(c->walked_running));
	json_object_object_add(j, "partial",
			       json_object_new_boolean(c->partial));
	json_object_object_add(j, "problem",
			       c->partial ? json_object_new_string(c->problem) :
					    NULL);
	return j;
}

static json_object *growth_json(const struct watch *w)
{
	json_object *a = json_object_new_array();
	int i;

	for (i = 0; i < w->ngrowth && i < JSON_SIZES; i++) {
		const struct sb_heap_growth *g = &w->growth[i];
		json_object *e;
		uint64_t lo, hi;

		if (g->bytes <= 0)
			break;
		sb_heap_request_range(g->size, g->mmapped, &lo, &hi);
		e = json_object_new_object();
		json_object_object_add(e, "block_bytes",
				       json_object_new_int64((int64_t)g->size));
		json_object_object_add(e, "mmapped",
				       json_object_new_boolean(g->mmapped));
		json_object_object_add(e, "blocks",
				       json_object_new_int64(g->blocks));
		json_object_object_add(e, "bytes",
				       json_object_new_int64(g->bytes));
		json_object_object_add(e, "request_min",
				       json_object_new_int64((int64_t)lo));
		json_object_object_add(e, "request_max",
				       json_object_new_int64((int64_t)hi));
		json_object_array_add(a, e);
	}
	return a;
}

static void report_json(const struct watch *w)
{
	json_object *j = json_object_new_object(), *fit, *reg, *cen, *nm;
	const struct sb_mem_trend *t = &w->trend;

	json_object_object_add(j, "tool", json_object_new_string("leakwatch"));
	json_object_object_add(j, "version",
			       json_object_new_string(SB_VERSION));
	json_object_object_add(j, "pid", json_object_new_int(w->pid));
	json_object_object_add(j, "summary", json_object_new_boolean(1));
	json_object_object_add(
		j, "verdict",
		json_object_new_string(sb_mem_verdict_str(w->verdict)));
	json_object_object_add(j, "samples", json_object_new_int((int)w->n));
	json_object_object_add(j, "duration_s", jnum(w->secs, 3));
	json_object_object_add(
		j, "growth_bytes_per_s",
		json_object_new_int64((int64_t)llround(t->slope)));
	fit = json_object_new_object();
	json_object_object_add(fit, "method",
			       json_object_new_string("theil-sen"));
	json_object_object_add(fit, "r2", jnum(t->r2, 3));
	json_object_object_add(
		fit, "slope_q1",
		json_object_new_int64((int64_t)llround(t->slope_lo)));
	json_object_object_add(
		fit, "slope_q3",
		json_object_new_int64((int64_t)llround(t->slope_hi)));
	json_object_object_add(
		fit, "max_drop_bytes",
		json_object_new_int64((int64_t)llround(t->max_drop)));
	json_object_object_add(j, "fit", fit);
	reg = json_object_new_object();
	if (!w->gone && w->before.nanon + w->before.heap) {
		json_object_object_add(
			reg, "heap",
			json_object_new_int64((int64_t)w->after.heap -
					      (int64_t)w->before.heap));
		json_object_object_add(
			reg, "anon",
			json_object_new_int64((int64_t)w->after.anon -
					      (int64_t)w->before.anon));
		json_object_object_add(
			reg, "stack",
			json_object_new_int64((int64_t)w->after.stack -
					      (int64_t)w->before.stack));
		json_object_object_add(
			reg, "file",
			json_object_new_int64((int64_t)w->after.file -
					      (int64_t)w->before.file));
	}
	json_object_object_add(j, "growth_by_region", reg);
	json_object_object_add(j, "growth_by_size",
			       w->counted[0] && w->counted[1] ? growth_json(w) :
								NULL);
	nm = json_object_new_object();
	json_object_object_add(nm, "count", json_object_new_int(w->newcount));
	json_object_object_add(nm, "bytes",
			       json_object_new_int64((int64_t)w->newsize));
	json_object_object_add(j, "new_mappings", nm);
	cen = json_object_new_object();
	if (w->census_wanted && w->located) {
		json_object_object_add(cen, "glibc",
				       json_object_new_string(w->where.glibc));
		json_object_object_add(
			cen, "found_by",
			json_object_new_string(w->where.found_by));
	}
	if (w->counted[0])
		json_object_object_add(cen, "before",
				       census_json(&w->census[0]));
	if (w->counted[1])
		json_object_object_add(cen, "after",
				       census_json(&w->census[1]));
	if (w->census_why[0])
		json_object_object_add(cen, "error",
				       json_object_new_string(w->census_why));
	json_object_object_add(j, "census", w->census_wanted ? cen : NULL);
	if (!w->census_wanted)
		json_object_put(cen);
	json_object_object_add(
		j, "limit_bytes",
		w->limit.limit ?
			json_object_new_int64((int64_t)w->limit.limit) :
			NULL);
	json_object_object_add(
		j, "limit_used_bytes",
		w->limit.limit ? json_object_new_int64((int64_t)w->limit.used) :
				 NULL);
	json_object_object_add(j, "limit_source",
			       w->limit.limit ?
				       json_object_new_string(w->limit.source) :
				       NULL);
	json_object_object_add(
		j, "time_to_limit_s",
		w->ttl >= 0 ? json_object_new_int64((int64_t)llround(w->ttl)) :
			      NULL);
	json_object_object_add(j, "exited", json_object_new_boolean(w->gone));
	printf("%s\n",
	       json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	json_object_put(j);
}

/* The census in words: which block sizes grew, and the stops it took. */
static void report_census_text(const struct watch *w)
{
	const struct sb_heap_census *a = &w->census[0], *b = &w->census[1];
	char g1[32], g2[32], b1[32], b2[32], range[64];
	int i, shown = 0;

	if (!w->census_wanted)
		return;
	if (!w->counted[0]) {
		printf("no heap census: %s\n", w->census_why);
		return;
	}
	printf("heap census (glibc %s, found by %s): %s %s in use (%s)",
	       w->where.glibc, w->where.found_by,
	       grouped((int64_t)a->blocks, false, g1, sizeof(g1)),
	       a->blocks == 1 ? "block" : "blocks",
	       bytes((double)a->bytes, false, b1, sizeof(b1)));
	if (!w->counted[1]) {
		printf("; none at the end: %s\n",
		       w->census_why[0] ? w->census_why : "the process ended");
		return;
	}
	printf(", then %s (%s)\n",
	       grouped((int64_t)b->blocks, false, g2, sizeof(g2)),
	       bytes((double)b->bytes, false, b2, sizeof(b2)));
	for (i = 0; i < w->ngrowth && shown < TEXT_SIZES; i++) {
		const struct sb_heap_growth *g = &w->growth[i];
		uint64_t lo, hi;

		if (g->bytes <= 0)
			break;
		sb_heap_request_range(g->size, g->mmapped, &lo, &hi);
		if (g->mmapped)
			snprintf(range, sizeof(range), "mmapped, malloc of %s",
				 bytes((double)hi, false, b2, sizeof(b2)));
		else
			snprintf(range, sizeof(range), "malloc of %s to %s",
				 grouped((int64_t)lo, false, b1, sizeof(b1)),
				 grouped((int64_t)hi, false, b2, sizeof(b2)));
		printf("  %s %s of %s bytes (%s): %s\n",
		       grouped(g->blocks, true, g1, sizeof(g1)),
		       g->blocks == 1 ? "block" : "blocks",
		       grouped((int64_t)g->size, false, g2, sizeof(g2)), range,
		       bytes((double)g->bytes, true, b1, sizeof(b1)));
		shown++;
	}
	if (!shown)
		printf("  no block size grew\n");
	for (i = 0; i < 2; i++) {
		if (w->census[i].partial)
			printf("  census %s incomplete: %s\n",
			       i ? "at the end" : "at the start",
			       w->census[i].problem);
		/* in uninterruptible sleep past the stop's deadline */
		if (w->census[i].threads_not_stopped)
			printf("  census %s: %d threads could not be stopped; "
			       "what they allocated meanwhile may be off\n",
			       i ? "at the end" : "at the start",
			       w->census[i].threads_not_stopped);
	}
	printf("  the process was stopped %.1f ms and %.1f ms for it%s\n",
	       (double)a->stopped_ns / 1e6, (double)b->stopped_ns / 1e6,
	       a->walked_running && b->walked_running ?
		       " (walked while it ran, then checked unchanged)" :
		       "");
}

static void report_text(const struct watch *w)
{
	const struct sb_mem_trend *t = &w->trend;
	char b1[32], b2[32], b3[32], b4[32];

	putchar('\n');
	if (w->n >= 2)
		chart(stdout, w->v, (int)w->n);
	putchar('\n');
	if (w->verdict == SB_MEM_LEAKING)
		printf("LEAKING: RSS grows %s/s (quartiles %s/s to %s/s, "
		       "fit r2 %.2f) over %.0f s\n",
		       bytes(t->slope, false, b1, sizeof(b1)),
		       bytes(t->slope_lo, false, b2, sizeof(b2)),
		       bytes(t->slope_hi, false, b3, sizeof(b3)), t->r2,
		       w->secs);
	else if (w->verdict == SB_MEM_SAWTOOTH)
		printf("growing then freeing: RSS rose and fell back "
		       "(largest fall %s of a %s range): not a leak\n",
		       bytes(t->max_drop, false, b1, sizeof(b1)),
		       bytes(t->range, false, b2, sizeof(b2)));
	else
		printf("stable: RSS %s, moving within %s over %.0f s: "
		       "not a leak\n",
		       bytes(w->v[w->n - 1], false, b1, sizeof(b1)),
		       bytes(t->range, false, b2, sizeof(b2)), w->secs);
	if (!w->gone && (w->before.heap || w->before.nanon)) {
		printf("where: heap (brk) %s, anonymous mappings %s, "
		       "stack %s, files %s",
		       bytes((double)w->after.heap - (double)w->before.heap,
			     true, b1, sizeof(b1)),
		       bytes((double)w->after.anon - (double)w->before.anon,
			     true, b2, sizeof(b2)),
		       bytes((double)w->after.stack - (double)w->before.stack,
			     true, b3, sizeof(b3)),
		       bytes((double)w->after.file - (double)w->before.file,
			     true, b4, sizeof(b4)));
		if (w->newcount > 1)
			printf("; %d new anonymous mappings of %s", w->newcount,
			       bytes((double)w->newsize, false, b1,
				     sizeof(b1)));
		putchar('\n');
	}
	report_census_text(w);
	if (w->limit.limit) {
		printf("limit: %s (%s), %s used", w->limit.source,
		       bytes((double)w->limit.limit, false, b1, sizeof(b1)),
		       bytes((double)w->limit.used, false, b2, sizeof(b2)));
		if (w->ttl >= 0) {
			duration(w->ttl, b3, sizeof(b3));
			printf("; at %s/s it is reached in about %s",
			       bytes(w->rate, false, b1, sizeof(b1)), b3);
		}
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .interval_s = 1.0, .duration_s = 30, .census = true };
	struct watch w = { 0 };
	struct sb_mem_sample s;
	long max;
	int rc;

	parse_opts(argc, argv, &o);
	sb_attach_install_signals(&interrupted);
	w.ran = o.argv != NULL;
	w.pid = w.ran ? start_program(o.argv, o.json) : o.pid;
	rc = sb_mem_sample(w.pid, &s);
	if (rc == -ESRCH)
		errx(EXIT_TROUBLE, "no process %d", (int)w.pid);
	if (rc == -EACCES || rc == -EPERM)
		errx(EXIT_TROUBLE, "permission denied: %s",
		     sb_attach_explain(w.pid));
	if (rc)
		errx(EXIT_TROUBLE, "cannot read process %d: %s", (int)w.pid,
		     strerror(-rc));
	strcpy(w.comm, "?");
	sb_proc_comm(w.pid, w.comm, sizeof(w.comm));
	if (sb_mem_regions(w.pid, &w.before) == -EACCES)
		warnx("cannot read the mappings of process %d (permission "
		      "denied): no breakdown by region",
		      (int)w.pid);
	max = o.count ? o.count : (long)(o.duration_s / o.interval_s) + 1;
	w.t = calloc((size_t)max, sizeof(*w.t));
	w.v = calloc((size_t)max, sizeof(*w.v));
	if (!w.t || !w.v)
		errx(EXIT_TROUBLE, "out of memory");
	w.census_wanted = o.census;
	if (o.census) {
		census_prepare(&w);
		census_take(&w, 0);
	}
	if (!o.json)
		printf("leakwatch: process %d '%s', a sample every %.1f s\n"
		       "%9s %12s %13s %14s\n",
		       (int)w.pid, w.comm, o.interval_s, "TIME", "RSS",
		       "CHANGE", "RATE");
	watch_loop(&o, &w, &s, max);
	if (!w.gone) {
		sb_mem_regions(w.pid, &w.after);
		if (o.census)
			census_take(&w, 1);
	}
	judge(&w);
	if (o.json)
		report_json(&w);
	else
		report_text(&w);

	if (w.gone)
		warnx("process %d %s during the watch", (int)w.pid,
		      w.ran ? "ended" : "exited");
	if (interrupted && w.ran && !w.gone)
		warnx("stopped watching; the program (pid %d) is still "
		      "running",
		      (int)w.pid);
	if (w.ran && !w.gone && !interrupted)
		warnx("done watching; the program (pid %d) keeps running",
		      (int)w.pid);
	sb_heap_census_free(&w.census[0]);
	sb_heap_census_free(&w.census[1]);
	free(w.growth);
	sb_mem_regions_free(&w.before);
	sb_mem_regions_free(&w.after);
	free(w.t);
	free(w.v);
	if (fflush(stdout) || ferror(stdout))
		err(EXIT_TROUBLE, "write error on standard output");
	if (w.gone && !w.ran)
		return EXIT_TROUBLE;
	return w.verdict == SB_MEM_LEAKING ? EXIT_FOUND : 0;
}
