/* leakwatch: is it leaking, how fast, in which memory, and when will it die. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "sb_mem.h"
#include "sb_proc.h"
#include "sb_util.h"

#define EXIT_FOUND 1
#define EXIT_TROUBLE 2
#define EXIT_USAGE 64
#define CHART_ROWS 8
#define CHART_COLS 60

struct opts {
	bool json;
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
		"usage: leakwatch [-j] [-d seconds] [-n count] [-t seconds] "
		"-p pid\n"
		"       leakwatch [-j] [-d seconds] [-t seconds] run -- program "
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
		"  -h, --help             this help\n"
		"  -V, --version          the version\n");
}

static double number(const char *s, double min, double max, const char *what)
{
	double v;

	if (sb_parse_double(s, min, max, &v)) {
		warnx("bad %s '%s': want a number from %g to %g", what, s, min,
		      max);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	return v;
}

static long whole(const char *s, long min, long max, const char *what)
{
	long v;

	if (sb_parse_long(s, min, max, &v)) {
		warnx("bad %s '%s': want a whole number from %ld to %ld", what,
		      s, min, max);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	return v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "delay", required_argument, NULL, 'd' },
		{ "time", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "+jd:t:n:p:hV", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'd':
			o->interval_s = number(optarg, 0.05, 3600, "delay");
			break;
		case 't':
			o->duration_s = number(optarg, 0.1, 1e7, "time");
			break;
		case 'n':
			o->count = whole(optarg, 2, 10000000, "count");
			break;
		case 'p':
			o->pid = (pid_t)whole(optarg, 1, 1 << 22, "pid");
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

/* Start the program; return once it has exec'd (or failed to). */
/* A JSON number with so many decimals, not json-c's 17 digits. */
static json_object *jnum(double v, int decimals)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_object_new_double_s(v, buf);
}

static pid_t start_program(char **argv)
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

int main(int argc, char **argv)
{
	struct opts o = { .interval_s = 1.0, .duration_s = 30 };
	struct sb_mem_regions before = { 0 }, after = { 0 };
	struct sb_mem_sample s;
	struct sb_mem_trend trend;
	struct sb_mem_limit limit;
	double *t = NULL, *v = NULL, secs, rate, ttl = -1;
	enum sb_mem_verdict verdict;
	bool gone = false, ran;
	char comm[64] = "?", b1[32], b2[32], b3[32], b4[32];
	long n = 0, max;
	int rc, status, newcount = 0;
	uint64_t newsize, t0;
	pid_t pid;

	parse_opts(argc, argv, &o);
	sb_attach_install_signals(&interrupted);
	ran = o.argv != NULL;
	pid = ran ? start_program(o.argv) : o.pid;
	rc = sb_mem_sample(pid, &s);
	if (rc == -ESRCH)
		errx(EXIT_TROUBLE, "no process %d", (int)pid);
	if (rc)
		errx(EXIT_TROUBLE, "cannot read process %d: %s", (int)pid,
		     strerror(-rc));
	sb_proc_comm(pid, comm, sizeof(comm));
	if (sb_mem_regions(pid, &before) == -EACCES)
		warnx("cannot read the mappings of process %d (permission "
		      "denied): no breakdown by region",
		      (int)pid);
	max = o.count ? o.count : (long)(o.duration_s / o.interval_s) + 1;
	t = calloc((size_t)max, sizeof(*t));
	v = calloc((size_t)max, sizeof(*v));
	if (!t || !v)
		errx(EXIT_TROUBLE, "out of memory");
	if (!o.json)
		printf("leakwatch: process %d '%s', a sample every %.1f s\n"
		       "%9s %12s %13s %14s\n",
		       (int)pid, comm, o.interval_s, "TIME", "RSS", "CHANGE",
		       "RATE");
	t0 = sb_now_ns();
	for (;;) {
		s.t_s = (double)(sb_now_ns() - t0) / 1e9;
		t[n] = s.t_s;
		v[n] = (double)s.rss;
		if (o.json) {
			json_object *j = json_object_new_object();

			json_object_object_add(
				j, "tool", json_object_new_string("leakwatch"));
			json_object_object_add(
				j, "version",
				json_object_new_string(SB_VERSION));
			json_object_object_add(j, "pid",
					       json_object_new_int(pid));
			json_object_object_add(j, "t_s", jnum(s.t_s, 3));
			json_object_object_add(
				j, "rss_bytes",
				json_object_new_int64((int64_t)s.rss));
			json_object_object_add(
				j, "anon_bytes",
				json_object_new_int64((int64_t)s.anon));
			json_object_object_add(
				j, "heap_bytes",
				json_object_new_int64((int64_t)s.heap));
			json_object_object_add(
				j, "data_bytes",
				json_object_new_int64((int64_t)s.data));
			printf("%s\n", json_object_to_json_string_ext(
					       j, JSON_C_TO_STRING_PLAIN));
			json_object_put(j);
		} else {
			b3[0] = '\0';
			if (n && t[n] > t[n - 1]) {
				bytes((v[n] - v[n - 1]) / (t[n] - t[n - 1]),
				      true, b3, sizeof(b3) - 4);
				strcat(b3, "/s");
			}
			printf("%8.1fs %12s %13s %14s\n", s.t_s,
			       bytes(v[n], false, b1, sizeof(b1)),
			       n ? bytes(v[n] - v[n - 1], true, b2,
					 sizeof(b2)) :
				   "",
			       b3);
		}
		fflush(stdout);
		n++;
		if (n >= max || wait_interval(o.interval_s))
			break;
		/* leakwatch run: reap the program if it ended. */
		if (ran && waitpid(pid, &status, WNOHANG) == pid) {
			gone = true;
			break;
		}
		rc = sb_mem_sample(pid, &s);
		if (rc) {
			gone = true;
			break;
		}
	}
	/* The program of leakwatch run may have just ended (the same Ctrl-C
	 * reached it): reap it, so that it is not taken for alive. */
	if (ran && !gone) {
		struct timespec ts = { 0, 100000000 };

		nanosleep(&ts, NULL);
		if (waitpid(pid, &status, WNOHANG) == pid)
			gone = true;
	}
	if (!gone)
		sb_mem_regions(pid, &after);
	secs = t[n - 1] - t[0];
	sb_mem_trend(t, v, (int)n, &trend);
	verdict = n >= 3 ? sb_mem_judge(&trend, secs, v[0]) : SB_MEM_STABLE;
	rate = verdict == SB_MEM_LEAKING ? trend.slope : 0;
	sb_mem_limit(pid, &limit);
	if (rate > 0 && limit.limit > limit.used)
		ttl = (double)(limit.limit - limit.used) / rate;
	newsize = sb_mem_new_mapping_size(&before, &after, &newcount);

	if (o.json) {
		json_object *j = json_object_new_object(), *fit, *reg, *sizes;

		json_object_object_add(j, "tool",
				       json_object_new_string("leakwatch"));
		json_object_object_add(j, "version",
				       json_object_new_string(SB_VERSION));
		json_object_object_add(j, "pid", json_object_new_int(pid));
		json_object_object_add(j, "summary",
				       json_object_new_boolean(1));
		json_object_object_add(
			j, "verdict",
			json_object_new_string(sb_mem_verdict_str(verdict)));
		json_object_object_add(j, "samples",
				       json_object_new_int((int)n));
		json_object_object_add(j, "duration_s", jnum(secs, 3));
		json_object_object_add(
			j, "growth_bytes_per_s",
			json_object_new_int64((int64_t)llround(trend.slope)));
		fit = json_object_new_object();
		json_object_object_add(fit, "method",
				       json_object_new_string("theil-sen"));
		json_object_object_add(fit, "r2", jnum(trend.r2, 3));
		json_object_object_add(fit, "slope_q1",
				       json_object_new_int64((int64_t)llround(
					       trend.slope_lo)));
		json_object_object_add(fit, "slope_q3",
				       json_object_new_int64((int64_t)llround(
					       trend.slope_hi)));
		json_object_object_add(fit, "max_drop_bytes",
				       json_object_new_int64((int64_t)llround(
					       trend.max_drop)));
		json_object_object_add(j, "fit", fit);
		reg = json_object_new_object();
		if (!gone && before.nanon + before.heap) {
			json_object_object_add(
				reg, "heap",
				json_object_new_int64((int64_t)after.heap -
						      (int64_t)before.heap));
			json_object_object_add(
				reg, "anon",
				json_object_new_int64((int64_t)after.anon -
						      (int64_t)before.anon));
			json_object_object_add(
				reg, "stack",
				json_object_new_int64((int64_t)after.stack -
						      (int64_t)before.stack));
			json_object_object_add(
				reg, "file",
				json_object_new_int64((int64_t)after.file -
						      (int64_t)before.file));
		}
		json_object_object_add(j, "growth_by_region", reg);
		sizes = json_object_new_array();
		if (newcount) {
			json_object *e = json_object_new_object();

			json_object_object_add(
				e, "mapping_bytes",
				json_object_new_int64((int64_t)newsize));
			json_object_object_add(e, "count",
					       json_object_new_int(newcount));
			json_object_array_add(sizes, e);
		}
		json_object_object_add(j, "growth_by_size", sizes);
		json_object_object_add(
			j, "limit_bytes",
			limit.limit ?
				json_object_new_int64((int64_t)limit.limit) :
				NULL);
		json_object_object_add(
			j, "limit_used_bytes",
			limit.limit ?
				json_object_new_int64((int64_t)limit.used) :
				NULL);
		json_object_object_add(
			j, "limit_source",
			limit.limit ? json_object_new_string(limit.source) :
				      NULL);
		json_object_object_add(
			j, "time_to_limit_s",
			ttl >= 0 ?
				json_object_new_int64((int64_t)llround(ttl)) :
				NULL);
		json_object_object_add(j, "exited",
				       json_object_new_boolean(gone));
		printf("%s\n", json_object_to_json_string_ext(
				       j, JSON_C_TO_STRING_PLAIN));
		json_object_put(j);
	} else {
		putchar('\n');
		if (n >= 2)
			chart(stdout, v, (int)n);
		putchar('\n');
		if (verdict == SB_MEM_LEAKING)
			printf("LEAKING: RSS grows %s/s (quartiles %s/s to %s/s, "
			       "fit r2 %.2f) over %.0f s\n",
			       bytes(trend.slope, false, b1, sizeof(b1)),
			       bytes(trend.slope_lo, false, b2, sizeof(b2)),
			       bytes(trend.slope_hi, false, b3, sizeof(b3)),
			       trend.r2, secs);
		else if (verdict == SB_MEM_SAWTOOTH)
			printf("growing then freeing: RSS rose and fell back "
			       "(largest fall %s of a %s range): not a leak\n",
			       bytes(trend.max_drop, false, b1, sizeof(b1)),
			       bytes(trend.range, false, b2, sizeof(b2)));
		else
			printf("stable: RSS %s, moving within %s over %.0f s: "
			       "not a leak\n",
			       bytes(v[n - 1], false, b1, sizeof(b1)),
			       bytes(trend.range, false, b2, sizeof(b2)), secs);
		if (!gone && (before.heap || before.nanon)) {
			printf("where: heap (brk) %s, anonymous mappings %s, "
			       "stack %s, files %s",
			       bytes((double)after.heap - (double)before.heap,
				     true, b1, sizeof(b1)),
			       bytes((double)after.anon - (double)before.anon,
				     true, b2, sizeof(b2)),
			       bytes((double)after.stack - (double)before.stack,
				     true, b3, sizeof(b3)),
			       bytes((double)after.file - (double)before.file,
				     true, b4, sizeof(b4)));
			if (newcount > 1)
				printf("; %d new anonymous mappings of %s",
				       newcount,
				       bytes((double)newsize, false, b1,
					     sizeof(b1)));
			putchar('\n');
		}
		if (limit.limit) {
			printf("limit: %s (%s), %s used", limit.source,
			       bytes((double)limit.limit, false, b1,
				     sizeof(b1)),
			       bytes((double)limit.used, false, b2,
				     sizeof(b2)));
			if (ttl >= 0) {
				duration(ttl, b3, sizeof(b3));
				printf("; at %s/s it is reached in about %s",
				       bytes(rate, false, b1, sizeof(b1)), b3);
			}
			putchar('\n');
		}
	}
	if (gone)
		warnx("process %d %s during the watch", (int)pid,
		      ran ? "ended" : "exited");
	if (interrupted && ran && !gone)
		warnx("stopped watching; the program (pid %d) is still "
		      "running",
		      (int)pid);
	if (ran && !gone && !interrupted)
		warnx("done watching; the program (pid %d) keeps running",
		      (int)pid);
	sb_mem_regions_free(&before);
	sb_mem_regions_free(&after);
	free(t);
	free(v);
	if (fflush(stdout) || ferror(stdout))
		err(EXIT_TROUBLE, "write error on standard output");
	if (gone && !ran)
		return EXIT_TROUBLE;
	return verdict == SB_MEM_LEAKING ? EXIT_FOUND : 0;
}
